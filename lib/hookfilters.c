/* SPDX-License-Identifier: Apache-2.0 */
#include "hookfilters.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "confine.h"
#include "sandbox.h"
#include "util.h"

static struct scmp_arg_cmp arg_equals(unsigned arg, scmp_datum_t value) {
        return (struct scmp_arg_cmp) { .arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0 };
}

/* ---- the hook ------------------------------------------------------------------------------- */

/* A call outside the allowlist fails with EPERM rather than killing the hook: the hook is all or
 * nothing, and a failed call takes its error path, which detaches what it attached, removes the
 * folders it made and names the call that failed. Killed, it could do none of that. Building with
 * -DNBMOUNT_SECCOMP_LOG makes the filter log instead (to the kernel log), to find what it misses. */
static uint32_t hook_default_action(struct filter_variant v) {
        return v.log ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(EPERM);
}

/* System calls allowed without condition: what strace -f showed the hook making after decide()
 * under runc, crun, podman and in User-Mode Linux (tests/hook-check.sh, tests/quota-check.sh),
 * and the rest of what its code paths call (rollback, registry writes, the project walk, quotactl
 * on kernels without quotactl_fd, fchdir for the mount(2) fallback, nbmountd's socket, syslog). */
static const int hook_plain_calls[] = {
        /* memory, exit, time, identity */
        SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(exit), SCMP_SYS(exit_group),
        SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
        SCMP_SYS(clock_nanosleep), /* netfs_await_limit(): the storage server's limit, asked every 50 ms */
        SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
        SCMP_SYS(getrandom),
        /* files */
        SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(close), SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(write),
        SCMP_SYS(writev), SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fstatfs),
        SCMP_SYS(statfs), SCMP_SYS(fcntl), SCMP_SYS(flock), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(renameat),
        SCMP_SYS(renameat2), SCMP_SYS(mkdirat), SCMP_SYS(unlinkat), SCMP_SYS(fchown), SCMP_SYS(fchmod),
        SCMP_SYS(getdents64), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(fchdir),
        /* the stamp of a walked tree (quotatree.c): trusted.nbmount.quota on the folder's fd */
        SCMP_SYS(fgetxattr), SCMP_SYS(fsetxattr), SCMP_SYS(fremovexattr),
        /* mounts and quotas */
        SCMP_SYS(open_tree), SCMP_SYS(move_mount), SCMP_SYS(mount_setattr), SCMP_SYS(umount2), SCMP_SYS(quotactl),
        SCMP_SYS(quotactl_fd),
        /* AF_UNIX sockets only (socket() below): nbmountd's SOCK_SEQPACKET, syslog's /dev/log */
        SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
};

/* mount(2), for the fallback of mount.c where the new mount API is missing: a bind (not recursive), a
 * change to private propagation, or a bind remount that keeps nosuid and nodev; never a new
 * filesystem, a move, a recursive bind or shared propagation. */
static int add_mount_rules(scmp_filter_ctx ctx) {
        const scmp_datum_t remount = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV;
        const struct scmp_arg_cmp bind_remount = { .arg = 3, .op = SCMP_CMP_MASKED_EQ, .datum_a = remount,
                                                   .datum_b = remount };
        int r;

        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mount), 1, arg_equals(3, MS_BIND))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mount), 1, arg_equals(3, MS_PRIVATE))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mount), 1, bind_remount)) < 0)
                return r;
        return 0;
}

/* The probe for file_setattr(2) (Linux 6.17) that decides whether a container's profile must deny
 * it: fd -1 (its low 32 bits) and no path, which the kernel refuses (EBADF, EFAULT) where it has the
 * call and answers ENOSYS where it has not. Allowed in this one form, so that the probe tells the
 * truth after hardening too (poststop judges a container's guard then); the call is 469 on x86_64,
 * unnamed in libseccomp 2.5.4. */
#define SYS_FILE_SETATTR_X86_64 469
static int add_probe_rule(scmp_filter_ctx ctx) {
        const struct scmp_arg_cmp no_fd = { .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffU,
                                            .datum_b = 0xffffffffU };

        if (seccomp_arch_native() != SCMP_ARCH_X86_64)
                return 0;
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SYS_FILE_SETATTR_X86_64, 2, no_fd, arg_equals(1, 0));
}

