/* SPDX-License-Identifier: Apache-2.0 */
/* Typed, checked reads from a strict YAML tree; every error names FILE:LINE:COLUMN and the fix. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "yamltree.h"

struct yctx {
        const char *file;
        struct nb_error *err;
};

/* node must be a map; `what` names it in the error ("mount \"data\"", "roots"). */
int yexpect_map(const struct yctx *c, const struct ynode *node, const char *what);
/* Every key of map must be in the NULL-terminated list `allowed`. */
int ycheck_keys(const struct yctx *c, const struct ynode *map, const char *what, const char *const *allowed);
/* Fails when map lacks key. */
int yrequire(const struct yctx *c, const struct ynode *map, const char *what, const char *key);

/* Reads map[key] as a string of at most size-1 bytes that `problem` (may be NULL) accepts.
 * Returns 0 when the key is absent (out untouched), 1 when read. */
int yget_string(const struct yctx *c, const struct ynode *map, const char *key, char *out, size_t size,
                const char *(*problem)(const char *));
int yget_bool(const struct yctx *c, const struct ynode *map, const char *key, bool *out);
int yget_number(const struct yctx *c, const struct ynode *map, const char *key, double *out);

/* Checks a string node (a map key or a value) against `problem`. */
int ycheck_string(const struct yctx *c, const struct ynode *node, const char *label, size_t size,
                  const char *(*problem)(const char *));
