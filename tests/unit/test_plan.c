/* SPDX-License-Identifier: Apache-2.0 */
/* plan.c and planjson.c: the plan rules (README "Plan rules"), from hand-built inputs, no I/O. */
#include "testutil.h"

#include "plan.h"
#include "planjson.h"

#define GB 1000000000ULL
#define TB 1000000000000ULL
#define NOT_MEMBER(user) "user " user " is not a member of team acme; ask the team's admin to add " user

struct fixture {
        struct node_config config;
        struct container_identity identity;
        struct team_grants team, public_datasets;
        nb_name members[4], clusters[4], versions[4], public_versions[2];
        struct dataset_grant datasets[2], public_list[1];
        struct settings settings;
        enum secret_state secrets[SETTINGS_MAX_MOUNTS];
        struct plan_inputs in;
        struct plan plan;
        struct nb_error err;
};

static void set_plan(struct plan_allowance *p, const char *name, uint64_t storage, uint64_t notebook) {
        name_copy(p->name, name);
        p->storage_bytes = storage;
        p->notebook_bytes = notebook;
        p->storage_files = node_default_files(storage);
        p->notebook_files = node_default_files(notebook);
}

/* A node of cluster east-1 with the default plans; team acme (plan pro, no card, members alice and bob,
 * storage on east-1, one dataset with versions v1 and v2); alice's notebook nb4f2k9q1; one public dataset. */
static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        struct node_config *c;

        if (!f)
                return -1;
        c = &f->config;
        name_copy(c->cluster, "east-1");
        strcpy(c->notebooks_root, "/srv/nbmount/notebooks");
        strcpy(c->storage_root, "/srv/nbmount/storage");
        strcpy(c->datasets_root, "/srv/nbmount/datasets");
        strcpy(c->grants_dir, "/etc/nbmount/grants");
        strcpy(c->secrets_dir, "/etc/nbmount/secrets");
        strcpy(c->state_dir, "/var/lib/nbmount");
        strcpy(c->mountd_socket, "/run/nbmount/mountd.sock");
        set_plan(&c->plans[0], "free", 5 * GB, 5 * GB);
        set_plan(&c->plans[1], "pro", 15 * GB, 15 * GB);
        set_plan(&c->plans[2], "growth", 50 * GB, 50 * GB);
        set_plan(&c->plans[3], "enterprise", NB_SIZE_UNLIMITED, NB_SIZE_UNLIMITED);
        c->n_plans = 4;
        c->price_per_gb_month = 0.29;
        c->overage_cap_bytes = 1 * TB;
        c->quota_enforce = QUOTA_REQUIRED;

        name_copy(f->identity.team, "acme");
        name_copy(f->identity.notebook, "nb4f2k9q1");
        name_copy(f->identity.user, "alice");

        name_copy(f->team.team, "acme");
        name_copy(f->team.plan, "pro");
        name_copy(f->members[0], "alice");
        name_copy(f->members[1], "bob");
        f->team.members = f->members;
        f->team.n_members = 2;
        name_copy(f->clusters[0], "east-1");
        f->team.storage_clusters = f->clusters;
        f->team.n_storage_clusters = 1;
        name_copy(f->versions[0], "v1");
        name_copy(f->versions[1], "v2");
        name_copy(f->datasets[0].name, "quarterly-reports");
        name_copy(f->datasets[0].id, "dsr8k5qzn401lb5");
        name_copy(f->datasets[0].latest, "v2");
        f->datasets[0].versions = f->versions;
        f->datasets[0].n_versions = 2;
        f->team.datasets = f->datasets;
        f->team.n_datasets = 1;

        name_copy(f->public_versions[0], "1");
        name_copy(f->public_versions[1], "2");
        name_copy(f->public_list[0].name, "mnist");
        name_copy(f->public_list[0].id, "dsmnist");
        name_copy(f->public_list[0].latest, "2");
        f->public_list[0].versions = f->public_versions;
        f->public_list[0].n_versions = 2;
        f->public_datasets.datasets = f->public_list;
        f->public_datasets.n_datasets = 1;

        f->in = (struct plan_inputs) {
                .config = &f->config,
                .identity = &f->identity,
                .team = &f->team,
                .public_datasets = &f->public_datasets,
                .settings = &f->settings,
                .secret_states = f->secrets,
        };
        *state = f;
        return 0;
}

static int teardown(void **state) {
        free(*state);
        return 0;
}

static struct settings_mount *add_mount(struct fixture *f, const char *name, enum settings_mount_type type) {
        struct settings_mount *m = &f->settings.mounts[f->settings.n_mounts++];

        memset(m, 0, sizeof(*m));
        name_copy(m->name, name); /* no check: the plan must not trust the parser */
        m->type = type;
        return m;
}

static struct settings_mount *add_dataset(struct fixture *f, const char *name, const char *id, const char *version) {
        struct settings_mount *m = add_mount(f, name, SETTINGS_DATASET);

        name_copy(m->dataset_id, id);
        name_copy(m->version, version);
        return m;
}

