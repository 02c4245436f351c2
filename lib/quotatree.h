/* SPDX-License-Identifier: Apache-2.0 */
/* The project tree of a notebook or team folder: every folder and regular file below it in the
 * folder's project, and the stamp on the folder that says a walk made it so.
 *
 * A file owner whom nothing stops can take files out of their project (chattr -p 0) or make a
 * folder's new files project 0 (chattr -P); such a subtree stays out after the container is gone.
 * A guarded container (a user namespace, or a seccomp profile that denies those calls) cannot, so
 * a tree that a walk put right stays right while only guarded containers use it: the walk then
 * writes the stamp, an xattr in the trusted namespace (only CAP_SYS_ADMIN can set or remove it) on
 * the folder, "v<QUOTA_STAMP_VERSION> <project id>". A start whose container is not guarded
 * removes the stamp, and so does its poststop; the next guarded start walks again.
 *
 * The walk is sound against a container that renames folders around while it runs: a folder of
 * the project holding files of another can be moved into a folder already walked, since the kernel
 * refuses a rename or link into a PROJINHERIT folder only when the project differs. So the first
 * pass gives every folder the walk's own id (project | QUOTA_WALK_ID_BIT, with limits that let
 * nothing new be written) before listing it, and files the project; nothing of another id can then
 * move into a folder already walked. The second pass gives every folder the project back, and the
 * walk's id must end with no inode. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define QUOTA_STAMP_XATTR "trusted.nbmount.quota"
/* Bump when a guard is found to leak: every stamp of an older version is then walked again. */
#define QUOTA_STAMP_VERSION 1U
#define QUOTA_WALK_ID_BIT 0x80000000U
#define QUOTA_STAMP_MAX 32

enum quota_tree_check {
        QUOTA_TREE_TRUST_STAMP, /* a guarded start: walk when the stamp does not hold, then stamp */
        QUOTA_TREE_WALK,        /* nbmount quota apply: always walk, then stamp */
        QUOTA_TREE_UNGUARDED,   /* the container could leave the project: remove the stamp; walk
                                   (without stamping) only when the folder itself is out */
};

/* What a check found: nothing walked when the stamp held. */
struct quota_walk {
        bool walked, stamped;
        uint64_t folders, files;                   /* walked (files: regular files only) */
        uint64_t repaired_folders, repaired_files; /* below the folder: were out of the project, or folders
                                                      without PROJINHERIT */
        uint64_t repaired_links;                   /* of the files: hard links (nlink > 1) */
        uint64_t left_in_walk_id;                  /* inodes still in the walk's id: then no stamp */
        char unstamped[96];                        /* why a full walk wrote no stamp, else "" */
};

/* Checks (and repairs) the tree of dir_fd, a folder already given project id. lock_fd (the
 * registry's lock file, quota_open_lock(); -1: none) serializes walks and stamp removals of one
 * folder. Fails only when the tree could not be walked (err says where). */
int quota_tree_check(int dir_fd, const char *path, uint32_t id, int lock_fd, enum quota_tree_check check,
                     struct quota_walk *ret, struct nb_error *err);

/* Removes the folder's stamp: the tree may leave its project from now on. No stamp, or a
 * filesystem without trusted xattrs, is not an error. lock_fd as above; err may be NULL. */
int quota_tree_unstamp(int dir_fd, const char *path, int lock_fd, struct nb_error *err);

/* "v1 10000" */
void quota_stamp_format(uint32_t id, char *buf, size_t size);
/* Whether value (len bytes, not NUL-terminated) is the stamp of project id at this version. */
bool quota_stamp_valid(const char *value, size_t len, uint32_t id);
/* One line for logs: "walked 12 folders and 340 files: repaired 1 folder and 20 files (2 hard links)". */
void quota_walk_describe(const struct quota_walk *walk, char *buf, size_t size);
