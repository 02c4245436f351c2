/* SPDX-License-Identifier: Apache-2.0 */
/* fsx: reads or changes a file's project id and PROJINHERIT flag in every way the kernel offers:
 * FS_IOC_FSSETXATTR (`chattr -p`, `xfs_quota project -s`), FS_IOC_SETFLAGS and FS_IOC32_SETFLAGS
 * (`chattr -P`), each also with high bits in the request (the kernel reads the request as 32 bits, a
 * seccomp rule sees 64), and file_setattr(2) (Linux 6.17). Built static
 * (`cc -static -o fsx tests/lib/uml-fsx.c`) so that it runs in a busybox container too: it is the
 * quota-escape attempt of tests/quota-check.sh (busybox has no chattr).
 *   fsx get PATH             prints "projid=N inherit=0|1"
 *   fsx set PATH ID          sets the project id with FS_IOC_FSSETXATTR (keeps the flags)
 *   fsx sethigh PATH ID      the same with the request | 1 << 32
 *   fsx fset PATH ID         the same through file_setattr(2); ENOSYS before 6.17
 *   fsx noinherit PATH       clears PROJINHERIT with FS_IOC_SETFLAGS (chattr -P)
 *   fsx noinherit32 PATH     the same with FS_IOC32_SETFLAGS
 *   fsx noinherithigh PATH   the same with FS_IOC_SETFLAGS | 1 << 32
 *   fsx fnoinherit PATH      the same through file_setattr(2)
 *   fsx census PATH ID       walks the tree (no symlink followed) and prints "folders=F files=R out=O
 *                            noinherit=N": O folders and regular files not in project ID, N folders
 *                            without PROJINHERIT
 *   fsx stamp PATH           prints the value of trusted.nbmount.quota, or "none"
 *   fsx mkfiles DIR N [SIZE] creates DIR/f0 .. f(N-1) of SIZE bytes (0); prints "made M", M < N
 *                            when one failed, and the error
 *   fsx swap A B N [USEC]    renames A to B and back, N times, with rename(2) (no copy on EXDEV),
 *                            waiting USEC microseconds after each rename; prints "renamed R refused F
 *                            (errno NAME)"
 * A change prints "fsx: PATH: projid set to ID[ (HOW)]" or "fsx: PATH: PROJINHERIT cleared (HOW)"
 * and exits 0; a failure prints "fsx: PATH: WHAT: STRERROR (errno NAME)" and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_file_getattr
#define SYS_file_getattr 468 /* x86_64, Linux 6.17 */
#define SYS_file_setattr 469
#endif
#define HIGH_BITS (1UL << 32)

struct nb_file_attr { /* struct file_attr of <linux/fs.h> 6.17, FILE_ATTR_SIZE_VER0 */
        uint64_t fa_xflags;
        uint32_t fa_extsize, fa_nextents, fa_projid, fa_cowextsize;
};

static const char *errno_name(int e) {
        switch (e) {
        case EPERM: return "EPERM";
        case EACCES: return "EACCES";
        case EINVAL: return "EINVAL";
        case ENOTTY: return "ENOTTY";
        case EOPNOTSUPP: return "EOPNOTSUPP";
        case ENOSYS: return "ENOSYS";
        case E2BIG: return "E2BIG";
        case EROFS: return "EROFS";
        case EXDEV: return "EXDEV";
        case EDQUOT: return "EDQUOT";
        case ENOSPC: return "ENOSPC";
        case ENOENT: return "ENOENT";
        default: return "other";
        }
}

static int failed(const char *path, const char *what) {
        int e = errno;

        printf("fsx: %s: %s: %s (errno %s)\n", path, what, strerror(e), errno_name(e));
        return 1;
}

/* file_getattr may be denied where file_setattr is not: then it sets from zero flags. */
static int by_file_setattr(const char *path, const char *id) {
        struct nb_file_attr fa = {};
        char what[64];

        (void) syscall(SYS_file_getattr, AT_FDCWD, path, &fa, sizeof(fa), AT_SYMLINK_NOFOLLOW);
        if (id)
                fa.fa_projid = (uint32_t) strtoul(id, NULL, 10);
        else
                fa.fa_xflags &= ~(uint64_t) FS_XFLAG_PROJINHERIT;
        snprintf(what, sizeof(what), id ? "file_setattr projid %s" : "file_setattr -P", id);
        if (syscall(SYS_file_setattr, AT_FDCWD, path, &fa, sizeof(fa), AT_SYMLINK_NOFOLLOW) < 0)
                return failed(path, what);
        if (id)
                printf("fsx: %s: projid set to %s (file_setattr)\n", path, id);
        else
                printf("fsx: %s: PROJINHERIT cleared (file_setattr)\n", path);
        return 0;
}

static int set_projid(int fd, const char *path, const char *id, unsigned long high) {
        struct fsxattr fsx;
        char what[64];

        if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
                return failed(path, "get");
        fsx.fsx_projid = (unsigned) strtoul(id, NULL, 10);
        snprintf(what, sizeof(what), "set projid %s", id);
        if (syscall(SYS_ioctl, fd, (unsigned long) FS_IOC_FSSETXATTR | high, &fsx) < 0)
                return failed(path, what);
        printf("fsx: %s: projid set to %s%s\n", path, id, high ? " (high bits)" : "");
        return 0;
}

/* chattr -P: FS_IOC_SETFLAGS takes a long on 64 bits, FS_IOC32_SETFLAGS an int (both read an int). */
static int clear_inherit(int fd, const char *path, unsigned long request, const char *how) {
        int flags = 0;

        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return failed(path, "getflags");
        flags &= ~FS_PROJINHERIT_FL;
        if (syscall(SYS_ioctl, fd, request, &flags) < 0)
                return failed(path, how);
        printf("fsx: %s: PROJINHERIT cleared (%s)\n", path, how);
        return 0;
}

