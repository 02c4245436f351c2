/* SPDX-License-Identifier: Apache-2.0 */
#include "quota.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/dqblk_xfs.h>
#include <linux/magic.h>
#include <linux/quota.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mountinfo.h"
#include "quotatree.h"
#include "safeopen.h"
#include "textfile.h"
#include "util.h"

#define QUOTA_BLOCK 1024ULL /* QIF_DQBLKSIZE: quotactl counts limits in 1 KiB blocks */
#define QUOTA_GRACE_SECONDS (100ULL * 365 * 24 * 3600) /* a soft limit never turns into a hard stop */

/* The mount (in mountinfo) that holds fd. */
static int mount_of(int fd, struct mountinfo_mount *ret) {
        struct statx st;

        if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &st) < 0)
                return -errno;
        if (!(st.stx_mask & STATX_MNT_ID))
                return -ENOENT;
        return mountinfo_by_id(st.stx_mnt_id, ret);
}

static int project_quotactl(int fd, int cmd, uint32_t id, void *addr) {
        struct mountinfo_mount mount;

        int command = (int) (((unsigned) cmd << SUBCMDSHIFT) | (PRJQUOTA & SUBCMDMASK)); /* QCMD, without UB */

        if (syscall(SYS_quotactl_fd, fd, command, id, addr) == 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        if (mount_of(fd, &mount) < 0) /* its source is the block device quotactl(2) takes */
                return -ENOSYS;
        return syscall(SYS_quotactl, command, mount.source, id, addr) == 0 ? 0 : -errno;
}

static void mount_point_of(int fd, char *buf, size_t size);
static uint64_t to_blocks(uint64_t bytes);
static uint64_t to_limit(uint64_t count);

/* Accounting alone (ext4 with the quota feature, mounted without prjquota) counts but never stops. */
static bool limits_enforced(int dir_fd) {
        struct fs_quota_statv state = { .qs_version = FS_QSTATV_VERSION1 };

        if (project_quotactl(dir_fd, Q_XGETQSTATV, 0, &state) < 0)
                return true; /* no such query here: Q_GETINFO answered, trust it */
        return state.qs_flags & FS_QUOTA_PDQ_ENFD;
}

int quota_probe(int dir_fd, const char *path, struct nb_error *err) {
        struct if_dqinfo info;
        struct statfs sfs;
        int r;

        if (fstatfs(dir_fd, &sfs) < 0)
                return nb_fail(err, errno, "%s: cannot statfs: %s", path, strerror(errno));
        if (sfs.f_type != XFS_SUPER_MAGIC && sfs.f_type != EXT4_SUPER_MAGIC)
                return nb_fail(err, EOPNOTSUPP,
                               "%s is on a filesystem without project quotas (type 0x%lx); put it on XFS or ext4 mounted with prjquota",
                               path, (unsigned long) sfs.f_type);
        r = project_quotactl(dir_fd, Q_GETINFO, 0, &info);
        if (r == -ENOSYS)
                return nb_fail(err, EOPNOTSUPP, "%s: this kernel has no quota support (CONFIG_QUOTA, CONFIG_XFS_QUOTA)",
                               path);
        if (r < 0 || !limits_enforced(dir_fd)) {
                char mount_point[4096] = "?";

                mount_point_of(dir_fd, mount_point, sizeof(mount_point));
                return nb_fail(err, EOPNOTSUPP,
                               "%s: project quotas are not %s on the filesystem mounted at %s; mount it with -o prjquota%s",
                               path, r < 0 ? "enabled" : "enforced", mount_point,
                               sfs.f_type == EXT4_SUPER_MAGIC ? " (ext4: mkfs.ext4 -O quota,project)" : "");
        }
        return sfs.f_type == EXT4_SUPER_MAGIC ? QUOTA_EXT4 : 0;
}

/* Where the mount holding fd is mounted, for messages. */
static void mount_point_of(int fd, char *buf, size_t size) {
        struct mountinfo_mount mount;

        if (mount_of(fd, &mount) == 0)
                snprintf(buf, size, "%s", mount.target);
}

/* Opens the mount point, and makes sure it still is that filesystem's mount (nothing mounted over it). */
static int open_checked_root(const char *target, dev_t devno) {
        _cleanup_close_ int fd = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct statx st;

        if (fd < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_INO, &st) < 0)
                return -errno;
        if (makedev(st.stx_dev_major, st.stx_dev_minor) != devno || !(st.stx_attributes & STATX_ATTR_MOUNT_ROOT))
                return -ENOENT;
        return TAKE_FD(fd);
}

