/* SPDX-License-Identifier: Apache-2.0 */
/* settings.c: NOTEBOOK/.gradient/settings.yaml, untrusted (docs/FORMATS.md §3). */
#include <fcntl.h>

#include "testutil.h"

#define S3_KEYS "type, url, accessKeyId, secretAccessKey, region, endpoint, readOnly"
#define NAME_CHARSET "may only contain letters, digits, '.', '_' and '-'"
#define PREFIX_CHARSET "may only contain letters, digits and . _ ~ @ = + - /"
#define HOST_CHARSET "must name a host of dot-separated labels of letters, digits and '-' (no label starts or ends with '-')"

static const char example[] = "quarterly-reports:            # mounts at /datasets/quarterly-reports\n"
                              "  type: dataset\n"
                              "  id: dsr8k5qzn401lb5\n"
                              "  version: v1                 # optional: latest when absent\n"
                              "my-bucket-data:\n"
                              "  type: s3\n"
                              "  url: s3://my-bucket/my-data\n"
                              "  accessKeyId: AK123\n"
                              "  secretAccessKey: secret:my-bucket-secret-key\n"
                              "  region: us-west-1           # optional\n"
                              "  endpoint: \"\"                # optional custom endpoint\n";

static struct settings *parse_ok(const char *text, size_t len) {
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};

        assert_non_null(s);
        s->n_mounts = 12345;
        if (settings_parse(text, len, "settings.yaml", s, &err) != 0)
                fail_msg("\"%.60s\" refused: %s", text, err.msg);
        return s;
}

/* One s3 mount "data" with `extra` (lines indented by two) after its type. */
static char *s3_mount(const char *extra) {
        return format("data:\n  type: s3\n%s", extra);
}

#define assert_s3_error(extra, expected)                                                                           \
        do {                                                                                                       \
                char *t_ = s3_mount(extra);                                                                        \
                assert_settings_error(t_, (expected));                                                             \
                free(t_);                                                                                          \
        } while (0)

static void example_field_by_field(void **state) {
        struct settings *s = parse_ok(example, strlen(example));
        const struct settings_mount *d = &s->mounts[0], *b = &s->mounts[1];

        assert_int_equal(s->n_mounts, 2);
        assert_string_equal(d->name, "quarterly-reports");
        assert_int_equal(d->type, SETTINGS_DATASET);
        assert_string_equal(d->dataset_id, "dsr8k5qzn401lb5");
        assert_string_equal(d->version, "v1");
        assert_int_equal(d->line, 1);
        assert_int_equal(d->column, 1);
        assert_string_equal(b->name, "my-bucket-data");
        assert_int_equal(b->type, SETTINGS_S3);
        assert_string_equal(b->bucket, "my-bucket");
        assert_string_equal(b->prefix, "my-data");
        assert_string_equal(b->access_key_id, "AK123");
        assert_string_equal(b->secret_name, "my-bucket-secret-key");
        assert_string_equal(b->region, "us-west-1");
        assert_string_equal(b->endpoint, "");
        assert_int_equal(b->line, 5);
        assert_int_equal(b->column, 1);
        /* a dataset mount carries no s3 fields and the other way round */
        assert_string_equal(d->bucket, "");
        assert_string_equal(b->dataset_id, "");
        free(s);
}

static void dataset_latest_and_public_bucket(void **state) {
        static const char text[] = "latest: {type: dataset, id: ds1}\n"
                                   "open-data:\n"
                                   "  type: s3\n"
                                   "  url: s3://noaa-ghcn-pds\n"
                                   "custom:\n"
                                   "  type: s3\n"
                                   "  url: s3://abc/x/\n"
                                   "  accessKeyId: minio\n"
                                   "  secretAccessKey: secret:minio-secret\n"
                                   "  endpoint: https://nyc3.digitaloceanspaces.com:443/\n";
        struct settings *s = parse_ok(text, strlen(text));

        assert_int_equal(s->n_mounts, 3);
        assert_string_equal(s->mounts[0].version, "");
        assert_string_equal(s->mounts[1].bucket, "noaa-ghcn-pds");
        assert_string_equal(s->mounts[1].prefix, "");
        assert_string_equal(s->mounts[1].access_key_id, "");
        assert_string_equal(s->mounts[1].secret_name, "");
        assert_string_equal(s->mounts[1].region, "");
        assert_int_equal(s->mounts[1].line, 2);
        assert_string_equal(s->mounts[2].prefix, "x/");
        assert_string_equal(s->mounts[2].endpoint, "https://nyc3.digitaloceanspaces.com:443/");
        free(s);
}