static unsigned census_id;
static unsigned long census_folders, census_files, census_out, census_noinherit;

static int census_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        struct fsxattr fsx;
        int fd;

        (void) ftw;
        if ((type != FTW_D && type != FTW_F) || (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode)))
                return 0;
        if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0 ||
            ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0) {
                printf("fsx: %s: %s\n", path, strerror(errno));
                exit(1);
        }
        close(fd);
        if (S_ISDIR(st->st_mode)) {
                census_folders++;
                census_noinherit += !(fsx.fsx_xflags & FS_XFLAG_PROJINHERIT);
        } else {
                census_files++;
        }
        census_out += fsx.fsx_projid != census_id;
        return 0;
}

static int census(const char *path, const char *id) {
        census_id = (unsigned) strtoul(id, NULL, 10);
        if (nftw(path, census_entry, 64, FTW_PHYS | FTW_MOUNT) < 0)
                return failed(path, "nftw");
        printf("folders=%lu files=%lu out=%lu noinherit=%lu\n", census_folders, census_files, census_out,
               census_noinherit);
        return 0;
}

static int stamp(const char *path) {
        char value[64];
        ssize_t n = getxattr(path, "trusted.nbmount.quota", value, sizeof(value) - 1);

        if (n < 0 && errno == ENODATA)
                return puts("none"), 0;
        if (n < 0)
                return failed(path, "getxattr");
        value[n] = '\0';
        puts(value);
        return 0;
}

static int mkfiles(const char *dir, long n, long size) {
        static char block[65536];
        char name[4096];
        long made = 0;

        for (; made < n; made++) {
                int fd;

                snprintf(name, sizeof(name), "%s/f%ld", dir, made);
                if ((fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
                        break;
                for (long left = size; left > 0;) {
                        ssize_t w = write(fd, block, left < (long) sizeof(block) ? (size_t) left : sizeof(block));

                        if (w <= 0) {
                                close(fd);
                                goto out;
                        }
                        left -= w;
                }
                close(fd);
        }
out:
        if (made < n)
                printf("made %ld: %s: %s (errno %s)\n", made, name, strerror(errno), errno_name(errno));
        else
                printf("made %ld\n", made);
        return made < n;
}

static int swap(const char *a, const char *b, long n, long usec) {
        long renamed = 0, refused = 0;
        int last = 0;

        for (long i = 0; i < n; i++) {
                int there = rename(a, b) == 0;

                if (usec)
                        usleep((useconds_t) usec);
                if (there && rename(b, a) == 0) {
                        renamed++;
                        if (usec)
                                usleep((useconds_t) usec);
                } else {
                        refused++;
                        last = errno;
                }
        }
        printf("renamed %ld refused %ld (errno %s)\n", renamed, refused, last ? errno_name(last) : "none");
        return 0;
}

static int usage(void) {
        fprintf(stderr, "usage: fsx get PATH | fsx set|sethigh|fset PATH PROJID | "
                        "fsx noinherit|noinherit32|noinherithigh|fnoinherit PATH | fsx census PATH ID | "
                        "fsx stamp PATH | fsx mkfiles DIR N [SIZE] | fsx swap A B N [USEC]\n");
        return 2;
}

int main(int argc, char **argv) {
        const char *op = argc > 1 ? argv[1] : "", *path = argc > 2 ? argv[2] : NULL;
        int takes_id = !strcmp(op, "set") || !strcmp(op, "sethigh") || !strcmp(op, "fset");
        struct fsxattr fsx;
        int fd;

        if (!strcmp(op, "census") && argc == 4)
                return census(path, argv[3]);
        if (!strcmp(op, "stamp") && argc == 3)
                return stamp(path);
        if (!strcmp(op, "mkfiles") && (argc == 4 || argc == 5))
                return mkfiles(path, strtol(argv[3], NULL, 10), argc == 5 ? strtol(argv[4], NULL, 10) : 0);
        if (!strcmp(op, "swap") && (argc == 5 || argc == 6))
                return swap(path, argv[3], strtol(argv[4], NULL, 10), argc == 6 ? strtol(argv[5], NULL, 10) : 0);
        if (!path || argc != (takes_id ? 4 : 3))
                return usage();
        if (!strcmp(op, "fset") || !strcmp(op, "fnoinherit"))
                return by_file_setattr(path, takes_id ? argv[3] : NULL);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return failed(path, "open");
        if (!strcmp(op, "get")) {
                if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0)
                        return failed(path, "get");
                printf("projid=%u inherit=%d\n", fsx.fsx_projid, (fsx.fsx_xflags & FS_XFLAG_PROJINHERIT) ? 1 : 0);
                return 0;
        }
        if (!strcmp(op, "set") || !strcmp(op, "sethigh"))
                return set_projid(fd, path, argv[3], !strcmp(op, "sethigh") ? HIGH_BITS : 0);
        if (!strcmp(op, "noinherit"))
                return clear_inherit(fd, path, FS_IOC_SETFLAGS, "FS_IOC_SETFLAGS");
        if (!strcmp(op, "noinherit32"))
                return clear_inherit(fd, path, FS_IOC32_SETFLAGS, "FS_IOC32_SETFLAGS");
        if (!strcmp(op, "noinherithigh"))
                return clear_inherit(fd, path, FS_IOC_SETFLAGS | HIGH_BITS, "FS_IOC_SETFLAGS high bits");
        return usage();
}
