/* fsx: reads or sets a file's project id and PROJINHERIT flag through FS_IOC_FSGETXATTR and
 * FS_IOC_FSSETXATTR, the ioctl behind `chattr -p` and `xfs_quota project -s` (busybox has no
 * chattr). Built static (`cc -static -o fsx tests/lib/uml-fsx.c`) so that it runs in a busybox
 * container too: it is the quota-escape attempt of tests/quota-check.sh.
 *   fsx get PATH       prints "projid=N inherit=0|1"
 *   fsx set PATH ID    sets the project id (keeps the flags); on failure prints
 *                      "fsx: PATH: set projid ID: STRERROR (errno NAME)" and exits 1
 *   fsx fset PATH ID   the same through the file_setattr(2) system call (Linux 6.17), which a
 *                      seccomp rule against the ioctl alone does not stop; ENOSYS before 6.17 */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef SYS_file_getattr
#define SYS_file_getattr 468 /* x86_64, Linux 6.17 */
#define SYS_file_setattr 469
#endif
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
        default: return "other";
        }
}

int main(int argc, char **argv) {
        if (argc < 3 || (strcmp(argv[1], "get") && strcmp(argv[1], "set") && strcmp(argv[1], "fset")) ||
            (strcmp(argv[1], "get") && argc != 4)) {
                fprintf(stderr, "usage: fsx get PATH | fsx set PATH PROJID | fsx fset PATH PROJID\n");
                return 2;
        }
        if (!strcmp(argv[1], "fset")) {
                /* file_getattr may be denied where file_setattr is not: then set from zero flags */
                struct nb_file_attr fa = {};
                (void) syscall(SYS_file_getattr, AT_FDCWD, argv[2], &fa, sizeof(fa), AT_SYMLINK_NOFOLLOW);
                fa.fa_projid = (uint32_t) strtoul(argv[3], NULL, 10);
                if (syscall(SYS_file_setattr, AT_FDCWD, argv[2], &fa, sizeof(fa), AT_SYMLINK_NOFOLLOW) < 0) {
                        printf("fsx: %s: file_setattr projid %s: %s (errno %s)\n", argv[2], argv[3], strerror(errno),
                               errno_name(errno));
                        return 1;
                }
                printf("fsx: %s: projid set to %s (file_setattr)\n", argv[2], argv[3]);
                return 0;
        }
        int fd = open(argv[2], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                printf("fsx: %s: open: %s (errno %s)\n", argv[2], strerror(errno), errno_name(errno));
                return 1;
        }
        struct fsxattr fsx;
        if (ioctl(fd, FS_IOC_FSGETXATTR, &fsx) < 0) {
                printf("fsx: %s: get: %s (errno %s)\n", argv[2], strerror(errno), errno_name(errno));
                return 1;
        }
        if (!strcmp(argv[1], "get")) {
                printf("projid=%u inherit=%d\n", fsx.fsx_projid, (fsx.fsx_xflags & FS_XFLAG_PROJINHERIT) ? 1 : 0);
                return 0;
        }
        fsx.fsx_projid = (unsigned) strtoul(argv[3], NULL, 10);
        if (ioctl(fd, FS_IOC_FSSETXATTR, &fsx) < 0) {
                int e = errno;
                printf("fsx: %s: set projid %s: %s (errno %s)\n", argv[2], argv[3], strerror(e), errno_name(e));
                return 1;
        }
        printf("fsx: %s: projid set to %s\n", argv[2], argv[3]);
        return 0;
}
