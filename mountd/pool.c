/* SPDX-License-Identifier: Apache-2.0 */
/* The threads that accept and serve connections, as leader and followers: one worker at a time (the
 * leader) waits on the socket; once it has accepted a connection, it makes an idle worker the leader
 * and serves the connection itself. No thread is started for a request and none hands it to another,
 * so a share costs one wake-up in nbmountd. When no worker is idle a new one starts before the leader
 * serves, so a connection that blocks (a mount being made, a pending request waiting for the hook's
 * commit) never holds up another; workers beyond POOL_IDLE_MAX idle ones end. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mountd.h"
#include "util.h"

#define POOL_IDLE_MAX 4
#define CONNECTION_TIMEOUT_S 5

int pool_init(struct pool *p, int listen_fd, struct nb_error *err) {
        pthread_condattr_t attr;

        *p = (struct pool) { .listen_fd = listen_fd, .stop_fd = eventfd(0, EFD_CLOEXEC) };
        if (p->stop_fd < 0)
                return nb_fail(err, errno, "cannot make an eventfd: %s", strerror(errno));
        pthread_mutex_init(&p->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&p->wakeup, &attr);
        pthread_condattr_destroy(&attr);
        return 0;
}

/* The leader's wait: a connection, or -1 once the pool stops or an accept failed (out of fds, say:
 * then after a pause, or the leader would spin on a socket that stays readable). */
static int next_connection(struct pool *p) {
        struct pollfd fds[2] = { { .fd = p->listen_fd, .events = POLLIN }, { .fd = p->stop_fd, .events = POLLIN } };
        struct timeval tv = { .tv_sec = CONNECTION_TIMEOUT_S };
        int fd;

        if (poll(fds, 2, -1) < 0 || fds[1].revents || !(fds[0].revents & POLLIN))
                return -1;
        /* only the leader accepts: the connection poll saw is still queued for it */
        if ((fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
                if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
                        poll(NULL, 0, 50);
                return -1;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        return fd;
}

static void *work(void *arg);

/* Under the lock: a worker that starts and becomes the leader. */
static int add_worker(struct mountd *d) {
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = pthread_create(&thread, &attr, work, d);
        pthread_attr_destroy(&attr);
        if (r == 0)
                d->pool.workers++;
        return -r;
}

/* Under the lock, by the leader that has a connection: another worker leads meanwhile. */
static void hand_over(struct mountd *d) {
        struct pool *p = &d->pool;

        p->has_leader = false;
        if (p->idle > 0)
                pthread_cond_signal(&p->wakeup);
        else if (add_worker(d) < 0)
                mountd_log(LOG_ERR, "cannot start a thread for requests: out of resources; the next request waits for this one");
}

static void serve(struct mountd *d, int conn) {
        pthread_mutex_lock(&d->lock);
        d->busy++;
        pthread_mutex_unlock(&d->lock);
        server_handle(d, conn);
        close(conn);
        pthread_mutex_lock(&d->lock);
        d->busy--;
        pthread_cond_broadcast(&d->changed);
        pthread_mutex_unlock(&d->lock);
}

/* Follower until there is no leader, leader until a connection comes, then its server. */
static void *work(void *arg) {
        struct mountd *d = arg;
        struct pool *p = &d->pool;

        pthread_mutex_lock(&p->lock);
        while (!p->stopping) {
                int conn;

                if (p->has_leader) {
                        if (p->idle >= POOL_IDLE_MAX)
                                break;
                        p->idle++;
                        pthread_cond_wait(&p->wakeup, &p->lock);
                        p->idle--;
                        continue;
                }
                p->has_leader = true;
                pthread_mutex_unlock(&p->lock);
                conn = next_connection(p);
                pthread_mutex_lock(&p->lock);
                if (conn < 0) {
                        p->has_leader = false;
                        continue;
                }
                hand_over(d);
                pthread_mutex_unlock(&p->lock);
                serve(d, conn);
                pthread_mutex_lock(&p->lock);
        }
        p->workers--;
        pthread_cond_broadcast(&p->wakeup);
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

/* A leader and an idle follower: even the first request starts no thread. */
int pool_start(struct mountd *d) {
        int r;

        pthread_mutex_lock(&d->pool.lock);
        if ((r = add_worker(d)) == 0)
                r = add_worker(d);
        pthread_mutex_unlock(&d->pool.lock);
        return r;
}

bool pool_stop(struct mountd *d, unsigned deadline_s) {
        struct pool *p = &d->pool;
        const uint64_t one = 1;
        struct timespec deadline;
        bool stopped;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += deadline_s;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        pthread_cond_broadcast(&p->wakeup);
        if (write(p->stop_fd, &one, sizeof(one)) < 0)
                mountd_log(LOG_WARNING, "cannot wake the thread waiting for requests: %s, ignoring", strerror(errno));
        while (p->workers > 0 && pthread_cond_timedwait(&p->wakeup, &p->lock, &deadline) == 0)
                ;
        stopped = p->workers == 0;
        pthread_mutex_unlock(&p->lock);
        return stopped;
}
