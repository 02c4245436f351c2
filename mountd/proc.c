#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountd.h"
#include "util.h"

/* Field 22 of /proc/PID/stat, counted after the command's closing parenthesis (the command may hold
 * spaces and parentheses). A zombie counts as gone. */
uint64_t process_start_time(pid_t pid) {
        char path[64], buf[1024], *p;
        _cleanup_close_ int fd = -1;
        unsigned long long start = 0;
        char state;
        ssize_t n;

        if (pid <= 0)
                return 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                return 0;
        buf[n] = '\0';
        if (!(p = strrchr(buf, ')')))
                return 0;
        if (sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
                   &state, &start) != 2 || state == 'Z' || state == 'X')
                return 0;
        return start;
}

bool process_is(pid_t pid, uint64_t start_time) {
        return start_time != 0 && process_start_time(pid) == start_time;
}
