/* SPDX-License-Identifier: Apache-2.0 */
/* The root an s3fs sees (jail.c): a tmpfs holding read-only, nosuid, nodev bindings of what s3fs and
 * its libraries read (/usr, /etc and the /bin, /sbin, /lib* links or folders; the folder of
 * /etc/resolv.conf's target wherever it is), five device nodes, a /proc of its own PID namespace,
 * its staging tmpfs on /tmp, tmpfs mounts at RUN/mounts and RUN/keys for its own mount point and
 * passwd file, and nbmount-fusermount at /bin/fusermount (bound from a descriptor opened first, as
 * s3fs is run from one: their paths may be under /tmp); then pivot_root into it and detach the
 * host's tree. So s3fs
 * sees nothing else of the host (no /srv, /var, /home, /run, no other mount), and its namespace
 * holds no copy of the host's mounts: an unmount on the host (of its own FUSE mount too) is final. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mountd.h"
#include "util.h"

#define NEW_ROOT "/tmp" /* where the root is built, in the sandbox's mount namespace only */
#define OLD_ROOT "/.host"
#define ROOT_PATH_MAX (PATH_MAX + 64) /* a path of the host under NEW_ROOT */
#define SMALL_TMPFS "size=64k,nr_inodes=16,mode=0700"

static const char *const exposed_dirs[] = { "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
static const char *const exposed_devices[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom" };

/* -errno of the last call, naming what failed */
static int fail(const char **ret_what, const char *what) {
        *ret_what = what;
        return -errno;
}

static int failed(const char **ret_what, const char *what, int r) {
        *ret_what = what;
        return r;
}

static void in_root(const char *path, char *buf, size_t size) {
        snprintf(buf, size, NEW_ROOT "%s", path);
}

static int set_readonly(const char *path, bool recursive) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };

        return (int) syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr, sizeof(attr));
}

