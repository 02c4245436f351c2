/* SPDX-License-Identifier: Apache-2.0 */
#include "ociconfig.h"

#include <errno.h>
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
                if (strncmp(key, ANNOTATION_PREFIX, strlen(ANNOTATION_PREFIX)) != 0)
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

/* ---- linux.seccomp, as plain data for seccompcheck.c ---------------------------------------------- */

static bool is_uint(struct json_object *value) {
        return json_object_is_type(value, json_type_int) && (json_object_get_int64(value) >= 0 ||
                                                            json_object_get_uint64(value) > INT64_MAX);
}

/* The names of a rule; 0 when they are readable, -EINVAL when not (then it may name anything). */
static int read_names(struct json_object *names, struct seccomp_rule *r) {
        if (!json_object_is_type(names, json_type_array))
                return -EINVAL;
        for (size_t i = 0; i < json_object_array_length(names); i++) {
                struct json_object *name = json_object_array_get_idx(names, i);

                if (!json_object_is_type(name, json_type_string))
                        return -EINVAL;
                r->names_ioctl |= streq(json_object_get_string(name), "ioctl");
                r->names_file_setattr |= streq(json_object_get_string(name), "file_setattr");
        }
        return 0;
}

/* {index, value, valueTwo, op}: 0, or -EINVAL with what is wrong in r->not_understood. */
static int read_condition(struct json_object *arg, struct seccomp_condition *ret, struct seccomp_rule *r) {
        static const char *const keys[] = { "index", "value", "valueTwo", "op" };
        struct json_object *index, *value, *value_two, *op = NULL;

        if (!json_object_is_type(arg, json_type_object))
                return snprintf(r->not_understood, sizeof(r->not_understood), "an argument that is not an object"), -EINVAL;
        json_object_object_foreach(arg, key, member) {
                bool known = false;

                (void) member;
                for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                        known |= streq(key, keys[i]);
                if (!known)
                        return snprintf(r->not_understood, sizeof(r->not_understood), "the argument key \"%.40s\"", key),
                               -EINVAL;
        }
        if (!json_object_object_get_ex(arg, "index", &index) || !is_uint(index) ||
            json_object_get_uint64(index) >= SECCOMP_ARGS_MAX)
                return snprintf(r->not_understood, sizeof(r->not_understood), "an argument index that is not 0 to 5"), -EINVAL;
        if (!json_object_object_get_ex(arg, "op", &op) || !json_object_is_type(op, json_type_string) ||
            seccomp_op_parse(json_object_get_string(op), &ret->op) < 0)
                return snprintf(r->not_understood, sizeof(r->not_understood), "an unknown comparison \"%.40s\"",
                                op ? json_object_get_string(op) : ""), -EINVAL;
        if ((json_object_object_get_ex(arg, "value", &value) && !is_uint(value)) ||
            (json_object_object_get_ex(arg, "valueTwo", &value_two) && !is_uint(value_two)))
                return snprintf(r->not_understood, sizeof(r->not_understood), "a value that is not an integer from 0 to 2^64-1"),
                       -EINVAL;
        ret->index = (unsigned) json_object_get_uint64(index);
        ret->value = json_object_object_get_ex(arg, "value", &value) ? json_object_get_uint64(value) : 0;
        ret->value_two = json_object_object_get_ex(arg, "valueTwo", &value_two) ? json_object_get_uint64(value_two) : 0;
        return 0;
}

static void read_conditions(struct json_object *args, struct seccomp_rule *r) {
        if (!args || json_object_is_type(args, json_type_null))
                return;
        if (!json_object_is_type(args, json_type_array)) {
                snprintf(r->not_understood, sizeof(r->not_understood), "\"args\" that is not an array");
                return;
        }
        if (json_object_array_length(args) > SECCOMP_ARGS_MAX) {
                snprintf(r->not_understood, sizeof(r->not_understood), "more than 6 conditions (crun reads 6)");
                return;
        }
        for (size_t i = 0; i < json_object_array_length(args); i++)
                if (read_condition(json_object_array_get_idx(args, i), &r->conditions[r->n_conditions++], r) < 0)
                        return;
}

static void read_action(struct json_object *rule, struct seccomp_rule *r) {
        struct json_object *action, *errno_ret;
        int denies;

        if (!json_object_object_get_ex(rule, "action", &action) || !json_object_is_type(action, json_type_string)) {
                snprintf(r->not_understood, sizeof(r->not_understood), "no action");
                return;
        }
        snprintf(r->action, sizeof(r->action), "%s", json_object_get_string(action));
        if ((denies = seccomp_action_denies(json_object_get_string(action))) < 0)
                snprintf(r->not_understood, sizeof(r->not_understood), "the action \"%.40s\"", json_object_get_string(action));
        r->denies = denies > 0;
        if (json_object_object_get_ex(rule, "errnoRet", &errno_ret) && !is_uint(errno_ret))
                snprintf(r->not_understood, sizeof(r->not_understood), "an errnoRet that is not a number");
}

