/* SPDX-License-Identifier: Apache-2.0 */
/* The queue of offline copies and the one thread that makes them, one notebook at a time: a stop asks
 * (offline_request: the manifest says "pending" before the hook is answered), the thread copies; a
 * copy that fails (the bucket down) is tried again after a growing delay; at start-up every manifest
 * still pending or failed is queued again, so a kill mid-copy only delays it. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "offcopy.h"
#include "util.h"

#define RETRY_FIRST_MS 2000
#define RETRY_MAX_MS (10LL * 60 * 1000)
#define OFFLINE_FAILURES_MAX 20 /* then it waits for the notebook's next stop */

static bool enabled(const struct mountd *d) { return d->config.bucket_name[0] != '\0'; }

static struct offline_job *find_job(struct offline_queue *q, const char *team, const char *notebook) {
        for (struct offline_job *j = q->jobs; j; j = j->next)
                if (streq(j->team, team) && streq(j->notebook, notebook))
                        return j;
        return NULL;
}

/* Under the lock: the job at the end of the queue (due now), unless it is queued already. */
static int enqueue(struct offline_queue *q, const char *team, const char *notebook, int64_t due_ms) {
        struct offline_job *j, **tail = &q->jobs;

        if (find_job(q, team, notebook))
                return 0;
        if (!(j = calloc(1, sizeof(*j))))
                return -ENOMEM;
        name_copy(j->team, team);
        name_copy(j->notebook, notebook);
        j->due_ms = due_ms;
        while (*tail)
                tail = &(*tail)->next;
        *tail = j;
        pthread_cond_broadcast(&q->wakeup);
        return 0;
}

/* The manifests left pending or failed by an earlier nbmountd. */
static void queue_unfinished(struct mountd *d) {
        char path[NB_PATH_MAX + 32];
        DIR *teams;
        struct dirent *t;

        snprintf(path, sizeof(path), "%s/offline/notebooks", d->config.state_dir);
        if (!(teams = opendir(path)))
                return;
        while ((t = readdir(teams))) {
                char team_path[sizeof(path) + 260];
                DIR *notebooks;
                struct dirent *n;

                if (t->d_name[0] == '.' || name_problem(t->d_name))
                        continue;
                snprintf(team_path, sizeof(team_path), "%s/%s", path, t->d_name);
                if (!(notebooks = opendir(team_path)))
                        continue;
                while ((n = readdir(notebooks))) {
                        struct offline_manifest m = {};
                        struct nb_error err = {};
                        nb_name notebook;

                        if (!offline_manifest_name(n->d_name, notebook) ||
                            offline_manifest_load(d->config.state_dir, t->d_name, notebook, &m, &err) < 0)
                                continue;
                        if (m.state != OFFLINE_COMPLETE && enqueue(&d->offline, m.team, m.notebook, 0) == 0)
                                mountd_log(LOG_INFO, "offline copy of %s/%s: %s before; resumed", m.team, m.notebook,
                                           offline_state_name(m.state));
                        offline_manifest_done(&m);
                }
                closedir(notebooks);
        }
        closedir(teams);
}

int offline_init(struct mountd *d, struct nb_error *err) {
        struct offline_queue *q = &d->offline;
        char empty[NB_PATH_MAX + 32];
        pthread_condattr_t attr;

        pthread_mutex_init(&q->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&q->wakeup, &attr);
        pthread_condattr_destroy(&attr);
        if (!enabled(d))
                return 0;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || git_libgit2_init() < 0)
                return nb_fail(err, EIO, "cannot start libcurl or libgit2 for the offline copies");
        /* the patterns' repository reads no config: every search path is the empty folder */
        const char *const folders[] = { "", "/offline", "/offline/empty" };

        for (size_t i = 0; i < ARRAY_SIZE(folders); i++) {
                snprintf(empty, sizeof(empty), "%s%s", d->config.state_dir, folders[i]);
                if (mkdir(empty, i ? 0700 : 0755) < 0 && errno != EEXIST)
                        return nb_fail(err, errno, "%s: cannot create: %s", empty, strerror(errno));
        }
        for (int level = GIT_CONFIG_LEVEL_PROGRAMDATA; level <= GIT_CONFIG_LEVEL_GLOBAL; level++)
                git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, empty);
        queue_unfinished(d);
        return 0;
}

/* Under the lock: the next job that is due, or how long to wait (ret_wait_ms, -1 for none queued). */
static struct offline_job *take_due(struct offline_queue *q, int64_t *ret_wait_ms) {
        int64_t now = monotonic_ms(), wait = -1;

        for (struct offline_job **p = &q->jobs; *p; p = &(*p)->next) {
                struct offline_job *j = *p;

                if (j->due_ms <= now) {
                        *p = j->next;
                        return j;
                }
                wait = wait < 0 ? j->due_ms - now : MIN(wait, j->due_ms - now);
        }
        *ret_wait_ms = wait;
        return NULL;
}

