/* SPDX-License-Identifier: Apache-2.0 */
/* yamltree.c: the strict YAML reader (docs/FORMATS.md, "YAML" rule). */
#include "testutil.h"

/* Parses text that must be accepted; the caller frees the tree. */
static struct ynode *parse_ok(const char *text, size_t len) {
        struct nb_error err = {};
        struct ynode *root = NULL;
        int r = ytree_parse(text, len, "t.yaml", &root, &err);

        if (r != 0)
                fail_msg("\"%.60s\" refused: %s", text, err.msg);
        return root;
}

/* A string of n nested flow sequences around `leaf`: [[...[leaf]...]]. */
static char *nested_seqs(size_t n, const char *leaf) {
        char *open = repeat_char('[', n), *close = repeat_char(']', n), *s = format("%s%s%s", open, leaf, close);

        free(open);
        free(close);
        return s;
}

/* n nested block maps "k:" with `leaf` as the innermost value, each level indented by two. */
static char *nested_maps(size_t n, const char *leaf) {
        char *s = strdup(""), *next;

        for (size_t i = 0; i < n; i++) {
                next = format("%s%*sk%zu:%s%s\n", s, (int) (2 * i), "", i, i + 1 == n ? " " : "", i + 1 == n ? leaf : "");
                free(s);
                s = next;
        }
        return s;
}

static void one_document_only(void **state) {
        assert_yaml_error("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document; keep only the first");
        assert_yaml_error("---\na: 1\n...\n---\nb: 2\n", "t.yaml:4:1: more than one YAML document; keep only the first");
        assert_yaml_error("--- a\n--- b\n", "t.yaml:2:1: more than one YAML document; keep only the first");
}

static void explicit_markers_allowed(void **state) {
        struct ynode *root = parse_ok("---\na: 1\n...\n", 13);

        assert_non_null(root);
        assert_int_equal(root->kind, YNODE_MAP);
        assert_string_equal(ymap_get(root, "a")->scalar, "1");
        ytree_free(root);
}

static void anchors_refused(void **state) {
        assert_yaml_error("a: &x 1\n", "t.yaml:1:4: YAML anchors (&) are not allowed; write the value out");
        assert_yaml_error("a: &x [1]\n", "t.yaml:1:4: YAML anchors (&) are not allowed; write the value out");
        assert_yaml_error("a: &x {b: 1}\n", "t.yaml:1:4: YAML anchors (&) are not allowed; write the value out");
        assert_yaml_error("a: &x\n  b: 1\n", "t.yaml:1:4: YAML anchors (&) are not allowed; write the value out");
        assert_yaml_error("a: 1\nb: &x 2\nc: *x\n", "t.yaml:2:4: YAML anchors (&) are not allowed; write the value out");
}

static void aliases_refused(void **state) {
        assert_yaml_error("a: *x\n", "t.yaml:1:4: YAML aliases (*) are not allowed; write the value out");
        assert_yaml_error("- 1\n- *x\n", "t.yaml:2:3: YAML aliases (*) are not allowed; write the value out");
        assert_yaml_error("<<: *base\n", "t.yaml:1:5: YAML aliases (*) are not allowed; write the value out");
}

static void tags_refused(void **state) {
        assert_yaml_error("a: !!str 1\n", "t.yaml:1:4: YAML tags (!) are not allowed; remove the tag");
        assert_yaml_error("a: !custom x\n", "t.yaml:1:4: YAML tags (!) are not allowed; remove the tag");
        assert_yaml_error("a: ! x\n", "t.yaml:1:4: YAML tags (!) are not allowed; remove the tag");
        assert_yaml_error("a: !!seq [1]\n", "t.yaml:1:4: YAML tags (!) are not allowed; remove the tag");
        assert_yaml_error("--- !!map\na: 1\n", "t.yaml:1:5: YAML tags (!) are not allowed; remove the tag");
}

