/* SPDX-License-Identifier: Apache-2.0 */
/* ociconfig.c: the container's identity from BUNDLE/config.json (docs/FORMATS.md §4). */
#include "testutil.h"

#define OURS "io.nbmount.team, io.nbmount.notebook, io.nbmount.user, io.nbmount.storage-cluster"

static const char minimal[] = "{\n"
                              "  \"ociVersion\": \"1.0.2\",\n"
                              "  \"annotations\": {\n"
                              "    \"io.nbmount.team\": \"acme\",\n"
                              "    \"io.nbmount.notebook\": \"nb4f2k9q1\",\n"
                              "    \"io.nbmount.user\": \"alice\"\n"
                              "  }\n"
                              "}\n";

static const char full[] = "{\n"
                           "  \"ociVersion\": \"1.0.2\",\n"
                           "  \"process\": {\"user\": {\"uid\": 1000, \"gid\": 100}, \"args\": [\"sh\"]},\n"
                           "  \"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
                           "  \"annotations\": {\n"
                           "    \"io.nbmount.team\": \"acme\",\n"
                           "    \"io.nbmount.notebook\": \"nb4f2k9q1\",\n"
                           "    \"io.nbmount.user\": \"alice\"\n"
                           "  }\n"
                           "}\n";

static struct container_identity parse_ok(const char *text) {
        struct container_identity id;
        struct nb_error err = {};

        memset(&id, 'x', sizeof(id));
        if (oci_identity_parse(text, strlen(text), "config.json", &id, &err) != 0)
                fail_msg("refused: %s", err.msg);
        return id;
}

#define assert_minimal_error(from, to, expected)                                                                   \
        do {                                                                                                       \
                char *text_ = replace(minimal, (from), (to));                                                      \
                assert_oci_error(text_, (expected));                                                               \
                free(text_);                                                                                       \
        } while (0)

static void annotations_present(void **state) {
        struct container_identity id = parse_ok(minimal);

        assert_string_equal(id.team, "acme");
        assert_string_equal(id.notebook, "nb4f2k9q1");
        assert_string_equal(id.user, "alice");
        assert_string_equal(id.storage_cluster, ""); /* the node's cluster */
}

static void storage_cluster_optional(void **state) {
        char *text = replace(minimal, "\"alice\"\n", "\"alice\",\n    \"io.nbmount.storage-cluster\": \"west-2\"\n");
        struct container_identity id = parse_ok(text);

        assert_string_equal(id.storage_cluster, "west-2");
        assert_string_equal(id.user, "alice");
        free(text);
        assert_minimal_error("\"alice\"\n", "\"alice\",\n    \"io.nbmount.storage-cluster\": \"\"\n",
                             "config.json:7:5: \"io.nbmount.storage-cluster\" \"\" is empty");
        assert_minimal_error("\"alice\"\n", "\"alice\",\n    \"io.nbmount.storage-cluster\": null\n",
                             "config.json:7:5: \"io.nbmount.storage-cluster\" must be a string, not null");
}

static void rest_of_config_ignored(void **state) {
        static const char text[] = "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"sh\"], \"env\": [\"A=1\"]},"
                                   " \"root\": {\"path\": \"rootfs\"}, \"hooks\": {\"prestart\": []},"
                                   " \"annotations\": {\"org.opencontainers.image.title\": \"x\", \"io.nbmountx\": \"y\","
                                   " \"io.nbmount\": \"z\", \"com.example.io.nbmount.team\": \"w\", \"IO.NBMOUNT.TEAM\": \"v\","
                                   " \"io.nbmount.team\": \"acme\", \"io.nbmount.notebook\": \"nb1\", \"io.nbmount.user\": \"bob\"}}";
        struct container_identity id = parse_ok(text);

        assert_string_equal(id.team, "acme");
        assert_string_equal(id.notebook, "nb1");
        assert_string_equal(id.user, "bob");
}

