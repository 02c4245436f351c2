/* SPDX-License-Identifier: Apache-2.0 */
/* nbmountd after start-up: the capabilities its own code paths need and a seccomp allowlist of their
 * system calls. s3fs is run by the spawner (spawner.c), forked before this, so nbmountd never execs.
 * A call outside the list fails with EPERM (a request fails with its error; nbmountd goes on);
 * execve and ptrace kill it. Build with -DNBMOUNT_SECCOMP_LOG to log misses to the kernel log. */
#include <errno.h>
#include <linux/sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "confine.h"
#include "mountd.h"
#include "util.h"

#ifdef NBMOUNT_SECCOMP_LOG
#define MOUNTD_DEFAULT_ACTION SCMP_ACT_LOG
#else
#define MOUNTD_DEFAULT_ACTION SCMP_ACT_ERRNO(EPERM)
#endif

/* CAP_SYS_ADMIN    open_tree (the clone a hook gets), umount2
 * CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH  secrets, state and mount points in folders an operator
 *                  may have given other modes, /proc of other processes
 * CAP_KILL         stopping an s3fs that was adopted (another process's child)
 * CAP_SYS_PTRACE   /proc/PID/ns/{mnt,user} of a peer (peer.c) and of a container a pending bucket goes
 *                  into (attach.c): the hook is not dumpable and keeps
 *                  capabilities nbmountd lacks, so the kernel's ptrace access check needs it. ptrace(2)
 *                  and process_vm_writev stay fatal below, process_vm_readv is not allowed; what it
 *                  adds to open(2) (/proc/PID/mem) CAP_DAC_OVERRIDE's writes to any file already give.
 * CAP_SYS_CHROOT   setns(2) into a running container's mount namespace (attach.c's child), which the
 *                  kernel allows only with it (and CAP_SYS_ADMIN); chroot(2) itself is not allowed
 * CAP_CHOWN        the notebook's status file (lib/mountstatus.c) rewritten after a late attach is
 *                  the container user's: made as root, given away by fd; the same for offline.status
 * CAP_SETUID, CAP_SETGID  the walk of a notebook for its offline copy (offwalk.c) runs in a forked
 *                  child as the notebook folder's owner: setgroups, setresgid, setresuid there */
static const cap_value_t kept_caps[] = { CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_KILL,
                                         CAP_SYS_PTRACE, CAP_SYS_CHROOT, CAP_CHOWN, CAP_SETUID, CAP_SETGID };

static const int allowed[] = {
        /* threads, memory, time, identity, signals */
        SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(futex), SCMP_SYS(madvise),
        SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(exit),
        SCMP_SYS(exit_group), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigaction),
        SCMP_SYS(restart_syscall), SCMP_SYS(sched_yield), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
        SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
        SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(getrandom), SCMP_SYS(uname),
        /* files: state, secrets, passwd files, logs, mount points, /proc */
        SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(open), SCMP_SYS(close), SCMP_SYS(read), SCMP_SYS(pread64),
        SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(stat),
        SCMP_SYS(lstat), SCMP_SYS(statx), SCMP_SYS(statfs), SCMP_SYS(fstatfs), SCMP_SYS(fcntl), SCMP_SYS(fsync),
        SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
        SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(getdents64), SCMP_SYS(readlink),
        SCMP_SYS(readlinkat), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(umask),
        /* the notebook's status file after a late attach (lib/mountstatus.c): a new file given to the
         * container user by fd, linked or renamed over the old one */
        SCMP_SYS(fchown), SCMP_SYS(fchownat), SCMP_SYS(fchmod), SCMP_SYS(linkat),
        /* mounts: the clone for a hook; a late attach's child sets its flags, moves it onto the target in
         * the container (setns: below) and, on failure, unmounts it again */
        SCMP_SYS(open_tree), SCMP_SYS(umount2), SCMP_SYS(mount_setattr), SCMP_SYS(move_mount),
        /* a successor swapped in (swap.c): the dead mount is detached through the child's cwd */
        SCMP_SYS(fchdir),
        /* the healer watches the teams' secrets (heal.c) */
        SCMP_SYS(inotify_init1), SCMP_SYS(inotify_add_watch),
        /* processes: s3fs through pidfds, the probe child, the late attach's child and its error pipe */
        SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_send_signal), SCMP_SYS(waitid), SCMP_SYS(wait4), SCMP_SYS(kill),
        SCMP_SYS(pipe2),
        /* sockets (their families: below): the hooks, the spawner, syslog, DNS for endpoint names */
        SCMP_SYS(accept4), SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
        SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
        SCMP_SYS(getpeername), SCMP_SYS(bind), SCMP_SYS(shutdown), SCMP_SYS(poll), SCMP_SYS(ppoll),
        /* the offline copies (offwalk.c, offs3.c): the walk's child becomes the notebook's owner and
         * talks to nbmountd over a socket pair; libcurl's own wake-up pair and its resolver thread */
        SCMP_SYS(setgroups), SCMP_SYS(setresgid), SCMP_SYS(setresuid), SCMP_SYS(socketpair), SCMP_SYS(eventfd2),
        SCMP_SYS(sysinfo),
};

