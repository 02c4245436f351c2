/* SPDX-License-Identifier: Apache-2.0 */
/* seccompprofile.c: the profile nbmount seccomp writes from an allowlist, and podman's conversion
 * of its format into config.json's linux.seccomp. */
#include "testutil.h"

#include "jsonfile.h"
#include "seccompcheck.h"
#include "seccompprofile.h"

#define STOCK "/usr/share/containers/seccomp.json"

static struct json_object *parse(const char *text) {
        struct json_object *o = NULL;
        struct nb_error err = {};

        if (json_parse_strict(text, strlen(text), "p.json", &o, &err) < 0)
                fail_msg("%s", err.msg);
        return o;
}

static struct json_object *parse_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *text = calloc(1, 1 << 20);
        struct json_object *o;

        if (!f)
                return free(text), NULL;
        assert_non_null(text);
        text[fread(text, 1, (1 << 20) - 1, f)] = '\0';
        fclose(f);
        o = parse(text);
        free(text);
        return o;
}

static struct json_object *to_oci(struct json_object *profile, const struct profile_caps *caps) {
        struct json_object *oci = NULL;
        struct nb_error err = {};

        if (seccomp_profile_to_oci(profile, caps, "p.json", &oci, &err) < 0)
                fail_msg("%s", err.msg);
        return oci;
}

static struct seccomp_guard judge(struct json_object *oci) {
        struct seccomp_profile profile = {};
        struct seccomp_guard guard;

        assert_int_equal(oci_seccomp_read(oci, &profile), 0);
        seccomp_guard_judge(&profile, &guard);
        free(profile.rules);
        return guard;
}

/* How many rules of the OCI profile name `name`, and how many of those have no condition. */
static void count_rules(struct json_object *oci, const char *name, size_t *ret_all, size_t *ret_plain) {
        struct json_object *rules, *names, *args;

        *ret_all = *ret_plain = 0;
        assert_true(json_object_object_get_ex(oci, "syscalls", &rules));
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                struct json_object *rule = json_object_array_get_idx(rules, i);

                assert_true(json_object_object_get_ex(rule, "names", &names));
                for (size_t k = 0; k < json_object_array_length(names); k++)
                        if (streq(json_object_get_string(json_object_array_get_idx(names, k)), name)) {
                                (*ret_all)++;
                                *ret_plain += !json_object_object_get_ex(rule, "args", &args);
                        }
        }
}

static void stock_profile_rewritten(void **state) {
        struct json_object *stock = parse_file(STOCK), *oci, *plain_oci;
        const struct profile_caps none = {}, all = { .all = true };
        struct nb_error err = {};
        struct seccomp_guard g;
        size_t n, plain;

        if (!stock)
                skip(); /* containers-common is not installed */
        plain_oci = to_oci(stock, &none);
        g = judge(plain_oci);
        assert_false(g.ioctls_closed); /* ioctl allowed without condition */
        assert_prefix(g.ioctl_problem, "linux.seccomp.syscalls[");
        assert_int_equal(seccomp_profile_rewrite(stock, STOCK, &err), 0);
        for (int pass = 0; pass < 2; pass++) {
                oci = to_oci(stock, pass ? &all : &none);
                g = judge(oci);
                if (!g.ioctls_closed || !g.file_setattr_closed)
                        fail_msg("%s / %s", g.ioctl_problem.msg, g.file_setattr_problem.msg);
                count_rules(oci, "ioctl", &n, &plain);
                assert_int_equal(plain, 0);
                assert_int_equal(n, 69 + 3); /* the cover and the three denials */
                count_rules(oci, "file_setattr", &n, &plain);
                assert_int_equal(n, 1);
                json_object_put(oci);
        }
        json_object_put(plain_oci);
        json_object_put(stock);
}

static void refusals(void **state) {
        struct json_object *p = parse("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": []}");
        struct nb_error err = {};

        assert_error(seccomp_profile_rewrite(p, "p.json", &err), err, -EINVAL,
                     "p.json: the profile does not deny by default (defaultAction); nbmount seccomp rewrites an allowlist such as /usr/share/containers/seccomp.json (for an allow-by-default profile, merge the rules of packaging/seccomp/nbmount-quota.json: they cannot stop file_setattr(2) on Linux 6.17 and later)");
        json_object_put(p);
        p = parse("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\", \"ioctl\"], \"action\": "
                  "\"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 1, \"value\": 1075599392, \"op\": \"SCMP_CMP_NE\"}]}]}");
        assert_error(seccomp_profile_rewrite(p, "p.json", &err), err, -EINVAL,
                     "p.json: syscalls[0] has conditions of its own on ioctl (args, includes, excludes or a denying action); nbmount seccomp rewrites only a profile that allows ioctl without condition");
        json_object_put(p);
}

