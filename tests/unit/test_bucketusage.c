/* SPDX-License-Identifier: Apache-2.0 */
/* nbmountd's bucket usage files (bucketusage.h), hand-written, and node.yaml's bucket_storage.free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "bucketusage.h"
#include "nodeconfig.h"

static int parse(const char *text, const char *team, struct bucket_usage *ret, struct nb_error *err) {
        return bucket_usage_parse(text, strlen(text), "acme.json", team, ret, err);
}

static void good_file(void **unused) {
        struct bucket_usage u;
        struct nb_error err = {};

        assert_int_equal(parse("{\"team\": \"acme\", \"bytes\": 123, \"objects\": 4, \"updated_at\": \"2026-12-03T04:00:00Z\"}", "acme", &u, &err), 0);
        assert_string_equal(u.team, "acme");
        assert_int_equal(u.bytes, 123);
        assert_int_equal(u.objects, 4);
        assert_int_equal(u.updated_at, 1796270400);
}

static void bad_files(void **unused) {
        struct bucket_usage u;
        struct nb_error err = {};

        assert_true(parse("{\"team\": \"other\", \"bytes\": 1, \"objects\": 1, \"updated_at\": \"2026-12-03T04:00:00Z\"}", "acme", &u, &err) < 0);
        assert_non_null(strstr(err.msg, "\"team\" is \"other\" in the file of team acme"));
        assert_true(parse("{\"team\": \"acme\", \"bytes\": -1, \"objects\": 1, \"updated_at\": \"2026-12-03T04:00:00Z\"}", "acme", &u, &err) < 0);
        assert_true(parse("{\"team\": \"acme\", \"bytes\": 1, \"updated_at\": \"2026-12-03T04:00:00Z\"}", "acme", &u, &err) < 0);
        assert_true(parse("{\"team\": \"acme\", \"bytes\": 1, \"objects\": 1, \"updated_at\": \"yesterday\"}", "acme", &u, &err) < 0);
        assert_non_null(strstr(err.msg, "updated_at"));
        assert_true(parse("{\"team\": \"acme\", \"bytes\": 1, \"objects\": 1, \"updated_at\": \"2026-12-03T04:00:00Z\", \"x\": 1}", "acme", &u, &err) < 0);
}

static void read_folder(void **unused) {
        char dir[64] = "/tmp/nbmount-test-usage.XXXXXX", path[160], command[128];
        struct bucket_usage *rows;
        size_t n, skipped;
        struct nb_error err = {};
        FILE *f;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(bucket_usage_read_all(dir, &rows, &n, &skipped, &err), 0); /* no folder: nothing */
        assert_int_equal(n, 0);
        snprintf(command, sizeof(command), "mkdir -p %s/offline/usage", dir);
        assert_int_equal(system(command), 0);
        const char *files[][2] = {
                { "zeta.json", "{\"team\": \"zeta\", \"bytes\": 5, \"objects\": 1, \"updated_at\": \"2026-12-03T04:00:00Z\"}" },
                { "acme.json", "{\"team\": \"acme\", \"bytes\": 7, \"objects\": 2, \"updated_at\": \"2026-12-03T04:00:00Z\"}" },
                { "bad.json", "{\"team\": \"bad\"" },
                { "notes.txt", "not a usage file" },
        };
        for (size_t i = 0; i < 4; i++) {
                snprintf(path, sizeof(path), "%s/offline/usage/%s", dir, files[i][0]);
                assert_non_null(f = fopen(path, "w"));
                fputs(files[i][1], f);
                fclose(f);
        }
        assert_int_equal(bucket_usage_read_all(dir, &rows, &n, &skipped, &err), 0);
        assert_int_equal(n, 2);
        assert_int_equal(skipped, 1);
        assert_string_equal(rows[0].team, "acme");
        assert_int_equal(rows[1].bytes, 5);
        assert_non_null(strstr(err.msg, "bad.json"));
        free(rows);
        snprintf(command, sizeof(command), "rm -rf %s", dir);
        assert_int_equal(system(command), 0);
}

static void bucket_free_key(void **unused) {
        static const char given[] = "cluster: east-1\nbucket_storage:\n  free: 10GB\n", absent[] = "cluster: east-1\n";
        struct node_config config;
        struct nb_error err = {};

        assert_int_equal(node_config_parse(absent, strlen(absent), "node.yaml", &config, &err), 0);
        assert_int_equal(config.bucket_free_bytes, 2000000000ULL);
        assert_int_equal(node_config_parse(given, strlen(given), "node.yaml", &config, &err), 0);
        assert_int_equal(config.bucket_free_bytes, 10000000000ULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(good_file),
                cmocka_unit_test(bad_files),
                cmocka_unit_test(read_folder),
                cmocka_unit_test(bucket_free_key),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