static void wait_for_job(struct offline_queue *q, int64_t wait_ms) {
        struct timespec until;

        if (wait_ms < 0) {
                pthread_cond_wait(&q->wakeup, &q->lock);
                return;
        }
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (wait_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&q->wakeup, &q->lock, &until);
}

static int mark_pending(struct mountd *d, const char *team, const char *notebook, struct nb_error *err);

/* Under the lock, after a copy: asked again meanwhile (pending again, so a restart redoes it too), or
 * failed: queued again. */
static void after_copy(struct mountd *d, struct offline_job *j, int r) {
        struct offline_queue *q = &d->offline;
        bool again = q->again;
        struct nb_error err = {};

        q->again = false;
        q->running_team[0] = q->running_notebook[0] = '\0';
        /* -ENOENT (no notebook folder, no secret file): nothing a retry changes; the next stop asks again */
        if (r < 0 && r != -ENOENT && !again && !q->stopping && ++j->failures < OFFLINE_FAILURES_MAX) {
                int64_t delay = (int64_t) RETRY_FIRST_MS << MIN(j->failures - 1, 10U);

                enqueue(q, j->team, j->notebook, monotonic_ms() + MIN(delay, RETRY_MAX_MS));
                find_job(q, j->team, j->notebook)->failures = j->failures;
        } else if (again) {
                if (mark_pending(d, j->team, j->notebook, &err) < 0)
                        mountd_log(LOG_WARNING, "offline copy of %s/%s: %s, ignoring", j->team, j->notebook, err.msg);
                enqueue(q, j->team, j->notebook, 0);
        }
        free(j);
}

static void *copy_forever(void *arg) {
        struct mountd *d = arg;
        struct offline_queue *q = &d->offline;

        pthread_mutex_lock(&q->lock);
        while (!q->stopping) {
                int64_t wait_ms = -1;
                struct offline_job *j = take_due(q, &wait_ms);
                struct nb_error err = {};
                int r;

                if (!j) {
                        wait_for_job(q, wait_ms);
                        continue;
                }
                name_copy(q->running_team, j->team);
                name_copy(q->running_notebook, j->notebook);
                pthread_mutex_unlock(&q->lock);
                if ((r = offline_copy(d, j->team, j->notebook, &q->stopping, &err)) < 0)
                        mountd_log(LOG_WARNING, "offline copy of %s/%s: %s; tried again later", j->team, j->notebook,
                                   err.msg);
                pthread_mutex_lock(&q->lock);
                after_copy(d, j, r);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

int offline_start(struct mountd *d) {
        int r;

        if (!enabled(d))
                return 0;
        if ((r = pthread_create(&d->offline.thread, NULL, copy_forever, d)) != 0)
                return -r;
        d->offline.started = true;
        return 0;
}

/* The manifest says pending (with when it was asked), so that a kill before the copy loses nothing. */
static int mark_pending(struct mountd *d, const char *team, const char *notebook, struct nb_error *err) {
        struct offline_manifest m = {};
        struct nb_error ignored = {};
        int r;

        if (offline_manifest_load(d->config.state_dir, team, notebook, &m, &ignored) < 0) {
                name_copy(m.team, team);
                name_copy(m.notebook, notebook);
                m.allowance = NB_SIZE_UNLIMITED;
        }
        m.state = OFFLINE_PENDING;
        m.requested_at = time(NULL);
        r = offline_manifest_save(d->config.state_dir, &m, err);
        offline_manifest_done(&m);
        return r;
}

int offline_request(struct mountd *d, const char *team, const char *notebook, struct nb_error *err) {
        struct offline_queue *q = &d->offline;
        int r;

        if (!enabled(d))
                return nb_fail(err, ENOTSUP, "bucket storage is off on this node (node.yaml has no bucket_storage.bucket)");
        pthread_mutex_lock(&q->lock);
        if (streq(q->running_team, team) && streq(q->running_notebook, notebook)) {
                q->again = true; /* its manifest is the running copy's: it is queued again once that ends */
                r = 0;
        } else if ((r = mark_pending(d, team, notebook, err)) == 0 && (r = enqueue(q, team, notebook, 0)) < 0) {
                nb_fail(err, r, "out of memory");
        }
        pthread_mutex_unlock(&q->lock);
        return r;
}

void offline_stop(struct mountd *d) {
        struct offline_queue *q = &d->offline;

        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->wakeup);
        pthread_mutex_unlock(&q->lock);
        if (q->started)
                pthread_join(q->thread, NULL);
        while (q->jobs) {
                struct offline_job *next = q->jobs->next;

                free(q->jobs);
                q->jobs = next;
        }
}
