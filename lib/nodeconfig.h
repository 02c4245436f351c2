/* SPDX-License-Identifier: Apache-2.0 */
/* The node config, /etc/nbmount/node.yaml (docs/FORMATS.md §1). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "s3names.h"
#include "values.h"

#define NODE_CONFIG_DEFAULT_PATH "/etc/nbmount/node.yaml"
#define NODE_CONFIG_MAX_BYTES ((size_t) 256 * 1024)
#define NODE_MAX_PLANS 64
#define NODE_SOCKET_PATH_MAX 107
#define S3_MOUNT_TIMEOUT_DEFAULT 15
#define S3_MOUNT_TIMEOUT_MAX 600
#define S3_START_WAIT_DEFAULT_MS 2000
#define S3_MAX_MOUNTS_PER_TEAM_DEFAULT 16
#define S3_MAX_MOUNTS_PER_NODE_DEFAULT 64
#define S3_MAX_MOUNTS_LIMIT 100000 /* the largest value either key takes */
/* A plan without storage_files or notebook_files allows one file per 16 KiB of its allowance:
 * ext4's default bytes-per-inode ratio, so a team at its file limit holds no larger share of the
 * filesystem's inodes than of its bytes. */
#define NODE_BYTES_PER_FILE 16384ULL
#define NODE_MAX_FILES 1000000000000000ULL /* 10^15: exact in a double, far above any filesystem */
#define S3_STAGING_PER_MOUNT_DEFAULT (512ULL << 20) /* 512 MiB */
#define S3_STAGING_PER_MOUNT_MIN (96ULL << 20)      /* s3fs's read-ahead window (50 MB) and its reserve */
#define S3_STAGING_PER_NODE_DEFAULT (32ULL << 30)   /* 32 GiB: 64 mounts at the default */
#define S3_UID_BASE_DEFAULT 1879048192U             /* 0x70000000: unused by systemd's ranges */
#define S3_UID_SLOTS 65536U                          /* uids uid_base .. uid_base + 65535 */
#define BUCKET_FREE_DEFAULT 2000000000ULL            /* 2 GB (10^9 bytes, as the plans count) */
#define BUCKET_MAX_FILE_SIZE_DEFAULT 1000000000ULL /* 1 GB: a larger file is left out of the offline copy */
#define QUOTA_REMOTE_WAIT_DEFAULT_MS 2000    /* how long a start waits for the storage server to set a limit */
#define QUOTA_REMOTE_WAIT_MAX_S 30
#define QUOTA_REMOTE_TIMEOUT_DEFAULT_MS 5000 /* how long a start waits for a network root to answer at all */
#define QUOTA_REMOTE_TIMEOUT_MAX_S 60

enum quota_enforce { QUOTA_REQUIRED, QUOTA_BEST_EFFORT, QUOTA_OFF };
/* What a fault in what the notebook asked for (settings.yaml, its datasets and buckets) does. */
enum settings_on_error { ON_ERROR_SKIP, ON_ERROR_REFUSE };

struct plan_allowance {
        nb_name name;
        uint64_t storage_bytes;  /* NB_SIZE_UNLIMITED for unlimited */
        uint64_t notebook_bytes;
        uint64_t storage_files;  /* files and folders (inodes); NB_SIZE_UNLIMITED for unlimited */
        uint64_t notebook_files;
};

typedef char nb_path[NB_PATH_MAX + 1];

struct node_config {
        nb_name cluster;
        nb_path notebooks_root, storage_root, datasets_root;
        nb_path grants_dir, secrets_dir, state_dir, mountd_socket;
        size_t n_plans;
        struct plan_allowance plans[NODE_MAX_PLANS];
        double price_per_gb_month;
        uint64_t overage_cap_bytes;
        enum quota_enforce quota_enforce;
        unsigned quota_remote_wait_ms;    /* roots on a network filesystem: how long a start waits for the
                                             storage server to apply a folder's limit */
        unsigned quota_remote_timeout_ms; /* ... and for a network root to answer a statfs at all */
        bool s3_allow_http;
        bool s3_allow_private_endpoints;
        enum settings_on_error settings_on_error;
        unsigned s3_mount_timeout_s; /* nbmountd's deadline for a bucket to answer */
        unsigned s3_hang_timeout_s;  /* a stat of a mount's root slower than this: s3fs hangs (0: never judged) */
        unsigned s3_start_wait_ms;   /* how long a start waits for a bucket before it goes on without it */
        unsigned s3_max_mounts_per_team; /* shared S3 mounts (s3fs processes) a team may have on the node */
        unsigned s3_max_mounts_per_node; /* ... and all teams together */
        uint64_t s3_staging_per_mount; /* bytes of each s3fs's /tmp (a tmpfs) */
        uint64_t s3_staging_per_node;  /* bytes of all of them together */
        uint32_t s3_uid_base;          /* each s3fs runs as a uid (and gid) of its own from here */
        nb_path runtime_binary;        /* nbmount-runtime's real runtime; "" when it searches for runc, crun */
        uint64_t bucket_free_bytes;    /* bucket_storage.free: each team's offline copies free of charge */
        /* bucket_storage: the platform's bucket for the notebooks' offline copies (nbmountd); absent
         * (bucket_name "") the feature is off */
        char bucket_name[S3_BUCKET_MAX + 1];
        char bucket_endpoint[S3_ENDPOINT_MAX + 1]; /* "" for AWS (from the region) */
        char bucket_region[S3_REGION_MAX + 1];
        char bucket_key_id[S3_KEY_ID_MAX + 1];
        nb_name bucket_secret;         /* SECRETS/.node/NAME: the node's own key, never a team's */
        uint64_t bucket_max_file_size; /* a larger file is left out of the copy */
};

#define BUCKET_SECRET_FOLDER ".node" /* under SECRETS: no team name starts with a dot */

int node_config_parse(const char *text, size_t len, const char *file, struct node_config *ret,
                      struct nb_error *err);
int node_config_load_fd(int fd, const char *file, struct node_config *ret, struct nb_error *err);
int node_config_load_path(const char *path, struct node_config *ret, struct nb_error *err);

/* The file limit a plan without an explicit one gets for an allowance of `bytes`. */
uint64_t node_default_files(uint64_t bytes);

const struct plan_allowance *node_config_find_plan(const struct node_config *config, const char *name);
const char *quota_enforce_name(enum quota_enforce enforce);
const char *settings_on_error_name(enum settings_on_error on_error);
