/* SPDX-License-Identifier: Apache-2.0 */
#include "checks.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/quota.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef SYS_file_setattr
#define SYS_file_setattr 469 /* Linux 6.17, the same number on every architecture's unified table */
#endif

int check_root_only(int fd, const char *path, const char *what, struct nb_error *err) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return nb_fail(err, errno, "%s: cannot stat: %s", path, strerror(errno));
        if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
                return nb_fail(err, EPERM,
                               "%s: %s must be owned by root and writable by no one else (it is owned by uid %u, mode %04o); the operator must run chown root: %s && chmod go-w %s",
                               path, what, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), path, path);
        return 0;
}

bool secret_stat_trusted(const struct stat *st) {
        mode_t mode = st->st_mode & 07777;

        return S_ISREG(st->st_mode) && st->st_uid == 0 && (mode == 0600 || mode == 0400);
}

int check_secret_file(int fd, const char *path, struct nb_error *err) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return nb_fail(err, errno, "%s: cannot stat: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return nb_fail(err, EPERM, "%s: a secret must be a regular file; put the key in a file there", path);
        if (!secret_stat_trusted(&st))
                return nb_fail(err, EPERM,
                               "%s: a secret must be owned by root with mode 0600 or 0400 (it is owned by uid %u, mode %04o); run chown root: %s && chmod 600 %s",
                               path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), path, path);
        return 0;
}

/* 0 when the call failed with anything but ENOSYS: the kernel knows it. */
static int known_unless_enosys(long r) {
        if (r >= 0)
                return 0;
        return errno == ENOSYS ? -ENOSYS : 0;
}

int kernel_probe_openat2(void) {
        _cleanup_close_ int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
        struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_BENEATH };

        if (root_fd < 0)
                return -errno;
        fd = (int) syscall(SYS_openat2, root_fd, ".", &how, sizeof(how));
        return fd < 0 ? -errno : 0;
}

int kernel_probe_open_tree(const char *empty_dir) {
        int fd = open_tree(AT_FDCWD, empty_dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

        if (fd < 0)
                return -errno;
        close(fd); /* the detached clone goes with its last fd */
        return 0;
}

int kernel_probe_move_mount(void) {
        /* may_mount() answers first (EPERM without CAP_SYS_ADMIN), then the fds (EBADF): both mean "here" */
        return known_unless_enosys(move_mount(-1, "", -1, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
}

int kernel_probe_mount_setattr(void) {
        struct mount_attr attr = {};

        return known_unless_enosys(mount_setattr(-1, "", AT_EMPTY_PATH, &attr, sizeof(attr)));
}

int kernel_probe_quotactl_fd(void) {
        int command = (int) (((unsigned) Q_GETINFO << SUBCMDSHIFT) | (PRJQUOTA & SUBCMDMASK)); /* QCMD */
        struct if_dqinfo info;

        return known_unless_enosys(syscall(SYS_quotactl_fd, -1, command, 0, &info));
}

int kernel_probe_file_setattr(void) {
        return known_unless_enosys(syscall(SYS_file_setattr, -1, NULL, NULL, 0, 0));
}
