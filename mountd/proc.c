/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountd.h"
#include "util.h"

/* Field 22 of /proc/PID/stat, counted after the command's closing parenthesis (the command may hold
 * spaces and parentheses): field 3 is the state, 22 the start time. A zombie counts as gone. */
uint64_t process_start_time(pid_t pid) {
        char path[64], buf[1024], *p, *save = NULL, *end;
        _cleanup_close_ int fd = -1;
        unsigned long long start;
        ssize_t n;
        int field = 3;

        if (pid <= 0)
                return 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                return 0;
        buf[n] = '\0';
        if (!(p = strrchr(buf, ')')))
                return 0;
        for (char *word = strtok_r(p + 1, " ", &save); word; word = strtok_r(NULL, " ", &save), field++) {
                if (field == 3 && (word[0] == 'Z' || word[0] == 'X'))
                        return 0;
                if (field != 22)
                        continue;
                errno = 0;
                start = strtoull(word, &end, 10);
                return errno || *end ? 0 : start;
        }
        return 0;
}

bool process_is(pid_t pid, uint64_t start_time) {
        return start_time != 0 && process_start_time(pid) == start_time;
}

uid_t process_uid(pid_t pid) {
        char path[64], buf[2048], *line;
        _cleanup_close_ int fd = -1;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
                return 0;
        buf[n] = '\0';
        line = strstr(buf, "\nUid:");
        return line ? (uid_t) strtoul(line + strlen("\nUid:"), NULL, 10) : 0;
}

/* argv[0] of pid ends in "s3fs" and one of its arguments is mountpoint. (s3fs cuts its BUCKET:/PREFIX
 * argument in two in place, so the mount point is not always argv[2].) */
static bool is_s3fs_of(pid_t pid, const char *mountpoint) {
        char path[64], cmdline[PATH_MAX + 2048];
        _cleanup_close_ int fd = -1;
        const char *end;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, cmdline, sizeof(cmdline) - 1)) <= 0)
                return false;
        cmdline[n] = '\0';
        end = cmdline + n;
        if (strlen(cmdline) < 4 || !streq(cmdline + strlen(cmdline) - 4, "s3fs"))
                return false;
        for (const char *arg = cmdline + strlen(cmdline) + 1; arg < end; arg += strlen(arg) + 1)
                if (streq(arg, mountpoint))
                        return true;
        return false;
}

/* An s3fs that a crash left without a record: found by its command line. */
void child_report_read(int fd, char *buf, size_t size) {
        size_t len = 0;
        ssize_t n;

        while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        while (len > 0 && buf[len - 1] == '\n')
                buf[--len] = '\0';
}

void kill_s3fs_of(const char *mountpoint) {
        DIR *proc = opendir("/proc");
        struct dirent *entry;

        while (proc && (entry = readdir(proc))) {
                pid_t pid = (pid_t) strtol(entry->d_name, NULL, 10);

                if (pid > 0 && is_s3fs_of(pid, mountpoint))
                        kill(pid, SIGKILL);
        }
        if (proc)
                closedir(proc);
}
