/* SPDX-License-Identifier: Apache-2.0 */
#include "nodeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfile.h"
#include "util.h"
#include "yamlget.h"

static const struct plan_allowance default_plans[] = {
        { "free", 5000000000ULL, 5000000000ULL, 0, 0 },
        { "pro", 15000000000ULL, 15000000000ULL, 0, 0 },
        { "growth", 50000000000ULL, 50000000000ULL, 0, 0 },
        { "enterprise", NB_SIZE_UNLIMITED, NB_SIZE_UNLIMITED, 0, 0 },
};

uint64_t node_default_files(uint64_t bytes) {
        if (bytes == NB_SIZE_UNLIMITED)
                return NB_SIZE_UNLIMITED;
        return MAX(bytes / NODE_BYTES_PER_FILE, 1);
}

static void derive_files(struct plan_allowance *plan, bool storage_given, bool notebook_given) {
        if (!storage_given)
                plan->storage_files = node_default_files(plan->storage_bytes);
        if (!notebook_given)
                plan->notebook_files = node_default_files(plan->notebook_bytes);
}

static void set_defaults(struct node_config *c) {
        memset(c, 0, sizeof(*c));
        snprintf(c->notebooks_root, sizeof(nb_path), "/srv/nbmount/notebooks");
        snprintf(c->storage_root, sizeof(nb_path), "/srv/nbmount/storage");
        snprintf(c->datasets_root, sizeof(nb_path), "/srv/nbmount/datasets");
        snprintf(c->grants_dir, sizeof(nb_path), "/etc/nbmount/grants");
        snprintf(c->secrets_dir, sizeof(nb_path), "/etc/nbmount/secrets");
        snprintf(c->state_dir, sizeof(nb_path), "/var/lib/nbmount");
        snprintf(c->mountd_socket, sizeof(nb_path), "/run/nbmount/mountd.sock");
        c->n_plans = ARRAY_SIZE(default_plans);
        memcpy(c->plans, default_plans, sizeof(default_plans));
        for (size_t i = 0; i < c->n_plans; i++)
                derive_files(&c->plans[i], false, false);
        c->price_per_gb_month = 0.29;
        c->overage_cap_bytes = 1000ULL * 1000 * 1000 * 1000;
        c->quota_enforce = QUOTA_REQUIRED;
        c->quota_remote_wait_ms = QUOTA_REMOTE_WAIT_DEFAULT_MS;
        c->quota_remote_timeout_ms = QUOTA_REMOTE_TIMEOUT_DEFAULT_MS;
        c->settings_on_error = ON_ERROR_SKIP;
        c->s3_mount_timeout_s = S3_MOUNT_TIMEOUT_DEFAULT;
        c->s3_hang_timeout_s = S3_MOUNT_TIMEOUT_DEFAULT;
        c->s3_start_wait_ms = S3_START_WAIT_DEFAULT_MS;
        c->s3_max_mounts_per_team = S3_MAX_MOUNTS_PER_TEAM_DEFAULT;
        c->s3_max_mounts_per_node = S3_MAX_MOUNTS_PER_NODE_DEFAULT;
        c->s3_staging_per_mount = S3_STAGING_PER_MOUNT_DEFAULT;
        c->s3_staging_per_node = S3_STAGING_PER_NODE_DEFAULT;
        c->s3_uid_base = S3_UID_BASE_DEFAULT;
        c->bucket_free_bytes = BUCKET_FREE_DEFAULT;
        c->bucket_max_file_size = BUCKET_MAX_FILE_SIZE_DEFAULT;
}

static int get_size(const struct yctx *c, const struct ynode *map, const char *key, uint64_t *out) {
        const struct ynode *value = ymap_get(map, key);
        const char *problem = NULL;

        if (!value)
                return 0;
        if (value->kind != YNODE_SCALAR || yscalar_type(value) != YSCALAR_STRING)
                return nb_fail_at(c->err, c->file, value->line, value->column,
                                  "\"%s\" must be a size like 15GB or unlimited, not %s", key, ynode_describe(value));
        if (size_parse(value->scalar, out, &problem) < 0)
                return nb_fail_at(c->err, c->file, value->line, value->column, "\"%s\" \"%.64s\" %s", key,
                                  value->scalar, problem);
        return 1;
}

