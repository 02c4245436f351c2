/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount meter: the hour's sample of every project into the ledger, and the Prometheus textfile. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucketusage.h"
#include "commands.h"
#include "grants.h"
#include "inputs.h"
#include "jsonfile.h"
#include "ledger.h"
#include "metrics.h"
#include "mountlist.h"
#include "quotareport.h"
#include "testclock.h"
#include "util.h"

static const char meter_usage[] =
        "Usage: nbmount meter [--textfile DIR] [--config FILE]\n"
        "\n"
        "Samples every team and notebook project of this node (one quota pass per filesystem) and\n"
        "every team's bucket storage (nbmountd's STATE/offline/usage/TEAM.json), and appends one\n"
        "record per project for the current UTC hour to STATE/ledger/YYYY-MM.jsonl: the hour, kind,\n"
        "project, team, notebook, plan, allowance, card on file and bytes used, closed by a commit\n"
        "line. A second run in the same hour appends nothing; a batch torn by a crash is cut off\n"
        "first. `nbmount quota --month` bills the ledger. The systemd timer nbmount-meter.timer\n"
        "runs it hourly.\n"
        "\n"
        "  --textfile DIR  also write DIR/" METRICS_FILE " (Prometheus text format, for node_exporter's\n"
        "                  textfile collector): per project used, soft and hard limit and overage\n"
        "                  bytes, and nbmountd's mounts (health, restarts, containers)\n"
        "  --config FILE   the node config (default " NODE_CONFIG_DEFAULT_PATH ")\n"
        "  --now TIME      for tests only: the hour to record (refused unless NBMOUNT_TEST_CLOCK=1)\n"
        "\n"
        "Exit status: 0 recorded (or already recorded this hour), 1 the ledger or the textfile\n"
        "could not be written, 2 invalid config or command line, or quotas not available here.\n";

struct meter_options {
        const char *config_path, *textfile_dir, *now;
};

