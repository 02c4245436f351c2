/* SPDX-License-Identifier: Apache-2.0 */
#include "seccompprofile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "jsonfile.h"
#include "seccompcheck.h"
#include "util.h"

#define LOW_32 UINT64_C(0xffffffff)

static bool in_names(struct json_object *names, const char *name) {
        for (size_t i = 0; json_object_is_type(names, json_type_array) && i < json_object_array_length(names); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(names, i)) ?: "", name))
                        return true;
        return false;
}

static bool non_empty(struct json_object *rule, const char *key) {
        struct json_object *value;

        if (!json_object_object_get_ex(rule, key, &value) || json_object_is_type(value, json_type_null))
                return false;
        if (json_object_is_type(value, json_type_array) || json_object_is_type(value, json_type_object))
                return json_object_is_type(value, json_type_array) ? json_object_array_length(value) > 0
                                                                   : json_object_object_length(value) > 0;
        return true;
}

/* Allow-like: ALLOW, LOG, TRACE, NOTIFY, and what nbmount does not know. */
static bool rule_allows(struct json_object *rule) {
        struct json_object *action;

        return !json_object_object_get_ex(rule, "action", &action) ||
               seccomp_action_denies(json_object_get_string(action) ?: "") <= 0;
}

/* names without `name`: a new array, or NULL when nothing is left. */
static struct json_object *names_without(struct json_object *names, const char *name) {
        struct json_object *kept = json_object_new_array();

        for (size_t i = 0; kept && i < json_object_array_length(names); i++) {
                struct json_object *n = json_object_array_get_idx(names, i);

                if (!streq(json_object_get_string(n) ?: "", name))
                        json_object_array_add(kept, json_object_get(n));
        }
        if (kept && json_object_array_length(kept) == 0) {
                json_object_put(kept);
                return NULL;
        }
        return kept;
}

static struct json_object *masked_condition(uint64_t mask, uint64_t datum) {
        struct json_object *condition = json_object_new_object();

        json_object_object_add(condition, "index", json_object_new_int(1));
        json_object_object_add(condition, "value", json_object_new_int64((int64_t) mask));
        json_object_object_add(condition, "valueTwo", json_object_new_int64((int64_t) datum));
        json_object_object_add(condition, "op", json_object_new_string("SCMP_CMP_MASKED_EQ"));
        return condition;
}

static struct json_object *new_rule(const char *name, const char *action, struct json_object *condition) {
        struct json_object *rule = json_object_new_object(), *names = json_object_new_array();

        json_object_array_add(names, json_object_new_string(name));
        json_object_object_add(rule, "names", names);
        json_object_object_add(rule, "action", json_object_new_string(action));
        if (streq(action, "SCMP_ACT_ERRNO"))
                json_object_object_add(rule, "errnoRet", json_object_new_int(EPERM));
        if (condition) {
                struct json_object *args = json_object_new_array();

                json_object_array_add(args, condition);
                json_object_object_add(rule, "args", args);
        }
        return rule;
}

/* The rules of packaging/seccomp/nbmount-quota.json, and the cover when ioctl was allowed. */
static void add_nbmount_rules(struct json_object *rules, bool allow_ioctl) {
        uint64_t cover[SECCOMP_COVER_MAX][2];
        size_t n = seccomp_ioctl_cover(cover);

        for (size_t i = 0; i < SECCOMP_DANGEROUS_IOCTLS; i++)
                json_object_array_add(rules, new_rule("ioctl", "SCMP_ACT_ERRNO",
                                                      masked_condition(LOW_32, seccomp_dangerous_ioctls[i])));
        json_object_array_add(rules, new_rule("file_setattr", "SCMP_ACT_ERRNO", NULL));
        for (size_t i = 0; allow_ioctl && i < n; i++)
                json_object_array_add(rules, new_rule("ioctl", "SCMP_ACT_ALLOW", masked_condition(cover[i][0], cover[i][1])));
}

