/* SPDX-License-Identifier: Apache-2.0 */
/* The healer, a thread of its own: it watches every ready mount's s3fs through a pidfd (a death is
 * seen at once), probes each mount's root every few seconds in a child (a statx that must reach s3fs;
 * one that does not return within s3.hang_timeout means s3fs hangs), and watches the secrets of the
 * teams with mounts (inotify). A dead, hung or rotated mount gets a successor, swapped in under its
 * running containers (registry_heal, swap.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "mountd.h"
#include "mountstatus.h"
#include "util.h"

#define HEAL_TICK_MS 250
#define PROBE_INTERVAL_MS 2000
#define SECRET_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB)

/* A probe child: a statx of a mount's root that goes to s3fs (AT_STATX_FORCE_SYNC). */
struct probe {
        char name[MOUNTD_NAME_LEN + 1];
        uint64_t s3fs_start_time;
        pid_t pid;
        int pidfd;
        int64_t started_ms;
};

struct healer {
        struct mountd *d;
        int inotify_fd;
        struct probe *probes;
        size_t n_probes, cap_probes;
        int64_t next_probe_ms;
};

static bool stopping(struct mountd *d) {
        bool r;

        pthread_mutex_lock(&d->lock);
        r = d->stopping;
        pthread_mutex_unlock(&d->lock);
        return r;
}

static struct probe *probe_of(struct healer *h, const char *name) {
        for (size_t i = 0; i < h->n_probes; i++)
                if (streq(h->probes[i].name, name))
                        return &h->probes[i];
        return NULL;
}

static void start_probe(struct healer *h, const struct watched_mount *w) {
        struct statx stx;
        pid_t pid;
        int pidfd;

        if (probe_of(h, w->name))
                return;
        if (h->n_probes == h->cap_probes) {
                size_t cap = h->cap_probes ? 2 * h->cap_probes : 8;
                struct probe *p = reallocarray(h->probes, cap, sizeof(*p));

                if (!p)
                        return;
                h->probes = p;
                h->cap_probes = cap;
        }
        if ((pid = fork()) < 0)
                return;
        if (pid == 0)
                _exit(statx(AT_FDCWD, w->mountpoint, AT_SYMLINK_NOFOLLOW | AT_STATX_FORCE_SYNC, STATX_INO, &stx) < 0);
        if ((pidfd = pidfd_open(pid, 0)) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return;
        }
        h->probes[h->n_probes] = (struct probe) { .s3fs_start_time = w->s3fs_start_time, .pid = pid, .pidfd = pidfd,
                                                  .started_ms = monotonic_ms() };
        memcpy(h->probes[h->n_probes].name, w->name, sizeof(w->name));
        h->n_probes++;
}

static void end_probe(struct healer *h, size_t i, bool kill_it) {
        struct probe *p = &h->probes[i];
        siginfo_t info = {};

        if (kill_it)
                pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
        waitid(P_PIDFD, (id_t) p->pidfd, &info, WEXITED);
        close(p->pidfd);
        h->probes[i] = h->probes[--h->n_probes];
}

static bool has_exited(int pidfd) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

        return poll(&pfd, 1, 0) > 0;
}

/* Probes that answered end; one past the deadline means its s3fs hangs. */
static void judge_probes(struct healer *h) {
        int64_t deadline_ms = (int64_t) h->d->config.s3_hang_timeout_s * 1000;

        for (size_t i = 0; i < h->n_probes;) {
                struct probe *p = &h->probes[i];
                struct watched_mount w = { .s3fs_start_time = p->s3fs_start_time };
                char why[160];

                if (has_exited(p->pidfd)) {
                        end_probe(h, i, false);
                        continue;
                }
                if (monotonic_ms() - p->started_ms < deadline_ms) {
                        i++;
                        continue;
                }
                memcpy(w.name, p->name, sizeof(w.name));
                end_probe(h, i, true);
                snprintf(why, sizeof(why), "s3fs stopped answering: a stat of its root did not return within %u s (s3.hang_timeout)",
                         h->d->config.s3_hang_timeout_s);
                registry_s3fs_failed(h->d, &w, why, true);
        }
}

