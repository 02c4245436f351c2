/* SPDX-License-Identifier: Apache-2.0 */
#include "bill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger.h"
#include "util.h"

/* A record of the batch being read, kept until its commit proves the batch whole. */
struct pending {
        size_t line; /* index in the bill's lines */
        uint64_t over_bytes;
        bool card_on_file;
};

/* The state of one pass over a ledger file. */
struct reader {
        struct bill *bill;
        const char *only_team;
        size_t *slots; /* open addressing: 1 + line index, 0 empty */
        size_t n_slots, lines_capacity;
        struct pending *pending;
        size_t n_pending, pending_capacity;
        size_t batch_records;   /* records in the batch so far, the filtered-out teams too */
        size_t batch_start;     /* offset of its first line */
        unsigned batch_hour;
        bool batch_broken;      /* a line that is not a record of the batch's hour */
        uint8_t committed[BILL_MAX_HOURS / 8];
};

uint64_t bill_charge_microdollars(bill_byte_hours byte_hours, double price_per_gb_month, unsigned month_hours) {
        /* the price in micro-dollars per GB-month, exact for any price given to the cent or finer */
        bill_byte_hours price = (bill_byte_hours) (price_per_gb_month * 1e6 + 0.5);
        bill_byte_hours denominator = (bill_byte_hours) 1000000000U * month_hours;

        if (month_hours == 0)
                return 0;
        return (uint64_t) ((byte_hours * price + denominator / 2) / denominator);
}

static uint64_t hash_name(const char *name, size_t len, bool bucket) {
        uint64_t h = 0xcbf29ce484222325ULL ^ bucket;

        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char) name[i]) * 0x100000001b3ULL;
        return h;
}

static int grow_slots(struct reader *r) {
        size_t n = r->n_slots ? r->n_slots * 2 : 1024;
        size_t *slots = calloc(n, sizeof(*slots));

        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < r->bill->n_lines; i++) {
                const struct bill_line *line = &r->bill->lines[i];
                size_t at = hash_name(line->team, strlen(line->team), line->bucket) & (n - 1);

                while (slots[at])
                        at = (at + 1) & (n - 1);
                slots[at] = i + 1;
        }
        free(r->slots);
        r->slots = slots;
        r->n_slots = n;
        return 0;
}

/* Room for one more item in *array of n items (doubling *capacity, at least first). */
static int make_room(void *array, size_t n, size_t *capacity, size_t item_size, size_t first) {
        void **items = array, *grown;
        size_t wanted = *capacity ? *capacity * 2 : first;

        if (n < *capacity)
                return 0;
        if (!(grown = reallocarray(*items, wanted, item_size)))
                return -ENOMEM;
        *items = grown;
        *capacity = wanted;
        return 0;
}

static int add_line(struct reader *r, const char *team, size_t len, bool bucket, size_t *ret) {
        struct bill *b = r->bill;
        struct bill_line *line;

        if (make_room(&b->lines, b->n_lines, &r->lines_capacity, sizeof(*b->lines), 256) < 0)
                return -ENOMEM;
        line = &b->lines[b->n_lines];
        *line = (struct bill_line) { .bucket = bucket };
        memcpy(line->team, team, len);
        line->team[len] = '\0';
        *ret = b->n_lines++;
        return 0;
}

/* The line of (team, bucket), made on first sight. */
static int find_line(struct reader *r, const char *team, size_t len, bool bucket, size_t *ret) {
        size_t at;
        int e;

        if ((r->bill->n_lines + 1) * 2 > r->n_slots && (e = grow_slots(r)) < 0)
                return e;
        for (at = hash_name(team, len, bucket) & (r->n_slots - 1); r->slots[at]; at = (at + 1) & (r->n_slots - 1)) {
                const struct bill_line *line = &r->bill->lines[r->slots[at] - 1];

                if (line->bucket == bucket && strncmp(line->team, team, len) == 0 && line->team[len] == '\0') {
                        *ret = r->slots[at] - 1;
                        return 0;
                }
        }
        if ((e = add_line(r, team, len, bucket, ret)) < 0)
                return e;
        r->slots[at] = *ret + 1;
        return 0;
}