static void read_only_by_default(void **state) {
        static const char text[] = "ro: {type: s3, url: s3://abc}\n"
                                   "rw: {type: s3, url: s3://abc, readOnly: false}\n"
                                   "explicit: {type: s3, url: s3://abc, readOnly: true}\n";
        struct settings *s = parse_ok(text, strlen(text));

        assert_false(s->mounts[0].writable);
        assert_true(s->mounts[1].writable);
        assert_false(s->mounts[2].writable);
        free(s);
        assert_s3_error("  url: s3://abc\n  readOnly: no\n", "settings.yaml:4:13: \"readOnly\" must be true or false, not a string");
}

static void empty_settings(void **state) {
        static const char *const empty[] = { "", "\n", "# no mounts\n", "{}", "{}\n", "---\n", "~\n", NULL };

        for (size_t i = 0; empty[i]; i++) {
                struct settings *s = parse_ok(empty[i], strlen(empty[i]));

                assert_int_equal(s->n_mounts, 0);
                free(s);
        }
}

static char *many_mounts(size_t n) {
        char *s = strdup(""), *next;

        for (size_t i = 0; i < n; i++) {
                next = format("%sm%zu: {type: dataset, id: d%zu}\n", s, i, i);
                free(s);
                s = next;
        }
        return s;
}

static void mount_count(void **state) {
        char *ok = many_mounts(256), *too_many = many_mounts(257);
        struct settings *s = parse_ok(ok, strlen(ok));

        assert_int_equal(s->n_mounts, 256);
        assert_string_equal(s->mounts[255].name, "m255");
        assert_string_equal(s->mounts[255].dataset_id, "d255");
        assert_int_equal(s->mounts[255].line, 256);
        free(s);
        assert_settings_error(too_many, "settings.yaml:257:1: more than 256 mounts; remove some");
        free(ok);
        free(too_many);
}

static void structure_errors(void **state) {
        assert_settings_error("- a\n", "settings.yaml:1:1: settings.yaml must be a map of keys, not a list");
        assert_settings_error("\"\"\n", "settings.yaml:1:1: settings.yaml must be a map of keys, not a string");
        assert_settings_error("q: dataset\n", "settings.yaml:1:4: mount \"q\" must be a map of keys, not a string");
        assert_settings_error("q:\n", "settings.yaml:1:3: mount \"q\" must be a map of keys, not null");
        assert_settings_error("q:\n  id: x\n", "settings.yaml:2:3: mount \"q\" is missing \"type\"; add it");
        assert_settings_error("q:\n  type: ftp\n", "settings.yaml:2:9: \"type\" \"ftp\" is not one of dataset, s3");
        assert_settings_error("q:\n  type: [s3]\n", "settings.yaml:2:9: \"type\" must be a string, not a list");
        assert_settings_error("q:\n  type: dataset\n", "settings.yaml:2:3: mount \"q\" is missing \"id\"; add it");
        assert_settings_error("q:\n  type: dataset\n  id: ds1\n  versoin: v1\n",
                              "settings.yaml:4:3: unknown key \"versoin\" in mount \"q\" (allowed: type, id, version)");
        assert_settings_error("q:\n  type: dataset\n  id: ds1\n  url: s3://abc\n",
                              "settings.yaml:4:3: unknown key \"url\" in mount \"q\" (allowed: type, id, version)");
        assert_settings_error("q:\n  type: s3\n  url: s3://abc\n  id: ds1\n",
                              "settings.yaml:4:3: unknown key \"id\" in mount \"q\" (allowed: " S3_KEYS ")");
        assert_settings_error("q:\n  type: s3\n  region: us-east-1\n", "settings.yaml:2:3: mount \"q\" is missing \"url\"; add it");
        assert_settings_error("q:\n  type: dataset\n  id: ds1\n  version: 1\n",
                              "settings.yaml:4:12: \"version\" must be a string, not an integer; put it in quotes");
        assert_settings_error("q:\n  type: dataset\n  id: 2024.1\n",
                              "settings.yaml:3:7: \"id\" must be a string, not a number; put it in quotes");
        assert_settings_error("q:\n  type: dataset\n  id: ds1\nq:\n  type: dataset\n  id: ds2\n",
                              "settings.yaml:4:1: duplicate key \"q\" (first at line 1); keep only one");
}