/* One rule of the input: what to keep of it. ioctl may be allowed only without condition. */
static int rewrite_rule(struct json_object *rule, size_t position, const char *file, bool *allows_ioctl,
                        struct nb_error *err) {
        struct json_object *names, *kept;
        const char *removed[] = { "ioctl", "file_setattr" };

        if (!json_object_is_type(rule, json_type_object) || !json_object_object_get_ex(rule, "names", &names) ||
            !json_object_is_type(names, json_type_array))
                return nb_fail(err, EINVAL, "%s: syscalls[%zu] has no \"names\" array; nbmount seccomp reads only rules with one",
                               file, position);
        if (in_names(names, "ioctl") &&
            (non_empty(rule, "args") || non_empty(rule, "includes") || non_empty(rule, "excludes") || !rule_allows(rule)))
                return nb_fail(err, EINVAL,
                               "%s: syscalls[%zu] has conditions of its own on ioctl (args, includes, excludes or a denying action); nbmount seccomp rewrites only a profile that allows ioctl without condition",
                               file, position);
        if (!rule_allows(rule))
                return 1;
        for (size_t i = 0; i < ARRAY_SIZE(removed); i++) {
                if (!in_names(names, removed[i]))
                        continue;
                *allows_ioctl |= i == 0;
                if (!(kept = names_without(names, removed[i])))
                        return 0;
                json_object_object_add(rule, "names", kept);
                names = kept;
        }
        return 1;
}

int seccomp_profile_rewrite(struct json_object *profile, const char *file, struct nb_error *err) {
        struct json_object *action, *rules, *kept;
        bool allows_ioctl = false;
        int r;

        if (!json_object_is_type(profile, json_type_object) ||
            !json_object_object_get_ex(profile, "defaultAction", &action) ||
            seccomp_action_denies(json_object_get_string(action) ?: "") <= 0)
                return nb_fail(err, EINVAL,
                               "%s: the profile does not deny by default (defaultAction); nbmount seccomp rewrites an allowlist such as /usr/share/containers/seccomp.json (for an allow-by-default profile, merge the rules of packaging/seccomp/nbmount-quota.json: they cannot stop file_setattr(2) on Linux 6.17 and later)",
                               file);
        if (!json_object_object_get_ex(profile, "syscalls", &rules) || !json_object_is_type(rules, json_type_array))
                return nb_fail(err, EINVAL, "%s: the profile has no \"syscalls\" array", file);
        if (!(kept = json_object_new_array()))
                return nb_fail(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                struct json_object *rule = json_object_array_get_idx(rules, i);

                if ((r = rewrite_rule(rule, i, file, &allows_ioctl, err)) < 0) {
                        json_object_put(kept);
                        return r;
                }
                if (r > 0)
                        json_object_array_add(kept, json_object_get(rule));
        }
        add_nbmount_rules(kept, allows_ioctl);
        json_object_object_add(profile, "syscalls", kept);
        return 0;
}

/* ---- podman's conversion ------------------------------------------------------------------------- */

/* This machine as podman names it (Go's GOARCH) and as libseccomp does. */
struct native_arch {
        const char *go, *scmp;
};

static int native_arch(struct native_arch *ret) {
        static const struct {
                const char *machine;
                struct native_arch arch;
        } known[] = {
                { "x86_64", { "amd64", "SCMP_ARCH_X86_64" } },   { "aarch64", { "arm64", "SCMP_ARCH_AARCH64" } },
                { "ppc64le", { "ppc64le", "SCMP_ARCH_PPC64LE" } }, { "s390x", { "s390x", "SCMP_ARCH_S390X" } },
                { "riscv64", { "riscv64", "SCMP_ARCH_RISCV64" } },
        };
        struct utsname u;

        if (uname(&u) < 0)
                return -errno;
        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
                if (streq(u.machine, known[i].machine)) {
                        *ret = known[i].arch;
                        return 0;
                }
        return -ENOTSUP;
}

