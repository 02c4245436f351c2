/* SPDX-License-Identifier: Apache-2.0 */
/* nbmountd's list of shared S3 mounts, as `nbmount mounts` and `nbmount meter --textfile` read it:
 * one MOUNTD_LIST call, and what a mount's members say (its health in one word). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "error.h"

#define MOUNT_LIST_TIMEOUT_S 10

/* Asks nbmountd at socket_path for its mounts: *ret_reply owns the answer, *ret_mounts (an array)
 * points into it. */
int mount_list_fetch(const char *socket_path, struct json_object **ret_reply, struct json_object **ret_mounts,
                     struct nb_error *err);

/* o[key] as a string ("" when absent) or a boolean (false when absent). */
const char *mount_member(struct json_object *o, const char *key);
bool mount_flag(struct json_object *o, const char *key);

/* ok; mounting; healing (a new s3fs is being swapped in); s3fs-dead; not-mounted. */
const char *mount_health(struct json_object *mount);
