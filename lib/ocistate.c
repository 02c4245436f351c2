/* SPDX-License-Identifier: Apache-2.0 */
#include "ocistate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonfile.h"
#include "textfile.h"
#include "util.h"

const char *oci_container_id_problem(const char *id) {
        if (!id[0])
                return "is empty";
        for (const char *p = id; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-", *p))
                        return "may only contain letters, digits and _ + . -";
        return NULL;
}

static const char *status_problem(const char *status) {
        static const char *const known[] = { "creating", "created", "running", "stopped", NULL };

        for (size_t i = 0; known[i]; i++)
                if (streq(known[i], status))
                        return NULL;
        return "is not one of creating, created, running, stopped";
}

static int parse_pid(const struct jctx *c, struct json_object *root, pid_t *ret) {
        struct json_object *value;
        int64_t pid;

        if (!json_object_object_get_ex(root, "pid", &value))
                return 0;
        pid = json_object_get_int64(value);
        if (!json_object_is_type(value, json_type_int) || pid < 0 || pid > INT32_MAX)
                return jfail(c, "/pid", "\"pid\" must be a process id");
        *ret = (pid_t) pid;
        return 0;
}

int oci_state_parse(const char *text, size_t len, const char *file, struct oci_state *ret, struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        const struct jctx c = { .file = file, .text = text, .err = err };
        static const char *const required[] = { "id", "bundle", "status", NULL };
        struct oci_state state = {};
        int r;

        if ((r = json_parse_strict(text, len, file, &root, err)) < 0 ||
            (r = jexpect_object(&c, root, "", "the OCI state")) < 0)
                return r;
        for (size_t i = 0; required[i]; i++)
                if (!json_object_object_get_ex(root, required[i], NULL))
                        return jfail(&c, "", "the OCI state has no \"%s\"; is nbmount called as an OCI hook?",
                                     required[i]);
        if ((r = jget_string(&c, root, "", "id", state.id, sizeof(state.id), oci_container_id_problem)) < 0 ||
            (r = jget_string(&c, root, "", "bundle", state.bundle, sizeof(state.bundle), path_problem)) < 0 ||
            (r = jget_string(&c, root, "", "status", state.status, sizeof(state.status), status_problem)) < 0 ||
            (r = parse_pid(&c, root, &state.pid)) < 0)
                return r;
        *ret = state;
        return 0;
}

int oci_state_load_fd(int fd, const char *file, struct oci_state *ret, struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if ((r = text_read_fd_any(fd, file, OCI_STATE_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return oci_state_parse(text, len, file, ret, err);
}
