/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount plan: what would this notebook container mount, and why not? */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "inputs.h"
#include "planjson.h"
#include "util.h"

static const char plan_usage[] =
        "Usage: nbmount plan [--config FILE] [--json] --bundle DIR\n"
        "       nbmount plan [--config FILE] [--json] --team TEAM --notebook NOTEBOOK --user USER\n"
        "                    [--storage-cluster CLUSTER]\n"
        "\n"
        "Shows every mount the container would get (/notebooks, /storage, /datasets/NAME) with its\n"
        "source, mode and quota, or the reason it is refused. Nothing is mounted.\n"
        "\n"
        "  --bundle DIR             read the identity from the annotations of DIR/config.json\n"
        "  --team, --notebook, --user, --storage-cluster\n"
        "                           give the identity directly\n"
        "  --config FILE            the node config (default " NODE_CONFIG_DEFAULT_PATH ")\n"
        "  --json                   print the plan as JSON (schemas/plan.schema.json)\n"
        "\n"
        "Exit status: 0 every mount granted, 1 a mount refused, 2 invalid input or config.\n";

struct plan_options {
        const char *config_path, *bundle;
        struct container_identity identity;
        bool json, have_identity_flags;
};

static int set_identity_field(nb_name field, const char *flag, const char *value) {
        const char *problem = name_problem(value);

        if (problem) {
                print_error("--%s \"%.64s\" %s", flag, value, problem);
                return -EINVAL;
        }
        name_copy(field, value);
        return 0;
}

static int parse_identity_option(struct plan_options *o, int opt, const char *value) {
        o->have_identity_flags = true;
        switch (opt) {
        case 't':
                return set_identity_field(o->identity.team, "team", value);
        case 'n':
                return set_identity_field(o->identity.notebook, "notebook", value);
        case 'u':
                return set_identity_field(o->identity.user, "user", value);
        default:
                return set_identity_field(o->identity.storage_cluster, "storage-cluster", value);
        }
}

/* Returns 1 to go on, 0 after --help, -EINVAL on a usage error. */
static int parse_options(int argc, char **argv, struct plan_options *o) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },   { "bundle", required_argument, NULL, 'b' },
                { "team", required_argument, NULL, 't' },     { "notebook", required_argument, NULL, 'n' },
                { "user", required_argument, NULL, 'u' },     { "storage-cluster", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },           { "help", no_argument, NULL, 'h' },
                {},
        };
        int opt;

        *o = (struct plan_options) { .config_path = NODE_CONFIG_DEFAULT_PATH };
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (opt == 'h')
                        return fputs(plan_usage, stdout), 0;
                if (opt == 'c')
                        o->config_path = optarg;
                else if (opt == 'b')
                        o->bundle = optarg;
                else if (opt == 'j')
                        o->json = true;
                else if (strchr("tnus", opt) && opt) {
                        if (parse_identity_option(o, opt, optarg) < 0)
                                return -EINVAL;
                } else
                        return fputs(plan_usage, stderr), -EINVAL;
        }
        if (optind != argc || !!o->bundle == o->have_identity_flags ||
            (!o->bundle && (!o->identity.team[0] || !o->identity.notebook[0] || !o->identity.user[0]))) {
                print_error("plan needs either --bundle DIR or --team, --notebook and --user; see nbmount plan --help");
                return -EINVAL;
        }
        return 1;
}

static void format_quota(const struct plan_mount *m, char *buf, size_t size) {
        char soft[32], hard[32];

        if (!m->has_quota) {
                snprintf(buf, size, "-");
                return;
        }
        size_format(m->quota.soft_bytes, soft, sizeof(soft));
        size_format(m->quota.hard_bytes, hard, sizeof(hard));
        if (m->quota.files == NB_SIZE_UNLIMITED)
                snprintf(buf, size, "%s/%s, unlimited files", soft, hard);
        else
                snprintf(buf, size, "%s/%s, %llu files", soft, hard, (unsigned long long) m->quota.files);
}

struct table_widths {
        int target, kind, source, quota;
};

