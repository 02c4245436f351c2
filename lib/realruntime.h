/* SPDX-License-Identifier: Apache-2.0 */
/* Which runtime nbmount-runtime(8) execs: node.yaml's runtime.binary, else the first of runc and
 * crun in a fixed PATH (never the caller's), and never nbmount-runtime itself. */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "error.h"

#define REAL_RUNTIME_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* configured: node.yaml's runtime.binary, or NULL/"" to search. self_fd: an fd of the running
 * program (/proc/self/exe), compared by device and inode. *ret_skipped is set when configured was
 * passed over (not executable, or the wrapper itself): the caller says so. Returns 0 and the path
 * in ret (PATH_MAX bytes), or -ENOENT with err saying what was looked for. */
int real_runtime_find(const char *configured, int self_fd, char *ret, bool *ret_skipped, struct nb_error *err);
