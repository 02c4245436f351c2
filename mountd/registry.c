/* SPDX-License-Identifier: Apache-2.0 */
/* The table of shared mounts: who holds which, and when a mount starts and stops. One lock guards it;
 * nothing that costs in proportion to the node's mounts (mountinfo) is read under it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mountd.h"
#include "util.h"

void shared_mount_free(struct shared_mount *m) {
        if (!m)
                return;
        free(m->refs);
        free(m);
}

static struct shared_mount *find(struct mountd *d, const struct s3_spec *spec) {
        for (struct shared_mount *m = d->mounts; m; m = m->next)
                if (m->state != SHARED_FAILED && !m->cancel && s3_spec_equal(&m->spec, spec))
                        return m;
        return NULL;
}

static void unlink_mount(struct mountd *d, struct shared_mount *m) {
        for (struct shared_mount **p = &d->mounts; *p; p = &(*p)->next)
                if (*p == m) {
                        *p = m->next;
                        m->next = NULL;
                        return;
                }
}

static struct shared_mount *new_mount(const struct mountd *d, const struct s3_spec *spec) {
        struct shared_mount *m = calloc(1, sizeof(*m));
        struct timespec now;
        uint32_t instance = 0;

        if (!m)
                return NULL;
        m->spec = *spec;
        m->state = SHARED_MOUNTING;
        s3_spec_id(spec, m->id);
        if (getrandom(&instance, sizeof(instance), GRND_NONBLOCK) != sizeof(instance)) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                instance = (uint32_t) now.tv_nsec ^ (uint32_t) getpid();
        }
        snprintf(m->name, sizeof(m->name), "%s-%08x", m->id, instance);
        snprintf(m->mountpoint, sizeof(m->mountpoint), "%s/%s", d->paths.mounts_dir, m->name);
        return m;
}

static struct mount_ref *find_ref(struct shared_mount *m, const char *container) {
        for (size_t i = 0; i < m->n_refs; i++)
                if (streq(m->refs[i].container, container))
                        return &m->refs[i];
        return NULL;
}

/* A container holds one reference per mount, however often its hook asks; each ask is one use. */
static int add_ref(struct shared_mount *m, const struct mountd_request *req, uint64_t start_time) {
        struct mount_ref *ref = find_ref(m, req->container);
        unsigned uses = ref ? ref->uses : 0;

        if (!ref) {
                if (m->n_refs == m->cap_refs) {
                        size_t cap = m->cap_refs ? 2 * m->cap_refs : 4;
                        struct mount_ref *refs = reallocarray(m->refs, cap, sizeof(*refs));

                        if (!refs)
                                return -ENOMEM;
                        m->refs = refs;
                        m->cap_refs = cap;
                }
                ref = &m->refs[m->n_refs++];
        }
        *ref = (struct mount_ref) { .pid = req->pid, .start_time = start_time, .uses = uses + 1 };
        snprintf(ref->container, sizeof(ref->container), "%s", req->container);
        return 0;
}

static void drop_ref(struct shared_mount *m, size_t i) {
        m->refs[i] = m->refs[--m->n_refs];
}

static void save(struct mountd *d) {
        int r = state_save(d);

        if (r < 0)
                mountd_log(LOG_ERR, "%s: cannot save the state: %s; a restart now would forget the latest changes",
                           d->paths.state_file, strerror(-r));
}

/* Its s3fs lives and its mount is in place: a /proc read and a statx, whatever the table holds. */
static bool usable(const struct mountd *d, const struct shared_mount *m) {
        return process_is(m->s3fs_pid, m->s3fs_start_time) && mount_in_place(d, m);
}

/* Over a limit of node.yaml, a new mount is refused; sharing one costs nothing. Mounts being made
 * count, so parallel requests cannot overshoot. */
