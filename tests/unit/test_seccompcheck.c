/* SPDX-License-Identifier: Apache-2.0 */
/* seccompcheck.c (and the linux.seccomp reading of ociconfig.c): which profiles keep a container
 * from leaving its quota project, and what the hook says about those that do not. */
#include "testutil.h"

#include "seccompcheck.h"

#define FSSETXATTR "1075599392"
#define SETFLAGS "1074292226"
#define SETFLAGS32 "1074030082"
#define MASKED(request) "{\"index\": 1, \"value\": 4294967295, \"valueTwo\": " request ", \"op\": \"SCMP_CMP_MASKED_EQ\"}"
#define DENY(args) "{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1, \"args\": [" args "]}"
#define ALLOW(args) "{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [" args "]}"
#define DENY_ALL_THREE DENY(MASKED(FSSETXATTR)) ", " DENY(MASKED(SETFLAGS)) ", " DENY(MASKED(SETFLAGS32))
#define ALLOW_BY_DEFAULT(rules) "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [" rules "]}"
#define DENY_BY_DEFAULT(rules)                                                                                     \
        "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38, \"architectures\": [\"SCMP_ARCH_X86_64\", "    \
        "\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"], \"syscalls\": [{\"names\": [\"read\", \"write\"], \"action\": "          \
        "\"SCMP_ACT_ALLOW\"}, " rules "]}"
#define SHIPPED "see packaging/seccomp/nbmount-quota.json"
#define DEFAULT_ALLOW_FILE_SETATTR                                                                                 \
        "linux.seccomp.defaultAction is SCMP_ACT_ALLOW, and a rule naming file_setattr(2) is dropped without a "     \
        "word by a runtime whose libseccomp does not know the name (libseccomp 2.5.4 does not): only a profile that " \
        "denies by default stops it (nbmount seccomp writes one)"

/* The guard of a config.json whose linux.seccomp is `profile` (NULL: none). */
static struct seccomp_guard judge(const char *profile) {
        char *text = format("{\"root\": {\"path\": \"rootfs\"}, \"annotations\": {\"io.nbmount.team\": \"acme\", "
                            "\"io.nbmount.notebook\": \"nb1\", \"io.nbmount.user\": \"alice\"}%s%s%s}",
                            profile ? ", \"linux\": {\"seccomp\": " : "", profile ? profile : "", profile ? "}" : "");
        struct oci_config *config = calloc(1, sizeof(*config));
        struct nb_error err = {};
        struct seccomp_guard guard;

        assert_non_null(config);
        if (oci_config_parse(text, strlen(text), "config.json", config, &err) != 0)
                fail_msg("config.json refused: %s", err.msg);
        guard = config->seccomp;
        free(config);
        free(text);
        return guard;
}

#define assert_ioctls(profile, closed, problem)                                                                    \
        do {                                                                                                       \
                struct seccomp_guard g_ = judge(profile);                                                          \
                if (g_.ioctls_closed != (closed))                                                                  \
                        fail_msg("ioctls_closed is %d for %s (problem: %s)", g_.ioctls_closed, (profile) ?: "(none)", \
                                 g_.ioctl_problem.msg);                                                            \
                assert_string_equal(g_.ioctl_problem.msg, (problem));                                              \
        } while (0)

#define assert_file_setattr(profile, closed, problem)                                                              \
        do {                                                                                                       \
                struct seccomp_guard g_ = judge(profile);                                                          \
                assert_int_equal(g_.file_setattr_closed, (closed));                                                \
                assert_string_equal(g_.file_setattr_problem.msg, (problem));                                       \
        } while (0)

static char *read_file(const char *path) {
        FILE *f = fopen(path, "re");
        char *text = calloc(1, 65536);
        size_t n;

        if (!f)
                fail_msg("%s: %s (run the unit tests from the top of the source tree)", path, strerror(errno));
        assert_non_null(text);
        n = fread(text, 1, 65535, f);
        text[n] = '\0';
        fclose(f);
        return text;
}

