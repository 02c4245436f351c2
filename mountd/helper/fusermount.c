/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount-fusermount: stands in for fusermount inside an s3fs's sandbox (nbmountd(8)).
 *
 * s3fs runs without privileges and cannot mount; its supervisor mounted the FUSE file system before
 * s3fs started and left the /dev/fuse descriptor open in s3fs as NBMOUNT_FUSE_FD. libfuse 2, which
 * cannot mount, runs "/bin/fusermount" (in the sandbox: this program) with _FUSE_COMMFD naming a
 * socket, and reads the descriptor of the mount from it. So this program sends that descriptor, then,
 * as fusermount does for auto_unmount, waits until libfuse closes the socket. "-u" (unmount) does
 * nothing: nbmountd unmounts. It ignores every other argument: the mount's options were set by its
 * supervisor, not by s3fs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fd_from_env(const char *name) {
        const char *value = getenv(name);
        char *end = NULL;
        long fd;

        if (!value)
                return -1;
        errno = 0;
        fd = strtol(value, &end, 10);
        return errno || *end || fd < 0 || fd > 65535 ? -1 : (int) fd;
}

static int send_fd(int sock, int fd) {
        char byte = 0;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control = {};
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                              .msg_controllen = sizeof(control.buf) };
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

int main(int argc, char **argv) {
        int sock = fd_from_env("_FUSE_COMMFD"), fuse_fd = fd_from_env("NBMOUNT_FUSE_FD"), r;
        ssize_t n;
        char byte;

        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "-u") == 0)
                        return 0;
        if (sock < 0 || fuse_fd < 0) {
                fprintf(stderr, "nbmount-fusermount: _FUSE_COMMFD and NBMOUNT_FUSE_FD must name descriptors; "
                                "this program runs only as fusermount inside an s3fs sandbox of nbmountd\n");
                return 1;
        }
        if ((r = send_fd(sock, fuse_fd)) < 0) {
                fprintf(stderr, "nbmount-fusermount: cannot pass the FUSE descriptor to s3fs: %s\n", strerror(-r));
                return 1;
        }
        close(fuse_fd);
        do
                n = read(sock, &byte, 1);
        while (n > 0 || (n < 0 && errno == EINTR));
        return 0;
}
