/* SPDX-License-Identifier: Apache-2.0 */
#include "yamltree.h"

#include <errno.h>
#include <math.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "textfile.h"
#include "util.h"

struct ybuilder {
        yaml_parser_t parser;
        const char *text;
        const char *file;
        struct nb_error *err;
};

static void event_cleanup(yaml_event_t *event) { yaml_event_delete(event); }

/* The character at a libyaml mark (0-based line and column, columns in characters). */
static char char_at(const char *text, size_t line, size_t column) {
        const char *p = text;

        for (size_t l = 0; l < line && (p = strchr(p, '\n')); l++)
                p++;
        for (size_t c = 0; p && *p && c < column; p++)
                c += ((unsigned char) p[1] & 0xc0) != 0x80;
        if (!p)
                return '\0';
        return *p;
}

static int next_event(struct ybuilder *b, yaml_event_t *event) {
        const yaml_mark_t *mark = &b->parser.problem_mark;
        unsigned line, column;

        if (yaml_parser_parse(&b->parser, event))
                return 0;
        line = (unsigned) mark->line + 1;
        column = (unsigned) mark->column + 1;
        if (char_at(b->text, mark->line, mark->column) == '\t')
                return nb_fail_at(b->err, b->file, line, column, "invalid YAML: a tab cannot indent YAML; indent with spaces");
        if (mark->column > 1024 && b->parser.problem &&
            (strstr(b->parser.problem, "mapping values are not allowed") ||
             strstr(b->parser.problem, "could not find expected ':'")))
                return nb_fail_at(b->err, b->file, line, column,
                                  "invalid YAML: a key longer than 1024 characters; shorten it");
        return nb_fail_at(b->err, b->file, line, column, "invalid YAML: %s%s%s",
                          b->parser.problem ? b->parser.problem : "syntax error",
                          b->parser.context ? " " : "", b->parser.context ? b->parser.context : "");
}

static int fail_at_event(struct ybuilder *b, const yaml_event_t *event, const char *what) {
        return nb_fail_at(b->err, b->file, (unsigned) event->start_mark.line + 1,
                          (unsigned) event->start_mark.column + 1, "%s", what);
}

static int check_no_anchor_or_tag(struct ybuilder *b, const yaml_event_t *event) {
        const yaml_char_t *anchor = NULL, *tag = NULL;

        if (event->type == YAML_SCALAR_EVENT)
                anchor = event->data.scalar.anchor, tag = event->data.scalar.tag;
        else if (event->type == YAML_MAPPING_START_EVENT)
                anchor = event->data.mapping_start.anchor, tag = event->data.mapping_start.tag;
        else if (event->type == YAML_SEQUENCE_START_EVENT)
                anchor = event->data.sequence_start.anchor, tag = event->data.sequence_start.tag;
        if (anchor)
                return fail_at_event(b, event, "YAML anchors (&) are not allowed; write the value out");
        if (tag)
                return fail_at_event(b, event, "YAML tags (!) are not allowed; remove the tag");
        return 0;
}

static struct ynode *ynode_new(enum ynode_kind kind, const yaml_event_t *event) {
        struct ynode *node = calloc(1, sizeof(*node));

        if (!node)
                return NULL;
        node->kind = kind;
        node->line = (unsigned) event->start_mark.line + 1;
        node->column = (unsigned) event->start_mark.column + 1;
        return node;
}

static int build_node(struct ybuilder *b, yaml_event_t *event, unsigned depth, struct ynode **ret);

static int build_scalar(struct ybuilder *b, const yaml_event_t *event, struct ynode **ret) {
        _cleanup_(ytree_freep) struct ynode *node = NULL;

        if (strlen((const char *) event->data.scalar.value) != event->data.scalar.length)
                return fail_at_event(b, event, "contains a NUL character; remove it");
        node = ynode_new(YNODE_SCALAR, event);
        if (!node || !(node->scalar = strdup((const char *) event->data.scalar.value)))
                return nb_fail(b->err, ENOMEM, "%s: out of memory", b->file);
        node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        *ret = TAKE_PTR(node);
        return 0;
}

