/* SPDX-License-Identifier: Apache-2.0 */
/* Storage and notebook roots on a network filesystem (NFS, CephFS, SMB) served by a storage server
 * whose own filesystem keeps the project quotas (`nbmount quota sync` there). A node cannot set
 * them, and its containers cannot change a project id through the network filesystem; what a node
 * can see is the limit the server's filesystem reports through statfs on a folder of a project
 * (XFS and ext4 report the soft limit, or the hard one when there is no soft one). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statfs.h>

#include "error.h"
#include "plan.h"

#define NETFS_MAX_ROOTS 4

/* "nfs", "ceph", "smb" for a network filesystem's statfs f_type; NULL for any other. */
const char *netfs_type_name(long f_type);
/* The same by a mount table's type name (mountinfo.h): "nfs" for nfs and nfs4, ...; NULL for others. */
const char *netfs_fstype_name(const char *fstype);

/* The statfs of each of n (at most NETFS_MAX_ROOTS) paths, taken by a thread: when one does not
 * answer within timeout_ms (a hard-mounted export whose server is away) the call fails with
 * -ETIMEDOUT naming the path, and the thread is left waiting (the process's exit ends it: an NFS
 * wait is killable), so that the hook never hangs past the runtime's hook timeout. A path that
 * cannot be statfs'd (missing) gets an all-zero ret[i]: the caller says so where it opens it. */
int netfs_probe(const char *const *paths, size_t n, unsigned timeout_ms, struct statfs *ret, struct nb_error *err);

/* Whether what statfs reports (seen) is the plan's limit: its soft limit (hard when it has no
 * soft one) within the rounding of the server's blocks and the client's (f_bsize). Unlimited plans
 * are always met. */
bool netfs_limit_met(const struct statfs *seen, const struct plan_quota *quota);

/* Waits up to wait_ms for the folder fd (path) on a network filesystem to report the plan's limit
 * through statfs; 0 once it does, else -EDQUOT with err naming what was seen, what the plan says,
 * and the storage server's job that sets it. There is no event to wait for over the network: the
 * folder's statfs is asked again every 50 ms. */
int netfs_await_limit(int fd, const char *path, const struct plan_quota *quota, unsigned wait_ms,
                      struct nb_error *err);

/* What `nbmount check` reports of a root on a network filesystem. */
struct netfs_export {
        char source[256];  /* server:/export */
        char options[512]; /* the mount's options, as /proc/self/mounts shows them */
        bool soft;         /* mounted soft: a slow server turns into I/O errors (and lost writes) */
        size_t folders;    /* folders under the given folder */
        size_t limited;    /* ... whose statfs shows a limit below the export's own size */
};

/* The mount that holds root (its source and options), and how many folders under folder_path
 * (may be NULL) show a limit of their own through statfs: the storage server's project quotas
 * are visible to this node only if some do. */
int netfs_describe(const char *root, const char *folder_path, struct netfs_export *ret, struct nb_error *err);
