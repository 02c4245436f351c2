/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox.c: settings.yaml parsed in a sandboxed child, and the parent's second look at its answer. */
#include <fcntl.h>
#include <sys/wait.h>

#include "testutil.h"

#include "sandbox.h"

static const char example[] = "reports:\n"
                              "  type: dataset\n"
                              "  id: dsr8k5qzn401lb5\n"
                              "  version: v1\n"
                              "bucket:\n"
                              "  type: s3\n"
                              "  url: s3://my-bucket/my-data\n"
                              "  accessKeyId: AK123\n"
                              "  secretAccessKey: secret:my-key\n"
                              "  region: us-west-1\n";

static struct settings *parsed_example(void) {
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};

        assert_non_null(s);
        assert_int_equal(settings_parse(example, strlen(example), "settings.yaml", s, &err), 0);
        return s;
}

#define assert_check_error(settings, expected)                                                                     \
        do {                                                                                                       \
                struct nb_error e_ = {};                                                                           \
                assert_error(sandbox_check_settings((settings), "settings.yaml", &e_), e_, -EINVAL, (expected));   \
        } while (0)

static void sandboxed_parse_equals_direct_parse(void **state) {
        struct settings *direct = parsed_example(), *sandboxed = calloc(1, sizeof(*sandboxed));
        struct nb_error err = {};
        int fd = memfd_with(example, strlen(example));

        assert_non_null(sandboxed);
        assert_int_equal(sandbox_parse_settings(fd, "settings.yaml", sandboxed, &err), 0);
        assert_int_equal(sandboxed->n_mounts, 2);
        assert_memory_equal(sandboxed->mounts, direct->mounts, 2 * sizeof(direct->mounts[0]));
        close(fd);
        free(direct);
        free(sandboxed);
}

static void sandboxed_parse_error_is_the_parsers(void **state) {
        static const char bad[] = "q:\n  type: dataset\n  id: ds1\n  - v1\n";
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};
        int fd = memfd_with(bad, strlen(bad));

        assert_non_null(s);
        s->n_mounts = 12345;
        assert_error(sandbox_parse_settings(fd, "settings.yaml", s, &err), err, -EINVAL,
                     "settings.yaml:4:3: invalid YAML: did not find expected key while parsing a block mapping");
        assert_int_equal(s->n_mounts, 12345); /* untouched on failure */
        close(fd);
        free(s);
}

/* An entry at fault keeps its raw name cut to 64 bytes, which may equal a good entry's name: both
 * come through, the good one whole. */
static void sandboxed_fault_beside_its_namesake(void **state) {
        char text[512];
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};
        int fd;

        snprintf(text, sizeof(text), "%.64s: {type: dataset, id: d}\n%.64sxyz: {type: dataset, id: d}\n",
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        fd = memfd_with(text, strlen(text));
        assert_non_null(s);
        assert_int_equal(sandbox_parse_settings(fd, "settings.yaml", s, &err), 0);
        assert_int_equal(s->n_mounts, 2);
        assert_string_equal(s->mounts[0].fault, "");
        assert_string_equal(s->mounts[1].name, s->mounts[0].name);
        assert_non_null(strstr(s->mounts[1].fault, "settings.yaml:2:1: "));
        close(fd);
        free(s);
}

static void sandboxed_parse_of_a_pipe(void **state) {
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};
        int fds[2];

        assert_non_null(s);
        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        assert_error(sandbox_parse_settings(fds[0], "settings.yaml", s, &err), err, -EINVAL,
                     "settings.yaml: is not a regular file; replace it with a file");
        close(fds[0]);
        close(fds[1]);
        free(s);
}

/* The parent is left with no child behind: every sandbox is reaped. */
static void no_child_left(void **state) {
        struct settings *s = calloc(1, sizeof(*s));
        struct nb_error err = {};
        int fd = memfd_with(example, strlen(example));

        assert_non_null(s);
        for (int i = 0; i < 20; i++) {
                assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
                assert_int_equal(sandbox_parse_settings(fd, "settings.yaml", s, &err), 0);
        }
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
        close(fd);
        free(s);
}

static void check_accepts_what_the_parser_makes(void **state) {
        struct settings *s = parsed_example();
        struct nb_error err = {};

        assert_int_equal(sandbox_check_settings(s, "settings.yaml", &err), 0);
        s->n_mounts = 0;
        assert_int_equal(sandbox_check_settings(s, "settings.yaml", &err), 0);
        free(s);
}

