/* SPDX-License-Identifier: Apache-2.0 */
/* Writing a whole buffer to a file: again after EINTR and after a short write. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

/* 0, or -errno (-EIO for a write that wrote nothing). offset < 0: write(), else pwrite() there. */
static inline int write_all_at(int fd, const char *text, size_t len, int64_t offset) {
        while (len > 0) {
                ssize_t n = offset < 0 ? write(fd, text, len) : pwrite(fd, text, len, (off_t) offset);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                text += n;
                len -= (size_t) n;
                if (offset >= 0)
                        offset += n;
        }
        return 0;
}
