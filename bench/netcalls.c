/* SPDX-License-Identifier: Apache-2.0 */
/* The cost of s3fs's network calls under its supervisor (bench/s3-netcalls.sh): stands in for s3fs
 * (nbmountd --s3fs), or runs alone for the baseline. NETCALLS ("IP PORT N") is compiled in (the
 * sandbox holds no other file of the benchmark). It times N rounds of each: socket + connect + close of a UDP socket (no packet: the
 * system call alone, as glibc's resolver makes them); sendto (UDP, 1 byte, to IP:PORT) on one
 * socket; sendmsg of the same; and N/10 rounds of socket + connect + close of a TCP socket to the
 * listening IP:PORT (a handshake with the server: noisy). It prints one line,
 * "[ERR] netcalls: udpconnect=W sendto=X sendmsg=Y tcpconnect=Z" (microseconds per call, medians
 * of 5 passes),
 * which nbmountd quotes as the cause when the start fails, and exits 1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PASSES 5

static double now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

static double median(double *v) {
        qsort(v, PASSES, sizeof(double), cmp);
        return v[PASSES / 2];
}

static double connects(const struct sockaddr_in *a, int n, int type) {
        double start = now_us();

        for (int i = 0; i < n; i++) {
                int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

                if (connect(fd, (const struct sockaddr *) a, sizeof(*a)) < 0) {
                        printf("[ERR] netcalls: connect failed\n");
                        exit(1);
                }
                close(fd);
        }
        return (now_us() - start) / n;
}

static double sends(const struct sockaddr_in *a, int n, int use_sendmsg) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct iovec iov = { .iov_base = "x", .iov_len = 1 };
        struct msghdr msg = { .msg_name = (void *) a, .msg_namelen = sizeof(*a), .msg_iov = &iov, .msg_iovlen = 1 };
        double start = now_us();

        for (int i = 0; i < n; i++)
                if ((use_sendmsg ? sendmsg(fd, &msg, 0) : sendto(fd, "x", 1, 0, (const struct sockaddr *) a, sizeof(*a))) != 1) {
                        printf("[ERR] netcalls: send failed\n");
                        exit(1);
                }
        close(fd);
        return (now_us() - start) / n;
}

int main(void) {
        struct sockaddr_in a = { .sin_family = AF_INET };
        double u[PASSES], c[PASSES], t[PASSES], m[PASSES];
        int port = 0, n = 0;
        char ip[64];

        if (sscanf(NETCALLS, "%63s %d %d", ip, &port, &n) != 3 || n < 10) {
                printf("[ERR] netcalls: NETCALLS is not \"IP PORT N\"\n");
                return 1;
        }
        inet_pton(AF_INET, ip, &a.sin_addr);
        a.sin_port = htons((uint16_t) port);
        for (int p = 0; p < PASSES; p++) {
                u[p] = connects(&a, n, SOCK_DGRAM);
                t[p] = sends(&a, n, 0);
                m[p] = sends(&a, n, 1);
                c[p] = connects(&a, n / 10, SOCK_STREAM);
        }
        printf("[ERR] netcalls: udpconnect=%.1f sendto=%.1f sendmsg=%.1f tcpconnect=%.1f\n", median(u), median(t),
               median(m), median(c));
        return 1;
}
