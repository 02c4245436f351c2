/* SPDX-License-Identifier: Apache-2.0 */
/* One notebook's offline copy: the walk (as the owner), what belongs, the team's allowance, then only
 * what changed is sent (PUT: atomic per object in S3) and what left is deleted. The manifest lists
 * only objects whose PUT succeeded, and is saved as it goes: a copy killed halfway resumes from it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "grants.h"
#include "mountstatus.h"
#include "offcopy.h"
#include "safeopen.h"
#include "util.h"

#define SAVE_EVERY 16 /* changes between two saves of the manifest */

struct candidate {
        const struct walk_entry *e;
        enum offline_kind kind;
};

struct copy {
        struct mountd *d;
        const char *team, *notebook;
        struct walker walker;
        struct offs3 s3;
        struct offline_manifest old, now; /* now.files: what is in the bucket, as far as known */
        int *kinds;                       /* per walked file: its offline_kind, or -1 */
        struct candidate *candidates;
        size_t cap_files;
        size_t changes;
        unsigned sent, deleted, kept;
        uid_t uid;
        gid_t gid;
};

static void closedirp(DIR **dir) {
        if (*dir)
                closedir(*dir);
}

static int by_priority(const void *a, const void *b) {
        const struct candidate *x = a, *y = b;

        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        if (x->e->mtime_ns != y->e->mtime_ns)
                return x->e->mtime_ns > y->e->mtime_ns ? -1 : 1; /* newest first */
        return strcmp(x->e->path, y->e->path);
}

static int by_path(const void *a, const void *b) {
        return strcmp(((const struct offline_file *) a)->path, ((const struct offline_file *) b)->path);
}

static struct offline_file *find_file(struct offline_file *files, size_t n, const char *path) {
        struct offline_file key = { .path = (char *) path };

        return n ? bsearch(&key, files, n, sizeof(*files), by_path) : NULL;
}

static void object_key(const struct copy *c, const char *path, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s/%s", c->team, c->notebook, path);
}

static int save(struct copy *c, struct nb_error *err) {
        if (c->now.n_files)
                qsort(c->now.files, c->now.n_files, sizeof(*c->now.files), by_path);
        c->now.updated_at = time(NULL);
        c->changes = 0;
        return offline_manifest_save(c->d->config.state_dir, &c->now, err);
}

static int changed(struct copy *c, struct nb_error *err) {
        return ++c->changes >= SAVE_EVERY ? save(c, err) : 0;
}

