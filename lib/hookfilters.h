/* SPDX-License-Identifier: Apache-2.0 */
/* The seccomp allowlists of the hook (harden.c) and of the settings parser's child (sandbox.c), as
 * libseccomp rules. Neither program compiles them: make runs lib/gen/filtergen.c, which compiles each
 * variant once with libseccomp and writes the BPF to BUILD/gen/filters.h; the programs load that
 * with seccomp(2) (confine_load_filter()) and do not link libseccomp. tests/unit/test_filters.c
 * checks that the BPF in filters.h is what libseccomp compiles from these rules. */
#pragma once

#include <seccomp.h>
#include <stdbool.h>

/* A filter's build variant: the extra rules of ASan/UBSan builds (confine.h), and the log action
 * of -DNBMOUNT_SECCOMP_LOG instead of refusing (the hook's filter only). */
struct filter_variant {
        bool sanitizer;
        bool log;
};

/* The hook's filter, hardening it before it touches the container: anything else fails with EPERM
 * (or is logged). Returns -errno; *ret is the context, for the caller to release. */
int hook_filter_build(struct filter_variant v, scmp_filter_ctx *ret);

/* The settings parser's filter: reads only SANDBOX_INPUT_FD, writes only SANDBOX_ANSWER_FD
 * (sandbox.h), anything else kills it. Returns -errno; *ret as above. */
int sandbox_filter_build(struct filter_variant v, scmp_filter_ctx *ret);
