/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every part: cleanup attributes and ownership hand-over. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **) p); }

/* Closes *fd if open and leaves it -1, so that a second close (an explicit one, then the cleanup)
 * never hits an fd number another thread has opened since. */
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved_errno = errno;
                close(*fd);
                errno = saved_errno;
                *fd = -1;
        }
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* Hand ownership over: returns the value and leaves the variable empty. */
#define TAKE_PTR(p) ({ __typeof__(p) _taken = (p); (p) = NULL; _taken; })
#define TAKE_FD(fd) ({ int _taken = (fd); (fd) = -1; _taken; })

static inline bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }
