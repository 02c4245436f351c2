/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/self/mountinfo (proc(5)): the lookups quota.c makes, without libmount (whose libraries,
 * libblkid, libselinux and libpcre2 with it, cost every start of the hook more to load than the
 * lookups take). */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One line, decoded in place: the strings point into it. */
struct mountinfo_entry {
        uint64_t id;
        dev_t devno;
        const char *root;   /* the folder of the filesystem that is mounted, "/" for all of it */
        const char *target; /* where it is mounted */
        const char *fstype; /* e.g. xfs, nfs4 */
        const char *source; /* the mount source, e.g. /dev/vda */
};

/* A mount found, copied out. */
struct mountinfo_mount {
        uint64_t id;
        dev_t devno;
        bool whole; /* mounts the filesystem's root folder */
        char target[PATH_MAX];
        char source[PATH_MAX];
};

/* One line of mountinfo, without its newline, decoded in place (the \ooo escapes of the paths).
 * -EINVAL when it has not the fields proc(5) describes. */
int mountinfo_parse_line(char *line, struct mountinfo_entry *ret);

/* The mount whose id is id (statx's stx_mnt_id): 0, -ENOENT, or -errno. */
int mountinfo_by_id(uint64_t id, struct mountinfo_mount *ret);

/* The first mount of the filesystem devno from its root folder: 0, -ENOENT, or -errno. */
int mountinfo_whole_fs(dev_t devno, struct mountinfo_mount *ret);

/* The filesystem type of the mount that path (absolute, without symlinks) is on, by the mount table
 * alone: nothing on that filesystem is asked, so a network server that is away cannot hold it up.
 * 0, -ENOENT, or -errno. */
int mountinfo_fstype_of(const char *path, char *ret, size_t size);