static int check_limits(const struct mountd *d, const char *team, struct nb_error *err) {
        unsigned team_limit = d->config.s3_max_mounts_per_team, node_limit = d->config.s3_max_mounts_per_node;
        size_t of_team = 0, of_node = 0;

        for (const struct shared_mount *m = d->mounts; m; m = m->next)
                if (m->state != SHARED_FAILED) {
                        of_node++;
                        of_team += streq(m->spec.team, team);
                }
        if (of_team >= team_limit)
                return nb_fail(err, EDQUOT,
                               "team %s already has %zu S3 mounts on this node (s3.max_mounts_per_team: %u); stop a notebook that uses buckets, or ask the operator to raise the limit",
                               team, of_team, team_limit);
        if (of_node >= node_limit)
                return nb_fail(err, EDQUOT,
                               "this node already has %zu S3 mounts (s3.max_mounts_per_node: %u); start the notebook on another node, or ask the operator to raise the limit",
                               of_node, node_limit);
        return 0;
}

/* A mount found dead by a request goes at once, with its references (as the sweep would take it):
 * into *dead, which the caller stops once the lock is released. */
static void take_out_dead(struct mountd *d, struct shared_mount *m, struct shared_mount **dead) {
        mountd_log(LOG_WARNING, "%s: s3fs of %s died; the mount is cleaned up and the next start mounts it again",
                   m->name, m->spec.bucket);
        unlink_mount(d, m);
        m->next = *dead;
        *dead = m;
        save(d);
}

int64_t monotonic_ms(void) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Waits on d->changed (CLOCK_MONOTONIC) until deadline_ms; false once it has passed. */
static bool wait_changed(struct mountd *d, int64_t deadline_ms) {
        struct timespec until = { .tv_sec = deadline_ms / 1000, .tv_nsec = (deadline_ms % 1000) * 1000000 };

        return pthread_cond_timedwait(&d->changed, &d->lock, &until) != ETIMEDOUT;
}

/* The last waiter of a mount still being made is gone: its mounter stops s3fs at once. */
static void leave_mounting(struct shared_mount *m) {
        if (--m->waiters == 0 && m->state == SHARED_MOUNTING)
                __atomic_store_n(&m->cancel, true, __ATOMIC_RELAXED);
}

static void stop_all(struct mountd *d, struct shared_mount *stopping, const char *why);

/* A clone of the ready mount m for the container of req, which gets (one more use of) its reference:
 * the fd, or -errno with why in err. */
static int clone_and_hold(struct shared_mount *m, const struct mountd_request *req, uint64_t start_time,
                          struct nb_error *err) {
        int fd = s3fs_clone(m);

        if (fd < 0)
                return nb_fail(err, fd, "%.900s: cannot clone the mount: %s", m->mountpoint, strerror(-fd));
        if (add_ref(m, req, start_time) < 0) {
                close(fd);
                return nb_fail(err, ENOMEM, "out of memory");
        }
        return fd;
}

/* Under the lock, by m's mounter once m is ready: every pending request of m gets its reference and
 * its clone (or the reason it cannot have them). */
static void resolve_pending(struct mountd *d, struct shared_mount *m) {
        for (struct pending *p = d->pending; p; p = p->next) {
                struct nb_error why = {};
                int fd;

                if (p->mount != m)
                        continue;
                p->mount = NULL;
                m->waiters--;
                p->state = PENDING_FAILED;
                if (m->state == SHARED_FAILED) {
                        snprintf(p->error, sizeof(p->error), "%s", m->error);
                } else if ((fd = clone_and_hold(m, &p->req, p->start_time, &why)) < 0) {
                        snprintf(p->error, sizeof(p->error), "%s", why.msg);
                } else {
                        p->tree_fd = fd;
                        p->ref_taken = true;
                        p->state = PENDING_READY;
                }
        }
}

struct mounter {
        struct mountd *d;
        struct shared_mount *m;
};

/* A mounter thread (counted in d->busy): makes m, so that a request may stop waiting at its start_wait
 * while s3fs keeps trying. A ready mount that nobody holds or waits for any more is stopped at once;
 * a failed one nobody waits for is freed. */
