/* SPDX-License-Identifier: Apache-2.0 */
/* Confinement building blocks: keep only some capabilities (confine.c, libcap), and allow only some
 * system calls: a filter compiled at build time and loaded with seccomp(2) (confine.c, no
 * libseccomp), or a policy compiled by libseccomp at run time (confinerules.c). The policies
 * themselves live with the program they confine. */
#pragma once

#include <linux/filter.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/capability.h>

#include "error.h"

/* ASan and UBSan builds (make SANITIZE=1): LeakSanitizer's check at exit stops threads with ptrace
 * and reads /proc; such builds never ship, and their policies let it. */
#if defined(__SANITIZE_ADDRESS__)
#define CONFINE_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONFINE_SANITIZER_BUILD 1
#endif
#endif
#ifndef CONFINE_SANITIZER_BUILD
#define CONFINE_SANITIZER_BUILD 0
#endif

static inline void cap_freep(cap_t *caps) {
        if (*caps)
                cap_free(*caps);
}

static inline void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

/* Every capability not in keep leaves the bounding set; permitted and effective keep only those of
 * keep the process had; inheritable and ambient end empty. */
int confine_capabilities(const cap_value_t *keep, size_t n_keep, struct nb_error *err);

/* A system call allowed when its arguments match (at most two comparisons). */
struct confine_rule {
        int syscall;
        unsigned n_args;
        struct scmp_arg_cmp args[2];
};

struct confine_policy {
        uint32_t default_action;     /* e.g. SCMP_ACT_ERRNO(EPERM) */
        const int *allowed;          /* allowed whatever their arguments */
        size_t n_allowed;
        const struct confine_rule *rules;
        size_t n_rules;
        const int *killed;           /* kill the process (execve, ptrace: never a mistake to refuse) */
        size_t n_killed;
};

/* Sets no_new_privs and installs the policy's filter (plus the allowed calls of extra, if any) for
 * the calling thread and every thread or child it makes later. */
int confine_syscalls(const struct confine_policy *policy, const struct confine_policy *extra, struct nb_error *err);

/* Sets no_new_privs and installs a filter compiled already (BUILD/gen/filters.h), as seccomp_load()
 * would: seccomp(SECCOMP_SET_MODE_FILTER) without flags. */
int confine_load_filter(const struct sock_filter *insns, size_t n, struct nb_error *err);

/* The BPF libseccomp compiles from ctx (seccomp_export_bpf), in *ret (malloc'd, n instructions). */
int confine_export_filter(scmp_filter_ctx ctx, struct sock_filter **ret, size_t *ret_n);