static int add_hook_conditional_rules(scmp_filter_ctx ctx) {
        const struct scmp_arg_cmp no_exec = { .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC, .datum_b = 0 };
        const struct scmp_arg_cmp socket_level = arg_equals(1, SOL_SOCKET);
        int r;

        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, no_exec)) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, no_exec)) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setns), 1, arg_equals(1, CLONE_NEWNS))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, arg_equals(0, AF_UNIX))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2, socket_level,
                                  arg_equals(2, SO_RCVTIMEO))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2, socket_level,
                                  arg_equals(2, SO_SNDTIMEO))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, arg_equals(1, FS_IOC_FSGETXATTR))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, arg_equals(1, FS_IOC_FSSETXATTR))) < 0 ||
            (r = add_probe_rule(ctx)) < 0)
                return r;
        return add_mount_rules(ctx);
}

/* LeakSanitizer at exit: a tracer task (clone) that checks its parent (getppid), ptrace-stops the
 * others and reads /proc/self/task and maps with raw open and getdents (found with
 * -DNBMOUNT_SECCOMP_LOG; denied, the tracer quits and the hook spins in sched_yield for ever). */
static int add_hook_sanitizer_rules(scmp_filter_ctx ctx) {
        static const int calls[] = { SCMP_SYS(clone), SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(sched_yield),
                                     SCMP_SYS(getppid), SCMP_SYS(open), SCMP_SYS(getdents), SCMP_SYS(sigaltstack),
                                     SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(prctl),
                                     SCMP_SYS(futex), SCMP_SYS(kill), SCMP_SYS(tgkill), SCMP_SYS(set_robust_list),
                                     SCMP_SYS(nanosleep) };
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(calls); i++)
                if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0)) < 0)
                        return r;
        return 0;
}

int hook_filter_build(struct filter_variant v, scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(hook_default_action(v));
        int r = 0;

        if (!ctx)
                return -ENOMEM;
        for (size_t i = 0; i < ARRAY_SIZE(hook_plain_calls) && r >= 0; i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, hook_plain_calls[i], 0);
        if (r < 0 || (r = add_hook_conditional_rules(ctx)) < 0 || (v.sanitizer && (r = add_hook_sanitizer_rules(ctx)) < 0))
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}

/* ---- the settings parser's child ------------------------------------------------------------- */

/* ASan's runtime also asks for the signal stack (sigaltstack(NULL, &old), before every noreturn call)
 * and writes its reports to stderr. */
static int add_sandbox_sanitizer_rules(scmp_filter_ctx ctx) {
        int r;

        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sigaltstack), 1, arg_equals(0, 0))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, arg_equals(0, STDERR_FILENO))) < 0)
                return r;
        return 0;
}

/* What the parser does (strace -f over every settings fixture: brk, mmap, munmap, newfstatat, read,
 * write, exit_group), what glibc's allocator may also do (mremap, madvise), and nothing else: read
 * and fstat only the input (glibc's fstat() is newfstatat(fd, "", AT_EMPTY_PATH)), write only the
 * answer, map memory only without PROT_EXEC. */
static int add_sandbox_rules(scmp_filter_ctx ctx, struct filter_variant v) {
        const struct scmp_arg_cmp on_input = arg_equals(0, SANDBOX_INPUT_FD);
        const struct scmp_arg_cmp no_exec = { .arg = 2, .op = SCMP_CMP_MASKED_EQ, .datum_a = PROT_EXEC, .datum_b = 0 };
        static const int plain[] = { SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
                                     SCMP_SYS(exit), SCMP_SYS(exit_group) };
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
                if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0)) < 0)
                        return r;
        if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1, on_input)) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fstat), 1, on_input)) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 2, on_input,
                                  arg_equals(3, AT_EMPTY_PATH))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, arg_equals(0, SANDBOX_ANSWER_FD))) < 0 ||
            (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, no_exec)) < 0)
                return r;
        return v.sanitizer ? add_sandbox_sanitizer_rules(ctx) : 0;
}

int sandbox_filter_build(struct filter_variant v, scmp_filter_ctx *ret) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
        int r;

        if (!ctx)
                return -ENOMEM;
        if ((r = add_sandbox_rules(ctx, v)) < 0)
                return r;
        *ret = TAKE_PTR(ctx);
        return 0;
}
