/* SPDX-License-Identifier: Apache-2.0 */
#include "bucketusage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfile.h"
#include "safeopen.h"
#include "textfile.h"
#include "util.h"

/* 10^18 bytes: an exabyte, far above any bucket, exact in a double. */
#define BUCKET_MAX_BYTES 1000000000000000000ULL

static int parse_time(const struct jctx *c, struct json_object *root, time_t *ret) {
        char text[32];
        struct tm tm = {};
        const char *end;
        int r = jget_string(c, root, "", "updated_at", text, sizeof(text), NULL);

        if (r < 0)
                return r;
        end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end)
                return jfail(c, "/updated_at", "\"updated_at\" must be a UTC time like 2026-12-03T04:00:00Z, not \"%s\"", text);
        *ret = timegm(&tm);
        return 0;
}

int bucket_usage_parse(const char *text, size_t len, const char *file, const char *expected_team,
                       struct bucket_usage *ret, struct nb_error *err) {
        static const char *const keys[] = { "team", "bytes", "objects", "updated_at", NULL };
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        const struct jctx c = { .file = file, .text = text, .err = err };
        struct bucket_usage usage = {};
        int r;

        if ((r = json_parse_strict(text, len, file, &root, err)) < 0 ||
            (r = jexpect_object(&c, root, "", "a bucket usage file")) < 0 ||
            (r = jcheck_keys(&c, root, "", "a bucket usage file", keys, keys)) < 0 ||
            (r = jget_string(&c, root, "", "team", usage.team, sizeof(usage.team), name_problem)) < 0 ||
            (r = jget_uint(&c, root, "", "bytes", BUCKET_MAX_BYTES, &usage.bytes)) < 0 ||
            (r = jget_uint(&c, root, "", "objects", BUCKET_MAX_BYTES, &usage.objects)) < 0 ||
            (r = parse_time(&c, root, &usage.updated_at)) < 0)
                return r;
        if (!streq(usage.team, expected_team))
                return jfail(&c, "/team", "\"team\" is \"%s\" in the file of team %s", usage.team, expected_team);
        *ret = usage;
        return 0;
}

static int read_one(int dir_fd, const char *dir_path, const char *name, struct bucket_usage *ret, struct nb_error *err) {
        _cleanup_close_ int fd = openat_beneath(dir_fd, name, O_RDONLY | O_NONBLOCK, RESOLVE_NO_XDEV);
        _cleanup_free_ char *text = NULL;
        char file[NB_PATH_MAX + 96], team[NB_NAME_MAX + 1];
        size_t len = 0;

        snprintf(file, sizeof(file), "%s/%s", dir_path, name);
        snprintf(team, sizeof(team), "%.*s", (int) (strlen(name) - 5), name);
        if (fd < 0)
                return nb_fail(err, fd, "%s: cannot open: %s", file, strerror(-fd));
        if (text_read_fd(fd, file, BUCKET_USAGE_MAX_BYTES, &text, &len, err) < 0)
                return -EINVAL;
        return bucket_usage_parse(text, len, file, team, ret, err);
}

static int compare_usage(const void *a, const void *b) {
        return strcmp(((const struct bucket_usage *) a)->team, ((const struct bucket_usage *) b)->team);
}

/* TEAM.json with a TEAM nbmount could have made. */
static bool usage_file_name(const char *name) {
        size_t len = strlen(name);
        char team[NB_NAME_MAX + 1];

        if (len <= 5 || len - 5 > NB_NAME_MAX || !streq(name + len - 5, ".json"))
                return false;
        snprintf(team, sizeof(team), "%.*s", (int) (len - 5), name);
        return !name_problem(team);
}

int bucket_usage_read_all(const char *state_dir, struct bucket_usage **ret, size_t *ret_n, size_t *ret_skipped,
                          struct nb_error *err) {
        char dir_path[NB_PATH_MAX + 32];
        _cleanup_free_ struct bucket_usage *rows = NULL;
        size_t n = 0, skipped = 0;
        struct dirent *entry;
        DIR *dir;
        int fd;

        snprintf(dir_path, sizeof(dir_path), "%s/" BUCKET_USAGE_FOLDER, state_dir);
        *ret = NULL;
        *ret_n = *ret_skipped = 0;
        if ((fd = open_beneath(state_dir, BUCKET_USAGE_FOLDER, O_RDONLY | O_DIRECTORY, err)) < 0)
                return fd == -ENOENT ? 0 : fd;
        if (!(dir = fdopendir(fd)))
                return close(fd), nb_fail(err, errno, "%s: %s", dir_path, strerror(errno));
        while ((entry = readdir(dir))) {
                struct bucket_usage *grown;

                if (!usage_file_name(entry->d_name))
                        continue;
                if (!(grown = reallocarray(rows, n + 1, sizeof(*rows)))) {
                        closedir(dir);
                        return nb_fail(err, ENOMEM, "out of memory");
                }
                rows = grown;
                if (read_one(dirfd(dir), dir_path, entry->d_name, &rows[n], err) < 0)
                        skipped++;
                else
                        n++;
        }
        closedir(dir);
        if (n > 0)
                qsort(rows, n, sizeof(*rows), compare_usage);
        *ret = TAKE_PTR(rows);
        *ret_n = n;
        *ret_skipped = skipped;
        return 0;
}
