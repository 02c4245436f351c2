/* SPDX-License-Identifier: Apache-2.0 */
/* The notebook's status file, NOTEBOOK/.gradient/mounts.status (docs/FORMATS.md): what this start
 * mounted, skipped or left pending, and why, for the user to read beside settings.yaml. Written as
 * root into a folder the user controls: never through a symlink, never onto a planted file (a new
 * file under a temporary name, owned by the user, renamed over the name), never blocking. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define MOUNT_STATUS_NAME "mounts.status"
#define MOUNT_STATUS_FOLDER ".gradient"
#define MOUNT_STATUS_MAX_BYTES ((size_t) 256 * 1024)

enum entry_state { ENTRY_MOUNTED, ENTRY_SKIPPED, ENTRY_PENDING };

/* Whose status file: NOTEBOOKS_ROOT/TEAM/NOTEBOOK/.gradient/mounts.status, owned by uid:gid. */
struct status_place {
        const char *notebooks_root;
        const char *team, *notebook;
        uid_t uid;
        gid_t gid;
};

const char *entry_state_name(enum entry_state state);

/* The first line of a status file for container, started now. */
int mount_status_header(const char *container, char *buf, size_t size);
/* One entry's line ("TARGET  STATE  REASON\n"), appended at buf[*len] within size; what does not
 * fit is cut. Bytes a terminal or an editor would take for more than text are shown as '?'. */
void mount_status_append(char *buf, size_t size, size_t *len, const char *target, enum entry_state state,
                         const char *reason);

/* Replaces the status file with text (header and entries). -errno and why in err when it cannot be
 * written safely; nothing outside the notebook's .gradient folder is ever touched. -ENOENT when the
 * notebook has no .gradient folder (and so no settings.yaml): none is made. */
int mount_status_write(const struct status_place *place, const char *text, size_t len, struct nb_error *err);
/* The same for another file of the notebook's .gradient folder (name: a plain file name), such as
 * nbmountd's offline.status. */
int status_file_write(const struct status_place *place, const char *name, const char *text, size_t len,
                      struct nb_error *err);

/* Rewrites the entry of target in the status file, if that file is still the one of container (its
 * header): nbmountd, once a pending bucket is attached or given up. -ESTALE when the file belongs
 * to another start (or is gone), -ENOENT when it has no entry for target. */
int mount_status_update(const struct status_place *place, const char *container, const char *target,
                        enum entry_state state, const char *reason, struct nb_error *err);
