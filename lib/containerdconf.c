/* SPDX-License-Identifier: Apache-2.0 */
#include "containerdconf.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/* In every config version: plugins."io.containerd.grpc.v1.cri" (2), plugins.cri (1),
 * plugins.'io.containerd.cri.v1.runtime' (3). */
#define RUNTIMES_TABLE ".containerd.runtimes."

/* Copies the line at *p (without its comment and surrounding blanks) into buf; moves *p past it. */
static void next_line(const char **p, char *buf, size_t size) {
        const char *s = *p, *end = s + strcspn(s, "\n");
        size_t len = 0;
        bool quoted = false;

        for (const char *c = s; c < end && len + 1 < size; c++) {
                if (*c == '"' && (c == s || c[-1] != '\\'))
                        quoted = !quoted;
                if (*c == '#' && !quoted)
                        break;
                buf[len++] = *c;
        }
        while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\r'))
                len--;
        buf[len] = '\0';
        *p = *end ? end + 1 : end;
}

static const char *skip_blanks(const char *s) { return s + strspn(s, " \t"); }

/* The first "..." string of s into buf (no escapes but \"), or "" when none. */
static void first_string(const char *s, char *buf, size_t size) {
        const char *open = strchr(s, '"'), *close;

        buf[0] = '\0';
        if (!open || !(close = strchr(open + 1, '"')))
                return;
        snprintf(buf, size, "%.*s", (int) (close - open - 1), open + 1);
}

/* Whether a pod_annotations array (its text) lets io.nbmount.team through: containerd matches each
 * entry as a glob (filepath.Match); the entries that do here are io.nbmount.*, io.nbmount.team, *. */
static bool lets_ours_through(const char *array) {
        static const char *const patterns[] = { "\"io.nbmount.*\"", "\"io.*\"", "\"*\"", NULL };

        for (size_t i = 0; patterns[i]; i++)
                if (strstr(array, patterns[i]))
                        return true;
        return strstr(array, "\"io.nbmount.team\"") && strstr(array, "\"io.nbmount.notebook\"") &&
               strstr(array, "\"io.nbmount.user\"");
}

/* The runtime a table header names (runtimes.NAME or runtimes.NAME.options), added when new. */
static struct containerd_runtime *runtime_of(struct containerd_config *c, const char *header, bool *ret_options) {
        char name[NB_NAME_MAX + 1];
        const char *rest = strstr(header, RUNTIMES_TABLE) + strlen(RUNTIMES_TABLE);
        size_t len = strcspn(rest, ".]");

        if (len == 0 || len > NB_NAME_MAX)
                return NULL;
        snprintf(name, sizeof(name), "%.*s", (int) len, rest);
        *ret_options = strncmp(rest + len, ".options]", 9) == 0;
        if (!*ret_options && rest[len] != ']')
                return NULL;
        for (size_t i = 0; i < c->n_runtimes; i++)
                if (streq(c->runtimes[i].handler, name))
                        return &c->runtimes[i];
        if (c->n_runtimes == CONTAINERD_MAX_RUNTIMES)
                return NULL;
        snprintf(c->runtimes[c->n_runtimes].handler, sizeof(name), "%s", name);
        return &c->runtimes[c->n_runtimes++];
}

static void read_key(struct containerd_runtime *r, bool options, const char *line, const char **p) {
        char array[4096];
        const char *value = strchr(line, '=');
        size_t key_len = value ? strcspn(line, " \t=") : 0;

        if (!value)
                return;
        value = skip_blanks(value + 1);
        if (options && key_len == 10 && strncmp(line, "BinaryName", 10) == 0)
                first_string(value, r->binary_name, sizeof(r->binary_name));
        else if (!options && key_len == 12 && strncmp(line, "runtime_type", 12) == 0)
                first_string(value, r->runtime_type, sizeof(r->runtime_type));
        else if (!options && key_len == 15 && strncmp(line, "pod_annotations", 15) == 0) {
                snprintf(array, sizeof(array), "%s", value);
                while (!strchr(array, ']') && **p) { /* an array over several lines */
                        size_t len = strlen(array);
                        next_line(p, array + len, sizeof(array) - len);
                }
                r->passes_annotations = lets_ours_through(array);
        }
}

void containerd_config_read(const char *text, struct containerd_config *ret) {
        struct containerd_runtime *runtime = NULL;
        bool options = false;
        char line[4096];
        const char *p = text;

        memset(ret, 0, sizeof(*ret));
        while (*p) {
                const char *s;

                next_line(&p, line, sizeof(line));
                s = skip_blanks(line);
                if (s[0] == '[') {
                        runtime = strncmp(s + 1, "plugins.", 8) == 0 && strstr(s, RUNTIMES_TABLE)
                                          ? runtime_of(ret, s + 1, &options)
                                          : NULL;
                        continue;
                }
                if (runtime)
                        read_key(runtime, options, s, &p);
        }
}

const struct containerd_runtime *containerd_find_binary(const struct containerd_config *c, const char *program) {
        for (size_t i = 0; i < c->n_runtimes; i++) {
                const char *slash = strrchr(c->runtimes[i].binary_name, '/');
                const char *base = slash ? slash + 1 : c->runtimes[i].binary_name;

                if (streq(base, program))
                        return &c->runtimes[i];
        }
        return NULL;
}
