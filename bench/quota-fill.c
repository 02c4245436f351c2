/* SPDX-License-Identifier: Apache-2.0 */
/* bench/quota.sh's filler: N project folders on a quota filesystem, each with a 4 KiB file, its
 * project id (10000 + i) and limits, as the hook would leave them. Usage: quota-fill DIR N */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/quota.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
        char path[4096], block[4096];
        int n = argc == 3 ? atoi(argv[2]) : 0;

        if (n <= 0) {
                fprintf(stderr, "usage: quota-fill DIR N\n");
                return 2;
        }
        memset(block, 'x', sizeof(block));
        for (int i = 0; i < n; i++) {
                struct if_dqblk limits = { .dqb_bsoftlimit = 15000000, .dqb_bhardlimit = 15000000, .dqb_valid = QIF_BLIMITS };
                struct fsxattr fsx;
                int dir, file;

                snprintf(path, sizeof(path), "%s/t%d", argv[1], i);
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        return perror(path), 1;
                dir = open(path, O_RDONLY | O_DIRECTORY);
                if (dir < 0 || ioctl(dir, FS_IOC_FSGETXATTR, &fsx) < 0)
                        return perror(path), 1;
                fsx.fsx_projid = 10000 + i;
                fsx.fsx_xflags |= FS_XFLAG_PROJINHERIT;
                if (ioctl(dir, FS_IOC_FSSETXATTR, &fsx) < 0)
                        return perror(path), 1;
                file = openat(dir, "data", O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (file < 0 || write(file, block, sizeof(block)) != sizeof(block))
                        return perror(path), 1;
                if (syscall(SYS_quotactl_fd, dir, QCMD(Q_SETQUOTA, PRJQUOTA), 10000 + i, &limits) < 0)
                        return perror("quotactl_fd"), 1;
                close(file);
                close(dir);
        }
        return 0;
}
