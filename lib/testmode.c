/* SPDX-License-Identifier: Apache-2.0 */
/* Test mode (testmode.h): compiled to nothing unless -DNBMOUNT_TEST_MODE. */
#include "testmode.h"

#ifdef NBMOUNT_TEST_MODE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define SANDBOX_MARKER "# nbmount-test-sandbox: "
#define HARDEN_VARIABLE "NBMOUNT_TEST_HARDEN="

static char sandbox_action[32];
static char harden_action[32];

/* "Uid: 0 0 0 0 Gid: ... CapEff: ... NoNewPrivs: 1 Seccomp: 2" from the text of /proc/self/status. */
static void status_summary(const char *status, char *buf, size_t size) {
        static const char *const keys[] = { "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
                                            "CapAmb:", "NoNewPrivs:", "Seccomp:", NULL };
        size_t used = 0;

        buf[0] = '\0';
        for (const char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                for (size_t k = 0; keys[k]; k++)
                        if (strncmp(line, keys[k], strlen(keys[k])) == 0 && used < size) {
                                size_t n = strcspn(line, "\n");

                                used += (size_t) snprintf(buf + used, size - used, "%s%.*s", used ? " " : "", (int) n, line);
                        }
        for (char *p = buf; *p; p++)
                if (*p == '\t')
                        *p = ' ';
}

static int read_fd_text(int fd, char *buf, size_t size) {
        size_t used = 0;
        ssize_t n;

        while (used + 1 < size && (n = read(fd, buf + used, size - 1 - used)) > 0)
                used += (size_t) n;
        buf[used] = '\0';
        return (int) used;
}

void testmode_sandbox_prepare(int input_fd) {
        char first[80] = "";
        ssize_t n = pread(input_fd, first, sizeof(first) - 1, 0);
        int fds[2];

        if (n <= 0 || strncmp(first, SANDBOX_MARKER, strlen(SANDBOX_MARKER)) != 0)
                return;
        first[n] = '\0';
        snprintf(sandbox_action, sizeof(sandbox_action), "%.*s", (int) strcspn(first + strlen(SANDBOX_MARKER), "\n"),
                 first + strlen(SANDBOX_MARKER));
        if (streq(sandbox_action, "status")) { /* read inside the sandbox, so it shows the sandbox */
                int status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

                if (status_fd >= 0 && status_fd != input_fd) {
                        dup2(status_fd, input_fd);
                        close(status_fd);
                }
        } else if (streq(sandbox_action, "hang") && pipe2(fds, O_CLOEXEC) == 0) {
                dup2(fds[0], input_fd); /* nobody ever writes to fds[1], which stays open */
                close(fds[0]);
        }
}

/* Allocates and touches 1 MiB blocks, each holding the previous one, until malloc fails. */
struct hog_block {
        struct hog_block *previous;
        char bytes[(1 << 20) - sizeof(void *)];
};

static int hog_memory(struct nb_error *err) {
        static struct hog_block *volatile last; /* keeps the compiler from eliding the allocations */
        size_t total = 0;

        for (;;) {
                struct hog_block *block = malloc(sizeof(*block));

                if (!block)
                        return nb_fail(err, ENOMEM, "test mode: out of memory after %zu MiB", total >> 20);
                memset(block->bytes, 1, sizeof(block->bytes));
                block->previous = last;
                last = block;
                total += sizeof(*block);
        }
}

int testmode_sandbox_act(int input_fd, struct nb_error *err) {
        char status[4096], summary[NB_ERROR_MAX - 64];

        if (streq(sandbox_action, "open"))
                return open("/etc/hostname", O_RDONLY | O_CLOEXEC) < 0 ? nb_fail(err, errno, "test mode: open: %s", strerror(errno))
                                                                       : nb_fail(err, EPERM, "test mode: open ALLOWED");
        if (streq(sandbox_action, "socket"))
                return socket(AF_INET, SOCK_STREAM, 0) < 0 ? nb_fail(err, errno, "test mode: socket: %s", strerror(errno))
                                                           : nb_fail(err, EPERM, "test mode: socket ALLOWED");
        if (streq(sandbox_action, "execve")) {
                execl("/bin/true", "true", (char *) NULL);
                return nb_fail(err, errno, "test mode: execve: %s", strerror(errno));
        }
        if (streq(sandbox_action, "status")) {
                read_fd_text(input_fd, status, sizeof(status));
                status_summary(status, summary, sizeof(summary));
                return nb_fail(err, EPERM, "test mode: sandbox status: %s", summary);
        }
        if (streq(sandbox_action, "memory"))
                return hog_memory(err);
        if (streq(sandbox_action, "hang")) { /* a pipe nobody writes to is in place of the input */
                ssize_t n = read(input_fd, status, 1);

                return nb_fail(err, EIO, "test mode: read on an empty pipe came back (%zd)", n);
        }
        if (streq(sandbox_action, "cpu"))
                for (volatile unsigned long spin = 0;; spin++)
                        ;
        return 0;
}

void testmode_sandbox_answer(struct settings *settings) {
        if (streq(sandbox_action, "bad-answer") && settings->n_mounts > 0)
                memcpy(settings->mounts[0].name, "../etc", sizeof("../etc"));
}

/* NBMOUNT_TEST_HARDEN=ACTION in the environment the hook was started with. */
void testmode_harden_prepare(void) {
        char environ_text[16384];
        int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC), n;

        if (fd < 0)
                return;
        n = read_fd_text(fd, environ_text, sizeof(environ_text));
        close(fd);
        for (int i = 0; i < n; i += (int) strlen(environ_text + i) + 1)
                if (strncmp(environ_text + i, HARDEN_VARIABLE, strlen(HARDEN_VARIABLE)) == 0)
                        snprintf(harden_action, sizeof(harden_action), "%s", environ_text + i + strlen(HARDEN_VARIABLE));
}

