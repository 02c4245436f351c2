/* SPDX-License-Identifier: Apache-2.0 */
/* lease: holds a write lease (fcntl F_SETLEASE, F_WRLCK) on FILE until it is killed, as any owner of
 * a file may (a container's user on its notebook's settings.yaml, say). Another open of FILE then
 * waits until the lease is broken: /proc/sys/fs/lease-break-time, 45 s by default. The lease-break
 * signal (SIGIO) is ignored, so the lease holds for that whole time. Prints "leased" once it holds.
 *   cc -o lease tests/lib/lease.c && lease FILE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

int main(int argc, char **argv) {
        int fd;

        if (argc != 2) {
                fprintf(stderr, "usage: lease FILE\n");
                return 2;
        }
        signal(SIGIO, SIG_IGN);
        fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fcntl(fd, F_SETLEASE, F_WRLCK) < 0) {
                fprintf(stderr, "lease: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        printf("leased\n");
        fflush(stdout);
        for (;;)
                pause();
}
