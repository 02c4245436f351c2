/* SPDX-License-Identifier: Apache-2.0 */
#include "offline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jsonfile.h"
#include "textfile.h"
#include "util.h"

static const char *const kind_names[] = { [OFFLINE_IPYNB] = "ipynb", [OFFLINE_MD] = "md", [OFFLINE_GIT] = "git",
                                          [OFFLINE_INCLUDE] = "notebookinclude" };
static const char *const state_names[] = { [OFFLINE_PENDING] = "pending", [OFFLINE_COMPLETE] = "complete",
                                           [OFFLINE_FAILED] = "failed" };

const char *offline_kind_name(enum offline_kind kind) { return kind < OFFLINE_KINDS ? kind_names[kind] : "?"; }
const char *offline_state_name(enum offline_state state) { return state_names[state]; }

static void files_free(struct offline_file *files, size_t n) {
        for (size_t i = 0; files && i < n; i++)
                free(files[i].path);
        free(files);
}

void offline_manifest_done(struct offline_manifest *m) {
        files_free(m->files, m->n_files);
        files_free(m->left, m->n_left);
        m->files = m->left = NULL;
        m->n_files = m->n_left = 0;
}

uint64_t offline_manifest_bytes(const struct offline_manifest *m) {
        uint64_t bytes = 0;

        for (size_t i = 0; i < m->n_files; i++)
                bytes += m->files[i].size;
        return bytes;
}

void offline_format_time(int64_t t, char *buf, size_t size) {
        time_t tt = (time_t) t;
        struct tm tm;

        gmtime_r(&tt, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int64_t parse_time(const char *s) {
        struct tm tm = {};
        const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

        return end && !*end ? (int64_t) timegm(&tm) : 0;
}

bool offline_manifest_name(const char *file_name, nb_name ret_notebook) {
        size_t n = strlen(file_name);

        if (n <= 5 || n - 5 > NB_NAME_MAX || !streq(file_name + n - 5, ".json"))
                return false;
        snprintf(ret_notebook, sizeof(nb_name), "%.*s", (int) (n - 5), file_name);
        return !name_problem(ret_notebook);
}

void offline_manifest_path(const char *state_dir, const char *team, const char *notebook, char *buf, size_t size) {
        snprintf(buf, size, "%s/offline/notebooks/%s/%s.json", state_dir, team, notebook);
}

static struct json_object *time_json(int64_t t) {
        char buf[32];

        if (!t)
                return NULL;
        offline_format_time(t, buf, sizeof(buf));
        return json_object_new_string(buf);
}

static struct json_object *file_to_json(const struct offline_file *f, bool left_out) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "path", json_object_new_string(f->path));
        json_object_object_add(o, "size", json_object_new_uint64(f->size));
        json_object_object_add(o, "mtime_ns", json_object_new_int64(f->mtime_ns));
        json_object_object_add(o, "kind", json_object_new_string(offline_kind_name(f->kind)));
        if (left_out) {
                json_object_object_add(o, "why", json_object_new_string(f->why));
                return o;
        }
        json_object_object_add(o, "etag", json_object_new_string(f->etag));
        json_object_object_add(o, "uploaded_at", time_json(f->uploaded_at));
        return o;
}

struct json_object *offline_manifest_to_json(const struct offline_manifest *m) {
        struct json_object *o = json_object_new_object(), *files = json_object_new_array(),
                           *left = json_object_new_array();

        for (size_t i = 0; i < m->n_files; i++)
                json_object_array_add(files, file_to_json(&m->files[i], false));
        for (size_t i = 0; i < m->n_left; i++)
                json_object_array_add(left, file_to_json(&m->left[i], true));
        json_object_object_add(o, "version", json_object_new_int(1));
        json_object_object_add(o, "team", json_object_new_string(m->team));
        json_object_object_add(o, "notebook", json_object_new_string(m->notebook));
        json_object_object_add(o, "state", json_object_new_string(offline_state_name(m->state)));
        json_object_object_add(o, "requested_at", time_json(m->requested_at));
        json_object_object_add(o, "updated_at", time_json(m->updated_at));
        json_object_object_add(o, "card_on_file", json_object_new_boolean(m->card_on_file));
        json_object_object_add(o, "allowance", json_bytes_or_null(m->allowance));
        json_object_object_add(o, "bytes", json_object_new_uint64(offline_manifest_bytes(m)));
        json_object_object_add(o, "objects", json_object_new_uint64(m->n_files));
        json_object_object_add(o, "error", json_string_or_null(m->error));
        json_object_object_add(o, "files", files);
        json_object_object_add(o, "left_out", left);
        return o;
}

