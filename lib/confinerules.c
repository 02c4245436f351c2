/* SPDX-License-Identifier: Apache-2.0 */
#include "confine.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "util.h"

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

int confine_export_filter(scmp_filter_ctx ctx, struct sock_filter **ret, size_t *ret_n) {
        _cleanup_close_ int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        _cleanup_free_ struct sock_filter *insns = NULL;
        off_t size;
        int r;

        if (fd < 0)
                return -errno;
        if ((r = seccomp_export_bpf(ctx, fd)) < 0)
                return r;
        if ((size = lseek(fd, 0, SEEK_END)) < 0)
                return -errno;
        if (size == 0 || size % sizeof(*insns) != 0 || size / sizeof(*insns) > BPF_MAXINSNS)
                return -EBADMSG;
        if (!(insns = malloc((size_t) size)))
                return -ENOMEM;
        if (pread(fd, insns, (size_t) size, 0) != size)
                return errno ? -errno : -EIO;
        *ret = TAKE_PTR(insns);
        *ret_n = (size_t) size / sizeof(**ret);
        return 0;
}
