/* SPDX-License-Identifier: Apache-2.0 */
/* s3names.c: bucket, prefix, key id, region and endpoint rules (which hosts are private: test_netaddr.c). */
#include "testutil.h"

#include "s3names.h"

struct problem_case {
        const char *value;
        const char *problem; /* NULL: valid */
};

static void check_cases(const char *what, const char *(*problem)(const char *), const struct problem_case *cases,
                        size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *got = problem(cases[i].value);

                if (!cases[i].problem && got)
                        fail_msg("%s \"%s\" refused: %s", what, cases[i].value, got);
                if (cases[i].problem && !got)
                        fail_msg("%s \"%s\" accepted, expected \"%s\"", what, cases[i].value, cases[i].problem);
                if (cases[i].problem && strcmp(got, cases[i].problem) != 0)
                        fail_msg("%s \"%s\": \"%s\", expected \"%s\"", what, cases[i].value, got, cases[i].problem);
        }
}

#define BUCKET_LENGTH "must be 3 to 63 characters long"
#define BUCKET_CHARSET "may only contain lowercase letters, digits, '.' and '-'"
#define BUCKET_ENDS "must start and end with a lowercase letter or a digit"
#define BUCKET_PREFIX "must not start with xn--, sthree- or amzn-s3-demo-"
#define BUCKET_SUFFIX "must not end with -s3alias, --ol-s3 or .mrap"

static void bucket_rules(void **state) {
        static const struct problem_case cases[] = {
                { "abc", NULL },
                { "my-bucket", NULL },
                { "my.bucket.name", NULL },
                { "123", NULL },
                { "1.2.3", NULL },
                { "1.2.3.4.5", NULL },
                { "a-b.c", NULL },
                { "xn-abc", NULL },
                { "s3alias", NULL },
                { "", BUCKET_LENGTH },
                { "ab", BUCKET_LENGTH },
                { "My-Bucket", BUCKET_CHARSET },
                { "my_bucket", BUCKET_CHARSET },
                { "my bucket", BUCKET_CHARSET },
                { "my,bucket", BUCKET_CHARSET },
                { "my/bucket", BUCKET_CHARSET },
                { "-abc", BUCKET_ENDS },
                { "abc-", BUCKET_ENDS },
                { ".abc", BUCKET_ENDS },
                { "abc.", BUCKET_ENDS },
                { "a..b", "must not contain '..'" },
                { "1.2.3.4", "must not be shaped like an IP address" },
                { "192.168.1.1", "must not be shaped like an IP address" },
                { "999.999.999.999", "must not be shaped like an IP address" },
                { "xn--abc", BUCKET_PREFIX },
                { "sthree-abc", BUCKET_PREFIX },
                { "sthree-configurator", BUCKET_PREFIX },
                { "amzn-s3-demo-bucket", BUCKET_PREFIX },
                { "abc-s3alias", BUCKET_SUFFIX },
                { "abc--ol-s3", BUCKET_SUFFIX },
                { "abc.mrap", BUCKET_SUFFIX },
        };
        char *b63 = repeat_char('b', 63), *b64 = repeat_char('b', 64);

        check_cases("bucket", s3_bucket_problem, cases, ARRAY_SIZE(cases));
        assert_null(s3_bucket_problem(b63));
        assert_string_equal(s3_bucket_problem(b64), BUCKET_LENGTH);
        free(b63);
        free(b64);
}

#define PREFIX_CHARSET "may only contain letters, digits and . _ ~ @ = + - /"
#define PREFIX_SEGMENT "must not have an empty, '.' or '..' segment"

