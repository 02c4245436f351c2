/* SPDX-License-Identifier: Apache-2.0 */
#include "plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"
#include "s3names.h"
#include "util.h"

static struct plan_mount *add_mount(struct plan *plan, enum mount_kind kind, const char *target, bool readonly) {
        struct plan_mount *m = &plan->mounts[plan->n_mounts++];

        memset(m, 0, sizeof(*m));
        m->kind = kind;
        m->readonly = readonly;
        m->granted = true;
        snprintf(m->target, sizeof(m->target), "%s", target);
        return m;
}

static void refuse(struct plan_mount *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct plan_mount *m, const char *fmt, ...) {
        va_list ap;

        if (!m->granted)
                return; /* the first reason is the one to act on */
        m->granted = false;
        va_start(ap, fmt);
        vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
        va_end(ap);
}

/* ROOT/A/B, or ROOT/A when B is "". */
static void set_source(struct plan_mount *m, const char *root, const char *a, const char *b) {
        int n = snprintf(m->source, sizeof(m->source), "%s/%s%s%s", streq(root, "/") ? "" : root, a, b[0] ? "/" : "", b);

        if (n < 0 || (size_t) n >= sizeof(m->source))
                refuse(m, "the source path under %s is longer than %d bytes; the operator must use a shorter root",
                       root, NB_PATH_MAX);
}

uint64_t plan_hard_limit(const struct node_config *config, uint64_t allowance, bool card_on_file) {
        uint64_t hard = allowance;

        /* with a card on file, the team may go overage_cap above its plan (billed, not blocked) */
        if (allowance != NB_SIZE_UNLIMITED && card_on_file &&
            (config->overage_cap_bytes == NB_SIZE_UNLIMITED ||
             __builtin_add_overflow(allowance, config->overage_cap_bytes, &hard)))
                hard = NB_SIZE_UNLIMITED;
        return hard;
}

static void set_quota(struct plan_mount *m, const struct plan_inputs *in, const char *project, uint64_t allowance,
                      uint64_t files) {
        if (in->config->quota_enforce == QUOTA_OFF)
                return;
        m->has_quota = true;
        snprintf(m->quota.project, sizeof(m->quota.project), "%s", project);
        m->quota.soft_bytes = allowance;
        m->quota.hard_bytes = plan_hard_limit(in->config, allowance, in->team->card_on_file);
        m->quota.files = files; /* not billed: the same limit with or without a card */
}

static void plan_notebook(struct plan *plan, const struct plan_inputs *in, const struct plan_allowance *allowance) {
        struct plan_mount *m = add_mount(plan, MOUNT_NOTEBOOK, "/notebooks", false);
        char project[PLAN_PROJECT_MAX];

        set_source(m, in->config->notebooks_root, plan->team, plan->notebook);
        snprintf(project, sizeof(project), "notebook.%s/%s", plan->team, plan->notebook); /* "/" is in no name: unambiguous */
        set_quota(m, in, project, allowance->notebook_bytes, allowance->notebook_files);
}

static void plan_storage(struct plan *plan, const struct plan_inputs *in, const struct plan_allowance *allowance) {
        struct plan_mount *m = add_mount(plan, MOUNT_STORAGE, "/storage", false);
        char project[PLAN_PROJECT_MAX], clusters[256];

        set_source(m, in->config->storage_root, plan->storage_cluster, plan->team);
        snprintf(project, sizeof(project), "team.%s", plan->team);
        set_quota(m, in, project, allowance->storage_bytes, allowance->storage_files);
        if (!streq(plan->storage_cluster, plan->cluster))
                refuse(m, "storage of cluster %s cannot be mounted on a node of cluster %s; run the notebook on a %s node",
                       plan->storage_cluster, plan->cluster, plan->storage_cluster);
        names_join(in->team->storage_clusters, in->team->n_storage_clusters, clusters, sizeof(clusters));
        if (!grants_has_storage_cluster(in->team, plan->cluster))
                refuse(m, "team %s has no storage on cluster %s (%s%s); ask the control plane to create it there",
                       plan->team, plan->cluster, clusters[0] ? "it has storage on: " : "it has storage on no cluster",
                       clusters);
}

