/* SPDX-License-Identifier: Apache-2.0 */
/* Strict JSON reading on top of json-c: one value, no duplicate keys, errors at FILE:LINE:COLUMN. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "values.h"

struct jctx {
        const char *file;
        const char *text; /* the parsed text, to turn a JSON pointer into a line and column */
        struct nb_error *err;
};

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                json_object_put(*o);
}

/* Parses text (UTF-8, no NUL) into *ret; fails on syntax errors, trailing data and duplicate keys. */
int json_parse_strict(const char *text, size_t len, const char *file, struct json_object **ret,
                      struct nb_error *err);

/* Line and column of what the JSON pointer (RFC 6901, e.g. "/datasets/0/latest") names: the key of an
 * object member, the start of an array item. Falls back to the nearest enclosing value. */
void json_locate(const char *text, const char *pointer, unsigned *ret_line, unsigned *ret_column);

/* buf = pointer + "/" + key, with ~ and / in key escaped as RFC 6901 says. */
void json_pointer_append(char *buf, size_t size, const char *pointer, const char *key);

/* "an object", "an array", "a string", "null", ... for error messages. */
const char *json_type_phrase(struct json_object *value);

/* Fails at the position of `pointer`; the message is printf-style. */
int jfail(const struct jctx *c, const char *pointer, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Typed reads of obj[key]; `pointer` is obj's own JSON pointer ("" for the root). */
int jexpect_object(const struct jctx *c, struct json_object *value, const char *pointer, const char *what);
int jcheck_keys(const struct jctx *c, struct json_object *obj, const char *pointer, const char *what,
                const char *const *allowed, const char *const *required);
int jget_string(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key, char *out,
                size_t size, const char *(*problem)(const char *));
/* obj[key] must be an integer from 0 to max. */
int jget_uint(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key, uint64_t max,
              uint64_t *out);
int jget_bool(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key, bool *out);
/* obj[key] must be an array of at most max_items unique names; *ret_names is malloc'd. */
int jget_name_array(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key,
                    size_t min_items, size_t max_items, nb_name **ret_names, size_t *ret_n);

/* Output helpers: a byte count, null when NB_SIZE_UNLIMITED; a string, null when empty. */
struct json_object *json_bytes_or_null(uint64_t bytes);
struct json_object *json_string_or_null(const char *s);
