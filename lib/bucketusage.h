/* SPDX-License-Identifier: Apache-2.0 */
/* A team's bucket usage as nbmountd writes it, STATE/offline/usage/TEAM.json (docs/FORMATS.md,
 * schemas/bucket-usage.schema.json): {"team": "acme", "bytes": 123, "objects": 4,
 * "updated_at": "2026-12-03T04:00:00Z"}, replaced atomically. `nbmount meter` bills it. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "values.h"

#define BUCKET_USAGE_FOLDER "offline/usage"
#define BUCKET_USAGE_MAX_BYTES ((size_t) 4096)

struct bucket_usage {
        nb_name team;
        uint64_t bytes, objects;
        time_t updated_at;
};

/* expected_team: the TEAM of TEAM.json, which "team" must equal. */
int bucket_usage_parse(const char *text, size_t len, const char *file, const char *expected_team,
                       struct bucket_usage *ret, struct nb_error *err);

/* Every STATE_DIR/offline/usage/TEAM.json, by team; none when the folder does not exist. A file
 * that cannot be read or parsed is left out: *ret_skipped counts them and err holds the last
 * one's reason. *ret is malloc'd. */
int bucket_usage_read_all(const char *state_dir, struct bucket_usage **ret, size_t *ret_n, size_t *ret_skipped,
                          struct nb_error *err);
