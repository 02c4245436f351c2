/* The table of shared mounts: who holds which, and when a mount starts and stops. */
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

/* Ready, mounting (wait for it), failed while waited for (its error), or gone (mount afresh). */
static int get_ready(struct mountd *d, const struct s3_spec *spec, struct shared_mount **ret, struct nb_error *err) {
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
        if (m && process_is(m->s3fs_pid, m->s3fs_start_time) && s3fs_mounted(m->mountpoint)) {
                *ret = m;
                return 0;
        }
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

int registry_acquire(struct mountd *d, const struct mountd_request *req, int *ret_tree_fd, char *ret_id,
                     struct nb_error *err) {
        uint64_t start_time = process_start_time(req->pid);
        struct shared_mount *m = NULL;
        int r, fd;

        if (start_time == 0)
                return nb_fail(err, ESRCH, "container %s: its init process %d is gone", req->container, (int) req->pid);
        pthread_mutex_lock(&d->lock);
        if ((r = get_ready(d, &req->spec, &m, err)) < 0)
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

/* s3fs gone, or its mount gone from under it: the mount is dead. */
static bool is_dead(const struct shared_mount *m) {
        return !process_is(m->s3fs_pid, m->s3fs_start_time) || !s3fs_mounted(m->mountpoint);
}

static size_t drop_dead_refs(struct shared_mount *m) {
        size_t dropped = 0;

        for (size_t i = 0; i < m->n_refs; i++)
                if (!process_is(m->refs[i].pid, m->refs[i].start_time)) {
                        mountd_log(LOG_INFO, "%s: container %s is gone without a poststop; its reference is dropped",
                                   m->name, m->refs[i].container);
                        drop_ref(m, i--);
                        dropped++;
                }
        return dropped;
}

/* Drops references of containers whose init is gone and takes out mounts whose s3fs died. */
void registry_sweep(struct mountd *d) {
        struct shared_mount *stopping = NULL, *dead = NULL, **p;
        bool changed = false;

        pthread_mutex_lock(&d->lock);
        for (p = &d->mounts; *p;) {
                struct shared_mount *m = *p;

                if (m->state == SHARED_READY && is_dead(m)) {
                        mountd_log(LOG_WARNING, "%s: s3fs of %s died; the mount is cleaned up and the next start mounts it again",
                                   m->name, m->spec.bucket);
                        *p = m->next;
                        m->next = dead;
                        dead = m;
                        changed = true;
                        continue;
                }
                if (m->state == SHARED_READY && drop_dead_refs(m))
                        changed = true;
                p = &m->next;
        }
        collect_unused(d, &stopping);
        if (changed)
                save(d);
        pthread_mutex_unlock(&d->lock);
        stop_all(d, dead, "s3fs died");
        stop_all(d, stopping, "its last container is gone");
}

struct json_object *registry_list(struct mountd *d) {
        struct json_object *list = json_object_new_array();

        pthread_mutex_lock(&d->lock);
        for (struct shared_mount *m = d->mounts; m; m = m->next)
                json_object_array_add(list, shared_mount_to_json(m, true));
        pthread_mutex_unlock(&d->lock);
        return list;
}