static void duplicate_keys_refused(void **state) {
        assert_yaml_error("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key \"a\" (first at line 1); keep only one");
        assert_yaml_error("m:\n  x: 1\n  y: 2\n  x: 3\n",
                          "t.yaml:4:3: duplicate key \"x\" (first at line 2); keep only one");
        assert_yaml_error("a: 1\n\"a\": 2\n", "t.yaml:2:1: duplicate key \"a\" (first at line 1); keep only one");
        assert_yaml_error("a: 1\n'a': 2\n", "t.yaml:2:1: duplicate key \"a\" (first at line 1); keep only one");
        assert_yaml_error("{a: 1, a: 2}", "t.yaml:1:8: duplicate key \"a\" (first at line 1); keep only one");
        assert_yaml_error("- {a: 1}\n- b: 1\n  b: 2\n",
                          "t.yaml:3:3: duplicate key \"b\" (first at line 2); keep only one");
}

static void same_key_in_two_maps_allowed(void **state) {
        const char *text = "m: {a: 1}\nn: {a: 2}\n";
        struct ynode *root = parse_ok(text, strlen(text));

        assert_string_equal(ymap_get(ymap_get(root, "m"), "a")->scalar, "1");
        assert_string_equal(ymap_get(ymap_get(root, "n"), "a")->scalar, "2");
        ytree_free(root);
}

static void collection_keys_refused(void **state) {
        assert_yaml_error("? [a]\n: 1\n", "t.yaml:1:3: a key must be a string, not a list");
        assert_yaml_error("{[a]: 1}", "t.yaml:1:2: a key must be a string, not a list");
        assert_yaml_error("? {a: 1}\n: 1\n", "t.yaml:1:3: a key must be a string, not a map");
}

/* Sixteen levels of nesting are allowed, seventeen are not. */
static void depth_of_empty_collections(void **state) {
        char *ok = nested_seqs(16, ""), *deep = nested_seqs(17, "");
        struct ynode *root = parse_ok(ok, strlen(ok));

        assert_non_null(root);
        ytree_free(root);
        assert_yaml_error(deep, "t.yaml:1:17: nested more than 16 levels deep");
        free(ok);
        free(deep);
}

/* A scalar counts as a level too (docs/FORMATS.md says "nesting at most 16 deep"; the fixture
 * corpus pins this reading): 15 nested lists or maps may hold a scalar, 16 may not. */
static void depth_counts_scalar_leaves(void **state) {
        char *seq15 = nested_seqs(15, "1"), *seq16 = nested_seqs(16, "1");
        char *map15 = nested_maps(15, "v"), *map16 = nested_maps(16, "v");
        struct ynode *root;

        root = parse_ok(seq15, strlen(seq15));
        ytree_free(root);
        root = parse_ok(map15, strlen(map15));
        ytree_free(root);
        assert_yaml_error(seq16, "t.yaml:1:17: nested more than 16 levels deep");
        assert_yaml_error(map16, "t.yaml:16:31: nested more than 16 levels deep");
        free(seq15);
        free(seq16);
        free(map15);
        free(map16);
}

static void nul_refused(void **state) {
        static const char raw[] = "a: x\0y\n";
        struct nb_error err = {};
        struct ynode *root = NULL;

        /* an escaped NUL in a double-quoted scalar, as a value and as a key */
        assert_yaml_error("a: \"x\\0y\"\n", "t.yaml:1:4: contains a NUL character; remove it");
        assert_yaml_error("b: 1\n\"k\\0\": 1\n", "t.yaml:2:1: contains a NUL character; remove it");
        assert_yaml_error("a: \"\\x00\"\n", "t.yaml:1:4: contains a NUL character; remove it");
        assert_yaml_error("a: \"\\u0000\"\n", "t.yaml:1:4: contains a NUL character; remove it");
        /* a raw NUL byte */
        assert_error(ytree_parse(raw, sizeof(raw) - 1, "t.yaml", &root, &err), err, -EINVAL,
                     "t.yaml:1:5: contains a NUL byte; save the file as UTF-8 text");
        assert_null(root);
}

