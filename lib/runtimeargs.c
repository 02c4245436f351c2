/* SPDX-License-Identifier: Apache-2.0 */
#include "runtimeargs.h"

#include <string.h>

#include "util.h"

/* Options that take a value, as runc 1.1 and crun 1.8 spell them. */
static const char *const global_valued[] = { "root", "log", "log-format", "log-level", "criu", "rootless",
                                             "cgroup-manager", NULL };
static const char *const create_valued[] = { "bundle", "b", "console-socket", "pid-file", "preserve-fds",
                                             "config", "f", NULL };

static bool in_words(const char *const *words, const char *name, size_t len) {
        for (size_t i = 0; words[i]; i++)
                if (strlen(words[i]) == len && strncmp(words[i], name, len) == 0)
                        return true;
        return false;
}

struct option_word {
        const char *name; /* without its dashes */
        size_t name_len;  /* up to "=" or the end */
        const char *value; /* after "=", or the next word for a valued option; NULL if none */
};

/* argv[*i] is an option: splits it, takes the next word as its value when the option is in
 * `valued` and has no "=", and moves *i past what it took. Returns false when a value is missing. */
static bool read_option(int argc, char *const argv[], int *i, const char *const *valued, struct option_word *ret) {
        const char *word = argv[*i], *equals;

        word += word[1] == '-' ? 2 : 1;
        equals = strchr(word, '=');
        ret->name = word;
        ret->name_len = equals ? (size_t) (equals - word) : strlen(word);
        ret->value = equals ? equals + 1 : NULL;
        (*i)++;
        if (!equals && in_words(valued, ret->name, ret->name_len)) {
                if (*i >= argc)
                        return false;
                ret->value = argv[(*i)++];
        }
        return true;
}

static bool is_option(const char *word) { return word[0] == '-' && word[1] != '\0' && !streq(word, "--"); }

static bool named(const struct option_word *o, const char *name) {
        return o->name_len == strlen(name) && strncmp(o->name, name, o->name_len) == 0;
}

/* The create or run command's options, from argv[i]. */
static void read_create_options(int argc, char *const argv[], int i, struct runtime_args *ret) {
        struct option_word o;

        while (i < argc && is_option(argv[i])) {
                if (!read_option(argc, argv, &i, create_valued, &o)) {
                        ret->command = -1; /* runc will say what is missing */
                        return;
                }
                if (o.value && (named(&o, "bundle") || named(&o, "b")))
                        ret->bundle = o.value;
                else if (o.value && (named(&o, "config") || named(&o, "f")))
                        ret->config = o.value;
        }
}

void runtime_args_parse(int argc, char *const argv[], struct runtime_args *ret) {
        struct runtime_args args = { .command = -1 };
        struct option_word o;
        int i = 1;

        while (i < argc && is_option(argv[i])) {
                if (!read_option(argc, argv, &i, global_valued, &o)) {
                        *ret = args;
                        return;
                }
                if (o.value && named(&o, "log"))
                        args.log_path = o.value;
                else if (o.value && named(&o, "log-format"))
                        args.log_json = streq(o.value, "json");
        }
        if (i < argc && streq(argv[i], "--"))
                i++;
        if (i < argc) {
                args.command = i;
                args.creates = streq(argv[i], "create") || streq(argv[i], "run");
                if (args.creates)
                        read_create_options(argc, argv, i + 1, &args);
        }
        if (args.command < 0)
                args.creates = false;
        *ret = args;
}
