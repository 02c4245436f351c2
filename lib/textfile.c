/* SPDX-License-Identifier: Apache-2.0 */
#include "textfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Reads up to limit bytes into *buf, which holds *size bytes now and grows (to limit + 1 at most)
 * when a file turns out longer than its size said. A regular file is done at its size (expected,
 * from fstat): one read, not two, per file. */
static int read_all(int fd, char **buf, size_t *size, size_t limit, size_t expected, size_t *ret_len) {
        size_t len = 0;

        while (len < limit && (expected == SIZE_MAX || len != expected || len == 0)) {
                ssize_t n;

                if (len + 1 >= *size) {
                        size_t bigger = MIN(limit + 1, 2 * *size);
                        char *grown = realloc(*buf, bigger);

                        if (!grown)
                                return -ENOMEM;
                        *buf = grown;
                        *size = bigger;
                }
                n = read(fd, *buf + len, MIN(limit, *size - 1) - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        *ret_len = len;
        return 0;
}

static int read_capped(int fd, const char *file, size_t cap, bool regular_only, char **ret_text, size_t *ret_len,
                       struct nb_error *err) {
        _cleanup_free_ char *text = NULL;
        unsigned line, column;
        struct stat st;
        size_t len = 0, size;
        int r;

        if (fstat(fd, &st) < 0)
                return nb_fail(err, errno, "%s: cannot stat: %s", file, strerror(errno));
        if (regular_only && !S_ISREG(st.st_mode))
                return nb_fail(err, EINVAL, "%s: is not a regular file; replace it with a file", file);
        /* sized to the file (plus one byte to see its end), not to the cap: no 1 MiB mmap per file */
        size = S_ISREG(st.st_mode) ? MIN((size_t) st.st_size, cap) + 2 : 4096;
        text = malloc(size);
        if (!text)
                return nb_fail(err, ENOMEM, "%s: out of memory", file);
        r = read_all(fd, &text, &size, cap + 1, S_ISREG(st.st_mode) ? (size_t) st.st_size : SIZE_MAX, &len);
        if (r < 0)
                return nb_fail(err, r, "%s: cannot read: %s", file, strerror(-r));
        text[len] = '\0';
        if (len > cap) { /* point at the first byte past the cap */
                text_position(text, cap, &line, &column);
                nb_fail_at(err, file, line, column, "is %lld bytes, more than the %zu allowed; shorten it",
                           (long long) MAX((off_t) len, st.st_size), cap);
                return -EFBIG;
        }
        *ret_text = TAKE_PTR(text);
        *ret_len = len;
        return 0;
}

int text_read_fd(int fd, const char *file, size_t cap, char **ret_text, size_t *ret_len, struct nb_error *err) {
        return read_capped(fd, file, cap, true, ret_text, ret_len, err);
}

int text_read_fd_any(int fd, const char *file, size_t cap, char **ret_text, size_t *ret_len, struct nb_error *err) {
        return read_capped(fd, file, cap, false, ret_text, ret_len, err);
}

void text_position(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset; i++) {
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char) text[i] & 0xc0) != 0x80) { /* columns count characters */
                        column++;
                }
        }
        *ret_line = line;
        *ret_column = column;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates), or 0. */
static size_t utf8_sequence_length(const unsigned char *s, size_t left) {
        size_t n;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (left < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

int text_check_utf8(const char *text, size_t len, const char *file, struct nb_error *err) {
        const unsigned char *s = (const unsigned char *) text;
        unsigned line, column;

        for (size_t i = 0; i < len;) {
                size_t n = s[i] == 0 ? 0 : utf8_sequence_length(s + i, len - i);

                if (n == 0) {
                        text_position(text, i, &line, &column);
                        return nb_fail_at(err, file, line, column, "%s; save the file as UTF-8 text",
                                          s[i] == 0 ? "contains a NUL byte" : "is not valid UTF-8");
                }
                i += n;
        }
        return 0;
}

int text_write_all(int fd, const char *text, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, text, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EIO;
                text += n;
                len -= (size_t) n;
        }
        return 0;
}
