#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nb_fail(struct nb_error *err, int code, const char *fmt, ...) {
        va_list ap;

        if (err) {
                va_start(ap, fmt);
                vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                va_end(ap);
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
        return -EINVAL;
}
