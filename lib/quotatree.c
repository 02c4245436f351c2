/* SPDX-License-Identifier: Apache-2.0 */
#include "quotatree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "quota.h"
#include "safeopen.h"
#include "testmode.h"
#include "util.h"

#define WALK_MAX_DEPTH 256 /* two fds a level */

/* The walk's own id takes nothing new: 1 KiB and 1 file, which the folders moved into it (by the
 * hook, whose CAP_FOWNER and CAP_SYS_RESOURCE pass any limit) already exceed. */
#define WALK_ID_BYTES 1024ULL
#define WALK_ID_FILES 1ULL

/* One pass over a tree: folders get folder_id and PROJINHERIT before they are listed, regular
 * files (when `files`) get file_id. */
struct pass {
        uint32_t folder_id, file_id;
        bool files;
        bool count;       /* the first pass: count what it finds out of `project` */
        uint32_t project;
        dev_t dev;        /* the tree's filesystem and mount: nothing mounted inside is walked */
        uint64_t mnt_id;
        struct quota_walk *stats;
        char *failed_at;  /* the entry where the pass failed, for the message */
        size_t failed_size;
};

void quota_stamp_format(uint32_t id, char *buf, size_t size) {
        snprintf(buf, size, "v%u %u", QUOTA_STAMP_VERSION, id);
}

bool quota_stamp_valid(const char *value, size_t len, uint32_t id) {
        char expected[QUOTA_STAMP_MAX];

        quota_stamp_format(id, expected, sizeof(expected));
        return len == strlen(expected) && memcmp(value, expected, len) == 0;
}

static bool stamp_holds(int fd, uint32_t id) {
        char value[QUOTA_STAMP_MAX];
        ssize_t n = fgetxattr(fd, QUOTA_STAMP_XATTR, value, sizeof(value));

        return n > 0 && quota_stamp_valid(value, (size_t) n, id);
}

static int remove_stamp(int fd) {
        if (fremovexattr(fd, QUOTA_STAMP_XATTR) == 0 || errno == ENODATA || errno == EOPNOTSUPP)
                return 0;
        return -errno;
}

static bool folder_in_project(int fd, uint32_t id) {
        struct fsxattr fsx;

        return ioctl(fd, FS_IOC_FSGETXATTR, &fsx) == 0 && fsx.fsx_projid == id &&
               (fsx.fsx_xflags & FS_XFLAG_PROJINHERIT);
}

/* An OFD lock on one byte of the registry's lock file, at the folder's inode number: one walk or
 * stamp removal at a time per folder, also between hooks. Nothing to lock without a lock file. */
