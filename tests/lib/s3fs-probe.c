/* SPDX-License-Identifier: Apache-2.0 */
/* A stand-in for s3fs (nbmountd --s3fs PATH) that reports what it may do in s3fs's sandbox, for
 * tests/s3-security-check.sh: nbmountd runs it exactly as it runs s3fs (same sandbox, same filter,
 * same supervisor). It prints one "[ERR] probe: KEY=VALUE ..." line and exits 1, so the container's
 * start fails with that line as the cause (nbmountd quotes s3fs's last [ERR] line).
 * The test compiles its targets in (the sandbox holds no other file of the test): PROBE_CONF is
 * "loopback=IP:PORT public=IP:PORT resolver=IP marker=PATH secrets=PATH" (a listening loopback
 * service, a reachable public address, the node's resolver, a file the test made in the host's
 * /tmp, a file only root may read). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char out[2048];

static void put(const char *key, const char *value) {
        snprintf(out + strlen(out), sizeof(out) - strlen(out), " %s=%s", key, value);
}

/* "ok" for success, else the errno's name */
static const char *err_name(long r) {
        static char buf[32];

        if (r >= 0)
                return "ok";
        switch (errno) {
        case EPERM: return "EPERM";
        case EACCES: return "EACCES";
        case ENOSYS: return "ENOSYS";
        case ENOENT: return "ENOENT";
        case EROFS: return "EROFS";
        case EAFNOSUPPORT: return "EAFNOSUPPORT";
        case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
        case ECONNREFUSED: return "ECONNREFUSED";
        case EINPROGRESS: return "EINPROGRESS";
        case EINVAL: return "EINVAL";
        default: snprintf(buf, sizeof(buf), "errno%d", errno); return buf;
        }
}

static void status_field(const char *field, char *ret, size_t size) {
        char line[256];
        FILE *f = fopen("/proc/self/status", "r");

        snprintf(ret, size, "?");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':') {
                        snprintf(ret, size, "%s", line + strlen(field) + 1 + strspn(line + strlen(field) + 1, " \t"));
                        ret[strcspn(ret, "\n")] = '\0';
                }
        if (f)
                fclose(f);
}

static void identity(void) {
        char buf[64], eff[32], bnd[32];
        struct rlimit core;

        snprintf(buf, sizeof(buf), "%u/%u", getuid(), getgid());
        put("ids", buf);
        status_field("CapEff", eff, sizeof(eff));
        status_field("CapBnd", bnd, sizeof(bnd));
        snprintf(buf, sizeof(buf), "%s/%s", eff, bnd);
        put("caps", buf);
        status_field("NoNewPrivs", buf, sizeof(buf));
        put("nnp", buf);
        status_field("Seccomp", buf, sizeof(buf));
        put("seccomp", buf);
        getrlimit(RLIMIT_CORE, &core);
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long) core.rlim_max);
        put("core", buf);
        snprintf(buf, sizeof(buf), "%d", (int) getpid());
        put("pid", buf);
}

static void filesystem(const char *marker, const char *secrets) {
        struct statfs sfs;
        char buf[64];
        int fd;

        if (statfs("/tmp", &sfs) == 0)
                snprintf(buf, sizeof(buf), "%s:%lluM", sfs.f_type == 0x01021994 ? "tmpfs" : "other",
                         (unsigned long long) sfs.f_blocks * sfs.f_bsize >> 20);
        put("tmp", sfs.f_type ? buf : "?");
        snprintf(buf, sizeof(buf), "/etc/nbmount-probe-%d", (int) getppid() + (int) time(NULL));
        fd = open(buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        put("rootwrite", err_name(fd)); /* EROFS in the sandbox; root without it made the file: remove it */
        if (fd >= 0)
                unlink(buf);
        put("hosttmp", err_name(access(marker, F_OK)));
        put("shadow", err_name(open(secrets, O_RDONLY | O_CLOEXEC))); /* a root-only file the sandbox sees */
        put("proc1", err_name(access("/proc/2/status", F_OK))); /* only this process is in its PID namespace */
        put("var", err_name(access("/var/lib", F_OK)));         /* the root holds /usr, /etc, /dev, /proc, /tmp */
        put("resolvconf", err_name(access("/etc/resolv.conf", R_OK)));
}

static long raw(long nr, long a, long b, long c, long d, long e) {
        return syscall(nr, a, b, c, d, e);
}

static void denied(void) {
        struct clone_args args = { .flags = CLONE_NEWUSER, .exit_signal = 17 };

        put("ptrace", err_name(ptrace(PTRACE_TRACEME, 0, NULL, NULL)));
        put("unshare", err_name(unshare(CLONE_NEWUSER | CLONE_NEWNET)));
        put("mount", err_name(mount("none", "/tmp", "tmpfs", 0, NULL)));
        put("bpf", err_name(raw(SYS_bpf, 0, 0, 0, 0, 0)));
        put("uring", err_name(raw(SYS_io_uring_setup, 1, 0, 0, 0, 0)));
        put("keyctl", err_name(raw(SYS_keyctl, 0, 0, 0, 0, 0)));
        put("perf", err_name(raw(SYS_perf_event_open, 0, 0, -1, -1, 0)));
        put("uffd", err_name(raw(SYS_userfaultfd, 0, 0, 0, 0, 0)));
        put("seccomp", err_name(raw(SYS_seccomp, 1, 0, 0, 0, 0)));
        put("clone3", err_name(raw(SYS_clone3, (long) &args, sizeof(args), 0, 0, 0)));
        put("clonens", err_name(raw(SYS_clone, CLONE_NEWNET | 17, 0, 0, 0, 0)));
        put("packet", err_name(socket(AF_PACKET, SOCK_RAW, 0)));
        put("nlaudit", err_name(socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT)));
}

