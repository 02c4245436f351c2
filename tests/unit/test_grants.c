/* SPDX-License-Identifier: Apache-2.0 */
/* grants.c: GRANTS/TEAM.json and GRANTS/public.json (docs/FORMATS.md §2). */
#include "testutil.h"

#define TEAM_KEYS "team, plan, card_on_file, private_workspace, members, storage_clusters, datasets"

/* One key per line, so an error's line and column are easy to read off. */
static const char acme[] = "{\n"                                       /* 1 */
                           "  \"team\": \"acme\",\n"                   /* 2 */
                           "  \"plan\": \"pro\",\n"                    /* 3 */
                           "  \"card_on_file\": false,\n"              /* 4 */
                           "  \"private_workspace\": false,\n"         /* 5 */
                           "  \"members\": [\"alice\", \"bob\"],\n"    /* 6 */
                           "  \"storage_clusters\": [\"east-1\"],\n"   /* 7 */
                           "  \"datasets\": [\n"                       /* 8 */
                           "    {\"name\": \"quarterly-reports\", \"id\": \"dsr8k5qzn401lb5\", \"versions\": [\"v1\", \"v2\"], \"latest\": \"v2\"}\n"
                           "  ]\n"
                           "}\n";

static const char public_json[] = "{\"datasets\": [\n"
                                  "  {\"name\": \"mnist\", \"id\": \"dsmnist\", \"versions\": [\"1\"], \"latest\": \"1\"},\n"
                                  "  {\"name\": \"imagenet\", \"id\": \"dsimagenet\", \"versions\": [\"2023-01\", \"2024-01\"], \"latest\": \"2024-01\"}\n"
                                  "]}\n";

static void parse_team_ok(const char *text, const char *team, struct team_grants *ret) {
        struct nb_error err = {};

        if (grants_parse(text, strlen(text), "acme.json", team, ret, &err) != 0)
                fail_msg("refused: %s", err.msg);
}

/* acme with `from` replaced by `to`, which must be refused with `expected`. */
#define assert_acme_error(from, to, expected)                                                                      \
        do {                                                                                                       \
                char *text_ = replace(acme, (from), (to));                                                         \
                assert_grants_error(text_, "acme", (expected));                                                    \
                free(text_);                                                                                       \
        } while (0)

static void good_team(void **state) {
        struct team_grants g = {};

        parse_team_ok(acme, "acme", &g);
        assert_string_equal(g.team, "acme");
        assert_string_equal(g.plan, "pro");
        assert_false(g.card_on_file);
        assert_false(g.private_workspace);
        assert_int_equal(g.n_members, 2);
        assert_string_equal(g.members[0], "alice");
        assert_string_equal(g.members[1], "bob");
        assert_int_equal(g.n_storage_clusters, 1);
        assert_string_equal(g.storage_clusters[0], "east-1");
        assert_int_equal(g.n_datasets, 1);
        assert_string_equal(g.datasets[0].name, "quarterly-reports");
        assert_string_equal(g.datasets[0].id, "dsr8k5qzn401lb5");
        assert_string_equal(g.datasets[0].latest, "v2");
        assert_int_equal(g.datasets[0].n_versions, 2);
        assert_string_equal(g.datasets[0].versions[0], "v1");
        assert_string_equal(g.datasets[0].versions[1], "v2");
        team_grants_done(&g);
        assert_null(g.members);
        assert_int_equal(g.n_datasets, 0);
}

static void good_private_workspace_and_card(void **state) {
        static const char solo[] = "{\"team\": \"solo\", \"plan\": \"free\", \"card_on_file\": true, \"private_workspace\": true,"
                                   " \"members\": [\"carol\"], \"storage_clusters\": [], \"datasets\": []}";
        struct team_grants g = {};

        parse_team_ok(solo, "solo", &g);
        assert_true(g.card_on_file);
        assert_true(g.private_workspace);
        assert_int_equal(g.n_members, 1);
        assert_int_equal(g.n_storage_clusters, 0);
        assert_int_equal(g.n_datasets, 0);
        assert_false(grants_has_storage_cluster(&g, "east-1"));
        team_grants_done(&g);
}