static void *mount_in_background(void *arg) {
        struct mounter *job = arg;
        struct mountd *d = job->d;
        struct shared_mount *m = job->m, *stopping = NULL, *unused = NULL;
        struct nb_error err = {};
        int r;

        free(job);
        r = s3fs_mount(d, m, &err);
        pthread_mutex_lock(&d->lock);
        if (r < 0) {
                m->state = SHARED_FAILED;
                snprintf(m->error, sizeof(m->error), "%s", err.msg);
                unlink_mount(d, m);
                resolve_pending(d, m);
                if (m->waiters == 0)
                        unused = m;
        } else {
                m->state = SHARED_READY;
                mountd_log(LOG_INFO, "%s: mounted %s/%s for team %s (s3fs pid %d)", m->name, m->spec.bucket,
                           m->spec.prefix, m->spec.team, (int) m->s3fs_pid);
                resolve_pending(d, m);
                if (m->waiters == 0 && m->n_refs == 0) {
                        unlink_mount(d, m);
                        stopping = m;
                }
                save(d);
        }
        pthread_cond_broadcast(&d->changed);
        pthread_mutex_unlock(&d->lock);
        shared_mount_free(unused);
        stop_all(d, stopping, "nobody waits for it any more");
        pthread_mutex_lock(&d->lock);
        d->busy--;
        pthread_cond_broadcast(&d->changed);
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

/* Under the lock: a new mount of spec in the table, made by a mounter thread. */
static int start_mount(struct mountd *d, const struct s3_spec *spec, struct shared_mount **ret, struct nb_error *err) {
        struct mounter *job = malloc(sizeof(*job));
        struct shared_mount *m = new_mount(d, spec);
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        if (!job || !m) {
                free(job);
                shared_mount_free(m);
                return nb_fail(err, ENOMEM, "out of memory");
        }
        *job = (struct mounter) { .d = d, .m = m };
        m->next = d->mounts;
        d->mounts = m;
        d->busy++;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&thread, &attr, mount_in_background, job);
        pthread_attr_destroy(&attr);
        if (r != 0) {
                d->busy--;
                unlink_mount(d, m);
                shared_mount_free(m);
                free(job);
                return nb_fail(err, r, "cannot start a thread to mount %s: %s", spec->bucket, strerror(r));
        }
        *ret = m;
        return 0;
}

/* Waits for m, being made, until wait_until_ms: 0 once it is ready, its error once it failed; still
 * mounting then: 1 when may_pend (the caller keeps the waiter count), else -ETIMEDOUT. */
static int wait_for(struct mountd *d, struct shared_mount *m, int64_t wait_until_ms, bool may_pend,
                    struct nb_error *err) {
        int r;

        m->waiters++;
        while (m->state == SHARED_MOUNTING && !(may_pend && d->stopping) && wait_changed(d, wait_until_ms))
                ;
        if (m->state == SHARED_MOUNTING && may_pend && !d->stopping)
                return 1;
        if (m->state == SHARED_MOUNTING) {
                leave_mounting(m);
                return nb_fail(err, ETIMEDOUT, d->stopping ? "nbmountd is stopping" : "s3://%s did not answer in time",
                               m->spec.bucket);
        }
        m->waiters--;
        if (m->state != SHARED_FAILED)
                return 0;
        r = nb_fail(err, EIO, "%s", m->error);
        if (m->waiters == 0)
                shared_mount_free(m);
        return r;
}

/* Ready (0), failed while waited for (its error), still mounting at wait_until_ms (1 when
 * may_pend: the caller keeps the waiter count, else -ETIMEDOUT), dead (into *dead, then as
 * gone), or gone (mounted afresh, within the limits). */
static int get_ready(struct mountd *d, const struct s3_spec *spec, int64_t wait_until_ms, bool may_pend,
                     struct shared_mount **ret, struct shared_mount **dead, struct nb_error *err) {
        for (;;) {
                struct shared_mount *m = find(d, spec);
                int r;

                if (m && m->state == SHARED_READY && usable(d, m)) {
                        *ret = m;
                        return 0;
                }
                if (m && m->state == SHARED_READY && m->waiters > 0)
                        return nb_fail(err, EIO, "s3fs of %s died as it became ready; try again", spec->bucket);
                if (m && m->state == SHARED_READY) {
                        take_out_dead(d, m, dead);
                        m = NULL;
                }
                if (!m && ((r = check_limits(d, spec->team, err)) < 0 || (r = start_mount(d, spec, &m, err)) < 0))
                        return r;
                if ((r = wait_for(d, m, wait_until_ms, may_pend, err)) != 0) {
                        if (r == 1)
                                *ret = m;
                        return r;
                }
        }
}

