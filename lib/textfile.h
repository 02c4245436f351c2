/* SPDX-License-Identifier: Apache-2.0 */
/* Reading an input file from an already-open fd: size cap, UTF-8 and NUL checks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Reads all of fd (a regular file) into a NUL-terminated buffer of at most cap bytes. */
int text_read_fd(int fd, const char *file, size_t cap, char **ret_text, size_t *ret_len, struct nb_error *err);

/* The same for a pipe or a terminal (a hook's stdin). */
int text_read_fd_any(int fd, const char *file, size_t cap, char **ret_text, size_t *ret_len, struct nb_error *err);

/* Writes all of text to fd (again after a short write or EINTR): 0 or -errno (-EIO when nothing goes). */
int text_write_all(int fd, const char *text, size_t len);

/* Fails naming line and column of the first NUL byte or invalid UTF-8 sequence. */
int text_check_utf8(const char *text, size_t len, const char *file, struct nb_error *err);

/* Line and column (1-based; a column counts UTF-8 characters, as libyaml does) of offset in text. */
void text_position(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column);