static void good_team_no_expected_name(void **state) {
        struct team_grants g = {};

        parse_team_ok(acme, NULL, &g);
        assert_string_equal(g.team, "acme");
        team_grants_done(&g);
}

static void good_public(void **state) {
        struct team_grants g = {};
        struct nb_error err = {};
        const struct dataset_grant *d;

        assert_int_equal(public_grants_parse(public_json, strlen(public_json), "public.json", &g, &err), 0);
        assert_string_equal(g.team, "");
        assert_int_equal(g.n_members, 0);
        assert_int_equal(g.n_datasets, 2);
        d = grants_find_dataset(&g, "dsimagenet");
        assert_non_null(d);
        assert_string_equal(d->name, "imagenet");
        assert_string_equal(d->latest, "2024-01");
        assert_true(dataset_has_version(d, "2023-01"));
        team_grants_done(&g);

        assert_int_equal(public_grants_parse("{\"datasets\": []}", 16, "public.json", &g, &err), 0);
        assert_int_equal(g.n_datasets, 0);
        team_grants_done(&g);
}

static void lookup_helpers(void **state) {
        struct team_grants g = {};
        const struct dataset_grant *d;

        parse_team_ok(acme, "acme", &g);
        assert_true(grants_has_member(&g, "alice"));
        assert_true(grants_has_member(&g, "bob"));
        assert_false(grants_has_member(&g, "carol"));
        assert_false(grants_has_member(&g, "Alice"));
        assert_false(grants_has_member(&g, ""));
        assert_true(grants_has_storage_cluster(&g, "east-1"));
        assert_false(grants_has_storage_cluster(&g, "west-2"));
        d = grants_find_dataset(&g, "dsr8k5qzn401lb5");
        assert_non_null(d);
        assert_ptr_equal(d, &g.datasets[0]);
        assert_null(grants_find_dataset(&g, "quarterly-reports")); /* by id, not by name */
        assert_null(grants_find_dataset(&g, "nope"));
        assert_true(dataset_has_version(d, "v1"));
        assert_true(dataset_has_version(d, "v2"));
        assert_false(dataset_has_version(d, "v3"));
        assert_false(dataset_has_version(d, "V1"));
        team_grants_done(&g);
}

static void team_mismatch(void **state) {
        assert_grants_error(acme, "other",
                            "acme.json:2:3: \"team\" is \"acme\" but the file is for team \"other\"; fix the file name or the team");
}

static void private_workspace_one_member(void **state) {
        assert_acme_error("\"private_workspace\": false", "\"private_workspace\": true",
                          "acme.json:6:3: a private workspace has exactly one member, not 2");
}

static void duplicates(void **state) {
        assert_acme_error("[\"alice\", \"bob\"]", "[\"alice\", \"bob\", \"alice\"]",
                          "acme.json:6:31: \"members\" lists \"alice\" twice; keep only one");
        assert_acme_error("[\"alice\", \"bob\"]", "[\"bob\", \"alice\", \"carol\", \"alice\", \"bob\"]",
                          "acme.json:6:40: \"members\" lists \"alice\" twice; keep only one");
        assert_acme_error("[\"east-1\"]", "[\"east-1\", \"east-1\"]",
                          "acme.json:7:34: \"storage_clusters\" lists \"east-1\" twice; keep only one");
        assert_acme_error("[\"v1\", \"v2\"]", "[\"v1\", \"v2\", \"v1\"]",
                          "acme.json:9:85: \"versions\" lists \"v1\" twice; keep only one");
}

static void duplicate_datasets(void **state) {
        static const char second_name[] =
                ",\n    {\"name\": \"quarterly-reports\", \"id\": \"other\", \"versions\": [\"v1\"], \"latest\": \"v1\"}\n  ]";
        static const char second_id[] =
                ",\n    {\"name\": \"other\", \"id\": \"dsr8k5qzn401lb5\", \"versions\": [\"v1\"], \"latest\": \"v1\"}\n  ]";

        assert_acme_error("\n  ]", second_name,
                          "acme.json:10:6: two datasets are named \"quarterly-reports\"; names must be unique");
        assert_acme_error("\n  ]", second_id, "acme.json:10:23: two datasets have the id \"dsr8k5qzn401lb5\"; ids must be unique");
}