static int append_file(struct offline_file **files, size_t *n, size_t *cap, const struct offline_file *f) {
        if (*n == *cap) {
                size_t grown = *cap ? *cap * 2 : 64;
                struct offline_file *more = realloc(*files, grown * sizeof(**files));

                if (!more)
                        return -ENOMEM;
                *files = more;
                *cap = grown;
        }
        (*files)[*n] = *f;
        if (!((*files)[*n].path = strdup(f->path)))
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int leave_out(struct copy *c, const struct candidate *k, size_t *cap, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int leave_out(struct copy *c, const struct candidate *k, size_t *cap, const char *fmt, ...) {
        struct offline_file f = { .path = k->e->path, .size = k->e->size, .mtime_ns = k->e->mtime_ns, .kind = k->kind };
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(f.why, sizeof(f.why), fmt, ap);
        va_end(ap);
        return append_file(&c->now.left, &c->now.n_left, cap, &f);
}

/* One object sent from the file the walk opens as the owner; its entry replaces the old one. */
static int send_file(struct copy *c, const struct candidate *k, struct nb_error *err) {
        struct offline_file f = { .path = k->e->path, .kind = k->kind };
        char key[PATH_MAX + 2 * NB_NAME_MAX + 4];
        _cleanup_close_ int fd = walker_open(&c->walker, k->e->path, err);
        struct offline_file *old;
        struct stat st;
        int r;

        if (fd < 0) /* -ENOENT: the walk refused it (left out); anything else: the walk is gone */
                return fd;
        if (fstat(fd, &st) < 0)
                return nb_fail(err, errno, "%s: %s", k->e->path, strerror(errno));
        f.size = (uint64_t) st.st_size;
        f.mtime_ns = (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        object_key(c, k->e->path, key, sizeof(key));
        if ((r = offs3_put(&c->s3, key, fd, f.size, f.etag, sizeof(f.etag), err)) < 0)
                return r;
        f.uploaded_at = time(NULL);
        c->sent++;
        if ((old = find_file(c->now.files, c->now.n_files, f.path))) {
                f.path = old->path;
                *old = f;
        } else {
                size_t n = c->now.n_files;

                if ((r = append_file(&c->now.files, &c->now.n_files, &c->cap_files, &f)) < 0)
                        return nb_fail(err, r, "out of memory");
                if (n > 0 && strcmp(c->now.files[n - 1].path, f.path) > 0)
                        qsort(c->now.files, c->now.n_files, sizeof(*c->now.files), by_path);
        }
        return changed(c, err);
}

static bool unchanged(const struct copy *c, const struct candidate *k) {
        struct offline_file *f = find_file(c->now.files, c->now.n_files, k->e->path);

        return f && f->etag[0] && f->size == k->e->size && f->mtime_ns == k->e->mtime_ns;
}

/* The objects whose files left the copy go; the manifest forgets each once its DELETE went through. */
static int delete_gone(struct copy *c, const bool *wanted_in_now, const volatile bool *stopping,
                       struct nb_error *err) {
        char key[PATH_MAX + 2 * NB_NAME_MAX + 4];
        size_t kept = 0;
        int r = 0;

        for (size_t i = 0; i < c->now.n_files; i++) {
                struct offline_file *f = &c->now.files[i];

                if (wanted_in_now[i] || *stopping || r < 0) {
                        c->now.files[kept++] = *f;
                        continue;
                }
                object_key(c, f->path, key, sizeof(key));
                if ((r = offs3_delete(&c->s3, key, err)) < 0) {
                        c->now.files[kept++] = *f;
                        continue;
                }
                c->deleted++;
                free(f->path);
        }
        c->now.n_files = kept;
        return r;
}

static int card_on_file(const struct mountd *d, const char *team) {
        _cleanup_close_ int grants_fd = open(d->config.grants_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct team_grants grants = {};
        struct nb_error err = {};
        bool card;

        if (grants_fd < 0 || grants_load_at(grants_fd, team, &grants, &err) < 0)
                return 0; /* no grants: no card */
        card = grants.card_on_file;
        team_grants_done(&grants);
        return card;
}

/* The bytes the team's other notebooks' copies hold (their manifests). */
static uint64_t team_bytes(const struct mountd *d, const char *team, const char *except, uint64_t *ret_objects) {
        char path[NB_PATH_MAX + NB_NAME_MAX + 32];
        _cleanup_(closedirp) DIR *dir = NULL;
        uint64_t bytes = 0, objects = 0;
        struct dirent *e;

        snprintf(path, sizeof(path), "%s/offline/notebooks/%s", d->config.state_dir, team);
        if ((dir = opendir(path)))
                while ((e = readdir(dir))) {
                        struct offline_manifest m = {};
                        struct nb_error err = {};
                        nb_name notebook;

                        if (!offline_manifest_name(e->d_name, notebook) || (except && streq(notebook, except)) ||
                            offline_manifest_load(d->config.state_dir, team, notebook, &m, &err) < 0)
                                continue;
                        bytes += offline_manifest_bytes(&m);
                        objects += m.n_files;
                        offline_manifest_done(&m);
                }
        if (ret_objects)
                *ret_objects = objects;
        return bytes;
}

/* The candidates in the allowance's order, each sent, kept or left out with the reason. wanted
 * (indexed like c->now.files at the end) says which objects stay. */
static int select_and_send(struct copy *c, struct candidate *k, size_t n, const volatile bool *stopping,
                           struct nb_error *err) {
        const uint64_t max_size = c->d->config.bucket_max_file_size;
        uint64_t used = 0;
        size_t cap_left = 0;
        int r;

        qsort(k, n, sizeof(*k), by_priority);
        for (size_t i = 0; i < n && !*stopping; i++) {
                if (k[i].e->size > max_size)
                        r = leave_out(c, &k[i], &cap_left, "larger than bucket_storage.max_file_size (%" PRIu64 " bytes)",
                                      max_size);
                else if (!c->now.card_on_file && used + k[i].e->size > c->now.allowance)
                        r = leave_out(c, &k[i], &cap_left,
                                      "over the team's free allowance of %" PRIu64 " bytes (no card on file)",
                                      c->d->config.bucket_free_bytes);
                else if (unchanged(c, &k[i]) || (r = send_file(c, &k[i], err)) == 0) {
                        used += k[i].e->size;
                        c->kept++;
                        continue;
                } else if (r == -ENOENT) /* gone, or not a regular file any more: the walk said why */
                        r = leave_out(c, &k[i], &cap_left, "%.120s", err->msg);
                if (r < 0)
                        return r == -ENOMEM ? nb_fail(err, r, "out of memory") : r;
        }
        return 0;
}

static int copy_changes(struct copy *c, const volatile bool *stopping, struct nb_error *err) {
        _cleanup_free_ bool *wanted = NULL;
        char empty_dir[NB_PATH_MAX + 32];
        size_t n = 0;
        int r;

        c->kinds = calloc(c->walker.n_files + 1, sizeof(int));
        c->candidates = calloc(c->walker.n_files + 1, sizeof(*c->candidates));
        if (!c->kinds || !c->candidates)
                return nb_fail(err, ENOMEM, "out of memory");
        snprintf(empty_dir, sizeof(empty_dir), "%s/offline/empty", c->d->config.state_dir);
        if ((r = offline_classify(&c->walker, empty_dir, c->kinds, err)) < 0)
                return r;
        for (size_t i = 0; i < c->walker.n_files; i++) {
                if (c->kinds[i] < 0)
                        continue;
                c->candidates[n].e = &c->walker.files[i];
                c->candidates[n].kind = (enum offline_kind) c->kinds[i];
                n++;
        }
        if ((r = select_and_send(c, c->candidates, n, stopping, err)) < 0 || *stopping)
                return r;
        if (!(wanted = calloc(c->now.n_files + 1, sizeof(bool))))
                return nb_fail(err, ENOMEM, "out of memory");
        if (c->now.n_left)
                qsort(c->now.left, c->now.n_left, sizeof(*c->now.left), by_path);
        for (size_t i = 0; i < c->now.n_files; i++) {
                const struct walk_entry *e = walker_find(&c->walker, c->now.files[i].path);

                wanted[i] = e && c->kinds[e - c->walker.files] >= 0 &&
                            !find_file(c->now.left, c->now.n_left, c->now.files[i].path);
        }
        return delete_gone(c, wanted, stopping, err);
}

/* NOTEBOOK/.gradient/offline.status: what the copy holds, and what was left out and why. */
static void write_status(struct copy *c) {
        const struct status_place place = { .notebooks_root = c->d->config.notebooks_root, .team = c->team,
                                            .notebook = c->notebook, .uid = c->uid, .gid = c->gid };
        _cleanup_free_ char *text = malloc(MOUNT_STATUS_MAX_BYTES);
        char when[32], allowance[64];
        struct nb_error err = {};
        size_t len;
        int r;

        if (!text)
                return;
        offline_format_time(c->now.updated_at, when, sizeof(when));
        if (c->now.card_on_file)
                snprintf(allowance, sizeof(allowance), "a card on file: no cap");
        else
                snprintf(allowance, sizeof(allowance), "no card on file: capped at %" PRIu64 " bytes", c->now.allowance);
        len = (size_t) snprintf(text, MOUNT_STATUS_MAX_BYTES,
                                "# nbmount offline copy of %s/%s: %s at %s; %zu files, %" PRIu64 " bytes (%s)\n",
                                c->team, c->notebook, offline_state_name(c->now.state), when, c->now.n_files,
                                offline_manifest_bytes(&c->now), allowance);
        if (c->now.error[0] && len < MOUNT_STATUS_MAX_BYTES)
                len += (size_t) snprintf(text + len, MOUNT_STATUS_MAX_BYTES - len, "# error: %s\n", c->now.error);
        for (size_t i = 0; i < c->now.n_left && len < MOUNT_STATUS_MAX_BYTES; i++)
                len += (size_t) snprintf(text + len, MOUNT_STATUS_MAX_BYTES - len, "left out  %s  %" PRIu64 "  %s\n",
                                         c->now.left[i].path, c->now.left[i].size, c->now.left[i].why);
        len = MIN(len, MOUNT_STATUS_MAX_BYTES - 1);
        pthread_mutex_lock(&c->d->status_lock);
        r = status_file_write(&place, OFFLINE_STATUS_NAME, text, len, &err);
        pthread_mutex_unlock(&c->d->status_lock);
        if (r < 0 && r != -ENOENT)
                mountd_log(LOG_WARNING, "offline copy of %s/%s: no status file: %s, ignoring", c->team, c->notebook, err.msg);
}

static void write_usage(struct copy *c) {
        struct nb_error err = {};
        uint64_t objects = 0, bytes = team_bytes(c->d, c->team, NULL, &objects);

        if (offline_usage_write(c->d->config.state_dir, c->team, bytes, objects, &err) < 0)
                mountd_log(LOG_WARNING, "offline copy of %s/%s: the team's usage is not written: %s, ignoring", c->team,
                           c->notebook, err.msg);
}

/* The notebook folder (O_PATH, opened as root beneath the root, no symlink) and its owner. */
static int open_notebook(struct copy *c, struct nb_error *err) {
        char relative[2 * NB_NAME_MAX + 2];
        struct stat st;
        int fd;

        snprintf(relative, sizeof(relative), "%s/%s", c->team, c->notebook);
        if ((fd = open_beneath(c->d->config.notebooks_root, relative, O_PATH | O_DIRECTORY, err)) < 0)
                return fd;
        if (fstat(fd, &st) < 0 || st.st_uid == 0) {
                close(fd);
                return nb_fail(err, EPERM, "%s/%s: owned by root; a notebook folder is its user's, nothing is read as root",
                               c->d->config.notebooks_root, relative);
        }
        c->uid = st.st_uid;
        c->gid = st.st_gid;
        return fd;
}

static int start_copy(struct copy *c, struct nb_error *err) {
        _cleanup_close_ int notebook_fd = -1;
        struct nb_error ignored = {};
        int r;

        if (offline_manifest_load(c->d->config.state_dir, c->team, c->notebook, &c->old, &ignored) == 0) {
                c->now.files = TAKE_PTR(c->old.files);
                c->now.n_files = c->cap_files = c->old.n_files;
                c->now.requested_at = c->old.requested_at;
                c->old.n_files = 0;
        }
        snprintf(c->now.team, sizeof(c->now.team), "%s", c->team);
        snprintf(c->now.notebook, sizeof(c->now.notebook), "%s", c->notebook);
        c->now.state = OFFLINE_PENDING;
        c->now.card_on_file = card_on_file(c->d, c->team);
        c->now.allowance = NB_SIZE_UNLIMITED;
        if (!c->now.card_on_file) {
                uint64_t others = team_bytes(c->d, c->team, c->notebook, NULL), free_bytes = c->d->config.bucket_free_bytes;

                c->now.allowance = others < free_bytes ? free_bytes - others : 0;
        }
        /* the walk first: its child is forked before the key is read, so it never holds it */
        if ((notebook_fd = open_notebook(c, err)) < 0 ||
            (r = walker_start(notebook_fd, c->uid, c->gid, &c->walker, err)) < 0)
                return notebook_fd < 0 ? notebook_fd : r;
        return offs3_open(&c->s3, &c->d->config, err);
}

int offline_copy(struct mountd *d, const char *team, const char *notebook, const volatile bool *stopping,
                 struct nb_error *err) {
        struct copy c = { .d = d, .team = team, .notebook = notebook, .walker = { .pid = -1, .sock = -1 } };
        struct nb_error save_err = {};
        int r;

        if ((r = start_copy(&c, err)) == 0)
                r = copy_changes(&c, stopping, err);
        free(c.kinds);
        free(c.candidates);
        walker_stop(&c.walker);
        offs3_close(&c.s3);
        c.now.state = r < 0 ? OFFLINE_FAILED : *stopping ? OFFLINE_PENDING : OFFLINE_COMPLETE;
        snprintf(c.now.error, sizeof(c.now.error), "%s", r < 0 ? err->msg : "");
        if (save(&c, &save_err) < 0) {
                mountd_log(LOG_ERR, "offline copy of %s/%s: %s", team, notebook, save_err.msg);
                r = r < 0 ? r : -EIO;
        }
        if (c.uid)
                write_status(&c);
        write_usage(&c);
        if (r == 0 && !*stopping)
                mountd_log(LOG_INFO, "offline copy of %s/%s: %u sent, %u deleted, %u unchanged, %zu left out; %zu files, %" PRIu64 " bytes",
                           team, notebook, c.sent, c.deleted, c.kept - c.sent, c.now.n_left, c.now.n_files,
                           offline_manifest_bytes(&c.now));
        offline_manifest_done(&c.now);
        offline_manifest_done(&c.old);
        return r;
}
