/* SPDX-License-Identifier: Apache-2.0 */
/* The notebooks' offline copies in the platform's bucket (docs/FORMATS.md §9): nbmountd's manifest
 * of each copy, STATE/offline/notebooks/TEAM/NOTEBOOK.json, and each team's usage,
 * STATE/offline/usage/TEAM.json (read by nbmount meter). Written by nbmountd, read by
 * `nbmount offline`. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "values.h"

#define OFFLINE_MANIFEST_MAX_BYTES ((size_t) 64 * 1024 * 1024)
#define OFFLINE_STATUS_NAME "offline.status"

/* Why a file belongs in the copy, in the order the allowance takes them. */
enum offline_kind { OFFLINE_IPYNB, OFFLINE_MD, OFFLINE_GIT, OFFLINE_INCLUDE, OFFLINE_KINDS };

/* pending: asked for and not done (redone at nbmountd's start); failed: the last try failed (the
 * bucket down, say) and a later one is due. */
enum offline_state { OFFLINE_PENDING, OFFLINE_COMPLETE, OFFLINE_FAILED };

struct offline_file {
        char *path;           /* relative to the notebook, no leading slash */
        uint64_t size;
        int64_t mtime_ns;
        enum offline_kind kind;
        char etag[80];        /* in the copy: the bucket's ETag */
        int64_t uploaded_at;  /* in the copy: seconds since the epoch */
        char why[160];        /* left out: why */
};

struct offline_manifest {
        nb_name team, notebook;
        enum offline_state state;
        int64_t requested_at, updated_at; /* seconds since the epoch */
        bool card_on_file;
        uint64_t allowance;   /* bytes this notebook's copy could use (the team's free less its other
                                 notebooks'), NB_SIZE_UNLIMITED with a card */
        char error[NB_ERROR_MAX];
        size_t n_files, n_left;
        struct offline_file *files, *left; /* files sorted by path */
};

const char *offline_kind_name(enum offline_kind kind);
const char *offline_state_name(enum offline_state state);
void offline_manifest_done(struct offline_manifest *m);
uint64_t offline_manifest_bytes(const struct offline_manifest *m);

/* The notebook a file of STATE/offline/notebooks/TEAM/ is the manifest of ("NOTEBOOK.json"), or
 * false (a temporary file, anything else). */
bool offline_manifest_name(const char *file_name, nb_name ret_notebook);
/* STATE/offline/notebooks/TEAM/NOTEBOOK.json; -ENOENT when there is none. */
void offline_manifest_path(const char *state_dir, const char *team, const char *notebook, char *buf, size_t size);
int offline_manifest_load(const char *state_dir, const char *team, const char *notebook, struct offline_manifest *ret,
                          struct nb_error *err);
int offline_manifest_parse(const char *text, size_t len, const char *file, struct offline_manifest *ret,
                           struct nb_error *err);
struct json_object *offline_manifest_to_json(const struct offline_manifest *m);
/* Written atomically (a temporary file, fsync, rename); folders made as needed. */
int offline_manifest_save(const char *state_dir, const struct offline_manifest *m, struct nb_error *err);

/* STATE/offline/usage/TEAM.json: {"team", "bytes", "objects", "updated_at"}, atomically. */
int offline_usage_write(const char *state_dir, const char *team, uint64_t bytes, uint64_t objects,
                        struct nb_error *err);
/* path (a file under a root-owned folder) replaced with obj atomically, mode 0600. */
int offline_json_replace(const char *path, struct json_object *obj, struct nb_error *err);
/* "2026-12-03T04:00:00Z" */
void offline_format_time(int64_t t, char *buf, size_t size);
