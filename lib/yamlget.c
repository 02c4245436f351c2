/* SPDX-License-Identifier: Apache-2.0 */
#include "yamlget.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "values.h"

int yexpect_map(const struct yctx *c, const struct ynode *node, const char *what) {
        if (node->kind == YNODE_MAP)
                return 0;
        return nb_fail_at(c->err, c->file, node->line, node->column, "%s must be a map of keys, not %s", what,
                          ynode_describe(node));
}

int ycheck_keys(const struct yctx *c, const struct ynode *map, const char *what, const char *const *allowed) {
        for (size_t i = 0; i < map->n_items; i++) {
                const struct ynode *key = map->keys[i];
                bool known = false;
                char list[512];

                for (size_t k = 0; allowed[k] && !known; k++)
                        known = streq(allowed[k], key->scalar);
                if (known)
                        continue;
                words_join(allowed, list, sizeof(list));
                return nb_fail_at(c->err, c->file, key->line, key->column, "unknown key \"%.64s\" in %s (allowed: %s)",
                                  key->scalar, what, list);
        }
        return 0;
}

int yrequire(const struct yctx *c, const struct ynode *map, const char *what, const char *key) {
        if (ymap_get(map, key))
                return 0;
        return nb_fail_at(c->err, c->file, map->line, map->column, "%s is missing \"%s\"; add it", what, key);
}

static int type_error(const struct yctx *c, const struct ynode *node, const char *label, const char *expected) {
        const char *hint = "";

        if (node->kind == YNODE_SCALAR && yscalar_type(node) == YSCALAR_NULL)
                hint = "; give it a value";
        else if (streq(expected, "a string") && node->kind == YNODE_SCALAR)
                hint = "; put it in quotes";
        return nb_fail_at(c->err, c->file, node->line, node->column, "%s must be %s, not %s%s", label, expected,
                          ynode_describe(node), hint);
}

int ycheck_string(const struct yctx *c, const struct ynode *node, const char *label, size_t size,
                  const char *(*problem)(const char *)) {
        const char *why;

        if (node->kind != YNODE_SCALAR || yscalar_type(node) != YSCALAR_STRING)
                return type_error(c, node, label, "a string");
        if (strlen(node->scalar) >= size)
                return nb_fail_at(c->err, c->file, node->line, node->column, "%s is longer than %zu bytes; shorten it",
                                  label, size - 1);
        if (problem && (why = problem(node->scalar)))
                return nb_fail_at(c->err, c->file, node->line, node->column, "%s \"%.64s\" %s", label, node->scalar,
                                  why);
        return 0;
}

int yget_string(const struct yctx *c, const struct ynode *map, const char *key, char *out, size_t size,
                const char *(*problem)(const char *)) {
        const struct ynode *value = ymap_get(map, key);
        char label[96];
        int r;

        if (!value)
                return 0;
        snprintf(label, sizeof(label), "\"%s\"", key);
        if ((r = ycheck_string(c, value, label, size, problem)) < 0)
                return r;
        snprintf(out, size, "%s", value->scalar);
        return 1;
}

int yget_bool(const struct yctx *c, const struct ynode *map, const char *key, bool *out) {
        const struct ynode *value = ymap_get(map, key);
        char label[96];

        if (!value)
                return 0;
        snprintf(label, sizeof(label), "\"%s\"", key);
        if (value->kind != YNODE_SCALAR || yscalar_type(value) != YSCALAR_BOOL)
                return type_error(c, value, label, "true or false");
        *out = value->scalar[0] == 't' || value->scalar[0] == 'T';
        return 1;
}

int yget_number(const struct yctx *c, const struct ynode *map, const char *key, double *out) {
        const struct ynode *value = ymap_get(map, key);
        enum yscalar_type type;
        char label[96];
        double number;

        if (!value)
                return 0;
        snprintf(label, sizeof(label), "\"%s\"", key);
        type = value->kind == YNODE_SCALAR ? yscalar_type(value) : YSCALAR_STRING;
        if (type != YSCALAR_INT && type != YSCALAR_FLOAT)
                return type_error(c, value, label, "a number");
        number = yscalar_number(value);
        if (!isfinite(number) || number < 0)
                return nb_fail_at(c->err, c->file, value->line, value->column,
                                  "%s must be a finite number of at least 0", label);
        *out = number;
        return 1;
}