/* An s3 mount; a secret name makes the secret PRESENT until the test says otherwise. */
static struct settings_mount *add_s3(struct fixture *f, const char *name, const char *bucket, const char *prefix,
                                     const char *key_id, const char *secret, const char *region, const char *endpoint) {
        struct settings_mount *m = add_mount(f, name, SETTINGS_S3);

        snprintf(m->bucket, sizeof(m->bucket), "%s", bucket);
        snprintf(m->prefix, sizeof(m->prefix), "%s", prefix);
        snprintf(m->access_key_id, sizeof(m->access_key_id), "%s", key_id);
        name_copy(m->secret_name, secret);
        snprintf(m->region, sizeof(m->region), "%s", region);
        snprintf(m->endpoint, sizeof(m->endpoint), "%s", endpoint);
        f->secrets[f->settings.n_mounts - 1] = SECRET_PRESENT;
        return m;
}

static struct plan *build(struct fixture *f) {
        int r = plan_build(&f->in, &f->plan, &f->err);

        if (r != 0)
                fail_msg("plan_build failed (%d): %s", r, f->err.msg);
        return &f->plan;
}

static const struct plan_mount *find(const struct plan *plan, const char *target) {
        for (size_t i = 0; i < plan->n_mounts; i++)
                if (streq(plan->mounts[i].target, target))
                        return &plan->mounts[i];
        fail_msg("no mount at %s", target);
        return NULL;
}

#define assert_granted(m)                                                                                          \
        do {                                                                                                       \
                const struct plan_mount *m_ = (m);                                                                 \
                if (!m_->granted)                                                                                  \
                        fail_msg("%s refused: %s", m_->target, m_->reason);                                        \
                assert_string_equal(m_->reason, "");                                                               \
        } while (0)

#define assert_refused(m, expected)                                                                                \
        do {                                                                                                       \
                const struct plan_mount *m_ = (m);                                                                 \
                if (m_->granted)                                                                                   \
                        fail_msg("%s granted, expected refused: %s", m_->target, (expected));                     \
                assert_string_equal(m_->reason, (expected));                                                       \
        } while (0)

static void assert_quota(const struct plan_mount *m, const char *project, uint64_t soft, uint64_t hard) {
        assert_true(m->has_quota);
        assert_string_equal(m->quota.project, project);
        if (m->quota.soft_bytes != soft || m->quota.hard_bytes != hard)
                fail_msg("%s: quota %llu/%llu, expected %llu/%llu", m->target, (unsigned long long) m->quota.soft_bytes,
                         (unsigned long long) m->quota.hard_bytes, (unsigned long long) soft, (unsigned long long) hard);
}

static void member_gets_notebook_and_storage(void **state) {
        struct fixture *f = *state;
        struct plan *p = build(f);
        const struct plan_mount *nb, *st;

        assert_string_equal(p->team, "acme");
        assert_string_equal(p->notebook, "nb4f2k9q1");
        assert_string_equal(p->user, "alice");
        assert_string_equal(p->cluster, "east-1");
        assert_string_equal(p->storage_cluster, "east-1");
        assert_string_equal(p->plan_name, "pro");
        assert_false(p->card_on_file);
        assert_int_equal(p->n_mounts, 2);
        assert_int_equal(p->n_warnings, 0);
        assert_true(plan_all_granted(p));

        nb = &p->mounts[0];
        assert_string_equal(nb->target, "/notebooks");
        assert_int_equal(nb->kind, MOUNT_NOTEBOOK);
        assert_string_equal(nb->source, "/srv/nbmount/notebooks/acme/nb4f2k9q1");
        assert_false(nb->readonly);
        assert_granted(nb);
        assert_quota(nb, "notebook.acme/nb4f2k9q1", 15 * GB, 15 * GB);

        st = &p->mounts[1];
        assert_string_equal(st->target, "/storage");
        assert_int_equal(st->kind, MOUNT_STORAGE);
        assert_string_equal(st->source, "/srv/nbmount/storage/east-1/acme");
        assert_false(st->readonly);
        assert_granted(st);
        assert_quota(st, "team.acme", 15 * GB, 15 * GB);
}

static void non_member_every_mount_refused(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        name_copy(f->identity.user, "carol");
        add_dataset(f, "reports", "dsr8k5qzn401lb5", "");
        add_dataset(f, "unknown", "dsnope", "");
        add_s3(f, "bucket", "my-bucket", "", "AK", "k", "", "http://127.0.0.1");
        name_copy(f->identity.storage_cluster, "west-2");
        p = build(f);
        assert_int_equal(p->n_mounts, 5);
        for (size_t i = 0; i < p->n_mounts; i++)
                assert_refused(&p->mounts[i], NOT_MEMBER("carol"));
        assert_false(plan_all_granted(p));
}

static void private_workspace_only_its_member(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        name_copy(f->team.team, "solo");
        name_copy(f->team.plan, "free");
        f->team.private_workspace = true;
        name_copy(f->members[0], "carol");
        f->team.n_members = 1;
        name_copy(f->identity.team, "solo");
        name_copy(f->identity.user, "carol");
        p = build(f);
        assert_true(plan_all_granted(p));
        assert_string_equal(p->mounts[0].source, "/srv/nbmount/notebooks/solo/nb4f2k9q1");
        assert_quota(&p->mounts[1], "team.solo", 5 * GB, 5 * GB);

        name_copy(f->identity.user, "dave");
        p = build(f);
        assert_refused(&p->mounts[0], "user dave is not a member of team solo; ask the team's admin to add dave");
        assert_refused(&p->mounts[1], "user dave is not a member of team solo; ask the team's admin to add dave");
}

