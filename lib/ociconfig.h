/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI bundle's config.json: the container's identity (io.nbmount.* annotations) (docs/FORMATS.md §4). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "seccompcheck.h"
#include "values.h"

struct json_object;

#define OCI_CONFIG_MAX_BYTES ((size_t) 4 * 1024 * 1024)

#define ANNOTATION_PREFIX "io.nbmount."
#define ANNOTATION_TEAM "io.nbmount.team"
#define ANNOTATION_NOTEBOOK "io.nbmount.notebook"
#define ANNOTATION_USER "io.nbmount.user"
#define ANNOTATION_STORAGE_CLUSTER "io.nbmount.storage-cluster"

struct container_identity {
        nb_name team, notebook, user;
        nb_name storage_cluster; /* "" means the node's cluster */
};

/* What the hook needs of config.json besides the identity. */
struct oci_config {
        struct container_identity identity;
        char root_path[NB_PATH_MAX + 1]; /* root.path as written: absolute, or relative to the bundle */
        uint32_t uid, gid;               /* process.user, 0 when absent */
        bool user_namespace;             /* linux.namespaces has a "user" namespace (what the container
                                            really has is read at run time: container.h) */
        struct seccomp_guard seccomp;    /* whether linux.seccomp stops the ways out of a quota project */
        bool cap_sys_resource;           /* process.capabilities holds CAP_SYS_RESOURCE in some set */
};

int oci_config_parse(const char *text, size_t len, const char *file, struct oci_config *ret, struct nb_error *err);
int oci_config_load_fd(int fd, const char *file, struct oci_config *ret, struct nb_error *err);
/* linux.seccomp (an OCI profile) as seccompcheck.c reads it: what nbmount cannot read is marked
 * not understood, never an error. *ret->rules is malloc'd (free it); -ENOMEM if it cannot be. */
int oci_seccomp_read(struct json_object *seccomp, struct seccomp_profile *ret);
/* Only the identity, for callers that need nothing else. */
int oci_identity_parse(const char *text, size_t len, const char *file, struct container_identity *ret,
                       struct nb_error *err);
/* The same from config.json already parsed (root) from text. */
int oci_identity_read(struct json_object *root, const char *text, const char *file, struct container_identity *ret,
                      struct nb_error *err);