static struct sockaddr_in in_address(const char *text) {
        struct sockaddr_in a = { .sin_family = AF_INET };
        char host[64];

        snprintf(host, sizeof(host), "%.*s", (int) strcspn(text, ":"), text);
        inet_pton(AF_INET, host, &a.sin_addr);
        a.sin_port = htons((uint16_t) atoi(strchr(text, ':') ? strchr(text, ':') + 1 : "53"));
        return a;
}

static const char *tcp_connect(const char *target) {
        struct sockaddr_in a = in_address(target);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        return err_name(connect(fd, (struct sockaddr *) &a, sizeof(a)));
}

static const char *udp_send(const char *target) {
        struct sockaddr_in a = in_address(target);
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        return err_name(sendto(fd, "x", 1, 0, (struct sockaddr *) &a, sizeof(a)));
}

/* sendmsg() with SCM_RIGHTS, which the supervisor makes itself: the fd must arrive. */
static const char *pass_fd(void) {
        int pair[2], fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC), got = -1;
        char byte = 'x', control[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        if (sendmsg(pair[0], &msg, 0) != 1)
                return err_name(-1);
        memset(control, 0, sizeof(control));
        if (recvmsg(pair[1], &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg))
                return "lost";
        memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
        return got >= 0 && fcntl(got, F_GETFD) >= 0 ? "ok" : "lost";
}

/* sendmsg() naming a refused destination, and with a control header that lies about its length. */
static const char *msg_to(const char *target) {
        struct sockaddr_in a = in_address(target);
        struct iovec iov = { .iov_base = "x", .iov_len = 1 };
        struct msghdr msg = { .msg_name = &a, .msg_namelen = sizeof(a), .msg_iov = &iov, .msg_iovlen = 1 };

        return err_name(sendmsg(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), &msg, 0));
}

static const char *bad_control(void) {
        int pair[2];
        char control[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = "x", .iov_len = 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = 1 << 20; /* far past the buffer */
        return err_name(sendmsg(pair[0], &msg, 0));
}

static void network(const char *loopback, const char *public, const char *resolver) {
        struct sockaddr_un log = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
        char dns[80];
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        put("loopback", tcp_connect(loopback));
        put("public", tcp_connect(public));
        put("udploop", udp_send("127.0.0.1:53"));
        snprintf(dns, sizeof(dns), "%s:53", resolver);
        put("resolver", udp_send(dns));
        put("unix", err_name(connect(fd, (struct sockaddr *) &log, sizeof(log))));
        put("listen", err_name(listen(socket(AF_INET, SOCK_STREAM, 0), 1)));
        put("scm", pass_fd());
        put("msgname", msg_to("127.0.0.1:53"));
        put("badcmsg", bad_control());
}

int main(void) {
        char loopback[64] = "", public[64] = "", resolver[64] = "", marker[512] = "", secrets[512] = "";

        if (sscanf(PROBE_CONF, "loopback=%63s public=%63s resolver=%63s marker=%511s secrets=%511s", loopback, public,
                   resolver, marker, secrets) != 5) {
                printf("[ERR] probe: PROBE_CONF is not as it should be\n");
                return 1;
        }
        snprintf(out, sizeof(out), "[ERR] probe:");
        identity();
        filesystem(marker, secrets);
        denied();
        network(loopback, public, resolver);
        printf("%s\n", out);
        return 1;
}
