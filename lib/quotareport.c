/* SPDX-License-Identifier: Apache-2.0 */
#include "quotareport.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "grants.h"
#include "grantscache.h"
#include "netfs.h"
#include "inputs.h"
#include "plan.h"
#include "quota.h"
#include "safeopen.h"
#include "util.h"

/* A project's use: 24 bytes where struct quota_usage, with the limits, is 56. */
struct use {
        uint32_t id;
        uint64_t used_bytes, used_files;
};

/* What one filesystem holds: its registry (text) and the use of every project on it. */
struct fs_quotas {
        char *registry;
        struct use *usage;
        size_t n_usage, allocated;
};

static int add_use(void *userdata, const struct quota_usage *usage) {
        struct fs_quotas *q = userdata;

        if (q->n_usage == q->allocated) {
                struct use *grown = reallocarray(q->usage, q->allocated = q->allocated ? 2 * q->allocated : 256,
                                                 sizeof(*q->usage));
                if (!grown)
                        return -ENOMEM;
                q->usage = grown;
        }
        q->usage[q->n_usage++] = (struct use) { usage->id, usage->used_bytes, usage->used_files };
        return 0;
}

static void fs_quotas_done(struct fs_quotas *q) {
        free(q->registry);
        free(q->usage);
}

static int read_fs(const char *root, struct fs_quotas *ret, struct nb_error *err) {
        _cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", root, strerror(errno));
        if ((r = quota_probe(fd, root, err)) < 0 ||
            (r = quota_registry_text(fd, root, &ret->registry, err)) < 0 ||
            (r = quota_each(fd, root, add_use, ret, err)) < 0)
                return r;
        return 0;
}

static const struct use *usage_of(const struct fs_quotas *q, uint32_t id) {
        size_t low = 0, high = q->n_usage; /* Q_GETNEXTQUOTA reports ids in increasing order */

        while (low < high) {
                size_t mid = low + (high - low) / 2;

                if (q->usage[mid].id == id)
                        return &q->usage[mid];
                if (q->usage[mid].id < id)
                        low = mid + 1;
                else
                        high = mid;
        }
        return NULL;
}

/* "team.acme" -> acme; "notebook.acme/nb1" -> acme, nb1 (no name holds a '/'). */
static bool parse_project(const char *project, bool notebooks, nb_name team, nb_name notebook) {
        const char *rest, *slash;

        if (strncmp(project, "team.", 5) == 0) {
                rest = project + 5;
                if (name_problem(rest))
                        return false;
                name_copy(team, rest);
                notebook[0] = '\0';
                return true;
        }
        if (!notebooks || strncmp(project, "notebook.", 9) != 0)
                return false;
        rest = project + 9;
        slash = strchr(rest, '/');
        if (!slash || (size_t) (slash - rest) > NB_NAME_MAX || name_problem(slash + 1))
                return false;
        snprintf(team, sizeof(nb_name), "%.*s", (int) (slash - rest), rest);
        name_copy(notebook, slash + 1);
        return !name_problem(team);
}

void quota_row_costs(struct quota_row *row, const struct node_config *config, const struct team_grants *grants) {
        const struct plan_allowance *plan = grants ? node_config_find_plan(config, grants->plan) : NULL;
        uint64_t allowance;

        row->allowance_bytes = row->hard_bytes = row->file_limit = NB_SIZE_UNLIMITED;
        if (!plan)
                return;
        name_copy(row->plan, grants->plan);
        row->card_on_file = grants->card_on_file;
        allowance = row->notebook[0] ? plan->notebook_bytes : plan->storage_bytes;
        row->file_limit = row->notebook[0] ? plan->notebook_files : plan->storage_files;
        row->allowance_bytes = allowance;
        row->hard_bytes = plan_hard_limit(config, allowance, grants->card_on_file);
        if (allowance != NB_SIZE_UNLIMITED && row->used_bytes > allowance)
                row->over_bytes = row->used_bytes - allowance;
        row->overage_per_month = (double) row->over_bytes / 1e9 * config->price_per_gb_month;
}

