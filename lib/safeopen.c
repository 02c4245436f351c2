/* SPDX-License-Identifier: Apache-2.0 */
#include "safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define SYMLINK_REFUSED "%s/%s: a symlink is in the path; nbmount never follows symlinks here, replace it with a real file or folder"

static int sys_openat2(int dirfd, const char *path, struct open_how *how) {
        return (int) syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

static bool same_filesystem(int a_fd, int b_fd) {
        struct stat a, b;

        return fstat(a_fd, &a) == 0 && fstat(b_fd, &b) == 0 && a.st_dev == b.st_dev;
}

static bool is_symlink(int dir_fd, const char *name) {
        struct stat st;

        return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/* For kernels (and valgrind) without openat2(): one component at a time with O_NOFOLLOW. As safe
 * here because every component is a checked name, never "..", and a symlink fails with ELOOP. */
static int open_by_components(int root_fd, const char *relative, int flags, uint64_t extra_resolve) {
        _cleanup_free_ char *path = strdup(relative);
        _cleanup_close_ int dir_fd = -1;
        char *component, *next;
        int parent_fd = root_fd;

        if (!path)
                return -ENOMEM;
        for (component = path; (next = strchr(component, '/')); component = next + 1) {
                int fd;

                *next = '\0';
                if (streq(component, "..") || streq(component, "."))
                        return -EXDEV;
                fd = openat(parent_fd, component, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return errno == ENOTDIR && is_symlink(parent_fd, component) ? -ELOOP : -errno;
                closep(&dir_fd);
                parent_fd = dir_fd = fd;
        }
        if (streq(component, "..") || streq(component, "."))
                return -EXDEV;
        int fd = openat(parent_fd, component, flags);
        if (fd < 0)
                return -errno;
        if ((extra_resolve & RESOLVE_NO_XDEV) && !same_filesystem(root_fd, fd)) {
                close(fd);
                return -EXDEV;
        }
        return fd;
}

/* O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a symlink: tell it from a file, for the message. */
static bool final_is_symlink(int root_fd, const char *relative, const struct open_how *how) {
        struct open_how as_path = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = how->resolve };
        _cleanup_close_ int fd = sys_openat2(root_fd, relative, &as_path);
        struct stat st;

        return fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
}

int openat_beneath(int root_fd, const char *relative, int flags, uint64_t extra_resolve) {
        /* openat2() refuses O_NOCTTY with O_PATH */
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC | O_NOFOLLOW | (flags & O_PATH ? 0 : O_NOCTTY)),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | extra_resolve,
        };
        int fd = sys_openat2(root_fd, relative, &how);

        if (fd < 0 && errno == ENOSYS)
                return open_by_components(root_fd, relative, (int) how.flags, extra_resolve);
        if (fd < 0 && errno == ENOTDIR && (flags & O_DIRECTORY))
                return final_is_symlink(root_fd, relative, &how) ? -ELOOP : -ENOTDIR;
        return fd < 0 ? -errno : fd;
}

int open_beneath(const char *root_dir, const char *relative, int flags, struct nb_error *err) {
        _cleanup_close_ int root_fd = open(root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd;

        if (root_fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", root_dir, strerror(errno));
        fd = openat_beneath(root_fd, relative, flags, 0);
        if (fd >= 0)
                return fd;
        errno = -fd;
        if (errno == ELOOP || errno == EXDEV)
                return nb_fail(err, errno,
                               SYMLINK_REFUSED,
                               root_dir, relative);
        return nb_fail(err, errno, "%s/%s: cannot open: %s", root_dir, relative, strerror(errno));
}


int openat_in_root(int root_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = sys_openat2(root_fd, path, &how);

        if (fd < 0 && errno == ENOSYS)
                return openat_beneath(root_fd, path + (path[0] == '/'), flags, 0);
        return fd < 0 ? -errno : fd;
}

int open_regular_beneath(const char *root_dir, const char *relative, struct nb_error *err) {
        _cleanup_close_ int path_fd = open_beneath(root_dir, relative, O_PATH, err);
        struct stat st;
        int fd;

        if (path_fd < 0)
                return path_fd;
        if (fstat(path_fd, &st) < 0)
                return nb_fail(err, errno, "%s/%s: cannot stat: %s", root_dir, relative, strerror(errno));
        if (S_ISLNK(st.st_mode)) /* O_PATH | O_NOFOLLOW opens a final symlink itself */
                return nb_fail(err, ELOOP,
                               SYMLINK_REFUSED,
                               root_dir, relative);
        if (!S_ISREG(st.st_mode)) /* never open a FIFO or a device: opening one can block or act */
                return nb_fail(err, EINVAL, "%s/%s: is not a regular file; replace it with a file", root_dir, relative);
        /* A file's owner can hold a lease on it (fcntl F_SETLEASE): another open then waits until the
         * lease is broken, up to /proc/sys/fs/lease-break-time (45 s). O_NONBLOCK fails at once instead
         * (and reads of a regular file do not mind it). */
        fd = reopen_fd(path_fd, O_RDONLY | O_NONBLOCK);
        if (fd == -EWOULDBLOCK)
                return nb_fail(err, EWOULDBLOCK,
                               "%s/%s: another process holds a lease on it (fcntl F_SETLEASE: a running container of this notebook?), and nbmount does not wait for a lease to break; release it, or stop that process, and start again",
                               root_dir, relative);
        if (fd < 0)
                return nb_fail(err, fd, "%s/%s: cannot open: %s", root_dir, relative, strerror(-fd));
        return fd;
}

int reopen_fd(int fd, int flags) {
        char magic_link[32];
        int reopened;

        snprintf(magic_link, sizeof(magic_link), "/proc/self/fd/%d", fd);
        reopened = open(magic_link, flags | O_CLOEXEC | O_NOCTTY);
        return reopened < 0 ? -errno : reopened;
}

DIR *opendir_again(int fd) {
        int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *dir;

        if (dup_fd < 0 || !(dir = fdopendir(dup_fd))) {
                closep(&dup_fd);
                return NULL;
        }
        rewinddir(dir);
        return dir;
}
