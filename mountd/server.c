/* SPDX-License-Identifier: Apache-2.0 */
/* The root-only socket and one request per connection (a pending mount keeps its connection open
 * until the hook commits or leaves). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "mountd.h"
#include "mountstatus.h"
#include "util.h"

#define SD_LISTEN_FDS_START 3
/* A hook whose start takes this long past s3.mount_timeout after a pending answer is taken as failed. */
#define PENDING_COMMIT_GRACE_MS 30000

/* systemd socket activation (sd_listen_fds(3)): the socket is fd 3 when LISTEN_PID is this process. */
static int activated_socket(struct nb_error *err) {
        const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
        int type = 0;
        socklen_t len = sizeof(type);

        if (!pid || !fds || strtol(pid, NULL, 10) != getpid())
                return -ENOENT;
        if (!streq(fds, "1"))
                return nb_fail(err, EINVAL, "systemd passed %s sockets; nbmountd.socket must list exactly one", fds);
        if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
                return nb_fail(err, EINVAL, "the socket systemd passed is not a unix SOCK_SEQPACKET socket; nbmountd.socket needs ListenSequentialPacket=");
        fcntl(SD_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC);
        return SD_LISTEN_FDS_START;
}

/* A socket file nobody listens on is stale; one that answers belongs to another nbmountd. */
static int remove_stale_socket(const struct sockaddr_un *addr, struct nb_error *err) {
        _cleanup_close_ int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        struct stat st;

        if (lstat(addr->sun_path, &st) < 0)
                return 0;
        if (!S_ISSOCK(st.st_mode))
                return nb_fail(err, EEXIST, "%s exists and is not a socket; remove it or set mountd_socket elsewhere",
                               addr->sun_path);
        if (probe >= 0 && connect(probe, (const struct sockaddr *) addr, sizeof(*addr)) == 0)
                return nb_fail(err, EADDRINUSE, "another nbmountd already listens on %s; stop it first", addr->sun_path);
        unlink(addr->sun_path);
        return 0;
}

int server_open_socket(const struct mountd *d, struct nb_error *err) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        _cleanup_close_ int sock = -1;
        mode_t old_umask;
        int r;

        if ((r = activated_socket(err)) != -ENOENT)
                return r;
        if (strlen(d->config.mountd_socket) >= sizeof(addr.sun_path))
                return nb_fail(err, ENAMETOOLONG, "%s: too long for a unix socket", d->config.mountd_socket);
        memcpy(addr.sun_path, d->config.mountd_socket, strlen(d->config.mountd_socket) + 1);
        if ((r = remove_stale_socket(&addr, err)) < 0)
                return r;
        if ((sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
                return nb_fail(err, errno, "cannot make a socket: %s", strerror(errno));
        old_umask = umask(0177);
        r = bind(sock, (struct sockaddr *) &addr, sizeof(addr));
        umask(old_umask);
        if (r < 0 || chmod(addr.sun_path, 0600) < 0 || listen(sock, SOMAXCONN) < 0)
                return nb_fail(err, errno, "%s: cannot listen: %s", addr.sun_path, strerror(errno));
        return TAKE_FD(sock);
}

static int reply(int conn, struct json_object *message, int fd) {
        int r = mountd_send(conn, message, fd);

        json_object_put(message);
        return r;
}

static int reply_error(int conn, const char *text) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "ok", json_object_new_boolean(false));
        json_object_object_add(o, "error", json_object_new_string(text));
        return reply(conn, o, -1);
}

static struct json_object *ok_reply(void) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "ok", json_object_new_boolean(true));
        return o;
}

/* The hook's commit on the connection of a pending answer: 1 once it came, 0 when the hook closed the
 * connection (or sent anything else) or timeout_ms passed: its start did not go through. */
static int wait_commit(int conn, int64_t timeout_ms) {
        char buf[256];
        struct pollfd pfd = { .fd = conn, .events = POLLIN };
        _cleanup_(json_object_putp) struct json_object *message = NULL, *expected = NULL;
        size_t n = 0;
        int r;

        while ((r = poll(&pfd, 1, (int) MAX(timeout_ms, 0))) < 0 && errno == EINTR)
                ;
        if (r <= 0 || mountd_receive(conn, buf, sizeof(buf), &n, NULL) < 0)
                return 0;
        message = json_tokener_parse(buf);
        expected = json_tokener_parse(MOUNTD_COMMIT);
        return message && json_object_equal(message, expected) ? 1 : 0;
}