#define ARG_EQ(n, v) { .arg = (n), .op = SCMP_CMP_EQ, .datum_a = (v) }
#define ARG_MASKED_EQ(n, mask, v) { .arg = (n), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = (v) }

static const struct confine_rule rules[] = {
        { SCMP_SYS(socket), 1, { ARG_EQ(0, AF_UNIX) } },
        { SCMP_SYS(socket), 1, { ARG_EQ(0, AF_INET) } },  /* the resolver (getaddrinfo) */
        { SCMP_SYS(socket), 1, { ARG_EQ(0, AF_INET6) } },
        { SCMP_SYS(ioctl), 1, { ARG_EQ(1, FIONREAD) } },  /* the resolver */
        /* the late attach's child joins a container's mount namespace, and no other kind */
        { SCMP_SYS(setns), 1, { ARG_EQ(1, CLONE_NEWNS) } },
        /* fork() of the probe child is clone without CLONE_THREAD; threads come through clone3 */
        { SCMP_SYS(clone), 1, { ARG_MASKED_EQ(0, CLONE_THREAD, 0) } },
        /* the walk's child: not dumpable once it is the owner, killed with nbmountd */
        { SCMP_SYS(prctl), 1, { ARG_EQ(0, PR_SET_DUMPABLE) } },
        { SCMP_SYS(prctl), 1, { ARG_EQ(0, PR_SET_PDEATHSIG) } },
};

static const int killed[] = { SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace), SCMP_SYS(process_vm_writev) };
/* ASan at every thread start (pthread_getattr_np: the stack limit, the affinity) and LeakSanitizer at
 * exit (a tracer thread that stops the others and reads /proc). */
static const int sanitizer_allowed[] = { SCMP_SYS(ptrace), SCMP_SYS(prctl), SCMP_SYS(sigaltstack), SCMP_SYS(tgkill),
                                         SCMP_SYS(clone), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
                                         SCMP_SYS(sched_getaffinity), SCMP_SYS(getppid), SCMP_SYS(getdents),
                                         SCMP_SYS(wait4), SCMP_SYS(waitid) };

int mountd_undumpable(struct nb_error *err) {
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return nb_fail(err, errno, "cannot make nbmountd non-dumpable: %s", strerror(errno));
        return 0;
}

int mountd_confine(struct nb_error *err) {
        const struct confine_policy policy = {
                .default_action = MOUNTD_DEFAULT_ACTION,
                .allowed = allowed,
                .n_allowed = ARRAY_SIZE(allowed),
                .rules = rules,
                .n_rules = ARRAY_SIZE(rules),
                .killed = CONFINE_SANITIZER_BUILD ? NULL : killed,
                .n_killed = CONFINE_SANITIZER_BUILD ? 0 : ARRAY_SIZE(killed),
        };
        const struct confine_policy sanitizer = {
                .default_action = SCMP_ACT_ALLOW, /* unused: only its list is added */
                .allowed = sanitizer_allowed,
                .n_allowed = ARRAY_SIZE(sanitizer_allowed),
        };
        int r;

        if ((r = confine_capabilities(kept_caps, ARRAY_SIZE(kept_caps), err)) < 0 ||
            (r = confine_syscalls(&policy, CONFINE_SANITIZER_BUILD ? &sanitizer : NULL, err)) < 0)
                return nb_wrap(err, r, "cannot confine nbmountd: ");
        return 0;
}