static void quota_with_card(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        f->team.card_on_file = true;
        p = build(f);
        assert_true(p->card_on_file);
        assert_quota(&p->mounts[0], "notebook.acme/nb4f2k9q1", 15 * GB, 15 * GB + 1 * TB);
        assert_quota(&p->mounts[1], "team.acme", 15 * GB, 15 * GB + 1 * TB);

        f->config.overage_cap_bytes = 500 * GB;
        name_copy(f->team.plan, "growth");
        p = build(f);
        assert_quota(&p->mounts[1], "team.acme", 50 * GB, 550 * GB);

        f->config.overage_cap_bytes = NB_SIZE_UNLIMITED;
        p = build(f);
        assert_quota(&p->mounts[1], "team.acme", 50 * GB, NB_SIZE_UNLIMITED);

        f->config.overage_cap_bytes = UINT64_MAX - 10 * GB; /* the sum overflows: no hard limit */
        p = build(f);
        assert_quota(&p->mounts[1], "team.acme", 50 * GB, NB_SIZE_UNLIMITED);

        f->config.overage_cap_bytes = 0;
        p = build(f);
        assert_quota(&p->mounts[1], "team.acme", 50 * GB, 50 * GB);
}

static void quota_unlimited_plan(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        name_copy(f->team.plan, "enterprise");
        p = build(f);
        assert_quota(&p->mounts[0], "notebook.acme/nb4f2k9q1", NB_SIZE_UNLIMITED, NB_SIZE_UNLIMITED);
        assert_quota(&p->mounts[1], "team.acme", NB_SIZE_UNLIMITED, NB_SIZE_UNLIMITED);
        f->team.card_on_file = true;
        p = build(f);
        assert_quota(&p->mounts[0], "notebook.acme/nb4f2k9q1", NB_SIZE_UNLIMITED, NB_SIZE_UNLIMITED);
        assert_quota(&p->mounts[1], "team.acme", NB_SIZE_UNLIMITED, NB_SIZE_UNLIMITED);
}

/* The file limit: the plan's, with or without a card (files are not billed). */
static void quota_files(void **state) {
        struct fixture *f = *state;
        struct plan *p = build(f);

        assert_int_equal(p->mounts[0].quota.files, 915527); /* 15 GB / 16 KiB */
        assert_int_equal(p->mounts[1].quota.files, 915527);
        f->config.plans[1].storage_files = 12;
        f->config.plans[1].notebook_files = NB_SIZE_UNLIMITED;
        f->team.card_on_file = true;
        p = build(f);
        assert_int_equal(p->mounts[0].quota.files, NB_SIZE_UNLIMITED);
        assert_int_equal(p->mounts[1].quota.files, 12);
        name_copy(f->team.plan, "enterprise");
        p = build(f);
        assert_int_equal(p->mounts[0].quota.files, NB_SIZE_UNLIMITED);
        assert_int_equal(p->mounts[1].quota.files, NB_SIZE_UNLIMITED);
}

static void quota_enforce_modes(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        f->config.quota_enforce = QUOTA_OFF;
        p = build(f);
        assert_false(p->mounts[0].has_quota);
        assert_false(p->mounts[1].has_quota);
        assert_true(plan_all_granted(p));

        f->config.quota_enforce = QUOTA_BEST_EFFORT;
        p = build(f);
        assert_quota(&p->mounts[0], "notebook.acme/nb4f2k9q1", 15 * GB, 15 * GB);
        assert_quota(&p->mounts[1], "team.acme", 15 * GB, 15 * GB);
}

static void storage_cluster_annotation(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        name_copy(f->identity.storage_cluster, "east-1"); /* the node's own cluster, said explicitly */
        p = build(f);
        assert_granted(&p->mounts[1]);

        name_copy(f->identity.storage_cluster, "west-2");
        name_copy(f->clusters[1], "west-2");
        f->team.n_storage_clusters = 2;
        p = build(f);
        assert_string_equal(p->storage_cluster, "west-2");
        assert_string_equal(p->mounts[1].source, "/srv/nbmount/storage/west-2/acme");
        assert_refused(&p->mounts[1],
                       "storage of cluster west-2 cannot be mounted on a node of cluster east-1; run the notebook on a west-2 node");
        assert_granted(&p->mounts[0]);
}

static void team_without_storage_here(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        name_copy(f->clusters[0], "west-2");
        name_copy(f->clusters[1], "eu-1");
        f->team.n_storage_clusters = 2;
        p = build(f);
        assert_refused(&p->mounts[1],
                       "team acme has no storage on cluster east-1 (it has storage on: west-2, eu-1); ask the control plane to create it there");
        assert_granted(&p->mounts[0]);

        f->team.n_storage_clusters = 0;
        p = build(f);
        assert_refused(&p->mounts[1],
                       "team acme has no storage on cluster east-1 (it has storage on no cluster); ask the control plane to create it there");
}