static void invalid_utf8_refused(void **state) {
        assert_yaml_error("a: \xff\n", "t.yaml:1:4: is not valid UTF-8; save the file as UTF-8 text");
        assert_yaml_error("a: ok\nb: x\xc3\n", "t.yaml:2:5: is not valid UTF-8; save the file as UTF-8 text");
        assert_yaml_error("a: \xc0\xaf\n", "t.yaml:1:4: is not valid UTF-8; save the file as UTF-8 text");      /* overlong */
        assert_yaml_error("a: \xe0\x80\xaf\n", "t.yaml:1:4: is not valid UTF-8; save the file as UTF-8 text");  /* overlong */
        assert_yaml_error("a: \xed\xa0\x80\n", "t.yaml:1:4: is not valid UTF-8; save the file as UTF-8 text");  /* surrogate */
        assert_yaml_error("a: \xf4\x90\x80\x80\n", "t.yaml:1:4: is not valid UTF-8; save the file as UTF-8 text"); /* > U+10FFFF */
        assert_yaml_error("a: \xe2\x82", "t.yaml:1:4: is not valid UTF-8; save the file as UTF-8 text"); /* truncated */
        assert_yaml_error("# \xfe comment\na: 1\n", "t.yaml:1:3: is not valid UTF-8; save the file as UTF-8 text");
        /* an escaped surrogate is refused by libyaml itself */
        assert_yaml_error("a: \"\\ud800\"\n",
                          "t.yaml:1:7: invalid YAML: found invalid Unicode character escape code while parsing a quoted scalar");
}

/* YAML 1.1 line breaks that YAML 1.2 and editors do not show: a comment could hide a key. */
static void yaml11_line_breaks_refused(void **state) {
        assert_yaml_error("a: 1 # x\xe2\x80\xa8" "b: 2\n",
                          "t.yaml:1:9: contains U+2028 LINE SEPARATOR, a line break in YAML 1.1 but not in YAML 1.2; remove it");
        assert_yaml_error("a: 1 # x\xe2\x80\xa9" "b: 2\n",
                          "t.yaml:1:9: contains U+2029 PARAGRAPH SEPARATOR, a line break in YAML 1.1 but not in YAML 1.2; remove it");
        assert_yaml_error("a: 1\nb: \"x\xc2\x85y\"\n",
                          "t.yaml:2:6: contains U+0085 NEXT LINE, a line break in YAML 1.1 but not in YAML 1.2; remove it");
}

static void tabs_bom_long_keys(void **state) {
        char *key1024 = repeat_char('k', 1024), *key1025 = repeat_char('k', 1025), *ok, *too_long;
        struct ynode *root;

        assert_yaml_error("a:\n\tb: 1\n", "t.yaml:2:1: invalid YAML: a tab cannot indent YAML; indent with spaces");
        /* a BOM is allowed, and positions count from after it */
        root = parse_ok("\xef\xbb\xbf" "a: 1\n", 8);
        assert_string_equal(ymap_get(root, "a")->scalar, "1");
        assert_int_equal(root->column, 1);
        ytree_free(root);
        assert_yaml_error("\xef\xbb\xbf" "a: &x 1\n", "t.yaml:1:4: YAML anchors (&) are not allowed; write the value out");
        ok = format("%s: 1\n", key1024);
        too_long = format("%s: 1\n", key1025);
        root = parse_ok(ok, strlen(ok));
        assert_string_equal(ymap_get(root, key1024)->scalar, "1");
        ytree_free(root);
        assert_yaml_error(too_long, "t.yaml:1:1026: invalid YAML: a key longer than 1024 characters; shorten it");
        free(key1024);
        free(key1025);
        free(ok);
        free(too_long);
}

/* Only a long key gets the long-key message: another syntax error past column 1024 keeps libyaml's
 * own description, as it has before column 1024. */
static void syntax_error_past_column_1024(void **state) {
        char *items = repeat_char('1', 1200), *long_text = format("a: [%s]]\n", items); /* stray ']' at 1206 */

        assert_yaml_error("a: [1]]\n", "t.yaml:1:7: invalid YAML: did not find expected key while parsing a block mapping");
        assert_yaml_error(long_text,
                          "t.yaml:1:1206: invalid YAML: did not find expected key while parsing a block mapping");
        free(items);
        free(long_text);
}

/* Columns count characters, as libyaml does. */
static void columns_count_characters(void **state) {
        assert_yaml_error("\xc3\xa9: &x 1\n", "t.yaml:1:4: YAML anchors (&) are not allowed; write the value out");
        assert_yaml_error("\xc3\xa9: \xff\n", "t.yaml:1:4: is not valid UTF-8; save the file as UTF-8 text");
        assert_yaml_error("\xe2\x9c\x93\xe2\x9c\x93: 1\n\xe2\x9c\x93\xe2\x9c\x93: 2\n",
                          "t.yaml:2:1: duplicate key \"\xe2\x9c\x93\xe2\x9c\x93\" (first at line 1); keep only one");
        assert_yaml_error("\xe2\x9c\x93: 1\nb: [\xe2\x9c\x93, *x]\n",
                          "t.yaml:2:8: YAML aliases (*) are not allowed; write the value out");
}

