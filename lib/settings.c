/* SPDX-License-Identifier: Apache-2.0 */
#include "settings.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfile.h"
#include "util.h"
#include "yamlget.h"

static const char *type_problem(const char *s) {
        return streq(s, "dataset") || streq(s, "s3") ? NULL : "is not one of dataset, s3";
}

static int parse_dataset(const struct yctx *c, const struct ynode *map, const char *what, struct settings_mount *m) {
        static const char *const keys[] = { "type", "id", "version", NULL };
        int r;

        if ((r = ycheck_keys(c, map, what, keys)) < 0 || (r = yrequire(c, map, what, "id")) < 0 ||
            (r = yget_string(c, map, "id", m->dataset_id, sizeof(m->dataset_id), name_problem)) < 0 ||
            (r = yget_string(c, map, "version", m->version, sizeof(m->version), name_problem)) < 0)
                return r;
        m->type = SETTINGS_DATASET;
        return 0;
}

static const char *s3_url_problem(const char *url) {
        if (strncmp(url, "s3://", 5) != 0)
                return "must look like s3://BUCKET/PREFIX";
        return NULL;
}

/* Splits s3://BUCKET/PREFIX into m->bucket and m->prefix, checking both. */
static int parse_url(const struct yctx *c, const struct ynode *map, struct settings_mount *m) {
        const struct ynode *node = ymap_get(map, "url");
        char url[5 + S3_BUCKET_MAX + 1 + S3_PREFIX_MAX + 1];
        const char *bucket, *slash, *why;
        size_t bucket_len;
        int r;

        if ((r = yget_string(c, map, "url", url, sizeof(url), s3_url_problem)) < 0)
                return r;
        bucket = url + 5;
        slash = strchrnul(bucket, '/');
        bucket_len = (size_t) (slash - bucket);
        if (bucket_len > S3_BUCKET_MAX)
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"url\": bucket name must be 3 to 63 characters long");
        memcpy(m->bucket, bucket, bucket_len);
        m->bucket[bucket_len] = '\0';
        if ((why = s3_bucket_problem(m->bucket)))
                return nb_fail_at(c->err, c->file, node->line, node->column, "\"url\": bucket \"%s\" %s", m->bucket,
                                  why);
        if (*slash && strlen(slash + 1) > S3_PREFIX_MAX)
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"url\": prefix \"%.64s\" is longer than %d characters", slash + 1, S3_PREFIX_MAX);
        snprintf(m->prefix, sizeof(m->prefix), "%s", *slash ? slash + 1 : "");
        if ((why = s3_prefix_problem(m->prefix)))
                return nb_fail_at(c->err, c->file, node->line, node->column, "\"url\": prefix \"%.64s\" %s",
                                  m->prefix, why);
        return 0;
}

static int parse_secret(const struct yctx *c, const struct ynode *map, struct settings_mount *m) {
        const struct ynode *node = ymap_get(map, "secretAccessKey");
        const char *why;
        int r;

        if (!node)
                return 0;
        if ((r = ycheck_string(c, node, "\"secretAccessKey\"", 512, NULL)) < 0)
                return r;
        if (strncmp(node->scalar, "secret:", 7) != 0)
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"secretAccessKey\" must be secret:NAME, not a literal key; store the key as a team secret and write secret:NAME");
        if ((why = name_problem(node->scalar + 7)))
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"secretAccessKey\": secret name \"%.64s\" %s", node->scalar + 7, why);
        name_copy(m->secret_name, node->scalar + 7);
        return 0;
}

static int check_s3_combinations(const struct yctx *c, const struct ynode *map, const char *what,
                                  const struct settings_mount *m) {
        const struct ynode *key_id = ymap_key(map, "accessKeyId"), *secret = ymap_key(map, "secretAccessKey");
        const struct ynode *endpoint = ymap_key(map, "endpoint");

        if (!key_id != !secret)
                return nb_fail_at(c->err, c->file, (key_id ?: secret)->line, (key_id ?: secret)->column,
                                  "%s has %s without %s; give both, or neither for a public bucket", what,
                                  key_id ? "accessKeyId" : "secretAccessKey",
                                  key_id ? "secretAccessKey" : "accessKeyId");
        if (ymap_get(map, "region") && m->endpoint[0])
                return nb_fail_at(c->err, c->file, endpoint->line, endpoint->column,
                                  "%s has both \"region\" and \"endpoint\"; keep only one", what);
        return 0;
}

/* An endpoint with user:password@ must not be echoed into logs. */
static int parse_endpoint(const struct yctx *c, const struct ynode *map, struct settings_mount *m) {
        const struct ynode *node = ymap_get(map, "endpoint");

        if (node && node->kind == YNODE_SCALAR && strchr(node->scalar, '@'))
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"endpoint\" must not hold a user or password; give the key as accessKeyId and secretAccessKey");
        return yget_string(c, map, "endpoint", m->endpoint, sizeof(m->endpoint), s3_endpoint_problem);
}

