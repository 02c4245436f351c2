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
        pid_t pid;          /* the container's init: its /proc/PID/ns/mnt is joined */
        const char *rootfs; /* the root filesystem's absolute path, as the container's namespace sees it */
        uid_t uid;          /* owner of a notebook or team folder created on first use */
        gid_t gid;
        bool debug;         /* trace every step on stderr */
};

/* Mounts every granted notebook, storage and dataset mount of plan. On failure nothing stays
 * mounted or created in the container, and err names the mount and the cause. *ret_mounted
 * counts the mounts attached (a mount already in place from an earlier run is not counted). */
int mounts_apply(const struct plan *plan, const struct node_config *config, const struct mount_request *req,
                 size_t *ret_mounted, struct nb_error *err);
