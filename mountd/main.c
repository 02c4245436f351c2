/* SPDX-License-Identifier: Apache-2.0 */
/* nbmountd: the node daemon that owns the S3 (s3fs) mounts shared between containers. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "inputs.h"
#include "mountd.h"
#include "util.h"

#define SWEEP_INTERVAL_DEFAULT 10
#define NBMOUNT_FUSERMOUNT_DEFAULT "/usr/lib/nbmount/nbmount-fusermount"

static const char usage[] =
        "Usage: nbmountd [--config FILE] [--debug] [--sweep-interval SECONDS] [--s3fs PATH]\n"
        "                [--fusermount PATH]\n"
        "\n"
        "The node daemon that owns the S3 mounts (s3fs) shared between containers. Runs in the\n"
        "foreground and logs to stderr and syslog; listens on mountd_socket of the node config\n"
        "(or on the socket systemd passes). Stopping it leaves the mounts serving their containers;\n"
        "the next start adopts them.\n"
        "\n"
        "  --config FILE           the node config (default " NODE_CONFIG_DEFAULT_PATH ")\n"
        "  --debug                 trace every step on stderr\n"
        "  --sweep-interval SECONDS  how often references of vanished containers and mounts of dead\n"
        "                          s3fs processes are cleaned up (default 10)\n"
        "  --s3fs PATH             the s3fs binary (default /usr/bin/s3fs)\n"
        "  --fusermount PATH       nbmount-fusermount, which hands s3fs its FUSE mount in its sandbox\n"
        "                          (default " NBMOUNT_FUSERMOUNT_DEFAULT ")\n"
        "\n"
        "Exit status: 0 stopped by SIGTERM, SIGINT or SIGHUP, 1 cannot start.\n";

struct options {
        const char *config_path, *s3fs, *fusermount;
        unsigned sweep_interval_s;
        bool debug;
};

static int parse_options(int argc, char **argv, struct options *o) {
        static const struct option long_options[] = {
                { "config", required_argument, NULL, 'c' },    { "debug", no_argument, NULL, 'd' },
                { "sweep-interval", required_argument, NULL, 'i' }, { "s3fs", required_argument, NULL, 's' },
                { "fusermount", required_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },            { "version", no_argument, NULL, 'V' },
                {},
        };
        char *end;
        int c;

        *o = (struct options) { .config_path = NODE_CONFIG_DEFAULT_PATH, .s3fs = "/usr/bin/s3fs",
                                .fusermount = NBMOUNT_FUSERMOUNT_DEFAULT,
                                .sweep_interval_s = SWEEP_INTERVAL_DEFAULT };
        while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
                switch (c) {
                case 'c': o->config_path = optarg; break;
                case 'd': o->debug = true; break;
                case 's': o->s3fs = optarg; break;
                case 'f': o->fusermount = optarg; break;
                case 'i':
                        errno = 0;
                        o->sweep_interval_s = (unsigned) strtoul(optarg, &end, 10);
                        if (errno || *end || o->sweep_interval_s < 1 || o->sweep_interval_s > 3600) {
                                fprintf(stderr, "nbmountd: --sweep-interval must be 1 to 3600 seconds, not %s\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 'h': fputs(usage, stdout); return 0;
                case 'V': puts("nbmountd " NBMOUNT_VERSION); return 0;
                default: fputs(usage, stderr); return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "nbmountd: unexpected argument \"%s\"\n%s", argv[optind], usage);
                return -EINVAL;
        }
        return 1;
}

static int make_dir(const char *path, mode_t mode, struct nb_error *err) {
        struct stat st;

        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return nb_fail(err, errno, "%s: cannot create: %s", path, strerror(errno));
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
                return nb_fail(err, EPERM, "%s: must be a folder owned by root; remove whatever is there", path);
        if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
                return nb_fail(err, errno, "%s: cannot chmod %o: %s", path, mode, strerror(errno));
        return 0;
}

/* Passwd files must never reach a disk: their folder is a tmpfs, nbmountd's own when need be. */
static int make_keys_dir(const char *path, struct nb_error *err) {
        struct statfs sfs;
        int r;

        if ((r = make_dir(path, 0700, err)) < 0)
                return r;
        if (statfs(path, &sfs) < 0)
                return nb_fail(err, errno, "%s: %s", path, strerror(errno));
        if (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC)
                return 0;
        if (mount("nbmountd-keys", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=1m") < 0)
                return nb_fail(err, errno, "%s: cannot mount a tmpfs for s3fs's passwd files: %s", path, strerror(errno));
        return 0;
}

static int set_paths(struct mountd *d, const struct options *o, struct nb_error *err) {
        struct mountd_paths *p = &d->paths;
        char socket_copy[PATH_MAX];
        int r;

        snprintf(socket_copy, sizeof(socket_copy), "%s", d->config.mountd_socket);
        snprintf(p->run_dir, sizeof(p->run_dir), "%s", dirname(socket_copy));
        snprintf(p->mounts_dir, sizeof(p->mounts_dir), "%s/mounts", p->run_dir);
        snprintf(p->keys_dir, sizeof(p->keys_dir), "%s/keys", p->run_dir);
        snprintf(p->logs_dir, sizeof(p->logs_dir), "%s/logs", p->run_dir);
        snprintf(p->state_file, sizeof(p->state_file), "%s/mountd.json", p->run_dir);
        snprintf(p->old_state_file, sizeof(p->old_state_file), "%s/mountd.json", d->config.state_dir);
        snprintf(p->s3fs, sizeof(p->s3fs), "%s", o->s3fs);
        if (access(p->s3fs, X_OK) < 0)
                return nb_fail(err, errno, "%s: cannot run s3fs: %s; install it (apt-get install s3fs) or give --s3fs PATH",
                               p->s3fs, strerror(errno));
        if (!realpath(o->fusermount, p->fusermount) || access(p->fusermount, X_OK) < 0)
                return nb_fail(err, errno, "%s: cannot run nbmount-fusermount: %s; reinstall nbmount or give --fusermount PATH",
                               o->fusermount, strerror(errno));
        if ((r = make_dir(p->run_dir, 0755, err)) < 0 || (r = make_dir(p->mounts_dir, 0700, err)) < 0 ||
            (r = make_dir(p->logs_dir, 0700, err)) < 0 || (r = make_keys_dir(p->keys_dir, err)) < 0)
                return r;
        return 0;
}

/* Mounter threads finish (a mount may take mount_timeout); the mounts stay for their containers. */
static void drain(struct mountd *d) {
        struct timespec deadline;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += d->config.s3_mount_timeout_s + 5;
        pthread_mutex_lock(&d->lock);
        while (d->busy > 0 && pthread_cond_timedwait(&d->changed, &d->lock, &deadline) == 0)
                ;
        pthread_mutex_unlock(&d->lock);
}

static size_t count_mounts(struct mountd *d) {
        size_t n = 0;

        pthread_mutex_lock(&d->lock);
        for (struct shared_mount *m = d->mounts; m; m = m->next)
                n++;
        pthread_mutex_unlock(&d->lock);
        return n;
}

/* The sweep has a thread of its own: while it reads /proc and mountinfo, or stops an s3fs (seconds),
 * connections are still accepted and served. */
static void *sweep_forever(void *arg) {
        struct mountd *d = arg;
        struct timespec next;

        pthread_mutex_lock(&d->lock);
        while (!d->stopping) {
                clock_gettime(CLOCK_MONOTONIC, &next);
                next.tv_sec += d->sweep_interval_s;
                while (!d->stopping && pthread_cond_timedwait(&d->sweep_wakeup, &d->lock, &next) == 0)
                        ;
                if (d->stopping)
                        break;
                pthread_mutex_unlock(&d->lock);
                registry_sweep(d);
                pthread_mutex_lock(&d->lock);
        }
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

/* The pool serves the socket; this thread waits for the signal to stop. */
static int wait_for_stop(int signal_fd) {
        struct signalfd_siginfo info;
        ssize_t n;

        while ((n = read(signal_fd, &info, sizeof(info))) < 0 && errno == EINTR)
                ;
        if (n != sizeof(info))
                return n < 0 ? -errno : -EIO;
        mountd_log(LOG_INFO, "stopping on %s", strsignal((int) info.ssi_signo));
        return 0;
}

static int start_sweeping(struct mountd *d, pthread_t *ret) {
        return -pthread_create(ret, NULL, sweep_forever, d);
}

static void stop_sweeping(struct mountd *d, pthread_t thread) {
        pthread_mutex_lock(&d->lock);
        d->stopping = true;
        pthread_cond_broadcast(&d->sweep_wakeup);
        pthread_cond_broadcast(&d->changed);
        pthread_mutex_unlock(&d->lock);
        pthread_join(thread, NULL);
}

static void init_monotonic_cond(pthread_cond_t *cond) {
        pthread_condattr_t attr;

        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(cond, &attr);
        pthread_condattr_destroy(&attr);
}

static int block_signals(void) {
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        signal(SIGPIPE, SIG_IGN);
        if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
                return -1;
        return signalfd(-1, &set, SFD_CLOEXEC);
}

/* RUN/mountd.json, or else the STATE/mountd.json of an nbmountd from before the state moved to the
 * run folder: an upgrade adopts that one's mounts. */
static const char *state_to_load(const struct mountd *d) {
        const struct mountd_paths *p = &d->paths;

        if (access(p->state_file, F_OK) < 0 && errno == ENOENT && access(p->old_state_file, F_OK) == 0)
                return p->old_state_file;
        return p->state_file;
}

/* Once the state is saved in the run folder, the old one is stale: a later start must not adopt it. */
static void remove_old_state(const struct mountd *d, const char *loaded) {
        const struct mountd_paths *p = &d->paths;

        if (streq(p->old_state_file, p->state_file))
                return;
        if (unlink(p->old_state_file) < 0) {
                if (errno != ENOENT)
                        mountd_log(LOG_WARNING, "%s: cannot remove the old state: %s, ignoring (the state in the run folder wins)",
                                   p->old_state_file, strerror(errno));
                return;
        }
        if (streq(loaded, p->old_state_file))
                mountd_log(LOG_INFO, "moved the state from %s to %s", p->old_state_file, p->state_file);
        else
                mountd_log(LOG_INFO, "%s: removed a stale state (the current one is %s)", p->old_state_file, p->state_file);
}

/* The socket comes first: a second nbmountd must stop before it touches the first one's state. */
static int start(struct mountd *d, const struct options *o, int *ret_listen_fd, struct nb_error *err) {
        const char *state_path;
        int r;

        if ((r = node_config_load_path(o->config_path, &d->config, err)) < 0 || (r = set_paths(d, o, err)) < 0 ||
            (r = peer_own_namespaces(&d->namespaces, err)) < 0 || (r = server_open_socket(d, err)) < 0)
                return r;
        *ret_listen_fd = r;
        if ((r = pool_init(&d->pool, *ret_listen_fd, err)) < 0 || (r = spawner_start(&d->spawner, d->paths.s3fs, d->paths.fusermount, err)) < 0)
                return r;
        state_path = state_to_load(d);
        if ((r = state_load(d, state_path, err)) < 0) {
                char why[NB_ERROR_MAX];

                snprintf(why, sizeof(why), "%s", err->msg);
                return nb_fail(err, r, "%s; nbmountd will not guess: move %s away to start afresh (live S3 mounts are then unmounted)",
                               why, state_path);
        }
        state_recover(d);
        if ((r = offline_init(d, err)) < 0)
                return r;
        registry_sweep(d);
        if ((r = state_save(d)) < 0)
                return nb_fail(err, r, "%s: cannot write the state: %s", d->paths.state_file, strerror(-r));
        remove_old_state(d, state_path);
        return 0;
}

/* At exit: the spawner goes (its s3fs processes stay), the table is freed unless a thread still
 * runs (a drain that timed out: then the process exit frees it). */
static void mountd_freep(struct mountd **dp) {
        struct mountd *d = *dp;
        unsigned busy, workers;

        if (!d)
                return;
        spawner_stop(&d->spawner);
        pthread_mutex_lock(&d->lock);
        busy = d->busy;
        pthread_mutex_unlock(&d->lock);
        pthread_mutex_lock(&d->pool.lock);
        workers = d->pool.workers;
        pthread_mutex_unlock(&d->pool.lock);
        if (busy || workers)
                return;
        closep(&d->pool.stop_fd);
        while (d->mounts) {
                struct shared_mount *next = d->mounts->next;

                shared_mount_free(d->mounts);
                d->mounts = next;
        }
        free(d);
}

int main(int argc, char **argv) {
        _cleanup_close_ int listen_fd = -1, signal_fd = -1;
        _cleanup_(mountd_freep) struct mountd *d = NULL;
        pthread_t sweeper, healer;
        struct options o;
        struct nb_error err = {};
        int r;

        umask(0022);
        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? 1 : 0;
        openlog("nbmountd", LOG_PID, LOG_DAEMON);
        if (!(d = calloc(1, sizeof(*d))))
                return 1;
        pthread_mutex_init(&d->lock, NULL);
        pthread_mutex_init(&d->status_lock, NULL);
        init_monotonic_cond(&d->changed);
        init_monotonic_cond(&d->sweep_wakeup);
        d->sweep_interval_s = o.sweep_interval_s;
        d->spawner.sock = -1;
        d->debug = o.debug;
        if (mountd_undumpable(&err) < 0 || (signal_fd = block_signals()) < 0 || start(d, &o, &listen_fd, &err) < 0 ||
            mountd_confine(&err) < 0) {
                mountd_log(LOG_ERR, "%s", err.msg[0] ? err.msg : strerror(errno));
                return 1;
        }
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        if ((r = start_sweeping(d, &sweeper)) < 0 || (r = heal_start(d, &healer)) < 0) {
                mountd_log(LOG_ERR, "cannot start the sweep's or the healer's thread: %s", strerror(-r));
                return 1;
        }
        if ((r = offline_start(d)) < 0) {
                mountd_log(LOG_ERR, "cannot start the offline copies' thread: %s", strerror(-r));
                return 1;
        }
        if ((r = pool_start(d)) < 0) {
                mountd_log(LOG_ERR, "cannot start the threads that serve requests: %s", strerror(-r));
                return 1;
        }
        mountd_log(LOG_INFO, "listening on %s; %zu mounts adopted", d->config.mountd_socket, count_mounts(d));
        r = wait_for_stop(signal_fd);
        stop_sweeping(d, sweeper);
        if (pool_stop(d, d->config.s3_mount_timeout_s + 5))
                close(TAKE_FD(listen_fd));
        pthread_join(healer, NULL);
        offline_stop(d);
        drain(d);
        mountd_log(LOG_INFO, "stopped; %zu mounts keep serving their containers", count_mounts(d));
        return r < 0 ? 1 : 0;
}
