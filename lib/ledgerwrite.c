/* SPDX-License-Identifier: Apache-2.0 */
/* Appending an hour's batch to the ledger (ledger.h): lock, cut a torn tail, append, sync. */
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
#include "writeall.h"

/* Where the valid part of a ledger ends: just after its last valid commit. */
struct ledger_tail {
        uint64_t end;
        bool has_commit;
        unsigned last_hour; /* of that commit, an index in the month */
};

/* The start of the line that ends just before offset end (text[end - 1] == '\n' or end is the size). */
static size_t line_start(const char *text, size_t end) {
        while (end > 0 && text[end - 1] != '\n')
                end--;
        return end;
}

/* Whether the `records` lines before offset commit_start hold that many records of the commit's
 * hour whose bytes have its checksum. */
static bool batch_valid(const char *text, size_t commit_start, const struct ledger_commit *commit, int year, int month) {
        size_t start = commit_start, line_end;
        struct ledger_view record;
        struct ledger_commit other;

        for (uint64_t i = 0; i < commit->records; i++) {
                if (start == 0)
                        return false;
                line_end = start - 1;
                start = line_start(text, line_end);
                if (ledger_parse_line(text + start, line_end - start, year, month, &record, &other) != 1 ||
                    record.hour_of_month != commit->hour_of_month)
                        return false;
        }
        return ledger_checksum(text + start, commit_start - start) == commit->checksum;
}

/* Walks back from the end to the last commit whose batch is whole. */
static struct ledger_tail find_tail(const char *text, size_t size, int year, int month) {
        size_t end = size;
        struct ledger_view record;
        struct ledger_commit commit;

        while (end > 0) {
                size_t newline = end, start;

                while (newline > 0 && text[newline - 1] != '\n') /* a torn last line has no '\n' */
                        newline--;
                if (newline == 0)
                        break;
                start = line_start(text, newline - 1);
                if (ledger_parse_line(text + start, newline - 1 - start, year, month, &record, &commit) == 2 &&
                    batch_valid(text, start, &commit, year, month))
                        return (struct ledger_tail) { .end = newline, .has_commit = true, .last_hour = commit.hour_of_month };
                end = start;
        }
        return (struct ledger_tail) {};
}

static int recover(int fd, const char *path, int year, int month, struct ledger_tail *ret, uint64_t *ret_cut,
                   struct nb_error *err) {
        struct stat st;
        void *map;

        if (fstat(fd, &st) < 0)
                return nb_fail(err, errno, "%s: %s", path, strerror(errno));
        *ret = (struct ledger_tail) {};
        *ret_cut = 0;
        if (st.st_size == 0)
                return 0;
        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
                return nb_fail(err, errno, "%s: cannot map: %s", path, strerror(errno));
        *ret = find_tail(map, (size_t) st.st_size, year, month);
        munmap(map, (size_t) st.st_size);
        if (ret->end == (uint64_t) st.st_size)
                return 0;
        *ret_cut = (uint64_t) st.st_size - ret->end;
        if (ftruncate(fd, (off_t) ret->end) < 0 || fdatasync(fd) < 0)
                return nb_fail(err, errno, "%s: cannot cut off its torn last batch (%llu bytes): %s", path,
                               (unsigned long long) *ret_cut, strerror(errno));
        return 0;
}

/* STATE/ledger/YYYY-MM.jsonl opened for appending and write-locked (waits for readers). */
static int open_locked(const char *state_dir, int year, int month, struct ledger_append_result *ret,
                       struct nb_error *err) {
        _cleanup_close_ int state_fd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC), dir_fd = -1, fd = -1;
        struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        char name[32];

        snprintf(ret->path, sizeof(ret->path), "%s/" LEDGER_FOLDER "/%04d-%02d.jsonl", state_dir, year, month);
        if (state_fd < 0)
                return nb_fail(err, errno, "%s: %s; create the node's state folder (node.yaml \"state\")", state_dir,
                               strerror(errno));
        if (mkdirat(state_fd, LEDGER_FOLDER, 0750) < 0 && errno != EEXIST)
                return nb_fail(err, errno, "%s/" LEDGER_FOLDER ": cannot create: %s", state_dir, strerror(errno));
        if ((dir_fd = openat(state_fd, LEDGER_FOLDER, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                return nb_fail(err, errno, "%s/" LEDGER_FOLDER ": %s", state_dir, strerror(errno));
        snprintf(name, sizeof(name), "%04d-%02d.jsonl", year, month);
        if ((fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640)) < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", ret->path, strerror(errno));
        if (fcntl(fd, F_OFD_SETLKW, &lock) < 0)
                return nb_fail(err, errno, "%s: cannot lock: %s", ret->path, strerror(errno));
        fsync(dir_fd); /* a new file's name is durable before its first batch is */
        return TAKE_FD(fd);
}

/* The batch's lines and its commit in one buffer. */
static char *format_batch(time_t hour, const struct ledger_record *records, size_t n, size_t *ret_len) {
        char *buf = malloc((n + 1) * LEDGER_LINE_MAX);
        size_t len = 0;

        if (!buf)
                return NULL;
        for (size_t i = 0; i < n; i++)
                len += ledger_format_record(buf + len, hour, &records[i]);
        len += ledger_format_commit(buf + len, hour, n, ledger_checksum(buf, len));
        *ret_len = len;
        return buf;
}

int ledger_append_hour(const char *state_dir, time_t hour, const struct ledger_record *records, size_t n,
                       struct ledger_append_result *ret, struct nb_error *err) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *batch = NULL;
        struct ledger_tail tail = {};
        struct tm tm;
        char when[32], last[32];
        size_t len = 0;
        unsigned index;
        int r;

        *ret = (struct ledger_append_result) {};
        if (hour % 3600 != 0 || !gmtime_r(&hour, &tm))
                return nb_fail(err, EINVAL, "the hour %lld is not a whole UTC hour", (long long) hour);
        index = (unsigned) ((tm.tm_mday - 1) * 24 + tm.tm_hour);
        if ((fd = open_locked(state_dir, tm.tm_year + 1900, tm.tm_mon + 1, ret, err)) < 0)
                return fd;
        if ((r = recover(fd, ret->path, tm.tm_year + 1900, tm.tm_mon + 1, &tail, &ret->cut_bytes, err)) < 0)
                return r;
        if (tail.has_commit && tail.last_hour >= index) {
                ret->already = tail.last_hour == index;
                if (ret->already)
                        return 0;
                ledger_hour_text(hour, when);
                ledger_hour_text(hour + (time_t) (tail.last_hour - index) * 3600, last);
                return nb_fail(err, ERANGE, "%s: the hour %s is before the last one recorded (%s): the ledger is in hour order; is the clock right?",
                               ret->path, when, last);
        }
        if (!(batch = format_batch(hour, records, n, &len)))
                return nb_fail(err, ENOMEM, "out of memory");
        if ((r = write_all_at(fd, batch, len, (int64_t) tail.end)) < 0 || (r = fdatasync(fd) < 0 ? -errno : 0) < 0)
                return nb_fail(err, r, "%s: cannot append the hour's %zu records: %s", ret->path, n, strerror(-r));
        ret->appended = n;
        return 0;
}
