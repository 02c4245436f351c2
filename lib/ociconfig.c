#include "ociconfig.h"

#include <errno.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>

#include "jsonfile.h"
#include "textfile.h"
#include "util.h"

static int check_our_annotations(const struct jctx *c, struct json_object *annotations) {
        static const char *const ours[] = { ANNOTATION_TEAM, ANNOTATION_NOTEBOOK, ANNOTATION_USER,
                                            ANNOTATION_STORAGE_CLUSTER, NULL };
        char pointer[512];

        json_object_object_foreach(annotations, key, value) {
                bool known = false;

                (void) value;
                if (strncmp(key, "io.nbmount.", 11) != 0)
                        continue;
                for (size_t i = 0; ours[i] && !known; i++)
                        known = streq(ours[i], key);
                if (known)
                        continue;
                json_pointer_append(pointer, sizeof(pointer), "/annotations", key);
                return jfail(c, pointer,
                             "unknown annotation \"%.64s\" (nbmount reads io.nbmount.team, io.nbmount.notebook, io.nbmount.user, io.nbmount.storage-cluster)",
                             key);
        }
        return 0;
}

static int parse_annotations(const struct jctx *c, struct json_object *root, struct container_identity *ret) {
        static const char *const required[] = { ANNOTATION_TEAM, ANNOTATION_NOTEBOOK, ANNOTATION_USER, NULL };
        struct json_object *annotations;
        int r;

        if (!json_object_object_get_ex(root, "annotations", &annotations))
                return jfail(c, "", "config.json has no \"annotations\"; the orchestrator must set %s, %s and %s",
                             ANNOTATION_TEAM, ANNOTATION_NOTEBOOK, ANNOTATION_USER);
        if ((r = jexpect_object(c, annotations, "/annotations", "\"annotations\"")) < 0 ||
            (r = check_our_annotations(c, annotations)) < 0)
                return r;
        for (size_t i = 0; required[i]; i++)
                if (!json_object_object_get_ex(annotations, required[i], NULL))
                        return jfail(c, "/annotations", "annotation \"%s\" is missing; the orchestrator must set it",
                                     required[i]);
        if ((r = jget_string(c, annotations, "/annotations", ANNOTATION_TEAM, ret->team, sizeof(nb_name),
                             name_problem)) < 0 ||
            (r = jget_string(c, annotations, "/annotations", ANNOTATION_NOTEBOOK, ret->notebook, sizeof(nb_name),
                             name_problem)) < 0 ||
            (r = jget_string(c, annotations, "/annotations", ANNOTATION_USER, ret->user, sizeof(nb_name),
                             name_problem)) < 0 ||
            (r = jget_string(c, annotations, "/annotations", ANNOTATION_STORAGE_CLUSTER, ret->storage_cluster,
                             sizeof(nb_name), name_problem)) < 0)
                return r;
        return 0;
}

static const char *root_path_problem(const char *s) {
        if (!s[0])
                return "is empty";
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return "contains a control character";
        return NULL;
}

static int parse_root(const struct jctx *c, struct json_object *root, struct oci_config *ret) {
        struct json_object *root_object;
        int r;

        if (!json_object_object_get_ex(root, "root", &root_object))
                return jfail(c, "", "config.json has no \"root\"; the runtime must name the container's root filesystem");
        if ((r = jexpect_object(c, root_object, "/root", "\"root\"")) < 0)
                return r;
        if ((r = jget_string(c, root_object, "/root", "path", ret->root_path, sizeof(ret->root_path),
                             root_path_problem)) < 0)
                return r;
        if (r == 0)
                return jfail(c, "/root", "\"root\" has no \"path\"");
        return 0;
}

static int get_id(const struct jctx *c, struct json_object *user, const char *key, uint32_t *out) {
        struct json_object *value;
        char pointer[32];
        int64_t id;

        if (!json_object_object_get_ex(user, key, &value))
                return 0;
        snprintf(pointer, sizeof(pointer), "/process/user/%s", key);
        id = json_object_get_int64(value);
        if (!json_object_is_type(value, json_type_int) || id < 0 || id >= UINT32_MAX)
                return jfail(c, pointer, "\"%s\" must be a user or group id from 0 to 4294967294", key);
        *out = (uint32_t) id;
        return 0;
}

