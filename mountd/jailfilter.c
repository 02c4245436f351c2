/* SPDX-License-Identifier: Apache-2.0 */
/* s3fs's seccomp filter. s3fs talks to servers its users choose, through libcurl, gnutls and libxml2;
 * this filter is the last wall if one of them is taken over. It allows by default (s3fs, libcurl,
 * gnutls, libfuse and glibc's resolver make hundreds of different calls, and an allowlist that misses
 * a rare one breaks a mount), and:
 *   - hands every connect(), every sendto() with a destination, every sendmsg() and sendmmsg() to the
 *     supervisor (SECCOMP_RET_USER_NOTIF), which judges the destination and makes the call itself on
 *     its own duplicate of the socket (supervisor.c): no URL, redirect or DNS answer gets s3fs past the
 *     node's network policy, and nothing s3fs changes in its memory after the check counts;
 *   - refuses (EPERM, so that s3fs degrades instead of dying) what no s3fs needs: ptrace and reading
 *     other processes, new namespaces, every mount call (libfuse's own unmount falls back to
 *     fusermount), kernel modules, kexec, bpf, perf, userfaultfd, io_uring (whose requests would pass
 *     the filter), keyrings, swap, reboot, clocks, file handles, port I/O, listening sockets, another
 *     seccomp filter (a listener of its own would see its calls first), socket families other than
 *     unix, IPv4, IPv6 and netlink routing, and TIOCSTI;
 *   - answers clone3() with ENOSYS (its flags are in memory the filter cannot read): glibc then uses
 *     clone(), whose namespace flags are refused. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "confine.h"
#include "mountd.h"
#include "util.h"

#define ARG(n, cmp, value) ((struct scmp_arg_cmp) { .arg = (n), .op = (cmp), .datum_a = (value), .datum_b = 0 })
#define ARG_MASKED(n, mask, value) \
        ((struct scmp_arg_cmp) { .arg = (n), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = (value) })

static const int refused[] = {
        SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev), SCMP_SYS(pidfd_getfd),
        SCMP_SYS(kcmp), SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
        SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(move_mount), SCMP_SYS(open_tree), SCMP_SYS(fsopen),
        SCMP_SYS(fsconfig), SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(mount_setattr), SCMP_SYS(init_module),
        SCMP_SYS(finit_module), SCMP_SYS(delete_module), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
        SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd), SCMP_SYS(io_uring_setup),
        SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register), SCMP_SYS(add_key), SCMP_SYS(request_key),
        SCMP_SYS(keyctl), SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(reboot), SCMP_SYS(settimeofday),
        SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex), SCMP_SYS(open_by_handle_at),
        SCMP_SYS(name_to_handle_at), SCMP_SYS(iopl), SCMP_SYS(ioperm), SCMP_SYS(acct), SCMP_SYS(quotactl),
        SCMP_SYS(quotactl_fd), SCMP_SYS(lookup_dcookie), SCMP_SYS(vhangup), SCMP_SYS(syslog), SCMP_SYS(uselib),
        SCMP_SYS(ustat), SCMP_SYS(sysfs), SCMP_SYS(_sysctl), SCMP_SYS(modify_ldt), SCMP_SYS(nfsservctl),
        SCMP_SYS(seccomp), SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(fanotify_init),
        SCMP_SYS(process_madvise), SCMP_SYS(migrate_pages), SCMP_SYS(move_pages),
};

static const unsigned long namespace_flags[] = { CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                                 CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET };

static int add_refusals(scmp_filter_ctx ctx) {
        int r = 0;

        for (size_t i = 0; i < ARRAY_SIZE(refused) && r >= 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), refused[i], 0);
        for (size_t i = 0; i < ARRAY_SIZE(namespace_flags) && r >= 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                     ARG_MASKED(0, namespace_flags[i], namespace_flags[i]));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 1, ARG(0, SCMP_CMP_EQ, PR_SET_SECCOMP));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                     ARG_MASKED(1, 0xffffffffU, TIOCSTI));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                                     ARG(0, SCMP_CMP_NE, 0xffffffffU));
        return r;
}

/* socket(): unix, IPv4, IPv6, and netlink routing (glibc asks it for the host's addresses) only. */
static int add_socket_families(scmp_filter_ctx ctx) {
        int r = 0;

        for (int family = 0; family < AF_MAX && r >= 0; family++)
                if (family != AF_UNIX && family != AF_INET && family != AF_INET6 && family != AF_NETLINK)
                        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                             ARG(0, SCMP_CMP_EQ, family));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                     ARG(0, SCMP_CMP_GE, AF_MAX));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT), SCMP_SYS(socket), 2,
                                     ARG(0, SCMP_CMP_EQ, AF_NETLINK), ARG(2, SCMP_CMP_NE, NETLINK_ROUTE));
        return r;
}

/* The calls that name a destination go to the supervisor. */
static int add_notifications(scmp_filter_ctx ctx) {
        int r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(connect), 0);

        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 1, ARG(4, SCMP_CMP_NE, 0));
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendmsg), 0);
        if (r >= 0)
                r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendmmsg), 0);
        return r;
}

int jailfilter_load(int *ret_listener) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r, fd;

        if (!ctx)
                return -ENOMEM;
        if ((r = add_refusals(ctx)) < 0 || (r = add_socket_families(ctx)) < 0 || (r = add_notifications(ctx)) < 0 ||
            (r = seccomp_load(ctx)) < 0)
                return r;
        if ((fd = seccomp_notify_fd(ctx)) < 0)
                return fd;
        *ret_listener = fd;
        return 0;
}
