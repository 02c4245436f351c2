/* SPDX-License-Identifier: Apache-2.0 */
/* projescape: every way a process could take a folder out of its quota project, tried one by one,
 * for the seccomp guard tests (tests/hook-check.sh). Built static and without PIE
 * (`cc -static -no-pie -o projescape tests/lib/projescape.c`), so that it runs in a busybox
 * container and its data lies below 4 GiB, where the 32-bit (int 0x80) calls can point.
 *   projescape VECTOR PATH   tries VECTOR on PATH (a folder) and prints "VECTOR: ok" or
 *                            "VECTOR: errno NAME" (exit 0 either way; 2 for a usage error)
 *   projescape get PATH      prints "projid=N inherit=0|1"
 * VECTORs that change a folder (each sets project 0, or clears PROJINHERIT):
 *   fssetxattr          ioctl(FS_IOC_FSSETXATTR), projid 0: what `chattr -p 0` does
 *   fssetxattr-hi32     the same with bit 32 of the request set (the kernel keeps bits 0-31)
 *   fssetxattr-hiall    the same with bits 32-63 set
 *   setflags            ioctl(FS_IOC_SETFLAGS) without FS_PROJINHERIT_FL: what `chattr -P` does
 *   setflags-hi32       the same with bit 32 of the request set
 *   setflags32          ioctl(FS_IOC32_SETFLAGS), the 32-bit number, from this 64-bit process
 *   compat-setflags32   ioctl(FS_IOC32_SETFLAGS) as a 32-bit process makes it (int 0x80, i386 ioctl)
 *   compat-setflags     ioctl(FS_IOC_SETFLAGS) through int 0x80
 *   compat-fssetxattr   ioctl(FS_IOC_FSSETXATTR) through int 0x80
 *   file_setattr        file_setattr(2) (Linux 6.17): projid 0, PROJINHERIT cleared
 *   compat-file_setattr the same through int 0x80
 * VECTORs that must keep working (they change nothing):
 *   getflags, fsgetxattr, tcgets (on stdin), fionread (on a pipe) */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#define SYS_FILE_GETATTR 468 /* x86_64 and i386 alike, Linux 6.17 */
#define SYS_FILE_SETATTR 469
#define I386_IOCTL 54
#define HIGH_BIT_32 (1UL << 32)
#define HIGH_BITS_ALL 0xffffffff00000000UL
#ifndef FS_IOC32_SETFLAGS
#define FS_IOC32_SETFLAGS _IOW('f', 2, int)
#endif

struct file_attr_v0 { /* struct file_attr of <linux/fs.h> 6.17, FILE_ATTR_SIZE_VER0 */
        uint64_t fa_xflags;
        uint32_t fa_extsize, fa_nextents, fa_projid, fa_cowextsize;
};

/* What a 32-bit call points at must lie below 4 GiB: static data of a non-PIE binary does. */
static struct fsxattr low_fsx;
static int low_flags;
static struct file_attr_v0 low_attr;
static char low_path[4096];

static long compat_syscall(long nr, long a, long b, long c, long d, long e) {
        long ret;

        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
        if (ret < 0 && ret > -4096) {
                errno = (int) -ret;
                return -1;
        }
        return ret;
}