static void team_dataset(void **state) {
        struct fixture *f = *state;
        const struct plan_mount *m;
        struct plan *p;

        add_dataset(f, "quarterly-reports", "dsr8k5qzn401lb5", "v1");
        p = build(f);
        assert_int_equal(p->n_mounts, 3);
        m = find(p, "/datasets/quarterly-reports");
        assert_granted(m);
        assert_int_equal(m->kind, MOUNT_DATASET);
        assert_string_equal(m->source, "/srv/nbmount/datasets/dsr8k5qzn401lb5/v1");
        assert_true(m->readonly);
        assert_false(m->has_quota);
        assert_string_equal(m->dataset_id, "dsr8k5qzn401lb5");
        assert_string_equal(m->version, "v1");
        assert_null(m->s3);
        assert_true(plan_all_granted(p));
}

static void dataset_latest_when_absent(void **state) {
        struct fixture *f = *state;
        const struct plan_mount *m;

        add_dataset(f, "reports", "dsr8k5qzn401lb5", "");
        add_dataset(f, "digits", "dsmnist", "");
        m = find(build(f), "/datasets/reports");
        assert_granted(m);
        assert_string_equal(m->version, "v2");
        assert_string_equal(m->source, "/srv/nbmount/datasets/dsr8k5qzn401lb5/v2");
        m = find(&f->plan, "/datasets/digits");
        assert_granted(m);
        assert_string_equal(m->version, "2");
        assert_string_equal(m->source, "/srv/nbmount/datasets/dsmnist/2");
}

static void public_dataset(void **state) {
        struct fixture *f = *state;
        const struct plan_mount *m;

        add_dataset(f, "mnist", "dsmnist", "1");
        m = find(build(f), "/datasets/mnist");
        assert_granted(m);
        assert_true(m->readonly);
        assert_string_equal(m->source, "/srv/nbmount/datasets/dsmnist/1");

        f->in.public_datasets = NULL; /* a node without public.json */
        m = find(build(f), "/datasets/mnist");
        assert_refused(m, "dataset dsmnist is neither a dataset of team acme nor a public dataset; check its id in settings.yaml");
}

static void dataset_unknown_id(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        add_dataset(f, "x", "dsnope", "");
        add_dataset(f, "by-name", "quarterly-reports", "v1"); /* a name is not an id */
        p = build(f);
        assert_refused(find(p, "/datasets/x"),
                       "dataset dsnope is neither a dataset of team acme nor a public dataset; check its id in settings.yaml");
        assert_refused(find(p, "/datasets/by-name"),
                       "dataset quarterly-reports is neither a dataset of team acme nor a public dataset; check its id in settings.yaml");
        assert_granted(&p->mounts[0]);
        assert_granted(&p->mounts[1]);
        assert_false(plan_all_granted(p));
}

static void dataset_unknown_version(void **state) {
        struct fixture *f = *state;
        const struct plan_mount *m;

        add_dataset(f, "reports", "dsr8k5qzn401lb5", "v9");
        add_dataset(f, "digits", "dsmnist", "3");
        m = find(build(f), "/datasets/reports");
        assert_refused(m, "dataset dsr8k5qzn401lb5 has no version v9 (versions: v1, v2)");
        assert_string_equal(m->version, "v9");
        m = find(&f->plan, "/datasets/digits");
        assert_refused(m, "dataset dsmnist has no version 3 (versions: 1, 2)");
}

static void s3_with_secret(void **state) {
        struct fixture *f = *state;
        const struct plan_mount *m;

        add_s3(f, "my-bucket-data", "my-bucket", "my-data", "AK123", "my-bucket-secret-key", "us-west-1", "");
        m = find(build(f), "/datasets/my-bucket-data");
        assert_granted(m);
        assert_int_equal(m->kind, MOUNT_S3);
        assert_string_equal(m->source, "s3://my-bucket/my-data");
        assert_true(m->readonly);
        assert_false(m->has_quota);
        assert_ptr_equal(m->s3, &f->settings.mounts[0]);
        assert_true(plan_all_granted(&f->plan));
}

static void s3_secret_states(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        add_s3(f, "missing", "abc", "", "AK", "k1", "", "");
        add_s3(f, "dir", "abc", "", "AK", "k2", "", "");
        add_s3(f, "unsafe", "abc", "", "AK", "k3", "", "");
        f->secrets[0] = SECRET_MISSING;
        f->secrets[1] = SECRET_NOT_A_FILE;
        f->secrets[2] = SECRET_UNSAFE;
        p = build(f);
        assert_refused(find(p, "/datasets/missing"),
                       "secret k1 is not a secret of team acme; add it with the control plane (it must exist as /etc/nbmount/secrets/acme/k1)");
        assert_refused(find(p, "/datasets/dir"),
                       "secret k2 of team acme is not a regular file (/etc/nbmount/secrets/acme/k2); the operator must replace it with a file");
        assert_refused(find(p, "/datasets/unsafe"),
                       "secret k3 of team acme must be owned by root with mode 0600 or 0400; the operator must run chown root: /etc/nbmount/secrets/acme/k3 && chmod 600 /etc/nbmount/secrets/acme/k3");

        f->in.secret_states = NULL; /* no facts about secrets: none is assumed present */
        p = build(f);
        assert_refused(find(p, "/datasets/unsafe"),
                       "secret k3 is not a secret of team acme; add it with the control plane (it must exist as /etc/nbmount/secrets/acme/k3)");
}

