/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount quota --month YYYY-MM: the month's bill per team from the ledger (bill.h). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bill.h"
#include "commands.h"
#include "ledger.h"
#include "util.h"

static double gb_hours(bill_byte_hours byte_hours) { return (double) byte_hours / 1e9; }

/* "$10.15" from micro-dollars, rounded half up to the cent. */
static void format_dollars(uint64_t microdollars, char *buf, size_t size) {
        uint64_t cents = (microdollars + 5000) / 10000;

        snprintf(buf, size, "%llu.%02llu", (unsigned long long) (cents / 100), (unsigned long long) (cents % 100));
}

static void format_hour(const struct bill *bill, unsigned hour, char buf[32]) {
        ledger_hour_text(bill_hour_start(bill, hour), buf);
}

static struct json_object *missing_json(const struct bill *bill, const struct bill_range *ranges, size_t n) {
        struct json_object *array = json_object_new_array();
        char from[32], to[32];

        for (size_t i = 0; i < n; i++) {
                struct json_object *range = json_object_new_object();

                format_hour(bill, ranges[i].first, from);
                format_hour(bill, ranges[i].last, to);
                json_object_object_add(range, "from", json_object_new_string(from));
                json_object_object_add(range, "to", json_object_new_string(to));
                json_object_object_add(range, "hours", json_object_new_int((int) (ranges[i].last - ranges[i].first + 1)));
                json_object_array_add(array, range);
        }
        return array;
}

static struct json_object *line_json(const struct bill *bill, const struct bill_line *line) {
        _cleanup_free_ struct bill_range *ranges = NULL;
        struct json_object *o = json_object_new_object();
        size_t n_ranges = 0;
        unsigned missing = bill_missing(bill, line, &ranges, &n_ranges);
        char charge[32];

        format_dollars(line->charge_microdollars, charge, sizeof(charge));
        json_object_object_add(o, "team", json_object_new_string(line->team));
        json_object_object_add(o, "storage", json_object_new_string(line->bucket ? "buckets" : "volumes"));
        json_object_object_add(o, "hours_sampled", json_object_new_int((int) line->hours_sampled));
        json_object_object_add(o, "hours_missing", json_object_new_int((int) missing));
        json_object_object_add(o, "missing", missing_json(bill, ranges, n_ranges));
        json_object_object_add(o, "hours_over", json_object_new_int((int) line->over_hours));
        json_object_object_add(o, "hours_without_card", json_object_new_int((int) line->no_card_hours));
        json_object_object_add(o, "gb_hours_over",
                               json_object_new_double(gb_hours(line->charged_byte_hours + line->uncharged_byte_hours)));
        json_object_object_add(o, "gb_hours_charged", json_object_new_double(gb_hours(line->charged_byte_hours)));
        json_object_object_add(o, "charge_microdollars", json_object_new_uint64(line->charge_microdollars));
        json_object_object_add(o, "charge", json_object_new_double_s(strtod(charge, NULL), charge));
        return o;
}

static void print_json(const struct bill *bill) {
        struct json_object *root = json_object_new_object(), *teams = json_object_new_array();
        char month[16];

        snprintf(month, sizeof(month), "%04d-%02d", bill->year, bill->month);
        json_object_object_add(root, "month", json_object_new_string(month));
        json_object_object_add(root, "hours_in_month", json_object_new_int((int) bill->month_hours));
        json_object_object_add(root, "hours_due", json_object_new_int((int) bill->hours_due));
        json_object_object_add(root, "hours_recorded", json_object_new_int((int) bill->hours_committed));
        json_object_object_add(root, "torn_batches", json_object_new_int((int) bill->torn_batches));
        char price[32];

        snprintf(price, sizeof(price), "%g", bill->price_per_gb_month);
        json_object_object_add(root, "price_per_gb_month", json_object_new_double_s(bill->price_per_gb_month, price));
        for (size_t i = 0; i < bill->n_lines; i++)
                json_object_array_add(teams, line_json(bill, &bill->lines[i]));
        json_object_object_add(root, "teams", teams);
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
}

static void print_missing(const struct bill *bill, const struct bill_range *ranges, size_t n) {
        char from[32], to[32];

        if (n == 0)
                return;
        fputs("    missing (not sampled, not filled in):", stdout);
        for (size_t i = 0; i < n; i++) {
                format_hour(bill, ranges[i].first, from);
                format_hour(bill, ranges[i].last, to);
                printf("%s %s..%s (%u h)", i ? "," : "", from, to, ranges[i].last - ranges[i].first + 1);
        }
        putchar('\n');
}

static void print_line(const struct bill *bill, const struct bill_line *line) {
        _cleanup_free_ struct bill_range *ranges = NULL;
        size_t n_ranges = 0;
        unsigned missing = bill_missing(bill, line, &ranges, &n_ranges);
        char charge[32], note[96] = "";

        format_dollars(line->charge_microdollars, charge, sizeof(charge));
        if (line->no_card_hours)
                snprintf(note, sizeof(note), "no card on file for %u h: capped, nothing accrued then", line->no_card_hours);
        printf("%-20s %-8s %8u %8u %8u %14.3f %10s  %s\n", line->team, line->bucket ? "buckets" : "volumes",
               line->hours_sampled, missing, line->over_hours, gb_hours(line->charged_byte_hours), charge, note);
        print_missing(bill, ranges, n_ranges);
}

static void print_table(const struct bill *bill) {
        printf("Month %04d-%02d (UTC): %u hours, %u due, %u recorded; $%g per GB-month above the allowance\n",
               bill->year, bill->month, bill->month_hours, bill->hours_due, bill->hours_committed, bill->price_per_gb_month);
        if (bill->torn_batches)
                printf("%u torn batch(es) without a valid commit were left out\n", bill->torn_batches);
        printf("%-20s %-8s %8s %8s %8s %14s %10s  %s\n", "TEAM", "STORAGE", "SAMPLED", "MISSING", "OVER-H", "GB-HOURS-OVER",
               "CHARGE-$", "NOTE");
        for (size_t i = 0; i < bill->n_lines; i++)
                print_line(bill, &bill->lines[i]);
}

int quota_month(const struct node_config *config, const char *month, const char *team, bool json, time_t now) {
        struct bill bill;
        struct nb_error err = {};
        int year, month_number;

        if (ledger_parse_month(month, &year, &month_number) < 0)
                return print_error("--month \"%.16s\" must be a month like 2026-12", month), EXIT_INVALID;
        if (bill_read_month(config->state_dir, year, month_number, team, now, config->price_per_gb_month, &bill, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        setvbuf(stdout, NULL, _IOFBF, 1 << 16);
        if (json)
                print_json(&bill);
        else
                print_table(&bill);
        bill_done(&bill);
        return 0;
}
