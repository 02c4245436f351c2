/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount quota: who uses what, and what it costs; nbmount quota apply: re-apply a team's plan. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "grants.h"
#include "inputs.h"
#include "plan.h"
#include "quota.h"
#include "quotareport.h"
#include "quotasync.h"
#include "quotatree.h"
#include "quotawatch.h"
#include "safeopen.h"
#include "testclock.h"
#include "util.h"

static const char quota_usage[] =
        "Usage: nbmount quota [TEAM] [--notebooks] [--json] [--config FILE]\n"
        "       nbmount quota --month YYYY-MM [TEAM] [--json] [--config FILE]\n"
        "       nbmount quota apply TEAM [--config FILE]\n"
        "       nbmount quota sync [--watch [--interval MINUTES]] [--config FILE]\n"
        "\n"
        "Lists every project of this node's storage filesystem (and, with --notebooks, every\n"
        "notebook's): team, notebook, plan, card on file, project id, bytes used, files used and\n"
        "the plan's file limit, the plan's allowance, the hard limit, bytes over the plan and what\n"
        "they cost a month at billing.price_per_gb_month (1 GB = 10^9 bytes). One quotactl pass\n"
        "per filesystem.\n"
        "`apply TEAM` sets the team's storage and notebook quotas to its current plan at once\n"
        "(otherwise a plan change takes effect at the next container start), walks each folder's\n"
        "whole tree, puts back in the project every folder and file that left it, prints what it\n"
        "repaired, and stamps the folder (the next start need not walk it).\n"
        "`sync` runs on the storage server whose filesystem the nodes mount over NFS: every team\n"
        "folder of the cluster and every notebook folder in its project with its plan's limits\n"
        "from the grants folder (a team without a plan here is frozen at 1 KiB and 1 file). With\n"
        "--watch it goes on: a new folder or a grants change is applied at once (inotify), and a\n"
        "full pass runs every --interval minutes (default 10); it writes STATE/quota-sync.status.\n"
        "`--month YYYY-MM` bills a month from the ledger that `nbmount meter` keeps: per team (its\n"
        "volumes: the team's storage and each notebook against its own allowance, summed; its\n"
        "buckets on a line of their own) the hours sampled, the hours missing (named, never filled\n"
        "in), the hours over, GB-hours above the allowance and the charge: the sum over sampled\n"
        "hours of what each project used above its allowance in GB, times the price, divided by\n"
        "the hours of the month (UTC), with the plan and card of each hour. A team without a card\n"
        "is capped: those hours accrue nothing.\n"
        "\n"
        "  --json  the rows as JSON (schemas/quota.schema.json; with --month schemas/bill.schema.json)\n"
        "\n"
        "Exit status: 0 done, 1 sync: some folders could not be set (the last reason on stderr),\n"
        "2 invalid input or config, or quotas not available here.\n";

struct quota_options {
        const char *config_path, *team, *month, *now;
        bool notebooks, json, apply, sync, watch;
        unsigned interval_minutes;
};

static int parse_interval(const char *text, unsigned *ret) {
        char *end;
        unsigned long minutes = strtoul(text, &end, 10);

        if (end == text || *end || minutes < 1 || minutes > 1440) {
                print_error("--interval \"%.32s\" must be a whole number of minutes from 1 to 1440", text);
                return -EINVAL;
        }
        *ret = (unsigned) minutes;
        return 0;
}

/* One option's value into *o; -EINVAL for an unknown option or a bad value. */
static int set_option(struct quota_options *o, int opt, const char *value) {
        if (opt == 'c')
                o->config_path = value;
        else if (opt == 'n')
                o->notebooks = true;
        else if (opt == 'j')
                o->json = true;
        else if (opt == 'w')
                o->watch = true;
        else if (opt == 'm')
                o->month = value;
        else if (opt == 'N')
                o->now = value;
        else if (opt == 'i')
                return parse_interval(value, &o->interval_minutes);
        else
                return fputs(quota_usage, stderr), -EINVAL;
        return 0;
}

