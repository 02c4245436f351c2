/* SPDX-License-Identifier: Apache-2.0 */
/* `nbmount quota`: every project of the node's storage (and notebook) filesystems with its use,
 * its plan and what it costs beyond the plan. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "grants.h"
#include "nodeconfig.h"

struct quota_row {
        nb_name team;
        nb_name notebook; /* "" for the team's /storage */
        nb_name plan;     /* "" when the team has no grants on this node */
        bool card_on_file;
        char project[160];
        uint32_t id;      /* 0 when seen through a network filesystem: the registry is the server's */
        uint64_t used_bytes, used_files;
        uint64_t allowance_bytes, hard_bytes; /* NB_SIZE_UNLIMITED: none; both so when the plan is unknown */
        uint64_t file_limit;                  /* the plan's files (soft = hard); NB_SIZE_UNLIMITED: none */
        uint64_t over_bytes;
        double overage_per_month; /* over_bytes in GB (10^9 bytes) times billing.price_per_gb_month */
};

/* One Q_GETNEXTQUOTA pass per filesystem, joined with its registry and the teams' grants; sorted
 * by team, then notebook. team may be NULL (every team). *ret is malloc'd. Roots on a network
 * filesystem (netfs.h) are read through statfs on each folder instead: the use and size that the
 * storage server's project quota reports there; *ret_network (may be NULL) is then its type
 * ("nfs"), else NULL. */
int quota_report(const struct node_config *config, const char *team, bool notebooks, struct quota_row **ret,
                 size_t *ret_n, const char **ret_network, struct nb_error *err);

/* quota_report()'s rows one at a time, in the same order, to fn (which may stop the report by
 * returning -errno: that is returned), without holding them all: 10,000 rows are 4 MB. */
typedef int (*quota_row_fn)(void *userdata, const struct quota_row *row);
int quota_report_each(const struct node_config *config, const char *team, bool notebooks, quota_row_fn fn,
                      void *userdata, const char **ret_network, struct nb_error *err);

/* Fills a row's plan, allowance, hard limit, file limit, bytes over and monthly cost from the team's grants
 * (NULL: unknown plan) and row->used_bytes. */
void quota_row_costs(struct quota_row *row, const struct node_config *config, const struct team_grants *grants);
