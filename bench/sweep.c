/* SPDX-License-Identifier: Apache-2.0 */
/* A request's latency while nbmountd sweeps a table of N shared mounts (default 2,000): the registry
 * of mountd/ linked in as it is, so bench/sweep.sh can build this against any revision.
 *
 * In a private mount namespace (nothing is left on the host): a tmpfs over /tmp for RUN/ and STATE/, N
 * fuse.s3fs mounts under RUN/mounts (opened on /dev/fuse and left without a server: the measured
 * paths never read them), and a state file whose N mounts all name one live "s3fs" (a sleeping child)
 * and hold one reference each from a live "container" (another); state_load() and state_recover()
 * adopt them. Then, for --seconds each, one thread makes requests back to back:
 *   release  a release by a container that holds nothing (every poststop sends one): it takes the
 *            table's lock and changes nothing
 *   acquire  a second container sharing an existing mount: a reference, a clone, the state written
 *   drop     its release: the reference dropped, the state written
 * first alone ("idle"), then while another thread sweeps back to back ("sweeping"); and the write of
 * the state file alone. (Sweeps back to back, a waiting request may wait for more than one: the
 * sweeping thread takes the lock again before the waiter wakes.)
 *
 * Usage: sweep [--mounts N] [--seconds S] [--check]
 * Prints, per case and request kind: count, median, p99 and max latency, and the sweeps' durations.
 * --check prints one "ok - ..." or "not ok - ..." line instead (tests/s3-check.sh): while sweeps run
 * back to back (--seconds, and 3 sweeps at least), releases complete while a sweep is under way and
 * holds no lock between two of its own. Built with -Wl,--wrap=pthread_mutex_lock,--wrap=
 * pthread_mutex_unlock, this program sees when the sweeping thread takes and leaves the table's lock;
 * a release counts when it starts and ends in such a gap, a gap counts when the sweep takes the lock
 * again after it (the tail after its last unlock is not one). A sweep that holds the lock throughout
 * has no such gap, whatever the machine's speed: the check does not depend on timing. Needs root
 * (mounts, /dev/fuse). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mountd.h"
#include "util.h"

#define MAX_SAMPLES 200000

struct samples {
        size_t n;
        double *ms;
};

/* What the lock wrappers see (the wrappers take no argument but the mutex: this is the bench's only
 * global state). gap_seq is odd while the sweeping thread is inside registry_sweep() and holds no lock
 * after having held it. */
static struct {
        pthread_mutex_t *lock;
        pthread_t sweeper;
        atomic_bool sweeping, sweeper_known;
        atomic_uint gap_seq;
        atomic_size_t in_gap, in_middle_gaps;
} watch;

int __real_pthread_mutex_lock(pthread_mutex_t *m);
int __real_pthread_mutex_unlock(pthread_mutex_t *m);

static bool is_sweeper(pthread_mutex_t *m) {
        return m == watch.lock && atomic_load(&watch.sweeper_known) && pthread_equal(pthread_self(), watch.sweeper);
}

/* The sweep takes the lock again: the gap before was one in the middle of its work. */
int __wrap_pthread_mutex_lock(pthread_mutex_t *m) {
        int r = __real_pthread_mutex_lock(m);

        if (is_sweeper(m) && (atomic_load(&watch.gap_seq) & 1)) {
                atomic_fetch_add(&watch.gap_seq, 1);
                atomic_fetch_add(&watch.in_middle_gaps, atomic_exchange(&watch.in_gap, 0));
        }
        return r;
}

int __wrap_pthread_mutex_unlock(pthread_mutex_t *m) {
        if (is_sweeper(m) && atomic_load(&watch.sweeping) && !(atomic_load(&watch.gap_seq) & 1))
                atomic_fetch_add(&watch.gap_seq, 1);
        return __real_pthread_mutex_unlock(m);
}

static void sweep_ended(void) {
        atomic_store(&watch.sweeping, false);
        if (atomic_load(&watch.gap_seq) & 1)
                atomic_fetch_add(&watch.gap_seq, 1);
        atomic_store(&watch.in_gap, 0); /* the tail after its last unlock */
}

struct bench {
        struct mountd *d;
        size_t n_mounts;
        double seconds;
        pid_t s3fs_pid, container_pid;
        atomic_bool stop;
        struct samples sweeps;
};

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1000 + (double) ts.tv_nsec / 1e6;
}

