/* SPDX-License-Identifier: Apache-2.0 */
#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "netfs.h"
#include "quota.h"
#include "quotatree.h"
#include "safeopen.h"
#include "util.h"

/* Two ways to mount, chosen once per run (choose_mount_api):
 * - the new mount API (Linux 5.12+): each source is cloned in the host's namespace (open_tree), gets
 *   its flags while detached (mount_setattr) and is attached onto its target fd (move_mount);
 * - mount(2), as runc does where the new API is missing (older kernels, and valgrind, which does not
 *   know these calls): the source, opened and checked in the host's namespace as above, is opened
 *   again in the container's and bound onto its target fd (MS_BIND), then made private and remounted
 *   nosuid, nodev (ro); source, target and new mount are reached through the magic links of fds,
 *   never by a path walk (attach_by_bind). S3 mounts, nbmountd's detached clones, need the new API.
 * Sources and targets are opened the same way in both, and both are all or nothing. */
#define MISSING_OPEN_TREE "open_tree/move_mount (Linux 5.2+)"
#define MISSING_MOUNT_SETATTR "mount_setattr (Linux 5.12+)"

/* One mount of the plan on its way into the container. */
struct mount_job {
        const struct plan_mount *planned;
        int tree_fd;        /* the detached clone of the source (the new mount API) */
        int source_fd;      /* the source itself, opened in the host's namespace (mount(2)) */
        int ns_source_fd;   /* the same folder, opened again in the container's namespace (mount(2)) */
        int mount_fd;       /* the root of the mount made on the target (mount(2)) */
        int target_fd;      /* the mountpoint inside the container's root */
        const char *source_root;                 /* mount(2): source = source_root/source_relative */
        char source_relative[2 * NB_NAME_MAX + 2];
        struct statx target;
        bool already_there; /* an earlier run of the hook attached this very source: leave it */
        bool attached;
        bool placeholder;   /* a pending bucket's: only its mountpoint is made now, while the image's
                               root may still be written (nbmountd attaches it later) */
};

/* A mountpoint folder created in the container's root, removed again on failure. */
struct created_dir {
        int parent_fd;
        nb_name name;
};

struct mount_run {
        const struct mount_request *req;
        struct mount_result *result;
        struct nb_error *err;
        const char *no_new_api;  /* the new mount API call this kernel lacks, NULL if none: then mount(2) */
        struct statx host_rootfs; /* the bundle's root in the hook's own mount namespace */
        int proc_fd;             /* the host's /proc */
        int fd_dir_fd;           /* the host's /proc/self/fd: the cwd while mount(2) mounts */
        size_t n_jobs, n_created;
        struct mount_job jobs[PLAN_MAX_MOUNTS];
        struct created_dir created[PLAN_MAX_MOUNTS + 2];
};

