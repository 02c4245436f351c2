/* SPDX-License-Identifier: Apache-2.0 */
/* The only process of nbmountd that may start s3fs: forked at start-up, before nbmountd drops its
 * capabilities and installs its seccomp allowlist. On each request (the sandbox's description, s3fs's
 * argv and its log) it forks a supervisor (supervisor.c) in a session of its own, which mounts FUSE and
 * starts s3fs in its sandbox; the spawner answers with s3fs's pid and a pidfd of it. It reaps the
 * supervisors and exits when nbmountd goes; the supervisors and their s3fs processes stay.
 * It keeps only what the supervisors need as root: CAP_SYS_ADMIN (the FUSE mount, the namespaces and
 * the sandbox's mounts), CAP_SETUID, CAP_SETGID (becoming s3fs's uid) and CAP_SETPCAP (emptying the
 * bounding set). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "confine.h"
#include "mountd.h"
#include "util.h"

#define SPAWN_ARGS_MAX 8192
#define SPAWN_ARGC_MAX 64
#define SPAWN_REPORT_TIMEOUT_S 10

/* One request: the sandbox, then "ARG\0ARG\0...". */
struct spawn_request {
        struct s3fs_jail jail;
        char args[SPAWN_ARGS_MAX];
};

struct spawner_config {
        int sock, signal_fd;
        const char *program, *fusermount;
};

/* ---- the spawner's side --------------------------------------------------------------------------- */

/* argv from "ARG\0ARG\0...": the first must be the program the spawner was started for. */
static int split_args(char *buf, size_t len, const char *program, char **argv) {
        size_t argc = 0;

        for (char *p = buf; p < buf + len && argc + 1 < SPAWN_ARGC_MAX; p += strlen(p) + 1)
                argv[argc++] = p;
        argv[argc] = NULL;
        return argc > 0 && streq(argv[0], program) ? 0 : -EPERM;
}

static void answer(int sock, int32_t result, int fd) {
        (void) send_with_fd(sock, &result, sizeof(result), fd);
}

static int check_jail(const struct s3fs_jail *j) {
        if (j->uid == 0 || j->gid == 0 || !memchr(j->mountpoint, '\0', sizeof(j->mountpoint)) ||
            !memchr(j->mounts_dir, '\0', sizeof(j->mounts_dir)) || !memchr(j->keys_dir, '\0', sizeof(j->keys_dir)) ||
            !memchr(j->key_file, '\0', sizeof(j->key_file)) || !memchr(j->name, '\0', sizeof(j->name)) ||
            j->policy.n_vetted > NETPOLICY_VETTED_MAX || j->policy.n_resolvers != 0)
                return -EINVAL;
        return 0;
}

/* A supervisor for one s3fs; its report: s3fs's pid and a pidfd of it, or -errno. */
static int32_t start_supervisor(const struct spawner_config *c, const struct s3fs_jail *j, char *const argv[],
                                int log_fd, int *ret_pidfd) {
        struct timeval tv = { .tv_sec = SPAWN_REPORT_TIMEOUT_S };
        char reply[sizeof(int32_t) + 1];
        int32_t result = -EPROTO;
        int pair[2], r;
        size_t n = 0;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        if ((pid = fork()) < 0) {
                close(pair[0]);
                close(pair[1]);
                return -errno;
        }
        if (pid == 0) {
                close(c->sock);
                close(c->signal_fd);
                close(pair[0]);
                _exit(supervisor_main(j, argv, c->fusermount, log_fd, pair[1]));
        }
        close(pair[1]);
        setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        r = mountd_receive(pair[0], reply, sizeof(reply), &n, ret_pidfd);
        close(pair[0]);
        if (r < 0)
                return r == -ECONNRESET ? -ECHILD : r;
        if (n == sizeof(result))
                memcpy(&result, reply, sizeof(result));
        if (result >= 0 && *ret_pidfd < 0)
                result = -EPROTO;
        return result;
}

/* One request: the sandbox, argv and the log fd in, s3fs's pid and a pidfd of it out (or -errno). */
static bool serve_one(const struct spawner_config *c) {
        _cleanup_free_ struct spawn_request *req = calloc(1, sizeof(*req) + 1);
        _cleanup_close_ int log_fd = -1, pidfd = -1;
        char *argv[SPAWN_ARGC_MAX];
        size_t len = 0;
        int32_t result;
        int r = req ? mountd_receive(c->sock, (char *) req, sizeof(*req) + 1, &len, &log_fd) : -ENOMEM;

        if (r == -ECONNRESET)
                return false;
        if (r >= 0 && (log_fd < 0 || len <= sizeof(req->jail)))
                r = -EINVAL;
        if (r < 0 || (r = check_jail(&req->jail)) < 0 ||
            (r = split_args(req->args, len - sizeof(req->jail), c->program, argv)) < 0) {
                answer(c->sock, r, -1);
                return true;
        }
        result = start_supervisor(c, &req->jail, argv, log_fd, &pidfd);
        answer(c->sock, result, result < 0 ? -1 : pidfd);
        return true;
}