static int parse_options(int argc, char **argv, struct meter_options *o) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' }, { "textfile", required_argument, NULL, 't' },
                { "now", required_argument, NULL, 'n' },    { "help", no_argument, NULL, 'h' },
                {},
        };
        int opt;

        *o = (struct meter_options) { .config_path = NODE_CONFIG_DEFAULT_PATH };
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (opt == 'h')
                        return fputs(meter_usage, stdout), 0;
                if (opt == 'c')
                        o->config_path = optarg;
                else if (opt == 't')
                        o->textfile_dir = optarg;
                else if (opt == 'n')
                        o->now = optarg;
                else
                        return fputs(meter_usage, stderr), -EINVAL;
        }
        if (optind < argc) {
                print_error("meter takes no argument \"%s\"; see nbmount meter --help", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* What the meter samples: the quota report's rows, then the teams' buckets. */
struct sample {
        struct quota_row *rows;
        size_t n_rows;
        struct bucket_usage *buckets;
        size_t n_buckets;
        struct ledger_record *records; /* n_rows + n_buckets */
        struct metrics_project *projects;
};

static void sample_done(struct sample *s) {
        free(s->rows);
        free(s->buckets);
        free(s->records);
        free(s->projects);
}

static void record_row(const struct quota_row *row, struct ledger_record *rec, struct metrics_project *p) {
        *rec = (struct ledger_record) { .kind = row->notebook[0] ? LEDGER_NOTEBOOK : LEDGER_TEAM,
                                        .allowance_bytes = row->allowance_bytes,
                                        .card_on_file = row->card_on_file,
                                        .used_bytes = row->used_bytes };
        name_copy(rec->team, row->team);
        memcpy(rec->notebook, row->notebook, sizeof(rec->notebook));
        memcpy(rec->plan, row->plan, sizeof(rec->plan));
        snprintf(rec->project, sizeof(rec->project), "%s", row->project);
        *p = (struct metrics_project) { rec->kind, rec->team, rec->notebook, rec->project, row->used_bytes,
                                        row->allowance_bytes, row->hard_bytes };
}

/* A team's buckets: allowance bucket_storage.free, plan and card from its grants (none known:
 * no plan, no card). */
static void record_bucket(const struct node_config *config, int grants_fd, const struct bucket_usage *usage,
                          struct ledger_record *rec, struct metrics_project *p) {
        struct team_grants grants = {};

        *rec = (struct ledger_record) { .kind = LEDGER_BUCKET,
                                        .allowance_bytes = config->bucket_free_bytes,
                                        .used_bytes = usage->bytes };
        name_copy(rec->team, usage->team);
        snprintf(rec->project, sizeof(rec->project), "bucket.%s", usage->team);
        if (grants_fd >= 0 && grants_load_at(grants_fd, usage->team, &grants, NULL) == 0) {
                name_copy(rec->plan, grants.plan);
                rec->card_on_file = grants.card_on_file;
        }
        team_grants_done(&grants);
        *p = (struct metrics_project) { LEDGER_BUCKET, rec->team, rec->notebook, rec->project, usage->bytes,
                                        config->bucket_free_bytes, NB_SIZE_UNLIMITED };
}

static int take_sample(const struct node_config *config, struct sample *s, struct nb_error *err) {
        _cleanup_close_ int grants_fd = open(config->grants_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct nb_error skip_err = {};
        size_t skipped = 0, n;
        int r;

        if (config->quota_enforce == QUOTA_OFF)
                print_error("quota.enforce is off on this node: its volumes have no project quotas to sample; "
                            "only bucket usage is recorded");
        else if ((r = quota_report(config, NULL, true, &s->rows, &s->n_rows, NULL, err)) < 0)
                return r;
        if ((r = bucket_usage_read_all(config->state_dir, &s->buckets, &s->n_buckets, &skipped, &skip_err)) < 0)
                return nb_fail(err, r, "%s", skip_err.msg);
        if (skipped)
                print_error("%zu bucket usage file(s) left out; the last: %s", skipped, skip_err.msg);
        n = s->n_rows + s->n_buckets;
        s->records = calloc(n ? n : 1, sizeof(*s->records));
        s->projects = calloc(n ? n : 1, sizeof(*s->projects));
        if (!s->records || !s->projects)
                return nb_fail(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < s->n_rows; i++)
                record_row(&s->rows[i], &s->records[i], &s->projects[i]);
        for (size_t i = 0; i < s->n_buckets; i++)
                record_bucket(config, grants_fd, &s->buckets[i], &s->records[s->n_rows + i], &s->projects[s->n_rows + i]);
        return 0;
}

static int write_textfile(const struct node_config *config, const char *dir, const struct sample *s, time_t now) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct json_object *mounts = NULL;
        struct nb_error err = {};

        if (mount_list_fetch(config->mountd_socket, &reply, &mounts, &err) < 0) {
                print_error("%s; the metrics say nbmount_mountd_up 0", err.msg);
                mounts = NULL;
        }
        if (metrics_write_textfile(dir, s->projects, s->n_rows + s->n_buckets, mounts, now, &err) < 0)
                return print_error("%s", err.msg), EXIT_REFUSED;
        return 0;
}

int cmd_meter(int argc, char **argv) {
        _cleanup_free_ struct node_config *config = NULL;
        struct ledger_append_result appended;
        struct sample sample = {};
        struct meter_options o;
        struct nb_error err = {};
        char when[32];
        time_t now;
        int r;

        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? EXIT_INVALID : 0;
        if (testclock_now(o.now, &now, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        if (!(config = malloc(sizeof(*config))))
                return print_error("out of memory"), EXIT_INVALID;
        if (node_config_load_path(o.config_path, config, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        if (take_sample(config, &sample, &err) < 0) {
                sample_done(&sample);
                return print_error("%s", err.msg), EXIT_INVALID;
        }
        ledger_hour_text(now - now % 3600, when);
        r = ledger_append_hour(config->state_dir, now - now % 3600, sample.records, sample.n_rows + sample.n_buckets,
                               &appended, &err);
        if (r < 0)
                print_error("%s", err.msg);
        else if (appended.cut_bytes)
                printf("nbmount meter: %s: cut off a torn batch of %llu bytes at its end\n", appended.path,
                       (unsigned long long) appended.cut_bytes);
        if (r >= 0)
                printf("nbmount meter: %s: %s\n", when,
                       appended.already ? "already recorded; nothing appended" : "recorded");
        if (r >= 0 && !appended.already)
                printf("nbmount meter: %zu records appended to %s\n", appended.appended, appended.path);
        if (o.textfile_dir && write_textfile(config, o.textfile_dir, &sample, now) != 0)
                r = -EIO;
        sample_done(&sample);
        return r < 0 ? EXIT_REFUSED : 0;
}
