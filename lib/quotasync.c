/* SPDX-License-Identifier: Apache-2.0 */
#include "quotasync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grants.h"
#include "plan.h"
#include "quota.h"
#include "quotatree.h"
#include "safeopen.h"
#include "util.h"

struct quota_syncer {
        const struct node_config *config;
        int fds[3];        /* QUOTA_SYNC_NOTEBOOKS, _STORAGE (STORAGE/CLUSTER), _GRANTS */
        int lock_fds[2];   /* the registry's lock file of the notebooks' and the storage's filesystem */
        int sync_lock_fd;  /* one sync at a time (quotawatch.h) */
        char paths[2][NB_PATH_MAX + NB_NAME_MAX + 2];
};

/* One folder to keep: ROOT/PARENT/NAME, with PARENT the team (notebooks) or the cluster (storage). */
struct sync_folder {
        nb_name team, notebook; /* notebook "" for the team's storage */
        char project[PLAN_PROJECT_MAX];
        uint32_t id;
};

struct folder_list {
        struct sync_folder *items;
        size_t n, allocated;
};

static void folder_list_done(struct folder_list *l) {
        free(l->items);
}

static int folder_list_add(struct folder_list *l, const char *team, const char *notebook) {
        struct sync_folder *f;

        if (l->n == l->allocated) {
                size_t size = l->allocated ? 2 * l->allocated : 64;
                struct sync_folder *grown = reallocarray(l->items, size, sizeof(*grown));

                if (!grown)
                        return -ENOMEM;
                l->items = grown;
                l->allocated = size;
        }
        f = &l->items[l->n++];
        *f = (struct sync_folder) {};
        name_copy(f->team, team);
        if (notebook) {
                name_copy(f->notebook, notebook);
                snprintf(f->project, sizeof(f->project), "notebook.%s/%s", team, notebook);
        } else {
                snprintf(f->project, sizeof(f->project), "team.%s", team);
        }
        return 0;
}

void quota_syncer_free(struct quota_syncer *s) {
        if (!s)
                return;
        for (size_t i = 0; i < ARRAY_SIZE(s->fds); i++)
                closep(&s->fds[i]);
        for (size_t i = 0; i < ARRAY_SIZE(s->lock_fds); i++)
                closep(&s->lock_fds[i]);
        closep(&s->sync_lock_fd);
        free(s);
}

int quota_syncer_fd(const struct quota_syncer *s, int which) {
        return s->fds[which];
}

/* STORAGE/CLUSTER, made (root's, 0755) when missing, as the hook makes it on a node. */
static int open_cluster_folder(const struct node_config *config, int storage_fd, struct nb_error *err) {
        int fd = openat_beneath(storage_fd, config->cluster, O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);

        if (fd == -ENOENT && (mkdirat(storage_fd, config->cluster, 0755) == 0 || errno == EEXIST))
                fd = openat_beneath(storage_fd, config->cluster, O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
        if (fd < 0)
                return nb_fail(err, fd, "%s/%s: cannot open: %s", config->storage_root, config->cluster, strerror(-fd));
        return fd;
}

static int open_root(const char *path, struct nb_error *err) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", path, strerror(errno));
        return fd;
}

/* The roots must enforce project quotas here: this is the filesystem the nodes see over the network. */
static int open_roots(struct quota_syncer *s, struct nb_error *err) {
        const struct node_config *c = s->config;
        _cleanup_close_ int storage_fd = open_root(c->storage_root, err);
        int r;

        if (storage_fd < 0 || (s->fds[QUOTA_SYNC_NOTEBOOKS] = open_root(c->notebooks_root, err)) < 0 ||
            (s->fds[QUOTA_SYNC_GRANTS] = open_root(c->grants_dir, err)) < 0)
                return -ENOENT;
        if ((r = quota_probe(storage_fd, c->storage_root, err)) < 0 ||
            (r = quota_probe(s->fds[QUOTA_SYNC_NOTEBOOKS], c->notebooks_root, err)) < 0)
                return nb_wrap(err, r, "nbmount quota sync runs on the storage server, whose roots are local: ");
        if ((s->fds[QUOTA_SYNC_STORAGE] = open_cluster_folder(c, storage_fd, err)) < 0)
                return s->fds[QUOTA_SYNC_STORAGE];
        snprintf(s->paths[QUOTA_SYNC_NOTEBOOKS], sizeof(s->paths[0]), "%s", c->notebooks_root);
        snprintf(s->paths[QUOTA_SYNC_STORAGE], sizeof(s->paths[0]), "%s/%s", c->storage_root, c->cluster);
        for (int i = QUOTA_SYNC_NOTEBOOKS; i <= QUOTA_SYNC_STORAGE; i++)
                if ((s->lock_fds[i] = quota_open_lock(s->fds[i], s->paths[i], true, err)) < 0)
                        return s->lock_fds[i];
        return 0;
}