static void shipped_rules(void **state) {
        char *shipped = read_file("packaging/seccomp/nbmount-quota.json"), *profile;
        const char *comment = strstr(shipped, "\"comment\"");
        const char *after = comment ? strstr(comment, "\",\n") : NULL;

        /* linux.seccomp has no "comment": merged, the file's comment stays out (as the README says) */
        assert_non_null(after);
        profile = format("{%s", after + 3);
        assert_ioctls(profile, true, "");
        assert_file_setattr(profile, false, DEFAULT_ALLOW_FILE_SETATTR);
        free(profile);
        free(shipped);
}

static void the_old_eq_rule(void **state) {
        assert_ioctls(ALLOW_BY_DEFAULT(DENY("{\"index\": 1, \"value\": " FSSETXATTR ", \"op\": \"SCMP_CMP_EQ\"}")), false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_ERRNO, SCMP_CMP_EQ 1075599392) misses requests with bits above 31 set (the kernel reads bits 0-31 only); use SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1075599392 (" SHIPPED ")");
        /* a mask that keeps some high bits misses the requests that set them */
        assert_ioctls(ALLOW_BY_DEFAULT(DENY("{\"index\": 1, \"value\": 8589934591, \"valueTwo\": " FSSETXATTR
                                            ", \"op\": \"SCMP_CMP_MASKED_EQ\"}")),
                      false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_ERRNO, SCMP_CMP_MASKED_EQ 8589934591 1075599392) misses requests with bits above 31 set (the kernel reads bits 0-31 only); use SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1075599392 (" SHIPPED ")");
}

static void the_old_ne_recipe(void **state) {
        assert_ioctls(DENY_BY_DEFAULT(ALLOW("{\"index\": 1, \"value\": " FSSETXATTR ", \"op\": \"SCMP_CMP_NE\"}")), false,
                      "linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_ALLOW, SCMP_CMP_NE 1075599392) lets FS_IOC_FSSETXATTR (0x401c5820, chattr -p) through when bits above 31 of the request are set (the kernel reads bits 0-31 only); allow ioctl only through SCMP_CMP_MASKED_EQ conditions that ignore bits 32-63 and leave those requests out (nbmount seccomp writes such a profile)");
}

static void masked_rules_hold(void **state) {
        assert_ioctls(ALLOW_BY_DEFAULT(DENY_ALL_THREE), true, "");
        /* any denying action will do; the order of the rules does not matter */
        assert_ioctls(ALLOW_BY_DEFAULT(
                              "{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_KILL_PROCESS\", \"args\": [" MASKED(SETFLAGS32) "]}, "
                              "{\"names\": [\"read\", \"ioctl\"], \"action\": \"SCMP_ACT_TRAP\", \"args\": [" MASKED(SETFLAGS) "]}, "
                              "{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_KILL\", \"args\": [" MASKED(FSSETXATTR) "]}"),
                      true, "");
        /* libseccomp masks the datum: high bits in valueTwo change nothing */
        assert_ioctls(ALLOW_BY_DEFAULT(DENY("{\"index\": 1, \"value\": 4294967295, \"valueTwo\": 5370566688, \"op\": "
                                            "\"SCMP_CMP_MASKED_EQ\"}") ", " DENY(MASKED(SETFLAGS)) ", " DENY(MASKED(SETFLAGS32))),
                      true, "");
        /* a deny-by-default profile with no ioctl rule at all */
        assert_ioctls(DENY_BY_DEFAULT("{\"names\": [\"close\"], \"action\": \"SCMP_ACT_ALLOW\"}"), true, "");
}

