/* SPDX-License-Identifier: Apache-2.0 */
/* A strict YAML reader: one document, no anchors/aliases/tags/duplicate keys, bounded depth. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum ynode_kind { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

/* How a plain scalar reads in YAML 1.2's core schema; quoted scalars are always strings. */
enum yscalar_type { YSCALAR_NULL, YSCALAR_BOOL, YSCALAR_INT, YSCALAR_FLOAT, YSCALAR_STRING };

struct ynode {
        enum ynode_kind kind;
        unsigned line, column;
        char *scalar;           /* YNODE_SCALAR */
        bool plain;             /* YNODE_SCALAR: written without quotes */
        size_t n_items;         /* YNODE_MAP: pairs; YNODE_SEQ: items */
        struct ynode **keys;    /* YNODE_MAP: scalar keys */
        struct ynode **values;  /* YNODE_MAP: values; YNODE_SEQ: items */
};

#define YTREE_MAX_DEPTH 16
#define YTREE_MAX_ITEMS 4096

/* Parses text (checked to be UTF-8 without NUL first); *ret_root is NULL for an empty document. */
int ytree_parse(const char *text, size_t len, const char *file, struct ynode **ret_root, struct nb_error *err);
void ytree_free(struct ynode *node);
static inline void ytree_freep(struct ynode **node) { ytree_free(*node); }

enum yscalar_type yscalar_type(const struct ynode *node);
/* The value of a YSCALAR_INT or YSCALAR_FLOAT scalar (0o17 is 15, .inf is infinite, .nan NaN). */
double yscalar_number(const struct ynode *node);
/* "a map", "a list", "a string", "an integer", ... for error messages. */
const char *ynode_describe(const struct ynode *node);
/* The key node named key in map (for its position), or NULL. */
struct ynode *ymap_key(const struct ynode *map, const char *key);
/* The value of key in map, or NULL. */
struct ynode *ymap_get(const struct ynode *map, const char *key);