/* A reference for req on the ready mount m and a clone for the hook. */
static int take_ready(struct mountd *d, struct shared_mount *m, const struct mountd_request *req, uint64_t start_time,
                      int *ret_tree_fd, char *ret_id, struct nb_error *err) {
        int fd = clone_and_hold(m, req, start_time, err);

        if (fd < 0)
                return fd;
        save(d);
        *ret_tree_fd = fd;
        snprintf(ret_id, MOUNTD_NAME_LEN + 1, "%s", m->name);
        return 0;
}

static int new_pending(struct mountd *d, struct shared_mount *m, const struct mountd_request *req, uint64_t start_time,
                       int64_t started_ms, struct pending **ret, struct nb_error *err) {
        struct pending *p = calloc(1, sizeof(*p));

        if (!p) {
                leave_mounting(m);
                return nb_fail(err, ENOMEM, "out of memory");
        }
        *p = (struct pending) { .req = *req, .start_time = start_time, .mount = m, .state = PENDING_WAITING,
                                .rootfs_fd = -1, .tree_fd = -1,
                                /* past the mounter's own (it says why the bucket did not answer) */
                                .deadline_ms = started_ms + (int64_t) d->config.s3_mount_timeout_s * 1000 + 3000 };
        memcpy(p->name, m->name, sizeof(p->name));
        p->next = d->pending;
        d->pending = p;
        *ret = p;
        return 1;
}

int registry_acquire_or_pend(struct mountd *d, const struct mountd_request *req, int *ret_tree_fd, char *ret_id,
                             struct pending **ret_pending, struct nb_error *err) {
        uint64_t start_time = process_start_time(req->pid);
        int64_t now = monotonic_ms();
        /* the mounter gives up at mount_timeout, and takes up to 2 s to stop s3fs */
        int64_t until = now + (req->start_wait_ms ? (int64_t) req->start_wait_ms
                                                  : (int64_t) d->config.s3_mount_timeout_s * 1000 + 3000);
        struct shared_mount *m = NULL, *dead = NULL;
        int r;

        if (start_time == 0)
                return nb_fail(err, ESRCH, "container %s: its init process %d is gone", req->container, (int) req->pid);
        pthread_mutex_lock(&d->lock);
        r = get_ready(d, &req->spec, until, req->start_wait_ms > 0 && ret_pending, &m, &dead, err);
        if (r >= 0 && !m)
                r = nb_fail(err, EIO, "no mount came out of the table");
        else if (r == 0)
                r = take_ready(d, m, req, start_time, ret_tree_fd, ret_id, err);
        else if (r == 1 && ret_pending && (r = new_pending(d, m, req, start_time, now, ret_pending, err)) == 1)
                snprintf(ret_id, MOUNTD_NAME_LEN + 1, "%s", m->name);
        pthread_mutex_unlock(&d->lock);
        stop_all(d, dead, "s3fs died");
        return r;
}

int registry_acquire(struct mountd *d, const struct mountd_request *req, int *ret_tree_fd, char *ret_id,
                     struct nb_error *err) {
        return registry_acquire_or_pend(d, req, ret_tree_fd, ret_id, NULL, err);
}

int registry_pending_wait(struct mountd *d, struct pending *p, int *ret_tree_fd, struct nb_error *err) {
        int r;

        pthread_mutex_lock(&d->lock);
        while (p->state == PENDING_WAITING && !p->canceled && !d->stopping && wait_changed(d, p->deadline_ms))
                ;
        if (p->canceled)
                r = -ECANCELED;
        else if (p->state == PENDING_READY)
                r = 0, *ret_tree_fd = TAKE_FD(p->tree_fd);
        else if (p->state == PENDING_FAILED)
                r = nb_fail(err, EIO, "%s", p->error);
        else
                r = nb_fail(err, ETIMEDOUT, d->stopping ? "nbmountd stopped before s3://%s%s%s answered"
                                                        : "s3://%s%s%s: the bucket did not answer within %u s",
                            p->req.spec.bucket, p->req.spec.prefix[0] ? "/" : "", p->req.spec.prefix,
                            d->config.s3_mount_timeout_s);
        pthread_mutex_unlock(&d->lock);
        return r;
}