/* Returns 1 to go on, 0 after --help, -EINVAL on a usage error. */
static int parse_options(int argc, char **argv, struct quota_options *o) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' }, { "notebooks", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
                { "watch", no_argument, NULL, 'w' },        { "interval", required_argument, NULL, 'i' },
                { "month", required_argument, NULL, 'm' },  { "now", required_argument, NULL, 'N' },
                {},
        };
        int opt;

        *o = (struct quota_options) { .config_path = NODE_CONFIG_DEFAULT_PATH, .interval_minutes = 10 };
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (opt == 'h')
                        return fputs(quota_usage, stdout), 0;
                if (set_option(o, opt, optarg) < 0)
                        return -EINVAL;
        }
        if (optind < argc && streq(argv[optind], "apply")) {
                o->apply = true;
                optind++;
        } else if (optind < argc && streq(argv[optind], "sync")) {
                o->sync = true;
                optind++;
                if (optind < argc) {
                        print_error("quota sync takes no TEAM: it keeps every folder; see nbmount quota --help");
                        return -EINVAL;
                }
        }
        if (optind < argc)
                o->team = argv[optind++];
        if (optind < argc || (o->apply && !o->team)) {
                print_error("quota takes at most one TEAM (apply needs one); see nbmount quota --help");
                return -EINVAL;
        }
        if (o->now && !o->month) {
                print_error("--now (tests only) goes with --month; see nbmount quota --help");
                return -EINVAL;
        }
        if (o->month && (o->apply || o->sync || o->notebooks)) {
                print_error("--month takes no apply, sync or --notebooks; see nbmount quota --help");
                return -EINVAL;
        }
        if (o->team && name_problem(o->team)) {
                print_error("team \"%.64s\" %s", o->team, name_problem(o->team));
                return -EINVAL;
        }
        return 1;
}

/* A JSON string of a name or project (no character needs escaping: names are checked), or null for "". */
static void put_string_or_null(FILE *out, const char *key, const char *value) {
        fprintf(out, value[0] ? ", \"%s\": \"%s\"" : ", \"%s\": null", key, value);
}

static void put_bytes_or_null(FILE *out, const char *key, uint64_t bytes) {
        if (bytes == NB_SIZE_UNLIMITED)
                fprintf(out, ", \"%s\": null", key);
        else
                fprintf(out, ", \"%s\": %llu", key, (unsigned long long) bytes);
}

/* One row as json-c printed it (JSON_C_TO_STRING_SPACED), written straight out: building 10,000
 * json-c objects cost more than the quotactl pass. */
static void put_row(FILE *out, const struct quota_row *row) {
        fprintf(out, "{ \"team\": \"%s\"", row->team);
        put_string_or_null(out, "notebook", row->notebook);
        put_string_or_null(out, "plan", row->plan);
        fprintf(out, ", \"card_on_file\": %s, \"project\": \"%s\"", row->card_on_file ? "true" : "false",
                row->project);
        if (row->id)
                fprintf(out, ", \"project_id\": %u", row->id);
        else
                fputs(", \"project_id\": null", out);
        fprintf(out, ", \"used_bytes\": %llu, \"used_files\": %llu", (unsigned long long) row->used_bytes,
                (unsigned long long) row->used_files);
        put_bytes_or_null(out, "file_limit", row->file_limit);
        put_bytes_or_null(out, "allowance_bytes", row->allowance_bytes);
        put_bytes_or_null(out, "hard_bytes", row->hard_bytes);
        fprintf(out, ", \"over_bytes\": %llu, \"overage_per_month\": %.2f }", (unsigned long long) row->over_bytes,
                row->overage_per_month);
}

/* "12/915527", "12/unlimited" */
static void format_files(const struct quota_row *r, char *buf, size_t size) {
        if (r->file_limit == NB_SIZE_UNLIMITED)
                snprintf(buf, size, "%llu/unlimited", (unsigned long long) r->used_files);
        else
                snprintf(buf, size, "%llu/%llu", (unsigned long long) r->used_files, (unsigned long long) r->file_limit);
}

static void put_table_row(FILE *out, const struct quota_row *r) {
        char used[32], allowance[32], hard[32], over[32], files[48], id[16];

        size_format(r->used_bytes, used, sizeof(used));
        size_format(r->allowance_bytes, allowance, sizeof(allowance));
        size_format(r->hard_bytes, hard, sizeof(hard));
        size_format(r->over_bytes, over, sizeof(over));
        format_files(r, files, sizeof(files));
        snprintf(id, sizeof(id), "%u", r->id);
        fprintf(out, "%-20s %-16s %-10s %-4s %10s %12s %20s %12s %12s %12s %10.2f\n", r->team,
                r->notebook[0] ? r->notebook : "-", r->plan[0] ? r->plan : "?", r->card_on_file ? "yes" : "no",
                r->id ? id : "-", used, files, allowance, hard, over, r->overage_per_month);
}

