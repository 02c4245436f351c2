/* SPDX-License-Identifier: Apache-2.0 */
/* The bill's arithmetic (bill.h) and the ledger it reads (ledger.h): the seed's examples with their
 * exact figures, the hours of months in UTC (leap February, 31 days, the months of the daylight
 * saving changes), plan and card per hour, torn batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bill.h"
#include "ledger.h"
#include "util.h"

#define GB 1000000000ULL

static time_t hour_of(int year, int month, int day, int hour) {
        struct tm tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = hour };

        return timegm(&tm);
}

static void make_state(char *dir) {
        strcpy(dir, "/tmp/nbmount-test-bill.XXXXXX");
        assert_non_null(mkdtemp(dir));
}

static void remove_state(const char *dir) {
        char command[128];

        snprintf(command, sizeof(command), "rm -rf '%s'", dir);
        assert_int_equal(system(command), 0);
}

static struct ledger_record record(const char *team, const char *plan, uint64_t allowance, bool card, uint64_t used) {
        struct ledger_record r = { .kind = LEDGER_TEAM, .allowance_bytes = allowance, .card_on_file = card, .used_bytes = used };

        name_copy(r.team, team);
        name_copy(r.plan, plan);
        snprintf(r.project, sizeof(r.project), "team.%s", team);
        return r;
}

static void append(const char *state, time_t hour, const struct ledger_record *records, size_t n) {
        struct ledger_append_result result;
        struct nb_error err = {};

        assert_int_equal(ledger_append_hour(state, hour, records, n, &result, &err), 0);
        assert_false(result.already);
        assert_int_equal(result.appended, n);
}

static void bill_of(const char *state, int year, int month, struct bill *bill) {
        struct nb_error err = {};

        assert_int_equal(bill_read_month(state, year, month, NULL, hour_of(year + 1, 1, 1, 0), 0.29, bill, &err), 0);
}

static void month_hours_in_utc(void **state) {
        assert_int_equal(ledger_month_hours(2028, 2), 696); /* leap year */
        assert_int_equal(ledger_month_hours(2026, 2), 672);
        assert_int_equal(ledger_month_hours(2100, 2), 672); /* not a leap year */
        assert_int_equal(ledger_month_hours(2000, 2), 696);
        assert_int_equal(ledger_month_hours(2026, 12), 744); /* 31 days */
        /* daylight saving time changes (EU: last Sunday of March and October; US: March and
         * November): a local day of 23 or 25 hours, but hours are UTC */
        assert_int_equal(ledger_month_hours(2026, 3), 744);
        assert_int_equal(ledger_month_hours(2026, 10), 744);
        assert_int_equal(ledger_month_hours(2026, 11), 720);
        assert_int_equal(ledger_month_hours(2026, 13), 0);
}

/* "pro plan, 50 GB used for an entire month -> (50 - 15) x 0.29 = $10.15", whatever the month. */
static void seed_pro_whole_month(void **state) {
        static const int months[][2] = { { 2026, 12 }, { 2028, 2 }, { 2026, 2 }, { 2026, 3 }, { 2026, 10 }, { 2026, 11 } };

        for (size_t i = 0; i < ARRAY_SIZE(months); i++) {
                unsigned hours = ledger_month_hours(months[i][0], months[i][1]);

                assert_int_equal(bill_charge_microdollars((bill_byte_hours) 35 * GB * hours, 0.29, hours), 10150000);
        }
}

/* The same through a ledger: every hour of leap February 2028, and the bill's figures. */
static void ledger_pro_leap_february(void **unused) {
        struct ledger_record r = record("acme", "pro", 15 * GB, true, 50 * GB);
        char state[64];
        struct bill bill;

        make_state(state);
        for (int h = 0; h < 696; h++)
                append(state, hour_of(2028, 2, 1, 0) + h * 3600, &r, 1);
        bill_of(state, 2028, 2, &bill);
        assert_int_equal(bill.month_hours, 696);
        assert_int_equal(bill.hours_committed, 696);
        assert_int_equal(bill.n_lines, 1);
        assert_int_equal(bill.lines[0].hours_sampled, 696);
        assert_int_equal(bill.lines[0].over_hours, 696);
        assert_true(bill.lines[0].charged_byte_hours == (bill_byte_hours) 35 * GB * 696);
        assert_int_equal(bill.lines[0].charge_microdollars, 10150000);
        bill_done(&bill);
        remove_state(state);
}