static void s3_public_bucket(void **state) {
        struct fixture *f = *state;
        const struct plan_mount *m;

        add_s3(f, "open-data", "noaa-ghcn-pds", "", "", "", "us-east-1", "");
        f->in.secret_states = NULL;
        m = find(build(f), "/datasets/open-data");
        assert_granted(m);
        assert_string_equal(m->source, "s3://noaa-ghcn-pds");
}

static void s3_http_endpoint(void **state) {
        struct fixture *f = *state;
        const struct plan_mount *m;

        add_s3(f, "minio", "abc", "x/", "AK", "k", "", "http://s3.example.com:9000");
        m = find(build(f), "/datasets/minio");
        assert_refused(m, "endpoint http://s3.example.com:9000 is not https; use https, or ask the operator to allow http (s3.allow_http in node.yaml)");
        assert_string_equal(m->source, "s3://abc/x/");

        f->config.s3_allow_http = true;
        assert_granted(find(build(f), "/datasets/minio"));
}

struct endpoint_case {
        const char *endpoint;
        const char *kind;
};

static void s3_private_endpoints(void **state) {
        static const struct endpoint_case cases[] = {
                { "https://127.0.0.1:9000", "a loopback address" },
                { "https://10.0.0.5", "a private address" },
                { "https://192.168.1.10/", "a private address" },
                { "https://169.254.169.254", "a link-local address" },
                { "https://100.64.0.1", "a shared (CGNAT) address" },
                { "https://0.0.0.0", "an unspecified address" },
                { "https://[::1]:9000", "a loopback address" },
                { "https://[fe80::1]", "a link-local address" },
                { "https://[fd00::1]", "a private address" },
                { "https://[::ffff:169.254.169.254]", "an IPv4-mapped address embedding 169.254.169.254, a link-local address" },
                /* the forms the security review found granted (issue 11, item 12) */
                { "https://[::ffff:0:a9fe:a9fe]", "an IPv4-translated address embedding 169.254.169.254, a link-local address" },
                { "https://[2002:a9fe:a9fe::1]", "a 6to4 address embedding 169.254.169.254, a link-local address" },
                { "https://[2001:0:a9fe:a9fe::1]", "a Teredo address (server 169.254.169.254, client 255.255.255.254)" },
                { "https://192.0.0.170", "a NAT64/DNS64 discovery address" },
                { "https://198.18.0.1", "a benchmarking address" },
                { "https://localhost:9000", "a loopback name" },
                { "https://minio.localhost", "a loopback name" },
                { "https://2130706433", "an ambiguous numeric address" },
                { "https://0x7f.1", "an ambiguous numeric address" },
        };
        struct fixture *f = *state;
        struct plan *p;

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char name[16];

                snprintf(name, sizeof(name), "m%zu", i);
                add_s3(f, name, "abc", "", "AK", "k", "", cases[i].endpoint);
        }
        add_s3(f, "public-host", "abc", "", "AK", "k", "", "https://s3.example.com");
        p = build(f);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char *expected = format("endpoint %s is %s; this node refuses endpoints that are not globally reachable (s3.allow_private_endpoints in node.yaml)",
                                        cases[i].endpoint, cases[i].kind);

                assert_refused(&p->mounts[2 + i], expected);
                free(expected);
        }
        assert_granted(find(p, "/datasets/public-host"));

        f->config.s3_allow_private_endpoints = true;
        assert_true(plan_all_granted(build(f)));
}

static void s3_http_and_private_first_reason(void **state) {
        struct fixture *f = *state;

        add_s3(f, "minio", "abc", "", "AK", "k", "", "http://10.0.0.5:9000");
        assert_refused(find(build(f), "/datasets/minio"),
                       "endpoint http://10.0.0.5:9000 is not https; use https, or ask the operator to allow http (s3.allow_http in node.yaml)");
        f->config.s3_allow_http = true;
        assert_refused(find(build(f), "/datasets/minio"),
                       "endpoint http://10.0.0.5:9000 is a private address; this node refuses endpoints that are not globally reachable (s3.allow_private_endpoints in node.yaml)");
        f->config.s3_allow_private_endpoints = true;
        assert_granted(find(build(f), "/datasets/minio"));
}

static void s3_invalid_endpoint(void **state) {
        struct fixture *f = *state;

        add_s3(f, "bad", "abc", "", "AK", "k", "", "ftp://h,allow_other");
        assert_refused(find(build(f), "/datasets/bad"), "endpoint ftp://h,allow_other is not a valid https://HOST[:PORT] endpoint");
}

static void two_mounts_one_target(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        add_dataset(f, "data", "dsr8k5qzn401lb5", "");
        add_s3(f, "data", "abc", "", "", "", "", "");
        p = build(f);
        assert_int_equal(p->n_mounts, 4);
        assert_granted(&p->mounts[2]);
        assert_string_equal(p->mounts[3].target, "/datasets/data");
        assert_refused(&p->mounts[3], "target /datasets/data is already used by another mount; give each mount its own name");
}