/* The report as its rows come (quota_report_each): JSON one row a line, or the table. The strings
 * are names (checked when the rows were made: a project whose name is not "team.NAME" or
 * "notebook.NAME/NAME" is no row), so nothing needs escaping. */
struct printer {
        FILE *out;
        bool json;
        const char *network; /* set by quota_report_each() before the first row */
        size_t n;
};

static void print_head(const struct printer *p) {
        if (p->json && p->network)
                fprintf(p->out, "{\"seen_through\": \"%s\", \"projects\": [", p->network);
        else if (p->json)
                fputs("{\"projects\": [", p->out);
        else
                fprintf(p->out, "%-20s %-16s %-10s %-4s %10s %12s %20s %12s %12s %12s %10s\n", "TEAM", "NOTEBOOK", "PLAN",
                        "CARD", "PROJECT", "USED", "FILES", "ALLOWANCE", "HARD", "OVER", "$/MONTH");
}

static int print_row(void *userdata, const struct quota_row *row) {
        struct printer *p = userdata;

        if (p->n++ == 0)
                print_head(p);
        if (p->json) {
                fputs(p->n > 1 ? ",\n  " : "\n  ", p->out);
                put_row(p->out, row);
        } else {
                put_table_row(p->out, row);
        }
        return 0;
}

static void print_tail(const struct printer *p) {
        if (p->n == 0)
                print_head(p);
        if (p->json)
                fputs(p->n ? "\n]}\n" : "]}\n", p->out);
        else if (p->network)
                fprintf(p->out, "Seen through %s from this node: use as the storage server's project quotas report it (statfs on each folder); its nbmount quota has the project ids.\n",
                        p->network);
}

/* The report through a stream of its own with a 64 KiB buffer: stdout writes 4 KiB at a time
 * (glibc ignores setvbuf's size when it allocates the buffer), 660 writes for 10,000 rows in JSON. */
static int print_report(const struct node_config *config, const struct quota_options *o) {
        char buffer[1 << 16];
        int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        struct printer p = { .out = fd >= 0 ? fdopen(fd, "w") : NULL, .json = o->json };
        struct nb_error err = {};
        int r;

        if (!p.out) {
                print_error("stdout: %s", strerror(errno));
                if (fd >= 0)
                        close(fd);
                return EXIT_INVALID;
        }
        setvbuf(p.out, buffer, _IOFBF, sizeof(buffer));
        r = quota_report_each(config, o->team, o->notebooks, print_row, &p, &p.network, &err);
        if (r >= 0)
                print_tail(&p);
        if (fclose(p.out) != 0 && r >= 0)
                return print_error("stdout: %s", strerror(errno)), EXIT_INVALID;
        return r < 0 ? (print_error("%s", err.msg), EXIT_INVALID) : 0;
}