static int compare_rows(const void *a, const void *b) {
        const struct quota_row *x = a, *y = b;
        int by_team = strcmp(x->team, y->team);

        return by_team ? by_team : strcmp(x->notebook, y->notebook);
}

/* A project of a registry that makes a row: its name (in the registry's text), team and notebook
 * (spans of the name), id and filesystem: 16 bytes, where a row is 416 (10,000 rows are 4 MB): the
 * rows are made one at a time, in order, and never all held (each page costs a fault). */
struct project_key {
        const char *name; /* "team.TEAM" or "notebook.TEAM/NOTEBOOK" */
        uint32_t id;
        uint8_t team_len, notebook_len, fs; /* notebook_len 0: a team's project */
};

static const char *key_team(const struct project_key *k) {
        return k->name + (k->notebook_len ? 9 : 5);
}

static const char *key_notebook(const struct project_key *k) {
        return key_team(k) + k->team_len + (k->notebook_len ? 1 : 0);
}

static int compare_spans(const char *a, size_t a_len, const char *b, size_t b_len) {
        int r = memcmp(a, b, MIN(a_len, b_len));

        return r ? r : (a_len > b_len) - (a_len < b_len);
}

/* compare_rows' order: team, then notebook ("" first), bytewise. */
static int compare_keys(const void *a, const void *b) {
        const struct project_key *x = a, *y = b;
        int by_team = compare_spans(key_team(x), x->team_len, key_team(y), y->team_len);

        return by_team ? by_team : compare_spans(key_notebook(x), x->notebook_len, key_notebook(y), y->notebook_len);
}

/* The key of a registry entry that parse_project accepts for this report, else false. */
static bool key_of(const char *name, uint32_t id, uint8_t fs, const char *team, bool notebooks,
                   struct project_key *ret) {
        nb_name row_team, row_notebook;

        if (!parse_project(name, notebooks, row_team, row_notebook) || (team && !streq(team, row_team)))
                return false;
        *ret = (struct project_key) { .name = name, .id = id, .fs = fs, .team_len = (uint8_t) strlen(row_team),
                                      .notebook_len = (uint8_t) strlen(row_notebook) };
        return true;
}

/* The keys of every registry's projects for this report, sorted as the rows go out. */
static int collect_keys(struct fs_quotas *fs, size_t n_fs, const bool *notebooks, const char *team,
                        struct project_key **ret, size_t *ret_n) {
        _cleanup_free_ struct project_key *keys = NULL;
        size_t n = 0, allocated = 0;

        for (size_t f = 0; f < n_fs; f++) {
                char *cursor = fs[f].registry;
                const char *name;
                uint32_t id;

                while (quota_registry_next(&cursor, &name, &id)) {
                        if (n == allocated) {
                                struct project_key *grown = reallocarray(keys, allocated = allocated ? 2 * allocated : 256,
                                                                         sizeof(*keys));
                                if (!grown)
                                        return -ENOMEM;
                                keys = grown;
                        }
                        n += key_of(name, id, (uint8_t) f, team, notebooks[f], &keys[n]);
                }
        }
        if (n > 0)
                qsort(keys, n, sizeof(*keys), compare_keys);
        *ret = TAKE_PTR(keys);
        *ret_n = n;
        return 0;
}

/* Each key's row, with its use and costs, to fn in order. */
static int emit_rows(const struct fs_quotas *fs, const struct project_key *keys, size_t n,
                     const struct node_config *config, quota_row_fn fn, void *userdata, struct nb_error *err) {
        struct grants_cache cache;
        struct team_grants grants = {};
        nb_name rows_team = "";
        bool loaded = false;
        int r = grants_cache_open(config, &cache, err);

        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const struct use *usage = usage_of(&fs[keys[i].fs], keys[i].id);
                struct quota_row row = { .id = keys[i].id };

                parse_project(keys[i].name, true, row.team, row.notebook);
                snprintf(row.project, sizeof(row.project), "%s", keys[i].name);
                if (usage) {
                        row.used_bytes = usage->used_bytes;
                        row.used_files = usage->used_files;
                }
                if (i == 0 || !streq(row.team, rows_team)) {
                        loaded = grants_cache_find(&cache, row.team, &grants);
                        name_copy(rows_team, row.team);
                }
                quota_row_costs(&row, config, loaded ? &grants : NULL);
                r = fn(userdata, &row);
        }
        grants_cache_done(&cache);
        return r;
}