/* mkdir -p of path's parent folders inside the new root (a tmpfs of ours) */
static int make_parents(const char *path) {
        char buf[ROOT_PATH_MAX];

        in_root(path, buf, sizeof(buf));
        for (char *slash = strchr(buf + strlen(NEW_ROOT) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *slash = '/';
        }
        return 0;
}

/* A folder of the host, read-only with what is mounted below it; a symlink as the same symlink. */
static int expose_dir(const char *host_folder) {
        char copy[ROOT_PATH_MAX], target[PATH_MAX];
        struct stat st;
        ssize_t n;

        in_root(host_folder, copy, sizeof(copy));
        if (lstat(host_folder, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISLNK(st.st_mode)) {
                if ((n = readlink(host_folder, target, sizeof(target) - 1)) < 0)
                        return -errno;
                target[n] = '\0';
                return symlink(target, copy) < 0 ? -errno : 0;
        }
        if (mkdir(copy, 0755) < 0 || mount(host_folder, copy, NULL, MS_BIND | MS_REC, NULL) < 0 ||
            set_readonly(copy, true) < 0)
                return -errno;
        return 0;
}

/* A file of the host (source: a path, or /proc/self/fd/N) at path in the root; a device node keeps
 * working (no nodev). */
static int expose_file(const char *source, const char *path, bool device) {
        char where[ROOT_PATH_MAX];
        int fd, r;

        in_root(path, where, sizeof(where));
        if ((r = make_parents(path)) < 0)
                return r;
        if ((fd = open(where, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0 && errno != EEXIST)
                return -errno;
        if (fd >= 0)
                close(fd);
        if (mount(source, where, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, where, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | (device ? 0 : MS_NODEV), NULL) < 0)
                return -errno;
        return 0;
}

static bool under_exposed_dir(const char *path) {
        for (size_t i = 0; i < ARRAY_SIZE(exposed_dirs); i++) {
                char real[PATH_MAX];
                size_t n;

                if (!realpath(exposed_dirs[i], real))
                        continue;
                n = strlen(real);
                if (strncmp(path, real, n) == 0 && path[n] == '/')
                        return true;
        }
        return false;
}

/* The folder of a file s3fs reads that may live elsewhere (resolv.conf's target, say
 * /run/systemd/resolve): the folder, not the file, so that a file replaced there (a rename, as
 * resolvers write it) shows anew; held open (O_PATH) before anything hides its path. */
struct held_folder {
        char path[PATH_MAX]; /* its real path, where the root shows it */
        int fd;              /* -1: nothing to show (missing, or under an exposed folder) */
};

static int hold_folder_of(const char *file, struct held_folder *ret) {
        char *slash;

        ret->fd = -1;
        if (!realpath(file, ret->path))
                return errno == ENOENT ? 0 : -errno;
        if (under_exposed_dir(ret->path) || !(slash = strrchr(ret->path, '/')) || slash == ret->path)
                return 0;
        *slash = '\0';
        ret->fd = open(ret->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return ret->fd < 0 ? -errno : 0;
}

static int expose_held(const struct held_folder *f) {
        char source[64], where[ROOT_PATH_MAX];
        int r;

        if (f->fd < 0)
                return 0;
        snprintf(source, sizeof(source), "/proc/self/fd/%d", f->fd);
        in_root(f->path, where, sizeof(where));
        if ((r = make_parents(f->path)) < 0)
                return r;
        if ((mkdir(where, 0755) < 0 && errno != EEXIST) || mount(source, where, NULL, MS_BIND, NULL) < 0 ||
            set_readonly(where, false) < 0)
                return -errno;
        return 0;
}

static int mount_tmpfs_at(const char *path, const char *options) {
        char where[ROOT_PATH_MAX];
        int r;

        in_root(path, where, sizeof(where));
        if ((r = make_parents(path)) < 0)
                return r;
        if (mkdir(where, 0755) < 0 && errno != EEXIST)
                return -errno;
        return mount("nbmountd-s3fs", where, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options) < 0 ? -errno : 0;
}

static int build_system(const struct held_folder *held, size_t n_held, const char **ret_what) {
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(exposed_dirs); i++)
                if ((r = expose_dir(exposed_dirs[i])) < 0)
                        return failed(ret_what, exposed_dirs[i], r);
        for (size_t i = 0; i < ARRAY_SIZE(exposed_devices); i++)
                if ((r = expose_file(exposed_devices[i], exposed_devices[i], true)) < 0)
                        return failed(ret_what, exposed_devices[i], r);
        if (symlink("/proc/self/fd", NEW_ROOT "/dev/fd") < 0)
                return fail(ret_what, "/dev/fd");
        for (size_t i = 0; i < n_held; i++)
                if ((r = expose_held(&held[i])) < 0)
                        return failed(ret_what, held[i].path, r);
        if (mkdir(NEW_ROOT "/proc", 0555) < 0 ||
            mount("proc", NEW_ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return fail(ret_what, "/proc");
        return 0;
}

/* s3fs's own places: /tmp (staging), RUN/mounts and RUN/keys, all its uid's. */
static int build_own(const struct s3fs_jail *j, const char **ret_what) {
        char options[160];
        int r;

        snprintf(options, sizeof(options), "size=%llu,mode=0700,uid=%u,gid=%u", (unsigned long long) j->staging_bytes,
                 j->uid, j->gid);
        if ((r = mount_tmpfs_at("/tmp", options)) < 0)
                return failed(ret_what, "/tmp", r);
        snprintf(options, sizeof(options), SMALL_TMPFS ",uid=%u,gid=%u", j->uid, j->gid);
        if ((r = mount_tmpfs_at(j->mounts_dir, options)) < 0)
                return failed(ret_what, j->mounts_dir, r);
        if ((r = mount_tmpfs_at(j->keys_dir, options)) < 0)
                return failed(ret_what, j->keys_dir, r);
        return 0;
}

/* What the root shows from outside the exposed folders, held before NEW_ROOT hides anything
 * (nbmount-fusermount may live under /tmp; resolv.conf may be a link to /run). */
static int hold_files(const char *fusermount, struct held_folder *resolv_conf, int *ret_fusermount,
                      const char **ret_what) {
        if (hold_folder_of("/etc/resolv.conf", resolv_conf) < 0)
                return fail(ret_what, "/etc/resolv.conf");
        if ((*ret_fusermount = open(fusermount, O_PATH | O_CLOEXEC)) < 0)
                return fail(ret_what, fusermount);
        return 0;
}

int jailroot_enter(const struct s3fs_jail *j, const char *fusermount, const char **ret_what) {
        struct held_folder held[1] = { { .fd = -1 } };
        char source[64];
        int helper_fd = -1, r;

        if ((r = hold_files(fusermount, &held[0], &helper_fd, ret_what)) < 0)
                return r;
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return fail(ret_what, "making the mounts slaves");
        if (mount("nbmountd-root", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755") < 0)
                return fail(ret_what, "the sandbox's root");
        if ((r = build_system(held, ARRAY_SIZE(held), ret_what)) < 0 || (r = build_own(j, ret_what)) < 0)
                return r;
        /* libfuse runs /bin/fusermount: through the root's own /bin link when /bin is one */
        snprintf(source, sizeof(source), "/proc/self/fd/%d", helper_fd);
        if (mount(source, NEW_ROOT "/bin/fusermount", NULL, MS_BIND, NULL) < 0)
                return fail(ret_what, "binding nbmount-fusermount over /bin/fusermount");
        if (mkdir(NEW_ROOT OLD_ROOT, 0700) < 0 || set_readonly(NEW_ROOT, false) < 0)
                return fail(ret_what, "the sandbox's root");
        if (syscall(SYS_pivot_root, NEW_ROOT, NEW_ROOT OLD_ROOT) < 0 || chdir("/") < 0)
                return fail(ret_what, "pivot_root");
        if (umount2(OLD_ROOT, MNT_DETACH) < 0)
                return fail(ret_what, "detaching the host's mounts");
        return 0;
}
