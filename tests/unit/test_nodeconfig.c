/* SPDX-License-Identifier: Apache-2.0 */
/* nodeconfig.c: /etc/nbmount/node.yaml (docs/FORMATS.md §1). */
#include "testutil.h"

#define NODE_KEYS "cluster, roots, grants, secrets, state, mountd_socket, plans, billing, quota, s3, settings, runtime, bucket_storage"
#define SIZE_SYNTAX "is not a size like 15GB, 1.5 TiB or unlimited (units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"

static struct node_config *parse_ok(const char *text) {
        struct node_config *config = calloc(1, sizeof(*config));
        struct nb_error err = {};

        assert_non_null(config);
        if (node_config_parse(text, strlen(text), "node.yaml", config, &err) != 0)
                fail_msg("\"%.60s\" refused: %s", text, err.msg);
        return config;
}

static void assert_plan(const struct node_config *c, const char *name, uint64_t storage, uint64_t notebook) {
        const struct plan_allowance *plan = node_config_find_plan(c, name);

        if (!plan)
                fail_msg("no plan \"%s\"", name);
        assert_string_equal(plan->name, name);
        assert_true(plan->storage_bytes == storage);
        assert_true(plan->notebook_bytes == notebook);
}

static void assert_files(const struct node_config *c, const char *name, uint64_t storage, uint64_t notebook) {
        const struct plan_allowance *plan = node_config_find_plan(c, name);

        if (!plan)
                fail_msg("no plan \"%s\"", name);
        if (plan->storage_files != storage || plan->notebook_files != notebook)
                fail_msg("plan %s: files %llu/%llu, expected %llu/%llu", name, (unsigned long long) plan->storage_files,
                         (unsigned long long) plan->notebook_files, (unsigned long long) storage,
                         (unsigned long long) notebook);
}

static void assert_default_plans(const struct node_config *c) {
        assert_int_equal(c->n_plans, 4);
        assert_string_equal(c->plans[0].name, "free");
        assert_string_equal(c->plans[1].name, "pro");
        assert_string_equal(c->plans[2].name, "growth");
        assert_string_equal(c->plans[3].name, "enterprise");
        assert_plan(c, "free", 5000000000ULL, 5000000000ULL);
        assert_plan(c, "pro", 15000000000ULL, 15000000000ULL);
        assert_plan(c, "growth", 50000000000ULL, 50000000000ULL);
        assert_plan(c, "enterprise", NB_SIZE_UNLIMITED, NB_SIZE_UNLIMITED);
        /* one file per 16 KiB of the allowance: 5e9 / 16384 = 305175.78 */
        assert_files(c, "free", 305175, 305175);
        assert_files(c, "pro", 915527, 915527);
        assert_files(c, "growth", 3051757, 3051757);
        assert_files(c, "enterprise", NB_SIZE_UNLIMITED, NB_SIZE_UNLIMITED);
}

static void defaults_with_only_cluster(void **state) {
        struct node_config *c = parse_ok("cluster: east-1\n");

        assert_string_equal(c->cluster, "east-1");
        assert_string_equal(c->notebooks_root, "/srv/nbmount/notebooks");
        assert_string_equal(c->storage_root, "/srv/nbmount/storage");
        assert_string_equal(c->datasets_root, "/srv/nbmount/datasets");
        assert_string_equal(c->grants_dir, "/etc/nbmount/grants");
        assert_string_equal(c->secrets_dir, "/etc/nbmount/secrets");
        assert_string_equal(c->state_dir, "/var/lib/nbmount");
        assert_string_equal(c->mountd_socket, "/run/nbmount/mountd.sock");
        assert_default_plans(c);
        assert_null(node_config_find_plan(c, "gold"));
        assert_true(c->price_per_gb_month == 0.29);
        assert_true(c->overage_cap_bytes == 1000000000000ULL);
        assert_int_equal(c->quota_enforce, QUOTA_REQUIRED);
        assert_string_equal(quota_enforce_name(c->quota_enforce), "required");
        assert_false(c->s3_allow_http);
        assert_false(c->s3_allow_private_endpoints);
        assert_true(c->bucket_free_bytes == 2000000000ULL);      /* 2 GB */
        assert_true(c->bucket_max_file_size == 1000000000ULL);   /* 1 GB */
        assert_string_equal(c->bucket_name, "");                 /* bucket storage off */
        assert_int_equal(c->s3_mount_timeout_s, 15);
        assert_int_equal(c->s3_max_mounts_per_team, 16);
        assert_int_equal(c->s3_max_mounts_per_node, 64);
        assert_true(c->s3_staging_per_mount == 512ULL << 20);
        assert_true(c->s3_staging_per_node == 32ULL << 30);
        assert_int_equal(c->s3_uid_base, 1879048192);
        free(c);
}

