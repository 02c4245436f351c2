/* SPDX-License-Identifier: Apache-2.0 */
/* RUN/mountd.json (docs/FORMATS.md §6, schemas/mountd-state.schema.json): the shared mounts and their
 * references, written atomically (new file, rename) at every change, so that a restart after
 * kill -9 adopts the live mounts and loses no reference. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "jsonfile.h"
#include "mountd.h"
#include "textfile.h"
#include "util.h"

#define STATE_MAX_BYTES ((size_t) 64 * 1024 * 1024)
#define STATE_VERSION 1

static const char *const state_names[] = {
        [SHARED_MOUNTING] = "mounting", [SHARED_READY] = "ready", [SHARED_FAILED] = "failed", [SHARED_DEAD] = "dead",
};

static struct json_object *targets_to_json(const struct mount_ref *ref) {
        struct json_object *targets = json_object_new_array();

        for (unsigned i = 0; i < ref->n_targets; i++)
                json_object_array_add(targets, json_object_new_string(ref->targets[i]));
        return targets;
}

/* What tells a rotated secret file from the one a key was read from; nothing of the key. */
static struct json_object *stamp_to_json(const struct secret_stamp *stamp) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "ino", json_object_new_uint64(stamp->ino));
        json_object_object_add(o, "size", json_object_new_uint64(stamp->size));
        json_object_object_add(o, "mtime_ns", json_object_new_uint64((uint64_t) stamp->mtime_ns));
        json_object_object_add(o, "ctime_ns", json_object_new_uint64((uint64_t) stamp->ctime_ns));
        return o;
}

static struct json_object *refs_to_json(const struct shared_mount *m) {
        struct json_object *refs = json_object_new_array();

        for (size_t i = 0; i < m->n_refs; i++) {
                struct json_object *ref = json_object_new_object();

                json_object_object_add(ref, "id", json_object_new_string(m->refs[i].container));
                json_object_object_add(ref, "pid", json_object_new_int64(m->refs[i].pid));
                json_object_object_add(ref, "start_time", json_object_new_uint64(m->refs[i].start_time));
                json_object_object_add(ref, "notebook", json_object_new_string(m->refs[i].notebook));
                json_object_object_add(ref, "targets", targets_to_json(&m->refs[i]));
                json_object_array_add(refs, ref);
        }
        return refs;
}

struct json_object *shared_mount_to_json(const struct shared_mount *m) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(m->name));
        json_object_object_add(o, "spec", s3_spec_to_json(&m->spec));
        json_object_object_add(o, "state", json_object_new_string(state_names[m->state]));
        json_object_object_add(o, "mountpoint", json_object_new_string(m->mountpoint));
        json_object_object_add(o, "s3fs_pid", json_object_new_int64(m->s3fs_pid));
        json_object_object_add(o, "s3fs_start_time", json_object_new_uint64(m->s3fs_start_time));
        json_object_object_add(o, "containers", refs_to_json(m));
        json_object_object_add(o, "dev", json_object_new_uint64(m->dev));
        json_object_object_add(o, "key_generation", json_object_new_uint64(m->key_generation));
        json_object_object_add(o, "key_file", stamp_to_json(&m->key_stamp));
        json_object_object_add(o, "refused_key_file", stamp_to_json(&m->refused_stamp));
        json_object_object_add(o, "restarts", json_object_new_uint64(m->restarts));
        json_object_object_add(o, "last_failure", json_object_new_string(m->last_failure));
        json_object_object_add(o, "last_failure_at", json_object_new_int64(m->last_failure_at));
        return o;
}

static struct json_object *state_to_json(const struct mountd *d) {
        struct json_object *root = json_object_new_object(), *mounts = json_object_new_array();

        for (const struct shared_mount *m = d->mounts; m; m = m->next)
                if (m->state != SHARED_FAILED)
                        json_object_array_add(mounts, shared_mount_to_json(m));
        json_object_object_add(root, "version", json_object_new_int(STATE_VERSION));
        json_object_object_add(root, "mounts", mounts);
        return root;
}

int state_save(const struct mountd *d) {
        _cleanup_(json_object_putp) struct json_object *root = state_to_json(d);
        char tmp[sizeof(d->paths.state_file) + 8];
        _cleanup_close_ int fd = -1;
        size_t len;
        const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED, &len);
        int r;

        snprintf(tmp, sizeof(tmp), "%s.new", d->paths.state_file);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if ((r = text_write_all(fd, text, len)) < 0 || (r = text_write_all(fd, "\n", 1)) < 0)
                return r;
        /* No fsync: the state describes processes and mounts, which a crash of the machine ends as
         * well; rename alone is atomic for every reader and survives a crash of nbmountd. */
        if (rename(tmp, d->paths.state_file) < 0)
                return -errno;
        return 0;
}