static void plan_dataset(struct plan_mount *m, const struct plan_inputs *in, const struct settings_mount *s) {
        const struct dataset_grant *dataset = grants_find_dataset(in->team, s->dataset_id);
        char versions[256];

        if (!dataset && in->public_datasets)
                dataset = grants_find_dataset(in->public_datasets, s->dataset_id);
        name_copy(m->dataset_id, s->dataset_id);
        name_copy(m->version, s->version[0] ? s->version : dataset ? dataset->latest : "");
        set_source(m, in->config->datasets_root, m->dataset_id, m->version);
        if (!dataset) {
                refuse(m, "dataset %s is neither a dataset of team %s nor a public dataset; check its id in settings.yaml",
                       s->dataset_id, in->team->team);
                return;
        }
        names_join(dataset->versions, dataset->n_versions, versions, sizeof(versions));
        if (!dataset_has_version(dataset, m->version))
                refuse(m, "dataset %s has no version %s (versions: %s)", dataset->id, m->version, versions);
}

static void check_endpoint(struct plan_mount *m, const struct node_config *config, const char *endpoint) {
        char kind_buf[NETADDR_KIND_MAX];
        struct s3_endpoint parsed;
        const char *kind;

        if (!endpoint[0])
                return;
        if (s3_endpoint_split(endpoint, &parsed) < 0) {
                refuse(m, "endpoint %s is not a valid https://HOST[:PORT] endpoint", endpoint);
                return;
        }
        if (!parsed.https && !config->s3_allow_http)
                refuse(m, "endpoint %s is not https; use https, or ask the operator to allow http (s3.allow_http in node.yaml)",
                       endpoint);
        kind = netaddr_host_kind(parsed.host, kind_buf, sizeof(kind_buf));
        if (kind && !config->s3_allow_private_endpoints)
                refuse(m, "endpoint %s is %s; this node refuses endpoints that are not globally reachable (s3.allow_private_endpoints in node.yaml)",
                       endpoint, kind);
}

static void check_secret(struct plan_mount *m, const struct plan_inputs *in, const struct settings_mount *s,
                         enum secret_state state) {
        const char *team = in->team->team;

        if (!s->secret_name[0])
                return;
        if (state == SECRET_MISSING)
                refuse(m, "secret %s is not a secret of team %s; add it with the control plane (it must exist as %s/%s/%s)",
                       s->secret_name, team, in->config->secrets_dir, team, s->secret_name);
        else if (state == SECRET_NOT_A_FILE)
                refuse(m, "secret %s of team %s is not a regular file (%s/%s/%s); the operator must replace it with a file",
                       s->secret_name, team, in->config->secrets_dir, team, s->secret_name);
        else if (state == SECRET_UNSAFE)
                refuse(m, "secret %s of team %s must be owned by root with mode 0600 or 0400; the operator must run chown root: %s/%s/%s && chmod 600 %s/%s/%s",
                       s->secret_name, team, in->config->secrets_dir, team, s->secret_name, in->config->secrets_dir,
                       team, s->secret_name);
}

static void plan_s3(struct plan_mount *m, const struct plan_inputs *in, const struct settings_mount *s,
                    enum secret_state secret) {
        m->s3 = s;
        snprintf(m->source, sizeof(m->source), "s3://%s%s%s", s->bucket, s->prefix[0] ? "/" : "", s->prefix);
        check_secret(m, in, s, secret);
        check_endpoint(m, in->config, s->endpoint);
}

static const char *target_problem(const char *target) {
        const char *name = target + strlen("/datasets/");

        if (strncmp(target, "/datasets/", strlen("/datasets/")) != 0 || name_problem(name))
                return "is not a folder directly under /datasets/";
        return NULL;
}

void plan_display_name(const char *name, char *buf, size_t size) {
        size_t n = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        text_append_shown(buf, size, &n, name, " /");
        if (streq(buf, "") || streq(buf, ".") || streq(buf, ".."))
                snprintf(buf, size, "?");
}

/* An entry that cannot be read: shown, never mounted. */
static struct plan_mount *plan_faulty_mount(struct plan *plan, const struct settings_mount *s) {
        char target[PLAN_TARGET_MAX], name[NB_NAME_MAX + 1];
        struct plan_mount *m;

        plan_display_name(s->name, name, sizeof(name));
        snprintf(target, sizeof(target), "/datasets/%s", name);
        m = add_mount(plan, MOUNT_INVALID, target, true);
        snprintf(m->source, sizeof(m->source), "settings.yaml:%u:%u", s->line, s->column);
        refuse(m, "%s", s->fault);
        return m;
}

