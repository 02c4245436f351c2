/* SPDX-License-Identifier: Apache-2.0 */
/* The table of shared mounts: who holds which, and when a mount starts and stops. One lock guards it;
 * nothing that costs in proportion to the node's mounts (mountinfo) is read under it. */
#include <errno.h>
#include <signal.h>
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

/* A mount is shared only with the key the secret file holds now: after a rotation, a start waits for
 * the mount with the new key (and the old one is replaced under its containers). */
static struct shared_mount *find(struct mountd *d, const struct s3_spec *spec, const struct secret_stamp *key) {
        for (struct shared_mount *m = d->mounts; m; m = m->next)
                if ((m->state == SHARED_MOUNTING || m->state == SHARED_READY) && !m->cancel &&
                    s3_spec_equal(&m->spec, spec) && secret_stamp_equal(&m->key_stamp, key))
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

static struct shared_mount *new_mount(const struct mountd *d, const struct s3_spec *spec,
                                      const struct secret_stamp *key) {
        struct shared_mount *m = calloc(1, sizeof(*m));
        struct timespec now;
        uint32_t instance = 0;

        if (!m)
                return NULL;
        m->spec = *spec;
        m->key_stamp = *key;
        m->key_generation = 1;
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

static void add_target(struct mount_ref *ref, const char *target) {
        if (!target[0] || ref->n_targets == MOUNT_REF_TARGETS)
                return;
        for (unsigned i = 0; i < ref->n_targets; i++)
                if (streq(ref->targets[i], target))
                        return;
        snprintf(ref->targets[ref->n_targets++], sizeof(ref->targets[0]), "%s", target);
}

/* The reference of container on m, a new one (zeroed) if it has none. */
static struct mount_ref *ref_of(struct shared_mount *m, const char *container) {
        struct mount_ref *ref = find_ref(m, container);

        if (ref)
                return ref;
        if (m->n_refs == m->cap_refs) {
                size_t cap = m->cap_refs ? 2 * m->cap_refs : 4;
                struct mount_ref *refs = reallocarray(m->refs, cap, sizeof(*refs));

                if (!refs)
                        return NULL;
                m->refs = refs;
                m->cap_refs = cap;
        }
        ref = &m->refs[m->n_refs++];
        *ref = (struct mount_ref) {};
        snprintf(ref->container, sizeof(ref->container), "%s", container);
        return ref;
}

/* A container holds one reference per mount, however often its hook asks; each ask is one use, and
 * where it shows the mount (target) is kept for a successor. */
static int add_ref(struct shared_mount *m, const struct mountd_request *req, uint64_t start_time) {
        struct mount_ref *ref = ref_of(m, req->container);

        if (!ref)
                return -ENOMEM;
        ref->pid = req->pid;
        ref->start_time = start_time;
        ref->uses++;
        if (req->notebook[0])
                name_copy(ref->notebook, req->notebook);
        add_target(ref, req->target);
        return 0;
}

/* A predecessor's reference moves to its successor m. */
static int merge_ref(struct shared_mount *m, const struct mount_ref *from) {
        struct mount_ref *ref = ref_of(m, from->container);

        if (!ref)
                return -ENOMEM;
        ref->pid = from->pid;
        ref->start_time = from->start_time;
        ref->uses += from->uses;
        if (from->notebook[0])
                name_copy(ref->notebook, from->notebook);
        for (unsigned i = 0; i < from->n_targets; i++)
                add_target(ref, from->targets[i]);
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
 * count, so parallel requests cannot overshoot; a mount being replaced counts as its successor. */
static int check_limits(const struct mountd *d, const char *team, struct nb_error *err) {
        unsigned team_limit = d->config.s3_max_mounts_per_team, node_limit = d->config.s3_max_mounts_per_node;
        size_t of_team = 0, of_node = 0;

        for (const struct shared_mount *m = d->mounts; m; m = m->next)
                if (m->state == SHARED_MOUNTING || (m->state == SHARED_READY && !m->replacing)) {
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

static void note_failure(struct shared_mount *m, const char *why) {
        snprintf(m->last_failure, sizeof(m->last_failure), "%s", why);
        m->last_failure_at = (int64_t) time(NULL);
}

/* Under the lock: m's s3fs died or stopped answering. Held by containers, m stays (SHARED_DEAD) with
 * their references until a successor is swapped in for them (registry_heal); held by nobody, it goes
 * into *dead, which the caller stops once the lock is released. */
static void mark_dead(struct mountd *d, struct shared_mount *m, const char *why, struct shared_mount **dead) {
        note_failure(m, why);
        if (m->n_refs == 0 && m->waiters == 0) {
                mountd_log(LOG_WARNING, "%s: %s: %s; nobody holds it: it is cleaned up", m->name, m->spec.bucket, why);
                unlink_mount(d, m);
                m->next = *dead;
                *dead = m;
        } else {
                mountd_log(LOG_WARNING, "%s: %s: %s; a new s3fs is started for its %zu containers", m->name,
                           m->spec.bucket, why, m->n_refs);
                m->state = SHARED_DEAD;
                m->replacing = false;
                m->heal_at_ms = 0;
        }
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

/* ---- successors: a new s3fs swapped in under the containers of a dead or rotated mount ----------- */

/* What a successor that turned ready takes over, done once the lock is released: the swaps in the
 * running containers, then the predecessors stopped. */
struct takeover {
        struct swap_job *jobs;
        struct shared_mount *replaced;
        char name[MOUNTD_NAME_LEN + 1], mountpoint[PATH_MAX];
};

/* p waits for a successor like s: its s3fs died, or its key changed. */
static bool is_predecessor(const struct shared_mount *p, const struct shared_mount *s) {
        return p != s && s3_spec_equal(&p->spec, &s->spec) &&
               (p->state == SHARED_DEAD || (p->state == SHARED_READY && p->replacing));
}

static struct swap_job *swap_job_for(const struct shared_mount *p, const struct mount_ref *ref) {
        struct swap_job *job = calloc(1, sizeof(*job));

        if (!job)
                return NULL;
        memcpy(job->container, ref->container, sizeof(job->container));
        job->pid = ref->pid;
        job->start_time = ref->start_time;
        job->n_targets = ref->n_targets;
        memcpy(job->targets, ref->targets, sizeof(job->targets));
        job->old_dev = p->dev;
        job->read_only = p->spec.read_only;
        return job;
}

static void inherit(struct shared_mount *s, const struct shared_mount *p) {
        s->restarts = MAX(s->restarts, p->restarts + (p->state == SHARED_DEAD));
        s->key_generation = MAX(s->key_generation, p->key_generation + !secret_stamp_equal(&p->key_stamp, &s->key_stamp));
        if (p->last_failure_at > s->last_failure_at) {
                memcpy(s->last_failure, p->last_failure, sizeof(s->last_failure));
                s->last_failure_at = p->last_failure_at;
        }
}

/* Under the lock, s ready: the references of every predecessor move to s, and *t gets what to do once
 * the lock is released. */
static void take_over(struct mountd *d, struct shared_mount *s, struct takeover *t) {
        memcpy(t->name, s->name, sizeof(t->name));
        memcpy(t->mountpoint, s->mountpoint, sizeof(t->mountpoint));
        for (struct shared_mount **pp = &d->mounts; *pp;) {
                struct shared_mount *p = *pp;

                if (!is_predecessor(p, s)) {
                        pp = &p->next;
                        continue;
                }
                for (size_t i = 0; i < p->n_refs; i++) {
                        struct swap_job *job = swap_job_for(p, &p->refs[i]);

                        if (merge_ref(s, &p->refs[i]) < 0 || !job) {
                                mountd_log(LOG_ERR, "%s: out of memory: container %s keeps the old mount", s->name,
                                           p->refs[i].container);
                                free(job);
                                continue;
                        }
                        job->next = t->jobs;
                        t->jobs = job;
                }
                inherit(s, p);
                *pp = p->next;
                p->next = t->replaced;
                t->replaced = p;
        }
}


static void run_takeover(struct mountd *d, struct takeover *t) {
        char why[MOUNTD_NAME_LEN + 32];

        while (t->jobs) {
                struct swap_job *job = t->jobs;
                char details[1024];
                struct nb_error err = {};

                t->jobs = job->next;
                if (swap_in_container(job, t->mountpoint, details, sizeof(details), &err) < 0)
                        mountd_log(LOG_WARNING, "%s: not swapped in: %s", t->name, err.msg);
                else
                        mountd_log(LOG_INFO, "%s: swapped in for the old mount in container %s%s%s", t->name,
                                   job->container, details[0] ? ": " : "", details);
                free(job);
        }
        snprintf(why, sizeof(why), "replaced by %s", t->name);
        stop_all(d, t->replaced, why);
        t->replaced = NULL;
}

#define HEAL_BACKOFF_MAX_MS 30000

/* Each notebook holding p is told why (in its status file, once the lock is released). */
static void add_notes(const struct shared_mount *p, const char *why, struct status_note **notes) {
        for (size_t i = 0; i < p->n_refs; i++)
                for (unsigned j = 0; p->refs[i].notebook[0] && j < p->refs[i].n_targets; j++) {
                        struct status_note *note = calloc(1, sizeof(*note));

                        if (!note)
                                return;
                        memcpy(note->container, p->refs[i].container, sizeof(note->container));
                        name_copy(note->team, p->spec.team);
                        name_copy(note->notebook, p->refs[i].notebook);
                        memcpy(note->target, p->refs[i].targets[j], sizeof(note->target));
                        note->uid = p->spec.uid;
                        note->gid = p->spec.gid;
                        snprintf(note->reason, sizeof(note->reason), "%s", why);
                        note->next = *notes;
                        *notes = note;
                }
}

static void send_notes(struct mountd *d, struct status_note *notes) {
        while (notes) {
                struct status_note *next = notes->next;

                mountd_status_note(d, notes);
                free(notes);
                notes = next;
        }
}

/* Under the lock: s, a successor, failed. A dead predecessor tries again later; a rotated one keeps
 * serving with its old key, and the refusal is reported (the log, `nbmount mounts`, *notes). */
static void successor_failed(struct mountd *d, const struct shared_mount *s, struct status_note **notes) {
        for (struct shared_mount *p = d->mounts; p; p = p->next) {
                char why[NB_ERROR_MAX];

                if (!is_predecessor(p, s) || !p->replacing)
                        continue;
                p->replacing = false;
                if (p->state == SHARED_DEAD) {
                        p->heal_at_ms = monotonic_ms() + MIN(1000LL << MIN(p->heal_attempts, 5U), HEAL_BACKOFF_MAX_MS);
                        p->heal_attempts++;
                        snprintf(why, sizeof(why), "no new s3fs yet (attempt %u): %.900s", p->heal_attempts, s->error);
                } else {
                        p->refused_stamp = s->key_stamp;
                        snprintf(why, sizeof(why), "the changed secret %.64s was refused; still serving with key generation %u: %.800s",
                                 s->spec.secret, p->key_generation, s->error);
                        add_notes(p, why, notes);
                }
                note_failure(p, why);
                mountd_log(LOG_WARNING, "%s: %s", p->name, why);
        }
}

/* A mounter thread (counted in d->busy): makes m, so that a request may stop waiting at its start_wait
 * while s3fs keeps trying. A ready mount that nobody holds or waits for any more is stopped at once;
 * a failed one nobody waits for is freed. */
static void *mount_in_background(void *arg) {
        struct mounter *job = arg;
        struct mountd *d = job->d;
        struct shared_mount *m = job->m, *stopping = NULL, *unused = NULL;
        struct takeover takeover = {};
        struct status_note *notes = NULL;
        struct nb_error err = {};
        int r;

        free(job);
        r = s3fs_mount(d, m, &err);
        pthread_mutex_lock(&d->lock);
        if (r < 0) {
                m->state = SHARED_FAILED;
                snprintf(m->error, sizeof(m->error), "%s", err.msg);
                unlink_mount(d, m);
                successor_failed(d, m, &notes);
                resolve_pending(d, m);
                if (m->waiters == 0)
                        unused = m;
        } else {
                m->state = SHARED_READY;
                mountd_log(LOG_INFO, "%s: mounted %s/%s for team %s (s3fs pid %d)", m->name, m->spec.bucket,
                           m->spec.prefix, m->spec.team, (int) m->s3fs_pid);
                take_over(d, m, &takeover);
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
        run_takeover(d, &takeover);
        send_notes(d, notes);
        stop_all(d, stopping, "nobody waits for it any more");
        pthread_mutex_lock(&d->lock);
        d->busy--;
        pthread_cond_broadcast(&d->changed);
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

/* Under the lock: a new mount of spec with the key of the secret file as key says, in the table,
 * made by a mounter thread. */
static int start_mount(struct mountd *d, const struct s3_spec *spec, const struct secret_stamp *key,
                       struct shared_mount **ret, struct nb_error *err) {
        struct mounter *job = malloc(sizeof(*job));
        struct shared_mount *m = new_mount(d, spec, key);
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
static int get_ready(struct mountd *d, const struct s3_spec *spec, const struct secret_stamp *key,
                     int64_t wait_until_ms, bool may_pend, struct shared_mount **ret, struct shared_mount **dead,
                     struct nb_error *err) {
        for (;;) {
                struct shared_mount *m = find(d, spec, key);
                int r;

                if (m && m->state == SHARED_READY && usable(d, m)) {
                        *ret = m;
                        return 0;
                }
                if (m && m->state == SHARED_READY && m->waiters > 0)
                        return nb_fail(err, EIO, "s3fs of %s died as it became ready; try again", spec->bucket);
                if (m && m->state == SHARED_READY) {
                        mark_dead(d, m, "s3fs died (found by a request)", dead);
                        m = NULL;
                }
                if (!m && ((r = check_limits(d, spec->team, err)) < 0 || (r = start_mount(d, spec, key, &m, err)) < 0))
                        return r;
                if (!m)
                        return nb_fail(err, EIO, "no mount came out of the table");
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
        struct secret_stamp key;
        int r;

        if (start_time == 0)
                return nb_fail(err, ESRCH, "container %s: its init process %d is gone", req->container, (int) req->pid);
        secret_stamp_read(d, &req->spec, &key); /* a missing secret: the mount fails and says why */
        pthread_mutex_lock(&d->lock);
        r = get_ready(d, &req->spec, &key, until, req->start_wait_ms > 0 && ret_pending, &m, &dead, err);
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
        if (stopping)
                save(d);
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

                if ((m->state == SHARED_READY || m->state == SHARED_DEAD) && m->n_refs == 0 && m->waiters == 0) {
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
        for (const struct shared_mount *m = d->mounts; m; m = m->next) {
                s->n_mounts += m->state == SHARED_READY;
                n_refs += m->state == SHARED_READY || m->state == SHARED_DEAD ? m->n_refs : 0;
        }
        s->mounts = calloc(s->n_mounts + 1, sizeof(*s->mounts));
        s->processes = calloc(n_refs + 1, sizeof(*s->processes));
        if (!s->mounts || !s->processes)
                return -ENOMEM;
        s->n_mounts = 0;
        for (struct shared_mount *m = d->mounts; m; m = m->next) {
                if (m->state == SHARED_DEAD)
                        for (size_t i = 0; i < m->n_refs; i++)
                                s->processes[s->n_processes++] = (struct sweep_process) { .pid = m->refs[i].pid,
                                                                                          .start_time = m->refs[i].start_time };
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

                if ((m->state == SHARED_READY || m->state == SHARED_DEAD) && drop_gone_refs(m, s))
                        changed = true;
                if (m->state == SHARED_READY && m->waiters == 0 && m->sweep_round == s->round &&
                    s->mounts[m->sweep_slot].dead) {
                        mark_dead(d, m, "s3fs died (found by the sweep)", dead);
                        changed = true;
                        if (*p != m)
                                continue; /* taken out */
                }
                p = &m->next;
        }
        return changed;
}

/* Drops references of containers whose init is gone and takes out mounts whose s3fs died. */
void registry_sweep(struct mountd *d) {
        struct shared_mount *stopping = NULL, *dead = NULL;
        struct sweep s = {};
        bool changed;
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
        changed = apply(d, &s, &dead);
        collect_unused(d, &stopping);
        if (changed || stopping) /* after the collection: a mount it takes out must not stay listed */
                save(d);
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

/* ---- healing and rotation (heal.c's thread) ------------------------------------------------------ */

size_t registry_watch_list(struct mountd *d, struct watched_mount **ret) {
        size_t n = 0;

        *ret = NULL;
        pthread_mutex_lock(&d->lock);
        for (const struct shared_mount *m = d->mounts; m; m = m->next)
                n += m->state == SHARED_READY;
        if (n == 0 || !(*ret = calloc(n, sizeof(**ret)))) {
                pthread_mutex_unlock(&d->lock);
                return 0;
        }
        n = 0;
        for (const struct shared_mount *m = d->mounts; m; m = m->next) {
                if (m->state != SHARED_READY)
                        continue;
                memcpy((*ret)[n].name, m->name, sizeof(m->name));
                if (m->spec.secret[0])
                        name_copy((*ret)[n].team, m->spec.team);
                memcpy((*ret)[n].mountpoint, m->mountpoint, sizeof(m->mountpoint));
                (*ret)[n].s3fs_pid = m->s3fs_pid;
                (*ret)[n].s3fs_start_time = m->s3fs_start_time;
                n++;
        }
        pthread_mutex_unlock(&d->lock);
        return n;
}

void registry_s3fs_failed(struct mountd *d, const struct watched_mount *w, const char *why, bool hung) {
        struct shared_mount *m, *dead = NULL;

        pthread_mutex_lock(&d->lock);
        m = find_by_name(d, w->name);
        if (m && m->state == SHARED_READY && m->s3fs_start_time == w->s3fs_start_time) {
                if (hung && process_is(m->s3fs_pid, m->s3fs_start_time))
                        kill(m->s3fs_pid, SIGKILL); /* its FUSE connection ends with it: every clone says ENOTCONN */
                mark_dead(d, m, why, &dead);
        }
        pthread_mutex_unlock(&d->lock);
        stop_all(d, dead, "s3fs died");
}

/* Under the lock: m's secret file changed since its key was read (and not to one already refused). */
static bool key_changed(const struct mountd *d, const struct shared_mount *m, struct secret_stamp *now) {
        if (!m->spec.secret[0] || secret_stamp_read(d, &m->spec, now) < 0)
                return false; /* a removed secret: running notebooks keep what they have */
        return !secret_stamp_equal(now, &m->key_stamp) && !secret_stamp_equal(now, &m->refused_stamp);
}

/* Under the lock: m needs a successor: one being made takes m over once ready, a ready one at once
 * (into *t: 1), else one is started. */
static int find_successor(struct mountd *d, struct shared_mount *m, const struct secret_stamp *key,
                          struct takeover *t) {
        struct shared_mount *s = find(d, &m->spec, key);
        struct nb_error err = {};

        m->replacing = true;
        if (s && s->state == SHARED_READY) {
                take_over(d, s, t);
                return 1;
        }
        if (s || start_mount(d, &m->spec, key, &s, &err) == 0)
                return 0;
        m->replacing = false;
        if (m->state == SHARED_DEAD) {
                m->heal_at_ms = monotonic_ms() + HEAL_BACKOFF_MAX_MS;
                note_failure(m, err.msg);
        }
        mountd_log(LOG_ERR, "%s: cannot start a new s3fs: %s", m->name, err.msg);
        return 0;
}

void registry_heal(struct mountd *d) {
        struct takeover t = {};
        bool changed = false;

        pthread_mutex_lock(&d->lock);
        for (struct shared_mount *m = d->mounts; m; m = m->next) {
                struct secret_stamp key = m->key_stamp;

                if (m->replacing)
                        continue;
                if (m->state == SHARED_DEAD && m->heal_at_ms <= monotonic_ms()) {
                        if (m->spec.secret[0])
                                secret_stamp_read(d, &m->spec, &key);
                } else if (m->state == SHARED_READY && key_changed(d, m, &key)) {
                        mountd_log(LOG_INFO, "%s: secret %s of team %s changed: a new s3fs with the new key is swapped in",
                                   m->name, m->spec.secret, m->spec.team);
                } else {
                        continue;
                }
                changed = true;
                if (find_successor(d, m, &key, &t) == 1)
                        break; /* the table changed under the loop; the next round goes on */
        }
        if (changed)
                save(d);
        pthread_mutex_unlock(&d->lock);
        run_takeover(d, &t);
}