static void check_refuses_garbage(void **state) {
        struct settings *s = parsed_example();
        struct settings_mount saved = s->mounts[0];

        s->n_mounts = SETTINGS_MAX_MOUNTS + 1;
        assert_check_error(s, "settings.yaml: 257 mounts, more than 256");
        s->n_mounts = 2;
        memset(s->mounts[0].name, 'a', sizeof(s->mounts[0].name));
        assert_check_error(s, "settings.yaml: mount 1 (\"?\"): mount name does not end within its field");
        s->mounts[0] = saved;
        strcpy(s->mounts[0].name, "../etc");
        assert_check_error(s, "settings.yaml: mount 1 (\"../etc\"): mount name starts with a dot");
        s->mounts[0] = saved;
        s->mounts[0].type = (enum settings_mount_type) 7;
        assert_check_error(s, "settings.yaml: mount 1 has type 7, which is neither dataset nor s3");
        s->mounts[0] = saved;
        strcpy(s->mounts[0].bucket, "my-bucket");
        assert_check_error(s, "settings.yaml: mount 1 (\"reports\"): bucket is set for a mount of another type");
        s->mounts[0] = saved;
        s->mounts[0].dataset_id[0] = '\0';
        assert_check_error(s, "settings.yaml: mount 1 (\"reports\"): id is missing");
        s->mounts[0] = saved;
        memset(s->mounts[1].prefix, 'p', sizeof(s->mounts[1].prefix));
        assert_check_error(s, "settings.yaml: mount 2 (\"bucket\"): prefix does not end within its field");
        free(s);
}

static void check_refuses_broken_s3_rules(void **state) {
        struct settings *s = parsed_example();
        struct settings_mount saved = s->mounts[1];

        strcpy(s->mounts[1].bucket, "My_Bucket");
        assert_check_error(s, "settings.yaml: mount 2 (\"bucket\"): bucket may only contain lowercase letters, digits, '.' and '-'");
        s->mounts[1] = saved;
        strcpy(s->mounts[1].prefix, "a,b -o allow_other");
        assert_check_error(s, "settings.yaml: mount 2 (\"bucket\"): prefix may only contain letters, digits and . _ ~ @ = + - /");
        s->mounts[1] = saved;
        s->mounts[1].secret_name[0] = '\0';
        assert_check_error(s, "settings.yaml: mount \"bucket\" has one of accessKeyId and secretAccessKey");
        s->mounts[1] = saved;
        strcpy(s->mounts[1].endpoint, "https://s3.example.com");
        assert_check_error(s, "settings.yaml: mount \"bucket\" has both region and endpoint");
        s->mounts[1] = saved;
        s->mounts[1].region[0] = '\0';
        strcpy(s->mounts[1].endpoint, "https://user:pw@s3.example.com");
        assert_check_error(s, "settings.yaml: mount 2 (\"bucket\"): endpoint has a port that is not a number from 0 to 65535");
        s->mounts[1] = saved;
        memset(&s->mounts[1].writable, 2, 1);
        assert_check_error(s, "settings.yaml: mount \"bucket\" has writable 2 (0 or 1, and 1 only for s3)");
        s->mounts[1] = saved;
        s->mounts[1].writable = true;
        assert_int_equal(sandbox_check_settings(s, "settings.yaml", &(struct nb_error) {}), 0);
        s->mounts[0].writable = true;
        assert_check_error(s, "settings.yaml: mount \"reports\" has writable 1 (0 or 1, and 1 only for s3)");
        s->mounts[0].writable = false;
        s->mounts[1] = saved;
        strcpy(s->mounts[1].name, "reports");
        assert_check_error(s, "settings.yaml: mount \"reports\" appears twice");
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(sandboxed_parse_equals_direct_parse),
                cmocka_unit_test(sandboxed_parse_error_is_the_parsers),
                cmocka_unit_test(sandboxed_fault_beside_its_namesake),
                cmocka_unit_test(sandboxed_parse_of_a_pipe),
                cmocka_unit_test(no_child_left),
                cmocka_unit_test(check_accepts_what_the_parser_makes),
                cmocka_unit_test(check_refuses_garbage),
                cmocka_unit_test(check_refuses_broken_s3_rules),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