/* The root of the filesystem that holds dir_fd, through a mount of it: where the registry lives,
 * one per filesystem, also when the roots are bind mounts of its subfolders. */
static int open_fs_root(int dir_fd, const char *path, struct nb_error *err) {
        struct mountinfo_mount mount = {}, root;
        int fd = -ENOENT, r;

        if ((r = mount_of(dir_fd, &mount)) < 0 && r != -ENOENT)
                return nb_fail(err, r, "%s: cannot find its mount in /proc/self/mountinfo: %s", path, strerror(-r));
        if (r == 0 && mount.whole)
                root = mount;
        else if (r == 0)
                r = mountinfo_whole_fs(mount.devno, &root);
        if (r == 0)
                fd = open_checked_root(root.target, mount.devno);
        if (fd < 0)
                return nb_fail(err, ENOENT,
                               "%s: its filesystem is mounted only from a subfolder; mount the filesystem's root too (anywhere), so that nbmount keeps one project registry for it",
                               path);
        return fd;
}

bool quota_registry_next(char **cursor, const char **ret_name, uint32_t *ret_id) {
        while (*cursor && **cursor) {
                char *line = *cursor, *newline = strchr(line, '\n'), *colon, *end;
                unsigned long id;

                *cursor = newline ? newline + 1 : line + strlen(line);
                if (newline)
                        *newline = '\0';
                colon = strrchr(line, ':');
                if (!colon || line[0] == '#' || (size_t) (colon - line) >= QUOTA_NAME_SIZE)
                        continue;
                id = strtoul(colon + 1, &end, 10);
                if (end == colon + 1 || id > UINT32_MAX)
                        continue;
                *colon = '\0';
                *ret_name = line;
                *ret_id = (uint32_t) id;
                return true;
        }
        return false;
}