static void watch_secrets(struct healer *h, const struct watched_mount *w, size_t n) {
        char path[NB_PATH_MAX + NB_NAME_MAX + 2];

        for (size_t i = 0; h->inotify_fd >= 0 && i < n; i++)
                if (w[i].team[0]) {
                        snprintf(path, sizeof(path), "%s/%s", h->d->config.secrets_dir, w[i].team);
                        inotify_add_watch(h->inotify_fd, path, SECRET_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW);
                }
}

static void drain(int fd) {
        char buf[4096] __attribute__((aligned(8)));

        while (read(fd, buf, sizeof(buf)) > 0)
                ;
}

/* One round: the s3fs pidfds, the probes' and the secrets' events, or the tick. */
static void watch_once(struct healer *h, const struct watched_mount *w, size_t n) {
        _cleanup_free_ struct pollfd *fds = calloc(n + 1, sizeof(*fds));

        if (!fds)
                return;
        fds[0] = (struct pollfd) { .fd = h->inotify_fd, .events = POLLIN };
        for (size_t i = 0; i < n; i++)
                fds[i + 1] = (struct pollfd) { .fd = pidfd_open(w[i].s3fs_pid, 0), .events = POLLIN };
        poll(fds, n + 1, HEAL_TICK_MS);
        if (fds[0].revents & POLLIN)
                drain(h->inotify_fd);
        for (size_t i = 0; i < n; i++) {
                char why[96];

                /* a pid that is another process's now fails the start time */
                if ((fds[i + 1].revents & POLLIN) || !process_is(w[i].s3fs_pid, w[i].s3fs_start_time)) {
                        snprintf(why, sizeof(why), "s3fs (pid %d) died", (int) w[i].s3fs_pid);
                        registry_s3fs_failed(h->d, &w[i], why, false);
                }
                if (fds[i + 1].fd >= 0)
                        close(fds[i + 1].fd);
        }
}

static void *heal_forever(void *arg) {
        struct healer h = { .d = arg, .inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC) };

        if (h.inotify_fd < 0)
                mountd_log(LOG_WARNING, "cannot watch the secrets (inotify: %s): a changed key is seen within %d ms instead",
                           strerror(errno), HEAL_TICK_MS);
        while (!stopping(h.d)) {
                _cleanup_free_ struct watched_mount *w = NULL;
                size_t n = registry_watch_list(h.d, &w);

                watch_secrets(&h, w, n);
                if (h.d->config.s3_hang_timeout_s > 0 && monotonic_ms() >= h.next_probe_ms) {
                        for (size_t i = 0; i < n; i++)
                                start_probe(&h, &w[i]);
                        h.next_probe_ms = monotonic_ms() + PROBE_INTERVAL_MS;
                }
                watch_once(&h, w, n);
                judge_probes(&h);
                registry_heal(h.d);
        }
        while (h.n_probes > 0)
                end_probe(&h, 0, true);
        free(h.probes);
        if (h.inotify_fd >= 0)
                close(h.inotify_fd);
        return NULL;
}

int heal_start(struct mountd *d, pthread_t *ret) {
        return -pthread_create(ret, NULL, heal_forever, d);
}

void mountd_status_note(struct mountd *d, const struct status_note *note) {
        const struct status_place place = { .notebooks_root = d->config.notebooks_root, .team = note->team,
                                            .notebook = note->notebook, .uid = note->uid, .gid = note->gid };
        struct nb_error err = {};
        int r;

        pthread_mutex_lock(&d->status_lock);
        r = mount_status_update(&place, note->container, note->target, ENTRY_MOUNTED, note->reason, &err);
        pthread_mutex_unlock(&d->status_lock);
        if (r < 0 && r != -ENOENT && r != -ESTALE)
                mountd_log(LOG_WARNING, "container %s (team %s, notebook %s): %s: the status file is not updated: %s",
                           note->container, note->team, note->notebook, note->target, err.msg);
}