/* The README's node.yaml spells out every default: it must give the same config. */
static void full_example_equals_defaults(void **state) {
        static const char text[] = "cluster: east-1\n"
                                   "roots:\n"
                                   "  notebooks: /srv/nbmount/notebooks   # ROOT/TEAM/NOTEBOOK\n"
                                   "  storage: /srv/nbmount/storage       # ROOT/CLUSTER/TEAM\n"
                                   "  datasets: /srv/nbmount/datasets     # ROOT/DATASET_ID/VERSION\n"
                                   "grants: /etc/nbmount/grants\n"
                                   "secrets: /etc/nbmount/secrets\n"
                                   "state: /var/lib/nbmount\n"
                                   "mountd_socket: /run/nbmount/mountd.sock\n"
                                   "plans:\n"
                                   "  free: {storage: 5GB, notebook: 5GB}\n"
                                   "  pro: {storage: 15GB, notebook: 15GB}\n"
                                   "  growth: {storage: 50GB, notebook: 50GB}\n"
                                   "  enterprise: {storage: unlimited, notebook: unlimited}\n"
                                   "billing: {price_per_gb_month: 0.29, overage_cap: 1TB}\n"
                                   "quota: {enforce: required}\n"
                                   "s3: {allow_http: false, allow_private_endpoints: false, mount_timeout: 15,\n"
                                   "     max_mounts_per_team: 16, max_mounts_per_node: 64,\n"
                                   "     staging_per_mount: 512MiB, staging_per_node: 32GiB, uid_base: 1879048192}\n";
        struct node_config *full = parse_ok(text), *minimal = parse_ok("cluster: east-1\n");

        assert_default_plans(full);
        assert_string_equal(full->notebooks_root, minimal->notebooks_root);
        assert_string_equal(full->mountd_socket, minimal->mountd_socket);
        assert_true(full->price_per_gb_month == minimal->price_per_gb_month);
        assert_true(full->overage_cap_bytes == minimal->overage_cap_bytes);
        assert_int_equal(full->quota_enforce, minimal->quota_enforce);
        assert_int_equal(full->s3_mount_timeout_s, minimal->s3_mount_timeout_s);
        assert_int_equal(full->s3_max_mounts_per_team, minimal->s3_max_mounts_per_team);
        assert_int_equal(full->s3_max_mounts_per_node, minimal->s3_max_mounts_per_node);
        assert_true(full->s3_staging_per_mount == minimal->s3_staging_per_mount);
        assert_true(full->s3_staging_per_node == minimal->s3_staging_per_node);
        assert_int_equal(full->s3_uid_base, minimal->s3_uid_base);
        free(full);
        free(minimal);
}

static void every_key_set(void **state) {
        static const char text[] = "cluster: west-2\n"
                                   "roots: {notebooks: /n, storage: /s, datasets: /d}\n"
                                   "grants: /g\n"
                                   "secrets: /x/secrets\n"
                                   "state: /st\n"
                                   "mountd_socket: /run/m.sock\n"
                                   "billing: {price_per_gb_month: 1, overage_cap: unlimited}\n"
                                   "quota: {enforce: best-effort}\n"
                                   "s3: {allow_http: true, allow_private_endpoints: True, staging_per_mount: 1GiB,\n"
                                   "     staging_per_node: 2GiB, uid_base: 200000}\n";
        struct node_config *c = parse_ok(text);

        assert_string_equal(c->cluster, "west-2");
        assert_string_equal(c->notebooks_root, "/n");
        assert_string_equal(c->storage_root, "/s");
        assert_string_equal(c->datasets_root, "/d");
        assert_string_equal(c->grants_dir, "/g");
        assert_string_equal(c->secrets_dir, "/x/secrets");
        assert_string_equal(c->state_dir, "/st");
        assert_string_equal(c->mountd_socket, "/run/m.sock");
        assert_true(c->price_per_gb_month == 1.0);
        assert_true(c->overage_cap_bytes == NB_SIZE_UNLIMITED);
        assert_int_equal(c->quota_enforce, QUOTA_BEST_EFFORT);
        assert_string_equal(quota_enforce_name(c->quota_enforce), "best-effort");
        assert_true(c->s3_allow_http);
        assert_true(c->s3_allow_private_endpoints);
        assert_true(c->s3_staging_per_mount == 1ULL << 30);
        assert_true(c->s3_staging_per_node == 2ULL << 30);
        assert_int_equal(c->s3_uid_base, 200000);
        free(c);
}

