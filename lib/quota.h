/* SPDX-License-Identifier: Apache-2.0 */
/* Project quotas on XFS and ext4, through quotactl_fd(2) and FS_IOC_FSSETXATTR; no external command.
 * Project ids come from a registry on the filesystem itself (.nbmount-projid at its mount root,
 * /etc/projid format), so every node that mounts it sees the same ids. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "nodeconfig.h"
#include "plan.h"

#define QUOTA_REGISTRY_NAME ".nbmount-projid"
#define QUOTA_REGISTRY_LOCK ".nbmount-projid.lock"
#define QUOTA_FIRST_ID 10000U
#define QUOTA_LAST_ID 0x7fffffffU /* the ids from 2^31 up are the tree walks' (quotatree.h) */

#define QUOTA_EXT4 1 /* quota_probe(): enforced, by ext4, which CAP_SYS_RESOURCE bypasses */

/* 0 (XFS) or QUOTA_EXT4 when the filesystem of dir_fd enforces project quotas; else -EOPNOTSUPP
 * with err saying why (the filesystem type, "mounted without prjquota") and what to do. */
int quota_probe(int dir_fd, const char *path, struct nb_error *err);

/* The id of project `name` on the filesystem of dir_fd, allocated under a lock when new;
 * never reused for another name. */
int quota_project_id(int dir_fd, const char *path, const char *name, uint32_t *ret_id, struct nb_error *err);

/* The ids of n projects at once (a sync pass over every folder): one lock, one read of the
 * registry, and one write for all the names it did not have. */
int quota_project_ids(int dir_fd, const char *path, const char *const *names, size_t n, uint32_t *ret_ids,
                      struct nb_error *err);

/* The registry's lock file at the root of the filesystem of dir_fd, opened for writing (created when
 * `create`); quotatree.c locks a byte of it per tree. -ENOENT when it does not exist and !create. */
int quota_open_lock(int dir_fd, const char *path, bool create, struct nb_error *err);

/* Soft and hard block limits in bytes (UINT64_MAX: none), a grace period long enough that the
 * soft limit never turns into a hard stop, and soft = hard limit of files and folders (inodes;
 * UINT64_MAX: none). */
int quota_set_limits(int dir_fd, const char *path, uint32_t id, uint64_t soft_bytes, uint64_t hard_bytes,
                     uint64_t files, struct nb_error *err);

struct quota_usage {
        uint32_t id;
        uint64_t used_bytes, used_files;
        uint64_t soft_bytes, hard_bytes; /* 0: none */
        uint64_t soft_files, hard_files; /* 0: none */
};

/* Whether the limits quota_get() reported are those quota_set_limits() would set (XFS rounds a
 * limit up to its blocks). */
bool quota_limits_equal(const struct quota_usage *usage, uint64_t soft_bytes, uint64_t hard_bytes, uint64_t files);

/* The usage and limits of one project (all 0 when the kernel has no record of it). */
int quota_get(int dir_fd, uint32_t id, struct quota_usage *ret);

/* Every project of the filesystem of dir_fd in one Q_GETNEXTQUOTA pass, in increasing id order, to
 * fn (which may stop the pass by returning -errno). */
typedef int (*quota_usage_fn)(void *userdata, const struct quota_usage *usage);
int quota_each(int dir_fd, const char *path, quota_usage_fn fn, void *userdata, struct nb_error *err);

/* Every project of the filesystem of dir_fd in one Q_GETNEXTQUOTA pass; *ret is malloc'd. */
int quota_read_all(int dir_fd, const char *path, struct quota_usage **ret, size_t *ret_n, struct nb_error *err);

#define QUOTA_NAME_SIZE 160
#define QUOTA_REGISTRY_MAX_BYTES ((size_t) 256 * 1024 * 1024)

struct quota_project {
        char name[QUOTA_NAME_SIZE];
        uint32_t id;
};

/* The registry of the filesystem of dir_fd as text ("" when it has none), for
 * quota_registry_next(); *ret is malloc'd. */
int quota_registry_text(int dir_fd, const char *path, char **ret, struct nb_error *err);

/* The next "NAME:ID" line at *cursor (in a registry's text, which it changes: the name is made a
 * string in place); comment lines, lines without an id and names of QUOTA_NAME_SIZE bytes or more
 * are passed over. false at the end. */
bool quota_registry_next(char **cursor, const char **ret_name, uint32_t *ret_id);

/* The registry of the filesystem of dir_fd (empty when it has none); *ret is malloc'd. */
int quota_registry_read(int dir_fd, const char *path, struct quota_project **ret, size_t *ret_n,
                        struct nb_error *err);

struct quota_walk;

/* Removes the stamp of the folder's tree (quotatree.h) under the registry's lock, where there is
 * one: the tree may have left its project. For a poststop, whose container was not guarded. */
int quota_forget(int dir_fd, const char *path, struct nb_error *err);

/* How a start or `nbmount quota apply` treats a folder. */
struct quota_enforce_request {
        enum quota_enforce enforce;
        bool writer_has_cap_sys_resource; /* ext4 lets such a process past any limit */
        bool guarded;   /* the container cannot change project ids or flags (user namespace, seccomp) */
        bool full_walk; /* walk the whole tree even when its stamp holds (nbmount quota apply) */
};

/* What the hook does for a notebook or team folder at every start: project id, the plan's limits,
 * and the folder's tree in the project (quotatree.h: walked and repaired when its stamp does not
 * hold; the stamp removed when the container is not guarded). With `best-effort`, a filesystem
 * that cannot enforce quotas is not an error: returns 1 with the reason in *warning. With
 * `required` it is (-EOPNOTSUPP). So is ext4 for a container that holds CAP_SYS_RESOURCE, which
 * ext4 lets past any limit. *ret_walk (may be NULL) says what was walked and repaired. */
int quota_enforce_plan(int dir_fd, const char *path, const struct plan_quota *quota,
                       const struct quota_enforce_request *req, struct quota_walk *ret_walk,
                       struct nb_error *warning, struct nb_error *err);
