/* SPDX-License-Identifier: Apache-2.0 */
/* Writes ledger batches through the ledger's own writer (lib/ledger.h), for tests/meter-check.sh and
 * bench/meter.sh: the hours of a test clock without a quota pass (the host kernel has none).
 *   ledger-gen STATE_DIR < SCENARIO
 *     each line: HOUR KIND TEAM NOTEBOOK PLAN ALLOWANCE CARD USED, e.g.
 *     2026-12-01T00:00:00Z team acme - pro 15000000000 1 20000000000
 *     (NOTEBOOK, PLAN "-" for none; ALLOWANCE "unlimited"; CARD 0 or 1); the lines of one hour,
 *     one after the other, are its batch; prints "HOUR appended N" or "HOUR already".
 *   ledger-gen --synthetic STATE_DIR YYYY-MM PROJECTS [HOURS]
 *     the first HOURS (default all) hours of the month, PROJECTS team projects t0, t1, ... each
 *     hour: plan pro (15 GB), a card, t<i> using (i % 40) GB. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger.h"
#include "util.h"

static int append(const char *state, time_t hour, const struct ledger_record *records, size_t n) {
        struct ledger_append_result result;
        struct nb_error err = {};
        char when[32];

        ledger_hour_text(hour, when);
        if (ledger_append_hour(state, hour, records, n, &result, &err) < 0) {
                fprintf(stderr, "ledger-gen: %s\n", err.msg);
                return 1;
        }
        printf("%s %s %zu\n", when, result.already ? "already" : "appended", result.appended);
        return 0;
}

static int synthetic(const char *state, const char *month, size_t projects, unsigned hours) {
        struct ledger_record *records = calloc(projects, sizeof(*records));
        struct tm tm = {};
        int year, mon, rc = 0;

        if (!records || ledger_parse_month(month, &year, &mon) < 0)
                return 2;
        tm.tm_year = year - 1900;
        tm.tm_mon = mon - 1;
        tm.tm_mday = 1;
        if (!hours || hours > ledger_month_hours(year, mon))
                hours = ledger_month_hours(year, mon);
        for (size_t i = 0; i < projects; i++) {
                records[i] = (struct ledger_record) { .kind = LEDGER_TEAM, .allowance_bytes = 15000000000ULL,
                                                      .card_on_file = true, .used_bytes = (i % 40) * 1000000000ULL };
                snprintf(records[i].team, sizeof(records[i].team), "t%zu", i);
                snprintf(records[i].project, sizeof(records[i].project), "team.t%zu", i);
                name_copy(records[i].plan, "pro");
        }
        for (unsigned h = 0; h < hours && rc == 0; h++)
                rc = append(state, timegm(&tm) + (time_t) h * 3600, records, projects);
        free(records);
        return rc;
}

static int parse_line(char *line, time_t *ret_hour, struct ledger_record *rec) {
        char when[32], kind[16], team[65], notebook[65], plan[65], allowance[32];
        unsigned long long used;
        int card;
        struct tm tm = {};

        if (sscanf(line, "%31s %15s %64s %64s %64s %31s %d %llu", when, kind, team, notebook, plan, allowance, &card,
                   &used) != 8 ||
            !strptime(when, "%Y-%m-%dT%H:%M:%SZ", &tm))
                return -EINVAL;
        *ret_hour = timegm(&tm);
        *rec = (struct ledger_record) { .kind = streq(kind, "team") ? LEDGER_TEAM
                                                : streq(kind, "notebook") ? LEDGER_NOTEBOOK
                                                                          : LEDGER_BUCKET,
                                        .card_on_file = card == 1,
                                        .used_bytes = used };
        rec->allowance_bytes = streq(allowance, "unlimited") ? NB_SIZE_UNLIMITED : strtoull(allowance, NULL, 10);
        snprintf(rec->team, sizeof(rec->team), "%s", team);
        snprintf(rec->notebook, sizeof(rec->notebook), "%s", streq(notebook, "-") ? "" : notebook);
        snprintf(rec->plan, sizeof(rec->plan), "%s", streq(plan, "-") ? "" : plan);
        if (rec->kind == LEDGER_NOTEBOOK)
                snprintf(rec->project, sizeof(rec->project), "notebook.%s/%s", team, rec->notebook);
        else
                snprintf(rec->project, sizeof(rec->project), "%s.%s", kind, team);
        return 0;
}

static int scenario(const char *state) {
        struct ledger_record *records = NULL;
        size_t n = 0, capacity = 0;
        time_t batch_hour = 0, hour;
        char line[512];
        int rc = 0;

        while (rc == 0 && fgets(line, sizeof(line), stdin)) {
                struct ledger_record rec;

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                if (parse_line(line, &hour, &rec) < 0) {
                        fprintf(stderr, "ledger-gen: cannot read the line: %s", line);
                        return 2;
                }
                if (n > 0 && hour != batch_hour) {
                        rc = append(state, batch_hour, records, n);
                        n = 0;
                }
                if (n == capacity && !(records = reallocarray(records, capacity = capacity * 2 + 64, sizeof(*records))))
                        return 2;
                batch_hour = hour;
                records[n++] = rec;
        }
        if (rc == 0 && n > 0)
                rc = append(state, batch_hour, records, n);
        free(records);
        return rc;
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc >= 5 && streq(argv[1], "--synthetic"))
                return synthetic(argv[2], argv[3], strtoull(argv[4], NULL, 10), argc > 5 ? (unsigned) atoi(argv[5]) : 0);
        if (argc == 2)
                return scenario(argv[1]);
        fputs("usage: ledger-gen STATE_DIR < SCENARIO | ledger-gen --synthetic STATE_DIR YYYY-MM PROJECTS [HOURS]\n", stderr);
        return 2;
}
