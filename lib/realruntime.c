/* SPDX-License-Identifier: Apache-2.0 */
#include "realruntime.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* An executable regular file that is not the running program. */
static bool usable(const char *path, const struct stat *self) {
        struct stat st;

        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0 &&
               !(st.st_dev == self->st_dev && st.st_ino == self->st_ino);
}

static bool search(const char *name, const struct stat *self, char *ret) {
        const char *dir = REAL_RUNTIME_PATH;

        while (*dir) {
                size_t len = strcspn(dir, ":");

                snprintf(ret, PATH_MAX, "%.*s/%s", (int) len, dir, name);
                if (usable(ret, self))
                        return true;
                dir += len + (dir[len] == ':');
        }
        return false;
}

int real_runtime_find(const char *configured, int self_fd, char *ret, bool *ret_skipped, struct nb_error *err) {
        static const char *const names[] = { "runc", "crun" };
        struct stat self = { .st_ino = 0 };

        *ret_skipped = false;
        if (fstat(self_fd, &self) < 0)
                self.st_dev = 0, self.st_ino = 0;
        if (configured && configured[0]) {
                if (usable(configured, &self)) {
                        snprintf(ret, PATH_MAX, "%s", configured);
                        return 0;
                }
                *ret_skipped = true;
        }
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if (search(names[i], &self, ret))
                        return 0;
        return nb_fail(err, ENOENT,
                       "no container runtime to run: neither runc nor crun (other than nbmount-runtime) is in %s%s%s%s; "
                       "install runc, or name the runtime in node.yaml's runtime.binary",
                       REAL_RUNTIME_PATH, configured && configured[0] ? ", and runtime.binary " : "",
                       configured && configured[0] ? configured : "",
                       configured && configured[0] ? " is not an executable file other than nbmount-runtime" : "");
}
