/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount offline TEAM NOTEBOOK: the notebook's offline copy in the platform's bucket, from
 * nbmountd's manifest (lib/offline.h): its files, sizes and times, and what was left out and why. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "inputs.h"
#include "offline.h"
#include "util.h"

static const char offline_usage[] =
        "Usage: nbmount offline TEAM NOTEBOOK [--json] [--config FILE]\n"
        "\n"
        "Lists the offline copy of NOTEBOOK of TEAM in the platform's bucket (node.yaml\n"
        "bucket_storage), as nbmountd last made it at the notebook's stop: its state (pending,\n"
        "complete, failed and why), when, the allowance, each file with its size, kind (ipynb,\n"
        "md, git, notebookinclude) and upload time, then each file left out and why (over\n"
        "max_file_size; over the team's free allowance without a card on file).\n"
        "\n"
        "  --config FILE  the node config (default " NODE_CONFIG_DEFAULT_PATH ")\n"
        "  --json         the manifest itself (schemas/offline.schema.json)\n"
        "\n"
        "Exit status: 0 done, 1 no copy of that notebook, 2 invalid config or command line.\n";

struct offline_options {
        const char *config_path, *team, *notebook;
        bool json;
};

static int parse_options(int argc, char **argv, struct offline_options *o) {
        int r;

        *o = (struct offline_options) { .config_path = NODE_CONFIG_DEFAULT_PATH };
        if ((r = parse_listing_options(argc, argv, offline_usage, &o->config_path, &o->json)) <= 0)
                return r;
        if (argc - optind != 2 || name_problem(argv[optind]) || name_problem(argv[optind + 1])) {
                print_error("offline takes a team and a notebook name; see nbmount offline --help");
                return -EINVAL;
        }
        o->team = argv[optind];
        o->notebook = argv[optind + 1];
        return 1;
}

static void print_text(const struct offline_manifest *m) {
        char requested[32] = "-", updated[32] = "-", when[32];

        if (m->requested_at)
                offline_format_time(m->requested_at, requested, sizeof(requested));
        if (m->updated_at)
                offline_format_time(m->updated_at, updated, sizeof(updated));
        printf("offline copy of %s/%s: %s (asked %s, updated %s); %zu files, %" PRIu64 " bytes\n", m->team,
               m->notebook, offline_state_name(m->state), requested, updated, m->n_files, offline_manifest_bytes(m));
        if (m->card_on_file)
                printf("allowance: none (a card on file: usage above the free allowance is billed)\n");
        else
                printf("allowance: %" PRIu64 " bytes (no card on file: the copy never grows past it)\n", m->allowance);
        if (m->error[0])
                printf("error: %s\n", m->error);
        printf("\n%-40s %12s %-15s %s\n", "FILE", "SIZE", "KIND", "UPLOADED");
        for (size_t i = 0; i < m->n_files; i++) {
                offline_format_time(m->files[i].uploaded_at, when, sizeof(when));
                printf("%-40s %12" PRIu64 " %-15s %s\n", m->files[i].path, m->files[i].size,
                       offline_kind_name(m->files[i].kind), when);
        }
        for (size_t i = 0; i < m->n_left; i++)
                printf("%-40s %12" PRIu64 " %-15s left out: %s\n", m->left[i].path, m->left[i].size,
                       offline_kind_name(m->left[i].kind), m->left[i].why);
}

int cmd_offline(int argc, char **argv) {
        struct offline_manifest m = {};
        struct offline_options o;
        struct node_config config;
        struct nb_error err = {};
        int r;

        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? EXIT_INVALID : 0;
        if (node_config_load_path(o.config_path, &config, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        if ((r = offline_manifest_load(config.state_dir, o.team, o.notebook, &m, &err)) < 0) {
                if (r == -ENOENT)
                        print_error("%s/%s has no offline copy on this node yet (none was asked for: %s)", o.team,
                                    o.notebook, config.bucket_name[0] ? "it has not stopped since" : "bucket_storage is off");
                else
                        print_error("%s", err.msg);
                return 1;
        }
        if (o.json) {
                struct json_object *j = offline_manifest_to_json(&m);

                puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(j);
        } else {
                print_text(&m);
        }
        offline_manifest_done(&m);
        return 0;
}
