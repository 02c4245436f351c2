/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount: the OCI hook and the operator's CLI. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "commands.h"
#include "util.h"

static const char usage_text[] =
        "Usage: nbmount COMMAND [OPTIONS]\n"
        "\n"
        "Gives notebook containers their storage: /notebooks, /storage and /datasets/NAME.\n"
        "\n"
        "Commands:\n"
        "  hook       the OCI hook: mount a notebook container's storage (runtimes call it)\n"
        "  plan       show what a notebook container would mount, and why not\n"
        "  quota      show every team's use, plan and overage; apply a plan change at once\n"
        "  meter      record this hour's use of every project in the ledger (quota --month bills it)\n"
        "  mounts     list the S3 mounts nbmountd shares, their containers and health\n"
        "  offline    list a notebook's offline copy in the platform's bucket, what was left out\n"
        "  validate   check a node config, grants, settings.yaml or config.json file\n"
        "  check      check this node's setup: folders, kernel, quotas, nbmountd, hooks.d\n"
        "  seccomp    print a seccomp profile that keeps containers in their quota projects\n"
        "\n"
        "Options:\n"
        "  -h, --help     show this help (nbmount COMMAND --help for a command's)\n"
        "  -V, --version  show the version\n"
        "\n"
        "Exit status: 0 success, 1 a mount is refused, 2 invalid input, config or usage.\n";

static const struct command {
        const char *name;
        int (*run)(int argc, char **argv);
} commands[] = {
        { "hook", cmd_hook },
        { "plan", cmd_plan },
        { "quota", cmd_quota },
        { "meter", cmd_meter },
        { "mounts", cmd_mounts },
        { "offline", cmd_offline },
        { "validate", cmd_validate },
        { "check", cmd_check },
        { "seccomp", cmd_seccomp },
};

int parse_listing_options(int argc, char **argv, const char *usage, const char **ret_config_path, bool *ret_json) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },         {},
        };
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (opt == 'h')
                        return fputs(usage, stdout), 0;
                if (opt == 'c')
                        *ret_config_path = optarg;
                else if (opt == 'j')
                        *ret_json = true;
                else
                        return fputs(usage, stderr), -EINVAL;
        }
        return 1;
}

void print_error(const char *fmt, ...) {
        va_list ap;

        fputs("nbmount: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* The hook runs as root from runtimes we do not control: start from a known state. */
static void sanitize_process(void) {
        clearenv();
        umask(022);
        if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
                for (int fd = 3; fd < 1024; fd++)
                        close(fd);
}

int main(int argc, char **argv) {
        sanitize_process();
        if (argc < 2) {
                fputs(usage_text, stderr);
                return EXIT_INVALID;
        }
        if (streq(argv[1], "-h") || streq(argv[1], "--help")) {
                fputs(usage_text, stdout);
                return 0;
        }
        if (streq(argv[1], "-V") || streq(argv[1], "--version")) {
                printf("nbmount %s\n", NBMOUNT_VERSION);
                return 0;
        }
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (streq(argv[1], commands[i].name))
                        return commands[i].run(argc - 1, argv + 1);
        print_error("unknown command \"%s\"; see nbmount --help", argv[1]);
        return EXIT_INVALID;
}
