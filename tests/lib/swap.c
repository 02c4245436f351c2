/* SPDX-License-Identifier: Apache-2.0 */
/* swap A B STOPFILE: exchanges the paths A and B atomically (renameat2 RENAME_EXCHANGE) in a tight
 * loop until STOPFILE exists, then leaves them as they were at the start and prints the number of
 * exchanges. A is always something (the real folder or the symlink), never absent: a reader sees
 * one or the other. Used by tests/hook-check.sh to race the hook. Built by the test itself. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: swap A B STOPFILE\n");
                return 2;
        }
        unsigned long count = 0;
        while (access(argv[3], F_OK) != 0) {
                for (int i = 0; i < 256; i++) {
                        if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
                                perror("swap: renameat2");
                                return 1;
                        }
                        count++;
                }
        }
        if (count % 2 && renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) != 0) {
                perror("swap: renameat2");
                return 1;
        }
        printf("%lu\n", count);
        return 0;
}