static void latest_not_in_versions(void **state) {
        assert_acme_error("\"latest\": \"v2\"", "\"latest\": \"v3\"",
                          "acme.json:9:86: dataset \"quarterly-reports\": latest \"v3\" is not one of its versions; add it to \"versions\"");
        assert_acme_error("[\"v1\", \"v2\"]", "[]", "acme.json:9:60: \"versions\" must have 1 to 4096 items, not 0");
}

static void types(void **state) {
        assert_acme_error("\"team\": \"acme\"", "\"team\": 5", "acme.json:2:3: \"team\" must be a string, not an integer");
        assert_acme_error("\"team\": \"acme\"", "\"team\": null", "acme.json:2:3: \"team\" must be a string, not null");
        assert_acme_error("\"plan\": \"pro\"", "\"plan\": [\"pro\"]", "acme.json:3:3: \"plan\" must be a string, not an array");
        assert_acme_error("\"card_on_file\": false", "\"card_on_file\": \"yes\"",
                          "acme.json:4:3: \"card_on_file\" must be true or false, not a string");
        assert_acme_error("\"private_workspace\": false", "\"private_workspace\": 0",
                          "acme.json:5:3: \"private_workspace\" must be true or false, not an integer");
        assert_acme_error("[\"alice\", \"bob\"]", "\"alice\"",
                          "acme.json:6:3: \"members\" must be an array of names, not a string");
        assert_acme_error("[\"alice\", \"bob\"]", "[]", "acme.json:6:3: \"members\" must have 1 to 10000 items, not 0");
        assert_acme_error("[\"alice\", \"bob\"]", "[\"alice\", 7]", "acme.json:6:24: \"members\" item must be a string, not an integer");
        assert_acme_error("[\"alice\", \"bob\"]", "[\"alice\", \"a/b\"]", "acme.json:6:24: \"members\" item \"a/b\" contains a slash");
        assert_acme_error("[\"east-1\"]", "{}", "acme.json:7:3: \"storage_clusters\" must be an array of names, not an object");
        assert_acme_error("\"plan\": \"pro\"", "\"plan\": \"../x\"", "acme.json:3:3: \"plan\" \"../x\" starts with a dot");
        assert_acme_error("\"team\": \"acme\"", "\"team\": 1.5", "acme.json:2:3: \"team\" must be a string, not a number");
        assert_acme_error("\"team\": \"acme\"", "\"team\": \"ac\\u0000me\"",
                          "acme.json:2:3: \"team\" contains a NUL character; remove it");
}

static char *names_json(const char *prefix, size_t n) {
        size_t len = 0, cap = n * 12 + 8;
        char *s = malloc(cap);

        assert_non_null(s);
        s[len++] = '[';
        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(s + len, cap - len, "%s\"%s%zu\"", i ? "," : "", prefix, i);
        s[len++] = ']';
        s[len] = '\0';
        return s;
}

static void array_limits(void **state) {
        char *members = names_json("u", 10000), *too_many = names_json("u", 10001);
        char *clusters = names_json("c", 64), *too_many_clusters = names_json("c", 65), *text;
        struct team_grants g = {};

        text = replace(acme, "[\"alice\", \"bob\"]", members);
        parse_team_ok(text, "acme", &g);
        assert_int_equal(g.n_members, 10000);
        assert_true(grants_has_member(&g, "u9999"));
        team_grants_done(&g);
        free(text);
        assert_acme_error("[\"alice\", \"bob\"]", too_many, "acme.json:6:3: \"members\" must have 1 to 10000 items, not 10001");

        text = replace(acme, "[\"east-1\"]", clusters);
        parse_team_ok(text, "acme", &g);
        assert_int_equal(g.n_storage_clusters, 64);
        team_grants_done(&g);
        free(text);
        assert_acme_error("[\"east-1\"]", too_many_clusters,
                          "acme.json:7:3: \"storage_clusters\" must have 0 to 64 items, not 65");
        free(members);
        free(too_many);
        free(clusters);
        free(too_many_clusters);
}

