/* SPDX-License-Identifier: Apache-2.0 */
#include "testclock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* Whether NAME=1 is in the environment the process started with. */
static bool initial_env_is_one(const char *name) {
        _cleanup_close_ int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
        char text[65536];
        size_t len = 0, name_len = strlen(name);
        ssize_t n;

        if (fd < 0)
                return false;
        while (len < sizeof(text) - 1 && (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
                len += (size_t) n;
        text[len] = '\0';
        for (size_t i = 0; i < len; i += strlen(text + i) + 1)
                if (strncmp(text + i, name, name_len) == 0 && streq(text + i + name_len, "=1"))
                        return true;
        return false;
}

int testclock_now(const char *now_option, time_t *ret, struct nb_error *err) {
        struct tm tm = {};
        const char *end;

        if (!now_option) {
                *ret = time(NULL);
                return 0;
        }
        if (!initial_env_is_one(TESTCLOCK_VARIABLE))
                return nb_fail(err, EPERM,
                               "--now is for tests only: it is refused unless " TESTCLOCK_VARIABLE
                               "=1 is in the environment (a real run uses the system clock)");
        end = strptime(now_option, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end)
                return nb_fail(err, EINVAL, "--now \"%.40s\" must be a UTC time like 2026-12-03T04:00:00Z", now_option);
        *ret = timegm(&tm);
        return 0;
}
