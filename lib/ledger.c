/* SPDX-License-Identifier: Apache-2.0 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define COMMIT_PREFIX "{\"commit\":\""

const char *ledger_kind_name(enum ledger_kind kind) {
        return kind == LEDGER_TEAM ? "team" : kind == LEDGER_NOTEBOOK ? "notebook" : "bucket";
}

uint64_t ledger_checksum(const char *bytes, size_t len) {
        uint64_t h = FNV_OFFSET, word;
        size_t i = 0;

        for (; i + 8 <= len; i += 8) {
                memcpy(&word, bytes + i, 8); /* x86-64 and the other targets Debian runs this on: little-endian */
                h = (h ^ le64toh(word)) * FNV_PRIME;
        }
        if (i < len) {
                word = 0;
                memcpy(&word, bytes + i, len - i);
                h = (h ^ le64toh(word)) * FNV_PRIME;
        }
        return (h ^ (uint64_t) len) * FNV_PRIME;
}

void ledger_hour_text(time_t hour, char buf[32]) {
        struct tm tm;

        gmtime_r(&hour, &tm);
        strftime(buf, 32, "%Y-%m-%dT%H:00:00Z", &tm);
}

static bool leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

static unsigned month_days(int year, int month) {
        static const unsigned char days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        if (month < 1 || month > 12)
                return 0;
        return days[month - 1] + (month == 2 && leap_year(year));
}

unsigned ledger_month_hours(int year, int month) { return month_days(year, month) * 24; }

/* n decimal digits at p; -1 when one is not a digit. */
static int digits(const char *p, int n) {
        int value = 0;

        for (int i = 0; i < n; i++) {
                if (p[i] < '0' || p[i] > '9')
                        return -1;
                value = value * 10 + (p[i] - '0');
        }
        return value;
}

int ledger_parse_month(const char *text, int *ret_year, int *ret_month) {
        int year, month;

        if (strlen(text) != 7 || text[4] != '-' || (year = digits(text, 4)) < 1970 || (month = digits(text + 5, 2)) < 1 ||
            month > 12)
                return -EINVAL;
        *ret_year = year;
        *ret_month = month;
        return 0;
}

size_t ledger_format_record(char *buf, time_t hour, const struct ledger_record *r) {
        char when[32], allowance[24] = "null";

        ledger_hour_text(hour, when);
        if (r->allowance_bytes != NB_SIZE_UNLIMITED)
                snprintf(allowance, sizeof(allowance), "%" PRIu64, r->allowance_bytes);
        return (size_t) snprintf(buf, LEDGER_LINE_MAX,
                                 "{\"hour\":\"%s\",\"kind\":\"%s\",\"project\":\"%s\",\"team\":\"%s\",\"notebook\":\"%s\","
                                 "\"plan\":\"%s\",\"allowance_bytes\":%s,\"card_on_file\":%s,\"used_bytes\":%" PRIu64 "}\n",
                                 when, ledger_kind_name(r->kind), r->project, r->team, r->notebook, r->plan, allowance,
                                 r->card_on_file ? "true" : "false", r->used_bytes);
}

size_t ledger_format_commit(char *buf, time_t hour, size_t records, uint64_t checksum) {
        char when[32];

        ledger_hour_text(hour, when);
        return (size_t) snprintf(buf, LEDGER_LINE_MAX, COMMIT_PREFIX "%s\",\"records\":%zu,\"checksum\":\"%016" PRIx64 "\"}\n",
                                 when, records, checksum);
}

/* A cursor over one line: every step checks and advances, or sets ok false. */
struct cursor {
        const char *p, *end;
        bool ok;
};

static void expect(struct cursor *c, const char *literal, size_t len) {
        if (c->ok && (size_t) (c->end - c->p) >= len && memcmp(c->p, literal, len) == 0)
                c->p += len;
        else
                c->ok = false;
}
#define EXPECT(c, literal) expect((c), (literal), sizeof(literal) - 1)

/* A string's characters up to its closing quote (consumed): letters, digits, . _ - and, with
 * slash, '/'. Returns its start; *ret_len its length. */
static const char *string_body(struct cursor *c, bool slash, size_t *ret_len) {
        const char *start = c->p;

        for (; c->ok && c->p < c->end && *c->p != '"'; c->p++) {
                char ch = *c->p;

                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '_' || ch == '-' || (slash && ch == '/')))
                        c->ok = false;
        }
        if (c->p >= c->end)
                c->ok = false;
        *ret_len = (size_t) (c->p - start);
        if (c->ok)
                c->p++;
        return start;
}