static void annotations_missing(void **state) {
        assert_oci_error("{\"ociVersion\": \"1.0.2\"}",
                         "config.json:1:1: config.json has no \"annotations\"; the orchestrator must set io.nbmount.team, io.nbmount.notebook and io.nbmount.user");
        assert_oci_error("{\"annotations\": [\"io.nbmount.team=acme\"]}",
                         "config.json:1:2: \"annotations\" must be an object, not an array");
        assert_oci_error("{\"annotations\": null}", "config.json:1:2: \"annotations\" must be an object, not null");
        assert_minimal_error("    \"io.nbmount.user\": \"alice\"\n", "    \"io.nbmount.x\": \"alice\"\n",
                             "config.json:6:5: unknown annotation \"io.nbmount.x\" (nbmount reads " OURS ")");
        assert_minimal_error(",\n    \"io.nbmount.user\": \"alice\"\n", "\n",
                             "config.json:3:3: annotation \"io.nbmount.user\" is missing; the orchestrator must set it");
        assert_minimal_error("    \"io.nbmount.team\": \"acme\",\n", "",
                             "config.json:3:3: annotation \"io.nbmount.team\" is missing; the orchestrator must set it");
        assert_minimal_error("    \"io.nbmount.notebook\": \"nb4f2k9q1\",\n", "",
                             "config.json:3:3: annotation \"io.nbmount.notebook\" is missing; the orchestrator must set it");
        assert_oci_error("[]", "config.json:1:1: config.json must be an object, not an array");
}

static void unknown_nbmount_annotation(void **state) {
        assert_minimal_error("\"alice\"\n", "\"alice\",\n    \"io.nbmount.gpu\": \"1\"\n",
                             "config.json:7:5: unknown annotation \"io.nbmount.gpu\" (nbmount reads " OURS ")");
        assert_minimal_error("\"alice\"\n", "\"alice\",\n    \"io.nbmount.\": \"1\"\n",
                             "config.json:7:5: unknown annotation \"io.nbmount.\" (nbmount reads " OURS ")");
        assert_minimal_error("\"alice\"\n", "\"alice\",\n    \"io.nbmount.Team\": \"evil\"\n",
                             "config.json:7:5: unknown annotation \"io.nbmount.Team\" (nbmount reads " OURS ")");
        assert_minimal_error("\"alice\"\n", "\"alice\",\n    \"io.nbmount.storage_cluster\": \"x\"\n",
                             "config.json:7:5: unknown annotation \"io.nbmount.storage_cluster\" (nbmount reads " OURS ")");
}

static void bad_names(void **state) {
        assert_minimal_error("\"acme\"", "\"a/b\"", "config.json:4:5: \"io.nbmount.team\" \"a/b\" contains a slash");
        assert_minimal_error("\"acme\"", "\"..\"", "config.json:4:5: \"io.nbmount.team\" \"..\" starts with a dot");
        assert_minimal_error("\"acme\"", "5", "config.json:4:5: \"io.nbmount.team\" must be a string, not an integer");
        assert_minimal_error("\"nb4f2k9q1\"", "\"nb 1\"",
                             "config.json:5:5: \"io.nbmount.notebook\" \"nb 1\" may only contain letters, digits, '.', '_' and '-'");
        assert_minimal_error("\"alice\"", "\"\"", "config.json:6:5: \"io.nbmount.user\" \"\" is empty");
        assert_minimal_error("\"alice\"", "\"-alice\"", "config.json:6:5: \"io.nbmount.user\" \"-alice\" starts with a dash");
        assert_minimal_error("\"alice\"", "\"al\\u0000ice\"", "config.json:6:5: \"io.nbmount.user\" contains a NUL character; remove it");
        assert_minimal_error("\"alice\"", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
                             "config.json:6:5: \"io.nbmount.user\" is longer than 64 bytes; shorten it");
        assert_minimal_error("\"acme\",", "\"acme\", \"io.nbmount.team\": \"evil\",",
                             "config.json:4:32: duplicate key \"io.nbmount.team\"; keep only one");
}

/* json-c decodes a lone surrogate escape (\ud800) to U+FFFD, so "x\ud800" and "x\ufffd" are one key
 * to it (the last value wins): the duplicate-key check must see them as one key too. */
