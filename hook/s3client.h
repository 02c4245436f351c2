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
        const char *rootfs;    /* the container's root as the hook sees it (nbmountd attaches late there) */
        bool may_skip;         /* settings.on_error skip: a bucket may be skipped or left pending */
        bool debug;
};

enum s3_outcome { S3_NOT_S3, S3_MOUNTED, S3_PENDING, S3_SKIPPED };

/* What became of plan->mounts[i]. */
struct s3_result {
        enum s3_outcome outcome;
        int tree_fd;   /* S3_MOUNTED: nbmountd's detached mount, for mounts_apply */
        int conn_fd;   /* S3_PENDING: the connection nbmountd waits on for s3_commit_pending() */
        char reason[PLAN_REASON_MAX]; /* S3_SKIPPED: why (nbmountd's words); S3_PENDING: what it waits for */
};

/* With holder->may_skip, sends the request for every granted S3 mount of plan at once (a bucket
 * nbmountd cannot be asked for is S3_SKIPPED at once), so that nbmountd works while the hook goes on;
 * s3_acquire_all() reads the answers. Without it, only sets every result to S3_NOT_S3. */
void s3_ask_all(const struct plan *plan, const struct node_config *config, const struct s3_holder *holder,
                struct s3_result results[PLAN_MAX_MOUNTS]);
/* After s3_ask_all(): a shared mount for every granted S3 mount of plan. Without holder->may_skip:
 * asked one by one, all or nothing, each waited for up to s3.mount_timeout; on failure every
 * reference taken is released and no fd stays open. With it: the answers to s3_ask_all()'s
 * requests: a bucket that fails is S3_SKIPPED with the reason, one not ready within s3.start_wait
 * is S3_PENDING (nbmountd attaches it into the running container later); it returns 0, also when
 * nbmountd could not be asked at all (every entry is then S3_SKIPPED with that reason). */
int s3_acquire_all(const struct plan *plan, const struct node_config *config, const struct s3_holder *holder,
                   struct s3_result results[PLAN_MAX_MOUNTS], struct nb_error *err);
/* The start went through (the status file is written): nbmountd may attach the pending buckets.
 * Closes every connection; a start that fails closes them with s3_results_close() instead, and
 * nbmountd then attaches nothing. */
void s3_commit_pending(struct s3_result results[PLAN_MAX_MOUNTS]);
void s3_results_close(struct s3_result results[PLAN_MAX_MOUNTS]);
/* Every result S3_NOT_S3, with no fd. */
void s3_results_init(struct s3_result results[PLAN_MAX_MOUNTS]);

/* Drops every reference of the container; quiet when nbmountd is not running. */
void s3_release_all(const struct node_config *config, const char *container, bool debug);

/* Poststop with node.yaml bucket_storage: asks nbmountd for the notebook's offline copy and returns
 * at once (nbmountd copies later); a warning in syslog when nbmountd cannot be asked. */
void s3_offline_request(const struct node_config *config, const char *container, const char *team,
                        const char *notebook, bool debug);

bool plan_has_s3(const struct plan *plan);

