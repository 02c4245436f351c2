/* SPDX-License-Identifier: Apache-2.0 */
/* values.c: names, host paths, sizes (docs/FORMATS.md, "Shared rules"). */
#include "testutil.h"

#include "values.h"

#define NAME_CHARSET "may only contain letters, digits, '.', '_' and '-'"
#define SIZE_SYNTAX "is not a size like 15GB, 1.5 TiB or unlimited (units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"

static void name_valid(void **state) {
        static const char *const good[] = { "a", "A", "0", "_", "_x", "acme", "Big_Co.research", "a.b", "a-b", "a_b",
                                            "a.", "a-", "nb4f2k9q1", "v1", "2024-01", "x.y.z", "a.b-c_d", NULL };
        char *max = repeat_char('n', 64);

        for (size_t i = 0; good[i]; i++) {
                const char *problem = name_problem(good[i]);

                if (problem)
                        fail_msg("\"%s\" refused: %s", good[i], problem);
        }
        assert_null(name_problem(max));
        free(max);
}

static void name_length(void **state) {
        char *n64 = repeat_char('a', 64), *n65 = repeat_char('a', 65);

        assert_string_equal(name_problem(""), "is empty");
        assert_null(name_problem(n64));
        assert_string_equal(name_problem(n65), "is longer than 64 bytes");
        free(n64);
        free(n65);
}

static void name_rules(void **state) {
        assert_string_equal(name_problem(".hidden"), "starts with a dot");
        assert_string_equal(name_problem("."), "starts with a dot");
        assert_string_equal(name_problem(".."), "starts with a dot");
        assert_string_equal(name_problem("a/b"), "contains a slash");
        assert_string_equal(name_problem("/abs"), "contains a slash");
        assert_string_equal(name_problem("a\tb"), "contains a control character");
        assert_string_equal(name_problem("a\nb"), "contains a control character");
        assert_string_equal(name_problem("a\x7f"), "contains a control character");
        assert_string_equal(name_problem("a b"), NAME_CHARSET);
        assert_string_equal(name_problem("a:b"), NAME_CHARSET);
        assert_string_equal(name_problem("a,b"), NAME_CHARSET);
        assert_string_equal(name_problem("a@b"), NAME_CHARSET);
        assert_string_equal(name_problem("caf\xc3\xa9"), NAME_CHARSET);
        assert_string_equal(name_problem("-a"), "starts with a dash");
        assert_string_equal(name_problem("-o"), "starts with a dash");
}

static void name_dotdot_anywhere(void **state) {
        char *long_dotdot = format("%s..", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 64 */

        assert_int_equal(strlen(long_dotdot), 64);
        assert_string_equal(name_problem("a..b"), "contains '..'");
        assert_string_equal(name_problem("a.."), "contains '..'");
        assert_string_equal(name_problem("_.."), "contains '..'");
        assert_string_equal(name_problem("a...b"), "contains '..'");
        assert_string_equal(name_problem(long_dotdot), "contains '..'");
        assert_null(name_problem("a.b.c"));
        free(long_dotdot);
}

static void name_copy_copies(void **state) {
        nb_name dst;
        char *max = repeat_char('z', 64);

        name_copy(dst, "acme");
        assert_string_equal(dst, "acme");
        name_copy(dst, max);
        assert_string_equal(dst, max);
        free(max);
}

static void path_valid(void **state) {
        static const char *const good[] = { "/", "/srv", "/srv/nbmount/notebooks", "/a/.b", "/a/..b", "/a/b.",
                                            "/a/...", "/with space/x", "/a-b/c_d", NULL };
        char *max = repeat_char('p', 4095);

        for (size_t i = 0; good[i]; i++) {
                const char *problem = path_problem(good[i]);

                if (problem)
                        fail_msg("\"%s\" refused: %s", good[i], problem);
        }
        max[0] = '/';
        assert_null(path_problem(max));
        free(max);
}

static void path_rules(void **state) {
        char *long_path = repeat_char('p', 4096);

        long_path[0] = '/';
        assert_string_equal(path_problem(""), "is not an absolute path");
        assert_string_equal(path_problem("srv/nbmount"), "is not an absolute path");
        assert_string_equal(path_problem("./srv"), "is not an absolute path");
        assert_string_equal(path_problem(long_path), "is longer than 4095 bytes");
        assert_string_equal(path_problem("/a\nb"), "contains a control character");
        assert_string_equal(path_problem("/a\x7f"), "contains a control character");
        assert_string_equal(path_problem("//"), "has an empty component ('//' or a trailing '/')");
        assert_string_equal(path_problem("/a//b"), "has an empty component ('//' or a trailing '/')");
        assert_string_equal(path_problem("/a/"), "has an empty component ('//' or a trailing '/')");
        assert_string_equal(path_problem("/."), "has a '.' or '..' component");
        assert_string_equal(path_problem("/.."), "has a '.' or '..' component");
        assert_string_equal(path_problem("/a/./b"), "has a '.' or '..' component");
        assert_string_equal(path_problem("/a/../b"), "has a '.' or '..' component");
        assert_string_equal(path_problem("/a/b/.."), "has a '.' or '..' component");
        free(long_path);
}

struct size_case {
        const char *text;
        uint64_t bytes;
};

static void check_size_cases(const struct size_case *cases, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *problem = NULL;
                uint64_t bytes = 42;
                int r = size_parse(cases[i].text, &bytes, &problem);

                if (r != 0)
                        fail_msg("\"%s\" refused: %s", cases[i].text, problem);
                if (bytes != cases[i].bytes)
                        fail_msg("\"%s\" = %llu, expected %llu", cases[i].text, (unsigned long long) bytes,
                                 (unsigned long long) cases[i].bytes);
        }
}