static bool bit(const uint8_t *bits, unsigned i) { return bits[i / 8] & (1U << (i % 8)); }
static void set_bit(uint8_t *bits, unsigned i) { bits[i / 8] |= (uint8_t) (1U << (i % 8)); }

static int add_record(struct reader *r, const struct ledger_view *v) {
        struct pending *p;
        int e;

        if (r->batch_records++ == 0)
                r->batch_hour = v->hour_of_month;
        else if (v->hour_of_month != r->batch_hour)
                r->batch_broken = true;
        if (r->only_team && !(strncmp(r->only_team, v->team, v->team_len) == 0 && r->only_team[v->team_len] == '\0'))
                return 0;
        if (make_room(&r->pending, r->n_pending, &r->pending_capacity, sizeof(*r->pending), 1024) < 0)
                return -ENOMEM;
        p = &r->pending[r->n_pending];
        if (r->n_pending > 0 && v->team_len == strlen(r->bill->lines[p[-1].line].team) &&
            r->bill->lines[p[-1].line].bucket == (v->kind == LEDGER_BUCKET) &&
            memcmp(r->bill->lines[p[-1].line].team, v->team, v->team_len) == 0)
                p->line = p[-1].line; /* a batch lists a team's projects together */
        else if ((e = find_line(r, v->team, v->team_len, v->kind == LEDGER_BUCKET, &p->line)) < 0)
                return e;
        p->over_bytes = v->allowance_bytes != NB_SIZE_UNLIMITED && v->used_bytes > v->allowance_bytes
                                ? v->used_bytes - v->allowance_bytes
                                : 0;
        p->card_on_file = v->card_on_file;
        r->n_pending++;
        return 0;
}

static void apply_pending(struct reader *r, unsigned hour) {
        for (size_t i = 0; i < r->n_pending; i++) {
                const struct pending *p = &r->pending[i];
                struct bill_line *line = &r->bill->lines[p->line];

                if (!bit(line->sampled, hour)) {
                        set_bit(line->sampled, hour);
                        line->hours_sampled++;
                        line->no_card_hours += !p->card_on_file;
                }
                if (p->over_bytes && line->last_over_hour != hour + 1) {
                        line->over_hours++;
                        line->last_over_hour = hour + 1;
                }
                if (p->card_on_file)
                        line->charged_byte_hours += p->over_bytes;
                else
                        line->uncharged_byte_hours += p->over_bytes;
        }
}

static void start_batch(struct reader *r, size_t offset) {
        r->n_pending = r->batch_records = 0;
        r->batch_broken = false;
        r->batch_start = offset;
}

/* A commit: its batch counts when whole, once per hour. */
static void commit(struct reader *r, const char *text, size_t commit_start, const struct ledger_commit *c) {
        bool whole = !r->batch_broken && c->records == r->batch_records &&
                     (r->batch_records == 0 || c->hour_of_month == r->batch_hour) &&
                     ledger_checksum(text + r->batch_start, commit_start - r->batch_start) == c->checksum;

        if (!whole)
                r->bill->torn_batches++;
        else if (!bit(r->committed, c->hour_of_month)) {
                set_bit(r->committed, c->hour_of_month);
                r->bill->hours_committed++;
                apply_pending(r, c->hour_of_month);
        }
}

static int read_text(struct reader *r, const char *text, size_t size) {
        size_t offset = 0;
        struct ledger_view record;
        struct ledger_commit c;
        int kind, e;

        start_batch(r, 0);
        while (offset < size) {
                const char *newline = memchr(text + offset, '\n', size - offset);
                size_t len = newline ? (size_t) (newline - (text + offset)) : size - offset;

                if (!newline) /* a torn last line */
                        break;
                kind = ledger_parse_line(text + offset, len, r->bill->year, r->bill->month, &record, &c);
                if (kind == 1 && (e = add_record(r, &record)) < 0)
                        return e;
                if (kind == 2)
                        commit(r, text, offset, &c);
                if (kind < 0) {
                        r->batch_broken = true;
                        r->batch_records++;
                }
                offset += len + 1;
                if (kind == 2)
                        start_batch(r, offset);
        }
        if (r->batch_records > 0 || offset < size)
                r->bill->torn_batches++;
        return 0;
}

