/* SPDX-License-Identifier: Apache-2.0 */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define ID_MAP_MAX_BYTES 16384 /* 340 lines of "%10u %10u %10u" (the kernel's limit) fit */

static int open_procfs(struct nb_error *err) {
        _cleanup_close_ int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct statfs sfs;

        if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
                return nb_fail(err, EPERM, "/proc is not procfs; nbmount needs the host's /proc");
        return TAKE_FD(fd);
}

static bool same_file(int a_fd, int b_fd) {
        struct stat a, b;

        return fstat(a_fd, &a) == 0 && fstat(b_fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The namespace `name` ("mnt", "user") of the process folder, and whether it is the hook's own. */
static int open_namespace(int proc_fd, int proc_pid_fd, const char *name, bool *ret_ours) {
        char relative[32];
        _cleanup_close_ int own_fd = -1;
        int fd;

        snprintf(relative, sizeof(relative), "ns/%s", name);
        if ((fd = openat(proc_pid_fd, relative, O_RDONLY | O_CLOEXEC)) < 0)
                return -errno;
        snprintf(relative, sizeof(relative), "self/ns/%s", name);
        if ((own_fd = openat(proc_fd, relative, O_RDONLY | O_CLOEXEC)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        *ret_ours = same_file(fd, own_fd);
        return fd;
}

/* A pidfd on a process not yet reaped (alive or a zombie) accepts signal 0. */
static bool still_there(int pidfd) {
        return pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0U) == 0;
}

static int open_handles(int proc_fd, pid_t pid, struct container_process *c, struct nb_error *err) {
        _cleanup_close_ int user_ns_fd = -1;
        char relative[32];
        bool shares_mount_namespace = false, shares_user_namespace = false;

        c->pidfd = (int) syscall(SYS_pidfd_open, pid, 0U);
        if (c->pidfd < 0 && errno != ENOSYS)
                return nb_fail(err, errno, "process %d of the OCI state: %s; is the container still there?", (int) pid,
                               strerror(errno));
        snprintf(relative, sizeof(relative), "%d", (int) pid);
        c->proc_pid_fd = openat(proc_fd, relative, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c->proc_pid_fd < 0)
                return nb_fail(err, errno, "/proc/%d: %s; is the container's process %d still there?", (int) pid,
                               strerror(errno), (int) pid);
        if ((c->mnt_ns_fd = open_namespace(proc_fd, c->proc_pid_fd, "mnt", &shares_mount_namespace)) < 0)
                return nb_fail(err, c->mnt_ns_fd, "/proc/%d/ns/mnt: %s", (int) pid, strerror(-c->mnt_ns_fd));
        if ((user_ns_fd = open_namespace(proc_fd, c->proc_pid_fd, "user", &shares_user_namespace)) < 0)
                return nb_fail(err, user_ns_fd, "/proc/%d/ns/user: %s", (int) pid, strerror(-user_ns_fd));
        if (!still_there(c->pidfd))
                return nb_fail(err, ESRCH, "process %d ended while nbmount opened it; the container is gone", (int) pid);
        if (shares_mount_namespace)
                return nb_fail(err, EPERM, "process %d shares nbmount's mount namespace; call nbmount as a createRuntime hook",
                               (int) pid);
        c->own_user_namespace = !shares_user_namespace;
        return 0;
}

int container_process_open(pid_t pid, struct container_process *ret, struct nb_error *err) {
        struct container_process c = { .pid = pid, .pidfd = -1, .proc_pid_fd = -1, .mnt_ns_fd = -1 };
        _cleanup_close_ int proc_fd = open_procfs(err);
        int r;

        if (proc_fd < 0)
                return proc_fd;
        if ((r = open_handles(proc_fd, pid, &c, err)) < 0) {
                container_process_close(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void container_process_close(struct container_process *c) {
        closep(&c->pidfd);
        closep(&c->proc_pid_fd);
        closep(&c->mnt_ns_fd);
        c->pidfd = c->proc_pid_fd = c->mnt_ns_fd = -1;
}

/* One "INSIDE OUTSIDE COUNT" line of a uid_map; *ret_next is past it. */
static bool parse_map_line(const char *line, uint64_t fields[3], const char **ret_next) {
        char *end = NULL;

        for (size_t i = 0; i < 3; i++) {
                errno = 0;
                fields[i] = strtoull(line, &end, 10);
                if (errno || end == line)
                        return false;
                line = end;
        }
        *ret_next = strchr(line, '\n');
        return true;
}

/* The outside id of `id` through the map's lines, or -ENOENT. */
static int64_t map_id(const char *text, uint32_t id) {
        const char *line = text, *next = NULL;
        uint64_t f[3] = { 0, 0, 0 };

        while (line && *line && parse_map_line(line, f, &next)) {
                if (id >= f[0] && id - f[0] < f[2])
                        return (int64_t) (f[1] + (id - f[0]));
                line = next ? next + 1 : NULL;
        }
        return -ENOENT;
}

static int read_map(const struct container_process *c, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(c->proc_pid_fd, name, O_RDONLY | O_CLOEXEC);
        size_t len = 0;
        ssize_t n;

        if (fd < 0)
                return -errno;
        while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return 0;
}

static int host_id(const struct container_process *c, const char *map, uint32_t id, uint32_t *ret,
                   struct nb_error *err) {
        char text[ID_MAP_MAX_BYTES] = "";
        int64_t host;
        int r;

        if ((r = read_map(c, map, text, sizeof(text))) < 0)
                return nb_fail(err, r, "/proc/%d/%s: %s; is the container still there?", (int) c->pid, map, strerror(-r));
        if ((host = map_id(text, id)) < 0 || host >= UINT32_MAX)
                return nb_fail(err, EPERM, "the container's %s %" PRIu32 " has no id on the host (/proc/%d/%s); map it in its user namespace",
                               streq(map, "uid_map") ? "uid" : "gid", id, (int) c->pid, map);
        *ret = (uint32_t) host;
        return 0;
}

int container_host_ids(const struct container_process *c, uid_t uid, gid_t gid, uid_t *ret_uid, gid_t *ret_gid,
                       struct nb_error *err) {
        uint32_t host_uid = 0, host_gid = 0;
        int r;

        if ((r = host_id(c, "uid_map", uid, &host_uid, err)) < 0 || (r = host_id(c, "gid_map", gid, &host_gid, err)) < 0)
                return r;
        *ret_uid = host_uid;
        *ret_gid = host_gid;
        return 0;
}