static bool holds_cap(const struct profile_caps *caps, const char *cap) {
        for (size_t i = 0; i < caps->n; i++)
                if (streq(caps->names[i], cap))
                        return true;
        return caps->all;
}

/* "MAJOR.MINOR..." as MAJOR * 1000 + MINOR; -1 when it does not start so. */
static long version_number(const char *text) {
        char *end;
        unsigned long major, minor;

        errno = 0;
        major = strtoul(text, &end, 10);
        if (errno || end == text || *end != '.')
                return -1;
        text = end + 1;
        minor = strtoul(text, &end, 10);
        if (errno || end == text || major > 100000 || minor > 999)
                return -1;
        return (long) (major * 1000 + minor);
}

/* Whether the running kernel is at least "MAJOR.MINOR" (when either cannot be read: yes, as podman
 * takes a rule it cannot judge). */
static bool kernel_at_least(const char *version) {
        struct utsname u;
        long want = version_number(version), have;

        if (want < 0 || uname(&u) < 0 || (have = version_number(u.release)) < 0)
                return true;
        return have >= want;
}

/* containers-common's setupSeccomp(): a rule applies unless excludes.arches has this machine, a
 * capability of excludes.caps is held, includes.arches lacks this machine, a capability of
 * includes.caps is not held, or the kernel is older than includes.minKernel. */
static bool rule_applies(struct json_object *rule, const struct native_arch *arch, const struct profile_caps *caps) {
        struct json_object *includes = NULL, *excludes = NULL, *list, *min_kernel;

        json_object_object_get_ex(rule, "includes", &includes);
        json_object_object_get_ex(rule, "excludes", &excludes);
        if (json_object_object_get_ex(excludes, "arches", &list) && in_names(list, arch->go))
                return false;
        for (size_t i = 0; json_object_object_get_ex(excludes, "caps", &list) && i < json_object_array_length(list); i++)
                if (holds_cap(caps, json_object_get_string(json_object_array_get_idx(list, i)) ?: ""))
                        return false;
        if (json_object_object_get_ex(includes, "arches", &list) && json_object_array_length(list) > 0 &&
            !in_names(list, arch->go))
                return false;
        for (size_t i = 0; json_object_object_get_ex(includes, "caps", &list) && i < json_object_array_length(list); i++)
                if (!holds_cap(caps, json_object_get_string(json_object_array_get_idx(list, i)) ?: ""))
                        return false;
        return !json_object_object_get_ex(includes, "minKernel", &min_kernel) ||
               kernel_at_least(json_object_get_string(min_kernel) ?: "");
}

/* errnoRet, else the number of the errno name ("EPERM"); 0 when neither is there. */
static int errno_of(struct json_object *object, const char *number_key, const char *name_key, const char *file,
                    struct nb_error *err) {
        struct json_object *number, *name;

        if (json_object_object_get_ex(object, number_key, &number))
                return json_object_get_int(number);
        if (!json_object_object_get_ex(object, name_key, &name))
                return 0;
        for (int e = 1; e < 4096; e++)
                if (streq(strerrorname_np(e) ?: "", json_object_get_string(name) ?: ""))
                        return e;
        return nb_fail(err, EINVAL, "%s: unknown errno name \"%.40s\"", file, json_object_get_string(name));
}

static void copy_key(struct json_object *from, struct json_object *to, const char *key) {
        struct json_object *value;

        if (json_object_object_get_ex(from, key, &value))
                json_object_object_add(to, key, json_object_get(value));
}