static void die(const char *what) {
        fprintf(stderr, "bench/sweep: %s: %s\n", what, strerror(errno));
        exit(1);
}

static void add_sample(struct samples *s, double ms) {
        if (!s->ms && !(s->ms = calloc(MAX_SAMPLES, sizeof(double))))
                die("out of memory");
        if (s->n < MAX_SAMPLES)
                s->ms[s->n++] = ms;
}

static int compare_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

static void print_samples(const char *label, struct samples *s) {
        if (s->n == 0) {
                printf("  %-9s none\n", label);
                return;
        }
        qsort(s->ms, s->n, sizeof(double), compare_double);
        printf("  %-9s %7zu   median %9.3f ms   p99 %9.3f ms   max %9.3f ms\n", label, s->n, s->ms[s->n / 2],
               s->ms[s->n * 99 / 100], s->ms[s->n - 1]);
        s->n = 0;
}

/* ---- the node -------------------------------------------------------------------------------- */

static pid_t sleeper(void) {
        pid_t pid = fork();

        if (pid < 0)
                die("fork");
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;)
                        pause();
        }
        return pid;
}

static void spec_of(size_t i, struct s3_spec *spec) {
        *spec = (struct s3_spec) { .team = "bench", .read_only = true };
        snprintf(spec->bucket, sizeof(spec->bucket), "bench-%05zu", i);
}

static void mount_fuse(const char *path) {
        char options[128];
        int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

        if (fd < 0 || mkdir(path, 0755) < 0)
                die(path);
        snprintf(options, sizeof(options), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
        if (mount("s3fs", path, "fuse.s3fs", MS_NOSUID | MS_NODEV, options) < 0)
                die(path);
        close(fd);
}

/* N mounts of one s3fs, each held by one container, as nbmountd would have written them. */
static void write_state(const struct bench *b) {
        uint64_t s3fs_start = process_start_time(b->s3fs_pid), container_start = process_start_time(b->container_pid);
        struct json_object *root = json_object_new_object(), *mounts = json_object_new_array();

        for (size_t i = 0; i < b->n_mounts; i++) {
                struct json_object *m = json_object_new_object(), *refs = json_object_new_array(),
                                   *ref = json_object_new_object();
                char id[MOUNTD_ID_LEN + 1], name[MOUNTD_NAME_LEN + 1], path[PATH_MAX], container[32];
                struct s3_spec spec;

                spec_of(i, &spec);
                s3_spec_id(&spec, id);
                snprintf(name, sizeof(name), "%s-%08x", id, (unsigned) i);
                snprintf(path, sizeof(path), "%s/%s", b->d->paths.mounts_dir, name);
                snprintf(container, sizeof(container), "holder-%zu", i);
                mount_fuse(path);
                json_object_object_add(ref, "id", json_object_new_string(container));
                json_object_object_add(ref, "pid", json_object_new_int64(b->container_pid));
                json_object_object_add(ref, "start_time", json_object_new_uint64(container_start));
                json_object_array_add(refs, ref);
                json_object_object_add(m, "name", json_object_new_string(name));
                json_object_object_add(m, "spec", s3_spec_to_json(&spec));
                json_object_object_add(m, "state", json_object_new_string("ready"));
                json_object_object_add(m, "mountpoint", json_object_new_string(path));
                json_object_object_add(m, "s3fs_pid", json_object_new_int64(b->s3fs_pid));
                json_object_object_add(m, "s3fs_start_time", json_object_new_uint64(s3fs_start));
                json_object_object_add(m, "containers", refs);
                json_object_array_add(mounts, m);
        }
        json_object_object_add(root, "version", json_object_new_int(1));
        json_object_object_add(root, "mounts", mounts);
        if (json_object_to_file(b->d->paths.state_file, root) < 0)
                die(b->d->paths.state_file);
        json_object_put(root);
}

/* Everything in a private mount namespace, on a tmpfs over its /tmp; nbmountd's log lines of the
 * adoption go nowhere (later ones, none if all goes well, to stderr). */
static void make_node(struct bench *b, const char *dir) {
        struct mountd *d = calloc(1, sizeof(*d));
        struct nb_error err = {};
        static const char yaml[] = "cluster: bench\n";
        int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC), stderr_fd = dup(STDERR_FILENO);

        if (!d || null_fd < 0 || stderr_fd < 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("bench", "/tmp", "tmpfs", 0, "mode=0700") < 0 || mkdir(dir, 0700) < 0 ||
            (access("/dev/log", F_OK) == 0 && mount("/dev/null", "/dev/log", NULL, MS_BIND, NULL) < 0))
                die("a private mount namespace with a tmpfs");
        if (node_config_parse(yaml, strlen(yaml), "bench.yaml", &d->config, &err) < 0) {
                fprintf(stderr, "bench/sweep: %s\n", err.msg);
                exit(1);
        }
        pthread_mutex_init(&d->lock, NULL);
        {
                pthread_condattr_t attr;

                pthread_condattr_init(&attr);
                pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* as nbmountd's (main.c) */
                pthread_cond_init(&d->changed, &attr);
                pthread_condattr_destroy(&attr);
        }
        d->spawner.sock = -1;
        snprintf(d->paths.mounts_dir, sizeof(d->paths.mounts_dir), "%s/mounts", dir);
        snprintf(d->paths.keys_dir, sizeof(d->paths.keys_dir), "%s/keys", dir);
        snprintf(d->paths.logs_dir, sizeof(d->paths.logs_dir), "%s/logs", dir);
        snprintf(d->paths.state_file, sizeof(d->paths.state_file), "%s/mountd.json", dir);
        if (mkdir(d->paths.mounts_dir, 0700) < 0 || mkdir(d->paths.keys_dir, 0700) < 0 || mkdir(d->paths.logs_dir, 0700) < 0)
                die("RUN folders");
        b->d = d;
        watch.lock = &d->lock;
        write_state(b);
        dup2(null_fd, STDERR_FILENO);
        if (state_load(d, d->paths.state_file, &err) < 0) {
                fprintf(stdout, "bench/sweep: %s\n", err.msg);
                exit(1);
        }
        state_recover(d);
        dup2(stderr_fd, STDERR_FILENO); /* a sanitizer's report must be seen */
        close(stderr_fd);
        close(null_fd);
}