static void size_parse_units(void **state) {
        static const struct size_case cases[] = {
                { "0B", 0 },
                { "1B", 1 },
                { "1kB", 1000ULL },
                { "1MB", 1000000ULL },
                { "1GB", 1000000000ULL },
                { "1TB", 1000000000000ULL },
                { "1KiB", 1024ULL },
                { "1MiB", 1048576ULL },
                { "1GiB", 1073741824ULL },
                { "1TiB", 1099511627776ULL },
                { "15GB", 15000000000ULL },
                { "15 GB", 15000000000ULL },
                { "15 GiB", 16106127360ULL },
                { "5 TB", 5000000000000ULL },
                { "999999999999999B", 999999999999999ULL },
                { "007 kB", 7000ULL },
        };

        check_size_cases(cases, ARRAY_SIZE(cases));
}

static void size_parse_decimals(void **state) {
        static const struct size_case cases[] = {
                { "1.5kB", 1500ULL },
                { "1.5 TiB", 1649267441664ULL },
                { "0.5KiB", 512ULL },
                { "1.0B", 1ULL },
                { "1.000B", 1ULL },
                { "2.25 MiB", 2359296ULL },
                { "1.000000001GB", 1000000001ULL },
                { "0.000000001TB", 1000ULL },
        };

        check_size_cases(cases, ARRAY_SIZE(cases));
}

static void size_parse_not_whole(void **state) {
        static const char *const cases[] = { "1.0001kB", "1.5B", "0.1B", "0.1KiB", "1.50B", "0.000000001GiB", NULL };

        for (size_t i = 0; cases[i]; i++) {
                const char *problem = NULL;
                uint64_t bytes = 42;
                int r = size_parse(cases[i], &bytes, &problem);

                assert_int_equal(r, -EINVAL);
                assert_string_equal(problem, "is not a whole number of bytes");
                assert_int_equal(bytes, 42);
        }
}

static void size_parse_syntax(void **state) {
        static const char *const cases[] = {
                "", "GB", "15", "15 ", "15gb", "15KB", "15 kb", "15kib", "15 G", "1.kB", ".5kB", "1.1234567890GB",
                "1234567890123456B", "15  GB", " 15GB", "15GB ", "15GB\n", "-1GB", "+1GB", "1e3B", "1,5GB",
                "Unlimited", "unlimited ", "UNLIMITED", "infinite", "15 GB GB", "0x10GB", NULL,
        };

        for (size_t i = 0; cases[i]; i++) {
                const char *problem = NULL;
                uint64_t bytes = 42;
                int r = size_parse(cases[i], &bytes, &problem);

                if (r != -EINVAL)
                        fail_msg("\"%s\": expected -EINVAL, got %d (%llu bytes)", cases[i], r,
                                 (unsigned long long) bytes);
                assert_string_equal(problem, SIZE_SYNTAX);
                assert_int_equal(bytes, 42);
        }
}

static void size_parse_overflow(void **state) {
        static const char *const too_large[] = { "16777216TiB", "18446745TB", "999999999999999TB",
                                                 "999999999999999TiB", "18446744073709.552 MB",
                                                 "123456789012345.123456789 TB", NULL };
        const char *problem = NULL;
        uint64_t bytes = 0;

        for (size_t i = 0; too_large[i]; i++) {
                problem = NULL;
                bytes = 42;
                assert_int_equal(size_parse(too_large[i], &bytes, &problem), -ERANGE);
                assert_string_equal(problem, "is too large");
                assert_int_equal(bytes, 42);
        }
        assert_int_equal(size_parse("16777215TiB", &bytes, &problem), 0);
        assert_int_equal(bytes, 16777215ULL << 40);
        assert_int_equal(size_parse("18446744TB", &bytes, &problem), 0);
        assert_int_equal(bytes, 18446744000000000000ULL);
        assert_int_equal(size_parse("18446744073709.551 MB", &bytes, &problem), 0);
        assert_int_equal(bytes, 18446744073709551000ULL);
}

