/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the cmocka unit tests (header-only: every test_X.c is its own program). */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "grants.h"
#include "nodeconfig.h"
#include "ociconfig.h"
#include "settings.h"
#include "util.h"
#include "yamltree.h"

/* Asserts that `call` (an int expression that fills `err`) returned `code` with exactly `expected`. */
#define assert_error(call, err, code, expected)                                                                    \
        do {                                                                                                       \
                int r_ = (call);                                                                                   \
                assert_int_equal(r_, (code));                                                                      \
                assert_string_equal((err).msg, (expected));                                                        \
        } while (0)

/* Asserts that err.msg starts with `prefix` (for messages that quote raw input we cannot predict). */
#define assert_prefix(err, prefix)                                                                                 \
        do {                                                                                                       \
                if (strncmp((err).msg, (prefix), strlen(prefix)) != 0)                                             \
                        fail_msg("message \"%s\" does not start with \"%s\"", (err).msg, (prefix));                \
        } while (0)

/* The strict YAML reader must refuse `text` (file "t.yaml") with exactly `expected`. */
#define assert_yaml_error(text, expected)                                                                          \
        do {                                                                                                       \
                struct nb_error e_ = {};                                                                           \
                struct ynode *root_ = NULL;                                                                        \
                assert_error(ytree_parse((text), strlen(text), "t.yaml", &root_, &e_), e_, -EINVAL, (expected));   \
                assert_null(root_);                                                                                \
        } while (0)

/* node_config_parse must refuse `text` (file "node.yaml") with exactly `expected`. */
#define assert_node_error(text, expected)                                                                          \
        do {                                                                                                       \
                struct nb_error e_ = {};                                                                           \
                struct node_config *c_ = calloc(1, sizeof(*c_));                                                   \
                assert_non_null(c_);                                                                               \
                assert_error(node_config_parse((text), strlen(text), "node.yaml", c_, &e_), e_, -EINVAL,           \
                             (expected));                                                                          \
                free(c_);                                                                                          \
        } while (0)

/* settings_parse must refuse `text` (file "settings.yaml") with exactly `expected`. */
/* settings_parse must refuse `text` as a whole, or (an entry's fault) read it with exactly one entry at
 * fault, whose fault is exactly `expected`. */
#define assert_settings_error(text, expected)                                                                      \
        do {                                                                                                       \
                struct nb_error e_ = {};                                                                           \
                struct settings *s_ = calloc(1, sizeof(*s_));                                                      \
                const struct settings_mount *f_;                                                                   \
                size_t faults_ = 0;                                                                                \
                assert_non_null(s_);                                                                               \
                if (settings_parse((text), strlen(text), "settings.yaml", s_, &e_) < 0) {                          \
                        assert_string_equal(e_.msg, (expected));                                                   \
                } else {                                                                                           \
                        assert_non_null(f_ = settings_first_fault(s_));                                            \
                        assert_string_equal(f_->fault, (expected));                                                \
                        for (size_t i_ = 0; i_ < s_->n_mounts; i_++)                                               \
                                faults_ += s_->mounts[i_].fault[0] != '\0';                                        \
                        assert_int_equal(faults_, 1);                                                              \
                }                                                                                                  \
                free(s_);                                                                                          \
        } while (0)

/* grants_parse (file "acme.json", for team `team`) must refuse `text` with exactly `expected`. */
#define assert_grants_error(text, team, expected)                                                                  \
        do {                                                                                                       \
                struct nb_error e_ = {};                                                                           \
                struct team_grants g_ = {};                                                                        \
                assert_error(grants_parse((text), strlen(text), "acme.json", (team), &g_, &e_), e_, -EINVAL,       \
                             (expected));                                                                          \
                assert_null(g_.members);                                                                           \
        } while (0)

/* public_grants_parse (file "public.json") must refuse `text` with exactly `expected`. */
#define assert_public_error(text, expected)                                                                        \
        do {                                                                                                       \
                struct nb_error e_ = {};                                                                           \
                struct team_grants g_ = {};                                                                        \
                assert_error(public_grants_parse((text), strlen(text), "public.json", &g_, &e_), e_, -EINVAL,      \
                             (expected));                                                                          \
                assert_null(g_.datasets);                                                                          \
        } while (0)

/* oci_config_parse (file "config.json") must refuse `text` with exactly `expected`. */
#define assert_oci_error(text, expected)                                                                           \
        do {                                                                                                       \
                struct nb_error e_ = {};                                                                           \
                struct container_identity id_ = {};                                                                \
                assert_error(oci_identity_parse((text), strlen(text), "config.json", &id_, &e_), e_, -EINVAL,        \
                             (expected));                                                                          \
        } while (0)

/* A malloc'd string of n copies of c. */
static inline char *repeat_char(char c, size_t n) {
        char *s = malloc(n + 1);

        assert_non_null(s);
        memset(s, c, n);
        s[n] = '\0';
        return s;
}

/* A malloc'd printf. */
static inline char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *format(const char *fmt, ...) {
        char *s = NULL;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        return s;
}

/* A malloc'd copy of text with the first occurrence of `from` replaced by `to` (which must occur). */
static inline char *replace(const char *text, const char *from, const char *to) {
        const char *at = strstr(text, from);
        char *s;

        if (!at)
                fail_msg("\"%s\" does not occur in the text", from);
        s = format("%.*s%s%s", (int) (at - text), text, to, at + strlen(from));
        return s;
}

/* An fd of an anonymous regular file holding len bytes of text, positioned at its start. */
static inline int memfd_with(const void *text, size_t len) {
        int fd = memfd_create("nbmount-test", MFD_CLOEXEC);
        size_t done = 0;

        assert_true(fd >= 0);
        while (done < len) {
                ssize_t n = write(fd, (const char *) text + done, len - done);

                assert_true(n > 0);
                done += (size_t) n;
        }
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}
