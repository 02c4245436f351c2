/* SPDX-License-Identifier: Apache-2.0 */
#include "grants.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfile.h"
#include "safeopen.h"
#include "textfile.h"
#include "util.h"

static int parse_dataset(const struct jctx *c, struct json_object *value, const char *pointer,
                         struct dataset_grant *ret) {
        static const char *const keys[] = { "name", "id", "versions", "latest", NULL };
        char latest_pointer[80];
        int r;

        if ((r = jexpect_object(c, value, pointer, "a dataset")) < 0 ||
            (r = jcheck_keys(c, value, pointer, "a dataset", keys, keys)) < 0 ||
            (r = jget_string(c, value, pointer, "name", ret->name, sizeof(nb_name), name_problem)) < 0 ||
            (r = jget_string(c, value, pointer, "id", ret->id, sizeof(nb_name), name_problem)) < 0 ||
            (r = jget_name_array(c, value, pointer, "versions", 1, GRANTS_MAX_VERSIONS, &ret->versions,
                                 &ret->n_versions)) < 0 ||
            (r = jget_string(c, value, pointer, "latest", ret->latest, sizeof(nb_name), name_problem)) < 0)
                return r;
        snprintf(latest_pointer, sizeof(latest_pointer), "%s/latest", pointer);
        if (!dataset_has_version(ret, ret->latest))
                return jfail(c, latest_pointer, "dataset \"%s\": latest \"%s\" is not one of its versions; add it to \"versions\"",
                             ret->name, ret->latest);
        return 0;
}

static int check_datasets_unique(const struct jctx *c, const struct team_grants *g) {
        size_t name_repeat = names_find_repeat(g->datasets, g->n_datasets, sizeof(*g->datasets),
                                               offsetof(struct dataset_grant, name));
        size_t id_repeat = names_find_repeat(g->datasets, g->n_datasets, sizeof(*g->datasets),
                                             offsetof(struct dataset_grant, id));
        char pointer[64];

        if (name_repeat == g->n_datasets && id_repeat == g->n_datasets)
                return 0;
        snprintf(pointer, sizeof(pointer), "/datasets/%zu/%s", MIN(name_repeat, id_repeat),
                 name_repeat <= id_repeat ? "name" : "id");
        if (name_repeat <= id_repeat)
                return jfail(c, pointer, "two datasets are named \"%s\"; names must be unique",
                             g->datasets[name_repeat].name);
        return jfail(c, pointer, "two datasets have the id \"%s\"; ids must be unique", g->datasets[id_repeat].id);
}

static int parse_datasets(const struct jctx *c, struct json_object *root, struct team_grants *ret) {
        struct json_object *array;
        char pointer[64];
        size_t n;
        int r;

        json_object_object_get_ex(root, "datasets", &array);
        if (!json_object_is_type(array, json_type_array))
                return jfail(c, "/datasets", "\"datasets\" must be an array, not %s", json_type_phrase(array));
        n = json_object_array_length(array);
        if (n > GRANTS_MAX_DATASETS)
                return jfail(c, "/datasets", "\"datasets\" has %zu items, more than %d", n, GRANTS_MAX_DATASETS);
        ret->datasets = calloc(n ? n : 1, sizeof(*ret->datasets));
        if (!ret->datasets)
                return nb_fail(c->err, ENOMEM, "%s: out of memory", c->file);
        for (size_t i = 0; i < n; i++) {
                snprintf(pointer, sizeof(pointer), "/datasets/%zu", i);
                ret->n_datasets = i + 1;
                if ((r = parse_dataset(c, json_object_array_get_idx(array, i), pointer, &ret->datasets[i])) < 0)
                        return r;
        }
        return check_datasets_unique(c, ret);
}

