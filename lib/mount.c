#include "mount.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "quota.h"
#include "safeopen.h"
#include "util.h"

/* One mount of the plan on its way into the container. */
struct mount_job {
        const struct plan_mount *planned;
        int tree_fd;        /* the detached clone of the source */
        int target_fd;      /* the mountpoint inside the container's root */
        struct statx target;
        bool already_there; /* an earlier run of the hook attached this very source: leave it */
        bool attached;
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
                closep(&(*run)->jobs[i].target_fd);
        }
        for (size_t i = 0; i < (*run)->n_created; i++)
                closep(&(*run)->created[i].parent_fd);
        free(*run);
}

/* ---- the host's side: sources ------------------------------------------------------------------ */

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

static int set_mount_flags(int tree_fd, bool readonly) {
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
        if ((r = set_mount_flags(tree_fd, readonly)) < 0)
                return r;
        *ret_tree_fd = TAKE_FD(tree_fd);
        return 0;
}

/* nbmountd's detached clone of a shared S3 mount: only its flags are set here. */
static int prepare_s3_job(struct mount_run *run, const struct plan_mount *m, int tree_fd) {
        struct mount_job *job = &run->jobs[run->n_jobs];
        int r;

        *job = (struct mount_job) { .planned = m, .tree_fd = -1, .target_fd = -1 };
        if (tree_fd < 0)
                return nb_fail(run->err, EINVAL, "%s: nbmountd gave no mount for %s", m->target, m->source);
        if ((job->tree_fd = fcntl(tree_fd, F_DUPFD_CLOEXEC, 3)) < 0)
                return nb_fail(run->err, errno, "%s: %s", m->target, strerror(errno));
        run->n_jobs++;
        if ((r = set_mount_flags(job->tree_fd, m->readonly)) < 0)
                return nb_fail(run->err, r, "%s: cannot set the flags of %s: %s", m->target, m->source, strerror(-r));
        trace(run, "%s: %s from nbmountd (%s, nosuid, nodev)", m->target, m->source, m->readonly ? "ro" : "rw");
        return 0;
}

static int apply_quota(struct mount_run *run, int source_fd, const struct plan_mount *m) {
        struct nb_error warning = {};
        int r = quota_enforce_plan(source_fd, m->source, &m->quota, run->req->quota_enforce,
                                   run->req->cap_sys_resource, &warning, run->err);

        if (r < 0)
                return nb_wrap(run->err, r, "%s: ", m->target);
        if (r > 0 && !run->result->quota_warning) {
                run->result->quota_warning = true;
                nb_fail(&run->result->warning, 0, "%s: no quota (quota.enforce is best-effort): %s", m->target,
                        warning.msg);
        }
        trace(run, "%s: quota %s", m->target, r > 0 ? "not enforceable here" : "set");
        return 0;
}

static int prepare_job(struct mount_run *run, const struct plan *plan, const struct node_config *config,
                       const struct plan_mount *m) {
        struct mount_job *job = &run->jobs[run->n_jobs];
        _cleanup_close_ int source_fd = open_source(run, plan, config, m);
        int r;

        *job = (struct mount_job) { .planned = m, .tree_fd = -1, .target_fd = -1 };
        if (source_fd == -EPERM && run->err->msg[0])
                return nb_wrap(run->err, source_fd, "%s: ", m->target);
        if (source_fd < 0)
                return nb_fail(run->err, source_fd, "%s: cannot use %s: %s", m->target, m->source,
                               source_problem(source_fd));
        if (m->has_quota && (r = apply_quota(run, source_fd, m)) < 0)
                return r;
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

/* Joins the mount namespace of req->pid; *ret_host_ns_fd brings us back. */
static int enter_container(struct mount_run *run, int *ret_host_ns_fd) {
        _cleanup_close_ int proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC), ns_fd = -1, host_ns_fd = -1;
        char relative[32];
        struct stat container_ns, host_ns;

        if (proc_fd < 0 || check_procfs(proc_fd) < 0)
                return nb_fail(run->err, EPERM, "/proc is not procfs; nbmount needs the host's /proc");
        snprintf(relative, sizeof(relative), "%d/ns/mnt", (int) run->req->pid);
        ns_fd = openat(proc_fd, relative, O_RDONLY | O_CLOEXEC);
        host_ns_fd = openat(proc_fd, "self/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (ns_fd < 0 || host_ns_fd < 0)
                return nb_fail(run->err, errno, "/proc/%s: %s; is the container's process %d still there?", relative,
                               strerror(errno), (int) run->req->pid);
        if (fstat(ns_fd, &container_ns) < 0 || fstat(host_ns_fd, &host_ns) < 0)
                return nb_fail(run->err, errno, "/proc/%s: %s", relative, strerror(errno));
        if (container_ns.st_ino == host_ns.st_ino && container_ns.st_dev == host_ns.st_dev)
                return nb_fail(run->err, EPERM,
                               "process %d shares nbmount's mount namespace; call nbmount as a createRuntime hook",
                               (int) run->req->pid);
        if (setns(ns_fd, CLONE_NEWNS) < 0)
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
        return statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, ret) < 0 ? -errno : 0;
}