static void a_class_left_out(void **state) {
        assert_ioctls(ALLOW_BY_DEFAULT(DENY(MASKED(FSSETXATTR)) ", " DENY(MASKED(SETFLAGS32))), false,
                      "no rule of linux.seccomp (default action SCMP_ACT_ALLOW) denies FS_IOC_SETFLAGS (0x40086602, chattr -P); add the rules of packaging/seccomp/nbmount-quota.json (SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1074292226)");
        assert_ioctls(ALLOW_BY_DEFAULT(DENY(MASKED(FSSETXATTR)) ", " DENY(MASKED(SETFLAGS))), false,
                      "no rule of linux.seccomp (default action SCMP_ACT_ALLOW) denies FS_IOC32_SETFLAGS (0x40046602, chattr -P of a 32-bit process); add the rules of packaging/seccomp/nbmount-quota.json (SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1074030082)");
        assert_ioctls(ALLOW_BY_DEFAULT(""), false,
                      "no rule of linux.seccomp (default action SCMP_ACT_ALLOW) denies FS_IOC_FSSETXATTR (0x401c5820, chattr -p); add the rules of packaging/seccomp/nbmount-quota.json (SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1075599392)");
        assert_ioctls(NULL, false,
                      "config.json has no linux.seccomp profile, so nothing stops chattr -p or chattr -P; add the rules of packaging/seccomp/nbmount-quota.json to linux.seccomp (runc, crun), or use the profile nbmount seccomp writes (podman, CRI-O)");
}

static void conditions_on_other_arguments(void **state) {
        /* seccomp ANDs the conditions: denied only for one fd */
        assert_ioctls(ALLOW_BY_DEFAULT(DENY(MASKED(FSSETXATTR) ", {\"index\": 0, \"value\": 9999, \"op\": \"SCMP_CMP_EQ\"}")
                                       ", " DENY(MASKED(SETFLAGS)) ", " DENY(MASKED(SETFLAGS32))),
                      false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_ERRNO, SCMP_CMP_MASKED_EQ 4294967295 1075599392, args[0] SCMP_CMP_EQ 9999) denies FS_IOC_FSSETXATTR (0x401c5820, chattr -p) only when args[0] matches too; a rule on the request alone is needed: use SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1075599392 (" SHIPPED ")");
        /* a condition that every value meets is no restriction */
        assert_ioctls(ALLOW_BY_DEFAULT(DENY(MASKED(FSSETXATTR) ", {\"index\": 2, \"value\": 0, \"op\": \"SCMP_CMP_GE\"}")
                                       ", " DENY(MASKED(SETFLAGS)) ", " DENY(MASKED(SETFLAGS32))),
                      true, "");
        /* the kernel truncates the fd too: an allow on fds above 2^32 lets every request through */
        assert_ioctls(DENY_BY_DEFAULT(ALLOW("{\"index\": 0, \"value\": 4294967295, \"op\": \"SCMP_CMP_GT\"}")), false,
                      "linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_ALLOW, args[0] SCMP_CMP_GT 4294967295) lets FS_IOC_FSSETXATTR (0x401c5820, chattr -p) through; allow ioctl only through SCMP_CMP_MASKED_EQ conditions that ignore bits 32-63 and leave those requests out (nbmount seccomp writes such a profile)");
}