/* A number of files: a whole number from 1 to 10^15, or unlimited. Returns 0 when absent, 1 when read. */
static int get_files(const struct yctx *c, const struct ynode *map, const char *key, uint64_t *out) {
        const struct ynode *value = ymap_get(map, key);
        enum yscalar_type type;
        double number;

        if (!value)
                return 0;
        type = value->kind == YNODE_SCALAR ? yscalar_type(value) : YSCALAR_NULL;
        if (type == YSCALAR_STRING && streq(value->scalar, "unlimited")) {
                *out = NB_SIZE_UNLIMITED;
                return 1;
        }
        number = type == YSCALAR_INT ? yscalar_number(value) : 0;
        if (type != YSCALAR_INT || number < 1 || number > (double) NODE_MAX_FILES)
                return nb_fail_at(c->err, c->file, value->line, value->column,
                                  "\"%s\" must be a number of files from 1 to %llu, or unlimited, not %.32s", key,
                                  (unsigned long long) NODE_MAX_FILES,
                                  type == YSCALAR_INT ? value->scalar : ynode_describe(value));
        *out = (uint64_t) number;
        return 1;
}

static int parse_roots(const struct yctx *c, const struct ynode *roots, struct node_config *ret) {
        static const char *const keys[] = { "notebooks", "storage", "datasets", NULL };
        int r;

        if ((r = yexpect_map(c, roots, "\"roots\"")) < 0 || (r = ycheck_keys(c, roots, "\"roots\"", keys)) < 0 ||
            (r = yget_string(c, roots, "notebooks", ret->notebooks_root, sizeof(nb_path), path_problem)) < 0 ||
            (r = yget_string(c, roots, "storage", ret->storage_root, sizeof(nb_path), path_problem)) < 0 ||
            (r = yget_string(c, roots, "datasets", ret->datasets_root, sizeof(nb_path), path_problem)) < 0)
                return r;
        return 0;
}

/* storage_files and notebook_files, or their defaults from the allowances. */
static int parse_plan_files(const struct yctx *c, const struct ynode *value, struct plan_allowance *ret) {
        int storage_given = get_files(c, value, "storage_files", &ret->storage_files), notebook_given;

        if (storage_given < 0)
                return storage_given;
        if ((notebook_given = get_files(c, value, "notebook_files", &ret->notebook_files)) < 0)
                return notebook_given;
        derive_files(ret, storage_given, notebook_given);
        return 0;
}

static int parse_plan(const struct yctx *c, const struct ynode *key, const struct ynode *value,
                      struct plan_allowance *ret) {
        static const char *const keys[] = { "storage", "notebook", "storage_files", "notebook_files", NULL };
        char what[96];
        int r;

        if ((r = ycheck_string(c, key, "plan name", sizeof(nb_name), name_problem)) < 0)
                return r;
        snprintf(what, sizeof(what), "plan \"%s\"", key->scalar);
        if ((r = yexpect_map(c, value, what)) < 0 || (r = ycheck_keys(c, value, what, keys)) < 0 ||
            (r = yrequire(c, value, what, "storage")) < 0 || (r = yrequire(c, value, what, "notebook")) < 0 ||
            (r = get_size(c, value, "storage", &ret->storage_bytes)) < 0 ||
            (r = get_size(c, value, "notebook", &ret->notebook_bytes)) < 0 ||
            (r = parse_plan_files(c, value, ret)) < 0)
                return r;
        name_copy(ret->name, key->scalar);
        return 0;
}

static int parse_plans(const struct yctx *c, const struct ynode *plans, struct node_config *ret) {
        int r;

        if ((r = yexpect_map(c, plans, "\"plans\"")) < 0)
                return r;
        if (plans->n_items > NODE_MAX_PLANS)
                return nb_fail_at(c->err, c->file, plans->keys[NODE_MAX_PLANS]->line,
                                  plans->keys[NODE_MAX_PLANS]->column, "more than %d plans; remove some",
                                  NODE_MAX_PLANS);
        if (plans->n_items == 0)
                return nb_fail_at(c->err, c->file, plans->line, plans->column,
                                  "\"plans\" lists no plan; list at least one, or remove \"plans\" for the defaults");
        for (size_t i = 0; i < plans->n_items; i++)
                if ((r = parse_plan(c, plans->keys[i], plans->values[i], &ret->plans[i])) < 0)
                        return r;
        ret->n_plans = plans->n_items;
        return 0;
}

