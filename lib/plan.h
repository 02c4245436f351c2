/* SPDX-License-Identifier: Apache-2.0 */
/* The mount plan: what a container may mount, and why not (docs/FORMATS.md §5, README "Plan rules").
 * Pure: it decides from plain data and does no I/O; inputs.c gathers the facts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "grants.h"
#include "nodeconfig.h"
#include "ociconfig.h"
#include "settings.h"

#define PLAN_MAX_MOUNTS (2 + SETTINGS_MAX_MOUNTS)
#define PLAN_MAX_WARNINGS 8
#define PLAN_TARGET_MAX (sizeof("/datasets/") + NB_NAME_MAX)
#define PLAN_SOURCE_MAX (NB_PATH_MAX + 1)
#define PLAN_REASON_MAX 512
#define PLAN_PROJECT_MAX (sizeof("notebook..") + 2 * (size_t) NB_NAME_MAX)

/* MOUNT_INVALID: an entry of settings.yaml that cannot be read; it is never mounted. */
enum mount_kind { MOUNT_NOTEBOOK, MOUNT_STORAGE, MOUNT_DATASET, MOUNT_S3, MOUNT_INVALID };

/* What a secret reference found under SECRETS/TEAM/NAME. */
enum secret_state { SECRET_PRESENT, SECRET_MISSING, SECRET_NOT_A_FILE, SECRET_UNSAFE };

struct plan_inputs {
        const struct node_config *config;
        const struct container_identity *identity;
        const struct team_grants *team;
        const struct team_grants *public_datasets; /* may be NULL */
        const struct settings *settings;           /* may be NULL */
        const char *settings_problem;              /* settings.yaml as a whole cannot be used: why; or NULL */
        bool notebook_has_checkpoints;
        /* secret_states[i] belongs to settings->mounts[i] when that mount references a secret */
        const enum secret_state *secret_states;
};

struct plan_quota {
        char project[PLAN_PROJECT_MAX];
        uint64_t soft_bytes, hard_bytes; /* NB_SIZE_UNLIMITED: no limit */
        uint64_t files;                  /* soft = hard limit of files and folders; NB_SIZE_UNLIMITED: none */
};

struct plan_mount {
        char target[PLAN_TARGET_MAX];
        enum mount_kind kind;
        char source[PLAN_SOURCE_MAX];
        bool readonly;
        bool has_quota;
        struct plan_quota quota;
        bool granted;                 /* mounted by this start */
        bool skipped;                 /* not granted, and a fault of what the notebook asked for: the
                                         container starts without it (settings.on_error skip) */
        bool pending;                 /* not granted yet: nbmountd attaches it once its bucket answers */
        char reason[PLAN_REASON_MAX]; /* "" when granted */
        nb_name dataset_id, version;               /* MOUNT_DATASET */
        const struct settings_mount *s3;           /* MOUNT_S3: points into plan_inputs.settings */
};

struct plan {
        nb_name team, notebook, user, cluster, storage_cluster, plan_name;
        bool card_on_file;
        size_t n_mounts;
        struct plan_mount mounts[PLAN_MAX_MOUNTS];
        size_t n_warnings;
        char warnings[PLAN_MAX_WARNINGS][PLAN_REASON_MAX];
        char settings_problem[NB_ERROR_MAX]; /* settings.yaml was skipped as a whole: why; or "" */
};

/* Fills *ret (large: allocate it). Fails (-EINVAL) only when the inputs contradict each other,
 * e.g. the team's plan is not in the node config; a refused mount is not a failure. */
int plan_build(const struct plan_inputs *in, struct plan *ret, struct nb_error *err);

/* Every mount granted, and settings.yaml (if any) read. */
bool plan_all_granted(const struct plan *plan);
/* The first mount the container cannot start without (refused, not skipped), or NULL. */
const struct plan_mount *plan_first_refusal(const struct plan *plan);
/* name as it may be shown (in a target): bytes that are not printable ASCII, '/' and the names "",
 * "." and ".." become '?'. */
void plan_display_name(const char *name, char *buf, size_t size);

/* The hard limit of a folder: its allowance, plus the overage cap with a card on file. */
uint64_t plan_hard_limit(const struct node_config *config, uint64_t allowance, bool card_on_file);
const char *mount_kind_name(enum mount_kind kind);
/* "granted", "skipped", "pending" or "refused". */
const char *plan_mount_status(const struct plan_mount *m);