static void target_outside_datasets(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        add_dataset(f, "../x", "dsr8k5qzn401lb5", "v1");
        add_dataset(f, "a/b", "dsr8k5qzn401lb5", "v1");
        add_dataset(f, ".", "dsr8k5qzn401lb5", "v1");
        add_dataset(f, "", "dsr8k5qzn401lb5", "v1");
        add_s3(f, "..", "abc", "", "", "", "", "");
        p = build(f);
        assert_refused(&p->mounts[2], "target /datasets/../x is not a folder directly under /datasets/");
        assert_refused(&p->mounts[3], "target /datasets/a/b is not a folder directly under /datasets/");
        assert_refused(&p->mounts[4], "target /datasets/. is not a folder directly under /datasets/");
        assert_refused(&p->mounts[5], "target /datasets/ is not a folder directly under /datasets/");
        assert_refused(&p->mounts[6], "target /datasets/.. is not a folder directly under /datasets/");
        assert_granted(&p->mounts[0]);
        assert_granted(&p->mounts[1]);
}

static void checkpoints_warning(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        f->in.notebook_has_checkpoints = true;
        p = build(f);
        assert_int_equal(p->n_warnings, 1);
        assert_string_equal(p->warnings[0], "the notebook has a folder named checkpoints, which Jupyter reserves; rename it");
        assert_true(plan_all_granted(p)); /* a warning refuses nothing */
}

static void no_settings(void **state) {
        struct fixture *f = *state;

        f->in.settings = NULL;
        assert_int_equal(build(f)->n_mounts, 2);
}

static void plan_missing_from_node_config(void **state) {
        struct fixture *f = *state;

        name_copy(f->team.plan, "gold");
        assert_error(plan_build(&f->in, &f->plan, &f->err), f->err, -EINVAL,
                     "team acme is on plan \"gold\", which the node config does not define; add it under \"plans\" in node.yaml");

        /* a plans table that replaced the defaults */
        name_copy(f->team.plan, "pro");
        set_plan(&f->config.plans[0], "basic", GB, GB);
        f->config.n_plans = 1;
        assert_error(plan_build(&f->in, &f->plan, &f->err), f->err, -EINVAL,
                     "team acme is on plan \"pro\", which the node config does not define; add it under \"plans\" in node.yaml");
}

static void grants_of_another_team(void **state) {
        struct fixture *f = *state;

        name_copy(f->identity.team, "other");
        assert_error(plan_build(&f->in, &f->plan, &f->err), f->err, -EINVAL,
                     "grants are for team acme, not for the container's team other");
}

/* What the notebook asked for is skipped (settings.on_error skip, the default); who and where refuse. */
static void user_faults_skipped_identity_refused(void **state) {
        struct fixture *f = *state;
        struct settings_mount *bad;
        struct plan *p;

        add_dataset(f, "reports", "dsr8k5qzn401lb5", "");
        add_dataset(f, "gone", "dsnope", "");
        add_s3(f, "bucket", "my-bucket", "", "AK", "k", "", "http://127.0.0.1");
        bad = add_mount(f, "typo/..", SETTINGS_DATASET);
        snprintf(bad->fault, sizeof(bad->fault), "settings.yaml:9:3: unknown key \"versoin\"");
        bad->line = 8;
        bad->column = 1;
        name_copy(f->identity.storage_cluster, "west-2");
        p = build(f);
        assert_int_equal(p->n_mounts, 6);
        assert_false(find(p, "/storage")->skipped); /* another cluster's storage: a refusal */
        assert_ptr_equal(plan_first_refusal(p), find(p, "/storage"));
        assert_true(find(p, "/datasets/reports")->granted);
        assert_true(find(p, "/datasets/gone")->skipped);
        assert_true(find(p, "/datasets/bucket")->skipped); /* http endpoint, private address */
        assert_true(find(p, "/datasets/typo?..")->skipped);
        assert_int_equal(find(p, "/datasets/typo?..")->kind, MOUNT_INVALID);
        assert_string_equal(find(p, "/datasets/typo?..")->source, "settings.yaml:8:1");
        assert_string_equal(find(p, "/datasets/typo?..")->reason, "settings.yaml:9:3: unknown key \"versoin\"");
        assert_string_equal(plan_mount_status(find(p, "/datasets/gone")), "skipped");

        name_copy(f->identity.storage_cluster, "");
        p = build(f);
        assert_null(plan_first_refusal(p));
        assert_false(plan_all_granted(p)); /* nbmount plan still exits 1 */

        f->config.settings_on_error = ON_ERROR_REFUSE;
        p = build(f);
        assert_false(find(p, "/datasets/gone")->skipped);
        assert_string_equal(plan_mount_status(find(p, "/datasets/gone")), "refused");
        assert_ptr_equal(plan_first_refusal(p), find(p, "/datasets/gone"));
}

/* A non-member is refused everything, even what would only be skipped. */
static void non_member_not_skipped(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        name_copy(f->identity.user, "carol");
        add_dataset(f, "gone", "dsnope", "");
        p = build(f);
        for (size_t i = 0; i < p->n_mounts; i++)
                assert_false(p->mounts[i].skipped);
        assert_ptr_equal(plan_first_refusal(p), &p->mounts[0]);
}