static int parse_billing(const struct yctx *c, const struct ynode *billing, struct node_config *ret) {
        static const char *const keys[] = { "price_per_gb_month", "overage_cap", NULL };
        int r;

        if ((r = yexpect_map(c, billing, "\"billing\"")) < 0 || (r = ycheck_keys(c, billing, "\"billing\"", keys)) < 0 ||
            (r = yget_number(c, billing, "price_per_gb_month", &ret->price_per_gb_month)) < 0 ||
            (r = get_size(c, billing, "overage_cap", &ret->overage_cap_bytes)) < 0)
                return r;
        return 0;
}

static const char *enforce_problem(const char *s) {
        if (streq(s, "required") || streq(s, "best-effort") || streq(s, "off"))
                return NULL;
        return "is not one of required, best-effort, off";
}

/* Seconds (a fraction allowed, to the millisecond) from min_ms to max_s at key, into *ret_ms
 * (unchanged when the key is absent). */
static int get_seconds(const struct yctx *c, const struct ynode *map, const char *key, unsigned min_ms, unsigned max_s,
                       unsigned *ret_ms) {
        const struct ynode *node = ymap_get(map, key);
        double seconds = 0;
        int r = yget_number(c, map, key, &seconds);

        if (r <= 0)
                return r;
        if (seconds * 1000 < min_ms || seconds > max_s)
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"%s\" must be a number of seconds from %g to %u", key, min_ms / 1000.0, max_s);
        *ret_ms = (unsigned) (seconds * 1000 + 0.5);
        return 0;
}

static int parse_quota(const struct yctx *c, const struct ynode *quota, struct node_config *ret) {
        static const char *const keys[] = { "enforce", "remote_wait", "remote_timeout", NULL };
        char enforce[16] = "required";
        int r;

        if ((r = yexpect_map(c, quota, "\"quota\"")) < 0 || (r = ycheck_keys(c, quota, "\"quota\"", keys)) < 0 ||
            (r = yget_string(c, quota, "enforce", enforce, sizeof(enforce), enforce_problem)) < 0 ||
            (r = get_seconds(c, quota, "remote_wait", 0, QUOTA_REMOTE_WAIT_MAX_S, &ret->quota_remote_wait_ms)) < 0 ||
            (r = get_seconds(c, quota, "remote_timeout", 100, QUOTA_REMOTE_TIMEOUT_MAX_S, &ret->quota_remote_timeout_ms)) < 0)
                return r;
        ret->quota_enforce = streq(enforce, "required") ? QUOTA_REQUIRED
                             : streq(enforce, "off")    ? QUOTA_OFF
                                                        : QUOTA_BEST_EFFORT;
        return 0;
}

static const char *on_error_problem(const char *s) {
        return streq(s, "skip") || streq(s, "refuse") ? NULL : "is not one of skip, refuse";
}

static int parse_settings(const struct yctx *c, const struct ynode *settings, struct node_config *ret) {
        static const char *const keys[] = { "on_error", NULL };
        char on_error[16] = "skip";
        int r;

        if ((r = yexpect_map(c, settings, "\"settings\"")) < 0 ||
            (r = ycheck_keys(c, settings, "\"settings\"", keys)) < 0 ||
            (r = yget_string(c, settings, "on_error", on_error, sizeof(on_error), on_error_problem)) < 0)
                return r;
        ret->settings_on_error = streq(on_error, "refuse") ? ON_ERROR_REFUSE : ON_ERROR_SKIP;
        return 0;
}

/* A whole number from min to max at key of the s3 map, into *ret (unchanged when the key is absent). */
static int get_whole(const struct yctx *c, const struct ynode *s3, const char *key, const char *unit, unsigned min,
                     unsigned max, unsigned *ret) {
        const struct ynode *node = ymap_get(s3, key);
        double value = *ret;
        int r = yget_number(c, s3, key, &value);

        if (r <= 0)
                return r;
        if (value != (double) (unsigned) value || value < min || value > max)
                return nb_fail_at(c->err, c->file, node->line, node->column, "\"%s\" must be a whole number of %s from %u to %u",
                                  key, unit, min, max);
        *ret = (unsigned) value;
        return 0;
}