/* Rewrites the entry of the pending bucket in the notebook's status file; never fatal. */
static void update_status(struct mountd *d, const struct mountd_request *req, enum entry_state state,
                          const char *reason) {
        const struct status_place place = { .notebooks_root = d->config.notebooks_root, .team = req->spec.team,
                                            .notebook = req->notebook, .uid = req->spec.uid, .gid = req->spec.gid };
        struct nb_error err = {};
        int r;

        pthread_mutex_lock(&d->status_lock);
        r = mount_status_update(&place, req->container, req->target, state, reason, &err);
        pthread_mutex_unlock(&d->status_lock);

        if (r < 0)
                mountd_log(LOG_WARNING, "container %s (team %s, notebook %s): %s: the status file is not updated: %s, ignoring",
                           req->container, req->spec.team, req->notebook, req->target,
                           err.msg[0] ? err.msg : strerror(-r));
}

/* After the pending answer: the hook's commit, then the bucket, then the attach into the running
 * container and the status file. The connection's thread (counted in d->busy) does it all. */
static void finish_pending(struct mountd *d, int conn, struct pending *p, const char *url) {
        const struct mountd_request request = p->req, *req = &request; /* p goes with registry_pending_end() */
        int64_t commit_timeout = p->deadline_ms + PENDING_COMMIT_GRACE_MS - monotonic_ms();
        _cleanup_close_ int tree_fd = -1;
        struct nb_error err = {};
        int r;

        if (!wait_commit(conn, commit_timeout)) {
                mountd_log(LOG_INFO, "container %s (team %s): %s: its start did not go through (no commit from the hook); nothing is attached",
                           req->container, req->spec.team, req->target);
                registry_pending_end(d, p, false);
                return;
        }
        r = registry_pending_wait(d, p, &tree_fd, &err);
        if (r == -ECANCELED) {
                mountd_log(LOG_INFO, "container %s (team %s): %s: the container stopped before %s answered; nothing is attached",
                           req->container, req->spec.team, req->target, url);
                registry_pending_end(d, p, false);
                return;
        }
        if (r == 0 && (r = attach_late(d, p, tree_fd, &err)) < 0)
                nb_wrap(&err, r, "cannot attach %s into the running container: ", url);
        registry_pending_end(d, p, r == 0);
        if (r == 0)
                mountd_log(LOG_INFO, "container %s (team %s, notebook %s): %s: %s attached into the running container",
                           req->container, req->spec.team, req->notebook, req->target, url);
        else
                mountd_log(LOG_WARNING, "container %s (team %s, notebook %s): %s: %s skipped: %s", req->container,
                           req->spec.team, req->notebook, req->target, url, err.msg);
        update_status(d, req, r == 0 ? ENTRY_MOUNTED : ENTRY_SKIPPED, r == 0 ? "" : err.msg);
}

