/* SPDX-License-Identifier: Apache-2.0 */
#include "mountinfo.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "util.h"

/* Decodes the octal escapes (\040 for a space, \011, \012, \134) of a path field in place. */
static void unescape(char *s) {
        char *out = s;

        for (; *s; s++, out++) {
                if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
                    s[3] <= '7') {
                        *out = (char) ((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
                        s += 3;
                } else {
                        *out = *s;
                }
        }
        *out = '\0';
}

/* The next space-separated field of *cursor, NUL-terminated in place; NULL at the end. */
static char *next_field(char **cursor) {
        char *field = *cursor;

        if (!field || !*field)
                return NULL;
        *cursor = strchr(field, ' ');
        if (*cursor)
                *(*cursor)++ = '\0';
        return field;
}

/* A decimal number that ends at the character end. */
static int parse_number(const char *text, char end, unsigned long long *ret) {
        char *rest;

        if (*text < '0' || *text > '9')
                return -EINVAL;
        errno = 0;
        *ret = strtoull(text, &rest, 10);
        return errno == 0 && *rest == end ? 0 : -EINVAL;
}

int mountinfo_parse_line(char *line, struct mountinfo_entry *ret) {
        char *cursor = line, *id, *devno, *root, *target, *field, *fstype, *source;
        unsigned long long mount_id, major, minor;

        if (!(id = next_field(&cursor)) || !next_field(&cursor) || !(devno = next_field(&cursor)) ||
            !(root = next_field(&cursor)) || !(target = next_field(&cursor)) || !next_field(&cursor))
                return -EINVAL;
        while ((field = next_field(&cursor)) && !streq(field, "-"))
                ; /* optional fields (shared:N, master:N, ...) up to the separator */
        if (!field || !(fstype = next_field(&cursor)) || !(source = next_field(&cursor)))
                return -EINVAL;
        if (parse_number(id, '\0', &mount_id) < 0 || parse_number(devno, ':', &major) < 0 ||
            parse_number(strchr(devno, ':') + 1, '\0', &minor) < 0 || major > UINT_MAX || minor > UINT_MAX)
                return -EINVAL;
        unescape(root);
        unescape(target);
        unescape(source);
        *ret = (struct mountinfo_entry) { .id = mount_id, .devno = makedev(major, minor), .root = root,
                                          .target = target, .fstype = fstype, .source = source };
        return 0;
}

struct mountinfo_query {
        uint64_t id;
        dev_t devno;
        bool whole_fs; /* match a whole-filesystem mount of devno, else the mount id */
};

static bool matches(const struct mountinfo_entry *e, const struct mountinfo_query *q) {
        return q->whole_fs ? e->devno == q->devno && streq(e->root, "/") : e->id == q->id;
}

static int copy_out(const struct mountinfo_entry *e, struct mountinfo_mount *ret) {
        int t = snprintf(ret->target, sizeof(ret->target), "%s", e->target);
        int s = snprintf(ret->source, sizeof(ret->source), "%s", e->source);

        if (t < 0 || (size_t) t >= sizeof(ret->target) || s < 0 || (size_t) s >= sizeof(ret->source))
                return -ENAMETOOLONG;
        ret->id = e->id;
        ret->devno = e->devno;
        ret->whole = streq(e->root, "/");
        return 0;
}

/* Calls visit with each parsable line of the mount table, in order, until it returns non-zero:
 * that value, 0 after the last line, or -errno. */
static int each_mount(int (*visit)(const struct mountinfo_entry *e, void *data), void *data) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        ssize_t n;
        int r;

        if (!f)
                return -errno;
        while ((n = getline(&line, &size, f)) > 0) {
                struct mountinfo_entry e;

                if (line[n - 1] == '\n')
                        line[n - 1] = '\0';
                if (mountinfo_parse_line(line, &e) == 0 && (r = visit(&e, data)) != 0)
                        return r;
        }
        return ferror(f) ? -EIO : 0;
}

struct found_mount {
        const struct mountinfo_query *query;
        struct mountinfo_mount *ret;
};

static int visit_match(const struct mountinfo_entry *e, void *data) {
        struct found_mount *f = data;

        if (!matches(e, f->query))
                return 0;
        return copy_out(e, f->ret) < 0 ? -ENAMETOOLONG : 1;
}

static int find(const struct mountinfo_query *q, struct mountinfo_mount *ret) {
        int r = each_mount(visit_match, &(struct found_mount) { .query = q, .ret = ret });

        return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

int mountinfo_by_id(uint64_t id, struct mountinfo_mount *ret) {
        return find(&(struct mountinfo_query) { .id = id }, ret);
}

int mountinfo_whole_fs(dev_t devno, struct mountinfo_mount *ret) {
        return find(&(struct mountinfo_query) { .devno = devno, .whole_fs = true }, ret);
}

/* Whether path is target or below it, by name. */
static bool path_under(const char *path, const char *target) {
        size_t n = strlen(target);

        if (streq(target, "/"))
                return true;
        return strncmp(path, target, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

struct covering_mount {
        const char *path;
        char fstype[64];
        size_t best;
        bool found;
};

/* The longest target wins; of equal ones the later, mounted on top. */
static int visit_covering(const struct mountinfo_entry *e, void *data) {
        struct covering_mount *c = data;

        if (!path_under(c->path, e->target) || strlen(e->target) < c->best)
                return 0;
        if (snprintf(c->fstype, sizeof(c->fstype), "%s", e->fstype) >= (int) sizeof(c->fstype))
                return -ENAMETOOLONG;
        c->best = strlen(e->target);
        c->found = true;
        return 0;
}

int mountinfo_fstype_of(const char *path, char *ret, size_t size) {
        struct covering_mount c = { .path = path };
        int r = each_mount(visit_covering, &c);

        if (r < 0)
                return r;
        if (!c.found)
                return -ENOENT;
        return snprintf(ret, size, "%s", c.fstype) < (int) size ? 0 : -ENAMETOOLONG;
}
