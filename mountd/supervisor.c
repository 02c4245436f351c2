/* SPDX-License-Identifier: Apache-2.0 */
/* The supervisor of one s3fs: a child of the spawner in its own session, so it outlives nbmountd and
 * the spawner (a restart adopts its s3fs; the policy lives here, not in nbmountd). As root it
 *   - mounts the FUSE file system (s3fs cannot: it runs without privileges) at RUN/mounts/NAME, with
 *     the options nbmountd chose (allow_other, nosuid, nodev, ro), whatever s3fs asks for;
 *   - clones s3fs's sandbox (jail.c) into new PID, mount and IPC namespaces, with the FUSE descriptor,
 *     the passwd file and /dev/null, and reports s3fs's pid and a pidfd to the spawner;
 * then becomes s3fs's uid without any capability, not dumpable (s3fs, the same uid, can neither
 * trace it nor read its memory), under a seccomp allowlist of its own, takes the listener of s3fs's
 * filter (pidfd_getfd) and serves s3fs's network calls (netcalls.c) until s3fs exits; then it exits.
 * If it dies, s3fs dies with it (PR_SET_PDEATHSIG), and nbmountd's sweep cleans the mount up: s3fs
 * never runs without its supervisor. Refusals go to s3fs's log and to syslog, 10 per 10 s at most. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "mountd.h"
#include "util.h"

#ifdef NBMOUNT_SECCOMP_LOG /* as nbmountd's own filter (confine.c): misses go to the kernel log */
#define SUPERVISOR_DEFAULT_ACTION SCMP_ACT_LOG
#else
#define SUPERVISOR_DEFAULT_ACTION SCMP_ACT_ERRNO(EPERM)
#endif
#define HANDOVER_TIMEOUT_MS 10000
#define REFUSALS_PER_WINDOW 10
#define REFUSAL_WINDOW_S 10
/* SECCOMP_IOCTL_NOTIF_ID_VALID was _IOR before Linux 5.17 (and is still accepted) */
#define SECCOMP_IOCTL_NOTIF_ID_VALID_OLD SECCOMP_IOR(2, __u64)

#define QUIET_SEEN_MAX 16

struct supervisor {
        const struct s3fs_jail *jail;
        int log_fd;
        struct netcalls calls;
        time_t window;
        unsigned in_window, suppressed;
        char quiet_seen[QUIET_SEEN_MAX][112]; /* other refusals, logged once each */
        size_t n_quiet_seen;
};

/* "2026-12-02T12:18:42Z [NET] ..." into s3fs's log, like s3fs's own lines. */
static void log_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(int fd, const char *fmt, ...) {
        char line[768];
        struct tm tm;
        time_t now = time(NULL);
        va_list ap;
        size_t n;

        gmtime_r(&now, &tm);
        n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
        va_end(ap);
        n = strlen(line);
        line[n++] = '\n';
        (void) !write(fd, line, n);
}

/* A unix socket (glibc tries nscd's, for one), netlink to a process, another family: refused,
 * logged once each as information, never as the cause of a failure. */
static void quiet_refusal(struct supervisor *s, const char *call, const char *dest, const char *why) {
        for (size_t i = 0; i < s->n_quiet_seen; i++)
                if (streq(s->quiet_seen[i], dest))
                        return;
        if (s->n_quiet_seen < QUIET_SEEN_MAX)
                snprintf(s->quiet_seen[s->n_quiet_seen++], sizeof(s->quiet_seen[0]), "%s", dest);
        log_line(s->log_fd, "[INF] nbmountd refused %s to %s: %s", call, dest, why);
}

static void on_refused(struct netcalls *c, const char *call, const char *dest, const char *why, bool ip) {
        struct supervisor *s = c->owner;
        time_t now = time(NULL);

        if (!ip) {
                quiet_refusal(s, call, dest, why);
                return;
        }
        if (now - s->window >= REFUSAL_WINDOW_S) {
                if (s->suppressed)
                        log_line(s->log_fd, "[NET] nbmountd refused %u more network calls of s3fs", s->suppressed);
                s->window = now;
                s->in_window = s->suppressed = 0;
        }
        if (++s->in_window > REFUSALS_PER_WINDOW) {
                s->suppressed++;
                return;
        }
        log_line(s->log_fd, "[NET] nbmountd refused %s to %s: %s", call, dest, why);
        mountd_log(LOG_WARNING, "%s: refused s3fs's %s to %s: %s", s->jail->name, call, dest, why);
}

/* ---- as root: the mount and the sandbox ------------------------------------------------------------ */

static int mount_fuse(const struct s3fs_jail *j, int log_fd) {
        _cleanup_close_ int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        unsigned long flags = MS_NOSUID | MS_NODEV | (j->read_only ? MS_RDONLY : 0);
        char options[128];

        if (fd < 0) {
                log_line(log_fd, "[ERR] nbmountd: cannot open /dev/fuse: %s", strerror(errno));
                return -errno;
        }
        snprintf(options, sizeof(options), "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other", fd, j->uid,
                 j->gid);
        if (mount("s3fs", j->mountpoint, "fuse.s3fs", flags, options) < 0) {
                log_line(log_fd, "[ERR] nbmountd: cannot mount FUSE on %s: %s", j->mountpoint, strerror(errno));
                return -errno;
        }
        return TAKE_FD(fd);
}