static void prefix_rules(void **state) {
        static const struct problem_case cases[] = {
                { "", NULL },
                { "a", NULL },
                { "a/b", NULL },
                { "a/b/", NULL },
                { "x/", NULL },
                { "AZaz09._~@=+-", NULL },
                { "a/.../b", NULL },
                { "a/.b/c.", NULL },
                { "/", PREFIX_SEGMENT },
                { "/a", PREFIX_SEGMENT },
                { "a//b", PREFIX_SEGMENT },
                { "a//", PREFIX_SEGMENT },
                { "a/b//", PREFIX_SEGMENT },
                { ".", PREFIX_SEGMENT },
                { "..", PREFIX_SEGMENT },
                { "./a", PREFIX_SEGMENT },
                { "a/.", PREFIX_SEGMENT },
                { "a/./", PREFIX_SEGMENT },
                { "a/../b", PREFIX_SEGMENT },
                { "a/..", PREFIX_SEGMENT },
                { "a b", PREFIX_CHARSET },
                { "a,b", PREFIX_CHARSET },
                { "a\\b", PREFIX_CHARSET },
                { "a?b", PREFIX_CHARSET },
                { "a%20b", PREFIX_CHARSET },
                { "caf\xc3\xa9", PREFIX_CHARSET },
                { "a\nb", PREFIX_CHARSET },
        };
        char *p1024 = repeat_char('p', 1024), *p1025 = repeat_char('p', 1025);

        check_cases("prefix", s3_prefix_problem, cases, ARRAY_SIZE(cases));
        assert_null(s3_prefix_problem(p1024));
        assert_string_equal(s3_prefix_problem(p1025), "is longer than 1024 characters");
        free(p1024);
        free(p1025);
}

static void key_id_rules(void **state) {
        static const struct problem_case cases[] = {
                { "AKIAIOSFODNN7EXAMPLE", NULL },
                { "a", NULL },
                { "1", NULL },
                { "a.b_c-d", NULL },
                { "minio", NULL },
                { "", "must be 1 to 128 characters long" },
                { "_a", "must start with a letter or a digit" },
                { "-a", "must start with a letter or a digit" },
                { ".a", "must start with a letter or a digit" },
                { "a b", "may only contain letters, digits, '.', '_' and '-'" },
                { "a/b", "may only contain letters, digits, '.', '_' and '-'" },
                { "a+b", "may only contain letters, digits, '.', '_' and '-'" },
                { "a,b", "may only contain letters, digits, '.', '_' and '-'" },
        };
        char *k128 = repeat_char('K', 128), *k129 = repeat_char('K', 129);

        check_cases("key id", s3_key_id_problem, cases, ARRAY_SIZE(cases));
        assert_null(s3_key_id_problem(k128));
        assert_string_equal(s3_key_id_problem(k129), "must be 1 to 128 characters long");
        free(k128);
        free(k129);
}

static void region_rules(void **state) {
        static const struct problem_case cases[] = {
                { "us-east-1", NULL },
                { "a", NULL },
                { "eu-central-2", NULL },
                { "auto", NULL },
                { "abcdefghijabcdefghijabcdefghijab", NULL }, /* 32 */
                { "", "must be 1 to 32 characters long" },
                { "abcdefghijabcdefghijabcdefghijabc", "must be 1 to 32 characters long" },
                { "US", "must start with a lowercase letter" },
                { "1us", "must start with a lowercase letter" },
                { "-us", "must start with a lowercase letter" },
                { "us_east", "may only contain lowercase letters, digits and '-'" },
                { "us.east", "may only contain lowercase letters, digits and '-'" },
                { "us east", "may only contain lowercase letters, digits and '-'" },
                { "usEast", "may only contain lowercase letters, digits and '-'" },
        };

        check_cases("region", s3_region_problem, cases, ARRAY_SIZE(cases));
}

#define EP_SCHEME "must start with https://"
#define EP_HOST "must name a host of 1 to 253 characters"
#define EP_HOST_CHARSET "must name a host of dot-separated labels of letters, digits and '-' (no label starts or ends with '-')"
#define EP_PORT "has a port that is not a number from 0 to 65535"
#define EP_ONLY "must be only a scheme, a host and an optional port (no path, query or user)"
#define EP_IPV6 "has a malformed [IPv6] host"

