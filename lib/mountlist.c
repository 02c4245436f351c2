/* SPDX-License-Identifier: Apache-2.0 */
#include "mountlist.h"

#include <errno.h>

#include "jsonfile.h"
#include "mountproto.h"
#include "util.h"

int mount_list_fetch(const char *socket_path, struct json_object **ret_reply, struct json_object **ret_mounts,
                     struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct mountd_request req = { .op = MOUNTD_LIST };
        _cleanup_close_ int fd = -1;
        struct json_object *mounts;
        int r;

        if ((r = mountd_call(socket_path, &req, MOUNT_LIST_TIMEOUT_S, &reply, &fd, err)) < 0)
                return r;
        if (!json_object_object_get_ex(reply, "mounts", &mounts) || !json_object_is_type(mounts, json_type_array))
                return nb_fail(err, EPROTO, "nbmountd's answer has no mount list; is it the same version as nbmount?");
        *ret_mounts = mounts;
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

const char *mount_member(struct json_object *o, const char *key) {
        struct json_object *value;

        return json_object_object_get_ex(o, key, &value) ? json_object_get_string(value) : "";
}

bool mount_flag(struct json_object *o, const char *key) {
        struct json_object *value;

        return json_object_object_get_ex(o, key, &value) && json_object_get_boolean(value);
}

const char *mount_health(struct json_object *mount) {
        if (streq(mount_member(mount, "state"), "dead"))
                return "healing";
        if (!streq(mount_member(mount, "state"), "ready"))
                return mount_member(mount, "state");
        if (!mount_flag(mount, "s3fs_alive"))
                return "s3fs-dead";
        return mount_flag(mount, "mounted") ? "ok" : "not-mounted";
}
