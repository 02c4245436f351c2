/* SPDX-License-Identifier: Apache-2.0 */
/* Notebook settings, NOTEBOOK/.gradient/settings.yaml: untrusted, written by the user (docs/FORMATS.md §3).
 * The result is plain data without pointers, so it can cross a pipe from a sandboxed parser. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "s3names.h"
#include "values.h"

#define SETTINGS_MAX_BYTES ((size_t) 64 * 1024)
#define SETTINGS_MAX_MOUNTS 256
#define SETTINGS_RELATIVE_PATH ".gradient/settings.yaml"
#define SETTINGS_FAULT_MAX 512

enum settings_mount_type { SETTINGS_DATASET, SETTINGS_S3 };

/* One entry of the file. An entry at fault (fault[0] != '\0') keeps only its raw name (cut to fit,
 * maybe not a valid name), line and column, and why: only that entry is skipped. */
struct settings_mount {
        nb_name name; /* mounts at /datasets/NAME */
        char fault[SETTINGS_FAULT_MAX]; /* "FILE:LINE:COLUMN: why", or "" */
        enum settings_mount_type type;
        unsigned line, column;
        /* SETTINGS_DATASET */
        nb_name dataset_id;
        nb_name version; /* "" means the latest */
        /* SETTINGS_S3 */
        char bucket[S3_BUCKET_MAX + 1];
        char prefix[S3_PREFIX_MAX + 1];
        char access_key_id[S3_KEY_ID_MAX + 1]; /* "" with secret_name "": a public bucket */
        nb_name secret_name;
        char region[S3_REGION_MAX + 1];
        char endpoint[S3_ENDPOINT_MAX + 1];
        bool writable; /* readOnly: false; read-only by default */
};

struct settings {
        size_t n_mounts;
        struct settings_mount mounts[SETTINGS_MAX_MOUNTS];
};

/* Fails only for what spoils the whole file (not YAML, not a map of mounts, too many, too large);
 * an entry at fault gets its fault and the others are read on. */
int settings_parse(const char *text, size_t len, const char *file, struct settings *ret, struct nb_error *err);
/* The first entry at fault, or NULL. */
const struct settings_mount *settings_first_fault(const struct settings *s);
/* -EINVAL with the first entry's fault in err when an entry is at fault (a strict reading), else 0. */
int settings_refuse_faults(const struct settings *s, struct nb_error *err);
int settings_load_fd(int fd, const char *file, struct settings *ret, struct nb_error *err);
