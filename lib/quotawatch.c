/* SPDX-License-Identifier: Apache-2.0 */
#include "quotawatch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "safeopen.h"
#include "util.h"

#define FOLDER_EVENTS (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)
#define GRANTS_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR)

struct team_watch {
        int wd;
        nb_name team;
};

struct watch {
        struct quota_syncer *syncer;
        const struct node_config *config;
        int inotify_fd;
        int wd[3]; /* QUOTA_SYNC_NOTEBOOKS, _STORAGE, _GRANTS */
        struct team_watch *teams;
        size_t n_teams, allocated;
        quota_watch_report report;
        void *userdata;
};

static int open_state_file(const struct node_config *config, const char *name, int flags, struct nb_error *err) {
        _cleanup_close_ int state_fd = open(config->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd;

        if (state_fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s; make it (mkdir -p %s)", config->state_dir, strerror(errno),
                               config->state_dir);
        fd = openat(state_fd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return nb_fail(err, errno, "%s/%s: cannot open: %s", config->state_dir, name, strerror(errno));
        return fd;
}

int quota_sync_lock(const struct node_config *config, struct nb_error *err) {
        struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        _cleanup_close_ int fd = open_state_file(config, QUOTA_SYNC_LOCK, O_RDWR | O_CREAT, err);

        if (fd < 0)
                return fd;
        if (fcntl(fd, F_OFD_SETLK, &lock) < 0)
                return nb_fail(err, errno == EAGAIN || errno == EACCES ? EBUSY : errno,
                               "%s/%s: another nbmount quota sync runs on this server (%s)", config->state_dir,
                               QUOTA_SYNC_LOCK, strerror(errno));
        return TAKE_FD(fd);
}

int quota_sync_running(const struct node_config *config, struct nb_error *err) {
        struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        _cleanup_close_ int fd = open_state_file(config, QUOTA_SYNC_LOCK, O_RDONLY, err);

        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        if (fcntl(fd, F_OFD_GETLK, &lock) < 0)
                return nb_fail(err, errno, "%s/%s: %s", config->state_dir, QUOTA_SYNC_LOCK, strerror(errno));
        return lock.l_type != F_UNLCK;
}

int quota_sync_write_status(const struct node_config *config, const struct quota_sync_stats *stats,
                            unsigned interval_s, double pass_seconds, struct nb_error *err) {
        static const char tmp[] = QUOTA_SYNC_STATUS ".new";
        _cleanup_close_ int state_fd = open(config->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = open_state_file(config, tmp, O_WRONLY | O_CREAT | O_TRUNC, err);

        if (fd < 0 || state_fd < 0)
                return fd < 0 ? fd : nb_fail(err, errno, "%s: %s", config->state_dir, strerror(errno));
        if (dprintf(fd, "pid %d\npass_end %lld\npass_seconds %.3f\ninterval %u\nfolders %llu\nlimits_set %llu\nwalked %llu\nfrozen %llu\nfailed %llu\n",
                    (int) getpid(), (long long) time(NULL), pass_seconds, interval_s,
                    (unsigned long long) stats->folders, (unsigned long long) stats->limits_set,
                    (unsigned long long) stats->walked, (unsigned long long) stats->frozen,
                    (unsigned long long) stats->failed) < 0 ||
            renameat(state_fd, tmp, state_fd, QUOTA_SYNC_STATUS) < 0)
                return nb_fail(err, errno, "%s/%s: cannot write: %s", config->state_dir, QUOTA_SYNC_STATUS, strerror(errno));
        return 0;
}

void quota_sync_describe(const struct quota_sync_stats *stats, char *buf, size_t size) {
        snprintf(buf, size, "%llu folders: %llu limits set, %llu walked, %llu frozen, %llu failed",
                 (unsigned long long) stats->folders, (unsigned long long) stats->limits_set,
                 (unsigned long long) stats->walked, (unsigned long long) stats->frozen,
                 (unsigned long long) stats->failed);
}

/* inotify on a folder opened safely, through its fd: nothing on the way is followed again. */
static int add_watch_fd(int inotify_fd, int fd, uint32_t mask) {
        char path[64];
        int wd;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        wd = inotify_add_watch(inotify_fd, path, mask);
        return wd < 0 ? -errno : wd;
}

static void report(const struct watch *w, const char *what, const struct quota_sync_stats *stats,
                   const struct nb_error *err) {
        char counts[160], line[NB_ERROR_MAX + 256];

        quota_sync_describe(stats, counts, sizeof(counts));
        snprintf(line, sizeof(line), "%s: %s%s%s", what, counts, stats->failed ? "; last failure: " : "",
                 stats->failed ? err->msg : "");
        w->report(w->userdata, line);
}

static int watch_team(struct watch *w, const char *team) {
        _cleanup_close_ int fd = openat_beneath(quota_syncer_fd(w->syncer, QUOTA_SYNC_NOTEBOOKS), team,
                                                O_PATH | O_DIRECTORY, RESOLVE_NO_XDEV);
        int wd;

        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        if ((wd = add_watch_fd(w->inotify_fd, fd, FOLDER_EVENTS)) < 0)
                return wd;
        for (size_t i = 0; i < w->n_teams; i++)
                if (w->teams[i].wd == wd)
                        return 0; /* watched already: inotify gives the same wd */
        if (w->n_teams == w->allocated) {
                size_t size = w->allocated ? 2 * w->allocated : 64;
                struct team_watch *grown = reallocarray(w->teams, size, sizeof(*grown));

                if (!grown)
                        return -ENOMEM;
                w->teams = grown;
                w->allocated = size;
        }
        w->teams[w->n_teams] = (struct team_watch) { .wd = wd };
        name_copy(w->teams[w->n_teams++].team, team);
        return 0;
}

static int watch_listed(void *userdata, const char *team) {
        return watch_team(userdata, team);
}

/* A watch on every team folder under NOTEBOOKS, before the pass that lists them. */
static int watch_teams(struct watch *w) {
        return quota_each_folder(quota_syncer_fd(w->syncer, QUOTA_SYNC_NOTEBOOKS), watch_listed, w);
}

static int watch_roots(struct watch *w, struct nb_error *err) {
        static const uint32_t masks[] = { FOLDER_EVENTS, FOLDER_EVENTS, GRANTS_EVENTS };
        int r;

        for (int i = QUOTA_SYNC_NOTEBOOKS; i <= QUOTA_SYNC_GRANTS; i++)
                if ((w->wd[i] = add_watch_fd(w->inotify_fd, quota_syncer_fd(w->syncer, i), masks[i])) < 0)
                        return nb_fail(err, w->wd[i], "cannot watch the roots and the grants folder (inotify): %s",
                                       strerror(-w->wd[i]));
        if ((r = watch_teams(w)) < 0)
                return nb_fail(err, r, "%s: cannot watch its team folders (inotify): %s%s", w->config->notebooks_root,
                               strerror(-r), r == -ENOSPC ? "; raise fs.inotify.max_user_watches above the number of teams" : "");
        return 0;
}

static double now_seconds(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int full_pass(struct watch *w, unsigned interval_s, struct nb_error *err) {
        struct quota_sync_stats stats = {};
        struct nb_error problem = {};
        double start = now_seconds();
        int r = quota_sync_all(w->syncer, &stats, &problem);

        if (r < 0)
                return nb_fail(err, r, "%s", problem.msg);
        report(w, "full pass", &stats, &problem);
        return quota_sync_write_status(w->config, &stats, interval_s, now_seconds() - start, err);
}

static const char *team_of_watch(const struct watch *w, int wd) {
        for (size_t i = 0; i < w->n_teams; i++)
                if (w->teams[i].wd == wd)
                        return w->teams[i].team;
        return NULL;
}

/* "acme.json" -> acme */
static bool team_of_grants_file(const char *name, nb_name ret) {
        size_t len = strlen(name);

        if (len <= 5 || len - 5 > NB_NAME_MAX || !streq(name + len - 5, ".json"))
                return false;
        snprintf(ret, sizeof(nb_name), "%.*s", (int) (len - 5), name);
        return !name_problem(ret);
}

/* Syncs what an event names: a team whose grants changed, a new team folder, a new notebook
 * folder; false when it names nothing of those. */
static bool sync_for_event(struct watch *w, const struct inotify_event *e, char *what, size_t size,
                           struct quota_sync_stats *stats, struct nb_error *problem) {
        const char *team = team_of_watch(w, e->wd);
        bool new_team = e->wd == w->wd[QUOTA_SYNC_NOTEBOOKS] || e->wd == w->wd[QUOTA_SYNC_STORAGE];
        nb_name grants_team;

        if (e->wd == w->wd[QUOTA_SYNC_GRANTS]) {
                if (!team_of_grants_file(e->name, grants_team))
                        return false;
                (void) quota_sync_team(w->syncer, grants_team, stats, problem);
                snprintf(what, size, "team %s: grants changed", grants_team);
                return true;
        }
        if (!(e->mask & IN_ISDIR) || name_problem(e->name) || (!team && !new_team))
                return false;
        if (team) {
                (void) quota_sync_notebook(w->syncer, team, e->name, stats, problem);
                snprintf(what, size, "notebook %s/%s: new folder", team, e->name);
                return true;
        }
        if (e->wd == w->wd[QUOTA_SYNC_NOTEBOOKS] && watch_team(w, e->name) < 0)
                nb_fail(problem, EIO, "%s/%s: cannot watch it (inotify)", w->config->notebooks_root, e->name);
        (void) quota_sync_team(w->syncer, e->name, stats, problem);
        snprintf(what, size, "team %s: new folder", e->name);
        return true;
}

static void on_event(struct watch *w, const struct inotify_event *e) {
        double start = now_seconds();
        struct quota_sync_stats stats = {};
        struct nb_error problem = {};
        char what[3 * NB_NAME_MAX + 32];

        if (!e->len || !sync_for_event(w, e, what, sizeof(what), &stats, &problem))
                return;
        snprintf(what + strlen(what), sizeof(what) - strlen(what), " (%.0f ms)", (now_seconds() - start) * 1000);
        report(w, what, &stats, &problem);
}

/* Reads what inotify has; 1 when it lost events (a full pass must follow), else 0. */
static int read_events(struct watch *w) {
        char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n = read(w->inotify_fd, buf, sizeof(buf));
        bool overflow = false;

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        for (char *p = buf; p < buf + n;) {
                const struct inotify_event *e = (const struct inotify_event *) p;

                overflow |= (e->mask & IN_Q_OVERFLOW) != 0;
                if (!overflow)
                        on_event(w, e);
                p += sizeof(*e) + e->len;
        }
        return overflow;
}

static int signal_fd(void) {
        sigset_t mask;
        int fd;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        fd = signalfd(-1, &mask, SFD_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int watch_loop(struct watch *w, int sig_fd, unsigned interval_s, struct nb_error *err) {
        double next_pass = now_seconds() + interval_s;
        int r;

        for (;;) {
                struct pollfd fds[] = { { .fd = w->inotify_fd, .events = POLLIN }, { .fd = sig_fd, .events = POLLIN } };
                double left = next_pass - now_seconds();
                int ready = poll(fds, ARRAY_SIZE(fds), left <= 0 ? 0 : (int) (left * 1000) + 1);

                if (ready < 0 && errno != EINTR)
                        return nb_fail(err, errno, "poll: %s", strerror(errno));
                if (fds[1].revents & POLLIN)
                        return 0;
                r = (fds[0].revents & POLLIN) ? read_events(w) : 0;
                if (r < 0)
                        return nb_fail(err, r, "reading inotify: %s", strerror(-r));
                if (r > 0 || now_seconds() >= next_pass) {
                        if ((r = full_pass(w, interval_s, err)) < 0)
                                return r;
                        next_pass = now_seconds() + interval_s;
                }
        }
}

int quota_watch(struct quota_syncer *s, const struct node_config *config, unsigned interval_s,
                quota_watch_report report_line, void *userdata, struct nb_error *err) {
        struct watch w = { .syncer = s, .config = config, .report = report_line, .userdata = userdata };
        _cleanup_close_ int inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), sig_fd = signal_fd();
        int r;

        if (inotify_fd < 0 || sig_fd < 0)
                return nb_fail(err, inotify_fd < 0 ? errno : -sig_fd, "cannot set up inotify and signals: %s",
                               strerror(inotify_fd < 0 ? errno : -sig_fd));
        w.inotify_fd = inotify_fd;
        if ((r = watch_roots(&w, err)) >= 0 && (r = full_pass(&w, interval_s, err)) >= 0)
                r = watch_loop(&w, sig_fd, interval_s, err);
        free(w.teams);
        return r;
}