static struct shared_mount *find_by_name(struct mountd *d, const char *name) {
        for (struct shared_mount *m = d->mounts; m; m = m->next)
                if (streq(m->name, name))
                        return m;
        return NULL;
}

static void collect_unused(struct mountd *d, struct shared_mount **stopping);

void registry_pending_end(struct mountd *d, struct pending *p, bool attached) {
        struct shared_mount *stopping = NULL, *m;

        pthread_mutex_lock(&d->lock);
        for (struct pending **q = &d->pending; *q; q = &(*q)->next)
                if (*q == p) {
                        *q = p->next;
                        break;
                }
        if (p->state == PENDING_WAITING && p->mount)
                leave_mounting(p->mount);
        /* a failed attach gives its use back; another entry of the container may hold the mount too */
        if (p->state == PENDING_READY && !attached && p->ref_taken && !p->canceled && (m = find_by_name(d, p->name))) {
                for (size_t i = 0; i < m->n_refs; i++)
                        if (streq(m->refs[i].container, p->req.container)) {
                                if (m->refs[i].uses <= 1)
                                        drop_ref(m, i);
                                else
                                        m->refs[i].uses--;
                                break;
                        }
                save(d);
        }
        collect_unused(d, &stopping);
        pthread_cond_broadcast(&d->changed);
        pthread_mutex_unlock(&d->lock);
        closep(&p->tree_fd);
        closep(&p->rootfs_fd);
        free(p);
        stop_all(d, stopping, "nobody holds it");
}

/* Takes every ready mount that nobody holds or waits for out of the table into *stopping. */
static void collect_unused(struct mountd *d, struct shared_mount **stopping) {
        struct shared_mount **p = &d->mounts;

        while (*p) {
                struct shared_mount *m = *p;

                if (m->state == SHARED_READY && m->n_refs == 0 && m->waiters == 0) {
                        *p = m->next;
                        m->next = *stopping;
                        *stopping = m;
                } else {
                        p = &m->next;
                }
        }
}

static void stop_all(struct mountd *d, struct shared_mount *stopping, const char *why) {
        while (stopping) {
                struct shared_mount *next = stopping->next;

                mountd_log(LOG_INFO, "%s: unmounting %s (%s)", stopping->name, stopping->spec.bucket, why);
                s3fs_unmount(d, stopping);
                shared_mount_free(stopping);
                stopping = next;
        }
}

/* The container stopped: its pending requests attach nothing; a mount still being made that only they
 * waited for is stopped at once. */
static void cancel_pending(struct mountd *d, const char *container) {
        for (struct pending *p = d->pending; p; p = p->next) {
                if (!streq(p->req.container, container))
                        continue;
                p->canceled = true;
                if (p->state == PENDING_WAITING && p->mount) {
                        leave_mounting(p->mount);
                        p->mount = NULL;
                        p->state = PENDING_FAILED;
                        snprintf(p->error, sizeof(p->error), "container %s stopped", container);
                }
        }
        pthread_cond_broadcast(&d->changed);
}

size_t registry_release(struct mountd *d, const char *container) {
        struct shared_mount *stopping = NULL;
        size_t dropped = 0;

        pthread_mutex_lock(&d->lock);
        cancel_pending(d, container);
        for (struct shared_mount *m = d->mounts; m; m = m->next)
                for (size_t i = 0; i < m->n_refs; i++)
                        if (streq(m->refs[i].container, container)) {
                                drop_ref(m, i--);
                                dropped++;
                        }
        collect_unused(d, &stopping);
        if (dropped)
                save(d);
        pthread_mutex_unlock(&d->lock);
        stop_all(d, stopping, "its last container stopped");
        return dropped;
}