static void trace(const struct mount_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(const struct mount_run *run, const char *fmt, ...) {
        va_list ap;

        if (!run->req->debug)
                return;
        fputs("nbmount: debug: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static void mount_run_free(struct mount_run **run) {
        if (!*run)
                return;
        for (size_t i = 0; i < (*run)->n_jobs; i++) {
                closep(&(*run)->jobs[i].tree_fd);
                closep(&(*run)->jobs[i].source_fd);
                closep(&(*run)->jobs[i].ns_source_fd);
                closep(&(*run)->jobs[i].mount_fd);
                closep(&(*run)->jobs[i].target_fd);
        }
        for (size_t i = 0; i < (*run)->n_created; i++)
                closep(&(*run)->created[i].parent_fd);
        closep(&(*run)->proc_fd);
        closep(&(*run)->fd_dir_fd);
        free(*run);
}

/* ---- the host's side: sources ------------------------------------------------------------------ */

/* A kernel with open_tree but without mount_setattr (Linux 5.2 to 5.11) takes the mount(2) path
 * whole: its detached clone could get its flags only once attached (MS_REMOUNT needs a mount of our
 * namespace), a third way of mounting for kernels that the mount(2) path serves as well. The probes
 * do nothing: open_tree on no fd, mount_setattr with nothing to set. */
static void choose_mount_api(struct mount_run *run) {
        struct mount_attr nothing = {};
        _cleanup_close_ int probe_fd = open_tree(-EBADF, "", AT_EMPTY_PATH | OPEN_TREE_CLOEXEC);

        if (probe_fd < 0 && errno == ENOSYS)
                run->no_new_api = MISSING_OPEN_TREE;
        else if (mount_setattr(-EBADF, "", AT_EMPTY_PATH, &nothing, sizeof(nothing)) < 0 && errno == ENOSYS)
                run->no_new_api = MISSING_MOUNT_SETATTR;
        if (run->no_new_api)
                trace(run, "no %s here (an older kernel, or valgrind): fallback to mount(2) for every mount",
                      run->no_new_api);
}

/* The next job of the run, empty. */
static struct mount_job *new_job(struct mount_run *run, const struct plan_mount *m) {
        struct mount_job *job = &run->jobs[run->n_jobs];

        *job = (struct mount_job) { .planned = m, .tree_fd = -1, .source_fd = -1, .ns_source_fd = -1, .mount_fd = -1,
                                    .target_fd = -1 };
        return job;
}

/* One folder of a path under a root, created on first use with its owner and mode. */
struct folder_step {
        const char *name;
        uid_t uid;
        gid_t gid;
        mode_t mode;
};

/* Opens parent/step->name, creating it when missing; never through a symlink, never across a mount. */
static int open_or_create_folder(int parent_fd, const struct folder_step *step) {
        _cleanup_close_ int fd = openat_beneath(parent_fd, step->name, O_PATH | O_DIRECTORY, RESOLVE_NO_XDEV);

        if (fd != -ENOENT)
                return TAKE_FD(fd);
        if (mkdirat(parent_fd, step->name, 0700) < 0)
                return errno == EEXIST ? openat_beneath(parent_fd, step->name, O_PATH | O_DIRECTORY, RESOLVE_NO_XDEV)
                                       : -errno;
        /* ours, still 0700: give it away by fd, so a swap for a symlink cannot redirect the chown */
        fd = openat_beneath(parent_fd, step->name, O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
        if (fd < 0)
                return fd;
        if (fchown(fd, step->uid, step->gid) < 0 || fchmod(fd, step->mode) < 0)
                return -errno;
        return TAKE_FD(fd);
}

/* A folder whose contents decide what another team or notebook gets must be writable only by root
 * (ROOT and ROOT/A) or by the container's own user (ROOT/A/B): whoever else can write there could
 * plant a folder of their own for a container to mount. */
static int check_folder_owner(struct mount_run *run, int fd, const char *path, bool users_own) {
        uid_t user = run->req->uid;
        struct stat st;

        if (fstat(fd, &st) < 0)
                return nb_fail(run->err, errno, "%s: cannot stat: %s", path, strerror(errno));
        if (!users_own && st.st_uid == 0 && !(st.st_mode & 022))
                return 0;
        if (users_own && (st.st_uid == 0 || st.st_uid == user) && !(st.st_mode & 002))
                return 0;
        if (!users_own)
                return nb_fail(run->err, EPERM,
                               "%s must be owned by root and writable by no one else (it is owned by uid %u, mode %04o): another user could plant folders there; the operator must run chown root: %s && chmod go-w %s",
                               path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), path, path);
        return nb_fail(run->err, EPERM,
                       "%s must be owned by root or by the container's user %u, and not writable by others (it is owned by uid %u, mode %04o); the operator must run chown %u: %s && chmod o-w %s",
                       path, (unsigned) user, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), (unsigned) user, path,
                       path);
}

/* ROOT/A/B for a notebook or team folder: ROOT and A (a team or a cluster) are root's, B the container
 * user's. An ownership problem is explained in run->err and returned as -EPERM. */
static int open_owned_folder(struct mount_run *run, const char *root, const char *a, const char *b, mode_t mode) {
        const struct folder_step steps[] = {
                { a, 0, 0, 0755 },
                { b, run->req->uid, run->req->gid, mode },
        };
        _cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), parent_fd = -1;
        char path[NB_PATH_MAX + 2 * NB_NAME_MAX + 3];
        int fd = -1, r;

        if (root_fd < 0)
                return -errno;
        if ((r = check_folder_owner(run, root_fd, root, false)) < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
                fd = open_or_create_folder(parent_fd >= 0 ? parent_fd : root_fd, &steps[i]);
                if (fd < 0)
                        return fd;
                snprintf(path, sizeof(path), "%s/%s%s%s", root, a, i ? "/" : "", i ? b : "");
                if ((r = check_folder_owner(run, fd, path, i == 1)) < 0) {
                        close(fd);
                        return r;
                }
                if (i + 1 < ARRAY_SIZE(steps)) {
                        closep(&parent_fd);
                        parent_fd = TAKE_FD(fd);
                }
        }
        return fd;
}

static int open_dataset(const char *root, const char *id, const char *version) {
        _cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        char relative[2 * NB_NAME_MAX + 2];

        if (root_fd < 0)
                return -errno;
        snprintf(relative, sizeof(relative), "%s/%s", id, version);
        return openat_beneath(root_fd, relative, O_PATH | O_DIRECTORY, 0);
}

/* The root of the node config that holds the source of m, and the source's path under it. */
static const char *source_location(const struct plan *plan, const struct node_config *config,
                                   const struct plan_mount *m, char *relative, size_t size) {
        switch (m->kind) {
        case MOUNT_NOTEBOOK:
                snprintf(relative, size, "%s/%s", plan->team, plan->notebook);
                return config->notebooks_root;
        case MOUNT_STORAGE:
                snprintf(relative, size, "%s/%s", plan->storage_cluster, plan->team);
                return config->storage_root;
        default:
                snprintf(relative, size, "%s/%s", m->dataset_id, m->version);
                return config->datasets_root;
        }
}

static int open_source(struct mount_run *run, const struct plan *plan, const struct node_config *config,
                       const struct plan_mount *m) {
        switch (m->kind) {
        case MOUNT_NOTEBOOK:
                return open_owned_folder(run, config->notebooks_root, plan->team, plan->notebook, 0750);
        case MOUNT_STORAGE:
                return open_owned_folder(run, config->storage_root, plan->storage_cluster, plan->team, 0770);
        default:
                return open_dataset(config->datasets_root, m->dataset_id, m->version);
        }
}