static void mount_names(void **state) {
        char *name65 = repeat_char('n', 65), *text = format("%s: {type: dataset, id: d}\n", name65);

        assert_settings_error(text, "settings.yaml:1:1: mount name is longer than 64 bytes; shorten it");
        assert_settings_error(".hidden: {type: dataset, id: d}\n", "settings.yaml:1:1: mount name \".hidden\" starts with a dot");
        assert_settings_error("\"a/b\": {type: dataset, id: d}\n", "settings.yaml:1:1: mount name \"a/b\" contains a slash");
        assert_settings_error("\"..\": {type: dataset, id: d}\n", "settings.yaml:1:1: mount name \"..\" starts with a dot");
        assert_settings_error("a..b: {type: dataset, id: d}\n", "settings.yaml:1:1: mount name \"a..b\" contains '..'");
        assert_settings_error("1: {type: dataset, id: d}\n",
                              "settings.yaml:1:1: mount name must be a string, not an integer; put it in quotes");
        free(text);
        free(name65);
        text = format("%.64s: {type: dataset, id: d}\n", "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
        {
                struct settings *s = parse_ok(text, strlen(text));

                assert_int_equal(strlen(s->mounts[0].name), 64);
                free(s);
        }
        free(text);
}

static void s3_url_rules(void **state) {
        char *bucket63 = repeat_char('b', 63), *bucket64 = repeat_char('b', 64), *line;

        assert_s3_error("  url: https://abc\n", "settings.yaml:3:8: \"url\" \"https://abc\" must look like s3://BUCKET/PREFIX");
        assert_s3_error("  url: S3://abc\n", "settings.yaml:3:8: \"url\" \"S3://abc\" must look like s3://BUCKET/PREFIX");
        assert_s3_error("  url: s3://\n", "settings.yaml:3:8: \"url\": bucket \"\" must be 3 to 63 characters long");
        assert_s3_error("  url: s3://ab/x\n", "settings.yaml:3:8: \"url\": bucket \"ab\" must be 3 to 63 characters long");
        line = format("  url: s3://%s/x\n", bucket64);
        assert_s3_error(line, "settings.yaml:3:8: \"url\": bucket name must be 3 to 63 characters long");
        free(line);
        line = format("  url: s3://%s/x\n", bucket63);
        {
                char *text = s3_mount(line);
                struct settings *s = parse_ok(text, strlen(text));

                assert_string_equal(s->mounts[0].bucket, bucket63);
                free(s);
                free(text);
        }
        free(line);
        assert_s3_error("  url: s3://My-Bucket\n",
                        "settings.yaml:3:8: \"url\": bucket \"My-Bucket\" may only contain lowercase letters, digits, '.' and '-'");
        assert_s3_error("  url: s3://192.168.1.1/x\n",
                        "settings.yaml:3:8: \"url\": bucket \"192.168.1.1\" must not be shaped like an IP address");
        assert_s3_error("  url: s3://abc/a//b\n",
                        "settings.yaml:3:8: \"url\": prefix \"a//b\" must not have an empty, '.' or '..' segment");
        assert_s3_error("  url: s3://abc//\n",
                        "settings.yaml:3:8: \"url\": prefix \"/\" must not have an empty, '.' or '..' segment");
        assert_s3_error("  url: s3://abc/x/../y\n",
                        "settings.yaml:3:8: \"url\": prefix \"x/../y\" must not have an empty, '.' or '..' segment");
        assert_s3_error("  url: \"s3://abc/a b\"\n", "settings.yaml:3:8: \"url\": prefix \"a b\" " PREFIX_CHARSET);
        assert_s3_error("  url: s3://abc/x?y\n", "settings.yaml:3:8: \"url\": prefix \"x?y\" " PREFIX_CHARSET);
        free(bucket63);
        free(bucket64);
}

static void s3_prefix_length(void **state) {
        char *p1024 = repeat_char('p', 1024), *p1025 = repeat_char('p', 1025), *line, *text, *expected;
        struct settings *s;

        line = format("  url: s3://abc/%s\n", p1024);
        text = s3_mount(line);
        s = parse_ok(text, strlen(text));
        assert_string_equal(s->mounts[0].prefix, p1024);
        free(s);
        free(text);
        free(line);
        /* 1025 characters: refused, not cut down to 1024 */
        line = format("  url: s3://abc/%s\n", p1025);
        expected = format("settings.yaml:3:8: \"url\": prefix \"%.64s\" is longer than 1024 characters", p1025);
        assert_s3_error(line, expected);
        free(expected);
        free(line);
        free(p1024);
        free(p1025);
}

static void s3_value_rules(void **state) {
        char *key128 = repeat_char('K', 128), *key129 = repeat_char('K', 129), *line;

        assert_s3_error("  url: s3://abc\n  accessKeyId: AK!\n  secretAccessKey: secret:k\n",
                        "settings.yaml:4:16: \"accessKeyId\" \"AK!\" may only contain letters, digits, '.', '_' and '-'");
        assert_s3_error("  url: s3://abc\n  accessKeyId: _AK\n  secretAccessKey: secret:k\n",
                        "settings.yaml:4:16: \"accessKeyId\" \"_AK\" must start with a letter or a digit");
        assert_s3_error("  url: s3://abc\n  accessKeyId: \"\"\n  secretAccessKey: secret:k\n",
                        "settings.yaml:4:16: \"accessKeyId\" \"\" must be 1 to 128 characters long");
        line = format("  url: s3://abc\n  accessKeyId: %s\n  secretAccessKey: secret:k\n", key129);
        assert_s3_error(line, "settings.yaml:4:16: \"accessKeyId\" is longer than 128 bytes; shorten it");
        free(line);
        line = format("  url: s3://abc\n  accessKeyId: %s\n  secretAccessKey: secret:k\n", key128);
        {
                char *text = s3_mount(line);
                struct settings *s = parse_ok(text, strlen(text));

                assert_string_equal(s->mounts[0].access_key_id, key128);
                free(s);
                free(text);
        }
        free(line);
        assert_s3_error("  url: s3://abc\n  region: US-EAST-1\n",
                        "settings.yaml:4:11: \"region\" \"US-EAST-1\" must start with a lowercase letter");
        assert_s3_error("  url: s3://abc\n  region: us_east_1\n",
                        "settings.yaml:4:11: \"region\" \"us_east_1\" may only contain lowercase letters, digits and '-'");
        assert_s3_error("  url: s3://abc\n  region: abcdefghijabcdefghijabcdefghijabc\n",
                        "settings.yaml:4:11: \"region\" is longer than 32 bytes; shorten it");
        assert_s3_error("  url: s3://abc\n  endpoint: ftp://x\n",
                        "settings.yaml:4:13: \"endpoint\" \"ftp://x\" must start with https://");
        assert_s3_error("  url: s3://abc\n  endpoint: https://h/path\n",
                        "settings.yaml:4:13: \"endpoint\" \"https://h/path\" must be only a scheme, a host and an optional port (no path, query or user)");
        assert_s3_error("  url: s3://abc\n  endpoint: https://h:99999\n",
                        "settings.yaml:4:13: \"endpoint\" \"https://h:99999\" has a port that is not a number from 0 to 65535");
        free(key128);
        free(key129);
}

static void keys_both_or_neither(void **state) {
        assert_s3_error("  url: s3://abc\n  accessKeyId: AK\n",
                        "settings.yaml:4:3: mount \"data\" has accessKeyId without secretAccessKey; give both, or neither for a public bucket");
        assert_s3_error("  url: s3://abc\n  secretAccessKey: secret:k\n",
                        "settings.yaml:4:3: mount \"data\" has secretAccessKey without accessKeyId; give both, or neither for a public bucket");
}

static void region_and_endpoint(void **state) {
        assert_s3_error("  url: s3://abc\n  region: us-east-1\n  endpoint: https://s3.example.com\n",
                        "settings.yaml:5:3: mount \"data\" has both \"region\" and \"endpoint\"; keep only one");
        {
                char *text = s3_mount("  url: s3://abc\n  region: us-east-1\n  endpoint: \"\"\n");
                struct settings *s = parse_ok(text, strlen(text));

                assert_string_equal(s->mounts[0].region, "us-east-1");
                assert_string_equal(s->mounts[0].endpoint, "");
                free(s);
                free(text);
        }
}

static void literal_secret_refused(void **state) {
        static const char literal[] = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY";
        char *line = format("  url: s3://abc\n  accessKeyId: AK\n  secretAccessKey: %s\n", literal), *text = s3_mount(line);
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};

        assert_int_equal(settings_parse(text, strlen(text), "settings.yaml", s, &err), 0);
        assert_string_equal(s->mounts[0].fault,
                            "settings.yaml:5:20: \"secretAccessKey\" must be secret:NAME, not a literal key; store the key as a team secret and write secret:NAME");
        /* the key itself never lands in a message, nor anywhere in what the parser hands on */
        assert_null(memmem(s, sizeof(*s), literal, strlen(literal)));
        assert_s3_error("  url: s3://abc\n  accessKeyId: AK\n  secretAccessKey: 12345\n",
                        "settings.yaml:5:20: \"secretAccessKey\" must be a string, not an integer; put it in quotes");
        assert_s3_error("  url: s3://abc\n  accessKeyId: AK\n  secretAccessKey: secret:../x\n",
                        "settings.yaml:5:20: \"secretAccessKey\": secret name \"../x\" starts with a dot");
        assert_s3_error("  url: s3://abc\n  accessKeyId: AK\n  secretAccessKey: \"secret:\"\n",
                        "settings.yaml:5:20: \"secretAccessKey\": secret name \"\" is empty");
        assert_s3_error("  url: s3://abc\n  accessKeyId: AK\n  secretAccessKey: Secret:k\n",
                        "settings.yaml:5:20: \"secretAccessKey\" must be secret:NAME, not a literal key; store the key as a team secret and write secret:NAME");
        free(s);
        free(text);
        free(line);
}

