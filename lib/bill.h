/* SPDX-License-Identifier: Apache-2.0 */
/* `nbmount quota --month`: a month's bill per team from the ledger (ledger.h). Each sampled hour
 * of each project adds max(0, used - allowance) bytes, with the allowance and card recorded for
 * that hour; a team's charge is the sum over its projects and hours in GB (10^9 bytes) times the
 * price per GB-month divided by the hours of the month. Hours without a card on file are capped
 * (the hard limit is the allowance) and accrue nothing. Hours nobody sampled are named missing and
 * never filled in. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "values.h"

#define BILL_MAX_HOURS 744

typedef unsigned __int128 bill_byte_hours;

struct bill_line {
        nb_name team;
        bool bucket; /* the team's bucket storage (records of kind bucket), else its volumes */
        unsigned hours_sampled;
        unsigned no_card_hours; /* sampled hours without a card on file: capped, nothing accrued */
        unsigned over_hours;    /* sampled hours with some project above its allowance */
        bill_byte_hours charged_byte_hours, uncharged_byte_hours; /* above the allowance, with / without a card */
        uint64_t charge_microdollars;
        unsigned last_over_hour; /* internal: 1 + the last hour counted in over_hours */
        uint8_t sampled[BILL_MAX_HOURS / 8];
};

struct bill {
        int year, month;
        unsigned month_hours; /* 672 to 744: the month in UTC */
        unsigned hours_due;   /* the hours of the month begun by now */
        unsigned hours_committed; /* hours with a valid batch in the ledger */
        unsigned torn_batches;    /* batches without a valid commit, skipped */
        double price_per_gb_month;
        size_t n_lines;
        struct bill_line *lines; /* by team, the volumes before the bucket */
};

/* The charge in micro-dollars (rounded half up) of byte_hours above allowances in a month of
 * month_hours hours at price dollars per GB-month. */
uint64_t bill_charge_microdollars(bill_byte_hours byte_hours, double price_per_gb_month, unsigned month_hours);

/* Reads STATE_DIR/ledger/YYYY-MM.jsonl under an OFD read lock (a writer waits) and bills every
 * team, or only team (not NULL; then it has a line even without records). now bounds the hours
 * that count as missing. A month without a ledger file bills nothing (every due hour missing). */
int bill_read_month(const char *state_dir, int year, int month, const char *team, time_t now, double price_per_gb_month,
                    struct bill *ret, struct nb_error *err);
void bill_done(struct bill *bill);

struct bill_range {
        unsigned first, last; /* hours of the month, both included */
};

/* The hours of line not sampled among the hours due, as ranges (*ret malloc'd; NULL and 0 when
 * none, or when out of memory: the count stays right). Returns how many hours are missing. */
unsigned bill_missing(const struct bill *bill, const struct bill_line *line, struct bill_range **ret, size_t *ret_n);

/* The start of an hour of the bill's month (seconds since the epoch). */
time_t bill_hour_start(const struct bill *bill, unsigned hour);
