/* SPDX-License-Identifier: Apache-2.0 */
#include "netfs.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <linux/magic.h>
#include <mntent.h>
#include <stdlib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "values.h"


#define AWAIT_STEP_MS 50

const char *netfs_type_name(long f_type) {
        switch (f_type) {
        case NFS_SUPER_MAGIC:
                return "nfs";
        case CEPH_SUPER_MAGIC:
                return "ceph";
        case CIFS_SUPER_MAGIC:
        case SMB2_SUPER_MAGIC:
                return "smb";
        default:
                return NULL;
        }
}

const char *netfs_fstype_name(const char *fstype) {
        static const struct {
                const char *fstype, *name;
        } types[] = { { "nfs", "nfs" }, { "nfs4", "nfs" }, { "ceph", "ceph" }, { "cifs", "smb" }, { "smb3", "smb" } };

        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                if (streq(fstype, types[i].fstype))
                        return types[i].name;
        return NULL;
}

static long remaining_ms(const struct timespec *deadline) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static struct timespec deadline_after(unsigned ms) {
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_sec += ms / 1000;
        t.tv_nsec += (long) (ms % 1000) * 1000000;
        if (t.tv_nsec >= 1000000000L) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000L;
        }
        return t;
}

/* clock_nanosleep: the one sleep the hook's seccomp filter allows (hookfilters.c). */
static void sleep_ms(unsigned ms) {
        struct timespec step = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000 };

        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &step, &step) == EINTR)
                ;
}

/* What the probe's thread fills in: on the heap, since a thread stuck on a dead server outlives
 * netfs_probe() (the process's exit ends it: NFS waits are killable). */
struct probe {
        const char *paths[NETFS_MAX_ROOTS];
        struct statfs seen[NETFS_MAX_ROOTS];
        size_t n;
        int done_fd; /* a byte per path statfs'd */
};

static void *probe_thread(void *arg) {
        struct probe *p = arg;

        for (size_t i = 0; i < p->n; i++) {
                char byte = 1;

                if (statfs(p->paths[i], &p->seen[i]) < 0)
                        p->seen[i] = (struct statfs) {};
                if (write(p->done_fd, &byte, 1) != 1)
                        break;
        }
        return NULL;
}

