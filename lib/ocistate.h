/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI state a runtime writes on a hook's stdin (runtime-spec "State"). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "values.h"

#define OCI_STATE_MAX_BYTES ((size_t) 1024 * 1024)
#define OCI_ID_MAX 256

struct oci_state {
        char id[OCI_ID_MAX + 1];
        pid_t pid;                      /* 0 when absent (poststop) */
        char bundle[NB_PATH_MAX + 1];
        char status[32];
};

/* NULL when id is a valid container id (letters, digits and _ + . -), else why not. */
const char *oci_container_id_problem(const char *id);

int oci_state_parse(const char *text, size_t len, const char *file, struct oci_state *ret, struct nb_error *err);
int oci_state_load_fd(int fd, const char *file, struct oci_state *ret, struct nb_error *err);
