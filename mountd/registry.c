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
                if (m->state != SHARED_FAILED && s3_spec_equal(&m->spec, spec))
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

/* A container holds one reference per mount, however often its hook asks. */
static int add_ref(struct shared_mount *m, const struct mountd_request *req, uint64_t start_time) {
        struct mount_ref *ref = find_ref(m, req->container);

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
        *ref = (struct mount_ref) { .pid = req->pid, .start_time = start_time };
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

/* Mounts m with the lock released; waiters of the same spec sleep on d->changed meanwhile. */
static int mount_new(struct mountd *d, struct shared_mount *m, struct nb_error *err) {
        int r;

        pthread_mutex_unlock(&d->lock);
        r = s3fs_mount(d, m, err);
        pthread_mutex_lock(&d->lock);
        if (r < 0) {
                m->state = SHARED_FAILED;
                snprintf(m->error, sizeof(m->error), "%s", err->msg);
                unlink_mount(d, m);
        } else {
                m->state = SHARED_READY;
        }
        pthread_cond_broadcast(&d->changed);
        return r;
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

/* Ready, mounting (wait for it), failed while waited for (its error), dead (into *dead, then as
 * gone), or gone (mount afresh, within the limits). */
static int get_ready(struct mountd *d, const struct s3_spec *spec, struct shared_mount **ret,
                     struct shared_mount **dead, struct nb_error *err) {
        struct shared_mount *m;
        int r;

        while ((m = find(d, spec)) && m->state == SHARED_MOUNTING) {
                m->waiters++;
                while (m->state == SHARED_MOUNTING)
                        pthread_cond_wait(&d->changed, &d->lock);
                m->waiters--;
                if (m->state == SHARED_FAILED) {
                        r = nb_fail(err, EIO, "%s", m->error);
                        if (m->waiters == 0)
                                shared_mount_free(m);
                        return r;
                }
        }
        if (m && usable(d, m)) {
                *ret = m;
                return 0;
        }
        if (m)
                take_out_dead(d, m, dead);
        if ((r = check_limits(d, spec->team, err)) < 0)
                return r;
        if (!(m = new_mount(d, spec)))
                return nb_fail(err, ENOMEM, "out of memory");
        m->next = d->mounts;
        d->mounts = m;
        if ((r = mount_new(d, m, err)) < 0) {
                if (m->waiters == 0)
                        shared_mount_free(m);
                return r;
        }
        mountd_log(LOG_INFO, "%s: mounted %s/%s for team %s (s3fs pid %d)", m->name, spec->bucket, spec->prefix,
                   spec->team, (int) m->s3fs_pid);
        *ret = m;
        return 0;
}

static void stop_all(struct mountd *d, struct shared_mount *stopping, const char *why);

int registry_acquire(struct mountd *d, const struct mountd_request *req, int *ret_tree_fd, char *ret_id,
                     struct nb_error *err) {
        uint64_t start_time = process_start_time(req->pid);
        struct shared_mount *m = NULL, *dead = NULL;
        int r, fd;

        if (start_time == 0)
                return nb_fail(err, ESRCH, "container %s: its init process %d is gone", req->container, (int) req->pid);
        pthread_mutex_lock(&d->lock);
        if ((r = get_ready(d, &req->spec, &m, &dead, err)) < 0)
                goto out;
        if (!m) {
                r = nb_fail(err, EIO, "no mount came out of the table");
                goto out;
        }
        if ((fd = s3fs_clone(m)) < 0) {
                r = nb_fail(err, fd, "%s: cannot clone the mount: %s", m->mountpoint, strerror(-fd));
                goto out;
        }
        if ((r = add_ref(m, req, start_time)) < 0) {
                close(fd);
                r = nb_fail(err, r, "out of memory");
                goto out;
        }
        save(d);
        *ret_tree_fd = fd;
        snprintf(ret_id, MOUNTD_NAME_LEN + 1, "%s", m->name);
        r = 0;
out:
        pthread_mutex_unlock(&d->lock);
        stop_all(d, dead, "s3fs died");
        return r;
}

/* Takes every unreferenced ready mount out of the table into *stopping. */
static void collect_unused(struct mountd *d, struct shared_mount **stopping) {
        struct shared_mount **p = &d->mounts;

        while (*p) {
                struct shared_mount *m = *p;

                if (m->state == SHARED_READY && m->n_refs == 0) {
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

size_t registry_release(struct mountd *d, const char *container) {
        struct shared_mount *stopping = NULL;
        size_t dropped = 0;

        pthread_mutex_lock(&d->lock);
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

                if (m->state == SHARED_READY && m->sweep_round == s->round && s->mounts[m->sweep_slot].dead) {
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