/* Waits for the thread's n bytes: 0, or -ETIMEDOUT with *ret_at the path it was on. */
static int wait_for_thread(int fd, size_t n, unsigned timeout_ms, size_t *ret_at) {
        const struct timespec deadline = deadline_after(timeout_ms);

        for (*ret_at = 0; *ret_at < n;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                long left = remaining_ms(&deadline);
                char bytes[NETFS_MAX_ROOTS];
                ssize_t k;

                if (left <= 0 || poll(&p, 1, (int) left) == 0)
                        return -ETIMEDOUT;
                if ((k = read(fd, bytes, n - *ret_at)) < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -EIO;
                *ret_at += (size_t) k;
        }
        return 0;
}

int netfs_probe(const char *const *paths, size_t n, unsigned timeout_ms, struct statfs *ret, struct nb_error *err) {
        struct probe *p = calloc(1, sizeof(*p));
        int pipe_fds[2], read_fd, r;
        pthread_t thread;
        size_t at = 0;

        if (!p || n > NETFS_MAX_ROOTS || pipe2(pipe_fds, O_CLOEXEC) < 0) {
                free(p);
                return nb_fail(err, n > NETFS_MAX_ROOTS ? EINVAL : ENOMEM, "cannot probe the roots: %s",
                               strerror(n > NETFS_MAX_ROOTS ? EINVAL : errno ? errno : ENOMEM));
        }
        read_fd = pipe_fds[0];
        p->done_fd = pipe_fds[1];
        p->n = n;
        memcpy(p->paths, paths, n * sizeof(*paths));
        if ((r = pthread_create(&thread, NULL, probe_thread, p)) != 0) {
                close(read_fd);
                close(p->done_fd);
                free(p);
                return nb_fail(err, r, "cannot start the roots' probe: %s", strerror(r));
        }
        if ((r = wait_for_thread(read_fd, n, timeout_ms, &at)) == -ETIMEDOUT) {
                /* left waiting on the server: p and both pipe ends stay its, so that its late write
                 * meets no closed pipe (SIGPIPE) */
                (void) pthread_detach(thread);
                return nb_fail(err, ETIMEDOUT,
                               "%s: no answer within %u ms (quota.remote_timeout): is its storage server down, or the network to it? the start is refused rather than left hanging",
                               paths[at], timeout_ms);
        }
        (void) pthread_join(thread, NULL);
        close(read_fd);
        close(p->done_fd);
        memcpy(ret, p->seen, n * sizeof(*ret));
        free(p);
        return r < 0 ? nb_fail(err, r, "cannot probe the roots: %s", strerror(-r)) : 0;
}

static uint64_t plan_limit(const struct plan_quota *quota) {
        return quota->soft_bytes != NB_SIZE_UNLIMITED ? quota->soft_bytes : quota->hard_bytes;
}

bool netfs_limit_met(const struct statfs *seen, const struct plan_quota *quota) {
        uint64_t limit = plan_limit(quota), bytes, slack;

        if (limit == NB_SIZE_UNLIMITED)
                return true;
        bytes = (uint64_t) seen->f_blocks * (uint64_t) seen->f_bsize;
        /* the server rounds the limit to its blocks, the NFS client up to its own (rsize: 128 KiB and more) */
        slack = MAX((uint64_t) seen->f_bsize, 4096ULL) + 4096;
        return bytes < limit + slack && limit < bytes + slack;
}

static void describe_wait(const char *path, const struct statfs *seen, const struct plan_quota *quota,
                          unsigned wait_ms, struct nb_error *err) {
        char seen_text[32], plan_text[32];

        size_format((uint64_t) seen->f_blocks * (uint64_t) seen->f_bsize, seen_text, sizeof(seen_text));
        size_format(plan_limit(quota), plan_text, sizeof(plan_text));
        nb_fail(err, EDQUOT,
                "%s: the storage server has not put it under its plan's limit of %s (project %s): statfs over %s shows %s after %u ms (quota.remote_wait); is `nbmount quota sync --watch` (nbmount-quota-sync.service) running on the storage server?",
                path, plan_text, quota->project, netfs_type_name(seen->f_type) ? netfs_type_name(seen->f_type) : "the network",
                seen_text, wait_ms);
}

int netfs_await_limit(int fd, const char *path, const struct plan_quota *quota, unsigned wait_ms,
                      struct nb_error *err) {
        const struct timespec deadline = deadline_after(wait_ms);
        struct statfs seen = {};

        for (;;) {
                if (fstatfs(fd, &seen) < 0)
                        return nb_fail(err, errno, "%s: cannot statfs: %s", path, strerror(errno));
                if (netfs_limit_met(&seen, quota))
                        return 0;
                if (remaining_ms(&deadline) <= 0)
                        break;
                sleep_ms((unsigned) MIN(remaining_ms(&deadline), AWAIT_STEP_MS));
        }
        describe_wait(path, &seen, quota, wait_ms, err);
        return -EDQUOT;
}

/* The entry of /proc/self/mounts with the longest mount point that holds path (resolved). */
static int find_mount(const char *path, struct netfs_export *ret) {
        _cleanup_free_ char *real = realpath(path, NULL);
        FILE *mounts = setmntent("/proc/self/mounts", "re");
        size_t best = 0;
        struct mntent *e;

        if (!real || !mounts) {
                if (mounts)
                        endmntent(mounts);
                return -errno;
        }
        while ((e = getmntent(mounts))) {
                size_t len = strlen(e->mnt_dir);

                if (strncmp(real, e->mnt_dir, len) != 0 || (real[len] != '/' && real[len] && len > 1) || len < best)
                        continue;
                best = len;
                snprintf(ret->source, sizeof(ret->source), "%s", e->mnt_fsname);
                snprintf(ret->options, sizeof(ret->options), "%s", e->mnt_opts);
                ret->soft = hasmntopt(e, "soft") != NULL;
        }
        endmntent(mounts);
        return best ? 0 : -ENOENT;
}

static void count_limited(int dir_fd, uint64_t export_bytes, struct netfs_export *ret) {
        DIR *dir = fdopendir(dir_fd);
        struct dirent *entry;

        if (!dir) {
                close(dir_fd);
                return;
        }
        while ((entry = readdir(dir))) {
                _cleanup_close_ int fd = -1;
                struct statfs sfs;

                if (entry->d_name[0] == '.' || entry->d_type != DT_DIR)
                        continue;
                fd = openat(dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstatfs(fd, &sfs) < 0)
                        continue;
                ret->folders++;
                ret->limited += (uint64_t) sfs.f_blocks * (uint64_t) sfs.f_bsize < export_bytes;
        }
        closedir(dir);
}

int netfs_describe(const char *root, const char *folder_path, struct netfs_export *ret, struct nb_error *err) {
        struct statfs whole;
        int fd, r;

        *ret = (struct netfs_export) {};
        if ((r = find_mount(root, ret)) < 0)
                return nb_fail(err, r, "%s: cannot find its mount in /proc/self/mounts: %s", root, strerror(-r));
        if (statfs(root, &whole) < 0)
                return nb_fail(err, errno, "%s: cannot statfs: %s", root, strerror(errno));
        if (folder_path && (fd = open(folder_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0)
                count_limited(fd, (uint64_t) whole.f_blocks * (uint64_t) whole.f_bsize, ret);
        return 0;
}