static void size_parse_unlimited(void **state) {
        const char *problem = NULL;
        uint64_t bytes = 0;

        assert_int_equal(size_parse("unlimited", &bytes, &problem), 0);
        assert_true(bytes == NB_SIZE_UNLIMITED);
        assert_null(problem);
}

static void size_parse_one_space(void **state) {
        const char *problem = NULL;
        uint64_t a = 0, b = 1;

        assert_int_equal(size_parse("1.5 kB", &a, &problem), 0);
        assert_int_equal(size_parse("1.5kB", &b, &problem), 0);
        assert_int_equal(a, b);
        assert_int_equal(size_parse("1.5\tkB", &a, &problem), -EINVAL);
        assert_int_equal(size_parse("1 .5kB", &a, &problem), -EINVAL);
}

struct format_case {
        uint64_t bytes;
        const char *text;
};

static void size_format_exact(void **state) {
        static const struct format_case cases[] = {
                { 0, "0 B" },
                { 1, "1 B" },
                { 999, "999 B" },
                { 1000, "1 kB" },
                { 1024, "1 KiB" },
                { 1536, "1536 B" },
                { 1500, "1500 B" },
                { 2000000, "2 MB" },
                { 15000000000ULL, "15 GB" },
                { 16106127360ULL, "15 GiB" },
                { 5000000000ULL, "5 GB" },
                { 1099511627776ULL, "1 TiB" },
                { 123456, "123456 B" },
                { NB_SIZE_UNLIMITED, "unlimited" },
        };
        char buf[64];

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                size_format(cases[i].bytes, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].text);
        }
}

/* Sizes that are whole in a decimal unit and also a multiple of 1024 must read as the decimal
 * unit they were written in, not as a huge count of KiB: the default growth plan is "50GB". */
static void size_format_prefers_whole_largest_unit(void **state) {
        static const struct format_case cases[] = {
                { 50000000000ULL, "50 GB" },
                { 1000000000000ULL, "1 TB" },
                { 500000000000ULL, "500 GB" },
                { 2000000000000ULL, "2 TB" },
                /* now "18014398437500000 KiB", which size_parse() refuses (more than 15 digits) */
                { 18446744000000000000ULL, "18446744 TB" },
        };
        char buf[64];

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                size_format(cases[i].bytes, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].text);
        }
}

static void size_format_round_trips(void **state) {
        static const uint64_t values[] = { 0, 1, 1000, 1024, 1536, 5000000000ULL, 15000000000ULL,
                                           1099511627776ULL, 16106127360ULL,
                                           999999999999999ULL, NB_SIZE_UNLIMITED };
        char buf[64];

        for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
                const char *problem = NULL;
                uint64_t bytes = 42;

                size_format(values[i], buf, sizeof(buf));
                if (size_parse(buf, &bytes, &problem) != 0)
                        fail_msg("size_format(%llu) = \"%s\", which size_parse refuses: %s",
                                 (unsigned long long) values[i], buf, problem);
                assert_true(bytes == values[i]);
        }
}

/* Printable ASCII as it is, every other byte (and the hidden ones) as '?', cut to fit. */
static void text_shown(void **state) {
        char buf[12] = "ab";
        size_t len = 2;

        text_append_shown(buf, sizeof(buf), &len, "c\x1b\xc3\xa9 /", " ");
        assert_string_equal(buf, "abc????" "/");
        assert_int_equal(len, 8);
        text_append_shown(buf, sizeof(buf), &len, "more", "");
        assert_int_equal(len, 11);
        assert_string_equal(buf, "abc????" "/mor");
}

static void size_format_small_buffer(void **state) {
        char buf[4];

        size_format(15000000000ULL, buf, sizeof(buf));
        assert_string_equal(buf, "15 ");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(text_shown),
                cmocka_unit_test(name_valid),
                cmocka_unit_test(name_length),
                cmocka_unit_test(name_rules),
                cmocka_unit_test(name_dotdot_anywhere),
                cmocka_unit_test(name_copy_copies),
                cmocka_unit_test(path_valid),
                cmocka_unit_test(path_rules),
                cmocka_unit_test(size_parse_units),
                cmocka_unit_test(size_parse_decimals),
                cmocka_unit_test(size_parse_not_whole),
                cmocka_unit_test(size_parse_syntax),
                cmocka_unit_test(size_parse_overflow),
                cmocka_unit_test(size_parse_unlimited),
                cmocka_unit_test(size_parse_one_space),
                cmocka_unit_test(size_format_exact),
                cmocka_unit_test(size_format_prefers_whole_largest_unit),
                cmocka_unit_test(size_format_round_trips),
                cmocka_unit_test(size_format_small_buffer),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