static const char *source_problem(int r) {
        switch (-r) {
        case ELOOP:
        case EXDEV:
                return "a symlink or a mount point is in its path; nbmount follows neither";
        case ENOENT:
                return "it does not exist on this node";
        case ENOTDIR:
                return "it is not a folder";
        default:
                return strerror(-r);
        }
}

int mount_tree_set_flags(int tree_fd, bool readonly) {
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0),
                .propagation = MS_PRIVATE,
        };

        return mount_setattr(tree_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0 ? -errno : 0;
}

/* A private, detached copy of the source with its mount flags set, not yet visible anywhere. */
static int clone_source(int source_fd, bool readonly, int *ret_tree_fd) {
        _cleanup_close_ int tree_fd = open_tree(source_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        int r;

        if (tree_fd < 0)
                return -errno;
        if ((r = mount_tree_set_flags(tree_fd, readonly)) < 0)
                return r;
        *ret_tree_fd = TAKE_FD(tree_fd);
        return 0;
}

/* nbmountd's detached clone of a shared S3 mount: only its flags are set here. */
static int prepare_s3_job(struct mount_run *run, const struct plan_mount *m, int tree_fd) {
        struct mount_job *job = new_job(run, m);
        int r;

        if (run->no_new_api)
                return nb_fail(run->err, ENOSYS, "%s: this kernel has no %s: S3 mounts need %s", m->target,
                               run->no_new_api, streq(run->no_new_api, MISSING_OPEN_TREE) ? "them" : "it");
        if (tree_fd < 0)
                return nb_fail(run->err, EINVAL, "%s: nbmountd gave no mount for %s", m->target, m->source);
        if ((job->tree_fd = fcntl(tree_fd, F_DUPFD_CLOEXEC, 3)) < 0)
                return nb_fail(run->err, errno, "%s: %s", m->target, strerror(errno));
        run->n_jobs++;
        if ((r = mount_tree_set_flags(job->tree_fd, m->readonly)) < 0)
                return nb_fail(run->err, r, "%s: cannot set the flags of %s: %s", m->target, m->source, strerror(-r));
        trace(run, "%s: %s from nbmountd (%s, nosuid, nodev)", m->target, m->source, m->readonly ? "ro" : "rw");
        return 0;
}

/* A walk of the folder's tree: traced, and kept for the hook's log line. */
static void note_walk(struct mount_run *run, const struct plan_mount *m, const struct quota_walk *walk) {
        struct mount_walk *kept = run->result->n_walks < MOUNT_MAX_WALKS ? &run->result->walks[run->result->n_walks++]
                                                                          : NULL;
        char what[256];

        quota_walk_describe(walk, what, sizeof(what));
        trace(run, "%s: quota: %s: %s; %s%s%s", m->target, m->quota.project, what,
              walk->stamped ? "stamped" : "not stamped", walk->unstamped[0] ? ": " : "", walk->unstamped);
        if (!kept)
                return;
        snprintf(kept->line, sizeof(kept->line), "%s: %s: %s; %s%s%s", m->target, m->quota.project, what,
                 walk->stamped ? "stamped" : "not stamped", walk->unstamped[0] ? ": " : "", walk->unstamped);
        kept->repaired = walk->repaired_folders || walk->repaired_files;
}

/* On a network filesystem the storage server sets the limit (`nbmount quota sync`): with
 * quota.enforce required the start goes on only once statfs shows it, best-effort warns. */
static int await_remote_quota(struct mount_run *run, int source_fd, const struct plan_mount *m,
                              const struct node_config *config) {
        struct nb_error problem = {};
        int r;

        if (run->req->quota_enforce == QUOTA_OFF)
                return 0;
        r = netfs_await_limit(source_fd, m->source, &m->quota, config->quota_remote_wait_ms, &problem);
        trace(run, "%s: quota kept by the storage server: %s", m->target, r == 0 ? "its limit is in force" : problem.msg);
        if (r == 0)
                return 0;
        if (run->req->quota_enforce == QUOTA_REQUIRED)
                return nb_fail(run->err, r, "%s: %s", m->target, problem.msg);
        if (!run->result->quota_warning) {
                run->result->quota_warning = true;
                nb_fail(&run->result->warning, 0, "%s: quota not verified (quota.enforce is best-effort): %s", m->target,
                        problem.msg);
        }
        return 0;
}

static bool on_network_fs(int fd) {
        struct statfs sfs;

        return fstatfs(fd, &sfs) == 0 && netfs_type_name(sfs.f_type);
}

static int apply_quota(struct mount_run *run, int source_fd, const struct plan_mount *m,
                       const struct node_config *config) {
        const struct quota_enforce_request req = { .enforce = run->req->quota_enforce,
                                                   .writer_has_cap_sys_resource = run->req->cap_sys_resource,
                                                   .guarded = run->req->quota_guarded };
        struct nb_error warning = {};
        struct quota_walk walk = {};
        int r;

        if (on_network_fs(source_fd))
                return await_remote_quota(run, source_fd, m, config);
        r = quota_enforce_plan(source_fd, m->source, &m->quota, &req, &walk, &warning, run->err);

        if (r < 0)
                return nb_wrap(run->err, r, "%s: ", m->target);
        if (r > 0 && !run->result->quota_warning) {
                run->result->quota_warning = true;
                nb_fail(&run->result->warning, 0, "%s: no quota (quota.enforce is best-effort): %s", m->target,
                        warning.msg);
        }
        if (walk.walked)
                note_walk(run, m, &walk);
        trace(run, "%s: quota %s%s", m->target, r > 0 ? "not enforceable here" : "set",
              r == 0 && !walk.walked ? (req.guarded ? " (its tree's stamp holds)" : " (stamp removed: not guarded)") : "");
        return 0;
}

/* quota.enforce off: the container may leave the project, so the tree's stamp goes. */
static void forget_quota(struct mount_run *run, int source_fd, const struct plan_mount *m) {
        struct nb_error err = {};

        if (quota_tree_unstamp(source_fd, m->source, -1, &err) < 0)
                trace(run, "%s: %s, ignoring", m->target, err.msg);
}

static int prepare_job(struct mount_run *run, const struct plan *plan, const struct node_config *config,
                       const struct plan_mount *m) {
        struct mount_job *job = new_job(run, m);
        _cleanup_close_ int source_fd = open_source(run, plan, config, m);
        int r;

        if (source_fd == -EPERM && run->err->msg[0])
                return nb_wrap(run->err, source_fd, "%s: ", m->target);
        if (source_fd < 0)
                return nb_fail(run->err, source_fd, "%s: cannot use %s: %s", m->target, m->source,
                               source_problem(source_fd));
        if (m->has_quota && (r = apply_quota(run, source_fd, m, config)) < 0)
                return r;
        if (!m->has_quota && (m->kind == MOUNT_NOTEBOOK || m->kind == MOUNT_STORAGE) && !on_network_fs(source_fd))
                forget_quota(run, source_fd, m);
        if (run->no_new_api) {
                job->source_root = source_location(plan, config, m, job->source_relative, sizeof(job->source_relative));
                job->source_fd = TAKE_FD(source_fd);
                run->n_jobs++;
                trace(run, "%s: %s opened", m->target, m->source);
                return 0;
        }
        if ((r = clone_source(source_fd, m->readonly, &job->tree_fd)) < 0)
                return nb_fail(run->err, r, "%s: cannot clone %s: %s", m->target, m->source, strerror(-r));
        run->n_jobs++;
        trace(run, "%s: %s opened and cloned (%s, nosuid, nodev)", m->target, m->source, m->readonly ? "ro" : "rw");
        return 0;
}

/* ---- the container's side: targets --------------------------------------------------------------- */

static int check_procfs(int proc_fd) {
        struct statfs sfs;

        if (fstatfs(proc_fd, &sfs) < 0)
                return -errno;
        return sfs.f_type == PROC_SUPER_MAGIC ? 0 : -EPERM;
}

/* Joins the container's mount namespace (req->mnt_ns_fd); *ret_host_ns_fd brings us back.
 * run->proc_fd keeps the host's /proc, and for mount(2) run->fd_dir_fd its /proc/self/fd. */
static int enter_container(struct mount_run *run, int *ret_host_ns_fd) {
        _cleanup_close_ int host_ns_fd = -1;
        int proc_fd = run->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (proc_fd < 0 || check_procfs(proc_fd) < 0)
                return nb_fail(run->err, EPERM, "/proc is not procfs; nbmount needs the host's /proc");
        if (run->no_new_api && (run->fd_dir_fd = openat(proc_fd, "self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                return nb_fail(run->err, errno, "/proc/self/fd: %s", strerror(errno));
        if ((host_ns_fd = openat(proc_fd, "self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0)
                return nb_fail(run->err, errno, "/proc/self/ns/mnt: %s", strerror(errno));
        if (setns(run->req->mnt_ns_fd, CLONE_NEWNS) < 0)
                return nb_fail(run->err, errno, "cannot join the mount namespace of process %d: %s",
                               (int) run->req->pid, strerror(errno));
        trace(run, "joined the mount namespace of process %d", (int) run->req->pid);
        *ret_host_ns_fd = TAKE_FD(host_ns_fd);
        return 0;
}

static const char *target_problem(int r) {
        switch (-r) {
        case ENOTDIR:
                return "the image has something other than a folder there";
        case EROFS:
                return "the image's root is read-only and lacks the folder; add it to the image";
        case ELOOP:
        case EXDEV:
                return "the image has a symlink there or on the way; nbmount mounts only onto real folders, remove the symlink from the image";
        default:
                return strerror(-r);
        }
}

/* Creates parent/name for a mountpoint and opens it, never through a symlink. */
static int create_mountpoint(struct mount_run *run, int parent_fd, const char *name) {
        struct created_dir *created = &run->created[run->n_created];

        if (mkdirat(parent_fd, name, 0755) < 0)
                return errno == EEXIST ? openat_beneath(parent_fd, name, O_PATH | O_DIRECTORY, 0) : -errno;
        created->parent_fd = fcntl(parent_fd, F_DUPFD_CLOEXEC, 3);
        if (created->parent_fd < 0)
                return -errno;
        name_copy(created->name, name);
        run->n_created++;
        trace(run, "created the mountpoint folder %s", name);
        return openat_beneath(parent_fd, name, O_PATH | O_DIRECTORY, 0);
}

/* Opens target ("/datasets/NAME") inside the root, resolving symlinks as if the root were "/",
 * and creates what is missing one folder at a time. */
static int open_target(struct mount_run *run, int rootfs_fd, const char *target) {
        _cleanup_close_ int dir_fd = -1;
        char prefix[PLAN_TARGET_MAX];
        const char *end = target;

        do {
                int fd, parent_fd = dir_fd >= 0 ? dir_fd : rootfs_fd;
                const char *name = end + 1;

                end = strchrnul(name, '/');
                snprintf(prefix, sizeof(prefix), "%.*s", (int) (end - target), target);
                fd = openat_in_root(rootfs_fd, prefix, O_PATH | O_DIRECTORY);
                if (fd == -ENOENT) {
                        char component[NB_NAME_MAX + 1];

                        snprintf(component, sizeof(component), "%.*s", (int) (end - name), name);
                        fd = create_mountpoint(run, parent_fd, component);
                }
                if (fd < 0)
                        return fd;
                closep(&dir_fd);
                dir_fd = fd;
        } while (*end);
        return TAKE_FD(dir_fd);
}

static bool same_inode(const struct statx *a, const struct statx *b) {
        return a->stx_ino == b->stx_ino && a->stx_dev_major == b->stx_dev_major && a->stx_dev_minor == b->stx_dev_minor;
}

static int inode_of(int fd, struct statx *ret) {
        return statx(fd, "", AT_EMPTY_PATH, STATX_INO, ret) < 0 ? -errno : 0;
}

/* The id of the mount that fd is on, from /proc/self/fdinfo/FD: for kernels before 5.8, whose statx
 * has no STATX_MNT_ID. */
static int mount_id_from_fdinfo(const struct mount_run *run, int fd, __u64 *ret) {
        char relative[32], text[512], *end;
        _cleanup_close_ int info_fd = -1;
        const char *field;
        ssize_t n;

        snprintf(relative, sizeof(relative), "self/fdinfo/%d", fd);
        if ((info_fd = openat(run->proc_fd, relative, O_RDONLY | O_CLOEXEC)) < 0 ||
            (n = read(info_fd, text, sizeof(text) - 1)) < 0)
                return -errno;
        text[n] = '\0';
        if (!(field = strstr(text, "\nmnt_id:")))
                return -ENOTSUP;
        field += strlen("\nmnt_id:");
        errno = 0;
        *ret = strtoull(field, &end, 10);
        return end == field || errno ? -ENOTSUP : 0;
}

/* The inode of fd and the id of its mount (stx_mnt_id). */
static int identify(const struct mount_run *run, int fd, struct statx *ret) {
        if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, ret) < 0)
                return -errno;
        return ret->stx_mask & STATX_MNT_ID ? 0 : mount_id_from_fdinfo(run, fd, &ret->stx_mnt_id);
}

/* The same inode through the same mount. */
static bool same_place(const struct statx *a, const struct statx *b) {
        return same_inode(a, b) && a->stx_mnt_id == b->stx_mnt_id;
}

/* Whether the folder of fd is the root of a mount: statx says so since Linux 5.8; before, a mount's
 * root is on another mount than its "..". */
static int is_mount_root(const struct mount_run *run, int fd, const struct statx *stx, bool *ret) {
        _cleanup_close_ int up_fd = -1;
        struct statx here, up;
        int r;

        if (stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
                *ret = stx->stx_attributes & STATX_ATTR_MOUNT_ROOT;
                return 0;
        }
        if ((up_fd = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                return -errno;
        if ((r = identify(run, fd, &here)) < 0 || (r = identify(run, up_fd, &up)) < 0)
                return r;
        *ret = here.stx_mnt_id != up.stx_mnt_id;
        return 0;
}

/* Refuses two targets that the image makes one folder (a symlink), and spots a mount that an
 * earlier run of the same stage already attached. */
static int check_targets(struct mount_run *run) {
        struct statx source;
        bool mount_root = false;
        int r;

        for (size_t i = 0; i < run->n_jobs; i++) {
                struct mount_job *job = &run->jobs[i];
                int source_fd = job->tree_fd >= 0 ? job->tree_fd : job->source_fd;

                if (job->placeholder)
                        continue;
                if ((r = inode_of(job->target_fd, &job->target)) < 0 || (r = inode_of(source_fd, &source)) < 0 ||
                    (r = is_mount_root(run, job->target_fd, &job->target, &mount_root)) < 0)
                        return nb_fail(run->err, r, "%s: cannot stat: %s", job->planned->target, strerror(-r));
                job->already_there = mount_root && same_inode(&job->target, &source);
                if (mount_root && !job->already_there)
                        return nb_fail(run->err, EBUSY,
                                       "%s is already a mount point in the container (from config.json?); nbmount does not mount over it",
                                       job->planned->target);
                for (size_t k = 0; k < i; k++)
                        if (same_inode(&job->target, &run->jobs[k].target))
                                return nb_fail(run->err, EINVAL,
                                               "%s and %s are the same folder in the image (a symlink?); the image must keep them apart",
                                               run->jobs[k].planned->target, job->planned->target);
        }
        return 0;
}

/* The container's root, opened in its namespace: the folder the hook saw at that path in its own
 * (run->host_rootfs). Another one means the namespace is not this bundle's container's: its process
 * ended and another got its pid, say. */
static int open_rootfs(struct mount_run *run) {
        _cleanup_close_ int fd = -1;
        struct statx seen;

        if (run->req->late) { /* a running container: its root is "/" in its namespace */
                fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0 && inode_of(fd, &seen) == 0 && same_inode(&seen, &run->host_rootfs)) {
                        trace(run, "the container's root is / in its namespace");
                        return TAKE_FD(fd);
                }
                closep(&fd);
        }
        fd = open(run->req->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (run->req->late && (fd < 0 || inode_of(fd, &seen) < 0 || !same_inode(&seen, &run->host_rootfs)))
                return nb_fail(run->err, EPERM,
                               "neither / nor %s is the container's root in the mount namespace of process %d (was its root replaced?); nothing was mounted",
                               run->req->rootfs, (int) run->req->pid);
        if (fd < 0)
                return nb_fail(run->err, errno, "the container's root %s: %s", run->req->rootfs, strerror(errno));
        if (inode_of(fd, &seen) < 0)
                return nb_fail(run->err, errno, "the container's root %s: %s", run->req->rootfs, strerror(errno));
        if (!same_inode(&seen, &run->host_rootfs))
                return nb_fail(run->err, EPERM,
                               "the mount namespace of process %d has another folder at %s than the bundle's root: it is not this container's (did its process end, and another get its pid?); nothing was mounted",
                               (int) run->req->pid, run->req->rootfs);
        return TAKE_FD(fd);
}

static int open_targets(struct mount_run *run) {
        _cleanup_close_ int rootfs_fd = open_rootfs(run);

        if (rootfs_fd < 0)
                return rootfs_fd;
        for (size_t i = 0; i < run->n_jobs; i++) {
                struct mount_job *job = &run->jobs[i];

                job->target_fd = open_target(run, rootfs_fd, job->planned->target);
                if (job->target_fd < 0 && job->placeholder) { /* nbmountd tells why, at its attach */
                        trace(run, "%s: no mountpoint for the pending bucket: %s, ignoring", job->planned->target,
                              target_problem(job->target_fd));
                        continue;
                }
                if (job->target_fd < 0)
                        return nb_fail(run->err, job->target_fd, "%s: cannot make the mountpoint: %s",
                                       job->planned->target, target_problem(job->target_fd));
        }
        return check_targets(run);
}

static int attach_by_move(struct mount_run *run, struct mount_job *job) {
        if (move_mount(job->tree_fd, "", job->target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return nb_fail(run->err, errno, "%s: cannot mount %s: %s", job->planned->target, job->planned->source,
                               strerror(errno));
        job->attached = true;
        return 0;
}

/* ---- the container's side with mount(2) ---------------------------------------------------------- */

/* mount(2) takes paths. While it mounts, the hook's cwd is the host's /proc/self/fd, where the name
 * "N" is the magic link of fd N: the file that fd holds, reached without a path walk that a racing
 * rename could redirect, and without trusting the container namespace's /proc. */
struct fd_path {
        char name[16];
};

/* mount(2) ignores the file system type of a bind, a remount and a propagation change; valgrind
 * (3.19) reports a NULL one as unaddressable. */
#define NO_FSTYPE ""

static struct fd_path fd_path(int fd) {
        struct fd_path path;

        snprintf(path.name, sizeof(path.name), "%d", fd);
        return path;
}

/* mount(2) binds only from a mount of the namespace it mounts in: the source is opened again by its
 * path in the container's namespace (the runtime made it as a copy of its own), never through a
 * symlink, and must be the very folder that was opened and checked in the host's. */
static int reopen_source_in_container(struct mount_run *run, struct mount_job *job) {
        const struct plan_mount *m = job->planned;
        _cleanup_close_ int root_fd = open(job->source_root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
        struct statx here, checked;
        int r;

        if (root_fd < 0)
                return nb_fail(run->err, errno, "%s: %s is not in the container's mount namespace: %s", m->target,
                               job->source_root, strerror(errno));
        if ((fd = openat_beneath(root_fd, job->source_relative, O_PATH | O_DIRECTORY, 0)) < 0)
                return nb_fail(run->err, fd, "%s: %s, in the container's mount namespace: %s", m->target, m->source,
                               source_problem(fd));
        if ((r = inode_of(fd, &here)) < 0 || (r = inode_of(job->source_fd, &checked)) < 0)
                return nb_fail(run->err, r, "%s: cannot stat %s: %s", m->target, m->source, strerror(-r));
        if (!same_inode(&here, &checked))
                return nb_fail(run->err, EXDEV,
                               "%s: %s is not the same folder in the container's mount namespace as in the host's; nbmount mounts only the folder it checked",
                               m->target, m->source);
        job->ns_source_fd = TAKE_FD(fd);
        return 0;
}

/* parent_fd/name, never through a symlink; a lookup by name crosses into a mount on top. */
static int open_child(const struct mount_run *run, int parent_fd, const char *name, int *ret_fd,
                      struct statx *ret) {
        _cleanup_close_ int fd = openat(parent_fd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return -errno;
        if ((r = identify(run, fd, ret)) < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The target is still at parent_fd/name, where open_new_mount will look for the mount made on it. */
static int check_target_in_place(const struct mount_run *run, const struct mount_job *job, int parent_fd,
                                 const char *name) {
        _cleanup_close_ int fd = -1;
        struct statx here, target;
        int r;

        if ((r = open_child(run, parent_fd, name, &fd, &here)) < 0 || (r = identify(run, job->target_fd, &target)) < 0)
                return r;
        return same_place(&here, &target) ? 0 : -ESTALE;
}

/* After the bind, the target fd still holds the folder underneath the new mount. Its name in its
 * parent leads to the mount on top, which is ours only if it is a mount of the source, another than
 * the parent's and the source's own, and hangs right under the parent (its ".." is the parent).
 * Only the host's root can rename in the container's root during a start; a rename meanwhile fails
 * these checks instead of leading the flags, or the rollback, onto another mount. */
static int open_new_mount(const struct mount_run *run, const struct mount_job *job, int parent_fd, const char *name,
                          int *ret_fd) {
        _cleanup_close_ int fd = -1, up_fd = -1;
        struct statx mount, parent, up, source;
        int r;

        if ((r = open_child(run, parent_fd, name, &fd, &mount)) < 0)
                return r;
        if ((up_fd = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                return -errno;
        if ((r = identify(run, up_fd, &up)) < 0 || (r = identify(run, parent_fd, &parent)) < 0 ||
            (r = identify(run, job->ns_source_fd, &source)) < 0)
                return r;
        if (!same_inode(&mount, &source) || mount.stx_mnt_id == parent.stx_mnt_id ||
            mount.stx_mnt_id == source.stx_mnt_id || !same_place(&up, &parent))
                return -ESTALE;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* A bind remount sets every per-mount flag at once: those of the source's mount stay, as they do
 * with mount_setattr, which only adds. statfs's ST_ and mount(2)'s MS_ values differ for relatime. */
static const struct {
        unsigned long statfs_flag, mount_flag;
} per_mount_flags[] = {
        { ST_RDONLY, MS_RDONLY },     { ST_NOSUID, MS_NOSUID },         { ST_NODEV, MS_NODEV },
        { ST_NOEXEC, MS_NOEXEC },     { ST_NOATIME, MS_NOATIME },       { ST_NODIRATIME, MS_NODIRATIME },
        { ST_RELATIME, MS_RELATIME },
};

/* Private propagation, then nosuid, nodev (datasets also ro) by a bind remount; read back, so that a
 * dataset never ends up writable. Returns -EIO when the flags did not take. */
static int set_flags_by_remount(const struct mount_job *job) {
        const struct fd_path path = fd_path(job->mount_fd);
        unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | (job->planned->readonly ? MS_RDONLY : 0);
        unsigned long wanted = ST_NOSUID | ST_NODEV | (job->planned->readonly ? ST_RDONLY : 0);
        struct statfs sfs;

        if (mount(NULL, path.name, NO_FSTYPE, MS_PRIVATE, NULL) < 0 || fstatfs(job->mount_fd, &sfs) < 0)
                return -errno;
        for (size_t i = 0; i < ARRAY_SIZE(per_mount_flags); i++)
                if ((unsigned long) sfs.f_flags & per_mount_flags[i].statfs_flag)
                        flags |= per_mount_flags[i].mount_flag;
        if (mount(NULL, path.name, NO_FSTYPE, flags, NULL) < 0 || fstatfs(job->mount_fd, &sfs) < 0)
                return -errno;
        return ((unsigned long) sfs.f_flags & wanted) == wanted ? 0 : -EIO;
}

/* Binds the source onto the target, finds the new mount and sets its flags. The container does not
 * run yet: nothing in it sees the mount before its flags are set. */
static int attach_by_bind(struct mount_run *run, struct mount_job *job) {
        const struct plan_mount *m = job->planned;
        const char *name = strrchr(m->target, '/') + 1;
        _cleanup_close_ int parent_fd = openat(job->target_fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r = parent_fd < 0 ? -errno : check_target_in_place(run, job, parent_fd, name);

        if (r < 0)
                return nb_fail(run->err, r, "%s: the mountpoint moved during the start: %s", m->target, strerror(-r));
        if ((r = reopen_source_in_container(run, job)) < 0)
                return r;
        if (mount(fd_path(job->ns_source_fd).name, fd_path(job->target_fd).name, NO_FSTYPE, MS_BIND, NULL) < 0)
                return nb_fail(run->err, errno, "%s: cannot mount %s: %s", m->target, m->source, strerror(errno));
        if ((r = open_new_mount(run, job, parent_fd, name, &job->mount_fd)) < 0)
                return nb_fail(run->err, r,
                               "%s: mounted %s but cannot find the new mount again (%s): it stays in the container's mount namespace, which goes with the refused container",
                               m->target, m->source, strerror(-r));
        job->attached = true;
        if ((r = set_flags_by_remount(job)) < 0)
                return nb_fail(run->err, r, "%s: cannot make %s %s, nosuid, nodev: %s", m->target, m->source,
                               m->readonly ? "ro" : "rw", r == -EIO ? "the kernel did not apply the flags" : strerror(-r));
        return 0;
}

/* ---- both ways ------------------------------------------------------------------------------------ */

static int attach_all(struct mount_run *run, size_t *ret_mounted) {
        size_t mounted = 0;
        int r;

        for (size_t i = 0; i < run->n_jobs; i++) {
                struct mount_job *job = &run->jobs[i];

                if (job->placeholder)
                        continue;
                if (job->already_there) {
                        trace(run, "%s: already mounted by an earlier run, left as is", job->planned->target);
                        continue;
                }
                if ((r = run->no_new_api ? attach_by_bind(run, job) : attach_by_move(run, job)) < 0)
                        return r;
                mounted++;
                if (run->no_new_api)
                        trace(run, "%s: mounted %s by mount(2) (%s, nosuid, nodev)", job->planned->target,
                              job->planned->source, job->planned->readonly ? "ro" : "rw");
                else
                        trace(run, "%s: mounted %s", job->planned->target, job->planned->source);
        }
        *ret_mounted = mounted;
        return 0;
}

/* Undoes what this run did in the container: its mounts, then the folders it created. */
static void roll_back(struct mount_run *run) {
        char path[64];

        for (size_t i = run->n_jobs; i-- > 0;) {
                const struct mount_job *job = &run->jobs[i];

                if (!job->attached)
                        continue;
                if (run->no_new_api) /* relative to the cwd, the host's /proc/self/fd */
                        snprintf(path, sizeof(path), "%d", job->mount_fd);
                else
                        snprintf(path, sizeof(path), "/proc/self/fd/%d", job->tree_fd);
                if (umount2(path, MNT_DETACH) < 0)
                        trace(run, "%s: cannot unmount: %m, ignoring", job->planned->target);
                else
                        trace(run, "%s: unmounted", job->planned->target);
        }
        for (size_t i = run->n_created; i-- > 0;)
                if (unlinkat(run->created[i].parent_fd, run->created[i].name, AT_REMOVEDIR) < 0)
                        trace(run, "cannot remove the mountpoint folder %s: %m, ignoring", run->created[i].name);
}

/* The bundle's root as the hook's own namespace shows it, to know it again in the container's. */
static int identify_host_rootfs(struct mount_run *run) {
        _cleanup_close_ int fd = run->req->late ? fcntl(run->req->rootfs_fd, F_DUPFD_CLOEXEC, 3)
                                                : open(run->req->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || inode_of(fd, &run->host_rootfs) < 0)
                return nb_fail(run->err, errno, "the container's root %s (root.path of config.json): %s", run->req->rootfs,
                               strerror(errno));
        return 0;
}

static int apply_in_container(struct mount_run *run, size_t *ret_mounted) {
        _cleanup_close_ int host_ns_fd = -1;
        int r;

        if ((r = identify_host_rootfs(run)) < 0 || (r = enter_container(run, &host_ns_fd)) < 0)
                return r;
        /* joining reset the cwd to the namespace's root; going back resets it to the host's */
        if (run->no_new_api && fchdir(run->fd_dir_fd) < 0)
                r = nb_fail(run->err, errno, "cannot change to the host's /proc/self/fd: %s", strerror(errno));
        if (r >= 0)
                r = open_targets(run);
        if (r >= 0)
                r = attach_all(run, ret_mounted);
        if (r < 0)
                roll_back(run);
        if (setns(host_ns_fd, CLONE_NEWNS) < 0 && r >= 0)
                r = nb_fail(run->err, errno, "cannot return to the host's mount namespace: %s", strerror(errno));
        return r;
}

int mounts_apply(const struct plan *plan, const struct node_config *config, const struct mount_request *req,
                 struct mount_result *ret, struct nb_error *err) {
        _cleanup_(mount_run_free) struct mount_run *run = calloc(1, sizeof(*run));
        int r;

        if (!run)
                return nb_fail(err, ENOMEM, "out of memory");
        *ret = (struct mount_result) {};
        *run = (struct mount_run) { .req = req, .result = ret, .err = err, .proc_fd = -1, .fd_dir_fd = -1 };
        err->msg[0] = '\0';
        choose_mount_api(run);
        for (size_t i = 0; i < plan->n_mounts; i++) {
                const struct plan_mount *m = &plan->mounts[i];

                if (!m->granted && m->pending && m->kind == MOUNT_S3) {
                        new_job(run, m)->placeholder = true;
                        run->n_jobs++;
                        continue;
                }
                if (!m->granted)
                        continue;
                r = m->kind == MOUNT_S3 ? prepare_s3_job(run, m, req->s3_tree_fds ? req->s3_tree_fds[i] : -1)
                                        : prepare_job(run, plan, config, m);
                if (r < 0)
                        return r;
        }
        if (run->n_jobs == 0)
                return 0;
        return apply_in_container(run, &ret->mounted);
}