static void reap_children(void) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

/* What the supervisors need as root (see the top). */
static const cap_value_t supervisor_caps[] = { CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SETPCAP };

static void spawner_main(int sock, const char *program, const char *fusermount) {
        struct spawner_config c = { .sock = sock, .program = program, .fusermount = fusermount };
        struct nb_error err = {};
        sigset_t chld;
        struct pollfd fds[2];

        prctl(PR_SET_NAME, "nbmountd-spawn", 0, 0, 0);
        if (confine_capabilities(supervisor_caps, ARRAY_SIZE(supervisor_caps), &err) < 0 ||
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                mountd_log(LOG_ERR, "the spawner cannot drop capabilities: %s", err.msg[0] ? err.msg : strerror(errno));
                _exit(1);
        }
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        c.signal_fd = signalfd(-1, &chld, SFD_CLOEXEC);
        fds[0] = (struct pollfd) { .fd = sock, .events = POLLIN };
        fds[1] = (struct pollfd) { .fd = c.signal_fd, .events = POLLIN };
        for (;;) {
                if (poll(fds, 2, -1) < 0 && errno != EINTR)
                        break;
                if (fds[1].revents & POLLIN) {
                        struct signalfd_siginfo info;

                        (void) !read(fds[1].fd, &info, sizeof(info));
                        reap_children();
                }
                if ((fds[0].revents & (POLLIN | POLLHUP)) && !serve_one(&c))
                        break;
        }
        reap_children();
        _exit(0);
}

/* ---- nbmountd's side -------------------------------------------------------------------------------- */

int spawner_start(struct spawner *ret, const char *program, const char *fusermount, struct nb_error *err) {
        int pair[2];
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return nb_fail(err, errno, "cannot make the spawner's socket: %s", strerror(errno));
        pid = fork();
        if (pid < 0) {
                close(pair[0]);
                close(pair[1]);
                return nb_fail(err, errno, "cannot start the spawner: %s", strerror(errno));
        }
        if (pid == 0) {
                /* nothing of nbmountd's but the socket: it is fd 3 from here on */
                if (dup2(pair[1], 3) < 0)
                        _exit(1);
                close_range(4, ~0U, 0);
                spawner_main(3, program, fusermount);
        }
        close(pair[1]);
        *ret = (struct spawner) { .sock = pair[0], .pid = pid };
        pthread_mutex_init(&ret->lock, NULL);
        return 0;
}

static int pack_args(char *const argv[], char *buf, size_t size, size_t *ret_len) {
        size_t len = 0;

        for (size_t i = 0; argv[i]; i++) {
                size_t n = strlen(argv[i]) + 1;

                if (len + n > size)
                        return -E2BIG;
                memcpy(buf + len, argv[i], n);
                len += n;
        }
        *ret_len = len;
        return 0;
}

/* One request at a time: a reply belongs to the request before it. */
static int exchange(struct spawner *s, const void *request, size_t len, int log_fd, int32_t *ret, int *ret_pidfd) {
        char reply[sizeof(int32_t) + 1];
        size_t n = 0;
        int r;

        if ((r = send_with_fd(s->sock, request, len, log_fd)) < 0 ||
            (r = mountd_receive(s->sock, reply, sizeof(reply), &n, ret_pidfd)) < 0)
                return r;
        if (n != sizeof(int32_t))
                return -EPROTO;
        memcpy(ret, reply, sizeof(int32_t));
        return 0;
}

/* The spawner sees its socket close and exits; its s3fs processes go on. */
void spawner_stop(struct spawner *s) {
        if (s->sock < 0)
                return;
        close(s->sock);
        s->sock = -1;
        waitpid(s->pid, NULL, 0);
}

int spawner_run(struct spawner *s, const struct s3fs_jail *jail, char *const argv[], int log_fd, pid_t *ret_pid,
                int *ret_pidfd) {
        struct spawn_request req = { .jail = *jail };
        int32_t result = 0;
        size_t len = 0;
        int r;

        if ((r = pack_args(argv, req.args, sizeof(req.args), &len)) < 0)
                return r;
        pthread_mutex_lock(&s->lock);
        r = exchange(s, &req, sizeof(req.jail) + len, log_fd, &result, ret_pidfd);
        pthread_mutex_unlock(&s->lock);
        if (r < 0)
                return r;
        if (result < 0) {
                closep(ret_pidfd);
                return result;
        }
        if (*ret_pidfd < 0)
                return -EPROTO;
        *ret_pid = (pid_t) result;
        return 0;
}
