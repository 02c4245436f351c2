/* SPDX-License-Identifier: Apache-2.0 */
/* The bundle's config.json as nbmount-runtime(8) reads and edits it on create: a container with
 * io.nbmount.* annotations gets nbmount's createRuntime and poststop hooks, written back
 * atomically; any other container is left as it is, byte for byte. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "error.h"
#include "ociconfig.h"

#define BUNDLE_HOOK_TIMEOUT_S 30

/* What the hooks run: the program (absolute) and the node config it is given with --config. */
struct bundle_hooks {
        const char *program;
        const char *node_config;
};

struct bundle_config {
        int dir_fd;                   /* the bundle folder, opened without following a symlink */
        char file[NB_PATH_MAX + 16];  /* "BUNDLE/config.json", for messages */
        struct stat st;               /* config.json's owner and mode, kept by the rewrite */
        char *text;                   /* config.json as read */
        size_t len;
        struct json_object *root;     /* parsed, for a notebook only */
        struct container_identity identity;
};

/* Reads BUNDLE/config.json (bundle NULL: the working directory). Returns 1 for a notebook (an
 * io.nbmount.* annotation; its identity valid), 0 for any other container, or -errno with err
 * naming the file, the fault and the fix. A config.json nbmount cannot or may not read (a symlink
 * for the bundle or the file, over OCI_CONFIG_MAX_BYTES, not JSON) is an error only if its bytes
 * name an io.nbmount. annotation: for any other container it is 0, and the runtime judges it. */
int bundle_config_read(const char *bundle, struct bundle_config *ret, struct nb_error *err);

/* Adds the hooks not already there (an entry of the same program whose args[1] is "hook") and
 * writes config.json back: a new file in the bundle with config.json's owner and mode, synced,
 * renamed over it. Returns 1 when written, 0 when both hooks were there (nothing written), or
 * -errno (nothing written). */
int bundle_config_add_hooks(struct bundle_config *c, const struct bundle_hooks *hooks, struct nb_error *err);

void bundle_config_done(struct bundle_config *c);
