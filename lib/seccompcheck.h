/* SPDX-License-Identifier: Apache-2.0 */
/* Does a container's seccomp profile keep its processes from taking a folder out of its quota
 * project? A file owner can do that with ioctl FS_IOC_FSSETXATTR (chattr -p), FS_IOC_SETFLAGS
 * without FS_PROJINHERIT_FL (chattr -P), FS_IOC32_SETFLAGS (the same from a 32-bit process), or
 * file_setattr(2) (Linux 6.17). The kernel reads bits 0-31 of an ioctl request, seccomp all 64: a
 * rule must hold for every request whose low 32 bits name one of these ioctls.
 *
 * The profile arrives as plain data (ociconfig.c parses it), and the judgement is conservative and
 * exact where it can be: each condition is evaluated as libseccomp 2.5 compiles it, over every value
 * of a request class on each argument width the profile's architectures give (64-bit, and 32-bit,
 * where libseccomp compares the low 32 bits of argument and datum alone). A rule that repeats an
 * argument index is read both ways (runc and crun split it into one rule per condition; libseccomp
 * alone requires all of them), whichever is weaker for its action. Allow-like actions (ALLOW, LOG,
 * TRACE, NOTIFY, anything unknown) must match no dangerous request; each class must then fall to a
 * denying rule (ERRNO, KILL*, TRAP) that matches all of it, or to a denying default action. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SECCOMP_ARGS_MAX 6 /* a system call has six arguments; crun reads no more conditions */

enum seccomp_op { SCMP_OP_EQ, SCMP_OP_NE, SCMP_OP_LT, SCMP_OP_LE, SCMP_OP_GT, SCMP_OP_GE, SCMP_OP_MASKED_EQ };

struct seccomp_condition {
        unsigned index;      /* the argument, 0 to 5 */
        enum seccomp_op op;
        uint64_t value;      /* the datum; for MASKED_EQ the mask (OCI "value", libseccomp datum_a) */
        uint64_t value_two;  /* for MASKED_EQ the datum (OCI "valueTwo", libseccomp datum_b) */
};

/* One entry of linux.seccomp.syscalls that names ioctl or file_setattr (or whose names could not
 * be read). */
struct seccomp_rule {
        size_t position;            /* its index in linux.seccomp.syscalls, for messages */
        bool names_ioctl, names_file_setattr;
        bool denies;                /* ERRNO, KILL, KILL_THREAD, KILL_PROCESS or TRAP */
        char action[24];            /* as written, for messages */
        char not_understood[96];    /* "", or what nbmount cannot read in it: then it counts as
                                       allowing every request of whatever it may name */
        size_t n_conditions;
        struct seccomp_condition conditions[SECCOMP_ARGS_MAX];
};

struct seccomp_profile {
        bool present;               /* config.json has linux.seccomp */
        bool default_denies;
        char default_action[24];
        bool has_32bit_arch;        /* an architecture whose arguments libseccomp compares on 32 bits */
        char not_understood[96];    /* "", or what nbmount cannot read in linux.seccomp */
        size_t n_rules;
        struct seccomp_rule *rules; /* malloc'd; the caller frees it */
};

/* The verdict. Each problem names the weak rule (or the missing one) and the fix. */
struct seccomp_guard {
        bool ioctls_closed;          /* every request of the three ioctl classes is denied */
        bool file_setattr_closed;    /* denied by default, and no allow-like rule names it */
        struct nb_error ioctl_problem;
        struct nb_error file_setattr_problem;
};

void seccomp_guard_judge(const struct seccomp_profile *profile, struct seccomp_guard *ret);

/* The OCI name of op ("SCMP_CMP_MASKED_EQ"); seccomp_op_parse returns -EINVAL for an unknown one. */
const char *seccomp_op_name(enum seccomp_op op);
int seccomp_op_parse(const char *name, enum seccomp_op *ret);
/* 1 for a denying action, 0 for ALLOW, LOG, TRACE or NOTIFY, -EINVAL for an unknown one. */
int seccomp_action_denies(const char *name);
/* 1 for an architecture whose arguments libseccomp compares on 32 bits (or one nbmount does not
 * know), 0 for a 64-bit one. */
bool seccomp_arch_is_32bit(const char *name);

/* The ioctl requests of the three classes, and the low-32-bit prefix cover of every other request:
 * n masked (mask, datum) pairs, the high 32 bits of every mask 0, such that a request matches one of
 * them exactly when its low 32 bits are none of the three. ret must have room for
 * SECCOMP_COVER_MAX pairs. Returns n. */
#define SECCOMP_DANGEROUS_IOCTLS 3
#define SECCOMP_COVER_MAX (32 * SECCOMP_DANGEROUS_IOCTLS)
extern const uint32_t seccomp_dangerous_ioctls[SECCOMP_DANGEROUS_IOCTLS];
size_t seccomp_ioctl_cover(uint64_t (*ret)[2]);
