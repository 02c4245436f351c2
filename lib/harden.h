/* SPDX-License-Identifier: Apache-2.0 */
/* Hardening the hook once it has read its inputs: only the capabilities mounting and quotas need,
 * no new privileges, and a seccomp allowlist of the system calls the hook makes. */
#pragma once

#include "error.h"

/* Called once the hook has read its inputs and decided, before it touches the container: keeps only
 * the capabilities of kept_caps (harden.c) in every set, bounding included, sets no_new_privs and
 * dumpable 0, and installs a seccomp allowlist (anything else fails with EPERM): no execve, no
 * fork, no socket but AF_UNIX, no ptrace, no module or BPF call. Returns 0 or -errno with err set. */
int harden_hook(struct nb_error *err);