static int convert_rule(struct json_object *rule, const char *file, struct json_object **ret, struct nb_error *err) {
        struct json_object *oci = json_object_new_object(), *name, *names;
        int errno_ret = errno_of(rule, "errnoRet", "errno", file, err);

        if (errno_ret < 0 || !oci)
                return json_object_put(oci), errno_ret < 0 ? errno_ret : -ENOMEM;
        if (json_object_object_get_ex(rule, "name", &name) && !json_object_object_get_ex(rule, "names", &names)) {
                names = json_object_new_array();
                json_object_array_add(names, json_object_get(name));
                json_object_object_add(oci, "names", names);
        } else {
                copy_key(rule, oci, "names");
        }
        copy_key(rule, oci, "action");
        if (errno_ret > 0)
                json_object_object_add(oci, "errnoRet", json_object_new_int(errno_ret));
        if (non_empty(rule, "args"))
                copy_key(rule, oci, "args");
        *ret = oci;
        return 0;
}

/* The architectures podman writes: "architectures" as given, then archMap's entry for this machine. */
static void convert_architectures(struct json_object *profile, const struct native_arch *arch, struct json_object *oci) {
        struct json_object *given, *arch_map, *architectures;

        if (!json_object_object_get_ex(profile, "architectures", &given) &&
            !json_object_object_get_ex(profile, "archMap", &arch_map))
                return;
        architectures = json_object_new_array();
        for (size_t i = 0; json_object_object_get_ex(profile, "architectures", &given) && i < json_object_array_length(given); i++)
                json_object_array_add(architectures, json_object_get(json_object_array_get_idx(given, i)));
        for (size_t i = 0; json_object_object_get_ex(profile, "archMap", &arch_map) && i < json_object_array_length(arch_map);
             i++) {
                struct json_object *entry = json_object_array_get_idx(arch_map, i), *main_arch, *subs;

                if (!json_object_object_get_ex(entry, "architecture", &main_arch) ||
                    !streq(json_object_get_string(main_arch) ?: "", arch->scmp))
                        continue;
                json_object_array_add(architectures, json_object_get(main_arch));
                for (size_t k = 0;
                     json_object_object_get_ex(entry, "subArchitectures", &subs) && k < json_object_array_length(subs); k++)
                        json_object_array_add(architectures, json_object_get(json_object_array_get_idx(subs, k)));
        }
        json_object_object_add(oci, "architectures", architectures);
}

static int convert_rules(struct json_object *profile, const struct native_arch *arch, const struct profile_caps *caps,
                         const char *file, struct json_object *converted, struct nb_error *err) {
        struct json_object *rules;
        int r;

        for (size_t i = 0; json_object_object_get_ex(profile, "syscalls", &rules) && i < json_object_array_length(rules); i++) {
                struct json_object *rule = json_object_array_get_idx(rules, i), *oci_rule;

                if (!rule_applies(rule, arch, caps))
                        continue;
                if ((r = convert_rule(rule, file, &oci_rule, err)) < 0)
                        return r;
                json_object_array_add(converted, oci_rule);
        }
        return 0;
}

int seccomp_profile_to_oci(struct json_object *profile, const struct profile_caps *caps, const char *file,
                           struct json_object **ret, struct nb_error *err) {
        static const char *const kept[] = { "defaultAction", "flags", "listenerPath", "listenerMetadata" };
        _cleanup_(json_object_putp) struct json_object *oci = json_object_new_object();
        _cleanup_(json_object_putp) struct json_object *converted = json_object_new_array();
        struct native_arch arch;
        int r;

        if (!oci || !converted)
                return nb_fail(err, ENOMEM, "out of memory");
        if ((r = native_arch(&arch)) < 0)
                return nb_fail(err, r, "nbmount seccomp knows the architectures x86_64, aarch64, ppc64le, s390x and riscv64, not this machine's");
        for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
                copy_key(profile, oci, kept[i]);
        if ((r = errno_of(profile, "defaultErrnoRet", "defaultErrno", file, err)) < 0)
                return r;
        if (r > 0)
                json_object_object_add(oci, "defaultErrnoRet", json_object_new_int(r));
        convert_architectures(profile, &arch, oci);
        if ((r = convert_rules(profile, &arch, caps, file, converted, err)) < 0)
                return r;
        json_object_object_add(oci, "syscalls", TAKE_PTR(converted));
        *ret = TAKE_PTR(oci);
        return 0;
}