/* ---- the sweep: judged outside the lock -------------------------------------------------------------
 * Under the lock, a snapshot of what to judge: every ready mount (its s3fs and its mount) and every
 * process holding a reference. Without it, the judging: one parse of mountinfo for all the mounts, a
 * /proc read per process. Under the lock again, the verdicts are applied to what the table holds
 * then: a mount by its identity (round and slot, set in the snapshot: a mount added meanwhile has
 * neither, one taken out is not in the table), a reference by its process (pid and start time: a
 * process that is gone stays gone). */

struct sweep_mount {
        pid_t s3fs_pid;
        uint64_t s3fs_start_time, mnt_id;
        char name[MOUNTD_NAME_LEN + 1];
        bool dead;
};

struct sweep_process {
        pid_t pid;
        uint64_t start_time;
        bool gone;
};

struct sweep {
        uint64_t round;
        size_t n_mounts, n_processes;
        struct sweep_mount *mounts;
        struct sweep_process *processes;
};

static void sweep_free(struct sweep *s) {
        free(s->mounts);
        free(s->processes);
}

static int compare_processes(const void *a, const void *b) {
        const struct sweep_process *x = a, *y = b;

        if (x->pid != y->pid)
                return x->pid < y->pid ? -1 : 1;
        return (x->start_time > y->start_time) - (x->start_time < y->start_time);
}

/* Under the lock. */
static int snapshot(struct mountd *d, struct sweep *s) {
        size_t n_refs = 0;

        s->round = ++d->sweep_round;
        for (const struct shared_mount *m = d->mounts; m; m = m->next)
                if (m->state == SHARED_READY) {
                        s->n_mounts++;
                        n_refs += m->n_refs;
                }
        s->mounts = calloc(s->n_mounts + 1, sizeof(*s->mounts));
        s->processes = calloc(n_refs + 1, sizeof(*s->processes));
        if (!s->mounts || !s->processes)
                return -ENOMEM;
        s->n_mounts = 0;
        for (struct shared_mount *m = d->mounts; m; m = m->next) {
                if (m->state != SHARED_READY)
                        continue;
                m->sweep_round = s->round;
                m->sweep_slot = s->n_mounts;
                s->mounts[s->n_mounts++] = (struct sweep_mount) { .s3fs_pid = m->s3fs_pid,
                                                                  .s3fs_start_time = m->s3fs_start_time,
                                                                  .mnt_id = m->mnt_id };
                memcpy(s->mounts[s->n_mounts - 1].name, m->name, sizeof(m->name));
                for (size_t i = 0; i < m->n_refs; i++)
                        s->processes[s->n_processes++] = (struct sweep_process) { .pid = m->refs[i].pid,
                                                                                  .start_time = m->refs[i].start_time };
        }
        return 0;
}

/* Without the lock: /proc and mountinfo. */
static int judge(const struct mountd *d, struct sweep *s) {
        _cleanup_(mount_set_free) struct mount_set mounted = {};
        size_t unique = 0;
        int r;

        if ((r = mount_set_load(d->paths.mounts_dir, &mounted)) < 0)
                return r;
        for (size_t i = 0; i < s->n_mounts; i++) {
                struct sweep_mount *m = &s->mounts[i];

                m->dead = !process_is(m->s3fs_pid, m->s3fs_start_time) || !mount_set_find(&mounted, m->name, m->mnt_id);
        }
        qsort(s->processes, s->n_processes, sizeof(*s->processes), compare_processes);
        for (size_t i = 0; i < s->n_processes; i++)
                if (unique == 0 || compare_processes(&s->processes[unique - 1], &s->processes[i]) != 0)
                        s->processes[unique++] = s->processes[i];
        s->n_processes = unique;
        for (size_t i = 0; i < s->n_processes; i++)
                s->processes[i].gone = !process_is(s->processes[i].pid, s->processes[i].start_time);
        return 0;
}

static bool ref_is_gone(const struct sweep *s, const struct mount_ref *ref) {
        const struct sweep_process key = { .pid = ref->pid, .start_time = ref->start_time };
        const struct sweep_process *found =
                s->n_processes ? bsearch(&key, s->processes, s->n_processes, sizeof(key), compare_processes) : NULL;

        return found && found->gone;
}