/* "a free subscription over the 5 GB limit for 3 days is charged only for those 3 days": 10 GB
 * (5 over) for 72 of November's 720 hours: 5 x 0.29 x 72 / 720 = $0.145, billed $0.15. */
static void seed_free_three_days(void **unused) {
        char state[64];
        struct bill bill;

        make_state(state);
        for (int h = 0; h < 720; h++) {
                struct ledger_record r = record("acme", "free", 5 * GB, true, h >= 240 && h < 312 ? 10 * GB : 4 * GB);

                append(state, hour_of(2026, 11, 1, 0) + h * 3600, &r, 1);
        }
        bill_of(state, 2026, 11, &bill);
        assert_int_equal(bill.lines[0].over_hours, 72);
        assert_true(bill.lines[0].charged_byte_hours == (bill_byte_hours) 5 * GB * 72);
        assert_int_equal(bill.lines[0].charge_microdollars, 145000);
        assert_int_equal(bill_charge_microdollars((bill_byte_hours) 5 * GB * 72, 0.29, 720), 145000);
        bill_done(&bill);
        remove_state(state);
}

/* Each hour with its own plan and card: free without a card until the 10th (capped: nothing), pro
 * with a card from the 10th 00:00 UTC; and a notebook against its own allowance. */
static void plan_and_card_per_hour(void **unused) {
        char state[64];
        struct bill bill;
        struct bill_range *ranges = NULL;
        size_t n_ranges = 0;

        make_state(state);
        for (int h = 0; h < 744; h++) {
                bool upgraded = h >= 9 * 24;
                struct ledger_record r[2] = {
                        record("acme", upgraded ? "pro" : "free", upgraded ? 15 * GB : 5 * GB, upgraded, 20 * GB),
                        record("acme", upgraded ? "pro" : "free", upgraded ? 15 * GB : 5 * GB, upgraded, 16 * GB),
                };

                r[1].kind = LEDGER_NOTEBOOK;
                name_copy(r[1].notebook, "nb1");
                snprintf(r[1].project, sizeof(r[1].project), "notebook.acme/nb1");
                if (h / 24 == 19) /* the 20th: the meter did not run */
                        continue;
                append(state, hour_of(2026, 12, 1, 0) + h * 3600, r, 2);
        }
        bill_of(state, 2026, 12, &bill);
        assert_int_equal(bill.lines[0].hours_sampled, 720);
        assert_int_equal(bill.lines[0].no_card_hours, 216);
        /* from the 10th, less the 20th: 504 hours of (20 - 15) + (16 - 15) = 6 GB */
        assert_true(bill.lines[0].charged_byte_hours == (bill_byte_hours) 6 * GB * 504);
        assert_int_equal(bill.lines[0].charge_microdollars, bill_charge_microdollars((bill_byte_hours) 6 * GB * 504, 0.29, 744));
        assert_int_equal(bill_missing(&bill, &bill.lines[0], &ranges, &n_ranges), 24);
        assert_int_equal(n_ranges, 1);
        assert_int_equal(ranges[0].first, 19 * 24);
        assert_int_equal(ranges[0].last, 19 * 24 + 23);
        free(ranges);
        bill_done(&bill);
        remove_state(state);
}

/* A second run in the same hour appends nothing; an earlier hour is refused. */
static void same_hour_once(void **unused) {
        struct ledger_record r = record("acme", "pro", 15 * GB, true, 20 * GB);
        struct ledger_append_result result;
        struct nb_error err = {};
        char state[64];

        make_state(state);
        append(state, hour_of(2026, 12, 3, 4), &r, 1);
        assert_int_equal(ledger_append_hour(state, hour_of(2026, 12, 3, 4), &r, 1, &result, &err), 0);
        assert_true(result.already);
        assert_int_equal(result.appended, 0);
        assert_int_equal(ledger_append_hour(state, hour_of(2026, 12, 3, 3), &r, 1, &result, &err), -ERANGE);
        remove_state(state);
}

