/* SPDX-License-Identifier: Apache-2.0 */
/* The hook's side of nbmountd: a shared mount per S3 entry of the plan, released at poststop. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "nodeconfig.h"
#include "plan.h"

struct s3_holder {
        const char *container; /* the OCI state's id */
        pid_t pid;             /* the container's init */
        uid_t uid;             /* the container user on the host: owner of the files shown */
        gid_t gid;
        bool debug;
};

/* Asks nbmountd for every granted S3 mount of plan; tree_fds[i] gets the mount of plan->mounts[i]
 * (-1 for other kinds). On failure every reference taken is released and no fd stays open. */
int s3_acquire_all(const struct plan *plan, const struct node_config *config, const struct s3_holder *holder,
                   int tree_fds[PLAN_MAX_MOUNTS], struct nb_error *err);

/* Drops every reference of the container; quiet when nbmountd is not running. */
void s3_release_all(const struct node_config *config, const char *container, bool debug);

bool plan_has_s3(const struct plan *plan);
void close_tree_fds(int tree_fds[PLAN_MAX_MOUNTS]);