static void plan_settings_mount(struct plan *plan, const struct plan_inputs *in, size_t index) {
        const struct settings_mount *s = &in->settings->mounts[index];
        char target[PLAN_TARGET_MAX];
        struct plan_mount *m;
        const char *problem;

        if (s->fault[0]) {
                plan_faulty_mount(plan, s)->skipped = in->config->settings_on_error == ON_ERROR_SKIP;
                return;
        }
        snprintf(target, sizeof(target), "/datasets/%s", s->name);
        m = add_mount(plan, s->type == SETTINGS_DATASET ? MOUNT_DATASET : MOUNT_S3, target,
                      s->type == SETTINGS_DATASET || !s->writable);
        if (s->type == SETTINGS_DATASET)
                plan_dataset(m, in, s);
        else
                plan_s3(m, in, s, in->secret_states ? in->secret_states[index] : SECRET_MISSING);
        if ((problem = target_problem(m->target)))
                refuse(m, "target %s %s", m->target, problem);
        for (size_t i = 0; i + 1 < plan->n_mounts; i++)
                if (streq(plan->mounts[i].target, m->target))
                        refuse(m, "target %s is already used by another mount; give each mount its own name",
                               m->target);
        /* what the notebook asked for: without it, the container can still start */
        m->skipped = !m->granted && in->config->settings_on_error == ON_ERROR_SKIP;
}

static void add_warning(struct plan *plan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(struct plan *plan, const char *fmt, ...) {
        va_list ap;

        if (plan->n_warnings >= PLAN_MAX_WARNINGS)
                return;
        va_start(ap, fmt);
        vsnprintf(plan->warnings[plan->n_warnings++], PLAN_REASON_MAX, fmt, ap);
        va_end(ap);
}

static void refuse_all_for_non_member(struct plan *plan, const struct plan_inputs *in) {
        if (grants_has_member(in->team, plan->user))
                return;
        for (size_t i = 0; i < plan->n_mounts; i++) {
                plan->mounts[i].granted = true; /* this reason comes first: it is the one to act on */
                plan->mounts[i].skipped = false;
                plan->mounts[i].reason[0] = '\0';
                refuse(&plan->mounts[i], "user %s is not a member of team %s; ask the team's admin to add %s",
                       plan->user, plan->team, plan->user);
        }
}

static void fill_identity(struct plan *plan, const struct plan_inputs *in) {
        const struct container_identity *id = in->identity;

        memset(plan, 0, offsetof(struct plan, mounts)); /* the mounts are cleared one by one as they are added */
        plan->n_warnings = 0;
        plan->settings_problem[0] = '\0';
        name_copy(plan->team, id->team);
        name_copy(plan->notebook, id->notebook);
        name_copy(plan->user, id->user);
        name_copy(plan->cluster, in->config->cluster);
        name_copy(plan->storage_cluster, id->storage_cluster[0] ? id->storage_cluster : in->config->cluster);
        name_copy(plan->plan_name, in->team->plan);
        plan->card_on_file = in->team->card_on_file;
}

int plan_build(const struct plan_inputs *in, struct plan *ret, struct nb_error *err) {
        const struct plan_allowance *allowance = node_config_find_plan(in->config, in->team->plan);

        if (!streq(in->team->team, in->identity->team))
                return nb_fail(err, EINVAL, "grants are for team %s, not for the container's team %s", in->team->team,
                               in->identity->team);
        if (!allowance)
                return nb_fail(err, EINVAL,
                               "team %s is on plan \"%s\", which the node config does not define; add it under \"plans\" in node.yaml",
                               in->team->team, in->team->plan);
        fill_identity(ret, in);
        plan_notebook(ret, in, allowance);
        plan_storage(ret, in, allowance);
        if (in->settings_problem)
                snprintf(ret->settings_problem, sizeof(ret->settings_problem), "%s", in->settings_problem);
        for (size_t i = 0; in->settings && !in->settings_problem && i < in->settings->n_mounts; i++)
                plan_settings_mount(ret, in, i);
        refuse_all_for_non_member(ret, in);
        if (in->notebook_has_checkpoints)
                add_warning(ret, "the notebook has a folder named checkpoints, which Jupyter reserves; rename it");
        return 0;
}

bool plan_all_granted(const struct plan *plan) {
        for (size_t i = 0; i < plan->n_mounts; i++)
                if (!plan->mounts[i].granted)
                        return false;
        return !plan->settings_problem[0];
}

const struct plan_mount *plan_first_refusal(const struct plan *plan) {
        for (size_t i = 0; i < plan->n_mounts; i++)
                if (!plan->mounts[i].granted && !plan->mounts[i].skipped && !plan->mounts[i].pending)
                        return &plan->mounts[i];
        return NULL;
}

const char *mount_kind_name(enum mount_kind kind) {
        static const char *const names[] = { "notebook", "storage", "dataset", "s3", "invalid" };

        return names[kind];
}

const char *plan_mount_status(const struct plan_mount *m) {
        return m->granted ? "granted" : m->skipped ? "skipped" : m->pending ? "pending" : "refused";
}