/* One entry of linux.seccomp.syscalls; false when it names neither ioctl nor file_setattr. */
static bool read_rule(struct json_object *rule, size_t position, struct seccomp_rule *r) {
        static const char *const keys[] = { "names", "action", "errnoRet", "args", "comment" };
        struct json_object *names, *args = NULL;

        *r = (struct seccomp_rule) { .position = position };
        if (!json_object_is_type(rule, json_type_object)) {
                r->names_ioctl = r->names_file_setattr = true;
                snprintf(r->not_understood, sizeof(r->not_understood), "a rule that is not an object");
                return true;
        }
        if (!json_object_object_get_ex(rule, "names", &names) || read_names(names, r) < 0) {
                r->names_ioctl = r->names_file_setattr = true;
                snprintf(r->not_understood, sizeof(r->not_understood), "\"names\" that is not an array of names");
        }
        if (!r->names_ioctl && !r->names_file_setattr)
                return false;
        json_object_object_foreach(rule, key, member) {
                bool known = false;

                (void) member;
                for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                        known |= streq(key, keys[i]);
                if (!known && !r->not_understood[0])
                        snprintf(r->not_understood, sizeof(r->not_understood), "the key \"%.40s\"", key);
        }
        read_action(rule, r);
        json_object_object_get_ex(rule, "args", &args);
        if (!r->not_understood[0])
                read_conditions(args, r);
        if (r->not_understood[0])
                r->n_conditions = 0; /* the rule counts as one without conditions */
        return true;
}

static int read_rules(struct json_object *rules, struct seccomp_profile *ret) {
        size_t n = json_object_array_length(rules);

        if (n == 0)
                return 0;
        if (!(ret->rules = calloc(n, sizeof(*ret->rules))))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (read_rule(json_object_array_get_idx(rules, i), i, &ret->rules[ret->n_rules]))
                        ret->n_rules++;
        return 0;
}

static void read_architectures(struct json_object *architectures, struct seccomp_profile *ret) {
        if (!architectures || json_object_is_type(architectures, json_type_null))
                return;
        if (!json_object_is_type(architectures, json_type_array)) {
                ret->has_32bit_arch = true;
                return;
        }
        for (size_t i = 0; i < json_object_array_length(architectures); i++) {
                const char *arch = json_object_get_string(json_object_array_get_idx(architectures, i));

                ret->has_32bit_arch |= seccomp_arch_is_32bit(arch ?: "");
        }
}

int oci_seccomp_read(struct json_object *seccomp, struct seccomp_profile *ret) {
        static const char *const keys[] = { "defaultAction", "defaultErrnoRet", "architectures", "flags",
                                            "listenerPath",  "listenerMetadata", "syscalls" };
        struct json_object *action, *architectures = NULL, *rules = NULL;

        *ret = (struct seccomp_profile) { .present = true };
        if (!json_object_is_type(seccomp, json_type_object))
                return snprintf(ret->not_understood, sizeof(ret->not_understood), "a profile that is not an object"), 0;
        json_object_object_foreach(seccomp, key, member) {
                bool known = false;

                (void) member;
                for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                        known |= streq(key, keys[i]);
                if (!known && !ret->not_understood[0])
                        snprintf(ret->not_understood, sizeof(ret->not_understood), "the key \"%.40s\"", key);
        }
        if (json_object_object_get_ex(seccomp, "defaultAction", &action) && json_object_is_type(action, json_type_string)) {
                snprintf(ret->default_action, sizeof(ret->default_action), "%s", json_object_get_string(action));
                ret->default_denies = seccomp_action_denies(ret->default_action) > 0;
        } else {
                snprintf(ret->default_action, sizeof(ret->default_action), "missing");
        }
        json_object_object_get_ex(seccomp, "architectures", &architectures);
        read_architectures(architectures, ret);
        json_object_object_get_ex(seccomp, "syscalls", &rules);
        if (!rules || json_object_is_type(rules, json_type_null))
                return 0;
        if (!json_object_is_type(rules, json_type_array))
                return snprintf(ret->not_understood, sizeof(ret->not_understood), "\"syscalls\" that is not an array"), 0;
        return read_rules(rules, ret);
}

/* The guard decided from linux.seccomp; a profile that could not be read whole is not one. */
static void judge_seccomp(struct json_object *root, struct oci_config *ret) {
        struct json_object *seccomp = get_path(root, "linux", "seccomp");
        struct seccomp_profile profile = {};

        if (seccomp && oci_seccomp_read(seccomp, &profile) < 0)
                snprintf(profile.not_understood, sizeof(profile.not_understood), "more rules than memory allows");
        seccomp_guard_judge(&profile, &ret->seccomp);
        free(profile.rules);
}

static bool has_capability(struct json_object *root, const char *capability) {
        static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted", "ambient" };
        struct json_object *capabilities = get_path(root, "process", "capabilities"), *set;

        for (size_t i = 0; capabilities && i < ARRAY_SIZE(sets); i++)
                if (json_object_object_get_ex(capabilities, sets[i], &set) && in_string_array(set, capability))
                        return true;
        return false;
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
        judge_seccomp(root, &config);
        config.cap_sys_resource = has_capability(root, "CAP_SYS_RESOURCE");
        *ret = config;
        return 0;
}

int oci_identity_read(struct json_object *root, const char *text, const char *file, struct container_identity *ret,
                      struct nb_error *err) {
        const struct jctx c = { .file = file, .text = text, .err = err };
        struct container_identity identity = {};
        int r;

        if ((r = jexpect_object(&c, root, "", "config.json")) < 0 || (r = parse_annotations(&c, root, &identity)) < 0)
                return r;
        *ret = identity;
        return 0;
}

int oci_identity_parse(const char *text, size_t len, const char *file, struct container_identity *ret,
                       struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        int r;

        if ((r = json_parse_strict(text, len, file, &root, err)) < 0)
                return r;
        return oci_identity_read(root, text, file, ret, err);
}

int oci_config_load_fd(int fd, const char *file, struct oci_config *ret, struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if ((r = text_read_fd(fd, file, OCI_CONFIG_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return oci_config_parse(text, len, file, ret, err);
}