static int append_item(struct ybuilder *b, struct ynode *parent, struct ynode *key, struct ynode *value) {
        size_t n = parent->n_items + 1;
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, so one pointer's size */
        struct ynode **values = reallocarray(parent->values, n, sizeof(*values));

        if (!values)
                return nb_fail(b->err, ENOMEM, "%s: out of memory", b->file);
        parent->values = values;
        if (parent->kind == YNODE_MAP) {
                /* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, so one pointer's size */
                struct ynode **keys = reallocarray(parent->keys, n, sizeof(*keys));

                if (!keys)
                        return nb_fail(b->err, ENOMEM, "%s: out of memory", b->file);
                parent->keys = keys;
                keys[n - 1] = key;
        }
        values[n - 1] = value;
        parent->n_items = n;
        return 0;
}

static int check_new_key(struct ybuilder *b, const struct ynode *map, const struct ynode *key) {
        if (key->kind != YNODE_SCALAR)
                return nb_fail_at(b->err, b->file, key->line, key->column, "a key must be a string, not %s",
                                  ynode_describe(key));
        for (size_t i = 0; i < map->n_items; i++)
                if (streq(map->keys[i]->scalar, key->scalar))
                        return nb_fail_at(b->err, b->file, key->line, key->column,
                                          "duplicate key \"%s\" (first at line %u); keep only one", key->scalar,
                                          map->keys[i]->line);
        return 0;
}

/* Reads children until the collection's end event; for maps, children come in key/value pairs.
 * NOLINTNEXTLINE(misc-no-recursion): build_node() stops at YTREE_MAX_DEPTH (16) */
static int build_collection(struct ybuilder *b, struct ynode *node, yaml_event_type_t end_type, unsigned depth) {
        for (;;) {
                _cleanup_(event_cleanup) yaml_event_t event = {};
                _cleanup_(ytree_freep) struct ynode *key = NULL, *value = NULL;
                int r;

                if ((r = next_event(b, &event)) < 0)
                        return r;
                if (event.type == end_type)
                        return 0;
                if (node->n_items >= YTREE_MAX_ITEMS)
                        return fail_at_event(b, &event, "more than 4096 entries in one collection");
                if ((r = build_node(b, &event, depth + 1, node->kind == YNODE_MAP ? &key : &value)) < 0)
                        return r;
                if (node->kind == YNODE_MAP) {
                        _cleanup_(event_cleanup) yaml_event_t value_event = {};

                        if ((r = check_new_key(b, node, key)) < 0 || (r = next_event(b, &value_event)) < 0 ||
                            (r = build_node(b, &value_event, depth + 1, &value)) < 0)
                                return r;
                }
                if ((r = append_item(b, node, key, value)) < 0)
                        return r;
                key = value = NULL;
        }
}

/* NOLINTNEXTLINE(misc-no-recursion): stops at YTREE_MAX_DEPTH (16) */
static int build_node(struct ybuilder *b, yaml_event_t *event, unsigned depth, struct ynode **ret) {
        _cleanup_(ytree_freep) struct ynode *node = NULL;
        int r;

        if (event->type == YAML_ALIAS_EVENT)
                return fail_at_event(b, event, "YAML aliases (*) are not allowed; write the value out");
        if ((r = check_no_anchor_or_tag(b, event)) < 0)
                return r;
        if (depth > YTREE_MAX_DEPTH)
                return fail_at_event(b, event, "nested more than 16 levels deep");
        if (event->type == YAML_SCALAR_EVENT)
                return build_scalar(b, event, ret);
        if (event->type != YAML_MAPPING_START_EVENT && event->type != YAML_SEQUENCE_START_EVENT)
                return fail_at_event(b, event, "unexpected YAML event");
        node = ynode_new(event->type == YAML_MAPPING_START_EVENT ? YNODE_MAP : YNODE_SEQ, event);
        if (!node)
                return nb_fail(b->err, ENOMEM, "%s: out of memory", b->file);
        r = build_collection(b, node,
                             node->kind == YNODE_MAP ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT, depth);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(node);
        return 0;
}