static void partial_sections_keep_defaults(void **state) {
        static const char text[] = "cluster: c1\n"
                                   "roots:\n"
                                   "  storage: /data/storage\n"
                                   "billing:\n"
                                   "  overage_cap: 500GB\n"
                                   "s3:\n"
                                   "  allow_http: true\n";
        struct node_config *c = parse_ok(text);

        assert_string_equal(c->storage_root, "/data/storage");
        assert_string_equal(c->notebooks_root, "/srv/nbmount/notebooks");
        assert_string_equal(c->datasets_root, "/srv/nbmount/datasets");
        assert_true(c->overage_cap_bytes == 500000000000ULL);
        assert_true(c->price_per_gb_month == 0.29);
        assert_true(c->s3_allow_http);
        assert_false(c->s3_allow_private_endpoints);
        assert_int_equal(c->quota_enforce, QUOTA_REQUIRED);
        assert_default_plans(c);
        free(c);

        c = parse_ok("cluster: c1\nbilling: {price_per_gb_month: 0}\nquota: {}\ns3: {}\nroots: {}\n");
        assert_true(c->price_per_gb_month == 0.0);
        assert_true(c->overage_cap_bytes == 1000000000000ULL);
        assert_int_equal(c->quota_enforce, QUOTA_REQUIRED);
        assert_string_equal(c->storage_root, "/srv/nbmount/storage");
        free(c);

        c = parse_ok("cluster: c1\nquota:\n  enforce: 'off'\n");
        assert_int_equal(c->quota_enforce, QUOTA_OFF);
        assert_string_equal(quota_enforce_name(c->quota_enforce), "off");
        free(c);
}

/* quota.remote_wait and quota.remote_timeout: seconds, to the millisecond, within their bounds. */
static void quota_remote_waits(void **state) {
        struct node_config *c = parse_ok("cluster: c1\n");
        struct nb_error err = {};

        assert_int_equal(c->quota_remote_wait_ms, 2000);
        assert_int_equal(c->quota_remote_timeout_ms, 5000);
        free(c);
        c = parse_ok("cluster: c1\nquota: {enforce: required, remote_wait: 0.25, remote_timeout: 12}\n");
        assert_int_equal(c->quota_remote_wait_ms, 250);
        assert_int_equal(c->quota_remote_timeout_ms, 12000);
        assert_int_not_equal(node_config_parse("cluster: c1\nquota: {remote_wait: 31}\n", 37, "node.yaml", c, &err), 0);
        assert_string_equal(err.msg, "node.yaml:2:22: \"remote_wait\" must be a number of seconds from 0 to 30");
        assert_int_not_equal(node_config_parse("cluster: c1\nquota: {remote_timeout: 0}\n", 39, "node.yaml", c, &err), 0);
        assert_string_equal(err.msg, "node.yaml:2:25: \"remote_timeout\" must be a number of seconds from 0.1 to 60");
        free(c);
}

static void plans_replace_default_table(void **state) {
        struct node_config *c = parse_ok("cluster: c1\nplans:\n  basic: {storage: 1GB, notebook: 500MB}\n"
                                         "  big:\n    storage: 1.5 TiB\n    notebook: unlimited\n");

        assert_int_equal(c->n_plans, 2);
        assert_plan(c, "basic", 1000000000ULL, 500000000ULL);
        assert_plan(c, "big", 1649267441664ULL, NB_SIZE_UNLIMITED);
        assert_null(node_config_find_plan(c, "free"));
        assert_null(node_config_find_plan(c, "pro"));
        assert_null(node_config_find_plan(c, "growth"));
        assert_null(node_config_find_plan(c, "enterprise"));
        free(c);

        c = parse_ok("cluster: c1\nplans:\n  pro: {storage: 20GB, notebook: 10GB}\n");
        assert_int_equal(c->n_plans, 1);
        assert_plan(c, "pro", 20000000000ULL, 10000000000ULL);
        assert_null(node_config_find_plan(c, "free"));
        free(c);
}

/* storage_files and notebook_files: a count or unlimited; left out, one file per 16 KiB of the
 * allowance (at least 1), unlimited for an unlimited allowance. */