/* ioctl and file_setattr leave the allowing rules (a rule left with no name goes), the rest stays. */
static void rewrite_keeps_the_rest(void **state) {
        struct json_object *p = parse("{\"defaultAction\": \"SCMP_ACT_KILL\", \"syscalls\": ["
                                      "{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ALLOW\"},"
                                      "{\"names\": [\"read\", \"file_setattr\"], \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"c\"},"
                                      "{\"names\": [\"file_setattr\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5}]}");
        struct json_object *rules, *first, *second;
        struct nb_error err = {};

        assert_int_equal(seccomp_profile_rewrite(p, "p.json", &err), 0);
        assert_true(json_object_object_get_ex(p, "syscalls", &rules));
        assert_int_equal(json_object_array_length(rules), 2 + 4 + 69);
        first = json_object_array_get_idx(rules, 0);
        second = json_object_array_get_idx(rules, 1);
        assert_string_equal(json_object_to_json_string_ext(first, JSON_C_TO_STRING_PLAIN),
                            "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\",\"comment\":\"c\"}");
        assert_string_equal(json_object_to_json_string_ext(second, JSON_C_TO_STRING_PLAIN),
                            "{\"names\":[\"file_setattr\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":5}");
        assert_string_equal(json_object_to_json_string_ext(json_object_array_get_idx(rules, 2), JSON_C_TO_STRING_PLAIN),
                            "{\"names\":[\"ioctl\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":[{\"index\":1,\"value\":4294967295,\"valueTwo\":1075599392,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}");
        json_object_put(p);
}

/* podman's setupSeccomp(): archMap for this machine, includes and excludes, errno names. */
static void podman_conversion(void **state) {
        struct json_object *p = parse(
                "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrno\": \"ENOSYS\", \"archMap\": ["
                "{\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": [\"SCMP_ARCH_ARM\"]},"
                "{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]}],"
                "\"syscalls\": ["
                "{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
                "{\"names\": [\"b\"], \"action\": \"SCMP_ACT_ALLOW\", \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
                "{\"names\": [\"c\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"arches\": [\"amd64\"]}},"
                "{\"names\": [\"d\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"arches\": [\"s390x\"]}},"
                "{\"names\": [\"e\"], \"action\": \"SCMP_ACT_ERRNO\", \"errno\": \"EINVAL\", \"comment\": \"x\"},"
                "{\"name\": \"f\", \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"4.8\"}},"
                "{\"names\": [\"g\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"999.0\"}}]}");
        char *const admin[] = { "CAP_SYS_ADMIN" };
        const struct profile_caps none = {}, with_admin = { .n = 1, .names = admin };
        struct json_object *oci;

        oci = to_oci(p, &none);
        assert_string_equal(json_object_to_json_string_ext(oci, JSON_C_TO_STRING_PLAIN),
                            "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                            "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],\"syscalls\":["
                            "{\"names\":[\"b\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"c\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                            "{\"names\":[\"e\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":22},"
                            "{\"names\":[\"f\"],\"action\":\"SCMP_ACT_ALLOW\"}]}");
        json_object_put(oci);
        oci = to_oci(p, &with_admin);
        assert_string_equal(json_object_to_json_string_ext(json_object_array_get_idx(json_object_object_get(oci, "syscalls"), 0),
                                                           JSON_C_TO_STRING_PLAIN),
                            "{\"names\":[\"a\"],\"action\":\"SCMP_ACT_ALLOW\"}");
        assert_int_equal(json_object_array_length(json_object_object_get(oci, "syscalls")), 4);
        json_object_put(oci);
        json_object_put(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(stock_profile_rewritten),
                cmocka_unit_test(refusals),
                cmocka_unit_test(rewrite_keeps_the_rest),
                cmocka_unit_test(podman_conversion),
        };

        setvbuf(stdout, NULL, _IONBF, 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