/* staging_per_mount (at least 96 MiB) and staging_per_node (at least staging_per_mount): sizes. */
static int parse_staging(const struct yctx *c, const struct ynode *s3, struct node_config *ret) {
        const struct ynode *per_mount = ymap_get(s3, "staging_per_mount"), *per_node = ymap_get(s3, "staging_per_node");
        int r;

        if ((r = get_size(c, s3, "staging_per_mount", &ret->s3_staging_per_mount)) < 0 ||
            (r = get_size(c, s3, "staging_per_node", &ret->s3_staging_per_node)) < 0)
                return r;
        if (ret->s3_staging_per_mount < S3_STAGING_PER_MOUNT_MIN || ret->s3_staging_per_mount == NB_SIZE_UNLIMITED)
                return nb_fail_at(c->err, c->file, per_mount ? per_mount->line : s3->line,
                                  per_mount ? per_mount->column : s3->column,
                                  "\"staging_per_mount\" must be a size of at least 96MiB, not unlimited (s3fs reads ahead 50 MB)");
        if (ret->s3_staging_per_node < ret->s3_staging_per_mount || ret->s3_staging_per_node == NB_SIZE_UNLIMITED)
                return nb_fail_at(c->err, c->file, per_node ? per_node->line : s3->line,
                                  per_node ? per_node->column : s3->column,
                                  "\"staging_per_node\" must be a size of at least \"staging_per_mount\", not unlimited");
        return 0;
}

static int parse_uid_base(const struct yctx *c, const struct ynode *s3, struct node_config *ret) {
        const struct ynode *node = ymap_get(s3, "uid_base");
        double base = ret->s3_uid_base;
        int r = yget_number(c, s3, "uid_base", &base);

        if (r <= 0)
                return r;
        if (base != (double) (uint32_t) base || base < 65536 || base > 4294967294.0 - (S3_UID_SLOTS - 1))
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"uid_base\" must be a whole number from 65536 to %u: the first of %u uids no one else uses",
                                  4294967294U - (S3_UID_SLOTS - 1), S3_UID_SLOTS);
        ret->s3_uid_base = (uint32_t) base;
        return 0;
}

/* start_wait: seconds (a fraction allowed, to the millisecond), 0 to mount_timeout. */
static int parse_start_wait(const struct yctx *c, const struct ynode *s3, struct node_config *ret) {
        const struct ynode *node = ymap_get(s3, "start_wait");
        double seconds = ret->s3_start_wait_ms / 1000.0;
        int r = yget_number(c, s3, "start_wait", &seconds);

        if (r < 0)
                return r;
        if (!node) { /* the default fits any mount_timeout */
                ret->s3_start_wait_ms = MIN(ret->s3_start_wait_ms, ret->s3_mount_timeout_s * 1000U);
                return 0;
        }
        if ((seconds < 0 || seconds > S3_MOUNT_TIMEOUT_MAX))
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"start_wait\" must be a number of seconds from 0 to %d", S3_MOUNT_TIMEOUT_MAX);
        ret->s3_start_wait_ms = (unsigned) (seconds * 1000 + 0.5);
        if (ret->s3_start_wait_ms > ret->s3_mount_timeout_s * 1000U)
                return nb_fail_at(c->err, c->file, node->line, node->column,
                                  "\"start_wait\" (%.3g s) must not be longer than \"mount_timeout\" (%u s)",
                                  ret->s3_start_wait_ms / 1000.0, ret->s3_mount_timeout_s);
        return 0;
}

