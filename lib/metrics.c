/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mountlist.h"
#include "util.h"
#include "writeall.h"

static void header(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void label_value(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fputc('\\', f);
                if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

static void project_labels(FILE *f, const struct metrics_project *p) {
        fprintf(f, "{kind=\"%s\",team=\"", ledger_kind_name(p->kind));
        label_value(f, p->team);
        fputs("\",notebook=\"", f);
        label_value(f, p->notebook);
        fputs("\",project=\"", f);
        label_value(f, p->project);
        fputs("\"}", f);
}

enum project_value { USED, SOFT, HARD, OVER };

static void project_series(FILE *f, const char *name, const struct metrics_project *projects, size_t n,
                           enum project_value which) {
        for (size_t i = 0; i < n; i++) {
                const struct metrics_project *p = &projects[i];
                uint64_t value = which == USED ? p->used_bytes : which == SOFT ? p->soft_bytes : p->hard_bytes;

                if (which == OVER)
                        value = p->soft_bytes != NB_SIZE_UNLIMITED && p->used_bytes > p->soft_bytes
                                        ? p->used_bytes - p->soft_bytes
                                        : 0;
                if (value == NB_SIZE_UNLIMITED)
                        continue; /* no limit: no sample */
                fputs(name, f);
                project_labels(f, p);
                fprintf(f, " %" PRIu64 "\n", value);
        }
}

static void write_projects(FILE *f, const struct metrics_project *projects, size_t n) {
        header(f, "nbmount_project_used_bytes", "gauge", "Bytes a project (team volume, notebook, team buckets) uses.");
        project_series(f, "nbmount_project_used_bytes", projects, n, USED);
        header(f, "nbmount_project_soft_limit_bytes", "gauge",
                   "The project's allowance (its plan's, or bucket_storage.free); none when unlimited.");
        project_series(f, "nbmount_project_soft_limit_bytes", projects, n, SOFT);
        header(f, "nbmount_project_hard_limit_bytes", "gauge",
                   "The project's hard limit (allowance plus overage cap with a card on file); none when unlimited.");
        project_series(f, "nbmount_project_hard_limit_bytes", projects, n, HARD);
        header(f, "nbmount_project_overage_bytes", "gauge", "Bytes a project uses above its allowance (billed hourly).");
        project_series(f, "nbmount_project_overage_bytes", projects, n, OVER);
}

static void mount_labels(FILE *f, struct json_object *mount) {
        struct json_object *spec = NULL;

        json_object_object_get_ex(mount, "spec", &spec);
        fputs("{mount=\"", f);
        label_value(f, mount_member(mount, "name"));
        fputs("\",team=\"", f);
        label_value(f, mount_member(spec, "team"));
        fputs("\",bucket=\"", f);
        label_value(f, mount_member(spec, "bucket"));
        fputs("\"}", f);
}

static void write_mounts(FILE *f, struct json_object *mounts) {
        size_t n = mounts ? json_object_array_length(mounts) : 0;

        header(f, "nbmount_mountd_up", "gauge", "1 when nbmountd answered the meter's list request, else 0.");
        fprintf(f, "nbmount_mountd_up %d\n", mounts ? 1 : 0);
        header(f, "nbmount_s3_mount_healthy", "gauge",
                   "1 when the shared S3 mount is healthy (nbmount mounts says ok), else 0.");
        for (size_t i = 0; i < n; i++) {
                struct json_object *mount = json_object_array_get_idx(mounts, i);

                fputs("nbmount_s3_mount_healthy", f);
                mount_labels(f, mount);
                fprintf(f, " %d\n", streq(mount_health(mount), "ok"));
        }
        header(f, "nbmount_s3_mount_restarts_total", "counter", "How often the mount's s3fs was replaced under running containers.");
        for (size_t i = 0; i < n; i++) {
                struct json_object *mount = json_object_array_get_idx(mounts, i), *value;

                fputs("nbmount_s3_mount_restarts_total", f);
                mount_labels(f, mount);
                fprintf(f, " %" PRId64 "\n",
                        json_object_object_get_ex(mount, "restarts", &value) ? json_object_get_int64(value) : 0);
        }
        header(f, "nbmount_s3_mount_containers", "gauge", "Containers holding the shared S3 mount.");
        for (size_t i = 0; i < n; i++) {
                struct json_object *mount = json_object_array_get_idx(mounts, i), *containers;

                fputs("nbmount_s3_mount_containers", f);
                mount_labels(f, mount);
                fprintf(f, " %zu\n",
                        json_object_object_get_ex(mount, "containers", &containers) ? json_object_array_length(containers) : 0);
        }
}

/* DIR/nbmount.prom replaced by text: DIR/nbmount.prom.PID (not *.prom: the collector skips it),
 * synced, renamed. */
static int replace_file(const char *dir, const char *text, size_t len, struct nb_error *err) {
        _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;
        char tmp[64];
        int r;

        if (dir_fd < 0)
                return nb_fail(err, errno, "%s: %s; give node_exporter's --collector.textfile.directory", dir, strerror(errno));
        snprintf(tmp, sizeof(tmp), METRICS_FILE ".%d", (int) getpid());
        unlinkat(dir_fd, tmp, 0);
        if ((fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
                return nb_fail(err, errno, "%s/%s: cannot create: %s", dir, tmp, strerror(errno));
        if ((r = write_all_at(fd, text, len, -1)) < 0 || (r = fsync(fd) < 0 ? -errno : 0) < 0 ||
            (r = renameat(dir_fd, tmp, dir_fd, METRICS_FILE) < 0 ? -errno : 0) < 0) {
                unlinkat(dir_fd, tmp, 0);
                return nb_fail(err, r, "%s/" METRICS_FILE ": cannot write: %s", dir, strerror(-r));
        }
        fsync(dir_fd);
        return 0;
}

int metrics_write_textfile(const char *dir, const struct metrics_project *projects, size_t n,
                           struct json_object *mounts, time_t now, struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return nb_fail(err, errno, "out of memory");
        write_projects(f, projects, n);
        write_mounts(f, mounts);
        header(f, "nbmount_meter_last_run_timestamp_seconds", "gauge", "When nbmount meter last sampled (Unix time).");
        fprintf(f, "nbmount_meter_last_run_timestamp_seconds %lld\n", (long long) now);
        if (fclose(f) != 0)
                return nb_fail(err, ENOMEM, "out of memory");
        return replace_file(dir, text, len, err);
}
