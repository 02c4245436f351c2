/* SPDX-License-Identifier: Apache-2.0 */
/* Opening files under a trusted root without following a symlink that someone else could have
 * planted: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), O_NOFOLLOW,
 * O_CLOEXEC; on kernels (and valgrind) without openat2, one O_NOFOLLOW component at a time. */
#pragma once

#include <linux/openat2.h>
#include <dirent.h>
#include <stdint.h>

#include "error.h"

/* Returns the fd or -errno: -ELOOP or -EXDEV for a symlink or an escape; extra_resolve may add
 * RESOLVE_NO_XDEV. */
int openat_beneath(int root_fd, const char *relative, int flags, uint64_t extra_resolve);

/* The same from the path of the root, with an error that names the file and what to do. */
int open_beneath(const char *root_dir, const char *relative, int flags, struct nb_error *err);

/* Resolves path as if root_fd were "/" (RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS): nothing resolves outside the root, and a symlink anywhere on the way
 * fails with -ELOOP. Returns the fd or -errno. */
int openat_in_root(int root_fd, const char *path, int flags);

/* A regular file for reading: opened O_PATH, checked, then reopened (O_NONBLOCK), so that a FIFO or
 * a device planted in its place is refused without ever being opened, and a file someone holds a
 * lease on is refused at once (-EWOULDBLOCK) instead of waiting for the lease to break. */
int open_regular_beneath(const char *root_dir, const char *relative, struct nb_error *err);

/* The file behind fd (often an O_PATH fd, already checked) opened again with flags, through
 * /proc/self/fd: the same inode, whatever happened to its path meanwhile. Returns the fd or -errno. */
int reopen_fd(int fd, int flags);

/* The folder fd listed from its start (a listing before may have read the same open file to its
 * end), through a fd of its own: fd stays open. NULL with errno set on failure. */
DIR *opendir_again(int fd);