static int parse_read_only(const struct yctx *c, const struct ynode *map, struct settings_mount *m) {
        bool read_only = true;
        int r = yget_bool(c, map, "readOnly", &read_only);

        m->writable = !read_only;
        return r;
}

static int parse_s3(const struct yctx *c, const struct ynode *map, const char *what, struct settings_mount *m) {
        static const char *const keys[] = { "type", "url", "accessKeyId", "secretAccessKey", "region", "endpoint",
                                            "readOnly", NULL };
        int r;

        if ((r = ycheck_keys(c, map, what, keys)) < 0 || (r = yrequire(c, map, what, "url")) < 0 ||
            (r = parse_url(c, map, m)) < 0 ||
            (r = yget_string(c, map, "accessKeyId", m->access_key_id, sizeof(m->access_key_id),
                             s3_key_id_problem)) < 0 ||
            (r = parse_secret(c, map, m)) < 0 ||
            (r = yget_string(c, map, "region", m->region, sizeof(m->region), s3_region_problem)) < 0 ||
            (r = parse_endpoint(c, map, m)) < 0 || (r = parse_read_only(c, map, m)) < 0 ||
            (r = check_s3_combinations(c, map, what, m)) < 0)
                return r;
        m->type = SETTINGS_S3;
        return 0;
}

static int parse_mount(const struct yctx *c, const struct ynode *key, const struct ynode *value,
                       struct settings_mount *m) {
        char what[96], type[16];
        int r;

        if ((r = ycheck_string(c, key, "mount name", sizeof(nb_name), name_problem)) < 0)
                return r;
        snprintf(what, sizeof(what), "mount \"%s\"", key->scalar);
        if ((r = yexpect_map(c, value, what)) < 0 || (r = yrequire(c, value, what, "type")) < 0 ||
            (r = yget_string(c, value, "type", type, sizeof(type), type_problem)) < 0)
                return r;
        name_copy(m->name, key->scalar);
        return streq(type, "dataset") ? parse_dataset(c, value, what, m) : parse_s3(c, value, what, m);
}

/* Entry i of the file into *m; at fault, only its raw name, place and fault are kept. */
static void parse_entry(const struct yctx *c, const struct ynode *key, const struct ynode *value,
                        struct settings_mount *m) {
        struct nb_error why = {};
        const struct yctx entry = { .file = c->file, .err = &why };

        memset(m, 0, sizeof(*m));
        m->line = key->line;
        m->column = key->column;
        if (parse_mount(&entry, key, value, m) == 0)
                return;
        memset(m, 0, sizeof(*m));
        m->line = key->line;
        m->column = key->column;
        snprintf(m->name, sizeof(m->name), "%.*s", NB_NAME_MAX,
                 key->kind == YNODE_SCALAR && key->scalar ? key->scalar : "?");
        snprintf(m->fault, sizeof(m->fault), "%.*s", (int) sizeof(m->fault) - 1,
                 why.msg[0] ? why.msg : "this entry cannot be read");
}

int settings_refuse_faults(const struct settings *s, struct nb_error *err) {
        const struct settings_mount *fault = settings_first_fault(s);

        return fault ? nb_fail(err, EINVAL, "%s", fault->fault) : 0;
}

const struct settings_mount *settings_first_fault(const struct settings *s) {
        for (size_t i = 0; i < s->n_mounts; i++)
                if (s->mounts[i].fault[0])
                        return &s->mounts[i];
        return NULL;
}

int settings_parse(const char *text, size_t len, const char *file, struct settings *ret, struct nb_error *err) {
        _cleanup_(ytree_freep) struct ynode *root = NULL;
        _cleanup_free_ struct settings *settings = NULL;
        const struct yctx c = { .file = file, .err = err };
        int r;

        if ((r = ytree_parse(text, len, file, &root, err)) < 0)
                return r;
        if (!root) {
                ret->n_mounts = 0;
                return 0;
        }
        if ((r = yexpect_map(&c, root, "settings.yaml")) < 0)
                return r;
        if (root->n_items > SETTINGS_MAX_MOUNTS)
                return nb_fail_at(err, file, root->keys[SETTINGS_MAX_MOUNTS]->line,
                                  root->keys[SETTINGS_MAX_MOUNTS]->column,
                                  "more than %d mounts; remove some", SETTINGS_MAX_MOUNTS);
        if (!(settings = malloc(sizeof(*settings)))) /* 640 KiB: touch only what is filled */
                return nb_fail(err, ENOMEM, "%s: out of memory", file);
        for (size_t i = 0; i < root->n_items; i++)
                parse_entry(&c, root->keys[i], root->values[i], &settings->mounts[i]);
        settings->n_mounts = root->n_items;
        memcpy(ret, settings, offsetof(struct settings, mounts) + settings->n_mounts * sizeof(settings->mounts[0]));
        return 0;
}

int settings_load_fd(int fd, const char *file, struct settings *ret, struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if ((r = text_read_fd(fd, file, SETTINGS_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return settings_parse(text, len, file, ret, err);
}