static int open_inputs(const struct s3fs_jail *j, int log_fd, struct jail_fds *fds) {
        fds->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        fds->key_fd = j->key_file[0] ? open(j->key_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (fds->null_fd < 0 || (j->key_file[0] && fds->key_fd < 0)) {
                log_line(log_fd, "[ERR] nbmountd: cannot open %s: %s", fds->null_fd < 0 ? "/dev/null" : j->key_file,
                         strerror(errno));
                return -errno;
        }
        return 0;
}

static void close_inputs(struct jail_fds *fds) {
        closep(&fds->null_fd);
        closep(&fds->fuse_fd);
        closep(&fds->key_fd);
        closep(&fds->sync_fd);
}

/* s3fs as PID 1 of new PID, mount and IPC namespaces; its pid, and a pidfd in *ret_pidfd. */
static pid_t clone_jail(const struct s3fs_jail *j, const struct jail_fds *fds, char *const argv[],
                        const char *fusermount, int *ret_pidfd) {
        int pidfd = -1;
        struct clone_args args = { .flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_PIDFD,
                                   .pidfd = (uint64_t) (uintptr_t) &pidfd, .exit_signal = SIGCHLD };
        long pid = syscall(SYS_clone3, &args, sizeof(args));

        if (pid < 0)
                return -errno;
        if (pid == 0)
                jail_child(j, fds, argv, fusermount);
        *ret_pidfd = pidfd;
        return (pid_t) pid;
}

static int start_jail(const struct s3fs_jail *j, char *const argv[], const char *fusermount, int log_fd,
                      int *ret_sync, int *ret_pidfd) {
        struct jail_fds fds = { .null_fd = -1, .log_fd = log_fd, .fuse_fd = -1, .key_fd = -1, .sync_fd = -1 };
        int pair[2], r;
        pid_t pid;

        if ((r = open_inputs(j, log_fd, &fds)) < 0 || (r = fds.fuse_fd = mount_fuse(j, log_fd)) < 0) {
                close_inputs(&fds);
                return r;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                r = -errno;
                close_inputs(&fds);
                umount2(j->mountpoint, MNT_DETACH);
                return r;
        }
        fds.sync_fd = pair[1];
        pid = clone_jail(j, &fds, argv, fusermount, ret_pidfd);
        close_inputs(&fds);
        if (pid < 0) {
                close(pair[0]);
                umount2(j->mountpoint, MNT_DETACH);
                log_line(log_fd, "[ERR] nbmountd: cannot start s3fs's sandbox: %s", strerror(-pid));
                return pid;
        }
        *ret_sync = pair[0];
        return pid;
}

/* ---- as s3fs's user: the supervisor's own confinement --------------------------------------------- */

#define ARG_EQ(n, v) { .arg = (n), .op = SCMP_CMP_EQ, .datum_a = (v) }
#define ARG_MASKED_EQ(n, mask, v) { .arg = (n), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = (v) }

static const int allowed[] = {
        SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(close),
        SCMP_SYS(openat), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(stat), SCMP_SYS(statx), SCMP_SYS(lseek),
        SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_getfd), SCMP_SYS(pidfd_send_signal), SCMP_SYS(process_vm_readv),
        SCMP_SYS(process_vm_writev), SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(getsockopt),
        SCMP_SYS(waitid), SCMP_SYS(wait4), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(brk), SCMP_SYS(munmap),
        SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
        SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
        SCMP_SYS(time), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(fcntl), SCMP_SYS(futex), SCMP_SYS(getrandom),
};

static const struct confine_rule rules[] = {
        { SCMP_SYS(ioctl), 1, { ARG_MASKED_EQ(1, 0xffffffffU, SECCOMP_IOCTL_NOTIF_RECV) } },
        { SCMP_SYS(ioctl), 1, { ARG_MASKED_EQ(1, 0xffffffffU, SECCOMP_IOCTL_NOTIF_SEND) } },
        { SCMP_SYS(ioctl), 1, { ARG_MASKED_EQ(1, 0xffffffffU, SECCOMP_IOCTL_NOTIF_ID_VALID) } },
        { SCMP_SYS(ioctl), 1, { ARG_MASKED_EQ(1, 0xffffffffU, SECCOMP_IOCTL_NOTIF_ID_VALID_OLD) } },
        { SCMP_SYS(socket), 1, { ARG_EQ(0, AF_UNIX) } }, /* syslog */
        { SCMP_SYS(mmap), 1, { ARG_MASKED_EQ(2, PROT_EXEC, 0) } },
        { SCMP_SYS(mprotect), 1, { ARG_MASKED_EQ(2, PROT_EXEC, 0) } },
};