/* Refuses two targets that the image makes one folder (a symlink), and spots a mount that an
 * earlier run of the same stage already attached. */
static int check_targets(struct mount_run *run) {
        struct statx source;

        for (size_t i = 0; i < run->n_jobs; i++) {
                struct mount_job *job = &run->jobs[i];

                if (inode_of(job->target_fd, &job->target) < 0 || inode_of(job->tree_fd, &source) < 0)
                        return nb_fail(run->err, errno, "%s: cannot stat: %s", job->planned->target, strerror(errno));
                bool mount_root = job->target.stx_attributes & STATX_ATTR_MOUNT_ROOT;

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

static int open_targets(struct mount_run *run) {
        _cleanup_close_ int rootfs_fd = open(run->req->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (rootfs_fd < 0)
                return nb_fail(run->err, errno, "the container's root %s: %s", run->req->rootfs, strerror(errno));
        for (size_t i = 0; i < run->n_jobs; i++) {
                struct mount_job *job = &run->jobs[i];

                job->target_fd = open_target(run, rootfs_fd, job->planned->target);
                if (job->target_fd < 0)
                        return nb_fail(run->err, job->target_fd, "%s: cannot make the mountpoint: %s",
                                       job->planned->target, target_problem(job->target_fd));
        }
        return check_targets(run);
}

static int attach_all(struct mount_run *run, size_t *ret_mounted) {
        size_t mounted = 0;

        for (size_t i = 0; i < run->n_jobs; i++) {
                struct mount_job *job = &run->jobs[i];

                if (job->already_there) {
                        trace(run, "%s: already mounted by an earlier run, left as is", job->planned->target);
                        continue;
                }
                if (move_mount(job->tree_fd, "", job->target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        return nb_fail(run->err, errno, "%s: cannot mount %s: %s", job->planned->target,
                                       job->planned->source, strerror(errno));
                job->attached = true;
                mounted++;
                trace(run, "%s: mounted %s", job->planned->target, job->planned->source);
        }
        *ret_mounted = mounted;
        return 0;
}

/* Undoes what this run did in the container: its mounts, then the folders it created. */
static void roll_back(struct mount_run *run) {
        char path[64];

        for (size_t i = run->n_jobs; i-- > 0;) {
                if (!run->jobs[i].attached)
                        continue;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", run->jobs[i].tree_fd);
                if (umount2(path, MNT_DETACH) < 0)
                        trace(run, "%s: cannot unmount: %m, ignoring", run->jobs[i].planned->target);
        }
        for (size_t i = run->n_created; i-- > 0;)
                if (unlinkat(run->created[i].parent_fd, run->created[i].name, AT_REMOVEDIR) < 0)
                        trace(run, "cannot remove the mountpoint folder %s: %m, ignoring", run->created[i].name);
}

static int apply_in_container(struct mount_run *run, size_t *ret_mounted) {
        _cleanup_close_ int host_ns_fd = -1;
        int r;

        if ((r = enter_container(run, &host_ns_fd)) < 0)
                return r;
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
        *run = (struct mount_run) { .req = req, .result = ret, .err = err };
        err->msg[0] = '\0';
        for (size_t i = 0; i < plan->n_mounts; i++) {
                const struct plan_mount *m = &plan->mounts[i];

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
