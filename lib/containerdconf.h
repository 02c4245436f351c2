/* SPDX-License-Identifier: Apache-2.0 */
/* containerd's config.toml, read just enough for `nbmount check`: the CRI runtime handlers
 * (plugins."io.containerd.grpc.v1.cri".containerd.runtimes.NAME, and so in versions 1 and 3) with their runtime_type,
 * pod_annotations and options.BinaryName. Not a TOML parser: one "key = value" a line (an array
 * may span lines), table headers, comments; what it cannot read is left out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "values.h"

#define CONTAINERD_CONFIG_DEFAULT_PATH "/etc/containerd/config.toml"
#define CONTAINERD_CONFIG_MAX_BYTES ((size_t) 1024 * 1024)
#define CONTAINERD_MAX_RUNTIMES 16

struct containerd_runtime {
        char handler[NB_NAME_MAX + 1];
        char runtime_type[128];
        char binary_name[512];
        bool passes_annotations; /* pod_annotations holds "io.nbmount.*" (or a pattern that matches it) */
};

struct containerd_config {
        size_t n_runtimes;
        struct containerd_runtime runtimes[CONTAINERD_MAX_RUNTIMES];
};

/* text: the file's content, NUL-terminated. Never fails. */
void containerd_config_read(const char *text, struct containerd_config *ret);

/* The first runtime whose BinaryName's last component is `program` (e.g. nbmount-runtime), or NULL. */
const struct containerd_runtime *containerd_find_binary(const struct containerd_config *c, const char *program);