bool testmode_harden_without(int cap) {
        cap_value_t named;

        return strncmp(harden_action, "without:", 8) == 0 && cap_from_name(harden_action + 8, &named) == 0 &&
               named == cap;
}

void testmode_walk_step(void) {
        static unsigned long steps;

        if (strncmp(harden_action, "walk-die:", 9) == 0 && ++steps >= strtoul(harden_action + 9, NULL, 10))
                _exit(3);
}

static int try_socket(const char *name, int family, int type, struct nb_error *err) {
        int fd = socket(family, type, 0);

        if (fd < 0)
                return nb_fail(err, errno, "test mode: socket(%s): %s", name, strerror(errno));
        close(fd);
        return nb_fail(err, EPERM, "test mode: socket(%s): allowed", name);
}

/* mount(2) on a path that does not exist: ENOENT where the filter lets the call through, EPERM where
 * it does not (the hook holds CAP_SYS_ADMIN, so the kernel itself would not say EPERM). */
static int try_mounts(struct nb_error *err) {
        static const struct {
                const char *name, *fstype;
                unsigned long flags;
        } tries[] = {
                { "tmpfs", "tmpfs", 0 },
                { "MS_MOVE", NULL, MS_MOVE },
                { "MS_BIND|MS_REC", NULL, MS_BIND | MS_REC },
                { "MS_SHARED", NULL, MS_SHARED },
                { "MS_REMOUNT|MS_BIND|MS_RDONLY", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY },
                { "MS_BIND", NULL, MS_BIND },
                { "MS_PRIVATE", NULL, MS_PRIVATE },
                { "MS_REMOUNT|MS_BIND|MS_NOSUID|MS_NODEV", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV },
        };
        char text[512] = "";
        size_t used = 0;

        for (size_t i = 0; i < ARRAY_SIZE(tries) && used < sizeof(text); i++) {
                int r = mount("none", "/nonexistent/nbmount-test", tries[i].fstype, tries[i].flags, NULL);

                used += (size_t) snprintf(text + used, sizeof(text) - used, "%s%s %s", i ? ", " : "", tries[i].name,
                                          r == 0 ? "mounted" : strerrorname_np(errno) ?: "?");
        }
        return nb_fail(err, EPERM, "test mode: mount: %s", text);
}

int testmode_harden_act(struct nb_error *err) {
        char status[4096], summary[NB_ERROR_MAX - 64];
        int fd;

        if (streq(harden_action, "execve")) {
                execl("/bin/true", "true", (char *) NULL);
                return nb_fail(err, errno, "test mode: execve(/bin/true): %s", strerror(errno));
        }
        if (streq(harden_action, "socket-inet"))
                return try_socket("AF_INET", AF_INET, SOCK_STREAM, err);
        if (streq(harden_action, "socket-inet6"))
                return try_socket("AF_INET6", AF_INET6, SOCK_DGRAM, err);
        if (streq(harden_action, "socket-netlink"))
                return try_socket("AF_NETLINK", AF_NETLINK, SOCK_RAW, err);
        if (streq(harden_action, "mount"))
                return try_mounts(err);
        if (streq(harden_action, "socket-unix"))
                return try_socket("AF_UNIX", AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, err);
        if (streq(harden_action, "status")) {
                if ((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) < 0)
                        return nb_fail(err, errno, "test mode: /proc/self/status: %s", strerror(errno));
                read_fd_text(fd, status, sizeof(status));
                close(fd);
                status_summary(status, summary, sizeof(summary));
                return nb_fail(err, EPERM, "test mode: hook status: %s", summary);
        }
        return 0;
}

#endif
