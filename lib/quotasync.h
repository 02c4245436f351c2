/* SPDX-License-Identifier: Apache-2.0 */
/* `nbmount quota sync` on the storage server, whose filesystem holds the roots that the nodes mount
 * over the network (netfs.h): every team folder of its cluster (STORAGE/CLUSTER/TEAM) and every
 * notebook folder (NOTEBOOKS/TEAM/NOTEBOOK) in its project (the registry, quota.h; the tree,
 * quotatree.h) with the limits of the team's plan from the grants folder, as the hook sets them on
 * a local filesystem. A team without grants, with a plan the config does not define, or (for its
 * storage) without storage on this cluster is frozen: limits of 1 KiB and 1 file, nothing new can
 * be written; nothing is deleted. A grants file that cannot be read leaves its folders as they are.
 *
 * Every step is idempotent and each leaves a consistent state (the registry is renamed into place;
 * a walk cut short is redone because its stamp is missing), so a pass killed at any point is
 * completed by the next one. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "nodeconfig.h"

#define QUOTA_FROZEN_BYTES 1024ULL
#define QUOTA_FROZEN_FILES 1ULL

struct quota_sync_stats {
        uint64_t folders;    /* looked at */
        uint64_t limits_set; /* whose project's limits were not the plan's */
        uint64_t walked;     /* whose tree was walked: new, or its stamp missing */
        uint64_t frozen;     /* of teams without a plan here */
        uint64_t failed;     /* left as they were; err holds the last reason */
};

struct quota_syncer;

/* Opens the roots (STORAGE/CLUSTER made when missing) and the grants folder; checks that the roots
 * enforce project quotas. lock_fd (the sync's lock, quotawatch.h) is the syncer's from then on,
 * also on failure: held while it lives. */
int quota_syncer_open(const struct node_config *config, int lock_fd, struct quota_syncer **ret, struct nb_error *err);
void quota_syncer_free(struct quota_syncer *s);
static inline void quota_syncer_freep(struct quota_syncer **s) {
        quota_syncer_free(*s);
}

/* Every folder (team NULL), or the team's folders, or one notebook folder. A folder that could not
 * be set counts in stats->failed with its reason in err, and the rest go on: -errno only when
 * nothing could be listed. */
int quota_sync_all(struct quota_syncer *s, struct quota_sync_stats *stats, struct nb_error *err);
int quota_sync_team(struct quota_syncer *s, const char *team, struct quota_sync_stats *stats, struct nb_error *err);
int quota_sync_notebook(struct quota_syncer *s, const char *team, const char *notebook, struct quota_sync_stats *stats,
                        struct nb_error *err);

/* Calls fn(userdata, name) for each folder in dir_fd (from its start; dir_fd is not consumed)
 * whose name nbmount could have made (name_problem()), until fn fails; returns that, or 0. */
int quota_each_folder(int dir_fd, int (*fn)(void *userdata, const char *name), void *userdata);

/* The syncer's fds of NOTEBOOKS, STORAGE/CLUSTER and GRANTS, for the watch (quotawatch.h). */
int quota_syncer_fd(const struct quota_syncer *s, int which);
enum { QUOTA_SYNC_NOTEBOOKS, QUOTA_SYNC_STORAGE, QUOTA_SYNC_GRANTS };
