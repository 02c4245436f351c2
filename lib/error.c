/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Control characters from untrusted input must not reach a terminal or a log raw: \n, \t, \xNN, and
 * the C1 controls U+0080..U+009F (which terminals also obey) as \u00NN. */
static void escape_controls(char *msg, size_t size) {
        char escaped[NB_ERROR_MAX];
        size_t used = 0;

        for (const unsigned char *p = (const unsigned char *) msg; *p && used + 7 < sizeof(escaped); p++) {
                if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
                        used += (size_t) snprintf(escaped + used, 7, "\\u%04x", *++p);
                else if (*p >= 0x20 && *p != 0x7f)
                        escaped[used++] = (char) *p;
                else if (*p == '\n' || *p == '\t')
                        used += (size_t) snprintf(escaped + used, 3, "\\%c", *p == '\n' ? 'n' : 't');
                else
                        used += (size_t) snprintf(escaped + used, 5, "\\x%02x", *p);
        }
        escaped[used] = '\0';
        snprintf(msg, size, "%s", escaped);
}

int nb_fail(struct nb_error *err, int code, const char *fmt, ...) {
        va_list ap;

        if (err) {
                va_start(ap, fmt);
                vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                va_end(ap);
                escape_controls(err->msg, sizeof(err->msg));
        }
        return -abs(code);
}

int nb_wrap(struct nb_error *err, int code, const char *fmt, ...) {
        char old[NB_ERROR_MAX];
        size_t used;
        va_list ap;

        if (!err)
                return -abs(code);
        memcpy(old, err->msg, sizeof(old));
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        used = strlen(err->msg);
        memccpy(err->msg + used, old, '\0', sizeof(err->msg) - used);
        err->msg[sizeof(err->msg) - 1] = '\0';
        escape_controls(err->msg, sizeof(err->msg));
        return -abs(code);
}

int nb_fail_at(struct nb_error *err, const char *file, unsigned line, unsigned column, const char *fmt, ...) {
        size_t used;
        va_list ap;

        if (!err)
                return -EINVAL;
        used = (size_t) snprintf(err->msg, sizeof(err->msg), "%.512s:%u:%u: ", file, line, column);
        va_start(ap, fmt);
        vsnprintf(err->msg + used, sizeof(err->msg) - used, fmt, ap);
        va_end(ap);
        escape_controls(err->msg, sizeof(err->msg));
        return -EINVAL;
}