/* settings.yaml that cannot be used: no /datasets entry, /notebooks and /storage as always. */
static void settings_problem_no_datasets(void **state) {
        struct fixture *f = *state;
        struct plan *p;

        add_dataset(f, "reports", "dsr8k5qzn401lb5", "");
        f->in.settings_problem = "settings.yaml:1:1: invalid YAML";
        p = build(f);
        assert_int_equal(p->n_mounts, 2);
        assert_true(p->mounts[0].granted);
        assert_true(p->mounts[1].granted);
        assert_string_equal(p->settings_problem, "settings.yaml:1:1: invalid YAML");
        assert_null(plan_first_refusal(p));
        assert_false(plan_all_granted(p));
}

static void display_names(void **state) {
        char buf[NB_NAME_MAX + 1];

        plan_display_name("ok-name_1.2", buf, sizeof(buf));
        assert_string_equal(buf, "ok-name_1.2");
        plan_display_name("a b/\x1b[2J\xc3\xa9", buf, sizeof(buf));
        assert_string_equal(buf, "a?b??[2J??");
        plan_display_name("..", buf, sizeof(buf));
        assert_string_equal(buf, "?");
        plan_display_name("", buf, sizeof(buf));
        assert_string_equal(buf, "?");
}

static void kind_names(void **state) {
        assert_string_equal(mount_kind_name(MOUNT_NOTEBOOK), "notebook");
        assert_string_equal(mount_kind_name(MOUNT_STORAGE), "storage");
        assert_string_equal(mount_kind_name(MOUNT_DATASET), "dataset");
        assert_string_equal(mount_kind_name(MOUNT_S3), "s3");
        assert_string_equal(mount_kind_name(MOUNT_INVALID), "invalid");
}

/* json-c helpers: the member must exist (possibly as JSON null). */
static struct json_object *member(struct json_object *obj, const char *key) {
        struct json_object *value = NULL;

        if (!json_object_object_get_ex(obj, key, &value))
                fail_msg("no member \"%s\" in %s", key, json_object_to_json_string(obj));
        return value;
}

static const char *member_string(struct json_object *obj, const char *key) {
        struct json_object *value = member(obj, key);

        assert_true(json_object_is_type(value, json_type_string));
        return json_object_get_string(value);
}

static void assert_member_null(struct json_object *obj, const char *key) {
        assert_null(member(obj, key));
}

static void plan_json(void **state) {
        struct fixture *f = *state;
        struct json_object *root, *mounts, *m, *quota, *dataset, *s3, *warnings, *reparsed;

        f->team.card_on_file = true;
        add_dataset(f, "quarterly-reports", "dsr8k5qzn401lb5", "v1");
        add_dataset(f, "gone", "dsnope", "");
        add_s3(f, "my-bucket-data", "my-bucket", "my-data", "AK123", "my-bucket-secret-key", "us-west-1", "");
        add_s3(f, "open", "noaa-ghcn-pds", "", "", "", "", "https://s3.example.com");
        f->in.notebook_has_checkpoints = true;
        root = plan_to_json(build(f));
        assert_non_null(root);

        assert_string_equal(member_string(root, "team"), "acme");
        assert_string_equal(member_string(root, "notebook"), "nb4f2k9q1");
        assert_string_equal(member_string(root, "user"), "alice");
        assert_string_equal(member_string(root, "cluster"), "east-1");
        assert_string_equal(member_string(root, "storage_cluster"), "east-1");
        assert_string_equal(member_string(root, "plan"), "pro");
        assert_true(json_object_get_boolean(member(root, "card_on_file")));
        mounts = member(root, "mounts");
        assert_int_equal(json_object_array_length(mounts), 6);

        m = json_object_array_get_idx(mounts, 0);
        assert_string_equal(member_string(m, "target"), "/notebooks");
        assert_string_equal(member_string(m, "kind"), "notebook");
        assert_string_equal(member_string(m, "source"), "/srv/nbmount/notebooks/acme/nb4f2k9q1");
        assert_false(json_object_get_boolean(member(m, "readonly")));
        assert_string_equal(member_string(m, "status"), "granted");
        assert_member_null(m, "reason");
        quota = member(m, "quota");
        assert_string_equal(member_string(quota, "project"), "notebook.acme/nb4f2k9q1");
        assert_true(json_object_get_uint64(member(quota, "soft_bytes")) == 15 * GB);
        assert_true(json_object_get_uint64(member(quota, "hard_bytes")) == 15 * GB + TB);
        assert_true(json_object_get_uint64(member(quota, "files")) == 915527);

        m = json_object_array_get_idx(mounts, 2);
        assert_string_equal(member_string(m, "kind"), "dataset");
        assert_string_equal(member_string(m, "target"), "/datasets/quarterly-reports");
        assert_string_equal(member_string(m, "source"), "/srv/nbmount/datasets/dsr8k5qzn401lb5/v1");
        assert_true(json_object_get_boolean(member(m, "readonly")));
        assert_member_null(m, "quota");
        dataset = member(m, "dataset");
        assert_string_equal(member_string(dataset, "id"), "dsr8k5qzn401lb5");
        assert_string_equal(member_string(dataset, "version"), "v1");
        assert_false(json_object_object_get_ex(m, "s3", NULL));

        m = json_object_array_get_idx(mounts, 3);
        assert_string_equal(member_string(m, "status"), "skipped"); /* settings.on_error skip, the default */
        assert_string_equal(member_string(m, "reason"),
                            "dataset dsnope is neither a dataset of team acme nor a public dataset; check its id in settings.yaml");
        assert_member_null(member(m, "dataset"), "version"); /* unknown dataset, no version given: null */

        m = json_object_array_get_idx(mounts, 4);
        assert_string_equal(member_string(m, "kind"), "s3");
        assert_string_equal(member_string(m, "source"), "s3://my-bucket/my-data");
        assert_false(json_object_object_get_ex(m, "dataset", NULL));
        s3 = member(m, "s3");
        assert_string_equal(member_string(s3, "bucket"), "my-bucket");
        assert_string_equal(member_string(s3, "prefix"), "my-data");
        assert_string_equal(member_string(s3, "region"), "us-west-1");
        assert_member_null(s3, "endpoint");
        assert_string_equal(member_string(s3, "access_key_id"), "AK123");
        assert_string_equal(member_string(s3, "secret"), "my-bucket-secret-key");
        assert_false(json_object_get_boolean(member(s3, "public")));

        m = json_object_array_get_idx(mounts, 5);
        s3 = member(m, "s3");
        assert_string_equal(member_string(s3, "prefix"), "");
        assert_member_null(s3, "region");
        assert_string_equal(member_string(s3, "endpoint"), "https://s3.example.com");
        assert_member_null(s3, "access_key_id");
        assert_member_null(s3, "secret");
        assert_true(json_object_get_boolean(member(s3, "public")));

        warnings = member(root, "warnings");
        assert_int_equal(json_object_array_length(warnings), 1);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(warnings, 0)),
                            "the notebook has a folder named checkpoints, which Jupyter reserves; rename it");

        /* the text is JSON that reads back the same */
        reparsed = json_tokener_parse(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
        assert_non_null(reparsed);
        assert_true(json_object_equal(root, reparsed));
        json_object_put(reparsed);
        json_object_put(root);
}