static void plan_file_limits(void **state) {
        struct node_config *c = parse_ok("cluster: c1\nplans:\n"
                                         "  given: {storage: 1GB, notebook: 1GB, storage_files: 1000, notebook_files: unlimited}\n"
                                         "  derived: {storage: 16384kB, notebook: 1B}\n"
                                         "  half: {storage: unlimited, notebook: 32KiB, notebook_files: 7}\n"
                                         "  most: {storage: unlimited, notebook: unlimited, storage_files: 1000000000000000}\n");

        assert_files(c, "given", 1000, NB_SIZE_UNLIMITED);
        assert_files(c, "derived", 1000, 1);
        assert_files(c, "half", NB_SIZE_UNLIMITED, 7);
        assert_files(c, "most", 1000000000000000ULL, NB_SIZE_UNLIMITED);
        free(c);
        assert_int_equal(node_default_files(NB_SIZE_UNLIMITED), NB_SIZE_UNLIMITED);
        assert_int_equal(node_default_files(0), 1);
        assert_int_equal(node_default_files(16384 * 3 + 16383), 3);
}

static void plan_file_limit_errors(void **state) {
        static const char *const bad[][2] = {
                { "0", "0" },                 { "-5", "-5" },           { "1000000000000001", "1000000000000001" },
                { "1.5", "a number" },        { "1e3", "a number" },    { "\"1000\"", "a string" },
                { "15GB", "a string" },       { "null", "null" },       { "[1]", "a list" },
                { "true", "a boolean" },      { "Unlimited", "a string" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                char *text = format("cluster: c1\nplans:\n  a: {storage: 1GB, notebook: 1GB, notebook_files: %s}\n",
                                    bad[i][0]);
                char *want = format("node.yaml:3:52: \"notebook_files\" must be a number of files from 1 to "
                                    "1000000000000000, or unlimited, not %s",
                                    bad[i][1]);

                assert_node_error(text, want);
                free(text);
                free(want);
        }
}

static char *plans_yaml(size_t n) {
        char *s = strdup("cluster: c1\nplans:\n"), *next;

        for (size_t i = 0; i < n; i++) {
                next = format("%s  p%zu: {storage: %zuGB, notebook: 1GB}\n", s, i, i + 1);
                free(s);
                s = next;
        }
        return s;
}

static void plans_count(void **state) {
        char *ok = plans_yaml(64), *too_many = plans_yaml(65);
        struct node_config *c = parse_ok(ok);

        assert_int_equal(c->n_plans, 64);
        assert_plan(c, "p63", 64000000000ULL, 1000000000ULL);
        free(c);
        assert_node_error(too_many, "node.yaml:67:3: more than 64 plans; remove some"); /* at the 65th */
        assert_node_error("cluster: c1\nplans: {}\n",
                          "node.yaml:2:8: \"plans\" lists no plan; list at least one, or remove \"plans\" for the defaults");
        free(ok);
        free(too_many);
}

static void root_errors(void **state) {
        assert_node_error("", "node.yaml:1:1: the node config is empty; it needs at least \"cluster: NAME\"");
        assert_node_error("# nothing\n", "node.yaml:1:1: the node config is empty; it needs at least \"cluster: NAME\"");
        assert_node_error("- cluster\n", "node.yaml:1:1: the node config must be a map of keys, not a list");
        assert_node_error("east-1\n", "node.yaml:1:1: the node config must be a map of keys, not a string");
        assert_node_error("roots:\n  storage: /x\n", "node.yaml:1:1: the node config is missing \"cluster\"; add it");
        assert_node_error("cluster: c1\nfoo: 1\n",
                          "node.yaml:2:1: unknown key \"foo\" in the node config (allowed: " NODE_KEYS ")");
        assert_node_error("cluster: c1\nCluster: c2\n",
                          "node.yaml:2:1: unknown key \"Cluster\" in the node config (allowed: " NODE_KEYS ")");
        assert_node_error("cluster: c1\ncluster: c2\n",
                          "node.yaml:2:1: duplicate key \"cluster\" (first at line 1); keep only one");
        assert_node_error("cluster: &c c1\n", "node.yaml:1:10: YAML anchors (&) are not allowed; write the value out");
}

static void cluster_errors(void **state) {
        assert_node_error("cluster: a/b\n", "node.yaml:1:10: \"cluster\" \"a/b\" contains a slash");
        assert_node_error("cluster: .c\n", "node.yaml:1:10: \"cluster\" \".c\" starts with a dot");
        assert_node_error("cluster: \"\"\n", "node.yaml:1:10: \"cluster\" \"\" is empty");
        assert_node_error("cluster: 12\n",
                          "node.yaml:1:10: \"cluster\" must be a string, not an integer; put it in quotes");
        assert_node_error("cluster: true\n",
                          "node.yaml:1:10: \"cluster\" must be a string, not a boolean; put it in quotes");
        assert_node_error("cluster: [a]\n", "node.yaml:1:10: \"cluster\" must be a string, not a list");
        assert_node_error("cluster:\n", "node.yaml:1:9: \"cluster\" must be a string, not null; give it a value");
}

static void path_errors(void **state) {
        char *long_state = repeat_char('s', 4096), *text;

        assert_node_error("cluster: c1\ngrants: etc/grants\n",
                          "node.yaml:2:9: \"grants\" \"etc/grants\" is not an absolute path");
        assert_node_error("cluster: c1\nsecrets: /etc//secrets\n",
                          "node.yaml:2:10: \"secrets\" \"/etc//secrets\" has an empty component ('//' or a trailing '/')");
        assert_node_error("cluster: c1\nstate: /var/lib/nbmount/\n",
                          "node.yaml:2:8: \"state\" \"/var/lib/nbmount/\" has an empty component ('//' or a trailing '/')");
        assert_node_error("cluster: c1\nroots:\n  notebooks: rel\n",
                          "node.yaml:3:14: \"notebooks\" \"rel\" is not an absolute path");
        assert_node_error("cluster: c1\nroots:\n  datasets: /srv/../etc\n",
                          "node.yaml:3:13: \"datasets\" \"/srv/../etc\" has a '.' or '..' component");
        assert_node_error("cluster: c1\nroots:\n  tmp: /tmp\n",
                          "node.yaml:3:3: unknown key \"tmp\" in \"roots\" (allowed: notebooks, storage, datasets)");
        assert_node_error("cluster: c1\nroots: /srv\n", "node.yaml:2:8: \"roots\" must be a map of keys, not a string");
        assert_node_error("cluster: c1\nroots:\n", "node.yaml:2:7: \"roots\" must be a map of keys, not null");
        long_state[0] = '/';
        text = format("cluster: c1\nstate: %s\n", long_state);
        assert_node_error(text, "node.yaml:2:8: \"state\" is longer than 4095 bytes; shorten it");
        free(text);
        free(long_state);
}

static void plan_errors(void **state) {
        assert_node_error("cluster: c1\nplans:\n  a: {storage: 1GB}\n",
                          "node.yaml:3:6: plan \"a\" is missing \"notebook\"; add it");
        assert_node_error("cluster: c1\nplans:\n  a:\n    notebook: 1GB\n",
                          "node.yaml:4:5: plan \"a\" is missing \"storage\"; add it");
        assert_node_error("cluster: c1\nplans:\n  a: {storage: 1GB, notebook: 1GB, gpu: 1}\n",
                          "node.yaml:3:36: unknown key \"gpu\" in plan \"a\" (allowed: storage, notebook, storage_files, notebook_files)");
        assert_node_error("cluster: c1\nplans:\n  a: {storage: 5 GBs, notebook: 1GB}\n",
                          "node.yaml:3:16: \"storage\" \"5 GBs\" " SIZE_SYNTAX);
        assert_node_error("cluster: c1\nplans:\n  a: {storage: 5, notebook: 1GB}\n",
                          "node.yaml:3:16: \"storage\" must be a size like 15GB or unlimited, not an integer");
        assert_node_error("cluster: c1\nplans:\n  a: {storage: 1GB, notebook: 1.0001kB}\n",
                          "node.yaml:3:31: \"notebook\" \"1.0001kB\" is not a whole number of bytes");
        assert_node_error("cluster: c1\nplans:\n  a: {storage: 1GB, notebook: 16777216TiB}\n",
                          "node.yaml:3:31: \"notebook\" \"16777216TiB\" is too large");
        assert_node_error("cluster: c1\nplans:\n  .x: {storage: 1GB, notebook: 1GB}\n",
                          "node.yaml:3:3: plan name \".x\" starts with a dot");
        assert_node_error("cluster: c1\nplans:\n  7: {storage: 1GB, notebook: 1GB}\n",
                          "node.yaml:3:3: plan name must be a string, not an integer; put it in quotes");
        assert_node_error("cluster: c1\nplans:\n  a: 5GB\n", "node.yaml:3:6: plan \"a\" must be a map of keys, not a string");
        assert_node_error("cluster: c1\nplans: [free]\n", "node.yaml:2:8: \"plans\" must be a map of keys, not a list");
        assert_node_error("cluster: c1\nplans:\n  a: {storage: 1GB, notebook: 1GB}\n  a: {storage: 2GB, notebook: 1GB}\n",
                          "node.yaml:4:3: duplicate key \"a\" (first at line 3); keep only one");
}

static void billing_errors(void **state) {
        assert_node_error("cluster: c1\nbilling:\n  price_per_gb_month: -1\n",
                          "node.yaml:3:23: \"price_per_gb_month\" must be a finite number of at least 0");
        assert_node_error("cluster: c1\nbilling:\n  price_per_gb_month: \"0.29\"\n",
                          "node.yaml:3:23: \"price_per_gb_month\" must be a number, not a string");
        assert_node_error("cluster: c1\nbilling:\n  price_per_gb_month:\n",
                          "node.yaml:3:22: \"price_per_gb_month\" must be a number, not null; give it a value");
        assert_node_error("cluster: c1\nbilling:\n  overage_cap: lots\n",
                          "node.yaml:3:16: \"overage_cap\" \"lots\" " SIZE_SYNTAX);
        assert_node_error("cluster: c1\nbilling:\n  currency: EUR\n",
                          "node.yaml:3:3: unknown key \"currency\" in \"billing\" (allowed: price_per_gb_month, overage_cap)");
}

/* YAML spells infinity and NaN ".inf" and ".nan"; yscalar_type() types them as numbers, so they
 * must reach the "finite" check, not be read as 0 (strtod() does not know the leading dot). */
static void billing_price_inf_nan_refused(void **state) {
        static const char *const values[] = { ".inf", ".Inf", "+.inf", "-.inf", ".nan", ".NaN", NULL };

        for (size_t i = 0; values[i]; i++) {
                char *text = format("cluster: c1\nbilling:\n  price_per_gb_month: %s\n", values[i]);

                assert_node_error(text, "node.yaml:3:23: \"price_per_gb_month\" must be a finite number of at least 0");
                free(text);
        }
}

static void billing_numbers(void **state) {
        struct node_config *c = parse_ok("cluster: c1\nbilling: {price_per_gb_month: 2}\n");

        assert_true(c->price_per_gb_month == 2.0);
        free(c);
        c = parse_ok("cluster: c1\nbilling: {price_per_gb_month: 1.5e-1}\n");
        assert_true(c->price_per_gb_month == 0.15);
        free(c);
        c = parse_ok("cluster: c1\nbilling: {price_per_gb_month: 0x10}\n");
        assert_true(c->price_per_gb_month == 16.0);
        free(c);
        c = parse_ok("cluster: c1\nbilling: {price_per_gb_month: 1.}\n");
        assert_true(c->price_per_gb_month == 1.0);
        free(c);
}

/* 0o17 is YAML 1.2's octal 15, which yscalar_type() accepts as an integer: it must not read as 0. */
static void billing_price_octal(void **state) {
        struct node_config *c = parse_ok("cluster: c1\nbilling: {price_per_gb_month: 0o17}\n");

        assert_true(c->price_per_gb_month == 15.0);
        free(c);
}

static void start_wait_and_on_error(void **state) {
        struct node_config *c = parse_ok("cluster: c1\n");

        assert_int_equal(c->s3_start_wait_ms, 2000);
        assert_int_equal(c->settings_on_error, ON_ERROR_SKIP);
        free(c);
        c = parse_ok("cluster: c1\ns3: {start_wait: 0.25, mount_timeout: 8}\nsettings: {on_error: refuse}\n");
        assert_int_equal(c->s3_start_wait_ms, 250);
        assert_int_equal(c->settings_on_error, ON_ERROR_REFUSE);
        assert_string_equal(settings_on_error_name(c->settings_on_error), "refuse");
        free(c);
        c = parse_ok("cluster: c1\ns3: {mount_timeout: 1}\n"); /* the default fits a short mount_timeout */
        assert_int_equal(c->s3_start_wait_ms, 1000);
        free(c);
        /* hang_timeout: mount_timeout unless set; 0 never judges a mount hung */
        c = parse_ok("cluster: c1\ns3: {mount_timeout: 8}\n");
        assert_int_equal(c->s3_hang_timeout_s, 8);
        free(c);
        c = parse_ok("cluster: c1\ns3: {mount_timeout: 8, hang_timeout: 0}\n");
        assert_int_equal(c->s3_hang_timeout_s, 0);
        free(c);
        c = parse_ok("cluster: c1\n");
        assert_int_equal(c->s3_hang_timeout_s, 15);
        free(c);
        assert_node_error("cluster: c1\ns3: {hang_timeout: 601}\n",
                          "node.yaml:2:20: \"hang_timeout\" must be a whole number of seconds from 0 to 600");
        assert_node_error("cluster: c1\ns3: {start_wait: 9, mount_timeout: 8}\n",
                          "node.yaml:2:18: \"start_wait\" (9 s) must not be longer than \"mount_timeout\" (8 s)");
        assert_node_error("cluster: c1\ns3: {start_wait: -1}\n",
                          "node.yaml:2:18: \"start_wait\" must be a finite number of at least 0");
        assert_node_error("cluster: c1\ns3: {start_wait: 700}\n",
                          "node.yaml:2:18: \"start_wait\" must be a number of seconds from 0 to 600");
        assert_node_error("cluster: c1\ns3: {start_wait: soon}\n",
                          "node.yaml:2:18: \"start_wait\" must be a number, not a string");
        assert_node_error("cluster: c1\nsettings: {on_error: ignore}\n",
                          "node.yaml:2:22: \"on_error\" \"ignore\" is not one of skip, refuse");
        assert_node_error("cluster: c1\nsettings: {on_eror: skip}\n",
                          "node.yaml:2:12: unknown key \"on_eror\" in \"settings\" (allowed: on_error)");
}

static void quota_and_s3_errors(void **state) {
        assert_node_error("cluster: c1\nquota:\n  enforce: strict\n",
                          "node.yaml:3:12: \"enforce\" \"strict\" is not one of required, best-effort, off");
        assert_node_error("cluster: c1\nquota:\n  enforce: false\n",
                          "node.yaml:3:12: \"enforce\" must be a string, not a boolean; put it in quotes");
        assert_node_error("cluster: c1\nquota:\n  mode: off\n",
                          "node.yaml:3:3: unknown key \"mode\" in \"quota\" (allowed: enforce, remote_wait, remote_timeout)");
        assert_node_error("cluster: c1\ns3:\n  allow_http: yes\n",
                          "node.yaml:3:15: \"allow_http\" must be true or false, not a string");
        assert_node_error("cluster: c1\ns3:\n  allow_private_endpoints: 1\n",
                          "node.yaml:3:28: \"allow_private_endpoints\" must be true or false, not an integer");
        assert_node_error("cluster: c1\ns3:\n  allow_http: \"true\"\n",
                          "node.yaml:3:15: \"allow_http\" must be true or false, not a string");
        assert_node_error("cluster: c1\ns3:\n  allow_ftp: true\n",
                          "node.yaml:3:3: unknown key \"allow_ftp\" in \"s3\" (allowed: allow_http, allow_private_endpoints, mount_timeout, start_wait, hang_timeout, max_mounts_per_team, max_mounts_per_node, staging_per_mount, staging_per_node, uid_base)");
        assert_node_error("cluster: c1\ns3: {staging_per_mount: 95MiB}\n",
                          "node.yaml:2:25: \"staging_per_mount\" must be a size of at least 96MiB, not unlimited (s3fs reads ahead 50 MB)");
        assert_node_error("cluster: c1\ns3: {staging_per_mount: unlimited}\n",
                          "node.yaml:2:25: \"staging_per_mount\" must be a size of at least 96MiB, not unlimited (s3fs reads ahead 50 MB)");
        assert_node_error("cluster: c1\ns3: {staging_per_node: 100MiB}\n",
                          "node.yaml:2:24: \"staging_per_node\" must be a size of at least \"staging_per_mount\", not unlimited");
        assert_node_error("cluster: c1\ns3: {uid_base: 65535}\n",
                          "node.yaml:2:16: \"uid_base\" must be a whole number from 65536 to 4294901759: the first of 65536 uids no one else uses");
        assert_node_error("cluster: c1\ns3: {uid_base: 4294901760}\n",
                          "node.yaml:2:16: \"uid_base\" must be a whole number from 65536 to 4294901759: the first of 65536 uids no one else uses");
        assert_node_error("cluster: c1\ns3: {uid_base: 100000.5}\n",
                          "node.yaml:2:16: \"uid_base\" must be a whole number from 65536 to 4294901759: the first of 65536 uids no one else uses");
        assert_node_error("cluster: c1\ns3: true\n", "node.yaml:2:5: \"s3\" must be a map of keys, not a boolean");
}

/* How many shared S3 mounts a team, and the node, may have (issue 11, item 5). */
static void s3_mount_limits(void **state) {
        struct node_config *c = parse_ok("cluster: c1\ns3: {max_mounts_per_team: 4, max_mounts_per_node: 100000}\n");

        assert_int_equal(c->s3_max_mounts_per_team, 4);
        assert_int_equal(c->s3_max_mounts_per_node, 100000);
        assert_int_equal(c->s3_mount_timeout_s, 15);
        free(c);
        c = parse_ok("cluster: c1\ns3: {max_mounts_per_node: 1}\n");
        assert_int_equal(c->s3_max_mounts_per_team, 16);
        assert_int_equal(c->s3_max_mounts_per_node, 1);
        free(c);
        assert_node_error("cluster: c1\ns3: {max_mounts_per_team: 0}\n",
                          "node.yaml:2:27: \"max_mounts_per_team\" must be a whole number of mounts from 1 to 100000");
        assert_node_error("cluster: c1\ns3: {max_mounts_per_node: 100001}\n",
                          "node.yaml:2:27: \"max_mounts_per_node\" must be a whole number of mounts from 1 to 100000");
        assert_node_error("cluster: c1\ns3: {max_mounts_per_team: 2.5}\n",
                          "node.yaml:2:27: \"max_mounts_per_team\" must be a whole number of mounts from 1 to 100000");
        assert_node_error("cluster: c1\ns3: {max_mounts_per_team: -3}\n",
                          "node.yaml:2:27: \"max_mounts_per_team\" must be a finite number of at least 0");
        assert_node_error("cluster: c1\ns3: {max_mounts_per_team: \"16\"}\n",
                          "node.yaml:2:27: \"max_mounts_per_team\" must be a number, not a string");
        assert_node_error("cluster: c1\ns3: {mount_timeout: 601}\n",
                          "node.yaml:2:21: \"mount_timeout\" must be a whole number of seconds from 1 to 600");
}

static void mountd_socket_length(void **state) {
        char *path107 = repeat_char('s', 107), *path108 = repeat_char('s', 108), *ok, *too_long, *expected;
        struct node_config *c;

        path107[0] = path108[0] = '/';
        ok = format("cluster: c1\nmountd_socket: %s\n", path107);
        too_long = format("cluster: c1\nmountd_socket: %s\n", path108);
        c = parse_ok(ok);
        assert_string_equal(c->mountd_socket, path107);
        free(c);
        expected = format("node.yaml:2:16: \"mountd_socket\" \"%.64s\" is longer than the 107 bytes a unix socket path may have",
                          path108);
        assert_node_error(too_long, expected);
        assert_node_error("cluster: c1\nmountd_socket: run/m.sock\n",
                          "node.yaml:2:16: \"mountd_socket\" \"run/m.sock\" is not an absolute path");
        free(path107);
        free(path108);
        free(ok);
        free(too_long);
        free(expected);
}

static void output_untouched_on_error(void **state) {
        struct node_config *c = calloc(1, sizeof(*c));
        struct nb_error err = {};

        assert_non_null(c);
        strcpy(c->cluster, "before");
        assert_int_equal(node_config_parse("cluster: after\nroots: 1\n", 24, "node.yaml", c, &err), -EINVAL);
        assert_string_equal(c->cluster, "before");
        free(c);
}

static void load_fd_size_cap(void **state) {
        size_t len = NODE_CONFIG_MAX_BYTES + 1;
        char *text = repeat_char('#', len);
        struct node_config *c = calloc(1, sizeof(*c));
        struct nb_error err = {};
        int fd;

        assert_non_null(c);
        memcpy(text, "cluster: c1\n", 12);
        fd = memfd_with(text, len);
        assert_error(node_config_load_fd(fd, "node.yaml", c, &err), err, -EFBIG,
                     "node.yaml:2:262133: is 262145 bytes, more than the 262144 allowed; shorten it");
        close(fd);
        fd = memfd_with(text, len - 1); /* exactly 256 KiB: "cluster: c1" and a long comment */
        assert_int_equal(node_config_load_fd(fd, "node.yaml", c, &err), 0);
        assert_string_equal(c->cluster, "c1");
        close(fd);
        free(text);
        free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(defaults_with_only_cluster),
                cmocka_unit_test(full_example_equals_defaults),
                cmocka_unit_test(every_key_set),
                cmocka_unit_test(partial_sections_keep_defaults),
                cmocka_unit_test(plans_replace_default_table),
                cmocka_unit_test(plans_count),
                cmocka_unit_test(plan_file_limits),
                cmocka_unit_test(plan_file_limit_errors),
                cmocka_unit_test(root_errors),
                cmocka_unit_test(cluster_errors),
                cmocka_unit_test(path_errors),
                cmocka_unit_test(plan_errors),
                cmocka_unit_test(billing_errors),
                cmocka_unit_test(billing_price_inf_nan_refused),
                cmocka_unit_test(billing_numbers),
                cmocka_unit_test(billing_price_octal),
                cmocka_unit_test(start_wait_and_on_error),
                cmocka_unit_test(quota_and_s3_errors),
                cmocka_unit_test(s3_mount_limits),
                cmocka_unit_test(mountd_socket_length),
                cmocka_unit_test(output_untouched_on_error),
                cmocka_unit_test(load_fd_size_cap),
                cmocka_unit_test(quota_remote_waits),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