/* Rows seen through a network filesystem (a statfs each: held in an array), sorted, with costs. */
static int emit_array(struct quota_row *rows, size_t n, const struct node_config *config, quota_row_fn fn,
                      void *userdata, struct nb_error *err) {
        struct grants_cache cache;
        struct team_grants grants = {};
        bool loaded = false;
        int r;

        if (n > 0) /* qsort() wants a non-null array even for no rows */
                qsort(rows, n, sizeof(*rows), compare_rows);
        if ((r = grants_cache_open(config, &cache, err)) < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (i == 0 || !streq(rows[i].team, rows[i - 1].team))
                        loaded = grants_cache_find(&cache, rows[i].team, &grants);
                quota_row_costs(&rows[i], config, loaded ? &grants : NULL);
                r = fn(userdata, &rows[i]);
        }
        grants_cache_done(&cache);
        return r;
}

static bool same_filesystem(const char *a, const char *b) {
        struct stat sa, sb;

        return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev;
}

/* A row of what statfs on a folder of a network root shows: the project's use and its limit. */
static int add_seen_row(int parent_fd, const char *name, const char *team, const char *notebook, struct quota_row **rows,
                        size_t *n) {
        _cleanup_close_ int fd = openat_beneath(parent_fd, name, O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
        struct quota_row row = {};
        struct quota_row *grown;
        struct statfs sfs;

        if (fd < 0 || fstatfs(fd, &sfs) < 0)
                return 0; /* gone meanwhile, or not a folder */
        name_copy(row.team, team);
        name_copy(row.notebook, notebook);
        if (notebook[0])
                snprintf(row.project, sizeof(row.project), "notebook.%s/%s", team, notebook);
        else
                snprintf(row.project, sizeof(row.project), "team.%s", team);
        row.used_bytes = (uint64_t) (sfs.f_blocks - sfs.f_bfree) * (uint64_t) sfs.f_bsize;
        row.used_files = (uint64_t) (sfs.f_files - sfs.f_ffree);
        if (!(grown = reallocarray(*rows, *n + 1, sizeof(**rows))))
                return -ENOMEM;
        *rows = grown;
        (*rows)[(*n)++] = row;
        return 0;
}

/* Each folder under dir_fd whose name nbmount could have made: a team's storage (team NULL) or a
 * notebook of team. */
static int collect_seen(int dir_fd, const char *team, const char *only_team, struct quota_row **rows, size_t *n) {
        DIR *dir = fdopendir(dir_fd);
        struct dirent *entry;
        int r = 0;

        if (!dir)
                return close(dir_fd), -errno;
        while (r >= 0 && (entry = readdir(dir)))
                if (!name_problem(entry->d_name) && (team || !only_team || streq(only_team, entry->d_name)))
                        r = add_seen_row(dirfd(dir), entry->d_name, team ? team : entry->d_name, team ? entry->d_name : "",
                                         rows, n);
        closedir(dir);
        return r;
}

static int collect_seen_notebooks(const char *root, const char *only_team, struct quota_row **rows, size_t *n) {
        DIR *dir = opendir(root);
        struct dirent *entry;
        int r = 0;

        if (!dir)
                return -errno;
        while (r >= 0 && (entry = readdir(dir))) {
                int team_fd;

                if (name_problem(entry->d_name) || (only_team && !streq(only_team, entry->d_name)))
                        continue;
                team_fd = openat_beneath(dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
                if (team_fd >= 0)
                        r = collect_seen(team_fd, entry->d_name, NULL, rows, n);
        }
        closedir(dir);
        return r;
}

static int report_seen(const struct node_config *config, const char *team, bool notebooks, struct quota_row **rows,
                       size_t *n, struct nb_error *err) {
        char cluster_folder[sizeof(config->storage_root) + NB_NAME_MAX + 2];
        int fd, r = 0;

        snprintf(cluster_folder, sizeof(cluster_folder), "%s/%s", config->storage_root, config->cluster);
        if ((fd = open(cluster_folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
                r = collect_seen(fd, NULL, team, rows, n);
        if (r >= 0 && notebooks)
                r = collect_seen_notebooks(config->notebooks_root, team, rows, n);
        if (r < 0)
                return nb_fail(err, r, "%s: cannot read its folders: %s", config->storage_root, strerror(-r));
        return 0;
}

/* The storage root's filesystem, when it is a network one, from a probe that gives up after
 * quota.remote_timeout. */
static int network_type(const struct node_config *config, const char **ret, struct nb_error *err) {
        const char *const roots[] = { config->storage_root };
        struct statfs seen;
        int r = netfs_probe(roots, 1, config->quota_remote_timeout_ms, &seen, err);

        if (r < 0)
                return r;
        *ret = netfs_type_name(seen.f_type);
        return 0;
}

static int report_network(const struct node_config *config, const char *team, bool notebooks, quota_row_fn fn,
                          void *userdata, struct nb_error *err) {
        _cleanup_free_ struct quota_row *rows = NULL;
        size_t n = 0;
        int r = report_seen(config, team, notebooks, &rows, &n, err);

        return r < 0 ? r : emit_array(rows, n, config, fn, userdata, err);
}

int quota_report_each(const struct node_config *config, const char *team, bool notebooks, quota_row_fn fn,
                      void *userdata, const char **ret_network, struct nb_error *err) {
        struct fs_quotas fs[2] = {};
        const bool notebooks_of[2] = { notebooks, true };
        bool separate = notebooks && !same_filesystem(config->storage_root, config->notebooks_root);
        _cleanup_free_ struct project_key *keys = NULL;
        const char *network = NULL;
        size_t n = 0;
        int r;

        if ((r = network_type(config, &network, err)) < 0)
                return r;
        if (ret_network)
                *ret_network = network;
        if (network)
                return report_network(config, team, notebooks, fn, userdata, err);
        r = read_fs(config->storage_root, &fs[0], err);
        if (r >= 0 && separate)
                r = read_fs(config->notebooks_root, &fs[1], err);
        if (r >= 0 && (r = collect_keys(fs, separate ? 2 : 1, notebooks_of, team, &keys, &n)) < 0)
                nb_fail(err, r, "out of memory");
        if (r >= 0)
                r = emit_rows(fs, keys, n, config, fn, userdata, err);
        fs_quotas_done(&fs[0]);
        fs_quotas_done(&fs[1]);
        return r;
}

struct row_array {
        struct quota_row *rows;
        size_t n, allocated;
};

static int append_row(void *userdata, const struct quota_row *row) {
        struct row_array *a = userdata;

        if (a->n == a->allocated) {
                struct quota_row *grown = reallocarray(a->rows, a->allocated = a->allocated ? 2 * a->allocated : 64,
                                                       sizeof(*a->rows));
                if (!grown)
                        return -ENOMEM;
                a->rows = grown;
        }
        a->rows[a->n++] = *row;
        return 0;
}

int quota_report(const struct node_config *config, const char *team, bool notebooks, struct quota_row **ret,
                 size_t *ret_n, const char **ret_network, struct nb_error *err) {
        struct row_array a = {};
        int r = quota_report_each(config, team, notebooks, append_row, &a, ret_network, err);

        if (r == -ENOMEM)
                nb_fail(err, r, "out of memory");
        if (r < 0)
                return free(a.rows), r;
        *ret = a.rows;
        *ret_n = a.n;
        return 0;
}