static int parse_team(const struct jctx *c, struct json_object *root, const char *expected_team,
                      struct team_grants *ret) {
        static const char *const keys[] = { "team", "plan", "card_on_file", "private_workspace", "members",
                                            "storage_clusters", "datasets", NULL };
        int r;

        if ((r = jexpect_object(c, root, "", "team grants")) < 0 ||
            (r = jcheck_keys(c, root, "", "team grants", keys, keys)) < 0 ||
            (r = jget_string(c, root, "", "team", ret->team, sizeof(nb_name), name_problem)) < 0 ||
            (r = jget_string(c, root, "", "plan", ret->plan, sizeof(nb_name), name_problem)) < 0 ||
            (r = jget_bool(c, root, "", "card_on_file", &ret->card_on_file)) < 0 ||
            (r = jget_bool(c, root, "", "private_workspace", &ret->private_workspace)) < 0 ||
            (r = jget_name_array(c, root, "", "members", 1, GRANTS_MAX_MEMBERS, &ret->members,
                                 &ret->n_members)) < 0 ||
            (r = jget_name_array(c, root, "", "storage_clusters", 0, GRANTS_MAX_CLUSTERS, &ret->storage_clusters,
                                 &ret->n_storage_clusters)) < 0)
                return r;
        if (expected_team && !streq(ret->team, expected_team))
                return jfail(c, "/team", "\"team\" is \"%s\" but the file is for team \"%s\"; fix the file name or the team",
                             ret->team, expected_team);
        if (ret->private_workspace && ret->n_members != 1)
                return jfail(c, "/members", "a private workspace has exactly one member, not %zu", ret->n_members);
        return parse_datasets(c, root, ret);
}

static int parse_public(const struct jctx *c, struct json_object *root, struct team_grants *ret) {
        static const char *const keys[] = { "datasets", NULL };
        int r;

        if ((r = jexpect_object(c, root, "", "public datasets")) < 0 ||
            (r = jcheck_keys(c, root, "", "public datasets", keys, keys)) < 0)
                return r;
        return parse_datasets(c, root, ret);
}

static int parse_any(const char *text, size_t len, const char *file, const char *expected_team, bool public,
                     struct team_grants *ret, struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        const struct jctx c = { .file = file, .text = text, .err = err };
        struct team_grants grants = {};
        int r;

        if ((r = json_parse_strict(text, len, file, &root, err)) < 0)
                return r;
        r = public ? parse_public(&c, root, &grants) : parse_team(&c, root, expected_team, &grants);
        if (r < 0) {
                team_grants_done(&grants);
                return r;
        }
        *ret = grants;
        return 0;
}

int grants_parse(const char *text, size_t len, const char *file, const char *expected_team,
                 struct team_grants *ret, struct nb_error *err) {
        return parse_any(text, len, file, expected_team, false, ret, err);
}

int public_grants_parse(const char *text, size_t len, const char *file, struct team_grants *ret,
                        struct nb_error *err) {
        return parse_any(text, len, file, NULL, true, ret, err);
}

int grants_load_fd(int fd, const char *file, const char *expected_team, struct team_grants *ret,
                   struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if ((r = text_read_fd(fd, file, GRANTS_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return grants_parse(text, len, file, expected_team, ret, err);
}

int grants_load_at(int grants_fd, const char *team, struct team_grants *ret, struct nb_error *err) {
        char name[NB_NAME_MAX + 8];
        _cleanup_close_ int fd = -1;

        snprintf(name, sizeof(name), "%s.json", team);
        fd = openat_beneath(grants_fd, name, O_RDONLY | O_NONBLOCK, 0);
        if (fd < 0)
                return nb_fail(err, fd, "%s: cannot open: %s", name, strerror(-fd));
        return grants_load_fd(fd, name, team, ret, err);
}

int public_grants_load_fd(int fd, const char *file, struct team_grants *ret, struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if ((r = text_read_fd(fd, file, GRANTS_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return public_grants_parse(text, len, file, ret, err);
}

void team_grants_done(struct team_grants *g) {
        for (size_t i = 0; i < g->n_datasets; i++)
                free(g->datasets[i].versions);
        free(g->datasets);
        free(g->members);
        free(g->storage_clusters);
        memset(g, 0, sizeof(*g));
}

static bool name_in(const nb_name *names, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], name))
                        return true;
        return false;
}

bool grants_has_member(const struct team_grants *g, const char *user) {
        return name_in(g->members, g->n_members, user);
}

bool grants_has_storage_cluster(const struct team_grants *g, const char *cluster) {
        return name_in(g->storage_clusters, g->n_storage_clusters, cluster);
}

const struct dataset_grant *grants_find_dataset(const struct team_grants *g, const char *id) {
        for (size_t i = 0; i < g->n_datasets; i++)
                if (streq(g->datasets[i].id, id))
                        return &g->datasets[i];
        return NULL;
}

bool dataset_has_version(const struct dataset_grant *dataset, const char *version) {
        return name_in(dataset->versions, dataset->n_versions, version);
}
