/* SPDX-License-Identifier: Apache-2.0 */
/* Who may use nbmountd: root in nbmountd's own mount and user namespaces, that is the host's hook and
 * `nbmount` (issue 11, item 9). Root in a container without a user namespace has uid 0 too, and could
 * ask for any team's bucket if the socket were reachable from it.
 *
 * The peer is judged through a pidfd, never through its pid alone: SO_PEERPIDFD (Linux 6.5) names the
 * very process that connected; on older kernels pidfd_open() of the SO_PEERCRED pid (a pid that was
 * reused before that call is not caught there). /proc/PID/ns/ is read by pid, then the pidfd must
 * still be alive: as long as it is, no other process can hold that pid, so the namespaces read were
 * the peer's. Reading /proc/PID/ns/ of the hook (not dumpable, more capabilities than nbmountd) needs
 * CAP_SYS_PTRACE (confine.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "mountd.h"
#include "util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5; Debian 12's headers predate it */
#endif

static int ns_of(const char *pid_dir, const char *ns, struct ns_id *ret) {
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "%s/ns/%s", pid_dir, ns);
        if (stat(path, &st) < 0)
                return -errno;
        *ret = (struct ns_id) { .dev = st.st_dev, .ino = st.st_ino };
        return 0;
}

static bool ns_equal(const struct ns_id *a, const struct ns_id *b) {
        return a->dev == b->dev && a->ino == b->ino;
}

int peer_own_namespaces(struct mountd_namespaces *ret, struct nb_error *err) {
        int r;

        if ((r = ns_of("/proc/self", "mnt", &ret->mnt)) < 0 || (r = ns_of("/proc/self", "user", &ret->user)) < 0)
                return nb_fail(err, r, "cannot read nbmountd's own namespaces in /proc/self/ns: %s", strerror(-r));
        return 0;
}

/* A pidfd of the process that connected. */
static int peer_pidfd(int conn, pid_t pid) {
        int pidfd = -1;
        socklen_t len = sizeof(pidfd);

        if (getsockopt(conn, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
                return pidfd;
        if (errno != ENOPROTOOPT)
                return -errno;
        pidfd = pidfd_open(pid, 0);
        return pidfd < 0 ? -errno : pidfd;
}

static bool has_exited(int pidfd) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

        return poll(&pfd, 1, 0) != 0;
}

static int check_namespaces(const struct mountd_namespaces *own, pid_t pid, int pidfd, struct nb_error *err) {
        struct mountd_namespaces peer = {};
        char pid_dir[32];
        int r;

        snprintf(pid_dir, sizeof(pid_dir), "/proc/%d", (int) pid);
        if ((r = ns_of(pid_dir, "mnt", &peer.mnt)) < 0 || (r = ns_of(pid_dir, "user", &peer.user)) < 0)
                return nb_fail(err, EPERM, "cannot read the namespaces of process %d: %s", (int) pid, strerror(-r));
        if (has_exited(pidfd))
                return nb_fail(err, EPERM, "process %d exited while nbmountd checked it", (int) pid);
        if (!ns_equal(&peer.mnt, &own->mnt) || !ns_equal(&peer.user, &own->user))
                return nb_fail(err, EPERM,
                               "process %d is in another %s namespace than nbmountd (a container?); nbmountd serves only nbmount on the host",
                               (int) pid, ns_equal(&peer.mnt, &own->mnt) ? "user" : "mount");
        return 0;
}

int peer_check(const struct mountd *d, int conn, struct ucred *peer, struct nb_error *err) {
        _cleanup_close_ int pidfd = -1;
        socklen_t len = sizeof(*peer);

        *peer = (struct ucred) { .pid = 0, .uid = (uid_t) -1, .gid = (gid_t) -1 };
        if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, peer, &len) < 0)
                return nb_fail(err, errno, "cannot tell who connected: %s", strerror(errno));
        if (peer->uid != 0)
                return nb_fail(err, EPERM, "only root may use nbmountd");
        if ((pidfd = peer_pidfd(conn, peer->pid)) < 0)
                return nb_fail(err, EPERM, "cannot hold process %d while checking it: %s", (int) peer->pid,
                               strerror(-pidfd));
        return check_namespaces(&d->namespaces, peer->pid, pidfd, err);
}
