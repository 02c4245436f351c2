/* SPDX-License-Identifier: Apache-2.0 */
/* Parsing untrusted input in a sandboxed child: the privileged process opens the file, a forked
 * child without privileges, capabilities, most fds or most system calls parses it, and the parent
 * trusts only what it validates again. */
#pragma once

#include "error.h"
#include "settings.h"

/* The child's identity when the parent is root: nobody:nogroup on Debian. */
#define SANDBOX_UID 65534
#define SANDBOX_GID 65534

/* The child's only fds (and stderr in sanitizer builds): its filter (hookfilters.c, compiled at
 * build time) lets it read and fstat only the first and write only the second. */
#define SANDBOX_INPUT_FD 3
#define SANDBOX_ANSWER_FD 4

/* What the child may use: CPU seconds (SIGXCPU, then SIGKILL a second later), address space
 * beyond what it inherits from the parent, and the wall-clock time the parent waits for it. */
#define SANDBOX_CPU_SECONDS 2
#define SANDBOX_MEMORY_BYTES (256UL * 1024 * 1024)
#define SANDBOX_TIMEOUT_MS 5000

/* settings_load_fd() on fd (an open settings.yaml, read from its current offset) in a sandboxed
 * child. On success *ret holds settings that passed sandbox_check_settings(); on failure err is the
 * parser's own error (FILE:LINE:COLUMN: ...), or a refusal naming file and how the child ended
 * (killed by a signal, out of time, out of memory, or an answer that breaks the rules). */
int sandbox_parse_settings(int fd, const char *file, struct settings *ret, struct nb_error *err);

/* The rules settings_parse() enforces, checked again on settings that come from the child:
 * n_mounts in range, every string ends within its array, every value passes its rule (values.h,
 * s3names.h), fields of the other type are empty, no name twice. -EINVAL with err naming the mount
 * and the field. */
int sandbox_check_settings(const struct settings *s, const char *file, struct nb_error *err);