/* A batch cut anywhere (a power loss) counts for nothing, and the next append cuts it off. */
static void torn_batch_everywhere(void **unused) {
        struct ledger_record r[3] = { record("a", "pro", 15 * GB, true, 16 * GB), record("b", "pro", 15 * GB, true, 17 * GB),
                                      record("c", "pro", 15 * GB, true, 18 * GB) };
        char state[64], path[128];
        struct stat whole, one;
        struct bill bill;

        make_state(state);
        snprintf(path, sizeof(path), "%s/ledger/2026-12.jsonl", state);
        append(state, hour_of(2026, 12, 1, 0), r, 3);
        assert_int_equal(stat(path, &one), 0);
        append(state, hour_of(2026, 12, 1, 1), r, 3);
        assert_int_equal(stat(path, &whole), 0);
        for (off_t cut = one.st_size; cut < whole.st_size; cut++) {
                struct ledger_append_result result;
                struct nb_error err = {};

                assert_int_equal(truncate(path, cut), 0);
                bill_of(state, 2026, 12, &bill);
                assert_int_equal(bill.hours_committed, 1);
                assert_true(bill.lines[0].charged_byte_hours == GB);
                assert_int_equal(bill.torn_batches, cut > one.st_size);
                bill_done(&bill);
                assert_int_equal(ledger_append_hour(state, hour_of(2026, 12, 1, 1), r, 3, &result, &err), 0);
                assert_false(result.already);
                assert_int_equal(result.cut_bytes, cut - one.st_size);
                bill_of(state, 2026, 12, &bill);
                assert_int_equal(bill.hours_committed, 2);
                assert_int_equal(bill.torn_batches, 0);
                bill_done(&bill);
        }
        remove_state(state);
}

/* A changed byte inside a committed batch: its checksum no longer holds, the hour is not billed. */
static void altered_batch(void **unused) {
        struct ledger_record r = record("acme", "pro", 15 * GB, true, 20 * GB);
        char state[64], path[128];
        struct bill bill;
        FILE *f;

        make_state(state);
        snprintf(path, sizeof(path), "%s/ledger/2026-12.jsonl", state);
        append(state, hour_of(2026, 12, 1, 0), &r, 1);
        append(state, hour_of(2026, 12, 1, 1), &r, 1);
        assert_non_null(f = fopen(path, "r+"));
        assert_int_equal(fseek(f, -120, SEEK_END), 0); /* in the second record: its used_bytes */
        fputc('9', f);
        fclose(f);
        bill_of(state, 2026, 12, &bill);
        assert_int_equal(bill.hours_committed, 1);
        assert_int_equal(bill.torn_batches, 1);
        bill_done(&bill);
        remove_state(state);
}

static void parse_own_format_only(void **unused) {
        struct ledger_record r = record("acme", "pro", NB_SIZE_UNLIMITED, false, 7);
        char line[LEDGER_LINE_MAX];
        struct ledger_view v;
        struct ledger_commit c;
        size_t len = ledger_format_record(line, hour_of(2026, 12, 3, 4), &r);

        assert_string_equal(line, "{\"hour\":\"2026-12-03T04:00:00Z\",\"kind\":\"team\",\"project\":\"team.acme\",\"team\":\"acme\","
                                  "\"notebook\":\"\",\"plan\":\"pro\",\"allowance_bytes\":null,\"card_on_file\":false,\"used_bytes\":7}\n");
        assert_int_equal(ledger_parse_line(line, len - 1, 2026, 12, &v, &c), 1);
        assert_int_equal(v.hour_of_month, 2 * 24 + 4);
        assert_true(v.allowance_bytes == NB_SIZE_UNLIMITED);
        assert_int_equal(v.used_bytes, 7);
        assert_int_equal(ledger_parse_line(line, len - 1, 2026, 11, &v, &c), -EINVAL); /* another month */
        assert_int_equal(ledger_parse_line(line, len - 2, 2026, 12, &v, &c), -EINVAL); /* torn */
        line[len - 3] = ' ';
        assert_int_equal(ledger_parse_line(line, len - 1, 2026, 12, &v, &c), -EINVAL);
        len = ledger_format_commit(line, hour_of(2026, 12, 3, 4), 12, 0xabcdefULL);
        assert_string_equal(line, "{\"commit\":\"2026-12-03T04:00:00Z\",\"records\":12,\"checksum\":\"0000000000abcdef\"}\n");
        assert_int_equal(ledger_parse_line(line, len - 1, 2026, 12, &v, &c), 2);
        assert_int_equal(c.records, 12);
        assert_int_equal(c.checksum, 0xabcdefULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(month_hours_in_utc),      cmocka_unit_test(seed_pro_whole_month),
                cmocka_unit_test(ledger_pro_leap_february), cmocka_unit_test(seed_free_three_days),
                cmocka_unit_test(plan_and_card_per_hour),  cmocka_unit_test(same_hour_once),
                cmocka_unit_test(torn_batch_everywhere),   cmocka_unit_test(altered_batch),
                cmocka_unit_test(parse_own_format_only),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