/* Expects `type` next; returns 1 if it came, 0 if something else (left in *event). */
static int expect_event(struct ybuilder *b, yaml_event_t *event, yaml_event_type_t type) {
        int r = next_event(b, event);

        return r < 0 ? r : event->type == type;
}

static int build_document(struct ybuilder *b, struct ynode **ret_root) {
        _cleanup_(event_cleanup) yaml_event_t stream = {}, doc = {}, body = {}, doc_end = {}, tail = {};
        int r;

        if ((r = expect_event(b, &stream, YAML_STREAM_START_EVENT)) <= 0)
                return r < 0 ? r : fail_at_event(b, &stream, "not a YAML stream");
        if ((r = expect_event(b, &doc, YAML_DOCUMENT_START_EVENT)) < 0)
                return r;
        if (r == 0) /* STREAM_END: an empty file */
                return *ret_root = NULL, 0;
        if ((r = next_event(b, &body)) < 0 || (r = build_node(b, &body, 1, ret_root)) < 0)
                return r;
        if ((r = expect_event(b, &doc_end, YAML_DOCUMENT_END_EVENT)) < 0 ||
            (r = expect_event(b, &tail, YAML_STREAM_END_EVENT)) < 0)
                return r;
        if (r == 0)
                return fail_at_event(b, &tail, "more than one YAML document; keep only the first");
        return 0;
}

/* YAML 1.1 (libyaml) breaks lines at U+0085, U+2028 and U+2029; YAML 1.2, editors and users do not.
 * A comment could then hide a key from a reader but not from nbmount: refuse them. */
static int check_line_breaks(const char *text, size_t len, const char *file, struct nb_error *err) {
        static const struct {
                const char *bytes, *name;
        } breaks[] = {
                { "\xc2\x85", "U+0085 NEXT LINE" },
                { "\xe2\x80\xa8", "U+2028 LINE SEPARATOR" },
                { "\xe2\x80\xa9", "U+2029 PARAGRAPH SEPARATOR" },
        };
        unsigned line, column;

        for (size_t i = 0; i < len; i++)
                for (size_t k = 0; k < ARRAY_SIZE(breaks); k++)
                        if (strncmp(text + i, breaks[k].bytes, strlen(breaks[k].bytes)) == 0) {
                                text_position(text, i, &line, &column);
                                return nb_fail_at(err, file, line, column,
                                                  "contains %s, a line break in YAML 1.1 but not in YAML 1.2; remove it",
                                                  breaks[k].name);
                        }
        return 0;
}

int ytree_parse(const char *text, size_t len, const char *file, struct ynode **ret_root, struct nb_error *err) {
        struct ybuilder b = { .file = file, .err = err };
        struct ynode *root = NULL;
        int r;

        if ((r = text_check_utf8(text, len, file, err)) < 0 || (r = check_line_breaks(text, len, file, err)) < 0)
                return r;
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) { /* a BOM: positions count from after it */
                text += 3;
                len -= 3;
        }
        b.text = text;
        if (!yaml_parser_initialize(&b.parser))
                return nb_fail(err, ENOMEM, "%s: out of memory", file);
        yaml_parser_set_input_string(&b.parser, (const unsigned char *) text, len);
        yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);
        r = build_document(&b, &root);
        yaml_parser_delete(&b.parser);
        if (r < 0) {
                ytree_free(root);
                return r;
        }
        if (root && root->kind == YNODE_SCALAR && root->plain && yscalar_type(root) == YSCALAR_NULL) {
                ytree_free(root);
                root = NULL;
        }
        *ret_root = root;
        return 0;
}