static void repeated_index(void **state) {
        /* runc and crun make two rules of it (either condition denies), libseccomp alone one (both
         * must hold: the EQ misses the high-bit requests): the weaker reading counts for a deny */
        assert_ioctls(ALLOW_BY_DEFAULT(DENY(MASKED(FSSETXATTR) ", {\"index\": 1, \"value\": " FSSETXATTR
                                            ", \"op\": \"SCMP_CMP_EQ\"}") ", " DENY(MASKED(SETFLAGS)) ", " DENY(MASKED(SETFLAGS32))),
                      false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_ERRNO, SCMP_CMP_MASKED_EQ 4294967295 1075599392, SCMP_CMP_EQ 1075599392) has two conditions on args[1]: runc and crun make one rule of each, libseccomp alone requires all of them, and one of the two readings misses FS_IOC_FSSETXATTR (0x401c5820, chattr -p); use SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1075599392 (" SHIPPED ")");
        /* an allow that needs both conditions (none of FS_IOC_* can be TCGETS) but that runc splits:
         * its second half alone lets every high-bit request through */
        assert_ioctls(DENY_BY_DEFAULT(ALLOW("{\"index\": 1, \"value\": 21505, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 1, "
                                            "\"value\": 4294967296, \"op\": \"SCMP_CMP_GE\"}")),
                      false,
                      "linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_ALLOW, SCMP_CMP_EQ 21505, SCMP_CMP_GE 4294967296) lets FS_IOC_FSSETXATTR (0x401c5820, chattr -p) through when bits above 31 of the request are set (the kernel reads bits 0-31 only); allow ioctl only through SCMP_CMP_MASKED_EQ conditions that ignore bits 32-63 and leave those requests out (nbmount seccomp writes such a profile)");
        /* two denying conditions that each cover a whole class hold in both readings only together */
        assert_ioctls(ALLOW_BY_DEFAULT(DENY(MASKED(FSSETXATTR) ", " MASKED(SETFLAGS)) ", " DENY(MASKED(SETFLAGS32))), false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_ERRNO, SCMP_CMP_MASKED_EQ 4294967295 1075599392, SCMP_CMP_MASKED_EQ 4294967295 1074292226) has two conditions on args[1]: runc and crun make one rule of each, libseccomp alone requires all of them, and one of the two readings misses FS_IOC_FSSETXATTR (0x401c5820, chattr -p); use SCMP_CMP_MASKED_EQ value 4294967295 valueTwo 1075599392 (" SHIPPED ")");
}

static void allow_rules_of_high_values(void **state) {
        static const char *const weak[] = {
                "{\"index\": 1, \"value\": 4294967295, \"op\": \"SCMP_CMP_GT\"}",
                "{\"index\": 1, \"value\": 5370566688, \"op\": \"SCMP_CMP_EQ\"}",  /* 1 << 32 | FS_IOC_FSSETXATTR */
                "{\"index\": 1, \"value\": 4294967296, \"op\": \"SCMP_CMP_GE\"}",
                "{\"index\": 1, \"value\": 1075599393, \"op\": \"SCMP_CMP_GT\"}", /* FS_IOC_FSSETXATTR + 1 */
                "{\"index\": 1, \"value\": 18446744069414584320, \"valueTwo\": 4294967296, \"op\": \"SCMP_CMP_MASKED_EQ\"}",
                NULL,
        };
        static const char *const safe[] = {
                "{\"index\": 1, \"value\": 21505, \"op\": \"SCMP_CMP_EQ\"}", /* TCGETS, bits 32-63 clear */
                "{\"index\": 1, \"value\": 1074030082, \"op\": \"SCMP_CMP_LT\"}", /* below all three, high bits clear */
                "{\"index\": 1, \"value\": 4294967295, \"valueTwo\": 21505, \"op\": \"SCMP_CMP_MASKED_EQ\"}",
                "{\"index\": 1, \"value\": 18446744073709551615, \"op\": \"SCMP_CMP_GT\"}", /* never */
                NULL,
        };

        for (size_t i = 0; weak[i]; i++) {
                char *rule = format(ALLOW("%s"), weak[i]), *profile = format(DENY_BY_DEFAULT("%s"), rule);
                struct seccomp_guard g = judge(profile);

                if (g.ioctls_closed)
                        fail_msg("accepted: %s", weak[i]);
                assert_prefix(g.ioctl_problem, "linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_ALLOW, ");
                free(rule);
                free(profile);
        }
        for (size_t i = 0; safe[i]; i++) {
                char *rule = format(ALLOW("%s"), safe[i]), *profile = format(DENY_BY_DEFAULT("%s"), rule);
                struct seccomp_guard g = judge(profile);

                if (!g.ioctls_closed)
                        fail_msg("refused: %s: %s", safe[i], g.ioctl_problem.msg);
                free(rule);
                free(profile);
        }
}