static void dataset_types(void **state) {
        {
                char *half = replace(acme, "\"datasets\": [\n", "\"datasets\": {\"a\": [\n");

                assert_non_null(half);
                {
                        char *text = replace(half, "  ]\n}", "  ]}\n}");

                        assert_grants_error(text, "acme", "acme.json:8:3: \"datasets\" must be an array, not an object");
                        free(text);
                }
                free(half);
        }
        assert_acme_error("{\"name\": \"quarterly-reports\", \"id\": \"dsr8k5qzn401lb5\", \"versions\": [\"v1\", \"v2\"], \"latest\": \"v2\"}",
                          "\"quarterly-reports\"", "acme.json:9:5: a dataset must be an object, not a string");
        assert_acme_error(", \"latest\": \"v2\"}", "}", "acme.json:9:5: a dataset is missing \"latest\"; add it");
        assert_acme_error("\"latest\": \"v2\"}", "\"latest\": \"v2\", \"size\": 1}",
                          "acme.json:9:102: unknown key \"size\" in a dataset (allowed: name, id, versions, latest)");
        assert_acme_error("\"id\": \"dsr8k5qzn401lb5\"", "\"id\": \"ds/x\"", "acme.json:9:35: \"id\" \"ds/x\" contains a slash");
        assert_acme_error("\"latest\": \"v2\"", "\"latest\": 2", "acme.json:9:86: \"latest\" must be a string, not an integer");
}

static void unknown_and_missing_keys(void **state) {
        assert_acme_error("\"plan\": \"pro\",", "\"plan\": \"pro\", \"extra\": 1,",
                          "acme.json:3:18: unknown key \"extra\" in team grants (allowed: " TEAM_KEYS ")");
        assert_acme_error("  \"plan\": \"pro\",\n", "", "acme.json:1:1: team grants is missing \"plan\"; add it");
        assert_acme_error("  \"card_on_file\": false,\n", "",
                          "acme.json:1:1: team grants is missing \"card_on_file\"; add it");
        assert_grants_error("[]", "acme", "acme.json:1:1: team grants must be an object, not an array");
        assert_grants_error("  \"acme\"", "acme", "acme.json:1:3: team grants must be an object, not a string");
}

static void json_syntax(void **state) {
        assert_acme_error("\"plan\": \"pro\",", "\"plan\": ,", "acme.json:3:11: invalid JSON: unexpected character");
        assert_acme_error("\"plan\": \"pro\",", "\"plan\": \"pro\"", "acme.json:4:3: invalid JSON: object value separator ',' expected");
        assert_acme_error("false,\n  \"private", "False,\n  \"private", "acme.json:4:19: invalid JSON: boolean expected");
        assert_grants_error("{\"team\": \"acme\"", "acme", "acme.json:1:16: invalid JSON: unexpected end of data");
        assert_grants_error("", "acme", "acme.json:1:1: invalid JSON: unexpected end of data");
        assert_grants_error("{\"team\": 'acme'}", "acme", "acme.json:1:10: invalid JSON: unexpected character");
        assert_grants_error("{\"team\": \"acme\",}", "acme", "acme.json:1:17: invalid JSON: unexpected character");
        assert_grants_error("{\"team\": \"\xff\"}", "acme", "acme.json:1:11: is not valid UTF-8; save the file as UTF-8 text");
}

