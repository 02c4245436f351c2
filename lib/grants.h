/* SPDX-License-Identifier: Apache-2.0 */
/* Team grants, GRANTS/TEAM.json, and public datasets, GRANTS/public.json (docs/FORMATS.md §2). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "values.h"

#define GRANTS_MAX_BYTES ((size_t) 1024 * 1024)
#define GRANTS_MAX_MEMBERS 10000
#define GRANTS_MAX_CLUSTERS 64
#define GRANTS_MAX_DATASETS 4096
#define GRANTS_MAX_VERSIONS 4096

struct dataset_grant {
        nb_name name, id, latest;
        size_t n_versions;
        nb_name *versions;
};

struct team_grants {
        nb_name team, plan;
        bool card_on_file, private_workspace;
        size_t n_members, n_storage_clusters, n_datasets;
        nb_name *members;
        nb_name *storage_clusters;
        struct dataset_grant *datasets;
};

/* expected_team: the TEAM of GRANTS/TEAM.json, which the file's "team" must equal. */
int grants_parse(const char *text, size_t len, const char *file, const char *expected_team,
                 struct team_grants *ret, struct nb_error *err);
/* GRANTS/public.json: only "datasets" is set in *ret. */
int public_grants_parse(const char *text, size_t len, const char *file, struct team_grants *ret,
                        struct nb_error *err);
int grants_load_fd(int fd, const char *file, const char *expected_team, struct team_grants *ret,
                   struct nb_error *err);
/* GRANTS/TEAM.json through an fd of GRANTS opened once: with thousands of teams, every system call
 * per team counts. openat2 still follows no symlink; O_NONBLOCK keeps a FIFO from blocking.
 * -ENOENT when the team has no grants file. */
int grants_load_at(int grants_fd, const char *team, struct team_grants *ret, struct nb_error *err);
int public_grants_load_fd(int fd, const char *file, struct team_grants *ret, struct nb_error *err);
void team_grants_done(struct team_grants *grants);

bool grants_has_member(const struct team_grants *grants, const char *user);
bool grants_has_storage_cluster(const struct team_grants *grants, const char *cluster);
const struct dataset_grant *grants_find_dataset(const struct team_grants *grants, const char *id);
bool dataset_has_version(const struct dataset_grant *dataset, const char *version);