static const char *errno_name(int e) {
        static const struct { int e; const char *name; } names[] = {
                { EPERM, "EPERM" }, { EACCES, "EACCES" }, { EINVAL, "EINVAL" }, { ENOTTY, "ENOTTY" },
                { EOPNOTSUPP, "EOPNOTSUPP" }, { ENOSYS, "ENOSYS" }, { E2BIG, "E2BIG" }, { EROFS, "EROFS" },
                { EFAULT, "EFAULT" }, { EBADF, "EBADF" }, { ENOENT, "ENOENT" },
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (names[i].e == e)
                        return names[i].name;
        return "other";
}

static int get_fsx(int fd) { return ioctl(fd, FS_IOC_FSGETXATTR, &low_fsx); }

static int try_fssetxattr(int fd, unsigned long high) {
        if (get_fsx(fd) < 0)
                return -1;
        low_fsx.fsx_projid = 0;
        return (int) syscall(SYS_ioctl, fd, high | FS_IOC_FSSETXATTR, &low_fsx);
}

static int try_setflags(int fd, unsigned long high, unsigned long request) {
        if (ioctl(fd, FS_IOC_GETFLAGS, &low_flags) < 0)
                return -1;
        low_flags &= ~FS_PROJINHERIT_FL;
        return (int) syscall(SYS_ioctl, fd, high | request, &low_flags);
}

static int try_compat_ioctl(int fd, unsigned long request) {
        if (request == FS_IOC_FSSETXATTR) {
                if (get_fsx(fd) < 0)
                        return -1;
                low_fsx.fsx_projid = 0;
                return (int) compat_syscall(I386_IOCTL, fd, (long) request, (long) (uintptr_t) &low_fsx, 0, 0);
        }
        if (ioctl(fd, FS_IOC_GETFLAGS, &low_flags) < 0)
                return -1;
        low_flags &= ~FS_PROJINHERIT_FL;
        return (int) compat_syscall(I386_IOCTL, fd, (long) request, (long) (uintptr_t) &low_flags, 0, 0);
}

static int try_file_setattr(const char *path, int compat) {
        (void) syscall(SYS_FILE_GETATTR, AT_FDCWD, path, &low_attr, sizeof(low_attr), AT_SYMLINK_NOFOLLOW);
        low_attr.fa_projid = 0;
        low_attr.fa_xflags &= ~(uint64_t) FS_XFLAG_PROJINHERIT;
        if (!compat)
                return (int) syscall(SYS_FILE_SETATTR, AT_FDCWD, path, &low_attr, sizeof(low_attr), AT_SYMLINK_NOFOLLOW);
        snprintf(low_path, sizeof(low_path), "%s", path);
        return (int) compat_syscall(SYS_FILE_SETATTR, AT_FDCWD, (long) (uintptr_t) low_path, (long) (uintptr_t) &low_attr,
                                    sizeof(low_attr), AT_SYMLINK_NOFOLLOW);
}

static int try_harmless(const char *vector, int fd) {
        int pipe_fds[2], n = 0;

        if (!strcmp(vector, "getflags"))
                return ioctl(fd, FS_IOC_GETFLAGS, &low_flags);
        if (!strcmp(vector, "fsgetxattr"))
                return get_fsx(fd);
        if (!strcmp(vector, "tcgets")) {
                struct termios t;
                /* stdin is no terminal in a test: ENOTTY comes from the tty layer, EPERM would be seccomp's */
                return ioctl(STDIN_FILENO, TCGETS, &t);
        }
        if (pipe(pipe_fds) < 0 || write(pipe_fds[1], "x", 1) != 1)
                return -1;
        return ioctl(pipe_fds[0], FIONREAD, &n) < 0 ? -1 : (n == 1 ? 0 : (errno = EINVAL, -1));
}

static int try_vector(const char *vector, const char *path, int fd) {
        if (!strcmp(vector, "fssetxattr"))
                return try_fssetxattr(fd, 0);
        if (!strcmp(vector, "fssetxattr-hi32"))
                return try_fssetxattr(fd, HIGH_BIT_32);
        if (!strcmp(vector, "fssetxattr-hiall"))
                return try_fssetxattr(fd, HIGH_BITS_ALL);
        if (!strcmp(vector, "setflags"))
                return try_setflags(fd, 0, FS_IOC_SETFLAGS);
        if (!strcmp(vector, "setflags-hi32"))
                return try_setflags(fd, HIGH_BIT_32, FS_IOC_SETFLAGS);
        if (!strcmp(vector, "setflags32"))
                return try_setflags(fd, 0, FS_IOC32_SETFLAGS);
        if (!strcmp(vector, "compat-setflags32"))
                return try_compat_ioctl(fd, FS_IOC32_SETFLAGS);
        if (!strcmp(vector, "compat-setflags"))
                return try_compat_ioctl(fd, FS_IOC_SETFLAGS);
        if (!strcmp(vector, "compat-fssetxattr"))
                return try_compat_ioctl(fd, FS_IOC_FSSETXATTR);
        if (!strcmp(vector, "file_setattr"))
                return try_file_setattr(path, 0);
        if (!strcmp(vector, "compat-file_setattr"))
                return try_file_setattr(path, 1);
        return try_harmless(vector, fd);
}

static int known(const char *vector) {
        static const char *const vectors[] = { "fssetxattr", "fssetxattr-hi32", "fssetxattr-hiall", "setflags",
                                               "setflags-hi32", "setflags32", "compat-setflags32", "compat-setflags",
                                               "compat-fssetxattr", "file_setattr", "compat-file_setattr",
                                               "getflags", "fsgetxattr", "tcgets", "fionread", "get" };

        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
                if (!strcmp(vector, vectors[i]))
                        return 1;
        return 0;
}

int main(int argc, char **argv) {
        int fd;

        if (argc != 3 || !known(argv[1])) {
                fprintf(stderr, "usage: projescape VECTOR|get PATH (see tests/lib/projescape.c)\n");
                return 2;
        }
        fd = open(argv[2], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                printf("%s: open: errno %s\n", argv[1], errno_name(errno));
                return 0;
        }
        if (!strcmp(argv[1], "get")) {
                if (get_fsx(fd) < 0)
                        printf("get: errno %s\n", errno_name(errno));
                else
                        printf("projid=%u inherit=%d\n", low_fsx.fsx_projid,
                               (low_fsx.fsx_xflags & FS_XFLAG_PROJINHERIT) ? 1 : 0);
                return 0;
        }
        if (try_vector(argv[1], argv[2], fd) < 0)
                printf("%s: errno %s\n", argv[1], errno_name(errno));
        else
                printf("%s: ok\n", argv[1]);
        return 0;
}
