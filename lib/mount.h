/* SPDX-License-Identifier: Apache-2.0 */
/* Applying a plan: every source is opened, checked and cloned in the host's mount namespace
 * (open_tree, mount_setattr), then attached in the container's mount namespace onto targets
 * resolved inside its root filesystem (openat2 RESOLVE_IN_ROOT, move_mount). All or nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "nodeconfig.h"
#include "plan.h"

struct mount_request {
        pid_t pid;          /* the container's init, for messages */
        int mnt_ns_fd;      /* its mount namespace (container.h), which is joined */
        const char *rootfs; /* the root filesystem's absolute path: in the container's namespace it must
                               be the very folder it is in the hook's (same device and inode) */
        /* nbmountd attaching a bucket into a container that may already run (pivot_root done): the
         * root is known by rootfs_fd, opened in the host's namespace when the hook asked, and in the
         * container's namespace it is "/" or rootfs, whichever is that very folder; nothing else. */
        bool late;
        int rootfs_fd;      /* late only */
        uid_t uid;          /* owner of a notebook or team folder created on first use */
        gid_t gid;
        enum quota_enforce quota_enforce;
        bool cap_sys_resource; /* the container may hold CAP_SYS_RESOURCE (ext4 lets it past quotas) */
        bool quota_guarded;    /* the container cannot leave a quota project (user namespace, seccomp) */
        bool debug;         /* trace every step on stderr */
        const int *s3_tree_fds; /* [i]: nbmountd's mount for plan->mounts[i] of kind MOUNT_S3 */
};

#define MOUNT_MAX_WALKS 2 /* /notebooks and /storage */

/* A folder whose tree this start walked (quotatree.h), for the log. */
struct mount_walk {
        char line[PLAN_REASON_MAX]; /* "/storage: team.acme: walked ...: repaired ...; stamped" */
        bool repaired;              /* something was out of its project */
};

struct mount_result {
        size_t mounted;             /* mounts attached (one already in place from an earlier run is not) */
        bool quota_warning;         /* best-effort quotas could not be enforced: */
        struct nb_error warning;    /* why */
        size_t n_walks;
        struct mount_walk walks[MOUNT_MAX_WALKS];
};

/* Mounts every granted notebook, storage, dataset and S3 mount of plan, after setting the quotas the
 * plan gives notebook and team folders, and makes the mountpoint of every pending S3 entry (nbmountd
 * attaches it later, when the image's root may be read-only; a problem there is left to it). On failure nothing stays mounted or created in the
 * container, and err names the mount and the cause. */
int mounts_apply(const struct plan *plan, const struct node_config *config, const struct mount_request *req,
                 struct mount_result *ret, struct nb_error *err);

/* The flags every mount the hook attaches has (nosuid, nodev, private; ro as asked), on a detached tree. */
int mount_tree_set_flags(int tree_fd, bool readonly);