static void duplicate_keys_lone_surrogate(void **state) {
        static const char *const pairs[] = {
                "\"x\\ud800\": \"a\", \"x\\ufffd\": \"b\"",
                "\"x\\udc00\": \"a\", \"x\\ufffd\": \"b\"",
                "\"x\\ud800\": \"a\", \"x\\udbff\": \"b\"",
                NULL,
        };

        for (size_t i = 0; pairs[i]; i++) {
                char *to = format("\"alice\",\n    %s\n", pairs[i]), *text = replace(minimal, "\"alice\"\n", to);
                struct container_identity id = {};
                struct nb_error err = {};
                int r = oci_identity_parse(text, strlen(text), "config.json", &id, &err);

                if (r == 0)
                        fail_msg("accepted: %s", pairs[i]);
                assert_int_equal(r, -EINVAL);
                assert_prefix(err, "config.json:7:21: duplicate key ");
                free(text);
                free(to);
        }
}

static void output_untouched_on_error(void **state) {
        struct container_identity id = {};
        struct nb_error err = {};
        char *text = replace(minimal, "\"alice\"", "\"\"");

        strcpy(id.team, "before");
        assert_int_equal(oci_identity_parse(text, strlen(text), "config.json", &id, &err), -EINVAL);
        assert_string_equal(id.team, "before");
        free(text);
}

static void load_fd(void **state) {
        struct oci_config config = {};
        struct nb_error err = {};
        size_t len = OCI_CONFIG_MAX_BYTES + 1;
        char *big = repeat_char(' ', len), *expected;
        int fd = memfd_with(full, strlen(full));

        assert_int_equal(oci_config_load_fd(fd, "config.json", &config, &err), 0);
        assert_string_equal(config.identity.user, "alice");
        assert_string_equal(config.root_path, "rootfs");
        assert_int_equal(config.uid, 1000);
        assert_int_equal(config.gid, 100);
        close(fd);
        memcpy(big, full, strlen(full));
        fd = memfd_with(big, len);
        expected = format("config.json:11:%zu: is 4194305 bytes, more than the 4194304 allowed; shorten it",
                          OCI_CONFIG_MAX_BYTES - strlen(full) + 1); /* at the first byte past the cap */
        assert_error(oci_config_load_fd(fd, "config.json", &config, &err), err, -EFBIG, expected);
        close(fd);
        free(big);
        free(expected);
}

static void root_and_user(void **state) {
        struct oci_config config = {};
        struct nb_error err = {};
        const char *no_root = minimal;
        char *bad_uid = replace(full, "\"uid\": 1000", "\"uid\": -1");
        char *string_gid = replace(full, "\"gid\": 100", "\"gid\": \"100\"");
        char *empty_path = replace(full, "\"path\": \"rootfs\"", "\"path\": \"\"");
        char *no_user = replace(full, "\"user\": {\"uid\": 1000, \"gid\": 100}, ", "");

        assert_error(oci_config_parse(no_root, strlen(no_root), "config.json", &config, &err), err, -EINVAL,
                     "config.json:1:1: config.json has no \"root\"; the runtime must name the container's root filesystem");
        assert_error(oci_config_parse(bad_uid, strlen(bad_uid), "config.json", &config, &err), err, -EINVAL,
                     "config.json:3:24: \"uid\" must be a user or group id from 0 to 4294967294");
        assert_error(oci_config_parse(string_gid, strlen(string_gid), "config.json", &config, &err), err, -EINVAL,
                     "config.json:3:37: \"gid\" must be a user or group id from 0 to 4294967294");
        assert_error(oci_config_parse(empty_path, strlen(empty_path), "config.json", &config, &err), err, -EINVAL,
                     "config.json:4:12: \"path\" \"\" is empty");
        assert_int_equal(oci_config_parse(no_user, strlen(no_user), "config.json", &config, &err), 0);
        assert_int_equal(config.uid, 0);
        assert_int_equal(config.gid, 0);
        free(bad_uid);
        free(string_gid);
        free(empty_path);
        free(no_user);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(annotations_present),
                cmocka_unit_test(storage_cluster_optional),
                cmocka_unit_test(rest_of_config_ignored),
                cmocka_unit_test(annotations_missing),
                cmocka_unit_test(unknown_nbmount_annotation),
                cmocka_unit_test(bad_names),
                cmocka_unit_test(duplicate_keys_lone_surrogate),
                cmocka_unit_test(output_untouched_on_error),
                cmocka_unit_test(load_fd),
                cmocka_unit_test(root_and_user),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