/* Not ready within start_wait: {"pending": true}, and the connection stays open for the commit. */
static void serve_pending(struct mountd *d, int conn, struct pending *p, const char *name, const char *url) {
        const struct mountd_request request = p->req, *req = &request; /* p goes with registry_pending_end() */
        struct json_object *o;

        if ((p->rootfs_fd = open(req->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
                struct nb_error err = {};

                nb_fail(&err, errno, "the container's root %s: %s", req->rootfs, strerror(errno));
                mountd_log(LOG_ERR, "container %s (team %s): %s refused: %s", req->container, req->spec.team, url, err.msg);
                registry_pending_end(d, p, false);
                reply_error(conn, err.msg);
                return;
        }
        o = ok_reply();
        json_object_object_add(o, "pending", json_object_new_boolean(true));
        json_object_object_add(o, "mount", json_object_new_string(name));
        if (reply(conn, o, -1) < 0) {
                mountd_log(LOG_WARNING, "container %s: its hook left before the answer; nothing is attached", req->container);
                registry_pending_end(d, p, false);
                return;
        }
        mountd_log(LOG_INFO, "container %s (team %s, notebook %s): %s: %s not ready within %u ms: pending, attached once it answers",
                   req->container, req->spec.team, req->notebook, req->target, url, req->start_wait_ms);
        finish_pending(d, conn, p, url);
}

static void serve_mount(struct mountd *d, int conn, const struct mountd_request *req) {
        char name[MOUNTD_NAME_LEN + 1], url[S3_BUCKET_MAX + S3_PREFIX_MAX + 8];
        struct nb_error err = {};
        _cleanup_close_ int tree_fd = -1;
        struct pending *pending = NULL;
        struct json_object *o;
        int r;

        s3_spec_url(&req->spec, url, sizeof(url));
        if ((r = registry_acquire_or_pend(d, req, &tree_fd, name, &pending, &err)) < 0) {
                mountd_log(LOG_ERR, "container %s (team %s): %s refused: %s", req->container, req->spec.team, url, err.msg);
                reply_error(conn, err.msg);
                return;
        }
        if (r == 1) {
                serve_pending(d, conn, pending, name, url);
                return;
        }
        o = ok_reply();
        json_object_object_add(o, "mount", json_object_new_string(name));
        if (reply(conn, o, tree_fd) < 0) {
                mountd_log(LOG_WARNING, "container %s: its hook left before the answer; its references are dropped",
                           req->container);
                registry_release(d, req->container);
                return;
        }
        mountd_log(LOG_INFO, "container %s (team %s): %s shared from %s", req->container, req->spec.team, url, name);
}

/* A stopped container's notebook: its offline copy is queued, and the hook answered at once. */
static void serve_offline(struct mountd *d, int conn, const struct mountd_request *req) {
        struct nb_error err = {};
        struct json_object *o;

        if (offline_request(d, req->spec.team, req->notebook, &err) < 0) {
                mountd_log(LOG_WARNING, "container %s (team %s, notebook %s): no offline copy: %s", req->container,
                           req->spec.team, req->notebook, err.msg);
                reply_error(conn, err.msg);
                return;
        }
        log_debug(d, "container %s (team %s, notebook %s): offline copy queued", req->container, req->spec.team,
                  req->notebook);
        o = ok_reply();
        json_object_object_add(o, "queued", json_object_new_boolean(true));
        reply(conn, o, -1);
}

static void serve(struct mountd *d, int conn, const struct mountd_request *req) {
        struct json_object *o;
        size_t dropped;

        switch (req->op) {
        case MOUNTD_MOUNT:
                serve_mount(d, conn, req);
                return;
        case MOUNTD_RELEASE:
                dropped = registry_release(d, req->container);
                if (dropped)
                        mountd_log(LOG_INFO, "container %s: released %zu mounts", req->container, dropped);
                o = ok_reply();
                json_object_object_add(o, "released", json_object_new_uint64(dropped));
                reply(conn, o, -1);
                return;
        case MOUNTD_OFFLINE:
                serve_offline(d, conn, req);
                return;
        case MOUNTD_LIST:
                o = ok_reply();
                json_object_object_add(o, "mounts", registry_list(d));
                reply(conn, o, -1);
                return;
        }
}

static void refuse_request(int conn, const struct ucred *peer, const char *why) {
        mountd_log(LOG_WARNING, "refused a request from pid %d: %s", (int) peer->pid, why);
        reply_error(conn, why);
}

/* The request is read even from a peer that is refused: closing a connection with its request unread
 * would reset it, and the peer would see ECONNRESET instead of the reason. */
void server_handle(struct mountd *d, int conn) {
        _cleanup_free_ char *buf = malloc(MOUNTD_MESSAGE_MAX);
        struct mountd_request req;
        struct nb_error err = {};
        struct ucred peer;
        size_t n = 0;
        int allowed, received;

        if (!buf)
                return;
        allowed = peer_check(d, conn, &peer, &err);
        received = mountd_receive(conn, buf, MOUNTD_MESSAGE_MAX, &n, NULL);
        if (allowed < 0) {
                mountd_log(LOG_WARNING, "refused a connection from uid %d (pid %d): %s", (int) peer.uid, (int) peer.pid,
                           err.msg);
                reply_error(conn, err.msg);
        } else if (received == -EBADMSG) {
                refuse_request(conn, &peer, "a request to nbmountd carries no file descriptor; this one did (closed)");
        } else if (received < 0) {
                if (received != -ECONNRESET)
                        reply_error(conn, received == -EMSGSIZE ? "request too large" : "cannot read the request");
        } else if (mountd_request_parse(buf, n, &req, &err) < 0) {
                refuse_request(conn, &peer, err.msg);
        } else {
                serve(d, conn, &req);
        }
}