int quota_syncer_open(const struct node_config *config, int lock_fd, struct quota_syncer **ret, struct nb_error *err) {
        struct quota_syncer *s = calloc(1, sizeof(*s));
        int r;

        if (!s) {
                closep(&lock_fd);
                return nb_fail(err, ENOMEM, "out of memory");
        }
        s->config = config;
        s->fds[0] = s->fds[1] = s->fds[2] = s->lock_fds[0] = s->lock_fds[1] = -1;
        s->sync_lock_fd = lock_fd;
        if ((r = open_roots(s, err)) < 0) {
                quota_syncer_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int quota_each_folder(int dir_fd, int (*fn)(void *userdata, const char *name), void *userdata) {
        DIR *dir = opendir_again(dir_fd);
        struct dirent *entry;
        int r = 0;

        if (!dir)
                return -errno;
        while (r >= 0 && (entry = readdir(dir)))
                if ((entry->d_type == DT_DIR || entry->d_type == DT_UNKNOWN) && !name_problem(entry->d_name))
                        r = fn(userdata, entry->d_name);
        closedir(dir);
        return r;
}

/* What list_folders() adds to: teams (parent NULL), or the notebooks of team parent. */
struct listing {
        struct folder_list *l;
        const char *parent;
};

static int add_listed(void *userdata, const char *name) {
        const struct listing *at = userdata;

        return at->parent ? folder_list_add(at->l, at->parent, name) : folder_list_add(at->l, name, NULL);
}

static int list_folders(int dir_fd, const char *parent, struct folder_list *l) {
        struct listing at = { .l = l, .parent = parent };

        return quota_each_folder(dir_fd, add_listed, &at);
}

/* NOTEBOOKS/TEAM/ *: the team's notebook folders (none when it has no folder). */
static int list_notebooks(const struct quota_syncer *s, const char *team, struct folder_list *l) {
        _cleanup_close_ int team_fd = openat_beneath(s->fds[QUOTA_SYNC_NOTEBOOKS], team, O_RDONLY | O_DIRECTORY,
                                                     RESOLVE_NO_XDEV);

        if (team_fd == -ENOENT || team_fd == -ENOTDIR)
                return 0;
        return team_fd < 0 ? team_fd : list_folders(team_fd, team, l);
}

static int list_all(const struct quota_syncer *s, struct folder_list *l) {
        struct folder_list teams = {};
        int r = list_folders(s->fds[QUOTA_SYNC_STORAGE], NULL, l);

        if (r >= 0)
                r = list_folders(s->fds[QUOTA_SYNC_NOTEBOOKS], NULL, &teams);
        for (size_t i = 0; r >= 0 && i < teams.n; i++)
                r = list_notebooks(s, teams.items[i].team, l);
        folder_list_done(&teams);
        return r;
}

static int compare_folders(const void *a, const void *b) {
        const struct sync_folder *x = a, *y = b;
        int by_team = strcmp(x->team, y->team);

        return by_team ? by_team : strcmp(x->notebook, y->notebook);
}

static int root_of(const struct sync_folder *f) {
        return f->notebook[0] ? QUOTA_SYNC_NOTEBOOKS : QUOTA_SYNC_STORAGE;
}

/* The registry's ids of every folder, in one registry write per filesystem. */
static int assign_ids(const struct quota_syncer *s, struct folder_list *l, struct nb_error *err) {
        _cleanup_free_ const char **names = calloc(l->n ? l->n : 1, sizeof(*names));
        _cleanup_free_ uint32_t *ids = calloc(l->n ? l->n : 1, sizeof(*ids));
        _cleanup_free_ size_t *at = calloc(l->n ? l->n : 1, sizeof(*at));
        int r;

        if (!names || !ids || !at)
                return nb_fail(err, ENOMEM, "out of memory");
        for (int root = QUOTA_SYNC_NOTEBOOKS; root <= QUOTA_SYNC_STORAGE; root++) {
                size_t n = 0;

                for (size_t i = 0; i < l->n; i++)
                        if (root_of(&l->items[i]) == root) {
                                names[n] = l->items[i].project;
                                at[n++] = i;
                        }
                if (n > 0 && (r = quota_project_ids(s->fds[root], s->paths[root], names, n, ids, err)) < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        l->items[at[i]].id = ids[i];
        }
        return 0;
}

/* A team's grants as the sync sees them. */
struct team_state {
        nb_name team;
        bool loaded;   /* grants read: plan below may still be NULL (not defined here) */
        bool unusable; /* a grants file that cannot be read: its folders are left as they are */
        struct team_grants grants;
        const struct plan_allowance *plan;
        struct nb_error problem;
};

static void team_state_load(const struct quota_syncer *s, const char *team, struct team_state *t) {
        struct nb_error err = {};
        int r;

        team_grants_done(&t->grants);
        *t = (struct team_state) {};
        name_copy(t->team, team);
        r = grants_load_at(s->fds[QUOTA_SYNC_GRANTS], team, &t->grants, &err);
        t->loaded = r == 0;
        t->unusable = r < 0 && r != -ENOENT;
        if (t->unusable)
                nb_fail(&t->problem, 0, "%s/%s", s->config->grants_dir, err.msg);
        if (t->loaded)
                t->plan = node_config_find_plan(s->config, t->grants.plan);
}

/* The plan's limits for a folder of the team; frozen when the team has no plan for it here. */
static bool folder_quota(const struct node_config *config, const struct team_state *t, const struct sync_folder *f,
                         struct plan_quota *ret) {
        bool notebook = f->notebook[0];
        uint64_t allowance;

        if (!t->plan || (!notebook && !grants_has_storage_cluster(&t->grants, config->cluster))) {
                *ret = (struct plan_quota) { .soft_bytes = QUOTA_FROZEN_BYTES, .hard_bytes = QUOTA_FROZEN_BYTES,
                                             .files = QUOTA_FROZEN_FILES };
                return true;
        }
        allowance = notebook ? t->plan->notebook_bytes : t->plan->storage_bytes;
        *ret = (struct plan_quota) { .soft_bytes = allowance,
                                     .hard_bytes = plan_hard_limit(config, allowance, t->grants.card_on_file),
                                     .files = notebook ? t->plan->notebook_files : t->plan->storage_files };
        return false;
}

/* The folder's project limits, then its tree (walked when its stamp does not hold). */
static int sync_folder(const struct quota_syncer *s, const struct sync_folder *f, const struct plan_quota *q,
                       struct quota_sync_stats *stats, struct nb_error *err) {
        int root = root_of(f);
        char relative[2 * NB_NAME_MAX + 2], path[sizeof(s->paths[0]) + sizeof(relative) + 1];
        _cleanup_close_ int fd = -1;
        struct quota_usage now = {};
        struct quota_walk walk = {};
        int r;

        snprintf(relative, sizeof(relative), "%s", f->notebook[0] ? f->team : "");
        snprintf(path, sizeof(path), "%s/%s%s%s", s->paths[root], relative, relative[0] ? "/" : "",
                 f->notebook[0] ? f->notebook : f->team);
        snprintf(relative, sizeof(relative), "%s%s%s", f->notebook[0] ? f->team : "", f->notebook[0] ? "/" : "",
                 f->notebook[0] ? f->notebook : f->team);
        fd = openat_beneath(s->fds[root], relative, O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
        if (fd == -ENOENT)
                return 0; /* removed meanwhile */
        if (fd < 0)
                return nb_fail(err, fd, "%s: cannot open: %s", path, fd == -ELOOP || fd == -EXDEV ? "a symlink or a mount point, left alone" : strerror(-fd));
        if (f->id > QUOTA_LAST_ID)
                return nb_fail(err, ERANGE, "%s: project %s has id %u in %s; nbmount uses the ids from 2^31 up itself, give it a smaller one",
                               path, f->project, f->id, QUOTA_REGISTRY_NAME);
        if ((r = quota_get(fd, f->id, &now)) < 0)
                return nb_fail(err, r, "%s: cannot read the quota of project %u: %s", path, f->id, strerror(-r));
        if (!quota_limits_equal(&now, q->soft_bytes, q->hard_bytes, q->files)) {
                if ((r = quota_set_limits(fd, path, f->id, q->soft_bytes, q->hard_bytes, q->files, err)) < 0)
                        return r;
                stats->limits_set++;
        }
        if ((r = quota_tree_check(fd, path, f->id, s->lock_fds[root], QUOTA_TREE_TRUST_STAMP, &walk, err)) < 0)
                return r;
        stats->walked += walk.walked;
        return 0;
}

static void sync_listed(const struct quota_syncer *s, struct folder_list *l, struct quota_sync_stats *stats,
                        struct nb_error *err) {
        struct team_state team = {};

        if (l->n > 1)
                qsort(l->items, l->n, sizeof(*l->items), compare_folders);
        for (size_t i = 0; i < l->n; i++) {
                const struct sync_folder *f = &l->items[i];
                struct plan_quota quota = {};

                if (i == 0 || !streq(f->team, team.team))
                        team_state_load(s, f->team, &team);
                stats->folders++;
                if (team.unusable) {
                        stats->failed++;
                        nb_fail(err, EINVAL, "team %s: its folders are left as they are: %s", f->team, team.problem.msg);
                        continue;
                }
                stats->frozen += folder_quota(s->config, &team, f, &quota);
                if (sync_folder(s, f, &quota, stats, err) < 0)
                        stats->failed++;
        }
        team_grants_done(&team.grants);
}

static int sync_list(struct quota_syncer *s, struct folder_list *l, int listed, struct quota_sync_stats *stats,
                     struct nb_error *err) {
        int r = listed;

        if (r < 0)
                r = nb_fail(err, r, "cannot list the folders under %s and %s: %s", s->paths[QUOTA_SYNC_STORAGE],
                            s->paths[QUOTA_SYNC_NOTEBOOKS], strerror(-r));
        if (r >= 0 && (r = assign_ids(s, l, err)) >= 0)
                sync_listed(s, l, stats, err);
        folder_list_done(l);
        return r < 0 ? r : 0;
}

int quota_sync_all(struct quota_syncer *s, struct quota_sync_stats *stats, struct nb_error *err) {
        struct folder_list l = {};

        return sync_list(s, &l, list_all(s, &l), stats, err);
}

int quota_sync_team(struct quota_syncer *s, const char *team, struct quota_sync_stats *stats, struct nb_error *err) {
        _cleanup_close_ int storage_fd = openat_beneath(s->fds[QUOTA_SYNC_STORAGE], team, O_PATH | O_DIRECTORY,
                                                        RESOLVE_NO_XDEV);
        struct folder_list l = {};
        int r = storage_fd >= 0 ? folder_list_add(&l, team, NULL) : 0;

        if (r >= 0)
                r = list_notebooks(s, team, &l);
        return sync_list(s, &l, r, stats, err);
}

int quota_sync_notebook(struct quota_syncer *s, const char *team, const char *notebook, struct quota_sync_stats *stats,
                        struct nb_error *err) {
        struct folder_list l = {};

        return sync_list(s, &l, folder_list_add(&l, team, notebook), stats, err);
}
