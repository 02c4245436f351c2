/* SPDX-License-Identifier: Apache-2.0 */
/* The notebooks' offline copies (README.md "Bucket storage"; docs/FORMATS.md §9): nbmountd brings
 * NOTEBOOKS/TEAM/NOTEBOOK's copy in the platform's bucket (node.yaml bucket_storage, prefix
 * TEAM/NOTEBOOK/) up to date after the notebook's container stopped. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "mountd.h"
#include "offline.h"

/* offs3.c: the platform's bucket through libcurl (SigV4 by libcurl itself). */
#define OFFS3_URL_MAX 8192
struct offs3 {
        void *curl;
        char base[S3_ENDPOINT_MAX + S3_BUCKET_MAX + 64];
        char sigv4[S3_REGION_MAX + 16];
        char userpwd[S3_KEY_ID_MAX + S3FS_SECRET_MAX + 8]; /* "KEYID:SECRET": memory only, wiped at close */
};
int offs3_open(struct offs3 *c, const struct node_config *config, struct nb_error *err);
void offs3_close(struct offs3 *c);
/* PUT of key (relative to the bucket) with size bytes read from fd; the ETag the bucket answered. */
int offs3_put(struct offs3 *c, const char *key, int fd, uint64_t size, char *ret_etag, size_t etag_size,
              struct nb_error *err);
/* DELETE of key; a key already gone is no error. */
int offs3_delete(struct offs3 *c, const char *key, struct nb_error *err);

/* offwalk.c: the walk of a notebook, in a child that runs as the notebook folder's owner (no
 * capability, not dumpable) and holds no key: it lists the notebook's regular files (never through
 * a symlink, never into another file system, never a FIFO, device or socket) and opens the ones
 * asked for, handing their fds over its socket. nbmountd reads them; the child never uploads. */
struct walk_entry {
        char *path;
        uint64_t size;
        int64_t mtime_ns;
};
struct walker {
        pid_t pid;
        int sock;
        size_t n_files, n_repos;
        struct walk_entry *files; /* sorted by path */
        char **repos;             /* folders (relative, "" for the notebook) that hold a .git folder */
};
/* Forks the child for the notebook folder notebook_fd (O_PATH, opened by nbmountd) as uid:gid and
 * reads its listing. */
int walker_start(int notebook_fd, uid_t uid, gid_t gid, struct walker *ret, struct nb_error *err);
/* The file at path (relative), opened by the child as the owner: a regular file, O_RDONLY. */
int walker_open(struct walker *w, const char *path, struct nb_error *err);
void walker_stop(struct walker *w);
const struct walk_entry *walker_find(const struct walker *w, const char *path);

/* offselect.c: which of the walked files go into the copy, and why (libgit2: the git indexes and the
 * .notebookinclude patterns). kinds[i] is w->files[i]'s kind, or -1 when it does not belong. */
int offline_classify(struct walker *w, const char *empty_dir, int *kinds, struct nb_error *err);

/* offcopy.c: one notebook's copy. -errno and why in err when it must be tried again later. */
int offline_copy(struct mountd *d, const char *team, const char *notebook, const volatile bool *stopping,
                 struct nb_error *err);
