/* SPDX-License-Identifier: Apache-2.0 */
/* The usage ledger, STATE/ledger/YYYY-MM.jsonl (docs/FORMATS.md, schemas/ledger.schema.json): per
 * UTC hour, one batch of records (one per project) closed by a commit line that carries the batch's
 * hour, its record count and a checksum of its bytes. A batch without a valid commit (a crash, a
 * power loss) counts for nothing: readers skip it, the next writer cuts it off before appending. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "values.h"

#define LEDGER_FOLDER "ledger"
#define LEDGER_PROJECT_MAX 160
/* The longest line the writer makes (a record with every name at its longest). */
#define LEDGER_LINE_MAX 640

enum ledger_kind { LEDGER_TEAM, LEDGER_NOTEBOOK, LEDGER_BUCKET };

struct ledger_record {
        enum ledger_kind kind;
        nb_name team, notebook, plan; /* notebook "" but for kind notebook; plan "" when unknown */
        char project[LEDGER_PROJECT_MAX];
        uint64_t allowance_bytes; /* NB_SIZE_UNLIMITED: none (unlimited, or the plan is unknown) */
        bool card_on_file;
        uint64_t used_bytes;
};

/* A record as the reader sees it, without copying: team points into the line. */
struct ledger_view {
        enum ledger_kind kind;
        const char *team;
        size_t team_len;
        unsigned hour_of_month; /* 0 for the 1st, 00:00 UTC */
        uint64_t allowance_bytes, used_bytes;
        bool card_on_file;
};

/* A commit line: the batch's hour, its count and checksum. */
struct ledger_commit {
        unsigned hour_of_month;
        uint64_t records, checksum;
};

const char *ledger_kind_name(enum ledger_kind kind);

/* The checksum of a batch's record lines (docs/FORMATS.md: FNV-1a over 64-bit little-endian words). */
uint64_t ledger_checksum(const char *bytes, size_t len);

/* "2026-12-03T04:00:00Z" of an hour (seconds since the epoch, a multiple of 3600). */
void ledger_hour_text(time_t hour, char buf[32]);
/* The hours of a month in UTC (672, 696, 720 or 744); 0 when month is not 1..12. */
unsigned ledger_month_hours(int year, int month);
/* "2026-12" -> 2026, 12; -EINVAL otherwise. */
int ledger_parse_month(const char *text, int *ret_year, int *ret_month);

/* One line of a record or a commit, with its '\n'; returns its length (< LEDGER_LINE_MAX). */
size_t ledger_format_record(char *buf, time_t hour, const struct ledger_record *record);
size_t ledger_format_commit(char *buf, time_t hour, size_t records, uint64_t checksum);

/* Parses one line (without its '\n') of the month year-month exactly as the writer makes it:
 * 1 a record, 2 a commit, -EINVAL anything else (a torn or altered line). */
int ledger_parse_line(const char *line, size_t len, int year, int month, struct ledger_view *ret_record,
                      struct ledger_commit *ret_commit);

struct ledger_append_result {
        bool already;           /* the hour was committed before: nothing appended */
        size_t appended;        /* records appended */
        uint64_t cut_bytes;     /* bytes of a torn tail cut off first */
        char path[NB_PATH_MAX + 64];
};

/* Appends the batch of hour to STATE_DIR/ledger/YYYY-MM.jsonl under an OFD write lock: first cuts
 * off whatever follows the last valid commit, then, unless that commit is of this hour, writes the
 * records and their commit and fdatasyncs. An hour before the last committed one is refused (the
 * ledger is in hour order). */
int ledger_append_hour(const char *state_dir, time_t hour, const struct ledger_record *records, size_t n,
                       struct ledger_append_result *ret, struct nb_error *err);