static int parse_s3(const struct yctx *c, const struct ynode *s3, struct node_config *ret) {
        static const char *const keys[] = { "allow_http", "allow_private_endpoints", "mount_timeout", "start_wait",
                                            "hang_timeout", "max_mounts_per_team", "max_mounts_per_node", "staging_per_mount",
                                            "staging_per_node", "uid_base", NULL };
        int r;

        if ((r = yexpect_map(c, s3, "\"s3\"")) < 0 || (r = ycheck_keys(c, s3, "\"s3\"", keys)) < 0 ||
            (r = yget_bool(c, s3, "allow_http", &ret->s3_allow_http)) < 0 ||
            (r = yget_bool(c, s3, "allow_private_endpoints", &ret->s3_allow_private_endpoints)) < 0 ||
            (r = get_whole(c, s3, "mount_timeout", "seconds", 1, S3_MOUNT_TIMEOUT_MAX, &ret->s3_mount_timeout_s)) < 0 ||
            (ret->s3_hang_timeout_s = ret->s3_mount_timeout_s,
             r = get_whole(c, s3, "hang_timeout", "seconds", 0, S3_MOUNT_TIMEOUT_MAX, &ret->s3_hang_timeout_s)) < 0 ||
            (r = get_whole(c, s3, "max_mounts_per_team", "mounts", 1, S3_MAX_MOUNTS_LIMIT,
                           &ret->s3_max_mounts_per_team)) < 0 ||
            (r = get_whole(c, s3, "max_mounts_per_node", "mounts", 1, S3_MAX_MOUNTS_LIMIT,
                           &ret->s3_max_mounts_per_node)) < 0 ||
            (r = parse_staging(c, s3, ret)) < 0 || (r = parse_uid_base(c, s3, ret)) < 0 ||
            (r = parse_start_wait(c, s3, ret)) < 0)
                return r;
        return 0;
}

/* bucket_storage: the platform's bucket for offline copies (off without "bucket"; with it,
 * access_key_id, secret and endpoint or region); free and max_file_size are sizes, not unlimited. */
static int parse_bucket_storage(const struct yctx *c, const struct ynode *b, struct node_config *ret) {
        static const char *const keys[] = { "bucket", "endpoint", "region", "access_key_id", "secret", "free",
                                            "max_file_size", NULL };
        static const char *const required[] = { "access_key_id", "secret", NULL };
        int r;

        if ((r = yexpect_map(c, b, "\"bucket_storage\"")) < 0 || (r = ycheck_keys(c, b, "\"bucket_storage\"", keys)) < 0)
                return r;
        for (size_t i = 0; ymap_get(b, "bucket") && required[i]; i++)
                if ((r = yrequire(c, b, "\"bucket_storage\"", required[i])) < 0)
                        return r;
        if ((r = yget_string(c, b, "bucket", ret->bucket_name, sizeof(ret->bucket_name), s3_bucket_problem)) < 0 ||
            (r = yget_string(c, b, "endpoint", ret->bucket_endpoint, sizeof(ret->bucket_endpoint), s3_endpoint_problem)) < 0 ||
            (r = yget_string(c, b, "region", ret->bucket_region, sizeof(ret->bucket_region), s3_region_problem)) < 0 ||
            (r = yget_string(c, b, "access_key_id", ret->bucket_key_id, sizeof(ret->bucket_key_id), s3_key_id_problem)) < 0 ||
            (r = yget_string(c, b, "secret", ret->bucket_secret, sizeof(ret->bucket_secret), name_problem)) < 0 ||
            (r = get_size(c, b, "free", &ret->bucket_free_bytes)) < 0 ||
            (r = get_size(c, b, "max_file_size", &ret->bucket_max_file_size)) < 0)
                return r;
        if (ret->bucket_name[0] && !ret->bucket_endpoint[0] && !ret->bucket_region[0])
                return nb_fail_at(c->err, c->file, b->line, b->column,
                                  "\"bucket_storage\" needs \"endpoint\" or \"region\" (AWS: the region alone)");
        if (ret->bucket_free_bytes == NB_SIZE_UNLIMITED || ret->bucket_max_file_size == NB_SIZE_UNLIMITED)
                return nb_fail_at(c->err, c->file, b->line, b->column,
                                  "\"bucket_storage\": \"free\" and \"max_file_size\" are sizes like 2GB, not unlimited");
        if (!ret->bucket_region[0])
                snprintf(ret->bucket_region, sizeof(ret->bucket_region), "us-east-1");
        return 0;
}

static const char *socket_path_problem(const char *s) {
        const char *problem = path_problem(s);

        if (!problem && strlen(s) > NODE_SOCKET_PATH_MAX)
                return "is longer than the 107 bytes a unix socket path may have";
        return problem;
}

static int parse_runtime(const struct yctx *c, const struct ynode *runtime, struct node_config *ret) {
        static const char *const keys[] = { "binary", NULL };
        int r;

        if ((r = yexpect_map(c, runtime, "\"runtime\"")) < 0 || (r = ycheck_keys(c, runtime, "\"runtime\"", keys)) < 0 ||
            (r = yget_string(c, runtime, "binary", ret->runtime_binary, sizeof(nb_path), path_problem)) < 0)
                return r;
        return 0;
}

