/* SPDX-License-Identifier: Apache-2.0 */
#include "values.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
}

const char *name_problem(const char *s) {
        size_t len = strlen(s);

        if (len == 0)
                return "is empty";
        if (len > NB_NAME_MAX)
                return "is longer than 64 bytes";
        if (s[0] == '.')
                return "starts with a dot";
        for (const char *p = s; *p; p++) {
                if (*p == '/')
                        return "contains a slash";
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return "contains a control character";
                if (!is_name_char(*p))
                        return "may only contain letters, digits, '.', '_' and '-'";
        }
        if (s[0] == '-')
                return "starts with a dash";
        if (strstr(s, ".."))
                return "contains '..'";
        return NULL;
}

void name_copy(nb_name dst, const char *src) {
        snprintf(dst, sizeof(nb_name), "%s", src);
}

const char *path_problem(const char *s) {
        if (s[0] != '/')
                return "is not an absolute path";
        if (strlen(s) > NB_PATH_MAX)
                return "is longer than 4095 bytes";
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return "contains a control character";
        if (s[1] == '\0')
                return NULL;
        for (const char *p = s; *p;) {
                const char *component = p + 1, *end = strchrnul(component, '/');
                size_t n = (size_t) (end - component);

                if (n == 0)
                        return "has an empty component ('//' or a trailing '/')";
                if ((n == 1 && component[0] == '.') || (n == 2 && component[0] == '.' && component[1] == '.'))
                        return "has a '.' or '..' component";
                p = end;
        }
        return NULL;
}

static const struct size_unit {
        const char *suffix;
        uint64_t multiplier;
} size_units[] = {
        { "B", 1ULL },
        { "kB", 1000ULL },
        { "MB", 1000ULL * 1000 },
        { "GB", 1000ULL * 1000 * 1000 },
        { "TB", 1000ULL * 1000 * 1000 * 1000 },
        { "KiB", 1ULL << 10 },
        { "MiB", 1ULL << 20 },
        { "GiB", 1ULL << 30 },
        { "TiB", 1ULL << 40 },
};

#define SIZE_SYNTAX "is not a size like 15GB, 1.5 TiB or unlimited (units: B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"

static size_t take_digits(const char *s, unsigned __int128 *value) {
        size_t n = 0;

        *value = 0;
        while (s[n] >= '0' && s[n] <= '9')
                *value = *value * 10 + (unsigned) (s[n++] - '0');
        return n;
}

int size_parse(const char *s, uint64_t *ret_bytes, const char **ret_problem) {
        unsigned __int128 whole, fraction = 0, scale = 1, bytes;
        size_t n_whole, n_fraction = 0;
        const char *p = s;

        if (strcmp(s, "unlimited") == 0) {
                *ret_bytes = NB_SIZE_UNLIMITED;
                return 0;
        }
        n_whole = take_digits(p, &whole);
        p += n_whole;
        if (*p == '.') {
                n_fraction = take_digits(++p, &fraction);
                p += n_fraction;
                if (n_fraction == 0 || n_fraction > 9)
                        return *ret_problem = SIZE_SYNTAX, -EINVAL;
        }
        if (n_whole == 0 || n_whole > 15)
                return *ret_problem = SIZE_SYNTAX, -EINVAL;
        if (*p == ' ')
                p++;
        for (size_t i = 0; i < (sizeof(size_units) / sizeof(size_units[0])); i++) {
                if (strcmp(p, size_units[i].suffix) != 0)
                        continue;
                for (size_t d = 0; d < n_fraction; d++)
                        scale *= 10;
                if ((fraction * size_units[i].multiplier) % scale != 0)
                        return *ret_problem = "is not a whole number of bytes", -EINVAL;
                bytes = whole * size_units[i].multiplier + fraction * size_units[i].multiplier / scale;
                if (bytes >= NB_SIZE_UNLIMITED)
                        return *ret_problem = "is too large", -ERANGE;
                *ret_bytes = (uint64_t) bytes;
                return 0;
        }
        return *ret_problem = SIZE_SYNTAX, -EINVAL;
}

void size_format(uint64_t bytes, char *buf, size_t len) {
        const struct size_unit *best = &size_units[0];

        if (bytes == NB_SIZE_UNLIMITED) {
                snprintf(buf, len, "unlimited");
                return;
        }
        for (size_t i = 1; i < sizeof(size_units) / sizeof(size_units[0]); i++)
                if (bytes >= size_units[i].multiplier && bytes % size_units[i].multiplier == 0 &&
                    size_units[i].multiplier > best->multiplier)
                        best = &size_units[i];
        snprintf(buf, len, "%llu %s", (unsigned long long) (bytes / best->multiplier), best->suffix);
}

struct name_table {
        const char *items;
        size_t stride, offset;
};

static const char *name_at(const struct name_table *t, size_t i) {
        return t->items + i * t->stride + t->offset;
}

static int compare_name_then_index(const void *a, const void *b, void *table) {
        size_t i = *(const size_t *) a, k = *(const size_t *) b;
        int by_name = strcmp(name_at(table, i), name_at(table, k));

        return by_name ? by_name : (i > k) - (i < k);
}

size_t names_find_repeat(const void *items, size_t n, size_t stride, size_t offset) {
        const struct name_table table = { items, stride, offset };
        size_t *order = calloc(n ? n : 1, sizeof(*order)), first_repeat = n;

        if (!order) { /* out of memory: the slow way */
                for (size_t i = 1; i < n; i++)
                        for (size_t k = 0; k < i; k++)
                                if (strcmp(name_at(&table, i), name_at(&table, k)) == 0)
                                        return i;
                return n;
        }
        for (size_t i = 0; i < n; i++)
                order[i] = i;
        qsort_r(order, n, sizeof(*order), compare_name_then_index, (void *) &table);
        /* Runs of one name, each in index order: the second item of a run is its first repeat. */
        for (size_t i = 1, run_start = 0; i < n; i++) {
                if (strcmp(name_at(&table, order[run_start]), name_at(&table, order[i])) != 0)
                        run_start = i;
                else if (i == run_start + 1 && order[i] < first_repeat)
                        first_repeat = order[i];
        }
        free(order);
        return first_repeat;
}

static void append_item(char *buf, size_t size, size_t *used, size_t index, const char *item) {
        if (*used < size)
                *used += (size_t) snprintf(buf + *used, size - *used, "%s%s", index ? ", " : "", item);
}

void names_join(const nb_name *names, size_t n, char *buf, size_t size) {
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n; i++)
                append_item(buf, size, &used, i, names[i]);
}

void words_join(const char *const *words, char *buf, size_t size) {
        size_t used = 0;

        buf[0] = '\0';
        for (size_t i = 0; words[i]; i++)
                append_item(buf, size, &used, i, words[i]);
}

void text_append_shown(char *buf, size_t size, size_t *len, const char *s, const char *hidden) {
        if (size == 0)
                return;
        for (; *s && *len + 1 < size; s++) {
                bool shown = *s >= 0x20 && *s < 0x7f && !strchr(hidden, *s);

                if (shown)
                        buf[(*len)++] = *s;
                else
                        buf[(*len)++] = '?';
        }
        buf[*len] = '\0';
}