/* JSON has no NaN, Infinity or "1." (json-c's strict mode takes them). */
static void non_json_numbers(void **state) {
        assert_acme_error("\"card_on_file\": false", "\"card_on_file\": NaN",
                          "acme.json:4:19: invalid JSON: NaN is not a JSON value");
        assert_acme_error("\"card_on_file\": false", "\"card_on_file\": Infinity",
                          "acme.json:4:19: invalid JSON: Infinity is not a JSON value");
        assert_acme_error("\"card_on_file\": false", "\"card_on_file\": -Infinity",
                          "acme.json:4:19: invalid JSON: -Infinity is not a JSON value");
        assert_acme_error("\"card_on_file\": false", "\"card_on_file\": 1.",
                          "acme.json:4:19: invalid JSON: 1. is not a JSON value");
}

static void json_encoding_rules(void **state) {
        char *bom = format("\xef\xbb\xbf%s", acme);

        assert_grants_error(bom, "acme", "acme.json:1:1: starts with a byte order mark (BOM); save the file as UTF-8 without a BOM");
        assert_grants_error("{\"te\\u0000am\": 1}", "acme",
                            "acme.json:1:2: key \"te\\u0000am\" contains a NUL character; remove it");
        assert_grants_error("// grants\n{}", "acme", "acme.json:1:1: invalid JSON: unexpected character");
        /* keys with '/' and '~' are found by their JSON pointer (RFC 6901 escapes) */
        assert_acme_error("\"plan\": \"pro\",", "\"plan\": \"pro\", \"a/b\": 1,",
                          "acme.json:3:18: unknown key \"a/b\" in team grants (allowed: " TEAM_KEYS ")");
        assert_acme_error("\"plan\": \"pro\",", "\"plan\": \"pro\", \"a~1\": 1,",
                          "acme.json:3:18: unknown key \"a~1\" in team grants (allowed: " TEAM_KEYS ")");
        /* control characters from the input are shown escaped */
        assert_acme_error("[\"alice\", \"bob\"]", "[\"alice\", \"b\\u0001b\"]",
                          "acme.json:6:24: \"members\" item \"b\\x01b\" contains a control character");
        assert_acme_error("[\"alice\", \"bob\"]", "[\"alice\", \"b\\nb\"]",
                          "acme.json:6:24: \"members\" item \"b\\nb\" contains a control character");
        /* columns count characters, not bytes */
        assert_acme_error("\"plan\": \"pro\",", "\"plan\": \"pro\", \"\xc3\xa9\": 1, \"\xc3\xa9\": 2,",
                          "acme.json:3:26: duplicate key \"\xc3\xa9\"; keep only one");
        free(bom);
}

static void trailing_data(void **state) {
        char *text = format("%s{}\n", acme);

        assert_grants_error(text, "acme", "acme.json:12:1: invalid JSON: data after the end of the value");
        free(text);
        text = format("%s x", acme);
        assert_grants_error(text, "acme", "acme.json:12:2: invalid JSON: data after the end of the value");
        free(text);
        /* trailing white space is fine */
        text = format("%s\n\n \t\n", acme);
        {
                struct team_grants g = {};

                parse_team_ok(text, "acme", &g);
                team_grants_done(&g);
        }
        free(text);
}

static void duplicate_json_keys(void **state) {
        assert_acme_error("  \"card_on_file\": false,\n", "  \"card_on_file\": false,\n  \"plan\": \"enterprise\",\n",
                          "acme.json:5:3: duplicate key \"plan\"; keep only one");
        assert_acme_error("\"latest\": \"v2\"}", "\"latest\": \"v2\", \"latest\": \"v1\"}",
                          "acme.json:9:102: duplicate key \"latest\"; keep only one");
        /* a key repeated in another object is no duplicate */
        {
                struct team_grants g = {};
                char *text = replace(acme, "\"latest\": \"v2\"}",
                                     "\"latest\": \"v2\"},\n    {\"name\": \"b\", \"id\": \"b\", \"versions\": [\"v1\"], \"latest\": \"v1\"}");

                parse_team_ok(text, "acme", &g);
                assert_int_equal(g.n_datasets, 2);
                team_grants_done(&g);
                free(text);
        }
}