static size_t table_size(struct mountd *d) {
        size_t n = 0;

        pthread_mutex_lock(&d->lock);
        for (struct shared_mount *m = d->mounts; m; m = m->next)
                n++;
        pthread_mutex_unlock(&d->lock);
        return n;
}

/* ---- the measurement -------------------------------------------------------------------------- */

static void *sweeper(void *arg) {
        struct bench *b = arg;

        watch.sweeper = pthread_self();
        atomic_store(&watch.sweeper_known, true);
        while (!atomic_load(&b->stop)) {
                double start = now_ms();

                atomic_store(&watch.sweeping, true);
                registry_sweep(b->d);
                sweep_ended();
                add_sample(&b->sweeps, now_ms() - start);
        }
        atomic_store(&watch.sweeper_known, false);
        return NULL;
}

static void share_once(struct bench *b, size_t i, struct samples *acquire, struct samples *drop) {
        struct mountd_request req = { .op = MOUNTD_MOUNT, .pid = b->container_pid };
        char name[MOUNTD_NAME_LEN + 1];
        struct nb_error err = {};
        int fd = -1;
        double start = now_ms();

        snprintf(req.container, sizeof(req.container), "sharer-%zu", i);
        spec_of(i % b->n_mounts, &req.spec);
        if (registry_acquire(b->d, &req, &fd, name, &err) < 0) {
                printf("bench/sweep: a request failed: %s\n", err.msg);
                exit(1);
        }
        add_sample(acquire, now_ms() - start);
        close(fd);
        start = now_ms();
        registry_release(b->d, req.container);
        add_sample(drop, now_ms() - start);
}

/* Requests for b->seconds; with share, also an acquire and a release of an existing mount each round. */
static void requests(struct bench *b, bool share, struct samples *release, struct samples *acquire,
                     struct samples *drop) {
        double end = now_ms() + b->seconds * 1000;

        for (size_t i = 0; now_ms() < end; i++) {
                unsigned gap = atomic_load(&watch.gap_seq);
                double start = now_ms();

                registry_release(b->d, "holds-nothing");
                add_sample(release, now_ms() - start);
                if ((gap & 1) && atomic_load(&watch.gap_seq) == gap)
                        atomic_fetch_add(&watch.in_gap, 1);
                if (share)
                        share_once(b, i, acquire, drop);
        }
}