struct smuggle_case {
        const char *text;
        const char *expected;
};

/* Every value that reaches a mount command line refuses ',', spaces and a leading '-'. */
static void option_smuggling_refused(void **state) {
        static const struct smuggle_case cases[] = {
                { "-o: {type: dataset, id: d}\n", "settings.yaml:1:1: mount name \"-o\" starts with a dash" },
                { "\"-o allow_other\": {type: dataset, id: d}\n",
                  "settings.yaml:1:1: mount name \"-o allow_other\" " NAME_CHARSET },
                { "\"a,allow_other\": {type: dataset, id: d}\n", "settings.yaml:1:1: mount name \"a,allow_other\" " NAME_CHARSET },
                { "q: {type: dataset, id: \"d,allow_other\"}\n", "settings.yaml:1:24: \"id\" \"d,allow_other\" " NAME_CHARSET },
                { "q: {type: dataset, id: d, version: -oallow_other}\n",
                  "settings.yaml:1:36: \"version\" \"-oallow_other\" starts with a dash" },
                { "q: {type: s3, url: \"s3://abc,allow_other\"}\n",
                  "settings.yaml:1:20: \"url\": bucket \"abc,allow_other\" may only contain lowercase letters, digits, '.' and '-'" },
                { "q: {type: s3, url: \"s3://abc/x,allow_other\"}\n",
                  "settings.yaml:1:20: \"url\": prefix \"x,allow_other\" " PREFIX_CHARSET },
                { "q: {type: s3, url: \"s3://abc/x -o allow_other\"}\n",
                  "settings.yaml:1:20: \"url\": prefix \"x -o allow_other\" " PREFIX_CHARSET },
                { "q: {type: s3, url: s3://abc, accessKeyId: \"AK -o allow_other\", secretAccessKey: secret:k}\n",
                  "settings.yaml:1:43: \"accessKeyId\" \"AK -o allow_other\" may only contain letters, digits, '.', '_' and '-'" },
                { "q: {type: s3, url: s3://abc, accessKeyId: -oallow_other, secretAccessKey: secret:k}\n",
                  "settings.yaml:1:43: \"accessKeyId\" \"-oallow_other\" must start with a letter or a digit" },
                { "q: {type: s3, url: s3://abc, accessKeyId: AK, secretAccessKey: \"secret:k,allow_other\"}\n",
                  "settings.yaml:1:64: \"secretAccessKey\": secret name \"k,allow_other\" " NAME_CHARSET },
                { "q: {type: s3, url: s3://abc, region: \"us-east-1,allow_other\"}\n",
                  "settings.yaml:1:38: \"region\" \"us-east-1,allow_other\" may only contain lowercase letters, digits and '-'" },
                { "q: {type: s3, url: s3://abc, region: \"-o allow_other\"}\n",
                  "settings.yaml:1:38: \"region\" \"-o allow_other\" must start with a lowercase letter" },
                { "q: {type: s3, url: s3://abc, endpoint: \"https://h,allow_other\"}\n",
                  "settings.yaml:1:40: \"endpoint\" \"https://h,allow_other\" " HOST_CHARSET },
                { "q: {type: s3, url: s3://abc, endpoint: \"https://h -o allow_other\"}\n",
                  "settings.yaml:1:40: \"endpoint\" \"https://h -o allow_other\" " HOST_CHARSET },
                { "q: {type: s3, url: s3://abc, endpoint: \"https://h:443,allow_other\"}\n",
                  "settings.yaml:1:40: \"endpoint\" \"https://h:443,allow_other\" must be only a scheme, a host and an optional port (no path, query or user)" },
                { "q: {type: s3, url: s3://abc, endpoint: \"https://user:hunter2@h\"}\n", /* not echoed */
                  "settings.yaml:1:40: \"endpoint\" must not hold a user or password; give the key as accessKeyId and secretAccessKey" },
                { "q: {type: s3, url: s3://abc, endpoint: \"https://h/?x=1\"}\n",
                  "settings.yaml:1:40: \"endpoint\" \"https://h/?x=1\" must be only a scheme, a host and an optional port (no path, query or user)" },
                { "q: {type: s3, url: s3://abc, endpoint: \"https://h\\tx\"}\n",
                  "settings.yaml:1:40: \"endpoint\" \"https://h\\tx\" " HOST_CHARSET }, /* escaped in the message */
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
                assert_settings_error(cases[i].text, cases[i].expected);
}

/* Control characters from the (untrusted) input never reach a message raw (docs/FORMATS.md). */
static void control_characters_escaped(void **state) {
        assert_settings_error("\"a\\eb\": {type: dataset, id: d}\n",
                              "settings.yaml:1:1: mount name \"a\\x1bb\" contains a control character");
        assert_settings_error("\"a\\x7fb\": {type: dataset, id: d}\n",
                              "settings.yaml:1:1: mount name \"a\\x7fb\" contains a control character");
        assert_settings_error("\"a\\tb\": {type: dataset, id: d}\n",
                              "settings.yaml:1:1: mount name \"a\\tb\" contains a control character");
        assert_settings_error("q: {type: dataset, id: \"a\\nb\"}\n",
                              "settings.yaml:1:24: \"id\" \"a\\nb\" contains a control character");
}

/* The C1 controls U+0080..U+009F are control characters too: U+009B is a terminal's CSI. */
static void c1_control_characters_escaped(void **state) {
        static const char *const texts[] = {
                "\"a\\u009b31mb\": {type: dataset, id: d}\n",
                "q: {type: dataset, id: \"\\u009b2J\"}\n",
                "q: {type: s3, url: \"s3://abc/\\u009b\"}\n",
                "q: {type: s3, url: s3://abc, region: \"\\u0090x\"}\n",
                NULL,
        };
        char wrong[2048] = "";

        for (size_t i = 0; texts[i]; i++) {
                struct settings *s = calloc(1, sizeof(*s));
                struct nb_error err = {};

                assert_int_equal(settings_parse(texts[i], strlen(texts[i]), "settings.yaml", s, &err), 0);
                assert_non_null(settings_first_fault(s));
                snprintf(err.msg, sizeof(err.msg), "%s", settings_first_fault(s)->fault);
                for (const unsigned char *p = (const unsigned char *) err.msg; *p; p++)
                        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
                                /* report it with the C1 bytes shown as <U+00XX>, not raw */
                                snprintf(wrong + strlen(wrong), sizeof(wrong) - strlen(wrong), "\n  ");
                                for (const unsigned char *q = (const unsigned char *) err.msg;
                                     *q && strlen(wrong) + 16 < sizeof(wrong); q++)
                                        if (q[0] == 0xc2 && q[1] >= 0x80 && q[1] <= 0x9f)
                                                snprintf(wrong + strlen(wrong), sizeof(wrong) - strlen(wrong),
                                                         "<U+00%02X>", *++q);
                                        else
                                                snprintf(wrong + strlen(wrong), sizeof(wrong) - strlen(wrong), "%c", *q);
                                break;
                        }
                free(s);
        }
        if (wrong[0])
                fail_msg("raw C1 control characters in:%s", wrong);
}

