/* SPDX-License-Identifier: Apache-2.0 */
/* Is a shared mount still in place? Two ways, for two costs (issue 11, item 5):
 * - per request, through its mount point: statx(2) without asking the file system (AT_STATX_DONT_SYNC,
 *   so s3fs is never waited for) says whether a mount's root is there and which mount it is; the id
 *   must be the one recorded when the mount became ready. A few microseconds, whatever the table holds.
 * - per sweep, listing and adoption: one parse of /proc/self/mountinfo into a sorted set of the
 *   fuse.s3fs mounts under RUN/mounts, then a binary search per shared mount. Parsing mountinfo costs
 *   in proportion to the node's mounts, so it is never done per shared mount, nor under the lock. */
#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mountd.h"
#include "util.h"

/* The id of the mount whose root is at path: -ENOENT when none is (a folder, or nothing), -ENOTSUP on a
 * kernel whose statx cannot tell (before 5.8). */
static int mount_id_at(const char *path, uint64_t *ret_id) {
        struct statx stx;

        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0)
                return -errno;
        if (!(stx.stx_mask & STATX_MNT_ID) || !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
                return -ENOTSUP;
        if (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                return -ENOENT;
        *ret_id = stx.stx_mnt_id;
        return 0;
}

int mount_id_of(const struct mountd *d, const struct shared_mount *m, uint64_t *ret_id) {
        _cleanup_(mount_set_free) struct mount_set set = {};
        uint64_t id;
        int r = mount_id_at(m->mountpoint, ret_id);

        if (r != -ENOTSUP)
                return r;
        if ((r = mount_set_load(d->paths.mounts_dir, &set)) < 0)
                return r;
        if (!(id = mount_set_find(&set, m->name, 0)))
                return -ENOENT;
        *ret_id = id;
        return 0;
}

/* A mount is never taken down on a doubt: an error other than "no mount there" counts as in place
 * (the sweep judges again, from mountinfo). */
bool mount_in_place(const struct mountd *d, const struct shared_mount *m) {
        uint64_t id = 0;
        int r = mount_id_of(d, m, &id);

        if (r < 0)
                return r != -ENOENT && r != -ENOTDIR;
        return m->mnt_id == 0 || id == m->mnt_id;
}

static int compare_entries(const void *a, const void *b) {
        return strcmp(((const struct mount_entry *) a)->name, ((const struct mount_entry *) b)->name);
}

/* The name under mounts_dir of a fuse.s3fs mount, or NULL. */
static const char *shared_name(struct libmnt_fs *fs, const char *mounts_dir, size_t dir_len) {
        const char *target = mnt_fs_get_target(fs), *type = mnt_fs_get_fstype(fs);

        if (!target || !type || !streq(type, "fuse.s3fs") || strncmp(target, mounts_dir, dir_len) != 0 ||
            target[dir_len] != '/' || strlen(target + dir_len + 1) != MOUNTD_NAME_LEN)
                return NULL;
        return target + dir_len + 1;
}

static int add_entry(struct mount_set *set, size_t *cap, const char *name, uint64_t id) {
        if (set->n == *cap) {
                size_t more = *cap ? 2 * *cap : 64;
                struct mount_entry *entries = reallocarray(set->entries, more, sizeof(*entries));

                if (!entries)
                        return -ENOMEM;
                set->entries = entries;
                *cap = more;
        }
        memcpy(set->entries[set->n].name, name, MOUNTD_NAME_LEN + 1);
        set->entries[set->n++].id = id;
        return 0;
}

static int collect(struct libmnt_table *table, const char *mounts_dir, struct mount_set *set) {
        struct libmnt_iter *iter = mnt_new_iter(MNT_ITER_FORWARD);
        size_t dir_len = strlen(mounts_dir), cap = 0;
        struct libmnt_fs *fs;
        int r = 0;

        if (!iter)
                return -ENOMEM;
        while (r == 0 && mnt_table_next_fs(table, iter, &fs) == 0) {
                const char *name = shared_name(fs, mounts_dir, dir_len);

                if (name)
                        r = add_entry(set, &cap, name, (uint64_t) mnt_fs_get_id(fs));
        }
        mnt_free_iter(iter);
        return r;
}

int mount_set_load(const char *mounts_dir, struct mount_set *ret) {
        struct libmnt_table *table = mnt_new_table_from_file("/proc/self/mountinfo");
        struct mount_set set = {};
        int r;

        if (!table)
                return -EIO;
        r = collect(table, mounts_dir, &set);
        mnt_unref_table(table);
        if (r < 0) {
                mount_set_free(&set);
                return r;
        }
        if (set.n > 0)
                qsort(set.entries, set.n, sizeof(*set.entries), compare_entries);
        *ret = set;
        return 0;
}

/* The id of the fuse.s3fs mount at RUN/mounts/NAME, or 0. With expected_id (not 0), only that mount
 * counts (another may be stacked on the same mount point). */
uint64_t mount_set_find(const struct mount_set *set, const char *name, uint64_t expected_id) {
        struct mount_entry key = {};
        const struct mount_entry *found, *end = set->entries + set->n;

        snprintf(key.name, sizeof(key.name), "%s", name);
        if (set->n == 0 || !(found = bsearch(&key, set->entries, set->n, sizeof(key), compare_entries)))
                return 0;
        while (found > set->entries && streq(found[-1].name, name))
                found--;
        for (; found < end && streq(found->name, name); found++)
                if (expected_id == 0 || found->id == expected_id)
                        return found->id;
        return 0;
}

void mount_set_free(struct mount_set *set) {
        free(set->entries);
        *set = (struct mount_set) {};
}