/* What every share and release also does under the lock: write the state file of the whole table. */
static void time_state_save(struct bench *b) {
        struct samples saves = {};

        for (int i = 0; i < 20; i++) {
                double start = now_ms();

                pthread_mutex_lock(&b->d->lock);
                state_save(b->d);
                pthread_mutex_unlock(&b->d->lock);
                add_sample(&saves, now_ms() - start);
        }
        printf("the state file of %zu mounts, written (under the lock, at every change):\n", b->n_mounts);
        print_samples("write", &saves);
        free(saves.ms);
}

static void run_case(struct bench *b, const char *label, bool sweeping, bool share) {
        struct samples release = {}, acquire = {}, drop = {};
        pthread_t thread;

        atomic_store(&b->stop, false);
        if (sweeping && pthread_create(&thread, NULL, sweeper, b) != 0)
                die("pthread_create");
        requests(b, share, &release, &acquire, &drop);
        atomic_store(&b->stop, true);
        if (sweeping)
                pthread_join(thread, NULL);
        printf("%s:\n", label);
        print_samples("release", &release);
        if (share) {
                print_samples("acquire", &acquire);
                print_samples("drop", &drop);
        }
        if (sweeping) {
                print_samples("sweep", &b->sweeps);
        }
        free(release.ms);
        free(acquire.ms);
        free(drop.ms);
}

#define CHECK_MIN_SWEEPS 3

static int check(struct bench *b) {
        struct samples release = {};
        size_t sweeps, inside;
        pthread_t thread;

        atomic_store(&b->stop, false);
        atomic_store(&watch.in_middle_gaps, 0);
        if (pthread_create(&thread, NULL, sweeper, b) != 0)
                die("pthread_create");
        while (b->sweeps.n < CHECK_MIN_SWEEPS)
                requests(b, false, &release, NULL, NULL);
        atomic_store(&b->stop, true);
        pthread_join(thread, NULL);
        sweeps = b->sweeps.n;
        inside = atomic_load(&watch.in_middle_gaps);
        qsort(b->sweeps.ms, sweeps, sizeof(double), compare_double);
        qsort(release.ms, release.n, sizeof(double), compare_double);
        printf("%s - sweep: a request completes while a sweep of %zu mounts runs: %zu of %zu releases ran between two of the lock's holds by one of %zu sweeps (median sweep %.1f ms, longest release %.1f ms)%s\n",
               inside > 0 ? "ok" : "not ok", b->n_mounts, inside, release.n, sweeps, b->sweeps.ms[sweeps / 2],
               release.ms[release.n - 1], inside > 0 ? "" : ": each sweep held the table's lock from its start to its end");
        free(release.ms);
        return 0;
}

static void free_node(struct bench *b) {
        while (b->d->mounts) {
                struct shared_mount *next = b->d->mounts->next;

                shared_mount_free(b->d->mounts);
                b->d->mounts = next;
        }
        free(b->d);
        free(b->sweeps.ms);
}

int main(int argc, char **argv) {
        static const struct option options[] = { { "mounts", required_argument, NULL, 'n' },
                                                 { "seconds", required_argument, NULL, 's' },
                                                 { "check", no_argument, NULL, 'c' },
                                                 {} };
        struct bench b = { .n_mounts = 2000, .seconds = 10 };
        const char *dir = "/tmp/nbmount-bench";
        bool check_only = false;
        double start;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (c == 'n')
                        b.n_mounts = strtoul(optarg, NULL, 10);
                else if (c == 's')
                        b.seconds = strtod(optarg, NULL);
                else if (c == 'c')
                        check_only = true;
                else
                        return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        b.s3fs_pid = sleeper();
        b.container_pid = sleeper();
        start = now_ms();
        make_node(&b, dir);
        if (table_size(b.d) != b.n_mounts) {
                printf("not ok - sweep: %zu of %zu mounts adopted\n", table_size(b.d), b.n_mounts);
                return 1;
        }
        if (!check_only)
                printf("%zu mounts adopted in %.0f ms\n", b.n_mounts, now_ms() - start);
        if (check_only)
                check(&b);
        else {
                time_state_save(&b);
                run_case(&b, "idle (no sweep), releases only", false, false);
                run_case(&b, "sweeping back to back, releases only", true, false);
                run_case(&b, "idle (no sweep), releases and a share each round", false, true);
                run_case(&b, "sweeping back to back, releases and a share each round", true, true);
        }
        kill(b.s3fs_pid, SIGKILL);
        kill(b.container_pid, SIGKILL);
        free_node(&b);
        return 0; /* the tmpfs and the mounts go with this namespace */
}