static void plan_json_unlimited_and_no_quota(void **state) {
        struct fixture *f = *state;
        struct json_object *root, *mounts, *quota;

        name_copy(f->team.plan, "enterprise");
        root = plan_to_json(build(f));
        mounts = member(root, "mounts");
        quota = member(json_object_array_get_idx(mounts, 1), "quota");
        assert_string_equal(member_string(quota, "project"), "team.acme");
        assert_member_null(quota, "soft_bytes");
        assert_member_null(quota, "hard_bytes");
        assert_member_null(quota, "files");
        assert_int_equal(json_object_array_length(member(root, "warnings")), 0);
        json_object_put(root);

        f->config.quota_enforce = QUOTA_OFF;
        root = plan_to_json(build(f));
        mounts = member(root, "mounts");
        assert_member_null(json_object_array_get_idx(mounts, 0), "quota");
        assert_member_null(json_object_array_get_idx(mounts, 1), "quota");
        json_object_put(root);
}

static void plan_json_refused_storage(void **state) {
        struct fixture *f = *state;
        struct json_object *root, *storage;

        name_copy(f->identity.storage_cluster, "west-2");
        root = plan_to_json(build(f));
        assert_string_equal(member_string(root, "storage_cluster"), "west-2");
        storage = json_object_array_get_idx(member(root, "mounts"), 1);
        assert_string_equal(member_string(storage, "status"), "refused");
        assert_string_equal(member_string(storage, "reason"),
                            "storage of cluster west-2 cannot be mounted on a node of cluster east-1; run the notebook on a west-2 node");
        assert_string_equal(member_string(storage, "source"), "/srv/nbmount/storage/west-2/acme");
        json_object_put(root);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
        const struct CMUnitTest tests[] = {
                TEST(member_gets_notebook_and_storage),
                TEST(non_member_every_mount_refused),
                TEST(private_workspace_only_its_member),
                TEST(quota_with_card),
                TEST(quota_unlimited_plan),
                TEST(quota_files),
                TEST(quota_enforce_modes),
                TEST(storage_cluster_annotation),
                TEST(team_without_storage_here),
                TEST(team_dataset),
                TEST(dataset_latest_when_absent),
                TEST(public_dataset),
                TEST(dataset_unknown_id),
                TEST(dataset_unknown_version),
                TEST(s3_with_secret),
                TEST(s3_secret_states),
                TEST(s3_public_bucket),
                TEST(s3_http_endpoint),
                TEST(s3_private_endpoints),
                TEST(s3_http_and_private_first_reason),
                TEST(s3_invalid_endpoint),
                TEST(two_mounts_one_target),
                TEST(target_outside_datasets),
                TEST(checkpoints_warning),
                TEST(no_settings),
                TEST(plan_missing_from_node_config),
                TEST(grants_of_another_team),
                TEST(user_faults_skipped_identity_refused),
                TEST(non_member_not_skipped),
                TEST(settings_problem_no_datasets),
                TEST(display_names),
                TEST(kind_names),
                TEST(plan_json),
                TEST(plan_json_unlimited_and_no_quota),
                TEST(plan_json_refused_storage),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
