/* The OCI bundle's config.json: the container's identity (io.nbmount.* annotations) (docs/FORMATS.md §4). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "values.h"

#define OCI_CONFIG_MAX_BYTES ((size_t) 4 * 1024 * 1024)

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
        bool user_namespace;             /* linux.namespaces has a "user" namespace */
        bool seccomp_denies_projid_ioctl; /* a rule refuses ioctl(fd, FS_IOC_FSSETXATTR, ...) for any fd */
        bool seccomp_allows_projid_ioctl; /* a rule lets ioctl through without excluding that request */
        bool seccomp_default_denies;     /* linux.seccomp.defaultAction refuses what no rule names */
        bool seccomp_allows_file_setattr; /* a rule lets file_setattr(2) through */
        bool cap_sys_resource;           /* process.capabilities holds CAP_SYS_RESOURCE in some set */
        uid_t host_uid;                  /* process.user.uid/gid as the host sees them: through */
        gid_t host_gid;                  /* linux.uidMappings/gidMappings in a user namespace */
};

int oci_config_parse(const char *text, size_t len, const char *file, struct oci_config *ret, struct nb_error *err);
int oci_config_load_fd(int fd, const char *file, struct oci_config *ret, struct nb_error *err);
/* Only the identity, for callers that need nothing else. */
int oci_identity_parse(const char *text, size_t len, const char *file, struct container_identity *ret,
                       struct nb_error *err);
