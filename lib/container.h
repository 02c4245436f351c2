/* SPDX-License-Identifier: Apache-2.0 */
/* The container's init process, as the OCI state names it by pid: held from the moment the hook
 * reads the state, so that what the hook learns of it and the mount namespace it joins belong to
 * that process and not to one that got its pid later. A pidfd is opened first, then /proc/PID and
 * its namespaces; the pidfd then proves the process was not reaped meanwhile (a pid is reused only
 * once its process is reaped), so /proc/PID was that process. An open /proc/PID folder stays that
 * process's: read after its end, it fails, never shows another. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct container_process {
        pid_t pid;
        int pidfd;             /* -1 on kernels before 5.3 */
        int proc_pid_fd;       /* /proc/PID (O_PATH) */
        int mnt_ns_fd;         /* its mount namespace, held: the namespace the hook joins */
        bool own_user_namespace; /* its user namespace is not the hook's (device and inode of ns/user) */
};

/* Opens the process pid. Fails (err naming the process and why) when it is gone, when /proc is not
 * procfs, or when it shares the hook's mount namespace (a hook called outside createRuntime or
 * prestart). release with container_process_close(). */
int container_process_open(pid_t pid, struct container_process *ret, struct nb_error *err);
void container_process_close(struct container_process *c);

/* The host's uid and gid for the container's uid and gid, through its uid_map and gid_map (the
 * mappings the kernel applies, whatever config.json says); -EPERM when one is not mapped. */
int container_host_ids(const struct container_process *c, uid_t uid, gid_t gid, uid_t *ret_uid, gid_t *ret_gid,
                       struct nb_error *err);
