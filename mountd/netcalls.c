/* SPDX-License-Identifier: Apache-2.0 */
/* The supervisor's side of s3fs's network calls (s3fs's filter: jailfilter.c). For each notified
 * connect(), sendto(), sendmsg() or sendmmsg(), it copies the destination (and, for a send, the data)
 * out of s3fs's memory once, judges the copy (netpolicy.h), and makes the call itself, with that copy,
 * on its own duplicate of s3fs's socket (pidfd_getfd()); s3fs's call returns what that call returned.
 * Nothing s3fs changes in its memory or its descriptor table after the check can change what happens:
 * the supervisor never lets the kernel run s3fs's own call (no SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 * A file descriptor passed with SCM_RIGHTS is duplicated the same way; any other control message is
 * refused, and so is MSG_FASTOPEN (a send that connects). */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "netaddr.h"
#include "mountd.h"
#include "util.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9 */
#endif

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_CONF_MAX 65536

/* ---- s3fs's memory and descriptors -------------------------------------------------------------- */

/* The notification is still pending: its task has not gone (and its pid not been reused). */
static bool still_valid(const struct netcalls *c, const struct seccomp_notif *req) {
        uint64_t id = req->id;

        return ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* An address in s3fs's memory, which only process_vm_readv() and process_vm_writev() ever follow. */
static void *remote(uint64_t address) {
        return (void *) (uintptr_t) address; /* NOLINT(performance-no-int-to-ptr): another process's address */
}

static int target_read(const struct netcalls *c, const struct seccomp_notif *req, uint64_t address, void *buf,
                       size_t len) {
        struct iovec local = { .iov_base = buf, .iov_len = len }, there = { .iov_base = remote(address), .iov_len = len };
        ssize_t n;

        if (len == 0)
                return 0;
        n = process_vm_readv((pid_t) req->pid, &local, 1, &there, 1, 0);
        if (n < 0 && errno != EFAULT)
                return -EPERM;
        if (n != (ssize_t) len)
                return -EFAULT;
        return still_valid(c, req) ? 0 : -ESRCH;
}

static int target_write(const struct seccomp_notif *req, uint64_t address, const void *buf, size_t len) {
        struct iovec local = { .iov_base = (void *) buf, .iov_len = len }, there = { .iov_base = remote(address), .iov_len = len };

        return process_vm_writev((pid_t) req->pid, &local, 1, &there, 1, 0) == (ssize_t) len ? 0 : -EFAULT;
}

/* Linux before 6.9 has no pidfd of a thread: the thread group's leader shares its descriptors. */
static int thread_group_of(pid_t tid) {
        char path[64], buf[1024], *line;
        _cleanup_close_ int fd = -1;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) tid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                return -ESRCH;
        buf[n] = '\0';
        line = strstr(buf, "\nTgid:");
        return line ? (int) strtol(line + strlen("\nTgid:"), NULL, 10) : -ESRCH;
}

/* Our own duplicate of s3fs's descriptor fd (CLOEXEC), or -errno (EBADF as s3fs would get it). */
static int target_fd(const struct netcalls *c, const struct seccomp_notif *req, int fd) {
        _cleanup_close_ int pidfd = pidfd_open((pid_t) req->pid, PIDFD_THREAD);
        int tgid, copy;

        if (pidfd < 0 && errno == EINVAL && (tgid = thread_group_of((pid_t) req->pid)) > 0)
                pidfd = pidfd_open(tgid, 0);
        if (pidfd < 0)
                return -ESRCH;
        if (!still_valid(c, req))
                return -ESRCH;
        copy = pidfd_getfd(pidfd, fd, 0);
        if (copy < 0)
                return errno == EBADF ? -EBADF : -EPERM;
        return copy;
}

/* ---- the policy ---------------------------------------------------------------------------------- */