static void allow_without_condition(void **state) {
        assert_ioctls(DENY_BY_DEFAULT("{\"names\": [\"ioctl\", \"open\"], \"action\": \"SCMP_ACT_ALLOW\"}, " DENY_ALL_THREE), false,
                      "linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_ALLOW) lets every ioctl request through, FS_IOC_FSSETXATTR (0x401c5820, chattr -p) among them (libseccomp lets an unconditional allow win over any conditional deny); allow ioctl only through SCMP_CMP_MASKED_EQ conditions that leave those requests out (nbmount seccomp writes such a profile)");
        /* LOG, TRACE and NOTIFY let the call happen (a tracer or a supervisor may) */
        assert_ioctls(ALLOW_BY_DEFAULT("{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_LOG\"}, " DENY_ALL_THREE), false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_LOG) lets every ioctl request through, FS_IOC_FSSETXATTR (0x401c5820, chattr -p) among them (libseccomp lets an unconditional allow win over any conditional deny); allow ioctl only through SCMP_CMP_MASKED_EQ conditions that leave those requests out (nbmount seccomp writes such a profile)");
        assert_ioctls(DENY_BY_DEFAULT("{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_NOTIFY\", \"args\": [" MASKED(SETFLAGS) "]}"), false,
                      "linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_NOTIFY, SCMP_CMP_MASKED_EQ 4294967295 1074292226) lets FS_IOC_SETFLAGS (0x40086602, chattr -P) through; allow ioctl only through SCMP_CMP_MASKED_EQ conditions that ignore bits 32-63 and leave those requests out (nbmount seccomp writes such a profile)");
}

static void what_nbmount_cannot_read(void **state) {
        assert_ioctls(DENY_BY_DEFAULT("{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}"), false,
                      "linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_ERRNO) has the key \"includes\", which nbmount does not know: it cannot tell which ioctl requests the rule lets through; remove it from the rule");
        assert_ioctls(ALLOW_BY_DEFAULT("{\"names\": [\"ioctl\"], \"action\": \"SCMP_ACT_MAYBE\", \"args\": [" MASKED(FSSETXATTR) "]}"), false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_MAYBE) has the action \"SCMP_ACT_MAYBE\", which nbmount does not know: it cannot tell which ioctl requests the rule lets through; remove it from the rule");
        assert_ioctls(DENY_BY_DEFAULT("{\"names\": \"ioctl\", \"action\": \"SCMP_ACT_ALLOW\"}"), false,
                      "linux.seccomp.syscalls[1] (ioctl, SCMP_ACT_ALLOW) has \"names\" that is not an array of names, which nbmount does not know: it cannot tell which ioctl requests the rule lets through; remove it from the rule");
        assert_ioctls(ALLOW_BY_DEFAULT(DENY("{\"index\": 1, \"value\": 4294967295, \"valueTwo\": " FSSETXATTR
                                            ", \"op\": \"SCMP_CMP_MASKED\"}")),
                      false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_ERRNO) has an unknown comparison \"SCMP_CMP_MASKED\", which nbmount does not know: it cannot tell which ioctl requests the rule lets through; remove it from the rule");
        assert_ioctls(ALLOW_BY_DEFAULT(DENY("{\"index\": 1, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}")), false,
                      "linux.seccomp.syscalls[0] (ioctl, SCMP_ACT_ERRNO) has a value that is not an integer from 0 to 2^64-1, which nbmount does not know: it cannot tell which ioctl requests the rule lets through; remove it from the rule");
        assert_ioctls("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrno\": \"ENOSYS\"}", false,
                      "linux.seccomp has the key \"defaultErrno\", which nbmount does not know: it cannot tell what the profile lets through");
        /* what does not name ioctl or file_setattr does not matter */
        assert_ioctls(DENY_BY_DEFAULT("{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}"),
                      true, "");
}