static int lock_folder(int lock_fd, int fd, short type) {
        struct flock lock = { .l_type = type, .l_whence = SEEK_SET, .l_len = 1 };
        struct stat st;

        if (lock_fd < 0)
                return 0;
        if (fstat(fd, &st) < 0)
                return -errno;
        lock.l_start = (off_t) (st.st_ino & (UINT64_MAX >> 2));
        while (fcntl(lock_fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW, &lock) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

/* Sets fd's project (and PROJINHERIT), reporting what it was. */
static int set_project(int fd, uint32_t id, bool inherit, struct fsxattr *ret_before) {
        struct fsxattr fsx;

        if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
                return -errno;
        *ret_before = fsx;
        if (fsx.fsx_projid == id && (!inherit || (fsx.fsx_xflags & FS_XFLAG_PROJINHERIT)))
                return 0;
        fsx.fsx_projid = id;
        if (inherit)
                fsx.fsx_xflags |= FS_XFLAG_PROJINHERIT;
        return ioctl(fd, FS_IOC_FSSETXATTR, &fsx) < 0 ? -errno : 0;
}

/* Names the entry where the pass failed, its path built on the way back up. */
static int fail_at(const struct pass *p, const char *name, int r) {
        char below[PATH_MAX];

        snprintf(below, sizeof(below), "%s", p->failed_at);
        snprintf(p->failed_at, p->failed_size, "%s%s%s", name, below[0] ? "/" : "", below);
        return r;
}

static int visit_file(const struct pass *p, int fd, uint32_t nlink) {
        struct fsxattr before = {};
        int r = set_project(fd, p->file_id, false, &before);

        if (r < 0 || !p->count)
                return r;
        testmode_walk_step();
        p->stats->files++;
        if (before.fsx_projid != p->project) {
                p->stats->repaired_files++;
                p->stats->repaired_links += nlink > 1;
        }
        return 0;
}

static int visit_folder(const struct pass *p, int fd, unsigned depth);

/* One entry of a folder: folders, and regular files when the pass wants them; never through a
 * symlink, never into another mount; FIFOs, sockets and devices are never opened.
 * NOLINTNEXTLINE(misc-no-recursion): visit_folder() stops at WALK_MAX_DEPTH (256) */
static int visit_entry(const struct pass *p, int dir_fd, const char *name, unsigned char type, unsigned depth) {
        _cleanup_close_ int path_fd = -1, fd = -1;
        struct statx st;
        int r = 0;

        if (type != DT_DIR && type != DT_UNKNOWN && (type != DT_REG || !p->files))
                return 0;
        if ((path_fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
                return errno == ENOENT ? 0 : fail_at(p, name, -errno); /* gone meanwhile */
        if (statx(path_fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_NLINK | STATX_MNT_ID, &st) < 0)
                return fail_at(p, name, -errno);
        if (makedev(st.stx_dev_major, st.stx_dev_minor) != p->dev ||
            ((st.stx_mask & STATX_MNT_ID) && st.stx_mnt_id != p->mnt_id))
                return 0; /* another filesystem, or a bind mount, inside the tree */
        if (S_ISDIR(st.stx_mode)) {
                fd = reopen_fd(path_fd, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
                r = fd < 0 ? fd : visit_folder(p, fd, depth + 1);
        } else if (S_ISREG(st.stx_mode) && p->files) {
                fd = reopen_fd(path_fd, O_RDONLY | O_NONBLOCK | O_NOATIME);
                r = fd < 0 ? fd : visit_file(p, fd, st.stx_nlink);
        }
        return r < 0 ? fail_at(p, name, r) : 0;
}

/* Lists the folder from its start (a pass before may have read the same open file to its end).
 * NOLINTNEXTLINE(misc-no-recursion): visit_folder() stops at WALK_MAX_DEPTH (256) */
static int list_folder(const struct pass *p, int fd, unsigned depth) {
        DIR *dir = opendir_again(fd);
        struct dirent *entry;
        int r = 0;

        if (!dir)
                return -errno;
        for (errno = 0; r >= 0 && (entry = readdir(dir)); errno = 0)
                if (!streq(entry->d_name, ".") && !streq(entry->d_name, ".."))
                        r = visit_entry(p, dirfd(dir), entry->d_name, entry->d_type, depth);
        if (r >= 0 && errno != 0)
                r = -errno;
        closedir(dir);
        return r;
}

/* The folder's project and PROJINHERIT first, so that what is made in it meanwhile inherits them,
 * then what it holds.
 * NOLINTNEXTLINE(misc-no-recursion): stops at WALK_MAX_DEPTH (256) */
static int visit_folder(const struct pass *p, int fd, unsigned depth) {
        struct fsxattr before = {};
        int r;

        if (depth > WALK_MAX_DEPTH)
                return -ELOOP;
        if ((r = set_project(fd, p->folder_id, true, &before)) < 0)
                return r;
        if (p->count) {
                testmode_walk_step();
                p->stats->folders++;
                /* the folder itself joins the project at its first start: not a repair */
                if (depth > 0 && (before.fsx_projid != p->project || !(before.fsx_xflags & FS_XFLAG_PROJINHERIT)))
                        p->stats->repaired_folders++;
        }
        return list_folder(p, fd, depth);
}

static int walk_error(const char *path, const char *failed_at, int r, struct nb_error *err) {
        return nb_fail(err, r, "%s: cannot set the project of %s%s: %s", path, failed_at[0] ? "its entry " : "the folder",
                       failed_at, r == -ELOOP ? "the folder is nested more than 256 deep" : strerror(-r));
}

/* Both passes. A first pass that fails is followed by the second all the same: it gives the
 * folders it reaches their project back, so that a failed start leaves no folder frozen. */
static int walk_passes(int fd, const char *path, uint32_t id, struct quota_walk *stats, struct nb_error *err) {
        char failed_at[PATH_MAX] = "";
        struct pass first = { .folder_id = id | QUOTA_WALK_ID_BIT, .file_id = id, .files = true, .count = true,
                              .project = id, .stats = stats, .failed_at = failed_at,
                              .failed_size = sizeof(failed_at) };
        struct pass second;
        struct quota_usage left = {};
        struct statx top;
        int r, r2;

        if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &top) < 0)
                return nb_fail(err, errno, "%s: cannot stat: %s", path, strerror(errno));
        first.dev = makedev(top.stx_dev_major, top.stx_dev_minor);
        first.mnt_id = top.stx_mnt_id;
        second = first;
        second.folder_id = id;
        second.files = second.count = false;
        r = visit_folder(&first, fd, 0);
        r2 = visit_folder(&second, fd, 0);
        if (r < 0 || r2 < 0)
                return walk_error(path, failed_at, r < 0 ? r : r2, err);
        /* a file made in a folder of the walk's id before the limits took: a pass that visits files */
        if (quota_get(fd, first.folder_id, &left) == 0 && left.used_files > 0) {
                second.files = true;
                if ((r = visit_folder(&second, fd, 0)) < 0)
                        return walk_error(path, failed_at, r, err);
                (void) quota_get(fd, first.folder_id, &left);
        }
        stats->left_in_walk_id = left.used_files;
        return 0;
}

static int walk(int fd, const char *path, uint32_t id, struct quota_walk *stats, struct nb_error *err) {
        uint32_t walk_id = id | QUOTA_WALK_ID_BIT;
        int r;

        stats->walked = true;
        if ((r = quota_set_limits(fd, path, walk_id, WALK_ID_BYTES, WALK_ID_BYTES, WALK_ID_FILES, err)) < 0 ||
            (r = walk_passes(fd, path, id, stats, err)) < 0)
                return r;
        if (stats->left_in_walk_id == 0)
                (void) quota_set_limits(fd, path, walk_id, UINT64_MAX, UINT64_MAX, UINT64_MAX, NULL);
        return 0;
}

static void write_stamp(int fd, uint32_t id, struct quota_walk *stats) {
        char value[QUOTA_STAMP_MAX];

        if (stats->left_in_walk_id > 0) {
                snprintf(stats->unstamped, sizeof(stats->unstamped), "%llu inodes are left in the walk's id %u",
                         (unsigned long long) stats->left_in_walk_id, id | QUOTA_WALK_ID_BIT);
                return;
        }
        quota_stamp_format(id, value, sizeof(value));
        if (fsetxattr(fd, QUOTA_STAMP_XATTR, value, strlen(value), 0) < 0)
                snprintf(stats->unstamped, sizeof(stats->unstamped), "cannot set %s: %s", QUOTA_STAMP_XATTR,
                         strerror(errno));
        else
                stats->stamped = true;
}

/* Under the folder's lock. */
static int check_locked(int fd, const char *path, uint32_t id, enum quota_tree_check check, struct quota_walk *ret,
                        struct nb_error *err) {
        int r;

        if (check == QUOTA_TREE_TRUST_STAMP && folder_in_project(fd, id) && stamp_holds(fd, id))
                return 0; /* another hook walked it while this one waited for the lock */
        if ((r = remove_stamp(fd)) < 0)
                return nb_fail(err, r, "%s: cannot remove %s: %s", path, QUOTA_STAMP_XATTR, strerror(-r));
        if (check == QUOTA_TREE_UNGUARDED && folder_in_project(fd, id))
                return 0;
        if ((r = walk(fd, path, id, ret, err)) < 0)
                return r;
        if (check != QUOTA_TREE_UNGUARDED)
                write_stamp(fd, id, ret);
        return 0;
}

int quota_tree_check(int dir_fd, const char *path, uint32_t id, int lock_fd, enum quota_tree_check check,
                     struct quota_walk *ret, struct nb_error *err) {
        _cleanup_close_ int fd = reopen_fd(dir_fd, O_RDONLY | O_DIRECTORY);
        int r;

        *ret = (struct quota_walk) {};
        if (fd < 0)
                return nb_fail(err, fd, "%s: cannot open: %s", path, strerror(-fd));
        if (check == QUOTA_TREE_TRUST_STAMP && folder_in_project(fd, id) && stamp_holds(fd, id))
                return 0;
        if ((r = lock_folder(lock_fd, fd, F_WRLCK)) < 0)
                return nb_fail(err, r, "%s: cannot lock %s: %s", path, QUOTA_REGISTRY_LOCK, strerror(-r));
        r = check_locked(fd, path, id, check, ret, err);
        (void) lock_folder(lock_fd, fd, F_UNLCK);
        return r;
}

int quota_tree_unstamp(int dir_fd, const char *path, int lock_fd, struct nb_error *err) {
        _cleanup_close_ int fd = reopen_fd(dir_fd, O_RDONLY | O_DIRECTORY);
        int r;

        if (fd < 0)
                return nb_fail(err, fd, "%s: cannot open: %s", path, strerror(-fd));
        if ((r = lock_folder(lock_fd, fd, F_WRLCK)) < 0)
                return nb_fail(err, r, "%s: cannot lock %s: %s", path, QUOTA_REGISTRY_LOCK, strerror(-r));
        r = remove_stamp(fd);
        (void) lock_folder(lock_fd, fd, F_UNLCK);
        if (r < 0)
                return nb_fail(err, r, "%s: cannot remove %s: %s", path, QUOTA_STAMP_XATTR, strerror(-r));
        return 0;
}

static const char *plural(uint64_t n) {
        return n == 1 ? "" : "s";
}

void quota_walk_describe(const struct quota_walk *walk, char *buf, size_t size) {
        int n = snprintf(buf, size, "walked %llu folder%s and %llu file%s: ", (unsigned long long) walk->folders,
                         plural(walk->folders), (unsigned long long) walk->files, plural(walk->files));

        if (n < 0 || (size_t) n >= size)
                return;
        if (!walk->repaired_folders && !walk->repaired_files)
                snprintf(buf + n, size - n, "all in the project");
        else
                snprintf(buf + n, size - n, "repaired %llu folder%s and %llu file%s (%llu hard link%s)",
                         (unsigned long long) walk->repaired_folders, plural(walk->repaired_folders),
                         (unsigned long long) walk->repaired_files, plural(walk->repaired_files),
                         (unsigned long long) walk->repaired_links, plural(walk->repaired_links));
}