static size_t drop_gone_refs(struct shared_mount *m, const struct sweep *s) {
        size_t dropped = 0;

        for (size_t i = 0; i < m->n_refs; i++)
                if (ref_is_gone(s, &m->refs[i])) {
                        mountd_log(LOG_INFO, "%s: container %s is gone without a poststop; its reference is dropped",
                                   m->name, m->refs[i].container);
                        drop_ref(m, i--);
                        dropped++;
                }
        return dropped;
}

/* Under the lock: dead mounts into *dead, references of vanished containers dropped. */
static bool apply(struct mountd *d, const struct sweep *s, struct shared_mount **dead) {
        bool changed = false;

        for (struct shared_mount **p = &d->mounts; *p;) {
                struct shared_mount *m = *p;

                if (m->state == SHARED_READY && m->waiters == 0 && m->sweep_round == s->round &&
                    s->mounts[m->sweep_slot].dead) {
                        mountd_log(LOG_WARNING, "%s: s3fs of %s died; the mount is cleaned up and the next start mounts it again",
                                   m->name, m->spec.bucket);
                        *p = m->next;
                        m->next = *dead;
                        *dead = m;
                        changed = true;
                        continue;
                }
                if (m->state == SHARED_READY && drop_gone_refs(m, s))
                        changed = true;
                p = &m->next;
        }
        return changed;
}

/* Drops references of containers whose init is gone and takes out mounts whose s3fs died. */
void registry_sweep(struct mountd *d) {
        struct shared_mount *stopping = NULL, *dead = NULL;
        struct sweep s = {};
        int r;

        pthread_mutex_lock(&d->lock);
        r = snapshot(d, &s);
        pthread_mutex_unlock(&d->lock);
        if (r < 0 || (r = judge(d, &s)) < 0) {
                mountd_log(LOG_ERR, "cannot sweep: %s; the next sweep tries again", strerror(-r));
                sweep_free(&s);
                return;
        }
        pthread_mutex_lock(&d->lock);
        if (apply(d, &s, &dead))
                save(d);
        collect_unused(d, &stopping);
        pthread_mutex_unlock(&d->lock);
        sweep_free(&s);
        stop_all(d, dead, "s3fs died");
        stop_all(d, stopping, "its last container is gone");
}

/* Health (s3fs alive, mount in place) is judged after the lock, with one parse of mountinfo. */
struct json_object *registry_list(struct mountd *d) {
        _cleanup_(mount_set_free) struct mount_set mounted = {};
        struct json_object *list = json_object_new_array();
        _cleanup_free_ struct sweep_mount *health = NULL;
        size_t n = 0;

        pthread_mutex_lock(&d->lock);
        for (const struct shared_mount *m = d->mounts; m; m = m->next)
                n++;
        health = calloc(n + 1, sizeof(*health));
        n = 0;
        for (const struct shared_mount *m = d->mounts; m && health; m = m->next, n++) {
                json_object_array_add(list, shared_mount_to_json(m));
                health[n] = (struct sweep_mount) { .s3fs_pid = m->s3fs_pid, .s3fs_start_time = m->s3fs_start_time,
                                                   .mnt_id = m->mnt_id };
                memcpy(health[n].name, m->name, sizeof(m->name));
        }
        pthread_mutex_unlock(&d->lock);
        if (mount_set_load(d->paths.mounts_dir, &mounted) < 0)
                mountd_log(LOG_WARNING, "cannot read /proc/self/mountinfo: every mount is listed as not mounted");
        for (size_t i = 0; health && i < n; i++) {
                struct json_object *o = json_object_array_get_idx(list, i);

                json_object_object_add(o, "s3fs_alive",
                                       json_object_new_boolean(process_is(health[i].s3fs_pid, health[i].s3fs_start_time)));
                json_object_object_add(o, "mounted",
                                       json_object_new_boolean(mount_set_find(&mounted, health[i].name, health[i].mnt_id) != 0));
        }
        return list;
}