static void endpoint_rules(void **state) {
        static const struct problem_case cases[] = {
                { "", NULL },
                { "https://s3.amazonaws.com", NULL },
                { "https://s3.amazonaws.com/", NULL },
                { "https://nyc3.digitaloceanspaces.com", NULL },
                { "https://h:9000", NULL },
                { "https://-o.example.com", EP_HOST_CHARSET },
                { "https://minio-.example.com", EP_HOST_CHARSET },
                { "https://minio..example.com", EP_HOST_CHARSET },
                { "https://x.example.com.", EP_HOST_CHARSET },
                { "https://h:0", NULL },
                { "https://h:65535", NULL },
                { "http://h", NULL },
                { "https://[::1]", NULL },
                { "https://[::1]:9000/", NULL },
                { "https://[2001:db8::1]", NULL },
                { "https://1.2.3.4", NULL },
                { "s3.amazonaws.com", EP_SCHEME },
                { "HTTPS://h", EP_SCHEME },
                { "ftp://h", EP_SCHEME },
                { "https:/h", EP_SCHEME },
                { "//h", EP_SCHEME },
                { "https://", EP_HOST },
                { "https://:443", EP_HOST },
                { "https:///", EP_HOST },
                { "https://h:", EP_PORT },
                { "https://h:65536", EP_PORT },
                { "https://h:123456", EP_PORT },
                { "https://h:-1", EP_PORT },
                { "https://u:p@h", EP_PORT },
                { "https://h/x", EP_ONLY },
                { "https://h//", EP_ONLY },
                { "https://h:443/x", EP_ONLY },
                { "https://h:80:80", EP_ONLY },
                { "https://[::1]x", EP_ONLY },
                { "https://h?x", EP_HOST_CHARSET },
                { "https://h#x", EP_HOST_CHARSET },
                { "https://u@h", EP_HOST_CHARSET },
                { "https://h_x", EP_HOST_CHARSET },
                { "https://h x", EP_HOST_CHARSET },
                { "https://[::1", EP_IPV6 },
                { "https://[]", EP_IPV6 },
                { "https://[:]", EP_IPV6 },
                { "https://[zz::1]", EP_IPV6 },
                { "https://[::1%eth0]", EP_IPV6 },
        };
        char *label63 = repeat_char('h', 63), *label61 = repeat_char('h', 61), *label64 = repeat_char('h', 64);
        /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 characters in labels of at most 63 */
        char *host253 = format("%s.%s.%s.%s", label63, label63, label63, label61);
        char *host254 = format("%s.%s.%s.h%s", label63, label63, label63, label61), *ok, *too_long_host, *too_long;

        check_cases("endpoint", s3_endpoint_problem, cases, ARRAY_SIZE(cases));
        ok = format("https://%s:65535/", host253);
        too_long_host = format("https://%s", host254);
        too_long = format("https://%s%s", host253, host253); /* 514 characters */
        assert_null(s3_endpoint_problem(ok));
        assert_string_equal(s3_endpoint_problem(too_long_host), EP_HOST);
        assert_string_equal(s3_endpoint_problem(too_long), "is longer than 300 characters");
        char *long_label = format("https://%s", label64);
        assert_string_equal(s3_endpoint_problem(long_label), EP_HOST_CHARSET);
        free(long_label);
        free(label63);
        free(label61);
        free(label64);
        free(host253);
        free(host254);
        free(ok);
        free(too_long_host);
        free(too_long);
}

static void endpoint_split(void **state) {
        struct s3_endpoint e;

        assert_int_equal(s3_endpoint_split("https://s3.example.com:9000/", &e), 0);
        assert_true(e.https);
        assert_string_equal(e.host, "s3.example.com");
        assert_int_equal(e.port, 9000);

        assert_int_equal(s3_endpoint_split("http://minio", &e), 0);
        assert_false(e.https);
        assert_string_equal(e.host, "minio");
        assert_int_equal(e.port, 0);

        assert_int_equal(s3_endpoint_split("https://[fe80::1]:8443", &e), 0);
        assert_true(e.https);
        assert_string_equal(e.host, "fe80::1");
        assert_int_equal(e.port, 8443);

        assert_int_equal(s3_endpoint_split("https://10.0.0.5", &e), 0);
        assert_string_equal(e.host, "10.0.0.5");

        assert_int_equal(s3_endpoint_split("", &e), -EINVAL);
        assert_int_equal(s3_endpoint_split("ftp://h", &e), -EINVAL);
        assert_int_equal(s3_endpoint_split("https://h/x", &e), -EINVAL);
        assert_int_equal(s3_endpoint_split("https://h:99999", &e), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(bucket_rules),
                cmocka_unit_test(prefix_rules),
                cmocka_unit_test(key_id_rules),
                cmocka_unit_test(region_rules),
                cmocka_unit_test(endpoint_rules),
                cmocka_unit_test(endpoint_split),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