static void read_resolvers(struct netcalls *c) {
        _cleanup_close_ int fd = open(RESOLV_CONF, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        _cleanup_free_ char *text = malloc(RESOLV_CONF_MAX + 1);
        ssize_t n;

        memset(&c->resolv_conf, 0, sizeof(c->resolv_conf));
        if (fd < 0 || !text || fstat(fd, &c->resolv_conf) < 0 || (n = read(fd, text, RESOLV_CONF_MAX)) < 0)
                n = 0;
        if (text)
                text[n] = '\0';
        c->policy.n_resolvers = netpolicy_parse_resolvers(text ? text : "", c->policy.resolvers, NETPOLICY_RESOLVERS_MAX);
}

/* /etc/resolv.conf changed since it was read (glibc in s3fs reads it again then too). */
static bool resolvers_changed(const struct netcalls *c) {
        struct stat st;

        if (stat(RESOLV_CONF, &st) < 0)
                return c->resolv_conf.st_ino != 0;
        return st.st_ino != c->resolv_conf.st_ino || st.st_dev != c->resolv_conf.st_dev ||
               st.st_size != c->resolv_conf.st_size || st.st_mtim.tv_sec != c->resolv_conf.st_mtim.tv_sec ||
               st.st_mtim.tv_nsec != c->resolv_conf.st_mtim.tv_nsec;
}

/* A unix socket's path, "@name" for an abstract one. */
static void format_unix(const struct sockaddr_un *un, socklen_t len, char *buf, size_t size) {
        size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;

        n = MIN(n, sizeof(un->sun_path));
        if (n == 0)
                snprintf(buf, size, "an unnamed unix socket");
        else if (un->sun_path[0] == '\0')
                snprintf(buf, size, "@%.*s", (int) n - 1, un->sun_path + 1);
        else
                snprintf(buf, size, "%.*s", (int) strnlen(un->sun_path, n), un->sun_path);
}

/* 0, or -EACCES after reporting the refusal. */
static int judge(struct netcalls *c, const char *call, const struct sockaddr_storage *dest, socklen_t len) {
        char why[NETPOLICY_WHY_MAX], text[sizeof(((struct sockaddr_un *) NULL)->sun_path) + 2];

        if (!netpolicy_judge(&c->policy, (const struct sockaddr *) dest, len, why, sizeof(why)))
                return 0;
        if ((dest->ss_family == AF_INET || dest->ss_family == AF_INET6) && resolvers_changed(c)) {
                read_resolvers(c);
                if (!netpolicy_judge(&c->policy, (const struct sockaddr *) dest, len, why, sizeof(why)))
                        return 0;
        }
        if (dest->ss_family == AF_UNIX)
                format_unix((const struct sockaddr_un *) (const void *) dest, len, text, sizeof(text));
        else
                netaddr_format((const struct sockaddr *) dest, len, text, sizeof(text));
        c->refused(c, call, text, why, dest->ss_family == AF_INET || dest->ss_family == AF_INET6);
        return -EACCES;
}

/* ---- the calls ----------------------------------------------------------------------------------- */

static int read_address(struct netcalls *c, const struct seccomp_notif *req, uint64_t address, uint64_t len,
                        struct sockaddr_storage *ret) {
        memset(ret, 0, sizeof(*ret));
        if (len > sizeof(*ret) || len < sizeof(sa_family_t))
                return -EINVAL;
        return target_read(c, req, address, ret, (size_t) len);
}

static int64_t serve_connect(struct netcalls *c, const struct seccomp_notif *req) {
        struct sockaddr_storage dest;
        socklen_t len = (socklen_t) req->data.args[2];
        _cleanup_close_ int sock = -1;
        int r;

        if ((r = read_address(c, req, req->data.args[1], req->data.args[2], &dest)) < 0 ||
            (r = judge(c, "connect", &dest, len)) < 0)
                return r;
        if ((sock = target_fd(c, req, (int) req->data.args[0])) < 0)
                return sock;
        return connect(sock, (struct sockaddr *) &dest, len) < 0 ? -errno : 0;
}

static int64_t serve_sendto(struct netcalls *c, const struct seccomp_notif *req) {
        const __u64 *a = req->data.args;
        struct sockaddr_storage dest;
        socklen_t len = (socklen_t) a[5];
        _cleanup_close_ int sock = -1;
        size_t size = (size_t) a[2];
        ssize_t n;
        int r;

        if (a[3] & MSG_FASTOPEN)
                return -EPERM;
        if ((r = read_address(c, req, a[4], a[5], &dest)) < 0 || (r = judge(c, "sendto", &dest, len)) < 0)
                return r;
        if ((sock = target_fd(c, req, (int) a[0])) < 0)
                return sock;
        if (size > NETCALL_DATA_MAX)
                return -EMSGSIZE;
        if ((r = target_read(c, req, a[1], c->data, size)) < 0)
                return r;
        n = sendto(sock, c->data, size, (int) a[3], (struct sockaddr *) &dest, len);
        return n < 0 ? -errno : n;
}

/* The payload of a msghdr, gathered into c->data; a stream socket may send less than asked. */
static int64_t gather(struct netcalls *c, const struct seccomp_notif *req, const struct msghdr *m, bool stream) {
        struct iovec iov[NETCALL_IOV_MAX] = {};
        size_t total = 0;
        int r;

        if (m->msg_iovlen > NETCALL_IOV_MAX)
                return -EMSGSIZE;
        if ((r = target_read(c, req, (uint64_t) m->msg_iov, iov, m->msg_iovlen * sizeof(iov[0]))) < 0)
                return r;
        for (size_t i = 0; i < m->msg_iovlen && total < NETCALL_DATA_MAX; i++) {
                size_t take = MIN(iov[i].iov_len, (size_t) NETCALL_DATA_MAX - total);

                if (take < iov[i].iov_len && !stream)
                        return -EMSGSIZE;
                if ((r = target_read(c, req, (uint64_t) iov[i].iov_base, c->data + total, take)) < 0)
                        return r;
                total += take;
        }
        return (int64_t) total;
}

struct passed_fds {
        int fds[NETCALL_FDS_MAX];
        size_t n;
};

static void passed_fds_close(struct passed_fds *p) {
        for (size_t i = 0; i < p->n; i++)
                close(p->fds[i]);
        p->n = 0;
}

/* SCM_RIGHTS only: each of s3fs's descriptors becomes our duplicate of it, in place. The headers
 * come from s3fs: each must lie within the control buffer (the kernel says EINVAL otherwise). */
static int translate_control(struct netcalls *c, const struct seccomp_notif *req, struct msghdr *m,
                             struct passed_fds *passed) {
        const char *end;

        if (!m->msg_control)
                return 0;
        end = (const char *) m->msg_control + m->msg_controllen;
        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(m); cmsg; cmsg = CMSG_NXTHDR(m, cmsg)) {
                size_t n;

                if (cmsg->cmsg_len < CMSG_LEN(0) || cmsg->cmsg_len > (size_t) (end - (const char *) cmsg))
                        return -EINVAL;
                n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                        return -EPERM;
                for (size_t i = 0; i < n; i++) {
                        int fd, copy;

                        if (passed->n == NETCALL_FDS_MAX)
                                return -ETOOMANYREFS;
                        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                        if ((copy = target_fd(c, req, fd)) < 0)
                                return copy;
                        passed->fds[passed->n++] = copy;
                        memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &copy, sizeof(int));
                }
        }
        return 0;
}