static int parse_user(const struct jctx *c, struct json_object *root, struct oci_config *ret) {
        struct json_object *process, *user;
        int r;

        if (!json_object_object_get_ex(root, "process", &process) || !json_object_is_type(process, json_type_object) ||
            !json_object_object_get_ex(process, "user", &user))
                return 0;
        if ((r = jexpect_object(c, user, "/process/user", "\"process.user\"")) < 0 ||
            (r = get_id(c, user, "uid", &ret->uid)) < 0 || (r = get_id(c, user, "gid", &ret->gid)) < 0)
                return r;
        return 0;
}

static struct json_object *get_path(struct json_object *object, const char *a, const char *b) {
        struct json_object *first, *second;

        if (!json_object_object_get_ex(object, a, &first) || !json_object_object_get_ex(first, b, &second))
                return NULL;
        return second;
}

static bool has_user_namespace(struct json_object *root) {
        struct json_object *namespaces = get_path(root, "linux", "namespaces"), *type;

        for (size_t i = 0; json_object_is_type(namespaces, json_type_array) && i < json_object_array_length(namespaces);
             i++)
                if (json_object_object_get_ex(json_object_array_get_idx(namespaces, i), "type", &type) &&
                    streq(json_object_get_string(type) ?: "", "user"))
                        return true;
        return false;
}

static bool in_string_array(struct json_object *array, const char *word) {
        for (size_t i = 0; json_object_is_type(array, json_type_array) && i < json_object_array_length(array); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(array, i)) ?: "", word))
                        return true;
        return false;
}