static void valid_utf8_accepted(void **state) {
        const char *text = "a: h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\n";
        struct ynode *root = parse_ok(text, strlen(text));

        assert_string_equal(ymap_get(root, "a")->scalar, "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80");
        ytree_free(root);
}

static void empty_documents(void **state) {
        static const char *const empty[] = { "", "\n", "---\n", "# only a comment\n", "~\n", "null\n", "---\n...\n",
                                             "--- ~\n", NULL };

        for (size_t i = 0; empty[i]; i++) {
                struct ynode *root = (struct ynode *) 1;
                struct nb_error err = {};

                if (ytree_parse(empty[i], strlen(empty[i]), "t.yaml", &root, &err) != 0)
                        fail_msg("\"%s\" refused: %s", empty[i], err.msg);
                if (root)
                        fail_msg("\"%s\" gave a root", empty[i]);
        }
}

static void quoted_empty_root_is_a_string(void **state) {
        struct ynode *root = parse_ok("\"\"\n", 3);

        assert_non_null(root);
        assert_int_equal(root->kind, YNODE_SCALAR);
        assert_string_equal(root->scalar, "");
        assert_false(root->plain);
        assert_int_equal(yscalar_type(root), YSCALAR_STRING);
        ytree_free(root);
}

static void syntax_error_names_position(void **state) {
        assert_yaml_error("[a, b\n", "t.yaml:2:1: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence");
        assert_yaml_error("a: 1\n b: 2\n", "t.yaml:2:3: invalid YAML: mapping values are not allowed in this context");
}

struct type_case {
        const char *value;
        enum yscalar_type type;
        const char *describe;
};

