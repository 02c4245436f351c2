/* SPDX-License-Identifier: Apache-2.0 */
/* `nbmount quota sync --watch`: a full pass at start and every interval, and in between inotify on
 * the grants folder (a team's grants written, renamed in or removed: its folders at once), on
 * STORAGE/CLUSTER (a new team folder), on NOTEBOOKS (a new team) and on each NOTEBOOKS/TEAM (a new
 * notebook folder). SIGTERM and SIGINT end it between two steps.
 *
 * One sync at a time per storage server: it holds an OFD lock on STATE/quota-sync.lock; the watch
 * writes STATE/quota-sync.status after every full pass ("pid N", "pass_end UNIX_SECONDS", "interval
 * SECONDS", the pass's counts), which `nbmount check` reads. */
#pragma once

#include <stdbool.h>

#include "error.h"
#include "nodeconfig.h"
#include "quotasync.h"

#define QUOTA_SYNC_LOCK "quota-sync.lock"
#define QUOTA_SYNC_STATUS "quota-sync.status"

/* A line for the log: what a pass or an event did. */
typedef void (*quota_watch_report)(void *userdata, const char *line);

/* The sync's lock on STATE/quota-sync.lock: the fd, or -EBUSY when another sync holds it. */
int quota_sync_lock(const struct node_config *config, struct nb_error *err);

/* Whether a sync holds the lock now (1), not (0), or -errno. */
int quota_sync_running(const struct node_config *config, struct nb_error *err);

/* Writes STATE/quota-sync.status (a new file renamed into place). */
int quota_sync_write_status(const struct node_config *config, const struct quota_sync_stats *stats,
                            unsigned interval_s, double pass_seconds, struct nb_error *err);

/* Runs until SIGTERM or SIGINT: returns 0 then, or -errno when the watch cannot go on. */
int quota_watch(struct quota_syncer *s, const struct node_config *config, unsigned interval_s,
                quota_watch_report report, void *userdata, struct nb_error *err);

/* "12 folders: 3 limits set, 1 walked, 0 frozen, 0 failed" */
void quota_sync_describe(const struct quota_sync_stats *stats, char *buf, size_t size);