static bool is_denying_action(struct json_object *action) {
        static const char *const denying[] = { "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                                               "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", NULL };
        const char *name = json_object_get_string(action) ?: "";

        for (size_t i = 0; denying[i]; i++)
                if (streq(name, denying[i]))
                        return true;
        return false;
}

/* {names: [ioctl], action: ERRNO|KILL*|TRAP, args: [{index: 1, value: FS_IOC_FSSETXATTR, op: EQ}]}
 * and no other condition: a second one (say, on the fd) would leave the ioctl open elsewhere. */
static bool rule_denies_projid_ioctl(struct json_object *rule) {
        struct json_object *names, *action, *args, *arg, *index, *value, *op;

        if (!json_object_object_get_ex(rule, "names", &names) || !in_string_array(names, "ioctl") ||
            !json_object_object_get_ex(rule, "action", &action) || !is_denying_action(action) ||
            !json_object_object_get_ex(rule, "args", &args) || !json_object_is_type(args, json_type_array) ||
            json_object_array_length(args) != 1)
                return false;
        arg = json_object_array_get_idx(args, 0);
        return json_object_object_get_ex(arg, "index", &index) && json_object_get_int64(index) == 1 &&
               json_object_object_get_ex(arg, "value", &value) && json_object_get_uint64(value) == FS_IOC_FSSETXATTR &&
               json_object_object_get_ex(arg, "op", &op) && streq(json_object_get_string(op) ?: "", "SCMP_CMP_EQ");
}

/* An allowing ioctl rule is safe only when a condition on the request excludes FS_IOC_FSSETXATTR:
 * libseccomp lets an unconditional ALLOW beat a conditional ERRNO, in whatever order. */
static bool allow_rule_excludes_projid(struct json_object *rule) {
        struct json_object *args, *index, *value, *op;

        if (!json_object_object_get_ex(rule, "args", &args) || !json_object_is_type(args, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(args); i++) {
                struct json_object *arg = json_object_array_get_idx(args, i);
                const char *operation;
                bool is_projid;

                if (!json_object_object_get_ex(arg, "index", &index) || json_object_get_int64(index) != 1 ||
                    !json_object_object_get_ex(arg, "value", &value) || !json_object_object_get_ex(arg, "op", &op))
                        continue;
                operation = json_object_get_string(op) ?: "";
                is_projid = json_object_get_uint64(value) == FS_IOC_FSSETXATTR;
                if ((streq(operation, "SCMP_CMP_NE") && is_projid) || (streq(operation, "SCMP_CMP_EQ") && !is_projid))
                        return true;
        }
        return false;
}

static bool rule_allows(struct json_object *rule, const char *syscall_name) {
        struct json_object *names, *action;

        return json_object_object_get_ex(rule, "names", &names) && in_string_array(names, syscall_name) &&
               json_object_object_get_ex(rule, "action", &action) && !is_denying_action(action);
}

static void read_seccomp(struct json_object *root, struct oci_config *ret) {
        struct json_object *seccomp = get_path(root, "linux", "seccomp"), *action, *rules;

        if (!seccomp)
                return;
        ret->seccomp_default_denies = json_object_object_get_ex(seccomp, "defaultAction", &action) &&
                                      is_denying_action(action);
        if (!json_object_object_get_ex(seccomp, "syscalls", &rules) || !json_object_is_type(rules, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(rules); i++) {
                struct json_object *rule = json_object_array_get_idx(rules, i);

                ret->seccomp_denies_projid_ioctl |= rule_denies_projid_ioctl(rule);
                ret->seccomp_allows_projid_ioctl |= rule_allows(rule, "ioctl") && !allow_rule_excludes_projid(rule);
                ret->seccomp_allows_file_setattr |= rule_allows(rule, "file_setattr");
        }
}

static bool has_capability(struct json_object *root, const char *capability) {
        static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted", "ambient" };
        struct json_object *capabilities = get_path(root, "process", "capabilities"), *set;

        for (size_t i = 0; capabilities && i < ARRAY_SIZE(sets); i++)
                if (json_object_object_get_ex(capabilities, sets[i], &set) && in_string_array(set, capability))
                        return true;
        return false;
}

/* The host's id for a container id, through mappings [{containerID, hostID, size}]. */
static uint32_t map_id(struct json_object *mappings, uint32_t id) {
        struct json_object *container_id, *host_id, *size;

        for (size_t i = 0; json_object_is_type(mappings, json_type_array) && i < json_object_array_length(mappings); i++) {
                struct json_object *m = json_object_array_get_idx(mappings, i);
                int64_t first, count;

                if (!json_object_object_get_ex(m, "containerID", &container_id) ||
                    !json_object_object_get_ex(m, "hostID", &host_id) || !json_object_object_get_ex(m, "size", &size))
                        continue;
                first = json_object_get_int64(container_id);
                count = json_object_get_int64(size);
                if (id >= first && id < first + count)
                        return (uint32_t) (json_object_get_int64(host_id) + (id - first));
        }
        return id;
}

int oci_config_parse(const char *text, size_t len, const char *file, struct oci_config *ret, struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        const struct jctx c = { .file = file, .text = text, .err = err };
        struct oci_config config = {};
        int r;

        if ((r = json_parse_strict(text, len, file, &root, err)) < 0 ||
            (r = jexpect_object(&c, root, "", "config.json")) < 0 ||
            (r = parse_annotations(&c, root, &config.identity)) < 0 || (r = parse_root(&c, root, &config)) < 0 ||
            (r = parse_user(&c, root, &config)) < 0)
                return r;
        config.user_namespace = has_user_namespace(root);
        read_seccomp(root, &config);
        config.cap_sys_resource = has_capability(root, "CAP_SYS_RESOURCE");
        config.host_uid = config.user_namespace ? map_id(get_path(root, "linux", "uidMappings"), config.uid) : config.uid;
        config.host_gid = config.user_namespace ? map_id(get_path(root, "linux", "gidMappings"), config.gid) : config.gid;
        *ret = config;
        return 0;
}

int oci_identity_parse(const char *text, size_t len, const char *file, struct container_identity *ret,
                       struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        const struct jctx c = { .file = file, .text = text, .err = err };
        struct container_identity identity = {};
        int r;

        if ((r = json_parse_strict(text, len, file, &root, err)) < 0 ||
            (r = jexpect_object(&c, root, "", "config.json")) < 0 || (r = parse_annotations(&c, root, &identity)) < 0)
                return r;
        *ret = identity;
        return 0;
}

int oci_config_load_fd(int fd, const char *file, struct oci_config *ret, struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if ((r = text_read_fd(fd, file, OCI_CONFIG_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return oci_config_parse(text, len, file, ret, err);
}