static bool is_stream(int sock) {
        int type = 0;
        socklen_t len = sizeof(type);

        return getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

/* One message of sendmsg() or sendmmsg(), at user address msg, on our socket. */
static int64_t send_one(struct netcalls *c, const struct seccomp_notif *req, int sock, uint64_t msg, int flags) {
        union {
                char buf[NETCALL_CONTROL_MAX];
                struct cmsghdr align;
        } control;
        struct sockaddr_storage dest;
        _cleanup_(passed_fds_close) struct passed_fds passed = {};
        struct msghdr m;
        int64_t size;
        ssize_t n;
        int r;

        if ((r = target_read(c, req, msg, &m, sizeof(m))) < 0)
                return r;
        if (m.msg_name && m.msg_namelen > 0) {
                m.msg_namelen = MIN(m.msg_namelen, (socklen_t) sizeof(dest));
                if ((r = read_address(c, req, (uint64_t) m.msg_name, m.msg_namelen, &dest)) < 0 ||
                    (r = judge(c, "sendmsg", &dest, m.msg_namelen)) < 0)
                        return r;
                m.msg_name = &dest;
        } else {
                m.msg_name = NULL;
                m.msg_namelen = 0;
        }
        if (m.msg_controllen > sizeof(control.buf))
                return -ENOBUFS;
        if ((r = target_read(c, req, (uint64_t) m.msg_control, control.buf, m.msg_controllen)) < 0)
                return r;
        m.msg_control = m.msg_controllen ? control.buf : NULL;
        if ((r = translate_control(c, req, &m, &passed)) < 0 || (size = gather(c, req, &m, is_stream(sock))) < 0)
                return r < 0 ? r : size;
        struct iovec iov = { .iov_base = c->data, .iov_len = (size_t) size };
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        n = sendmsg(sock, &m, flags);
        return n < 0 ? -errno : n;
}

static int64_t serve_sendmsg(struct netcalls *c, const struct seccomp_notif *req) {
        _cleanup_close_ int sock = -1;

        if (req->data.args[2] & MSG_FASTOPEN)
                return -EPERM;
        if ((sock = target_fd(c, req, (int) req->data.args[0])) < 0)
                return sock;
        return send_one(c, req, sock, req->data.args[1], (int) req->data.args[2]);
}

/* Each message as sendmsg(), its length written back as the kernel would; stops at the first error. */
static int64_t serve_sendmmsg(struct netcalls *c, const struct seccomp_notif *req) {
        size_t count = MIN((size_t) (unsigned) req->data.args[2], (size_t) NETCALL_MMSG_MAX);
        _cleanup_close_ int sock = -1;
        size_t sent = 0;

        if (req->data.args[3] & MSG_FASTOPEN)
                return -EPERM;
        if ((sock = target_fd(c, req, (int) req->data.args[0])) < 0)
                return sock;
        for (; sent < count; sent++) {
                uint64_t msg = req->data.args[1] + sent * sizeof(struct mmsghdr);
                int64_t n = send_one(c, req, sock, msg, (int) req->data.args[3]);
                unsigned len = (unsigned) n;

                if (n < 0)
                        return sent > 0 ? (int64_t) sent : n;
                if (target_write(req, msg + offsetof(struct mmsghdr, msg_len), &len, sizeof(len)) < 0)
                        return sent > 0 ? (int64_t) sent : -EFAULT;
        }
        return (int64_t) sent;
}

int netcalls_init(struct netcalls *c, int listener, const struct netpolicy *vetted) {
        *c = (struct netcalls) { .listener = listener, .policy = *vetted };
        if (!(c->data = malloc(NETCALL_DATA_MAX)))
                return -ENOMEM;
        read_resolvers(c);
        return 0;
}

void netcalls_free(struct netcalls *c) {
        free(c->data);
        c->data = NULL;
}

int64_t netcalls_serve(struct netcalls *c, const struct seccomp_notif *req) {
        switch (req->data.nr) {
        case __NR_connect: return serve_connect(c, req);
        case __NR_sendto: return serve_sendto(c, req);
        case __NR_sendmsg: return serve_sendmsg(c, req);
        case __NR_sendmmsg: return serve_sendmmsg(c, req);
        default: return -ENOSYS;
        }
}