/* "pl\u0061n" is "plan": json-c keeps the last value, so the check must compare decoded keys. */
static void duplicate_json_keys_escaped(void **state) {
        char *text = replace(acme, "  \"card_on_file\": false,\n", "  \"card_on_file\": false,\n  \"pl\\u0061n\": \"enterprise\",\n");
        struct team_grants g = {};
        struct nb_error err = {};
        int r = grants_parse(text, strlen(text), "acme.json", "acme", &g, &err);

        if (r == 0) {
                char plan[sizeof(g.plan)];

                memcpy(plan, g.plan, sizeof(plan));
                team_grants_done(&g);
                free(text);
                fail_msg("accepted, with plan \"%s\"", plan);
        }
        assert_int_equal(r, -EINVAL);
        assert_prefix(err, "acme.json:5:3: duplicate key ");
        free(text);
}

static void public_errors(void **state) {
        assert_public_error("{\"datasets\": [], \"team\": \"acme\"}",
                            "public.json:1:18: unknown key \"team\" in public datasets (allowed: datasets)");
        assert_public_error("{}", "public.json:1:1: public datasets is missing \"datasets\"; add it");
        assert_public_error("[]", "public.json:1:1: public datasets must be an object, not an array");
        assert_public_error("{\"datasets\": [{\"name\": \"m\", \"id\": \".m\", \"versions\": [\"1\"], \"latest\": \"1\"}]}",
                            "public.json:1:29: \"id\" \".m\" starts with a dot");
        assert_public_error("{\"datasets\": [{\"name\": \"m\", \"id\": \"m\", \"versions\": [\"1\"], \"latest\": \"1\", \"owner\": \"x\"}]}",
                            "public.json:1:74: unknown key \"owner\" in a dataset (allowed: name, id, versions, latest)");
        assert_public_error("{\"datasets\": null}", "public.json:1:2: \"datasets\" must be an array, not null");
}

static void load_fd_size_cap(void **state) {
        size_t len = GRANTS_MAX_BYTES + 1;
        char *text = repeat_char(' ', len), *expected;
        struct team_grants g = {};
        struct nb_error err = {};
        int fd;

        memcpy(text, acme, strlen(acme));
        fd = memfd_with(text, len);
        expected = format("acme.json:12:%zu: is 1048577 bytes, more than the 1048576 allowed; shorten it",
                          GRANTS_MAX_BYTES - strlen(acme) + 1); /* at the first byte past the cap */
        assert_error(grants_load_fd(fd, "acme.json", "acme", &g, &err), err, -EFBIG, expected);
        free(expected);
        close(fd);
        fd = memfd_with(text, len - 1);
        assert_int_equal(grants_load_fd(fd, "acme.json", "acme", &g, &err), 0);
        assert_string_equal(g.team, "acme");
        team_grants_done(&g);
        close(fd);
        fd = memfd_with(public_json, strlen(public_json));
        assert_int_equal(public_grants_load_fd(fd, "public.json", &g, &err), 0);
        assert_int_equal(g.n_datasets, 2);
        team_grants_done(&g);
        close(fd);
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(good_team),
                cmocka_unit_test(good_private_workspace_and_card),
                cmocka_unit_test(good_team_no_expected_name),
                cmocka_unit_test(good_public),
                cmocka_unit_test(lookup_helpers),
                cmocka_unit_test(team_mismatch),
                cmocka_unit_test(private_workspace_one_member),
                cmocka_unit_test(duplicates),
                cmocka_unit_test(duplicate_datasets),
                cmocka_unit_test(latest_not_in_versions),
                cmocka_unit_test(types),
                cmocka_unit_test(array_limits),
                cmocka_unit_test(dataset_types),
                cmocka_unit_test(unknown_and_missing_keys),
                cmocka_unit_test(json_syntax),
                cmocka_unit_test(non_json_numbers),
                cmocka_unit_test(json_encoding_rules),
                cmocka_unit_test(trailing_data),
                cmocka_unit_test(duplicate_json_keys),
                cmocka_unit_test(duplicate_json_keys_escaped),
                cmocka_unit_test(public_errors),
                cmocka_unit_test(load_fd_size_cap),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
