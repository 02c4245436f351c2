/* SPDX-License-Identifier: Apache-2.0 */
/* Errors travel as a value: a negative errno is returned, the text lands in struct nb_error. */
#pragma once

#include <stdarg.h>

#define NB_ERROR_MAX 1024

struct nb_error {
        char msg[NB_ERROR_MAX];
};

/* Sets the message (printf style) and returns -abs(code), so callers can `return nb_fail(...)`. */
int nb_fail(struct nb_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the message with context: "FILE: " + the old message. */
int nb_wrap(struct nb_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "FILE:LINE:COLUMN: message", the form of every parser error. */
int nb_fail_at(struct nb_error *err, const char *file, unsigned line, unsigned column, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