/* A file that is not YAML leaves the output as it was. */
static void output_untouched_on_error(void **state) {
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};
        static const char text[] = "good: {type: dataset, id: d}\nbad: [\n";

        assert_non_null(s);
        s->n_mounts = 7;
        assert_int_equal(settings_parse(text, strlen(text), "settings.yaml", s, &err), -EINVAL);
        assert_int_equal(s->n_mounts, 7);
        assert_string_equal(s->mounts[0].name, "");
        free(s);
}

/* One entry at fault is skipped on its own: the entries around it are read whole, and the faulty one
 * keeps only its raw name, place and fault. */
static void faulty_entry_alone(void **state) {
        static const char text[] = "good: {type: dataset, id: d, version: v2}\n"
                                   "typo:\n  type: dataset\n  id: d\n  versoin: v1\n"
                                   "\"bad name/..\": {type: dataset, id: d}\n"
                                   "ftp: {type: ftp}\n"
                                   "bucket: {type: s3, url: s3://abc/p, readOnly: false}\n";
        struct settings *s = parse_ok(text, strlen(text));

        assert_int_equal(s->n_mounts, 5);
        assert_string_equal(s->mounts[0].fault, "");
        assert_string_equal(s->mounts[0].version, "v2");
        assert_string_equal(s->mounts[1].name, "typo");
        assert_string_equal(s->mounts[1].fault,
                            "settings.yaml:5:3: unknown key \"versoin\" in mount \"typo\" (allowed: type, id, version)");
        assert_string_equal(s->mounts[1].dataset_id, "");
        assert_int_equal(s->mounts[1].line, 2);
        assert_string_equal(s->mounts[2].name, "bad name/..");
        assert_non_null(strstr(s->mounts[2].fault, "settings.yaml:6:1: "));
        assert_string_equal(s->mounts[3].fault, "settings.yaml:7:13: \"type\" \"ftp\" is not one of dataset, s3");
        assert_string_equal(s->mounts[4].fault, "");
        assert_true(s->mounts[4].writable);
        assert_string_equal(settings_first_fault(s)->name, "typo");
        free(s);
}