static int parse_sections(const struct yctx *c, const struct ynode *root, struct node_config *ret) {
        const struct ynode *section;
        int r;

        if ((section = ymap_get(root, "roots")) && (r = parse_roots(c, section, ret)) < 0)
                return r;
        if ((section = ymap_get(root, "plans")) && (r = parse_plans(c, section, ret)) < 0)
                return r;
        if ((section = ymap_get(root, "billing")) && (r = parse_billing(c, section, ret)) < 0)
                return r;
        if ((section = ymap_get(root, "quota")) && (r = parse_quota(c, section, ret)) < 0)
                return r;
        if ((section = ymap_get(root, "s3")) && (r = parse_s3(c, section, ret)) < 0)
                return r;
        if ((section = ymap_get(root, "settings")) && (r = parse_settings(c, section, ret)) < 0)
                return r;
        if ((section = ymap_get(root, "runtime")) && (r = parse_runtime(c, section, ret)) < 0)
                return r;
        if ((section = ymap_get(root, "bucket_storage")) && (r = parse_bucket_storage(c, section, ret)) < 0)
                return r;
        return 0;
}

static int parse_root(const struct yctx *c, const struct ynode *root, struct node_config *ret) {
        static const char *const keys[] = { "cluster", "roots", "grants", "secrets", "state", "mountd_socket",
                                            "plans", "billing", "quota", "s3", "settings", "runtime",
                                            "bucket_storage", NULL };
        int r;

        if ((r = yexpect_map(c, root, "the node config")) < 0 ||
            (r = ycheck_keys(c, root, "the node config", keys)) < 0 ||
            (r = yrequire(c, root, "the node config", "cluster")) < 0 ||
            (r = yget_string(c, root, "cluster", ret->cluster, sizeof(nb_name), name_problem)) < 0 ||
            (r = yget_string(c, root, "grants", ret->grants_dir, sizeof(nb_path), path_problem)) < 0 ||
            (r = yget_string(c, root, "secrets", ret->secrets_dir, sizeof(nb_path), path_problem)) < 0 ||
            (r = yget_string(c, root, "state", ret->state_dir, sizeof(nb_path), path_problem)) < 0 ||
            (r = yget_string(c, root, "mountd_socket", ret->mountd_socket, sizeof(nb_path),
                             socket_path_problem)) < 0)
                return r;
        return parse_sections(c, root, ret);
}

int node_config_parse(const char *text, size_t len, const char *file, struct node_config *ret,
                      struct nb_error *err) {
        _cleanup_(ytree_freep) struct ynode *root = NULL;
        _cleanup_free_ struct node_config *config = NULL;
        const struct yctx c = { .file = file, .err = err };
        int r;

        if ((r = ytree_parse(text, len, file, &root, err)) < 0)
                return r;
        if (!root)
                return nb_fail_at(err, file, 1, 1, "the node config is empty; it needs at least \"cluster: NAME\"");
        if (!(config = malloc(sizeof(*config))))
                return nb_fail(err, ENOMEM, "%s: out of memory", file);
        set_defaults(config);
        if ((r = parse_root(&c, root, config)) < 0)
                return r;
        *ret = *config;
        return 0;
}

int node_config_load_fd(int fd, const char *file, struct node_config *ret, struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if ((r = text_read_fd(fd, file, NODE_CONFIG_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return node_config_parse(text, len, file, ret, err);
}

int node_config_load_path(const char *path, struct node_config *ret, struct nb_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open the node config: %s%s", path, strerror(errno),
                               errno == ENOENT ? "; write one (see nbmount-node.yaml(5)) or pass --config FILE" : "");
        return node_config_load_fd(fd, path, ret, err);
}

const struct plan_allowance *node_config_find_plan(const struct node_config *config, const char *name) {
        for (size_t i = 0; i < config->n_plans; i++)
                if (streq(config->plans[i].name, name))
                        return &config->plans[i];
        return NULL;
}

const char *quota_enforce_name(enum quota_enforce enforce) {
        return enforce == QUOTA_REQUIRED ? "required" : enforce == QUOTA_OFF ? "off" : "best-effort";
}

const char *settings_on_error_name(enum settings_on_error on_error) {
        return on_error == ON_ERROR_REFUSE ? "refuse" : "skip";
}
