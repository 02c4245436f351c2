/* SPDX-License-Identifier: Apache-2.0 */
/* A seccomp profile made to keep a container in its quota project (nbmount seccomp), from one
 * that denies by default: podman's and CRI-O's format (containers-common's seccomp.json, with
 * archMap, includes and excludes) or an OCI linux.seccomp object; and the OCI linux.seccomp that
 * podman would put in config.json from the former, for runc and crun. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* ioctl's unconditional allow becomes one allow rule per prefix of seccomp_ioctl_cover() (one
 * SCMP_CMP_MASKED_EQ condition each, bits 32-63 ignored, so that no runtime can split or join them
 * into something else); the rules of packaging/seccomp/nbmount-quota.json are added (EPERM rather
 * than the default's error); file_setattr leaves every allowing rule. Fails (-EINVAL, err naming
 * file and the rule) on a profile that allows by default or has conditions of its own on ioctl. */
int seccomp_profile_rewrite(struct json_object *profile, const char *file, struct nb_error *err);

/* The capabilities the container holds, which decide the rules with includes.caps / excludes.caps. */
struct profile_caps {
        bool all;                 /* every capability */
        size_t n;
        char *const *names;       /* else these (CAP_SYS_ADMIN, ...) */
};

/* The OCI linux.seccomp podman 4 writes for this machine's architecture and caps from profile: the
 * architectures of archMap, the rules whose includes and excludes hold, errno names made numbers.
 * An OCI profile comes out as it went in. *ret is new (json_object_put it). */
int seccomp_profile_to_oci(struct json_object *profile, const struct profile_caps *caps, const char *file,
                           struct json_object **ret, struct nb_error *err);