/* The registry's text ("" when there is none). */
static int read_registry_text_at(int root_fd, char **ret) {
        _cleanup_close_ int fd = openat(root_fd, QUOTA_REGISTRY_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        size_t len;

        if (fd < 0 && errno == ENOENT)
                return (*ret = strdup("")) ? 0 : -ENOMEM;
        if (fd < 0)
                return -errno;
        return text_read_fd(fd, QUOTA_REGISTRY_NAME, QUOTA_REGISTRY_MAX_BYTES, ret, &len, NULL);
}

static int read_registry_at(int root_fd, struct quota_project **ret, size_t *ret_n) {
        _cleanup_free_ struct quota_project *projects = NULL;
        _cleanup_free_ char *text = NULL;
        char *cursor;
        const char *name;
        size_t n = 0, allocated = 0;
        uint32_t id;
        int r;

        if ((r = read_registry_text_at(root_fd, &text)) < 0)
                return r;
        for (cursor = text; quota_registry_next(&cursor, &name, &id);) {
                if (n == allocated) { /* doubling: one growth per line costs a mremap per page with 10,000 */
                        struct quota_project *grown = reallocarray(projects, allocated = allocated ? 2 * allocated : 256,
                                                                   sizeof(*projects));
                        if (!grown)
                                return -ENOMEM;
                        projects = grown;
                }
                snprintf(projects[n].name, sizeof(projects[n].name), "%s", name);
                projects[n++].id = id;
        }
        *ret = TAKE_PTR(projects);
        *ret_n = n;
        return 0;
}

int quota_registry_text(int dir_fd, const char *path, char **ret, struct nb_error *err) {
        _cleanup_close_ int root_fd = open_fs_root(dir_fd, path, err);
        int r;

        if (root_fd < 0)
                return root_fd;
        if ((r = read_registry_text_at(root_fd, ret)) < 0)
                return nb_fail(err, r, "%s: cannot read the project registry %s: %s", path, QUOTA_REGISTRY_NAME,
                               strerror(-r));
        return 0;
}

int quota_registry_read(int dir_fd, const char *path, struct quota_project **ret, size_t *ret_n,
                        struct nb_error *err) {
        _cleanup_close_ int root_fd = open_fs_root(dir_fd, path, err);
        int r;

        if (root_fd < 0)
                return root_fd;
        if ((r = read_registry_at(root_fd, ret, ret_n)) < 0)
                return nb_fail(err, r, "%s: cannot read the project registry %s: %s", path, QUOTA_REGISTRY_NAME,
                               strerror(-r));
        return 0;
}

/* Writes the registry plus the entries added: a new file, synced, renamed over the old one. */
static int write_registry(int root_fd, const struct quota_project *projects, size_t n,
                          const struct quota_project *added, size_t n_added) {
        static const char tmp_name[] = QUOTA_REGISTRY_NAME ".new";
        _cleanup_fclose_ FILE *f = NULL;
        int fd = openat(root_fd, tmp_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);

        if (fd < 0)
                return -errno;
        if (!(f = fdopen(fd, "w"))) {
                close(fd);
                return -errno;
        }
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s:%u\n", projects[i].name, projects[i].id);
        for (size_t i = 0; i < n_added; i++)
                fprintf(f, "%s:%u\n", added[i].name, added[i].id);
        if (fflush(f) != 0 || fsync(fileno(f)) < 0)
                return -errno;
        if (renameat(root_fd, tmp_name, root_fd, QUOTA_REGISTRY_NAME) < 0)
                return -errno;
        return fsync(root_fd) < 0 && errno != EBADF && errno != EINVAL ? -errno : 0;
}

static int find_or_allocate_all(int root_fd, const char *const *names, size_t n_names, uint32_t *ret_ids);

/* The root of the filesystem of dir_fd (O_RDONLY: fsync needs a real fd), and the registry's lock
 * file in it: created when `create`, else -1 when it does not exist. */
static int open_registry(int dir_fd, const char *path, bool create, int *ret_root_fd, int *ret_lock_fd,
                         struct nb_error *err) {
        _cleanup_close_ int root_path_fd = open_fs_root(dir_fd, path, err), root_fd = -1, lock_fd = -1;

        if (root_path_fd < 0)
                return root_path_fd;
        if ((root_fd = reopen_fd(root_path_fd, O_RDONLY | O_DIRECTORY)) < 0)
                return nb_fail(err, root_fd, "%s: cannot open its filesystem's root: %s", path, strerror(-root_fd));
        lock_fd = openat(root_fd, QUOTA_REGISTRY_LOCK, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
        if (lock_fd < 0 && (create || errno != ENOENT))
                return nb_fail(err, errno, "%s: cannot open %s: %s", path, QUOTA_REGISTRY_LOCK, strerror(errno));
        *ret_root_fd = TAKE_FD(root_fd);
        *ret_lock_fd = TAKE_FD(lock_fd);
        return 0;
}

/* Looks name up in the registry, or adds it, under the registry's lock. */
static int lookup_id(int root_fd, int lock_fd, const char *name, uint32_t *ret_id, struct nb_error *err) {
        int r;

        if (flock(lock_fd, LOCK_EX) < 0)
                return nb_fail(err, errno, "project %s: cannot lock %s: %s", name, QUOTA_REGISTRY_LOCK, strerror(errno));
        r = find_or_allocate_all(root_fd, &name, 1, ret_id);
        (void) flock(lock_fd, LOCK_UN);
        if (r < 0)
                return nb_fail(err, r, "project %s: cannot update the registry %s: %s", name, QUOTA_REGISTRY_NAME,
                               r == -ENOSPC ? "no project id is left below 2^31" : strerror(-r));
        return 0;
}

int quota_project_id(int dir_fd, const char *path, const char *name, uint32_t *ret_id, struct nb_error *err) {
        _cleanup_close_ int root_fd = -1, lock_fd = -1;
        int r;

        if ((r = open_registry(dir_fd, path, true, &root_fd, &lock_fd, err)) < 0)
                return r;
        return lookup_id(root_fd, lock_fd, name, ret_id, err);
}

static int compare_names(const void *a, const void *b) {
        return strcmp(((const struct quota_project *) a)->name, ((const struct quota_project *) b)->name);
}

/* The next id after every one of projects (sorted by name, so no order to rely on). */
static uint32_t next_free_id(const struct quota_project *projects, size_t n) {
        uint32_t next = QUOTA_FIRST_ID;

        for (size_t i = 0; i < n; i++)
                if (projects[i].id >= next && projects[i].id < UINT32_MAX)
                        next = projects[i].id + 1;
        return next;
}

/* Looks each name up in the registry, sorted once; the missing ones get ids of their own, all
 * written in one new registry. */
static int find_or_allocate_all(int root_fd, const char *const *names, size_t n_names, uint32_t *ret_ids) {
        _cleanup_free_ struct quota_project *projects = NULL, *added = NULL;
        size_t n, n_added = 0;
        uint32_t next;
        int r;

        if ((r = read_registry_at(root_fd, &projects, &n)) < 0)
                return r;
        if (n > 0)
                qsort(projects, n, sizeof(*projects), compare_names);
        next = next_free_id(projects, n);
        if (n_names > 0 && !(added = calloc(n_names, sizeof(*added))))
                return -ENOMEM;
        for (size_t i = 0; i < n_names; i++) {
                struct quota_project key = {};
                const struct quota_project *found;

                snprintf(key.name, sizeof(key.name), "%s", names[i]);
                found = n > 0 ? bsearch(&key, projects, n, sizeof(*projects), compare_names) : NULL;
                for (size_t j = 0; !found && j < n_added; j++) /* a name twice in one call */
                        if (streq(added[j].name, key.name))
                                found = &added[j];
                if (found) {
                        ret_ids[i] = found->id;
                        continue;
                }
                if (next > QUOTA_LAST_ID)
                        return -ENOSPC;
                key.id = ret_ids[i] = next++;
                added[n_added++] = key;
        }
        return n_added > 0 ? write_registry(root_fd, projects, n, added, n_added) : 0;
}

int quota_project_ids(int dir_fd, const char *path, const char *const *names, size_t n, uint32_t *ret_ids,
                      struct nb_error *err) {
        _cleanup_close_ int root_fd = -1, lock_fd = -1;
        int r;

        if ((r = open_registry(dir_fd, path, true, &root_fd, &lock_fd, err)) < 0)
                return r;
        if (flock(lock_fd, LOCK_EX) < 0)
                return nb_fail(err, errno, "%s: cannot lock %s: %s", path, QUOTA_REGISTRY_LOCK, strerror(errno));
        r = find_or_allocate_all(root_fd, names, n, ret_ids);
        (void) flock(lock_fd, LOCK_UN);
        if (r < 0)
                return nb_fail(err, r, "%s: cannot update the registry %s: %s", path, QUOTA_REGISTRY_NAME,
                               r == -ENOSPC ? "no project id is left below 2^31" : strerror(-r));
        return 0;
}

/* XFS keeps a limit in its own blocks, rounded up: 64 KiB covers every block size it has. */
static bool near_bytes(uint64_t reported, uint64_t bytes) {
        uint64_t wanted = to_blocks(bytes) * QUOTA_BLOCK;

        return reported == wanted || (wanted > 0 && reported > wanted && reported - wanted < 65536);
}

bool quota_limits_equal(const struct quota_usage *usage, uint64_t soft_bytes, uint64_t hard_bytes, uint64_t files) {
        return near_bytes(usage->soft_bytes, soft_bytes) && near_bytes(usage->hard_bytes, hard_bytes) &&
               usage->soft_files == to_limit(files) && usage->hard_files == to_limit(files);
}

int quota_open_lock(int dir_fd, const char *path, bool create, struct nb_error *err) {
        _cleanup_close_ int root_fd = -1, lock_fd = -1;
        int r;

        if ((r = open_registry(dir_fd, path, create, &root_fd, &lock_fd, err)) < 0)
                return r;
        return lock_fd >= 0 ? TAKE_FD(lock_fd) : -ENOENT;
}

static uint64_t to_blocks(uint64_t bytes) {
        return bytes == UINT64_MAX ? 0 : bytes / QUOTA_BLOCK;
}

static uint64_t to_limit(uint64_t count) {
        return count == UINT64_MAX ? 0 : count;
}

int quota_set_limits(int dir_fd, const char *path, uint32_t id, uint64_t soft_bytes, uint64_t hard_bytes,
                     uint64_t files, struct nb_error *err) {
        struct if_dqblk limits = {
                .dqb_bsoftlimit = to_blocks(soft_bytes),
                .dqb_bhardlimit = to_blocks(hard_bytes),
                .dqb_isoftlimit = to_limit(files), /* soft = hard: files are not billed, no grace */
                .dqb_ihardlimit = to_limit(files),
                .dqb_valid = QIF_BLIMITS | QIF_ILIMITS,
        };
        struct if_dqinfo info = {};
        int r;

        if ((r = project_quotactl(dir_fd, Q_SETQUOTA, id, &limits)) < 0)
                return nb_fail(err, r, "%s: cannot set the limits of project %u: %s", path, id, strerror(-r));
        if ((r = project_quotactl(dir_fd, Q_GETINFO, 0, &info)) < 0)
                return nb_fail(err, r, "%s: cannot read the quota grace period: %s", path, strerror(-r));
        if (info.dqi_bgrace >= QUOTA_GRACE_SECONDS)
                return 0;
        info = (struct if_dqinfo) { .dqi_bgrace = QUOTA_GRACE_SECONDS, .dqi_valid = IIF_BGRACE };
        if ((r = project_quotactl(dir_fd, Q_SETINFO, 0, &info)) < 0)
                return nb_fail(err, r, "%s: cannot set the quota grace period: %s", path, strerror(-r));
        return 0;
}

static struct quota_usage usage_from(uint32_t id, const struct if_dqblk *q) {
        return (struct quota_usage) {
                .id = id,
                .used_bytes = q->dqb_curspace,
                .used_files = q->dqb_curinodes,
                .soft_bytes = q->dqb_bsoftlimit * QUOTA_BLOCK,
                .hard_bytes = q->dqb_bhardlimit * QUOTA_BLOCK,
                .soft_files = q->dqb_isoftlimit,
                .hard_files = q->dqb_ihardlimit,
        };
}

int quota_get(int dir_fd, uint32_t id, struct quota_usage *ret) {
        struct if_dqblk q = {};
        int r = project_quotactl(dir_fd, Q_GETQUOTA, id, &q);

        if (r == -ENOENT || r == -ESRCH) /* XFS: no record of the id */
                q = (struct if_dqblk) {};
        else if (r < 0)
                return r;
        *ret = usage_from(id, &q);
        return 0;
}

int quota_each(int dir_fd, const char *path, quota_usage_fn fn, void *userdata, struct nb_error *err) {
        struct if_nextdqblk next;
        uint32_t id = 0;
        int r;

        while ((r = project_quotactl(dir_fd, Q_GETNEXTQUOTA, id, &next)) == 0) {
                struct quota_usage usage = usage_from(next.dqb_id, &(struct if_dqblk) {
                        .dqb_bhardlimit = next.dqb_bhardlimit, .dqb_bsoftlimit = next.dqb_bsoftlimit,
                        .dqb_curspace = next.dqb_curspace, .dqb_ihardlimit = next.dqb_ihardlimit,
                        .dqb_isoftlimit = next.dqb_isoftlimit, .dqb_curinodes = next.dqb_curinodes,
                });

                if ((r = fn(userdata, &usage)) < 0)
                        return nb_fail(err, r, "%s: %s", path, strerror(-r));
                if (next.dqb_id == UINT32_MAX)
                        break;
                id = next.dqb_id + 1;
        }
        if (r < 0 && r != -ENOENT)
                return nb_fail(err, r, "%s: cannot read the project quotas: %s", path, strerror(-r));
        return 0;
}

struct usage_array {
        struct quota_usage *usage;
        size_t n, allocated;
};

static int append_usage(void *userdata, const struct quota_usage *usage) {
        struct usage_array *a = userdata;

        if (a->n == a->allocated) {
                struct quota_usage *grown = reallocarray(a->usage, a->allocated = a->allocated ? 2 * a->allocated : 64,
                                                         sizeof(*a->usage));
                if (!grown)
                        return -ENOMEM;
                a->usage = grown;
        }
        a->usage[a->n++] = *usage;
        return 0;
}

int quota_read_all(int dir_fd, const char *path, struct quota_usage **ret, size_t *ret_n, struct nb_error *err) {
        struct usage_array a = {};
        int r = quota_each(dir_fd, path, append_usage, &a, err);

        if (r < 0)
                return free(a.usage), r;
        *ret = a.usage;
        *ret_n = a.n;
        return 0;
}

int quota_forget(int dir_fd, const char *path, struct nb_error *err) {
        _cleanup_close_ int lock_fd = quota_open_lock(dir_fd, path, false, NULL);

        return quota_tree_unstamp(dir_fd, path, lock_fd >= 0 ? lock_fd : -1, err);
}

/* Where project quotas cannot be enforced, or the request says to go without: the start goes on
 * with the escape open, so the tree's stamp must go (quotatree.h). Returns 1 (best-effort) or -errno. */
static int go_without(int fd, const char *path, enum quota_enforce enforce, int r) {
        if (enforce != QUOTA_BEST_EFFORT)
                return r;
        (void) quota_tree_unstamp(fd, path, -1, NULL);
        return 1;
}

int quota_enforce_plan(int dir_fd, const char *path, const struct plan_quota *quota,
                       const struct quota_enforce_request *req, struct quota_walk *ret_walk,
                       struct nb_error *warning, struct nb_error *err) {
        _cleanup_close_ int fd = reopen_fd(dir_fd, O_RDONLY | O_DIRECTORY), root_fd = -1, lock_fd = -1;
        struct nb_error *problem = req->enforce == QUOTA_BEST_EFFORT && warning ? warning : err;
        struct quota_walk walk = {};
        enum quota_tree_check check = !req->guarded ? QUOTA_TREE_UNGUARDED
                                      : req->full_walk ? QUOTA_TREE_WALK
                                                       : QUOTA_TREE_TRUST_STAMP;
        uint32_t id = 0;
        int r;

        if (fd < 0)
                return nb_fail(err, fd, "%s: cannot open: %s", path, strerror(-fd));
        if (req->enforce == QUOTA_OFF)
                return quota_tree_unstamp(fd, path, -1, err) < 0 ? -EIO : 0;
        r = quota_probe(fd, path, problem);
        if (r == QUOTA_EXT4 && req->writer_has_cap_sys_resource)
                r = nb_fail(problem, EOPNOTSUPP,
                            "%s is on ext4, which lets a process with CAP_SYS_RESOURCE write past its quota; drop that capability from the container",
                            path);
        if (r < 0)
                return go_without(fd, path, req->enforce, r);
        if ((r = open_registry(fd, path, true, &root_fd, &lock_fd, err)) < 0 ||
            (r = lookup_id(root_fd, lock_fd, quota->project, &id, err)) < 0)
                return r;
        if (id > QUOTA_LAST_ID)
                return nb_fail(err, ERANGE, "%s: project %s has id %u in %s; nbmount uses the ids from 2^31 up itself, give it a smaller one",
                               path, quota->project, id, QUOTA_REGISTRY_NAME);
        if ((r = quota_set_limits(fd, path, id, quota->soft_bytes, quota->hard_bytes, quota->files, err)) < 0 ||
            (r = quota_tree_check(fd, path, id, lock_fd, check, &walk, err)) < 0)
                return r;
        if (ret_walk)
                *ret_walk = walk;
        return 0;
}
