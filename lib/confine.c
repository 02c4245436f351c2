/* SPDX-License-Identifier: Apache-2.0 */
#include "confine.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>

#include "util.h"

static bool in_set(const cap_value_t *set, size_t n, cap_value_t cap) {
        for (size_t i = 0; i < n; i++)
                if (set[i] == cap)
                        return true;
        return false;
}

int confine_capabilities(const cap_value_t *keep, size_t n_keep, struct nb_error *err) {
        _cleanup_(cap_freep) cap_t current = cap_get_proc(), wanted = cap_init();
        cap_flag_value_t have;

        if (!current || !wanted)
                return nb_fail(err, errno, "cannot read the capabilities: %s", strerror(errno));
        for (cap_value_t cap = 0; cap < (cap_value_t) cap_max_bits(); cap++)
                if (!in_set(keep, n_keep, cap) && cap_get_bound(cap) > 0 && cap_drop_bound(cap) < 0)
                        return nb_fail(err, errno, "cannot drop capability %d from the bounding set: %s", cap,
                                       strerror(errno));
        for (size_t i = 0; i < n_keep; i++)
                if (cap_get_flag(current, keep[i], CAP_PERMITTED, &have) == 0 && have == CAP_SET &&
                    (cap_set_flag(wanted, CAP_PERMITTED, 1, &keep[i], CAP_SET) < 0 ||
                     cap_set_flag(wanted, CAP_EFFECTIVE, 1, &keep[i], CAP_SET) < 0))
                        return nb_fail(err, errno, "cap_set_flag: %s", strerror(errno));
        if (cap_set_proc(wanted) < 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return nb_fail(err, errno, "cannot drop capabilities: %s", strerror(errno));
        return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct confine_policy *p) {
        int r = 0;

        for (size_t i = 0; i < p->n_allowed && r >= 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, p->allowed[i], 0);
        for (size_t i = 0; i < p->n_rules && r >= 0; i++)
                r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, p->rules[i].syscall, p->rules[i].n_args,
                                           p->rules[i].args);
        for (size_t i = 0; i < p->n_killed && r >= 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, p->killed[i], 0);
        return r;
}

int confine_syscalls(const struct confine_policy *policy, const struct confine_policy *extra, struct nb_error *err) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(policy->default_action);
        int r;

        if (!ctx)
                return nb_fail(err, ENOMEM, "seccomp_init failed");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return nb_fail(err, errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        if ((r = add_rules(ctx, policy)) < 0 || (extra && (r = add_rules(ctx, extra)) < 0) ||
            (r = seccomp_load(ctx)) < 0)
                return nb_fail(err, r, "cannot install the seccomp filter: %s", strerror(-r));
        return 0;
}