static void file_setattr(void **state) {
        assert_file_setattr(DENY_BY_DEFAULT("{\"names\": [\"close\"], \"action\": \"SCMP_ACT_ALLOW\"}"), true, "");
        assert_file_setattr(DENY_BY_DEFAULT("{\"names\": [\"file_setattr\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}"),
                            true, "");
        assert_file_setattr(DENY_BY_DEFAULT("{\"names\": [\"file_getattr\", \"file_setattr\"], \"action\": \"SCMP_ACT_ALLOW\"}"),
                            false,
                            "linux.seccomp.syscalls[1] (file_setattr, SCMP_ACT_ALLOW) lets file_setattr(2) through; remove file_setattr from it");
        assert_file_setattr(DENY_BY_DEFAULT("{\"names\": [\"file_setattr\"], \"action\": \"SCMP_ACT_TRACE\", \"args\": [{\"index\": 4, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}"),
                            false,
                            "linux.seccomp.syscalls[1] (file_setattr, SCMP_ACT_TRACE, args[4] SCMP_CMP_EQ 1) lets file_setattr(2) through; remove file_setattr from it");
        assert_file_setattr(DENY_BY_DEFAULT("{\"names\": [\"file_setattr\"], \"action\": \"SCMP_ACT_ERRNO\", \"comments\": \"x\"}"),
                            false,
                            "linux.seccomp.syscalls[1] (file_setattr, SCMP_ACT_ERRNO) has the key \"comments\", which nbmount does not know: it cannot tell whether the rule lets file_setattr(2) through; remove it from the rule");
        assert_file_setattr(ALLOW_BY_DEFAULT("{\"names\": [\"file_setattr\"], \"action\": \"SCMP_ACT_ERRNO\"}"), false,
                            DEFAULT_ALLOW_FILE_SETATTR);
        assert_file_setattr(NULL, false,
                            "config.json has no linux.seccomp profile, so nothing stops chattr -p or chattr -P; add the rules of packaging/seccomp/nbmount-quota.json to linux.seccomp (runc, crun), or use the profile nbmount seccomp writes (podman, CRI-O)");
}

/* The cover of nbmount seccomp: disjoint prefixes of the low 32 bits, high bits ignored, that hold
 * every request but the three: 2^32 - 3 values in all. */
static void ioctl_cover(void **state) {
        uint64_t cover[SECCOMP_COVER_MAX][2];
        size_t n = seccomp_ioctl_cover(cover);
        uint64_t total = 0;

        assert_true(n > 0 && n <= SECCOMP_COVER_MAX);
        for (size_t i = 0; i < n; i++) {
                uint64_t mask = cover[i][0], datum = cover[i][1];

                assert_int_equal(mask >> 32, 0);
                assert_int_equal(datum & ~mask, 0);
                assert_int_equal((mask + (mask & -mask)) & UINT64_C(0xffffffff), 0); /* ones from bit 31 down: a prefix */
                for (size_t k = 0; k < SECCOMP_DANGEROUS_IOCTLS; k++)
                        assert_int_not_equal(seccomp_dangerous_ioctls[k] & mask, datum);
                for (size_t j = 0; j < i; j++) {
                        uint64_t common = mask & cover[j][0];

                        if ((datum & common) == (cover[j][1] & common))
                                fail_msg("prefixes %zu and %zu overlap", i, j);
                }
                total += UINT64_C(1) << (32 - __builtin_popcountll(mask));
        }
        assert_int_equal(total, (UINT64_C(1) << 32) - SECCOMP_DANGEROUS_IOCTLS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(shipped_rules),
                cmocka_unit_test(the_old_eq_rule),
                cmocka_unit_test(the_old_ne_recipe),
                cmocka_unit_test(masked_rules_hold),
                cmocka_unit_test(a_class_left_out),
                cmocka_unit_test(conditions_on_other_arguments),
                cmocka_unit_test(repeated_index),
                cmocka_unit_test(allow_rules_of_high_values),
                cmocka_unit_test(allow_without_condition),
                cmocka_unit_test(what_nbmount_cannot_read),
                cmocka_unit_test(file_setattr),
                cmocka_unit_test(ioctl_cover),
        };

        setvbuf(stdout, NULL, _IONBF, 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
