/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "mountd.h"

void mountd_log(int priority, const char *fmt, ...) {
        static const char *const levels[] = { [LOG_ERR] = "error: ", [LOG_WARNING] = "warning: ",
                                              [LOG_DEBUG] = "debug: " };
        const char *level = priority < (int) (sizeof(levels) / sizeof(levels[0])) && levels[priority] ? levels[priority] : "";
        char line[2 * NB_ERROR_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        fprintf(stderr, "nbmountd: %s%s\n", level, line);
        if (priority != LOG_DEBUG)
                syslog(priority, "%s%s", level, line);
}