static const int killed[] = { SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace) };
/* ASan and LeakSanitizer (sanitizer builds only; see mountd/confine.c) */
static const int sanitizer_allowed[] = { SCMP_SYS(ptrace), SCMP_SYS(prctl), SCMP_SYS(sigaltstack), SCMP_SYS(tgkill),
                                         SCMP_SYS(clone), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
                                         SCMP_SYS(sched_getaffinity), SCMP_SYS(getppid), SCMP_SYS(getdents64),
                                         SCMP_SYS(getdents), SCMP_SYS(mmap), SCMP_SYS(mprotect), SCMP_SYS(readlink) };

static int confine_self(const struct s3fs_jail *j) {
        const struct confine_policy policy = {
                .default_action = SUPERVISOR_DEFAULT_ACTION,
                .allowed = allowed,
                .n_allowed = ARRAY_SIZE(allowed),
                .rules = rules,
                .n_rules = ARRAY_SIZE(rules),
                .killed = CONFINE_SANITIZER_BUILD ? NULL : killed,
                .n_killed = CONFINE_SANITIZER_BUILD ? 0 : ARRAY_SIZE(killed),
        };
        const struct confine_policy sanitizer = { .allowed = sanitizer_allowed, .n_allowed = ARRAY_SIZE(sanitizer_allowed) };
        struct nb_error err = {};
        int r;

        if ((r = jail_become(j->uid, j->gid)) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return r < 0 ? r : -errno;
        return confine_syscalls(&policy, CONFINE_SANITIZER_BUILD ? &sanitizer : NULL, &err);
}

/* The number of the listener in s3fs's sandbox, then our own copy of it; the sandbox closes its.
 * -ECHILD: the sandbox gave up first (and said why in the log). */
static int take_listener(int sync_fd, int pidfd) {
        struct pollfd fds[2] = { { .fd = sync_fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
        int32_t number = -1;
        int listener;

        if (poll(fds, 2, HANDOVER_TIMEOUT_MS) <= 0)
                return -ETIMEDOUT;
        if (!(fds[0].revents & POLLIN) || read(sync_fd, &number, sizeof(number)) != sizeof(number))
                return -ECHILD;
        if ((listener = pidfd_getfd(pidfd, number, 0)) < 0)
                return -errno;
        if (write(sync_fd, "k", 1) != 1) {
                close(listener);
                return -EPIPE;
        }
        return listener;
}

/* ---- serving --------------------------------------------------------------------------------------- */

static void serve_one(struct supervisor *s) {
        struct seccomp_notif req;
        struct seccomp_notif_resp resp = {};
        int64_t r;

        memset(&req, 0, sizeof(req));
        if (ioctl(s->calls.listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
                return; /* ENOENT: the caller is gone already */
        r = netcalls_serve(&s->calls, &req);
        resp.id = req.id;
        if (r < 0)
                resp.error = (int32_t) r;
        else
                resp.val = r;
        (void) ioctl(s->calls.listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void serve(struct supervisor *s, int pidfd) {
        for (;;) {
                struct pollfd fds[2] = { { .fd = s->calls.listener, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };

                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return;
                }
                if (fds[0].revents & POLLIN)
                        serve_one(s);
                else if (fds[0].revents & (POLLHUP | POLLERR))
                        return; /* no task under the filter is left */
                if (fds[1].revents & POLLIN)
                        return;
        }
}

static int supervise(const struct s3fs_jail *j, int log_fd, int sync_fd, int pidfd) {
        struct supervisor s = { .jail = j, .log_fd = log_fd };
        int listener, r;

        if ((r = netcalls_init(&s.calls, -1, &j->policy)) < 0 || (r = confine_self(j)) < 0 ||
            (r = listener = take_listener(sync_fd, pidfd)) < 0) {
                if (r != -ECHILD)
                        log_line(log_fd, "[ERR] nbmountd: the supervisor of s3fs cannot start: %s", strerror(-r));
                netcalls_free(&s.calls);
                return 1;
        }
        s.calls.listener = listener;
        s.calls.refused = on_refused;
        s.calls.owner = &s;
        serve(&s, pidfd);
        close(listener);
        netcalls_free(&s.calls);
        return 0;
}

int supervisor_main(const struct s3fs_jail *j, char *const argv[], const char *fusermount, int log_fd,
                    int report_fd) {
        _cleanup_close_ int sync_fd = -1, pidfd = -1;
        siginfo_t info = {};
        int32_t result;
        pid_t pid;
        int r;

        prctl(PR_SET_NAME, "s3fs-supervisor", 0, 0, 0);
        if (setsid() < 0)
                return 1;
        pid = start_jail(j, argv, fusermount, log_fd, &sync_fd, &pidfd);
        result = (int32_t) pid;
        if (send_with_fd(report_fd, &result, sizeof(result), pid < 0 ? -1 : pidfd) < 0 || pid < 0) {
                if (pid > 0)
                        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                return 1;
        }
        close(report_fd);
        r = supervise(j, log_fd, sync_fd, pidfd);
        if (r != 0)
                pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        waitid(P_PIDFD, (id_t) pidfd, &info, WEXITED);
        return r;
}
