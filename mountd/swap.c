/* SPDX-License-Identifier: Apache-2.0 */
/* Swapping a new S3 mount in for a dead (or rotated) one inside a running container, without ever
 * leaving its folder empty: a forked child joins the container's mount namespace, finds the target in
 * the container's root without following a symlink, checks that the mount there is still the old one
 * (its device, read without asking FUSE: a dead mount answers nothing), moves the new clone beneath
 * it (MOVE_MOUNT_BENEATH, Linux 6.5) and detaches the old one from on top. On an older kernel the new
 * mount goes on top and the dead one stays hidden below it until the container ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "mount.h"
#include "mountd.h"
#include "safeopen.h"
#include "util.h"

#ifndef MOVE_MOUNT_BENEATH
#define MOVE_MOUNT_BENEATH 0x00000200
#endif

static void report(int fd, const char *target, const char *what) {
        char line[MOUNTD_TARGET_MAX + 160];
        int n = snprintf(line, sizeof(line), "%s: %s\n", target, what);

        if (n > 0 && write(fd, line, MIN((size_t) n, sizeof(line) - 1)) < 0)
                _exit(2);
}

/* Detaches the mount whose root fd is, without a path the container could change: through the
 * host's /proc (proc_fd, opened before joining the container's namespace), as chdir into a dead FUSE
 * root would ask FUSE for permission. */
static int detach_by_fd(int proc_fd, int fd) {
        char path[48];

        snprintf(path, sizeof(path), "self/fd/%d", fd);
        if (fchdir(proc_fd) < 0 || umount2(path, MNT_DETACH) < 0)
                return -errno;
        return 0;
}

/* In the child, in the container's mount namespace: 0 replaced, 1 left alone (not the old mount). */
static int swap_one(int root_fd, int proc_fd, const char *target, int tree_fd, uint64_t old_dev, int report_fd) {
        const unsigned move_flags = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
        _cleanup_close_ int fd = openat_in_root(root_fd, target, O_PATH | O_DIRECTORY);
        struct statx stx;

        if (fd < 0)
                return report(report_fd, target, fd == -ENOENT ? "not there any more: left alone" : "cannot be opened without following a symlink: left alone"), 1;
        if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
                return report(report_fd, target, "cannot be examined: left alone"), 1;
        if (!(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) || makedev(stx.stx_dev_major, stx.stx_dev_minor) != old_dev)
                return report(report_fd, target, "holds another mount than the old one: left alone"), 1;
        if (move_mount(tree_fd, "", fd, "", move_flags | MOVE_MOUNT_BENEATH) == 0) {
                if (detach_by_fd(proc_fd, fd) < 0)
                        report(report_fd, target, "the new mount is beneath, the old one could not be detached");
                return 0;
        }
        if (errno != EINVAL || move_mount(tree_fd, "", fd, "", move_flags) < 0)
                return report(report_fd, target, strerror(errno)), 1;
        report(report_fd, target, "this kernel cannot mount beneath (Linux 6.5): the new mount is on top of the old one");
        return 0;
}

__attribute__((noreturn)) static void swap_child(int mnt_ns_fd, int root_fd, int proc_fd, const struct swap_job *job,
                                                 const int *tree_fds, int report_fd) {
        int replaced = 0;

        if (setns(mnt_ns_fd, CLONE_NEWNS) < 0) {
                report(report_fd, "(container)", "cannot join its mount namespace");
                _exit(1);
        }
        for (unsigned i = 0; i < job->n_targets; i++)
                replaced += swap_one(root_fd, proc_fd, job->targets[i], tree_fds[i], job->old_dev, report_fd) == 0;
        _exit(replaced == (int) job->n_targets ? 0 : 1);
}

static void close_all(int *fds, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                closep(&fds[i]);
}

/* Detached clones of the new mount, one per target, with the flags the hook gives them. */
static int clone_for_targets(const char *mountpoint, const struct swap_job *job, int *ret_fds) {
        for (unsigned i = 0; i < job->n_targets; i++) {
                int r;

                ret_fds[i] = open_tree(AT_FDCWD, mountpoint, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
                if (ret_fds[i] < 0)
                        return -errno;
                if ((r = mount_tree_set_flags(ret_fds[i], job->read_only)) < 0)
                        return r;
        }
        return 0;
}

static int run_child(const struct container_process *c, int root_fd, const struct swap_job *job, const int *tree_fds,
                     char *text, size_t size) {
        _cleanup_close_ int proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int pipe_fds[2] = { -1, -1 }, status = 0;
        pid_t pid;

        text[0] = '\0';
        if (proc_fd < 0 || pipe2(pipe_fds, O_CLOEXEC) < 0)
                return -errno;
        if ((pid = fork()) < 0) {
                close_all(pipe_fds, 2);
                return -errno;
        }
        if (pid == 0) {
                close(pipe_fds[0]);
                swap_child(c->mnt_ns_fd, root_fd, proc_fd, job, tree_fds, pipe_fds[1]);
        }
        closep(&pipe_fds[1]);
        child_report_read(pipe_fds[0], text, size);
        closep(&pipe_fds[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int swap_in_container(const struct swap_job *job, const char *new_mountpoint, char *details, size_t size,
                      struct nb_error *err) {
        struct container_process c = { .pidfd = -1, .proc_pid_fd = -1, .mnt_ns_fd = -1 };
        int tree_fds[MOUNT_REF_TARGETS];
        _cleanup_close_ int root_fd = -1;
        int r;

        for (unsigned i = 0; i < MOUNT_REF_TARGETS; i++)
                tree_fds[i] = -1;
        details[0] = '\0';
        if (job->n_targets == 0)
                return nb_fail(err, ENOENT, "container %s: its hook did not say where the bucket is (a hook older than nbmountd's healing); restart it",
                               job->container);
        if ((r = container_process_open(job->pid, &c, err)) < 0)
                return nb_wrap(err, r, "container %s stopped: ", job->container);
        if (!process_is(job->pid, job->start_time))
                r = nb_fail(err, ESRCH, "container %s stopped: its init process %d is gone", job->container, (int) job->pid);
        else if ((root_fd = openat(c.proc_pid_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = nb_fail(err, errno, "container %s: cannot open its root: %s", job->container, strerror(errno));
        else if ((r = clone_for_targets(new_mountpoint, job, tree_fds)) < 0)
                r = nb_fail(err, r, "%s: cannot clone the new mount: %s", new_mountpoint, strerror(-r));
        else if ((r = run_child(&c, root_fd, job, tree_fds, details, size)) < 0 && r != -EIO)
                r = nb_fail(err, r, "container %s: cannot run the swapping child: %s", job->container, strerror(-r));
        else if (r < 0)
                r = nb_fail(err, EIO, "container %s: %s", job->container, details[0] ? details : "the swapping child failed");
        close_all(tree_fds, job->n_targets);
        container_process_close(&c);
        return r;
}
