/* SPDX-License-Identifier: Apache-2.0 */
/* The sandbox an s3fs runs in. Its supervisor clones it into new PID, mount and IPC namespaces, as
 * root; here, before s3fs runs:
 *   - its root becomes a tmpfs of read-only bindings of /usr, /etc and a few device nodes, with a
 *     /proc of its own PID namespace (no other process is visible), a tmpfs of the jail's staging
 *     size on /tmp (s3fs's tmpdir: its temporary files cannot reach the host's disks), tmpfs
 *     mounts at RUN/mounts and RUN/keys (s3fs's own mount point and passwd file are made anew,
 *     its own), and nbmount-fusermount at /bin/fusermount, which libfuse runs to get the FUSE
 *     descriptor (jailroot.c);
 *   - it becomes the jail's uid and gid, with no capability (the bounding set empty), no supplementary
 *     group, no core dump (RLIMIT_CORE 0), and dies with its supervisor (PR_SET_PDEATHSIG);
 *   - it sets no_new_privs, installs s3fs's seccomp filter (jailfilter.c), gives the filter's
 *     listener to the supervisor and closes its own copy: s3fs never holds it;
 *   - it runs s3fs (through a descriptor opened first: its path may be gone from the new root)
 *     with a bare environment, the FUSE descriptor as fd 3.
 * Being PID 1 of its namespace, s3fs takes every process it starts with it when it exits. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mountd.h"
#include "util.h"

#define JAIL_FUSE_FD 3
#define JAIL_SYNC_FD 4
#define JAIL_PROGRAM_FD 5 /* s3fs, opened before its path may be hidden (/tmp is the sandbox's own) */
#define JAIL_KEY_MAX 4096

/* One line in s3fs's log, in the [ERR] form nbmountd reads the cause of a failure from. */
__attribute__((noreturn)) static void jail_fail(int log_fd, const char *what, int error) {
        char line[512];
        int n = snprintf(line, sizeof(line), "[ERR] nbmountd: cannot set up the sandbox of s3fs: %s: %s\n", what,
                         strerror(error));

        (void) !write(log_fd, line, (size_t) MIN(n, (int) sizeof(line) - 1));
        _exit(125);
}

int jail_become(uid_t uid, gid_t gid) {
        for (int cap = 0; cap < 64; cap++) /* EINVAL: past the kernel's last capability */
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                return -errno;
        /* a uid change from 0 clears the permitted, effective and ambient sets; make sure */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 || geteuid() != uid || getegid() != gid)
                return -EPERM;
        return 0;
}

/* As the jail's user: its mount point and its passwd file, in the tmpfs mounts it owns. */
static void make_own_files(const struct s3fs_jail *j, const struct jail_fds *fds) {
        char key[JAIL_KEY_MAX];
        ssize_t n = 0;
        int fd;

        if (mkdir(j->mountpoint, 0700) < 0)
                jail_fail(fds->log_fd, j->mountpoint, errno);
        if (fds->key_fd < 0)
                return;
        if ((n = read(fds->key_fd, key, sizeof(key))) <= 0)
                jail_fail(fds->log_fd, "reading the passwd file", n < 0 ? errno : EIO);
        fd = open(j->key_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
        if (fd < 0 || write(fd, key, (size_t) n) != n)
                jail_fail(fds->log_fd, j->key_file, errno);
        explicit_bzero(key, sizeof(key));
        close(fd);
}

static void reset_signals(void) {
        sigset_t none;

        sigemptyset(&none);
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

/* 0 /dev/null, 1 and 2 the log, 3 the FUSE descriptor, 4 the supervisor's socket, 5 the program;
 * nothing else. */
static void arrange_fds(const struct jail_fds *fds, int program_fd) {
        int from[] = { fds->null_fd, fds->log_fd, fds->log_fd, fds->fuse_fd, fds->sync_fd, program_fd }, high[6];

        for (size_t i = 0; i < ARRAY_SIZE(from); i++)
                if ((high[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 64)) < 0)
                        jail_fail(fds->log_fd, "arranging descriptors", errno);
        for (size_t i = 0; i < ARRAY_SIZE(from); i++)
                if (dup2(high[i], (int) i) < 0)
                        jail_fail(high[1], "arranging descriptors", errno);
        close_range(JAIL_PROGRAM_FD + 1, ~0U, 0);
        fcntl(JAIL_SYNC_FD, F_SETFD, FD_CLOEXEC);
        fcntl(JAIL_PROGRAM_FD, F_SETFD, FD_CLOEXEC);
}

/* The supervisor takes the listener with pidfd_getfd() (same uid, dumpable) and answers. */
static void hand_over_listener(void) {
        int32_t listener_fd;
        char ack;
        int r;

        if ((r = jailfilter_load(&listener_fd)) < 0)
                jail_fail(STDERR_FILENO, "installing the seccomp filter", -r);
        if (write(JAIL_SYNC_FD, &listener_fd, sizeof(listener_fd)) != sizeof(listener_fd) ||
            read(JAIL_SYNC_FD, &ack, 1) != 1)
                jail_fail(STDERR_FILENO, "handing the filter's listener to the supervisor", errno ? errno : EPIPE);
        close(listener_fd);
        close(JAIL_SYNC_FD);
}

void jail_child(const struct s3fs_jail *j, const struct jail_fds *fds, char *const argv[], const char *fusermount) {
        static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "NBMOUNT_FUSE_FD=3", NULL };
        const struct rlimit no_core = { 0, 0 };
        const char *what = "";
        int program_fd, r;

        reset_signals();
        if (setsid() < 0)
                jail_fail(fds->log_fd, "setsid", errno);
        if ((program_fd = open(argv[0], O_PATH | O_CLOEXEC)) < 0)
                jail_fail(fds->log_fd, argv[0], errno);
        if ((r = jailroot_enter(j, fusermount, &what)) < 0)
                jail_fail(fds->log_fd, what, -r);
        if (setrlimit(RLIMIT_CORE, &no_core) < 0)
                jail_fail(fds->log_fd, "RLIMIT_CORE", errno);
        if ((r = jail_become(j->uid, j->gid)) < 0)
                jail_fail(fds->log_fd, "becoming the sandbox's user", -r);
        /* the uid change cleared both; the supervisor needs this process dumpable (pidfd_getfd) */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
                jail_fail(fds->log_fd, "prctl", errno);
        make_own_files(j, fds);
        arrange_fds(fds, program_fd);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                jail_fail(STDERR_FILENO, "PR_SET_NO_NEW_PRIVS", errno);
        hand_over_listener();
        syscall(SYS_execveat, JAIL_PROGRAM_FD, "", argv, envp, AT_EMPTY_PATH);
        jail_fail(STDERR_FILENO, argv[0], errno);
}