/* NOLINTNEXTLINE(misc-no-recursion): trees come from build_node(), at most YTREE_MAX_DEPTH deep */
void ytree_free(struct ynode *node) {
        if (!node)
                return;
        for (size_t i = 0; i < node->n_items; i++) {
                if (node->keys)
                        ytree_free(node->keys[i]);
                ytree_free(node->values[i]);
        }
        free(node->keys);
        free(node->values);
        free(node->scalar);
        free(node);
}

static bool is_one_of(const char *s, const char *const *words) {
        for (size_t i = 0; words[i]; i++)
                if (streq(s, words[i]))
                        return true;
        return false;
}

static size_t count_digits(const char *s, const char *digits) {
        return strspn(s, digits);
}

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ */
static bool is_core_int(const char *s) {
        if (s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
                const char *digits = s[1] == 'o' ? "01234567" : "0123456789abcdefABCDEF";
                size_t n = count_digits(s + 2, digits);

                return n > 0 && s[2 + n] == '\0';
        }
        s += (*s == '-' || *s == '+');
        return *s && s[count_digits(s, "0123456789")] == '\0';
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? | [-+]?\.inf | \.nan (with case variants) */
static bool is_core_float(const char *s) {
        static const char *const specials[] = { ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf",
                                                "+.Inf", "+.INF", ".nan", ".NaN", ".NAN", NULL };
        size_t whole, fraction = 0;

        if (is_one_of(s, specials))
                return true;
        s += (*s == '-' || *s == '+');
        whole = count_digits(s, "0123456789");
        s += whole;
        if (*s == '.') {
                fraction = count_digits(++s, "0123456789");
                s += fraction;
        }
        if (whole == 0 && fraction == 0)
                return false;
        if (*s == 'e' || *s == 'E') {
                s++;
                s += (*s == '-' || *s == '+');
                if (count_digits(s, "0123456789") == 0)
                        return false;
                s += count_digits(s, "0123456789");
        }
        return *s == '\0';
}

enum yscalar_type yscalar_type(const struct ynode *node) {
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
        static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE", NULL };
        const char *s = node->scalar;

        if (node->kind != YNODE_SCALAR || !node->plain)
                return YSCALAR_STRING;
        if (is_one_of(s, nulls))
                return YSCALAR_NULL;
        if (is_one_of(s, bools))
                return YSCALAR_BOOL;
        if (is_core_int(s))
                return YSCALAR_INT;
        if (is_core_float(s))
                return YSCALAR_FLOAT;
        return YSCALAR_STRING;
}

double yscalar_number(const struct ynode *node) {
        const char *s = node->scalar;
        const char *unsigned_part = s + (*s == '-' || *s == '+');

        if (strncmp(s, "0o", 2) == 0)
                return (double) strtoull(s + 2, NULL, 8);
        if (strncmp(s, "0x", 2) == 0)
                return (double) strtoull(s + 2, NULL, 16);
        if (strcasecmp(unsigned_part, ".inf") == 0)
                return *s == '-' ? -INFINITY : INFINITY;
        if (strcasecmp(s, ".nan") == 0)
                return NAN;
        return strtod(s, NULL);
}

const char *ynode_describe(const struct ynode *node) {
        if (!node)
                return "nothing";
        if (node->kind == YNODE_MAP)
                return "a map";
        if (node->kind == YNODE_SEQ)
                return "a list";
        switch (yscalar_type(node)) {
        case YSCALAR_NULL:
                return "null";
        case YSCALAR_BOOL:
                return "a boolean";
        case YSCALAR_INT:
                return "an integer";
        case YSCALAR_FLOAT:
                return "a number";
        default:
                return "a string";
        }
}

struct ynode *ymap_key(const struct ynode *map, const char *key) {
        for (size_t i = 0; map && map->kind == YNODE_MAP && i < map->n_items; i++)
                if (streq(map->keys[i]->scalar, key))
                        return map->keys[i];
        return NULL;
}

struct ynode *ymap_get(const struct ynode *map, const char *key) {
        for (size_t i = 0; map && map->kind == YNODE_MAP && i < map->n_items; i++)
                if (streq(map->keys[i]->scalar, key))
                        return map->values[i];
        return NULL;
}