static void load_fd_size_cap(void **state) {
        size_t len = SETTINGS_MAX_BYTES + 1;
        char *text = repeat_char('#', len);
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};
        int fd;

        assert_non_null(s);
        memcpy(text, "q: {type: dataset, id: d}\n", 26);
        fd = memfd_with(text, len);
        assert_error(settings_load_fd(fd, "settings.yaml", s, &err), err, -EFBIG,
                     "settings.yaml:2:65511: is 65537 bytes, more than the 65536 allowed; shorten it");
        close(fd);
        fd = memfd_with(text, len - 1); /* exactly 64 KiB */
        assert_int_equal(settings_load_fd(fd, "settings.yaml", s, &err), 0);
        assert_int_equal(s->n_mounts, 1);
        close(fd);
        fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_error(settings_load_fd(fd, "settings.yaml", s, &err), err, -EINVAL,
                     "settings.yaml: is not a regular file; replace it with a file");
        close(fd);
        free(text);
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(example_field_by_field),
                cmocka_unit_test(dataset_latest_and_public_bucket),
                cmocka_unit_test(read_only_by_default),
                cmocka_unit_test(empty_settings),
                cmocka_unit_test(mount_count),
                cmocka_unit_test(structure_errors),
                cmocka_unit_test(mount_names),
                cmocka_unit_test(s3_url_rules),
                cmocka_unit_test(s3_prefix_length),
                cmocka_unit_test(s3_value_rules),
                cmocka_unit_test(keys_both_or_neither),
                cmocka_unit_test(region_and_endpoint),
                cmocka_unit_test(literal_secret_refused),
                cmocka_unit_test(option_smuggling_refused),
                cmocka_unit_test(control_characters_escaped),
                cmocka_unit_test(c1_control_characters_escaped),
                cmocka_unit_test(output_untouched_on_error),
        cmocka_unit_test(faulty_entry_alone),
                cmocka_unit_test(load_fd_size_cap),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