/* ---- loading ------------------------------------------------------------------------------------- */

static const char *target_problem(const char *s) {
        if (strncmp(s, "/datasets/", strlen("/datasets/")) != 0)
                return "must be /datasets/NAME";
        return name_problem(s + strlen("/datasets/"));
}

static int parse_targets(const struct jctx *c, struct json_object *value, const char *pointer, struct mount_ref *ret) {
        struct json_object *targets;
        char item[320];
        int r;

        if (!json_object_object_get_ex(value, "targets", &targets))
                return 0;
        snprintf(item, sizeof(item), "%s/targets", pointer);
        if (!json_object_is_type(targets, json_type_array) || json_object_array_length(targets) > MOUNT_REF_TARGETS)
                return jfail(c, item, "\"targets\" must be an array of at most %d targets", MOUNT_REF_TARGETS);
        for (size_t i = 0; i < json_object_array_length(targets); i++) {
                struct json_object *holder = json_object_new_object();

                json_object_object_add(holder, "t", json_object_get(json_object_array_get_idx(targets, i)));
                r = jget_string(c, holder, item, "t", ret->targets[ret->n_targets], sizeof(ret->targets[0]), target_problem);
                json_object_put(holder);
                if (r < 0)
                        return r;
                ret->n_targets++;
        }
        return 0;
}

static int parse_ref(const struct jctx *c, struct json_object *value, const char *pointer, struct mount_ref *ret) {
        static const char *const keys[] = { "id", "pid", "start_time", "notebook", "targets", NULL };
        static const char *const required[] = { "id", "pid", "start_time", NULL };
        uint64_t pid = 0;
        int r;

        if ((r = jexpect_object(c, value, pointer, "a container")) < 0 ||
            (r = jcheck_keys(c, value, pointer, "a container", keys, required)) < 0 ||
            (r = jget_string(c, value, pointer, "notebook", ret->notebook, sizeof(ret->notebook), name_problem)) < 0 ||
            (r = parse_targets(c, value, pointer, ret)) < 0 ||
            (r = jget_string(c, value, pointer, "id", ret->container, sizeof(ret->container),
                             oci_container_id_problem)) < 0 ||
            (r = jget_uint(c, value, pointer, "pid", INT32_MAX, &pid)) < 0 ||
            (r = jget_uint(c, value, pointer, "start_time", UINT64_MAX, &ret->start_time)) < 0)
                return r;
        ret->pid = (pid_t) pid;
        return 0;
}

static int parse_refs(const struct jctx *c, struct json_object *array, const char *pointer, struct shared_mount *m) {
        size_t n = json_object_array_length(array);

        if (n == 0)
                return 0;
        if (!(m->refs = calloc(n, sizeof(*m->refs))))
                return nb_fail(c->err, ENOMEM, "out of memory");
        m->cap_refs = n;
        for (size_t i = 0; i < n; i++) {
                char item[256];
                int r;

                snprintf(item, sizeof(item), "%s/%zu", pointer, i);
                if ((r = parse_ref(c, json_object_array_get_idx(array, i), item, &m->refs[i])) < 0)
                        return r;
                m->n_refs++;
        }
        return 0;
}

static const char *instance_name_problem(const char *name) {
        if (strlen(name) != MOUNTD_NAME_LEN || name[MOUNTD_ID_LEN] != '-' ||
            strspn(name, "0123456789abcdef") != MOUNTD_ID_LEN ||
            strspn(name + MOUNTD_ID_LEN + 1, "0123456789abcdef") != 8)
                return "is not ID-XXXXXXXX in hex digits";
        return NULL;
}

static int parse_stamp(const struct jctx *c, struct json_object *value, const char *pointer, const char *key,
                       struct secret_stamp *ret) {
        static const char *const keys[] = { "ino", "size", "mtime_ns", "ctime_ns", NULL };
        struct json_object *o;
        char member[128];
        uint64_t mtime = 0, ctime = 0;
        int r;

        if (!json_object_object_get_ex(value, key, &o))
                return 0;
        snprintf(member, sizeof(member), "%s/%s", pointer, key);
        if ((r = jexpect_object(c, o, member, key)) < 0 || (r = jcheck_keys(c, o, member, key, keys, keys)) < 0 ||
            (r = jget_uint(c, o, member, "ino", UINT64_MAX, &ret->ino)) < 0 ||
            (r = jget_uint(c, o, member, "size", UINT64_MAX, &ret->size)) < 0 ||
            (r = jget_uint(c, o, member, "mtime_ns", INT64_MAX, &mtime)) < 0 ||
            (r = jget_uint(c, o, member, "ctime_ns", INT64_MAX, &ctime)) < 0)
                return r;
        ret->mtime_ns = (int64_t) mtime;
        ret->ctime_ns = (int64_t) ctime;
        return 0;
}