static struct table_widths measure(const struct plan *plan) {
        struct table_widths w = { (int) strlen("TARGET"), (int) strlen("KIND"), (int) strlen("SOURCE"),
                                  (int) strlen("QUOTA") };
        char quota[128];

        for (size_t i = 0; i < plan->n_mounts; i++) {
                const struct plan_mount *m = &plan->mounts[i];

                format_quota(m, quota, sizeof(quota));
                w.target = MAX(w.target, (int) strlen(m->target));
                w.kind = MAX(w.kind, (int) strlen(mount_kind_name(m->kind)));
                w.source = MAX(w.source, (int) strlen(m->source));
                w.quota = MAX(w.quota, (int) strlen(quota));
        }
        return w;
}

static void print_table(const struct plan *plan, const struct node_config *config) {
        struct table_widths w = measure(plan);
        char quota[128];

        printf("team %s, notebook %s, user %s, node cluster %s, plan %s (%s), quota %s, settings errors: %s\n",
               plan->team, plan->notebook, plan->user, plan->cluster, plan->plan_name,
               plan->card_on_file ? "card on file" : "no card on file", quota_enforce_name(config->quota_enforce),
               settings_on_error_name(config->settings_on_error));
        printf("%-*s  %-*s  %-*s  %-4s  %-*s  %-7s  %s\n", w.target, "TARGET", w.kind, "KIND", w.source, "SOURCE",
               "MODE", w.quota, "QUOTA", "STATUS", "REASON");
        for (size_t i = 0; i < plan->n_mounts; i++) {
                const struct plan_mount *m = &plan->mounts[i];

                format_quota(m, quota, sizeof(quota));
                printf("%-*s  %-*s  %-*s  %-4s  %-*s  %s%s%s\n", w.target, m->target, w.kind,
                       mount_kind_name(m->kind), w.source, m->source, m->readonly ? "ro" : "rw", w.quota, quota,
                       plan_mount_status(m), m->granted ? "" : "  ", m->granted ? "" : m->reason);
        }
        if (plan->settings_problem[0])
                printf("settings.yaml skipped: %s\n", plan->settings_problem);
        for (size_t i = 0; i < plan->n_warnings; i++)
                printf("warning: %s\n", plan->warnings[i]);
}

static int print_json(const struct plan *plan) {
        struct json_object *json = plan_to_json(plan);

        if (!json)
                return -ENOMEM;
        puts(json_object_to_json_string_ext(json, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(json);
        return 0;
}

struct plan_run {
        struct node_config config;
        struct gathered_inputs inputs;
        struct plan plan;
};

static struct plan_run *plan_run_new(void) {
        struct plan_run *run = malloc(sizeof(*run)); /* the plan and the settings stay untouched until filled */

        if (run)
                gathered_inputs_init(&run->inputs);
        return run;
}

static void plan_run_free(struct plan_run **run) {
        if (*run)
                gathered_inputs_done(&(*run)->inputs);
        free(*run);
}

static int load_bundle_identity(const char *bundle, struct container_identity *ret, struct nb_error *err) {
        struct oci_config config;
        int r = oci_config_load_bundle(bundle, &config, err);

        if (r == 0)
                *ret = config.identity;
        return r;
}

int cmd_plan(int argc, char **argv) {
        _cleanup_(plan_run_free) struct plan_run *run = plan_run_new();
        struct plan_options o;
        struct nb_error err = {};
        int r;

        if (!run)
                return print_error("out of memory"), EXIT_INVALID;
        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? EXIT_INVALID : 0;
        if (node_config_load_path(o.config_path, &run->config, &err) < 0 ||
            (o.bundle && load_bundle_identity(o.bundle, &o.identity, &err) < 0) ||
            plan_from_files(&run->config, &o.identity, &run->inputs, &run->plan, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        if (o.json)
                print_json(&run->plan);
        else
                print_table(&run->plan, &run->config);
        return plan_all_granted(&run->plan) ? 0 : EXIT_REFUSED;
}