static const char *string_of(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

static int64_t int_of(struct json_object *o, const char *key) {
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static int parse_files(struct json_object *root, const char *key, bool left_out, struct offline_file **ret,
                       size_t *ret_n) {
        struct json_object *array;
        size_t n;

        if (!json_object_object_get_ex(root, key, &array) || !json_object_is_type(array, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(array);
        if (n && !(*ret = calloc(n, sizeof(**ret))))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *item = json_object_array_get_idx(array, i);
                struct offline_file *f = &(*ret)[i];
                const char *path = string_of(item, "path"), *kind = string_of(item, "kind"), *etag = string_of(item, "etag");

                if (!path || !kind || !(f->path = strdup(path)))
                        return -EBADMSG;
                (*ret_n)++;
                f->size = (uint64_t) int_of(item, "size");
                f->mtime_ns = int_of(item, "mtime_ns");
                for (f->kind = 0; f->kind < OFFLINE_KINDS && !streq(kind, kind_names[f->kind]); f->kind++)
                        ;
                if (f->kind == OFFLINE_KINDS)
                        return -EBADMSG;
                snprintf(f->etag, sizeof(f->etag), "%s", etag ? etag : "");
                f->uploaded_at = parse_time(string_of(item, "uploaded_at"));
                if (left_out)
                        snprintf(f->why, sizeof(f->why), "%s", string_of(item, "why") ? string_of(item, "why") : "");
        }
        return 0;
}

int offline_manifest_parse(const char *text, size_t len, const char *file, struct offline_manifest *ret,
                           struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        struct offline_manifest m = {};
        const char *team, *notebook, *state, *error;
        struct json_object *v;
        int r;

        if ((r = json_parse_strict(text, len, file, &root, err)) < 0)
                return r;
        team = string_of(root, "team");
        notebook = string_of(root, "notebook");
        state = string_of(root, "state");
        if (!team || !notebook || !state || strlen(team) > NB_NAME_MAX || strlen(notebook) > NB_NAME_MAX)
                return nb_fail(err, EBADMSG, "%s: not a manifest of an offline copy (team, notebook, state)", file);
        snprintf(m.team, sizeof(m.team), "%s", team);
        snprintf(m.notebook, sizeof(m.notebook), "%s", notebook);
        m.state = streq(state, "complete") ? OFFLINE_COMPLETE : streq(state, "failed") ? OFFLINE_FAILED : OFFLINE_PENDING;
        m.requested_at = parse_time(string_of(root, "requested_at"));
        m.updated_at = parse_time(string_of(root, "updated_at"));
        m.card_on_file = json_object_object_get_ex(root, "card_on_file", &v) && json_object_get_boolean(v);
        m.allowance = json_object_object_get_ex(root, "allowance", &v) && v ? (uint64_t) json_object_get_int64(v)
                                                                             : NB_SIZE_UNLIMITED;
        if ((error = string_of(root, "error")))
                snprintf(m.error, sizeof(m.error), "%s", error);
        if ((r = parse_files(root, "files", false, &m.files, &m.n_files)) < 0 ||
            (r = parse_files(root, "left_out", true, &m.left, &m.n_left)) < 0) {
                offline_manifest_done(&m);
                return nb_fail(err, r, "%s: %s", file, r == -ENOMEM ? "out of memory" : "a file entry is malformed");
        }
        *ret = m;
        return 0;
}

int offline_manifest_load(const char *state_dir, const char *team, const char *notebook, struct offline_manifest *ret,
                          struct nb_error *err) {
        char path[NB_PATH_MAX + 3 * NB_NAME_MAX];
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0;
        int r;

        offline_manifest_path(state_dir, team, notebook, path, sizeof(path));
        if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
                return nb_fail(err, errno, "%s: %s", path, strerror(errno));
        if ((r = text_read_fd(fd, path, OFFLINE_MANIFEST_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return offline_manifest_parse(text, len, path, ret, err);
}

int offline_json_replace(const char *path, struct json_object *obj, struct nb_error *err) {
        size_t len;
        const char *text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED, &len);
        char tmp[NB_PATH_MAX + 3 * NB_NAME_MAX + 24];
        _cleanup_close_ int fd = -1;
        uint64_t nonce = 0;
        int r;

        if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) != sizeof(nonce))
                nonce = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
        snprintf(tmp, sizeof(tmp), "%s.%016llx", path, (unsigned long long) nonce);
        if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
                return nb_fail(err, errno, "%s: cannot create: %s", tmp, strerror(errno));
        if ((r = text_write_fd(fd, text, len)) < 0 || (r = text_write_fd(fd, "\n", 1)) < 0 || (fsync(fd) < 0 && (r = -errno)) ||
            (rename(tmp, path) < 0 && (r = -errno))) {
                unlink(tmp);
                return nb_fail(err, r, "%s: cannot write: %s", path, strerror(-r));
        }
        return 0;
}

/* STATE/offline/SUB/ and, with team, STATE/offline/SUB/TEAM/: root's, 0700. */
static int make_folders(const char *state_dir, const char *sub, const char *team, struct nb_error *err) {
        char path[NB_PATH_MAX + NB_NAME_MAX + 32];
        const char *parts[] = { "offline", sub, team };
        size_t len = (size_t) snprintf(path, sizeof(path), "%s", state_dir);

        for (size_t i = 0; i < ARRAY_SIZE(parts) && parts[i]; i++) {
                len += (size_t) snprintf(path + len, sizeof(path) - len, "/%s", parts[i]);
                if (mkdir(path, 0700) < 0 && errno != EEXIST)
                        return nb_fail(err, errno, "%s: cannot create: %s", path, strerror(errno));
        }
        return 0;
}

int offline_manifest_save(const char *state_dir, const struct offline_manifest *m, struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *o = offline_manifest_to_json(m);
        char path[NB_PATH_MAX + 3 * NB_NAME_MAX];
        int r;

        if ((r = make_folders(state_dir, "notebooks", m->team, err)) < 0)
                return r;
        offline_manifest_path(state_dir, m->team, m->notebook, path, sizeof(path));
        return offline_json_replace(path, o, err);
}

int offline_usage_write(const char *state_dir, const char *team, uint64_t bytes, uint64_t objects,
                        struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
        char path[NB_PATH_MAX + NB_NAME_MAX + 32];
        int r;

        if ((r = make_folders(state_dir, "usage", NULL, err)) < 0)
                return r;
        json_object_object_add(o, "team", json_object_new_string(team));
        json_object_object_add(o, "bytes", json_object_new_uint64(bytes));
        json_object_object_add(o, "objects", json_object_new_uint64(objects));
        json_object_object_add(o, "updated_at", time_json(time(NULL)));
        snprintf(path, sizeof(path), "%s/offline/usage/%s.json", state_dir, team);
        return offline_json_replace(path, o, err);
}
