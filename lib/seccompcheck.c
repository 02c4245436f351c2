/* SPDX-License-Identifier: Apache-2.0 */
#include "seccompcheck.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define LOW_32 UINT64_C(0xffffffff)
#define SHIPPED_RULES "packaging/seccomp/nbmount-quota.json"

const uint32_t seccomp_dangerous_ioctls[SECCOMP_DANGEROUS_IOCTLS] = {
        0x401c5820, /* FS_IOC_FSSETXATTR */
        0x40086602, /* FS_IOC_SETFLAGS */
        0x40046602, /* FS_IOC32_SETFLAGS */
};

static const char *const ioctl_names[SECCOMP_DANGEROUS_IOCTLS] = {
        "FS_IOC_FSSETXATTR (0x401c5820, chattr -p)",
        "FS_IOC_SETFLAGS (0x40086602, chattr -P)",
        "FS_IOC32_SETFLAGS (0x40046602, chattr -P of a 32-bit process)",
};

static const char *const op_names[] = {
        [SCMP_OP_EQ] = "SCMP_CMP_EQ", [SCMP_OP_NE] = "SCMP_CMP_NE", [SCMP_OP_LT] = "SCMP_CMP_LT",
        [SCMP_OP_LE] = "SCMP_CMP_LE", [SCMP_OP_GT] = "SCMP_CMP_GT", [SCMP_OP_GE] = "SCMP_CMP_GE",
        [SCMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

const char *seccomp_op_name(enum seccomp_op op) { return op_names[op]; }

int seccomp_op_parse(const char *name, enum seccomp_op *ret) {
        for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
                if (streq(name, op_names[i])) {
                        *ret = (enum seccomp_op) i;
                        return 0;
                }
        return -EINVAL;
}

int seccomp_action_denies(const char *name) {
        static const char *const denying[] = { "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                               "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP" };
        static const char *const allowing[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY" };

        for (size_t i = 0; i < ARRAY_SIZE(denying); i++)
                if (streq(name, denying[i]))
                        return 1;
        for (size_t i = 0; i < ARRAY_SIZE(allowing); i++)
                if (streq(name, allowing[i]))
                        return 0;
        return -EINVAL;
}

/* libseccomp's 64-bit architectures (x32 and mips64n32 compare on 32 bits there). */
bool seccomp_arch_is_32bit(const char *name) {
        static const char *const wide[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64", "SCMP_ARCH_PPC64",
                                            "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390X", "SCMP_ARCH_MIPS64",
                                            "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64" };

        for (size_t i = 0; i < ARRAY_SIZE(wide); i++)
                if (streq(name, wide[i]))
                        return false;
        return true;
}

/* ---- one condition over a set of argument values ----------------------------------------------- */

/* Ordered from weakest to strongest match: a rule matches none, some or all values of a class. */
enum coverage { COVERS_NONE, COVERS_SOME, COVERS_ALL };

/* The values an argument takes in a request class: (high << 32) | low, high from 0 to high_max,
 * low the request's own bits or any. On a 32-bit argument (high_max 0, narrow) libseccomp keeps the
 * low 32 bits of the datum and the mask alone. */
struct arg_values {
        uint32_t high_max;
        bool low_fixed;
        uint32_t low;
        bool narrow;
};

static enum coverage both(enum coverage a, enum coverage b) {
        if (a == COVERS_NONE || b == COVERS_NONE)
                return COVERS_NONE;
        return a == COVERS_ALL && b == COVERS_ALL ? COVERS_ALL : COVERS_SOME;
}

static enum coverage negate(enum coverage c) {
        return c == COVERS_ALL ? COVERS_NONE : c == COVERS_NONE ? COVERS_ALL : COVERS_SOME;
}

/* (v & mask) == datum, the datum already masked (libseccomp does), for v among the values. */
static enum coverage masked_coverage(const struct arg_values *v, uint64_t mask, uint64_t datum) {
        uint32_t mask_high = (uint32_t) (mask >> 32), datum_high = (uint32_t) (datum >> 32);
        uint32_t mask_low = (uint32_t) mask, datum_low = (uint32_t) datum;
        enum coverage high, low;

        if (mask_high == 0)
                high = COVERS_ALL;
        else if (v->high_max == 0)
                high = datum_high == 0 ? COVERS_ALL : COVERS_NONE;
        else
                high = COVERS_SOME; /* the high half takes every value: some match, some do not */
        if (v->low_fixed)
                low = (v->low & mask_low) == datum_low ? COVERS_ALL : COVERS_NONE;
        else
                low = mask_low == 0 ? COVERS_ALL : COVERS_SOME;
        return both(high, low);
}

/* Over the ordered values from min to max (every comparison is unsigned). */
static enum coverage ordered_coverage(enum seccomp_op op, uint64_t min, uint64_t max, uint64_t datum) {
        switch (op) {
        case SCMP_OP_LT:
                return min >= datum ? COVERS_NONE : max < datum ? COVERS_ALL : COVERS_SOME;
        case SCMP_OP_LE:
                return min > datum ? COVERS_NONE : max <= datum ? COVERS_ALL : COVERS_SOME;
        case SCMP_OP_GT:
                return max <= datum ? COVERS_NONE : min > datum ? COVERS_ALL : COVERS_SOME;
        default: /* SCMP_OP_GE */
                return max < datum ? COVERS_NONE : min >= datum ? COVERS_ALL : COVERS_SOME;
        }
}

static enum coverage condition_coverage(const struct seccomp_condition *c, const struct arg_values *v) {
        uint64_t mask = c->op == SCMP_OP_MASKED_EQ ? c->value : UINT64_MAX;
        uint64_t datum = c->op == SCMP_OP_MASKED_EQ ? c->value_two : c->value;
        uint64_t min = v->low_fixed ? v->low : 0;
        uint64_t max = ((uint64_t) v->high_max << 32) | (v->low_fixed ? v->low : LOW_32);
        bool single = v->high_max == 0 && v->low_fixed;
        enum coverage equal;

        if (v->narrow) {
                mask &= LOW_32;
                datum &= LOW_32;
        }
        switch (c->op) {
        case SCMP_OP_MASKED_EQ:
                return masked_coverage(v, mask, datum & mask);
        case SCMP_OP_EQ:
        case SCMP_OP_NE:
                if ((datum >> 32) > v->high_max || (v->low_fixed && (uint32_t) datum != v->low))
                        equal = COVERS_NONE;
                else
                        equal = single ? COVERS_ALL : COVERS_SOME;
                return c->op == SCMP_OP_EQ ? equal : negate(equal);
        default:
                return ordered_coverage(c->op, min, max, datum);
        }
}

/* ---- one rule over a request class -------------------------------------------------------------- */

/* A request class on one argument width: ioctl(any fd, request with these low 32 bits, any arg). */
struct request_class {
        uint32_t request;
        bool narrow;        /* a 32-bit architecture */
        bool exact;         /* only the request itself, bits 32-63 clear (for explanations) */
};

static struct arg_values values_of_arg(const struct request_class *k, unsigned index) {
        return (struct arg_values) { .high_max = k->narrow || (k->exact && index == 1) ? 0 : UINT32_MAX,
                                     .low_fixed = index == 1, .low = k->request, .narrow = k->narrow };
}

static bool repeats_an_index(const struct seccomp_rule *r, unsigned *ret_index) {
        for (size_t i = 0; i < r->n_conditions; i++)
                for (size_t j = i + 1; j < r->n_conditions; j++)
                        if (r->conditions[i].index == r->conditions[j].index) {
                                *ret_index = r->conditions[i].index;
                                return true;
                        }
        return false;
}

static enum coverage all_of(const struct seccomp_rule *r, const struct request_class *k) {
        enum coverage c = COVERS_ALL;

        for (size_t i = 0; i < r->n_conditions; i++) {
                struct arg_values v = values_of_arg(k, r->conditions[i].index);

                c = both(c, condition_coverage(&r->conditions[i], &v));
        }
        return c;
}

static enum coverage any_of(const struct seccomp_rule *r, const struct request_class *k) {
        enum coverage c = COVERS_NONE;

        for (size_t i = 0; i < r->n_conditions; i++) {
                struct arg_values v = values_of_arg(k, r->conditions[i].index);

                c = MAX(c, condition_coverage(&r->conditions[i], &v));
        }
        return c == COVERS_NONE || c == COVERS_ALL ? c : COVERS_SOME;
}

/* How much of the class the rule matches. A rule that repeats an argument index means "any of the
 * conditions" to runc and crun (one rule per condition) and "all of them" to libseccomp alone:
 * an allow-like rule is read the way it matches more, a denying rule the way it matches less. A rule
 * nbmount cannot read counts as allowing everything. */
static enum coverage rule_coverage(const struct seccomp_rule *r, const struct request_class *k) {
        unsigned index;

        if (r->not_understood[0] || r->n_conditions == 0)
                return COVERS_ALL;
        if (!repeats_an_index(r, &index))
                return all_of(r, k);
        return r->denies ? MIN(all_of(r, k), any_of(r, k)) : MAX(all_of(r, k), any_of(r, k));
}

/* ---- messages ------------------------------------------------------------------------------------ */

static void describe_condition(char *buf, size_t size, const struct seccomp_condition *c) {
        char where[16] = "";

        if (c->index != 1)
                snprintf(where, sizeof(where), "args[%u] ", c->index);
        if (c->op == SCMP_OP_MASKED_EQ)
                snprintf(buf, size, "%s%s %" PRIu64 " %" PRIu64, where, seccomp_op_name(c->op), c->value, c->value_two);
        else
                snprintf(buf, size, "%s%s %" PRIu64, where, seccomp_op_name(c->op), c->value);
}

/* "linux.seccomp.syscalls[3] (ioctl, SCMP_ACT_ERRNO, SCMP_CMP_EQ 1075599392)" */
static void describe_rule(char *buf, size_t size, const struct seccomp_rule *r, const char *name) {
        size_t n = (size_t) snprintf(buf, size, "linux.seccomp.syscalls[%zu] (%s, %s", r->position, name,
                                     r->action[0] ? r->action : "no action");

        for (size_t i = 0; i < r->n_conditions && n < size; i++) {
                char condition[96];

                describe_condition(condition, sizeof(condition), &r->conditions[i]);
                n += (size_t) snprintf(buf + n, size - n, ", %s", condition);
        }
        if (n < size)
                snprintf(buf + n, size - n, ")");
}

static const char *width_phrase(const struct request_class *k) {
        return k->narrow ? " from 32-bit processes (a 32-bit architecture of linux.seccomp.architectures)" : "";
}

static void explain_allowing(const struct seccomp_rule *r, const struct request_class *k, const char *what,
                             struct nb_error *ret) {
        const struct request_class exact = { .request = k->request, .narrow = k->narrow, .exact = true };
        char rule[512];

        describe_rule(rule, sizeof(rule), r, "ioctl");
        if (r->not_understood[0])
                nb_fail(ret, EPERM, "%s has %s, which nbmount does not know: it cannot tell which ioctl requests the rule lets through; remove it from the rule",
                        rule, r->not_understood);
        else if (r->n_conditions == 0)
                nb_fail(ret, EPERM,
                        "%s lets every ioctl request through, %s among them (libseccomp lets an unconditional allow win over any conditional deny); allow ioctl only through SCMP_CMP_MASKED_EQ conditions that leave those requests out (nbmount seccomp writes such a profile)",
                        rule, what);
        else
                nb_fail(ret, EPERM,
                        "%s lets %s through%s%s; allow ioctl only through SCMP_CMP_MASKED_EQ conditions that ignore bits 32-63 and leave those requests out (nbmount seccomp writes such a profile)",
                        rule, what,
                        !k->narrow && rule_coverage(r, &exact) == COVERS_NONE
                                ? " when bits above 31 of the request are set (the kernel reads bits 0-31 only)"
                                : "",
                        width_phrase(k));
}

/* A denying rule that stops the plain request but not all of its class: why. */
static void explain_partial(const struct seccomp_rule *r, const struct request_class *k, const char *what,
                            struct nb_error *ret) {
        char rule[512], fix[160];
        unsigned index;

        describe_rule(rule, sizeof(rule), r, "ioctl");
        snprintf(fix, sizeof(fix), "use SCMP_CMP_MASKED_EQ value 4294967295 valueTwo %" PRIu32 " (see " SHIPPED_RULES ")",
                 k->request);
        for (size_t i = 0; i < r->n_conditions; i++) {
                struct arg_values v = values_of_arg(k, r->conditions[i].index);

                if (r->conditions[i].index != 1 && condition_coverage(&r->conditions[i], &v) != COVERS_ALL) {
                        nb_fail(ret, EPERM, "%s denies %s only when args[%u] matches too; a rule on the request alone is needed: %s",
                                rule, what, r->conditions[i].index, fix);
                        return;
                }
        }
        if (repeats_an_index(r, &index))
                nb_fail(ret, EPERM,
                        "%s has two conditions on args[%u]: runc and crun make one rule of each, libseccomp alone requires all of them, and one of the two readings misses %s; %s",
                        rule, index, what, fix);
        else if (!k->narrow)
                nb_fail(ret, EPERM, "%s misses requests with bits above 31 set (the kernel reads bits 0-31 only); %s", rule,
                        fix);
        else
                nb_fail(ret, EPERM, "%s misses %s%s; %s", rule, what, width_phrase(k), fix);
}

/* ---- the verdict --------------------------------------------------------------------------------- */

static bool is_allow_like(const struct seccomp_rule *r) { return r->not_understood[0] || !r->denies; }

/* Every request of class k is denied: 0, else -EPERM with the reason. */
static int judge_class(const struct seccomp_profile *p, const struct request_class *k, const char *what,
                       struct nb_error *ret) {
        const struct request_class exact = { .request = k->request, .narrow = k->narrow, .exact = true };
        const struct seccomp_rule *partial = NULL;

        for (size_t i = 0; i < p->n_rules; i++) {
                const struct seccomp_rule *r = &p->rules[i];

                if (r->names_ioctl && is_allow_like(r) && rule_coverage(r, k) != COVERS_NONE) {
                        explain_allowing(r, k, what, ret);
                        return -EPERM;
                }
        }
        if (p->default_denies)
                return 0;
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct seccomp_rule *r = &p->rules[i];

                if (!r->names_ioctl || is_allow_like(r))
                        continue;
                if (rule_coverage(r, k) == COVERS_ALL)
                        return 0;
                if (!partial && (rule_coverage(r, &exact) != COVERS_NONE || any_of(r, &exact) != COVERS_NONE))
                        partial = r;
        }
        if (partial)
                explain_partial(partial, k, what, ret);
        else
                nb_fail(ret, EPERM,
                        "no rule of linux.seccomp (default action %s) denies %s%s; add the rules of " SHIPPED_RULES
                        " (SCMP_CMP_MASKED_EQ value 4294967295 valueTwo %" PRIu32 ")",
                        p->default_action, what, width_phrase(k), k->request);
        return -EPERM;
}

static bool profile_readable(const struct seccomp_profile *p, struct nb_error *ret) {
        if (!p->present) {
                nb_fail(ret, EPERM,
                        "config.json has no linux.seccomp profile, so nothing stops chattr -p or chattr -P; add the rules of " SHIPPED_RULES
                        " to linux.seccomp (runc, crun), or use the profile nbmount seccomp writes (podman, CRI-O)");
                return false;
        }
        if (p->not_understood[0]) {
                nb_fail(ret, EPERM, "linux.seccomp has %s, which nbmount does not know: it cannot tell what the profile lets through",
                        p->not_understood);
                return false;
        }
        return true;
}

static bool judge_ioctls(const struct seccomp_profile *p, struct nb_error *ret) {
        if (!profile_readable(p, ret))
                return false;
        for (int narrow = 0; narrow <= (p->has_32bit_arch ? 1 : 0); narrow++)
                for (size_t i = 0; i < SECCOMP_DANGEROUS_IOCTLS; i++) {
                        const struct request_class k = { .request = seccomp_dangerous_ioctls[i], .narrow = narrow };

                        if (judge_class(p, &k, ioctl_names[i], ret) < 0)
                                return false;
                }
        return true;
}

/* A rule naming file_setattr is dropped without a word by a runtime whose libseccomp does not know
 * the name (libseccomp 2.5.4, runc 1.1.5 and crun 1.8.1 here): only a default that denies holds. */
static bool judge_file_setattr(const struct seccomp_profile *p, struct nb_error *ret) {
        char rule[512];

        if (!profile_readable(p, ret))
                return false;
        for (size_t i = 0; i < p->n_rules; i++) {
                const struct seccomp_rule *r = &p->rules[i];

                if (!r->names_file_setattr || !is_allow_like(r))
                        continue;
                describe_rule(rule, sizeof(rule), r, "file_setattr");
                if (r->not_understood[0])
                        nb_fail(ret, EPERM,
                                "%s has %s, which nbmount does not know: it cannot tell whether the rule lets file_setattr(2) through; remove it from the rule",
                                rule, r->not_understood);
                else
                        nb_fail(ret, EPERM, "%s lets file_setattr(2) through; remove file_setattr from it", rule);
                return false;
        }
        if (!p->default_denies) {
                nb_fail(ret, EPERM,
                        "linux.seccomp.defaultAction is %s, and a rule naming file_setattr(2) is dropped without a word by a runtime whose libseccomp does not know the name (libseccomp 2.5.4 does not): only a profile that denies by default stops it (nbmount seccomp writes one)",
                        p->default_action);
                return false;
        }
        return true;
}

void seccomp_guard_judge(const struct seccomp_profile *profile, struct seccomp_guard *ret) {
        *ret = (struct seccomp_guard) {};
        ret->ioctls_closed = judge_ioctls(profile, &ret->ioctl_problem);
        ret->file_setattr_closed = judge_file_setattr(profile, &ret->file_setattr_problem);
}

/* ---- the allow cover ----------------------------------------------------------------------------- */

static bool holds_a_dangerous_ioctl(uint64_t mask, uint64_t prefix) {
        for (size_t i = 0; i < SECCOMP_DANGEROUS_IOCTLS; i++)
                if ((seccomp_dangerous_ioctls[i] & mask) == prefix)
                        return true;
        return false;
}

static bool listed(uint64_t (*pairs)[2], size_t n, uint64_t mask, uint64_t prefix) {
        for (size_t i = 0; i < n; i++)
                if (pairs[i][0] == mask && pairs[i][1] == prefix)
                        return true;
        return false;
}

/* Level by level down the bits of the three requests: each branch off their paths that holds none
 * of them is one prefix of the cover. */
size_t seccomp_ioctl_cover(uint64_t (*ret)[2]) {
        size_t n = 0;

        for (unsigned len = 1; len <= 32; len++) {
                uint64_t mask = (LOW_32 << (32 - len)) & LOW_32, bit = UINT64_C(1) << (32 - len);

                for (size_t i = 0; i < SECCOMP_DANGEROUS_IOCTLS; i++) {
                        uint64_t sibling = (seccomp_dangerous_ioctls[i] & mask) ^ bit;

                        if (!holds_a_dangerous_ioctl(mask, sibling) && !listed(ret, n, mask, sibling)) {
                                ret[n][0] = mask;
                                ret[n][1] = sibling;
                                n++;
                        }
                }
        }
        return n;
}