static void scalar_typing(void **state) {
        static const struct type_case cases[] = {
                { "null", YSCALAR_NULL, "null" },      { "Null", YSCALAR_NULL, "null" },
                { "NULL", YSCALAR_NULL, "null" },      { "~", YSCALAR_NULL, "null" },
                { "", YSCALAR_NULL, "null" },          { "true", YSCALAR_BOOL, "a boolean" },
                { "True", YSCALAR_BOOL, "a boolean" }, { "TRUE", YSCALAR_BOOL, "a boolean" },
                { "false", YSCALAR_BOOL, "a boolean" }, { "False", YSCALAR_BOOL, "a boolean" },
                { "1", YSCALAR_INT, "an integer" },    { "0", YSCALAR_INT, "an integer" },
                { "-12", YSCALAR_INT, "an integer" },  { "+7", YSCALAR_INT, "an integer" },
                { "0x1f", YSCALAR_INT, "an integer" }, { "0o17", YSCALAR_INT, "an integer" },
                { "1.5", YSCALAR_FLOAT, "a number" },  { "1.", YSCALAR_FLOAT, "a number" },
                { ".5", YSCALAR_FLOAT, "a number" },   { "-1.5e3", YSCALAR_FLOAT, "a number" },
                { "1e3", YSCALAR_FLOAT, "a number" },  { ".inf", YSCALAR_FLOAT, "a number" },
                { "-.inf", YSCALAR_FLOAT, "a number" }, { "+.INF", YSCALAR_FLOAT, "a number" },
                { ".nan", YSCALAR_FLOAT, "a number" }, { ".NaN", YSCALAR_FLOAT, "a number" },
                { "\"1\"", YSCALAR_STRING, "a string" }, { "'true'", YSCALAR_STRING, "a string" },
                { "\"\"", YSCALAR_STRING, "a string" }, { "'null'", YSCALAR_STRING, "a string" },
                { "v1", YSCALAR_STRING, "a string" },  { "yes", YSCALAR_STRING, "a string" },
                { "no", YSCALAR_STRING, "a string" },  { "on", YSCALAR_STRING, "a string" },
                { "tRUE", YSCALAR_STRING, "a string" }, { "nULL", YSCALAR_STRING, "a string" },
                { "0x", YSCALAR_STRING, "a string" },  { "0o8", YSCALAR_STRING, "a string" },
                { "0xg", YSCALAR_STRING, "a string" }, { "1_000", YSCALAR_STRING, "a string" },
                { "1e", YSCALAR_STRING, "a string" },  { ".", YSCALAR_STRING, "a string" },
                { "+-1", YSCALAR_STRING, "a string" }, { "+.nan", YSCALAR_STRING, "a string" },
                { "15GB", YSCALAR_STRING, "a string" }, { "1.2.3", YSCALAR_STRING, "a string" },
                { ".infinity", YSCALAR_STRING, "a string" }, { "0x-1", YSCALAR_STRING, "a string" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char *text = format("v: %s\n", cases[i].value);
                struct ynode *root = parse_ok(text, strlen(text)), *value = ymap_get(root, "v");

                assert_non_null(value);
                if (yscalar_type(value) != cases[i].type)
                        fail_msg("%s: type %d, expected %d", cases[i].value, yscalar_type(value), cases[i].type);
                assert_string_equal(ynode_describe(value), cases[i].describe);
                ytree_free(root);
                free(text);
        }
}

static void node_shapes_and_positions(void **state) {
        const char *text = "a:\n  b: [1, 'two']\n  c: {d: x}\ne: plain\n";
        struct ynode *root = parse_ok(text, strlen(text)), *a, *b, *c;

        assert_int_equal(root->kind, YNODE_MAP);
        assert_int_equal(root->n_items, 2);
        assert_string_equal(ynode_describe(root), "a map");
        a = ymap_get(root, "a");
        assert_int_equal(a->line, 2);
        assert_int_equal(a->column, 3);
        b = ymap_get(a, "b");
        assert_int_equal(b->kind, YNODE_SEQ);
        assert_string_equal(ynode_describe(b), "a list");
        assert_int_equal(b->n_items, 2);
        assert_int_equal(b->line, 2);
        assert_int_equal(b->column, 6);
        assert_string_equal(b->values[0]->scalar, "1");
        assert_true(b->values[0]->plain);
        assert_string_equal(b->values[1]->scalar, "two");
        assert_false(b->values[1]->plain);
        assert_int_equal(b->values[1]->column, 10);
        c = ymap_get(a, "c");
        assert_string_equal(ymap_get(c, "d")->scalar, "x");
        assert_null(ymap_get(root, "missing"));
        assert_null(ymap_get(b, "1")); /* not a map */
        assert_null(ymap_get(NULL, "a"));
        assert_string_equal(ynode_describe(NULL), "nothing");
        ytree_free(root);
}

static void item_limit(void **state) {
        size_t len = 0;
        char *ok = malloc(4097 * 3 + 3), *big;

        assert_non_null(ok);
        ok[len++] = '[';
        for (size_t i = 0; i < 4096; i++)
                len += (size_t) sprintf(ok + len, "%s1", i ? "," : "");
        ok[len++] = ']';
        ok[len] = '\0';
        ytree_free(parse_ok(ok, len));
        big = format("[1,%s", ok + 1); /* 4097 items; the 4097th starts at column 8194 */
        assert_yaml_error(big, "t.yaml:1:8194: more than 4096 entries in one collection");
        free(ok);
        free(big);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(one_document_only),
                cmocka_unit_test(explicit_markers_allowed),
                cmocka_unit_test(anchors_refused),
                cmocka_unit_test(aliases_refused),
                cmocka_unit_test(tags_refused),
                cmocka_unit_test(duplicate_keys_refused),
                cmocka_unit_test(same_key_in_two_maps_allowed),
                cmocka_unit_test(collection_keys_refused),
                cmocka_unit_test(depth_of_empty_collections),
                cmocka_unit_test(depth_counts_scalar_leaves),
                cmocka_unit_test(nul_refused),
                cmocka_unit_test(invalid_utf8_refused),
                cmocka_unit_test(yaml11_line_breaks_refused),
                cmocka_unit_test(tabs_bom_long_keys),
                cmocka_unit_test(syntax_error_past_column_1024),
                cmocka_unit_test(columns_count_characters),
                cmocka_unit_test(valid_utf8_accepted),
                cmocka_unit_test(empty_documents),
                cmocka_unit_test(quoted_empty_root_is_a_string),
                cmocka_unit_test(syntax_error_names_position),
                cmocka_unit_test(scalar_typing),
                cmocka_unit_test(node_shapes_and_positions),
                cmocka_unit_test(item_limit),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