/* Sets the quota of ROOT/A/B to the plan, when that folder exists. */
static int apply_folder(const char *root, const char *a, const char *b, const struct plan_quota *quota,
                        struct nb_error *err) {
        _cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
        char relative[2 * NB_NAME_MAX + 2], path[NB_PATH_MAX + sizeof(relative) + 2], what[256];
        const struct quota_enforce_request req = { .enforce = QUOTA_REQUIRED, .guarded = true, .full_walk = true };
        struct quota_walk walk = {};

        snprintf(relative, sizeof(relative), "%s/%s", a, b);
        snprintf(path, sizeof(path), "%s/%s", root, relative);
        if (root_fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", root, strerror(errno));
        fd = openat_beneath(root_fd, relative, O_PATH | O_DIRECTORY, RESOLVE_NO_XDEV);
        if (fd == -ENOENT)
                return 0; /* not used yet: the first start sets it */
        if (fd < 0)
                return nb_fail(err, fd, "%s: cannot open: %s", path, strerror(-fd));
        if (quota_enforce_plan(fd, path, quota, &req, &walk, NULL, err) < 0)
                return -EINVAL;
        quota_walk_describe(&walk, what, sizeof(what));
        printf("%s: %s set; %s; %s%s%s\n", path, quota->project, what, walk.stamped ? "stamped" : "not stamped",
               walk.unstamped[0] ? ": " : "", walk.unstamped);
        return 0;
}

static int apply_notebooks(const struct node_config *config, const char *team, const struct plan_allowance *plan,
                           bool card, struct nb_error *err) {
        _cleanup_close_ int team_fd = -1;
        char root[NB_PATH_MAX + 1];
        DIR *dir;
        struct dirent *entry;
        int r = 0;

        team_fd = open_beneath(config->notebooks_root, team, O_RDONLY | O_DIRECTORY, NULL);
        if (team_fd < 0)
                return 0; /* no notebook yet */
        if (!(dir = fdopendir(TAKE_FD(team_fd))))
                return nb_fail(err, errno, "%s/%s: %s", config->notebooks_root, team, strerror(errno));
        snprintf(root, sizeof(root), "%s", config->notebooks_root);
        while (r >= 0 && (entry = readdir(dir))) {
                struct plan_quota quota = { .soft_bytes = plan->notebook_bytes, .files = plan->notebook_files };

                nb_name notebook;

                if (name_problem(entry->d_name))
                        continue; /* ".", "..", and nothing nbmount would have made */
                name_copy(notebook, entry->d_name);
                snprintf(quota.project, sizeof(quota.project), "notebook.%s/%s", team, notebook);
                quota.hard_bytes = plan_hard_limit(config, plan->notebook_bytes, card);
                r = apply_folder(root, team, notebook, &quota, err);
        }
        closedir(dir);
        return r;
}

static int apply_team(const struct node_config *config, const char *team, struct nb_error *err) {
        struct team_grants grants = {};
        const struct plan_allowance *plan;
        struct plan_quota storage = {};
        int r;

        if ((r = load_team_grants(config, team, &grants, err)) < 0)
                return r;
        plan = node_config_find_plan(config, grants.plan);
        if (!plan) {
                nb_fail(err, EINVAL, "team %s is on plan \"%s\", which the node config does not define", team, grants.plan);
                team_grants_done(&grants);
                return -EINVAL;
        }
        snprintf(storage.project, sizeof(storage.project), "team.%s", team);
        storage.soft_bytes = plan->storage_bytes;
        storage.files = plan->storage_files;
        storage.hard_bytes = plan_hard_limit(config, plan->storage_bytes, grants.card_on_file);
        r = apply_folder(config->storage_root, config->cluster, team, &storage, err);
        if (r >= 0)
                r = apply_notebooks(config, team, plan, grants.card_on_file, err);
        team_grants_done(&grants);
        return r;
}

static void print_line(void *userdata, const char *line) {
        (void) userdata;
        printf("nbmount quota sync: %s\n", line);
        fflush(stdout);
}

/* One pass, or the watch; the sync's lock keeps a second one from running beside it. */
static int quota_sync(const struct node_config *config, const struct quota_options *o) {
        _cleanup_(quota_syncer_freep) struct quota_syncer *syncer = NULL;
        struct quota_sync_stats stats = {};
        struct nb_error err = {};
        int lock_fd = quota_sync_lock(config, &err);
        char counts[160];

        if (lock_fd < 0 || quota_syncer_open(config, lock_fd, &syncer, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        if (o->watch)
                return quota_watch(syncer, config, o->interval_minutes * 60, print_line, NULL, &err) < 0
                               ? (print_error("%s", err.msg), EXIT_INVALID)
                               : 0;
        if (quota_sync_all(syncer, &stats, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        quota_sync_describe(&stats, counts, sizeof(counts));
        printf("nbmount quota sync: %s\n", counts);
        if (stats.failed)
                return print_error("%s", err.msg), 1;
        return 0;
}

int cmd_quota(int argc, char **argv) {
        _cleanup_free_ struct node_config *config = NULL;
        struct quota_options o;
        struct nb_error err = {};
        int r;

        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? EXIT_INVALID : 0;
        if (!(config = malloc(sizeof(*config))))
                return print_error("out of memory"), EXIT_INVALID;
        if (node_config_load_path(o.config_path, config, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        if (o.sync)
                return quota_sync(config, &o);
        if (o.month) {
                time_t now;

                if (testclock_now(o.now, &now, &err) < 0)
                        return print_error("%s", err.msg), EXIT_INVALID;
                return quota_month(config, o.month, o.team, o.json, now);
        }
        if (o.apply)
                return apply_team(config, o.team, &err) < 0 ? (print_error("%s", err.msg), EXIT_INVALID) : 0;
        return print_report(config, &o);
}