/* What a state file of nbmountd before healing lacks: first key, no restart, the device asked again. */
static int parse_history(const struct jctx *c, struct json_object *value, const char *pointer, struct shared_mount *m) {
        uint64_t generation = 1, restarts = 0, at = 0;
        int r;

        if ((r = jget_uint(c, value, pointer, "dev", UINT64_MAX, &m->dev)) < 0 ||
            (r = jget_uint(c, value, pointer, "key_generation", UINT32_MAX, &generation)) < 0 ||
            (r = jget_uint(c, value, pointer, "restarts", UINT32_MAX, &restarts)) < 0 ||
            (r = jget_uint(c, value, pointer, "last_failure_at", INT64_MAX, &at)) < 0 ||
            (r = jget_string(c, value, pointer, "last_failure", m->last_failure, sizeof(m->last_failure), NULL)) < 0 ||
            (r = parse_stamp(c, value, pointer, "key_file", &m->key_stamp)) < 0 ||
            (r = parse_stamp(c, value, pointer, "refused_key_file", &m->refused_stamp)) < 0)
                return r;
        m->key_generation = (unsigned) MAX(generation, 1);
        m->restarts = (unsigned) restarts;
        m->last_failure_at = (int64_t) at;
        return 0;
}

static int parse_members(const struct jctx *c, struct json_object *value, const char *pointer, struct shared_mount *m) {
        struct json_object *spec, *refs;
        char state[16] = "", member[128];
        uint64_t pid = 0;
        int r;

        if ((r = jget_string(c, value, pointer, "name", m->name, sizeof(m->name), instance_name_problem)) < 0 ||
            (r = jget_string(c, value, pointer, "state", state, sizeof(state), NULL)) < 0 ||
            (r = jget_uint(c, value, pointer, "s3fs_pid", INT32_MAX, &pid)) < 0 ||
            (r = jget_uint(c, value, pointer, "s3fs_start_time", UINT64_MAX, &m->s3fs_start_time)) < 0)
                return r;
        m->s3fs_pid = (pid_t) pid;
        m->state = streq(state, "ready") ? SHARED_READY : streq(state, "dead") ? SHARED_DEAD : SHARED_MOUNTING;
        if ((r = parse_history(c, value, pointer, m)) < 0)
                return r;
        json_object_object_get_ex(value, "spec", &spec);
        snprintf(member, sizeof(member), "%s/spec", pointer);
        if ((r = jexpect_object(c, spec, member, "\"spec\"")) < 0 || (r = s3_spec_from_json(c, spec, member, &m->spec)) < 0)
                return r;
        json_object_object_get_ex(value, "containers", &refs);
        snprintf(member, sizeof(member), "%s/containers", pointer);
        if (!json_object_is_type(refs, json_type_array))
                return jfail(c, member, "\"containers\" must be an array");
        return parse_refs(c, refs, member, m);
}

static int parse_mount(const struct mountd *d, const struct jctx *c, struct json_object *value, const char *pointer,
                       struct shared_mount **ret) {
        static const char *const keys[] = { "name", "spec", "state", "mountpoint", "s3fs_pid", "s3fs_start_time",
                                            "containers", "dev", "key_generation", "key_file", "refused_key_file",
                                            "restarts", "last_failure", "last_failure_at", NULL };
        static const char *const required[] = { "name", "spec", "state", "mountpoint", "s3fs_pid", "s3fs_start_time",
                                                "containers", NULL };
        struct shared_mount *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return nb_fail(c->err, ENOMEM, "out of memory");
        if ((r = jexpect_object(c, value, pointer, "a mount")) < 0 ||
            (r = jcheck_keys(c, value, pointer, "a mount", keys, required)) < 0 ||
            (r = parse_members(c, value, pointer, m)) < 0) {
                shared_mount_free(m);
                return r;
        }
        s3_spec_id(&m->spec, m->id);
        snprintf(m->mountpoint, sizeof(m->mountpoint), "%s/%s", d->paths.mounts_dir, m->name);
        *ret = m;
        return 0;
}

static int parse_state(struct mountd *d, const char *path, const char *text, size_t len, struct nb_error *err) {
        static const char *const keys[] = { "version", "mounts", NULL };
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        const struct jctx c = { .file = path, .text = text, .err = err };
        struct json_object *mounts;
        uint64_t version = 0;
        int r;

        if ((r = json_parse_strict(text, len, path, &root, err)) < 0 ||
            (r = jexpect_object(&c, root, "", "the state")) < 0 ||
            (r = jcheck_keys(&c, root, "", "the state", keys, keys)) < 0 ||
            (r = jget_uint(&c, root, "", "version", STATE_VERSION, &version)) < 0)
                return r;
        json_object_object_get_ex(root, "mounts", &mounts);
        if (!json_object_is_type(mounts, json_type_array))
                return jfail(&c, "/mounts", "\"mounts\" must be an array");
        for (size_t i = json_object_array_length(mounts); i-- > 0;) {
                struct shared_mount *m = NULL;
                char pointer[64];

                snprintf(pointer, sizeof(pointer), "/mounts/%zu", i);
                if ((r = parse_mount(d, &c, json_object_array_get_idx(mounts, i), pointer, &m)) < 0 || !m)
                        return r < 0 ? r : -ENOMEM;
                m->next = d->mounts;
                d->mounts = m;
        }
        return 0;
}