static int read_file(struct reader *r, const char *state_dir, struct nb_error *err) {
        char path[NB_PATH_MAX + 64];
        struct flock lock = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
        _cleanup_close_ int fd = -1;
        struct stat st;
        void *map;
        int e;

        snprintf(path, sizeof(path), "%s/" LEDGER_FOLDER "/%04d-%02d.jsonl", state_dir, r->bill->year, r->bill->month);
        if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                return errno == ENOENT ? 0 : nb_fail(err, errno, "%s: cannot open: %s", path, strerror(errno));
        if (fcntl(fd, F_OFD_SETLKW, &lock) < 0 || fstat(fd, &st) < 0)
                return nb_fail(err, errno, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return nb_fail(err, EINVAL, "%s: not a regular file", path);
        if (st.st_size == 0)
                return 0;
        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
                return nb_fail(err, errno, "%s: cannot map: %s", path, strerror(errno));
        madvise(map, (size_t) st.st_size, MADV_SEQUENTIAL);
        e = read_text(r, map, (size_t) st.st_size);
        munmap(map, (size_t) st.st_size);
        return e < 0 ? nb_fail(err, e, "%s: %s", path, strerror(-e)) : 0;
}

static unsigned hours_due(int year, int month, unsigned month_hours, time_t now) {
        struct tm start_tm = { .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = 1 };
        time_t start = timegm(&start_tm);

        if (now < start)
                return 0;
        return (uint64_t) (now - start) / 3600 + 1 < month_hours ? (unsigned) ((now - start) / 3600 + 1) : month_hours;
}

static int compare_lines(const void *a, const void *b) {
        const struct bill_line *x = a, *y = b;
        int by_team = strcmp(x->team, y->team);

        return by_team ? by_team : (int) x->bucket - (int) y->bucket;
}

int bill_read_month(const char *state_dir, int year, int month, const char *team, time_t now, double price_per_gb_month,
                    struct bill *ret, struct nb_error *err) {
        struct bill bill = { .year = year, .month = month, .price_per_gb_month = price_per_gb_month };
        struct reader r = { .bill = &bill, .only_team = team };
        size_t index;
        int e;

        if (!(bill.month_hours = ledger_month_hours(year, month)))
                return nb_fail(err, EINVAL, "month %04d-%02d does not exist", year, month);
        bill.hours_due = hours_due(year, month, bill.month_hours, now);
        e = read_file(&r, state_dir, err);
        if (e >= 0 && team && (e = find_line(&r, team, strlen(team), false, &index)) < 0)
                nb_fail(err, e, "out of memory");
        free(r.slots);
        free(r.pending);
        if (e < 0) {
                free(bill.lines);
                return e;
        }
        for (size_t i = 0; i < bill.n_lines; i++)
                bill.lines[i].charge_microdollars =
                        bill_charge_microdollars(bill.lines[i].charged_byte_hours, price_per_gb_month, bill.month_hours);
        if (bill.n_lines > 0)
                qsort(bill.lines, bill.n_lines, sizeof(*bill.lines), compare_lines);
        *ret = bill;
        return 0;
}

void bill_done(struct bill *bill) {
        free(bill->lines);
        bill->lines = NULL;
        bill->n_lines = 0;
}

time_t bill_hour_start(const struct bill *bill, unsigned hour) {
        struct tm start_tm = { .tm_year = bill->year - 1900, .tm_mon = bill->month - 1, .tm_mday = 1 };

        return timegm(&start_tm) + (time_t) hour * 3600;
}

unsigned bill_missing(const struct bill *bill, const struct bill_line *line, struct bill_range **ret, size_t *ret_n) {
        unsigned missing = 0, first = 0;
        bool in_range = false;
        struct bill_range *ranges = NULL, *grown;
        size_t n = 0;

        for (unsigned hour = 0; hour <= bill->hours_due; hour++) {
                bool absent = hour < bill->hours_due && !bit(line->sampled, hour);

                if (absent && !in_range)
                        first = hour;
                if (!absent && in_range && (grown = reallocarray(ranges, n + 1, sizeof(*ranges)))) {
                        ranges = grown;
                        ranges[n++] = (struct bill_range) { first, hour - 1 };
                }
                in_range = absent;
                missing += absent;
        }
        *ret = ranges;
        *ret_n = n;
        return missing;
}
