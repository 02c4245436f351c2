/* SPDX-License-Identifier: Apache-2.0 */
/* The late attach: a bucket that was pending at the container's start goes into the running
 * container once it answers. nbmountd has threads, and setns(CLONE_NEWNS) refuses a process whose
 * fs_struct is shared: a forked child joins the container's mount namespace and attaches with
 * lib/mount.c's own rules (target resolved in the container's root without symlinks, missing
 * mountpoint folders made, nosuid, nodev, ro as asked, rolled back on failure); its error text comes
 * back over a pipe. The parent first makes sure the container's init is still the process the hook
 * named (pid + start time, held by a pidfd). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "mount.h"
#include "mountd.h"
#include "plan.h"
#include "util.h"

/* A plan of one S3 mount (large: allocated before the fork). */
static struct plan *one_mount_plan(const struct pending *p) {
        struct plan *plan = calloc(1, sizeof(*plan));
        struct plan_mount *m;

        if (!plan)
                return NULL;
        plan->n_mounts = 1;
        m = &plan->mounts[0];
        snprintf(m->target, sizeof(m->target), "%s", p->req.target);
        s3_spec_url(&p->req.spec, m->source, sizeof(m->source));
        m->kind = MOUNT_S3;
        m->readonly = p->req.spec.read_only;
        m->granted = true;
        return plan;
}

/* In the child: attach, and write the error text (if any) to report_fd. Never returns. */
__attribute__((noreturn)) static void attach_child(const struct mountd *d, const struct plan *plan,
                                                   const struct mount_request *req, int report_fd) {
        struct mount_result result;
        struct nb_error err = {};
        int r = mounts_apply(plan, &d->config, req, &result, &err);

        if (r < 0 && write(report_fd, err.msg, strlen(err.msg)) < 0)
                _exit(2);
        _exit(r < 0 ? 1 : 0);
}

/* The child's verdict: 0, or -EIO with its text in err. */
static int wait_child(pid_t pid, int report_fd, const char *target, struct nb_error *err) {
        char text[NB_ERROR_MAX];
        int status = 0;

        child_report_read(report_fd, text, sizeof(text));
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return nb_fail(err, errno, "%s: cannot wait for the attaching child: %s", target, strerror(errno));
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (text[0])
                return nb_fail(err, EIO, "%s", text);
        return nb_fail(err, EIO, "%s: the attaching child %s %d", target,
                       WIFSIGNALED(status) ? "was killed by signal" : "exited with", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

int attach_late(const struct mountd *d, const struct pending *p, int tree_fd, struct nb_error *err) {
        struct container_process c = { .pidfd = -1, .proc_pid_fd = -1, .mnt_ns_fd = -1 };
        _cleanup_free_ struct plan *plan = one_mount_plan(p);
        const int tree_fds[1] = { tree_fd };
        int pipe_fds[2] = { -1, -1 };
        pid_t pid;
        int r;

        if (!plan)
                return nb_fail(err, ENOMEM, "out of memory");
        if ((r = container_process_open(p->req.pid, &c, err)) < 0)
                return nb_wrap(err, r, "the container stopped: ");
        if (!process_is(p->req.pid, p->start_time)) {
                container_process_close(&c);
                return nb_fail(err, ESRCH, "the container stopped: its init process %d is gone", (int) p->req.pid);
        }
        const struct mount_request req = {
                .pid = p->req.pid,
                .mnt_ns_fd = c.mnt_ns_fd,
                .rootfs = p->req.rootfs,
                .late = true,
                .rootfs_fd = p->rootfs_fd,
                .uid = p->req.spec.uid,
                .gid = p->req.spec.gid,
                .quota_enforce = d->config.quota_enforce,
                .debug = d->debug,
                .s3_tree_fds = tree_fds,
        };
        if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
                r = nb_fail(err, errno, "cannot make a pipe: %s", strerror(errno));
        } else if ((pid = fork()) < 0) {
                r = nb_fail(err, errno, "cannot fork the attaching child: %s", strerror(errno));
        } else if (pid == 0) {
                close(pipe_fds[0]);
                attach_child(d, plan, &req, pipe_fds[1]);
        } else {
                closep(&pipe_fds[1]);
                r = wait_child(pid, pipe_fds[0], p->req.target, err);
        }
        closep(&pipe_fds[0]);
        closep(&pipe_fds[1]);
        container_process_close(&c);
        return r;
}