int state_load(struct mountd *d, const char *path, struct nb_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if (fd < 0 && errno == ENOENT)
                return 0;
        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", path, strerror(errno));
        if ((r = text_read_fd(fd, path, STATE_MAX_BYTES, &text, &len, err)) < 0 ||
            (r = parse_state(d, path, text, len, err)) < 0)
                return r;
        return 0;
}

/* ---- after a restart --------------------------------------------------------------------------- */

/* Its s3fs lives and its mount is in place (then its id is recorded for the checks per request). */
static bool adoptable(struct shared_mount *m, const struct mount_set *mounted) {
        if (m->state != SHARED_READY || !process_is(m->s3fs_pid, m->s3fs_start_time))
                return false;
        m->mnt_id = mount_set_find(mounted, m->name, 0);
        return m->mnt_id != 0;
}

static bool in_table(const struct mountd *d, const char *name) {
        for (const struct shared_mount *m = d->mounts; m; m = m->next)
                if (streq(m->name, name) || (strncmp(name, m->name, MOUNTD_NAME_LEN) == 0 && streq(name + MOUNTD_NAME_LEN, ".log")))
                        return true;
        return false;
}

static void closedirp(DIR **dir) {
        if (*dir)
                closedir(*dir);
}

enum leftover { LEFTOVER_MOUNT_POINT, LEFTOVER_LOG, LEFTOVER_KEY };

/* Mount points and logs that no mount of the table owns (a crash in the middle), and every passwd
 * file: s3fs reads it at start, so none may outlive a crash. */
static void remove_leftovers(const struct mountd *d, const char *dir, enum leftover kind) {
        _cleanup_(closedirp) DIR *listing = opendir(dir);
        struct dirent *entry;

        while (listing && (entry = readdir(listing))) {
                char path[PATH_MAX];

                if (entry->d_name[0] == '.' || (kind != LEFTOVER_KEY && in_table(d, entry->d_name)))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
                if (kind == LEFTOVER_MOUNT_POINT) {
                        kill_s3fs_of(path);
                        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                                mountd_log(LOG_INFO, "%s: unmounted a mount left by a crash", path);
                        rmdir(path);
                } else {
                        unlink(path);
                }
        }
}

void state_recover(struct mountd *d) {
        _cleanup_(mount_set_free) struct mount_set mounted = {};
        struct shared_mount **p = &d->mounts;

        if (mount_set_load(d->paths.mounts_dir, &mounted) < 0)
                mountd_log(LOG_ERR, "cannot read /proc/self/mountinfo: no mount is adopted");
        while (*p) {
                struct shared_mount *m = *p;

                if (adoptable(m, &mounted)) {
                        s3fs_adopt_uid(d, m);
                        if (m->dev == 0)
                                m->dev = device_of(m->mountpoint);
                        mountd_log(LOG_INFO, "%s: adopted the live mount of %s (s3fs pid %d, %zu containers)", m->name,
                                   m->spec.bucket, (int) m->s3fs_pid, m->n_refs);
                        p = &m->next;
                        continue;
                }
                if (m->n_refs > 0 && (m->state == SHARED_READY || m->state == SHARED_DEAD)) {
                        if (m->state == SHARED_READY)
                                snprintf(m->last_failure, sizeof(m->last_failure), "s3fs died while nbmountd was stopped");
                        if (m->dev == 0)
                                m->dev = device_of(m->mountpoint);
                        m->state = SHARED_DEAD; /* registry_heal() swaps a successor in for its containers */
                        mountd_log(LOG_WARNING, "%s: the s3fs of %s did not survive; a new one is swapped in for its %zu containers",
                                   m->name, m->spec.bucket, m->n_refs);
                        p = &m->next;
                        continue;
                }
                mountd_log(LOG_INFO, "%s: the mount of %s did not survive; cleaning it up", m->name, m->spec.bucket);
                *p = m->next;
                s3fs_unmount(d, m);
                shared_mount_free(m);
        }
        remove_leftovers(d, d->paths.mounts_dir, LEFTOVER_MOUNT_POINT);
        remove_leftovers(d, d->paths.logs_dir, LEFTOVER_LOG);
        remove_leftovers(d, d->paths.keys_dir, LEFTOVER_KEY);
}
