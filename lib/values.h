/* SPDX-License-Identifier: Apache-2.0 */
/* The value rules shared by every file format: names, host paths, sizes (docs/FORMATS.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NB_NAME_MAX 64
#define NB_PATH_MAX 4095
#define NB_SIZE_UNLIMITED UINT64_MAX

typedef char nb_name[NB_NAME_MAX + 1];

/* Each returns NULL when the value is valid, else why it is not (a static phrase). */
const char *name_problem(const char *s);
const char *path_problem(const char *s);

/* "15GB", "1.5 TiB", "unlimited" -> bytes (NB_SIZE_UNLIMITED); -EINVAL/-ERANGE with *ret_problem set. */
int size_parse(const char *s, uint64_t *ret_bytes, const char **ret_problem);

/* 15000000000 -> "15 GB", 16106127360 -> "15 GiB", other -> "123456 B"; "unlimited". */
void size_format(uint64_t bytes, char *buf, size_t len);

/* Copies a name that name_problem() accepted. */
void name_copy(nb_name dst, const char *src);

/* Among n items of `stride` bytes that each hold a name at offset `offset`, the index of the
 * first item whose name repeats an earlier one, or n when all differ. O(n log n). */
size_t names_find_repeat(const void *items, size_t n, size_t stride, size_t offset);

/* Appends s at buf[*len] (cut to fit size, NUL-terminated) with every byte that is not printable
 * ASCII (controls, DEL, any byte of UTF-8) or is one of `hidden` shown as '?'. */
void text_append_shown(char *buf, size_t size, size_t *len, const char *s, const char *hidden);

/* "a, b, c" for error messages, cut to fit size: n names, or a NULL-terminated list of words. */
void names_join(const nb_name *names, size_t n, char *buf, size_t size);
void words_join(const char *const *words, char *buf, size_t size);
