/* The only process of nbmountd that may run a program: forked at start-up, before nbmountd drops its
 * capabilities and installs its seccomp allowlist, it runs the configured s3fs (and nothing else) on
 * request and answers with a pidfd of it. It reaps its children and exits when nbmountd goes, leaving
 * the s3fs processes to serve their mounts. */
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

/* ---- the spawner's side --------------------------------------------------------------------------- */

/* nbmountd blocks and ignores signals that s3fs must get: SIGTERM stops it, SIGPIPE is its business. */
static int reset_signals(void) {
        sigset_t none;

        sigemptyset(&none);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        return sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Only async-signal-safe calls between fork and exec. Its own session: a signal to nbmountd's process
 * group never reaches s3fs; a bare environment. */
static pid_t run_program(char *const argv[], int log_fd) {
        static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL };
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        pid_t pid;

        if (null_fd < 0)
                return -errno;
        pid = fork();
        if (pid != 0) {
                close(null_fd);
                return pid < 0 ? -errno : pid;
        }
        if (reset_signals() < 0 || setsid() < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
            dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0)
                _exit(126);
        close_range(3, ~0U, 0);
        execve(argv[0], argv, envp);
        _exit(127);
}

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

/* One request: argv and the log fd in, the pid and a pidfd of it out (or -errno). */
static bool serve_one(int sock, const char *program) {
        char buf[SPAWN_ARGS_MAX + 1], *argv[SPAWN_ARGC_MAX];
        _cleanup_close_ int log_fd = -1, pidfd = -1;
        size_t len = 0;
        pid_t pid;
        int r = mountd_receive(sock, buf, sizeof(buf), &len, &log_fd);

        if (r == -ECONNRESET)
                return false;
        if (r < 0 || log_fd < 0 || (r = split_args(buf, len, program, argv)) < 0) {
                answer(sock, r < 0 ? r : -EINVAL, -1);
                return true;
        }
        if ((pid = run_program(argv, log_fd)) < 0) {
                answer(sock, pid, -1);
                return true;
        }
        pidfd = pidfd_open(pid, 0); /* before the child can be reaped: this pid is still it */
        answer(sock, pidfd < 0 ? -errno : (int32_t) pid, pidfd);
        return true;
}

static void reap_children(void) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

/* What s3fs needs as root: mount /dev/fuse (CAP_SYS_ADMIN) and use files it did not create. */
static const cap_value_t s3fs_caps[] = { CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_CHOWN,
                                         CAP_FOWNER, CAP_FSETID, CAP_KILL };

static void spawner_main(int sock, const char *program) {
        struct nb_error err = {};
        sigset_t chld;
        struct pollfd fds[2];

        prctl(PR_SET_NAME, "nbmountd-spawn", 0, 0, 0);
        if (confine_capabilities(s3fs_caps, ARRAY_SIZE(s3fs_caps), &err) < 0 ||
            prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                mountd_log(LOG_ERR, "the spawner cannot drop capabilities: %s", err.msg[0] ? err.msg : strerror(errno));
                _exit(1);
        }
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        fds[0] = (struct pollfd) { .fd = sock, .events = POLLIN };
        fds[1] = (struct pollfd) { .fd = signalfd(-1, &chld, SFD_CLOEXEC), .events = POLLIN };
        for (;;) {
                if (poll(fds, 2, -1) < 0 && errno != EINTR)
                        break;
                if (fds[1].revents & POLLIN) {
                        struct signalfd_siginfo info;

                        (void) !read(fds[1].fd, &info, sizeof(info));
                        reap_children();
                }
                if ((fds[0].revents & (POLLIN | POLLHUP)) && !serve_one(sock, program))
                        break;
        }
        reap_children();
        _exit(0);
}

/* ---- nbmountd's side -------------------------------------------------------------------------------- */

int spawner_start(struct spawner *ret, const char *program, struct nb_error *err) {
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
                spawner_main(3, program);
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
static int exchange(struct spawner *s, const char *args, size_t len, int log_fd, int32_t *ret, int *ret_pidfd) {
        char reply[sizeof(int32_t) + 1];
        size_t n = 0;
        int r;

        if ((r = send_with_fd(s->sock, args, len, log_fd)) < 0 ||
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

int spawner_run(struct spawner *s, char *const argv[], int log_fd, pid_t *ret_pid, int *ret_pidfd) {
        char args[SPAWN_ARGS_MAX];
        int32_t result = 0;
        size_t len = 0;
        int r;

        if ((r = pack_args(argv, args, sizeof(args), &len)) < 0)
                return r;
        pthread_mutex_lock(&s->lock);
        r = exchange(s, args, len, log_fd, &result, ret_pidfd);
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
