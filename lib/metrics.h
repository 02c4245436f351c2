/* SPDX-License-Identifier: Apache-2.0 */
/* `nbmount meter --textfile DIR`: DIR/nbmount.prom in the Prometheus text format for node_exporter's
 * textfile collector, replaced atomically (a new file beside it, synced, renamed over it). Names
 * and units as Prometheus wants them: nbmount_ prefix, bytes in bytes (_bytes), counters _total;
 * a limit that does not exist (unlimited) has no sample. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "ledger.h"

#define METRICS_FILE "nbmount.prom"

struct metrics_project {
        enum ledger_kind kind;
        const char *team, *notebook, *project;
        uint64_t used_bytes;
        uint64_t soft_bytes, hard_bytes; /* NB_SIZE_UNLIMITED: none */
};

/* mounts: nbmountd's mount list (mountlist.h), or NULL when it could not be read (then
 * nbmount_mountd_up is 0 and no mount has a sample). */
int metrics_write_textfile(const char *dir, const struct metrics_project *projects, size_t n,
                           struct json_object *mounts, time_t now, struct nb_error *err);