static uint64_t number(struct cursor *c) {
        uint64_t value = 0;
        const char *start = c->p;

        for (; c->ok && c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++)
                if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, (uint64_t) (*c->p - '0'), &value))
                        c->ok = false;
        if (c->p == start || (c->p - start > 1 && *start == '0'))
                c->ok = false;
        return value;
}

/* "YYYY-MM-DDTHH:00:00Z" of year-month: the hour's index in the month. */
static unsigned hour_of_month(struct cursor *c, int year, int month) {
        const char *p = c->p;
        int day, hour;

        if (!c->ok || c->end - p < 20 || digits(p, 4) != year || p[4] != '-' || digits(p + 5, 2) != month || p[7] != '-' ||
            (day = digits(p + 8, 2)) < 1 || (unsigned) day > month_days(year, month) || p[10] != 'T' ||
            (hour = digits(p + 11, 2)) < 0 || hour > 23 || memcmp(p + 13, ":00:00Z", 7) != 0) {
                c->ok = false;
                return 0;
        }
        c->p += 20;
        return (unsigned) ((day - 1) * 24 + hour);
}

static bool boolean(struct cursor *c) {
        if (c->ok && c->end - c->p >= 4 && memcmp(c->p, "true", 4) == 0) {
                c->p += 4;
                return true;
        }
        EXPECT(c, "false");
        return false;
}

static int parse_commit(struct cursor *c, int year, int month, struct ledger_commit *ret) {
        char checksum[17];
        size_t len;
        const char *hex;

        EXPECT(c, COMMIT_PREFIX);
        ret->hour_of_month = hour_of_month(c, year, month);
        EXPECT(c, "\",\"records\":");
        ret->records = number(c);
        EXPECT(c, ",\"checksum\":\"");
        hex = string_body(c, false, &len);
        EXPECT(c, "}");
        if (!c->ok || c->p != c->end || len != 16 || strspn(hex, "0123456789abcdef") < 16)
                return -EINVAL;
        memcpy(checksum, hex, 16);
        checksum[16] = '\0';
        ret->checksum = strtoull(checksum, NULL, 16);
        return 2;
}

static enum ledger_kind kind_of(struct cursor *c) {
        size_t len;
        const char *kind = string_body(c, false, &len);

        if (len == 4 && memcmp(kind, "team", 4) == 0)
                return LEDGER_TEAM;
        if (len == 8 && memcmp(kind, "notebook", 8) == 0)
                return LEDGER_NOTEBOOK;
        if (!(len == 6 && memcmp(kind, "bucket", 6) == 0))
                c->ok = false;
        return LEDGER_BUCKET;
}

int ledger_parse_line(const char *line, size_t len, int year, int month, struct ledger_view *ret_record,
                      struct ledger_commit *ret_commit) {
        struct cursor c = { line, line + len, true };
        size_t skipped;

        if (len > sizeof(COMMIT_PREFIX) && line[2] == 'c')
                return parse_commit(&c, year, month, ret_commit);
        EXPECT(&c, "{\"hour\":\"");
        ret_record->hour_of_month = hour_of_month(&c, year, month);
        EXPECT(&c, "\",\"kind\":\"");
        ret_record->kind = kind_of(&c);
        EXPECT(&c, ",\"project\":\"");
        string_body(&c, true, &skipped);
        EXPECT(&c, ",\"team\":\"");
        ret_record->team = string_body(&c, false, &ret_record->team_len);
        EXPECT(&c, ",\"notebook\":\"");
        string_body(&c, false, &skipped);
        EXPECT(&c, ",\"plan\":\"");
        string_body(&c, false, &skipped);
        EXPECT(&c, ",\"allowance_bytes\":");
        if (c.ok && c.end - c.p >= 4 && memcmp(c.p, "null", 4) == 0) {
                c.p += 4;
                ret_record->allowance_bytes = NB_SIZE_UNLIMITED;
        } else
                ret_record->allowance_bytes = number(&c);
        EXPECT(&c, ",\"card_on_file\":");
        ret_record->card_on_file = boolean(&c);
        EXPECT(&c, ",\"used_bytes\":");
        ret_record->used_bytes = number(&c);
        EXPECT(&c, "}");
        return c.ok && c.p == c.end && ret_record->team_len > 0 && ret_record->team_len <= NB_NAME_MAX ? 1 : -EINVAL;
}
