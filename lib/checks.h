/* SPDX-License-Identifier: Apache-2.0 */
/* The rules that make a file trusted, and probes of the kernel features the hook needs: shared by
 * the code that relies on them (the hook, nbmountd) and by `nbmount check`, which reports them. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "error.h"

/* Grants (and the hook's binary, and its hooks.d file) are trusted because only root can write
 * them: 0 when fd is root's and writable by neither group nor others; else -EPERM with err naming
 * path, `what` ("the grants folder", "a grants file"), the owner and mode, and the chown/chmod to run. */
int check_root_only(int fd, const char *path, const char *what, struct nb_error *err);

/* A secret is trusted when it is a regular file of root's with mode 0600 or 0400. */
bool secret_stat_trusted(const struct stat *st);

/* The same from fd: 0, or -EPERM with err naming path, the owner and mode, and the chown/chmod. */
int check_secret_file(int fd, const char *path, struct nb_error *err);

/* Kernel probes: 0 when the system call exists, -ENOSYS when it does not, another -errno when the
 * probe could not tell (-EPERM: it needs CAP_SYS_ADMIN). Each is harmless: invalid fds, or a clone
 * of an empty folder (open_tree) that is dropped at once. */
int kernel_probe_openat2(void);
int kernel_probe_open_tree(const char *empty_dir);
int kernel_probe_move_mount(void);
int kernel_probe_mount_setattr(void);
int kernel_probe_quotactl_fd(void);
int kernel_probe_file_setattr(void); /* Linux 6.17: sets a project id like FS_IOC_FSSETXATTR */
