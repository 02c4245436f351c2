/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount-runtime: a runc-compatible runtime for engines without hooks.d (containerd, Docker). On
 * create and run of a container with io.nbmount.* annotations it adds nbmount's hooks to the
 * bundle's config.json; then, for every command, it execs the real runtime with the same arguments
 * (nbmount-runtime(8)). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "bundlehooks.h"
#include "jsonfile.h"
#include "nodeconfig.h"
#include "realruntime.h"
#include "runtimeargs.h"
#include "util.h"

#define CONFIG_ENV "NBMOUNT_CONFIG"
#define HOOK_PROGRAM_NAME "nbmount"

/* The runtime's log (--log), where containerd's shim reads a failed create's reason from: one line
 * in the format --log-format asks for, as runc writes it. */
static void log_to_runtime_log(const struct runtime_args *args, const char *message) {
        _cleanup_close_ int fd = -1;
        char when[64], line[NB_ERROR_MAX + 256], prefixed[NB_ERROR_MAX + 96];
        struct tm tm;
        time_t now = time(NULL);
        int len;

        if (!args->log_path)
                return;
        fd = open(args->log_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return;
        snprintf(prefixed, sizeof(prefixed), "nbmount-runtime: %s", message);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        if (args->log_json) {
                _cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

                json_object_object_add(o, "level", json_object_new_string("error"));
                json_object_object_add(o, "msg", json_object_new_string(prefixed));
                json_object_object_add(o, "time", json_object_new_string(when));
                len = snprintf(line, sizeof(line), "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        } else {
                len = snprintf(line, sizeof(line), "time=\"%s\" level=error msg=\"%s\"\n", when, prefixed);
        }
        if (len > 0 && write(fd, line, MIN((size_t) len, sizeof(line) - 1)) < 0)
                return;
}

static int fail(const struct runtime_args *args, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const struct runtime_args *args, const char *fmt, ...) {
        char message[NB_ERROR_MAX + 64];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        fprintf(stderr, "nbmount-runtime: %s\n", message);
        syslog(LOG_ERR, "%s", message);
        log_to_runtime_log(args, message);
        return 1;
}

/* The hook program: nbmount, beside this program. */
static int hook_program(char *ret, size_t size) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash;

        if (n <= 0)
                return -errno;
        self[n] = '\0';
        slash = strrchr(self, '/');
        if (!slash)
                return -ENOENT;
        *slash = '\0';
        if ((size_t) snprintf(ret, size, "%s/" HOOK_PROGRAM_NAME, self) >= size)
                return -ENAMETOOLONG;
        return access(ret, X_OK) == 0 ? 0 : -errno;
}

/* A notebook's create: its config.json gets the hooks (the node config must be sound: the hook
 * reads it at the start). 0, or the exit status of a refusal. */
static int add_hooks(const struct runtime_args *args, struct bundle_config *bundle, const char *config_path,
                     const struct node_config *config, const char *config_problem) {
        char program[PATH_MAX], node_config[PATH_MAX];
        const struct container_identity *id = &bundle->identity;
        struct nb_error err = {};
        int r;

        if (!config)
                return fail(args, "container of team %s, notebook %s, user %s refused: %s", id->team, id->notebook,
                            id->user, config_problem);
        if ((r = hook_program(program, sizeof(program))) < 0)
                return fail(args, "container of team %s refused: %s is not beside nbmount-runtime (%s); reinstall nbmount",
                            id->team, HOOK_PROGRAM_NAME, strerror(-r));
        if (!realpath(config_path, node_config))
                return fail(args, "%s: %s", config_path, strerror(errno));
        if (bundle_config_add_hooks(bundle, &(struct bundle_hooks) { program, node_config }, &err) < 0)
                return fail(args, "container of team %s, notebook %s, user %s refused: %s", id->team, id->notebook,
                            id->user, err.msg);
        return 0;
}

/* create and run: a notebook's bundle gets the hooks. 0 to go on, or the exit status of a refusal. */
static int prepare_bundle(const struct runtime_args *args, const char *config_path, const struct node_config *config,
                          const char *config_problem) {
        _cleanup_(bundle_config_done) struct bundle_config bundle = { .dir_fd = -1 };
        struct nb_error err = {};
        int r;

        if (!args->creates || args->config) /* crun --config: a file nbmount does not edit */
                return 0;
        r = bundle_config_read(args->bundle, &bundle, &err);
        if (r < 0)
                return fail(args, "%s", err.msg);
        return r == 0 ? 0 : add_hooks(args, &bundle, config_path, config, config_problem);
}

int main(int argc, char **argv) {
        const char *config_path = getenv(CONFIG_ENV);
        _cleanup_close_ int self_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
        _cleanup_free_ struct node_config *config = malloc(sizeof(*config));
        struct nb_error config_err = {}, err = {};
        struct runtime_args args;
        char runtime[PATH_MAX];
        bool skipped;
        int r;

        openlog("nbmount-runtime", LOG_PID, LOG_DAEMON);
        runtime_args_parse(argc, argv, &args);
        if (!config_path || !config_path[0])
                config_path = NODE_CONFIG_DEFAULT_PATH;
        if (!config)
                nb_fail(&config_err, ENOMEM, "out of memory");
        else if (node_config_load_path(config_path, config, &config_err) < 0)
                free(TAKE_PTR(config));
        if (real_runtime_find(config ? config->runtime_binary : NULL, self_fd, runtime, &skipped, &err) < 0)
                return fail(&args, "%s", err.msg);
        if (skipped)
                syslog(LOG_WARNING, "%s: runtime.binary %s is not an executable other than nbmount-runtime; using %s",
                       config_path, config->runtime_binary, runtime);
        if ((r = prepare_bundle(&args, config_path, config, config_err.msg)) != 0)
                return r;
        closelog();
        argv[0] = runtime;
        execv(runtime, argv);
        return fail(&args, "cannot run %s: %s", runtime, strerror(errno));
}
