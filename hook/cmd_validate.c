/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount validate KIND FILE: check one input file as nbmount would read it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "grants.h"
#include "nodeconfig.h"
#include "ociconfig.h"
#include "sandbox.h"
#include "settings.h"
#include "util.h"

static const char validate_usage[] =
        "Usage: nbmount validate KIND FILE [--team TEAM]\n"
        "\n"
        "Checks FILE as nbmount reads it and prints the first problem as FILE:LINE:COLUMN: what to fix.\n"
        "KIND is one of:\n"
        "  node       the node config (node.yaml)\n"
        "  grants     a team's grants (GRANTS/TEAM.json); its \"team\" must equal --team, by\n"
        "             default the file name without .json\n"
        "  public     the public datasets (GRANTS/public.json)\n"
        "  settings   a notebook's .gradient/settings.yaml\n"
        "  config     an OCI bundle's config.json (the io.nbmount.* annotations)\n"
        "\n"
        "Exit status: 0 valid, 2 invalid.\n";

static int validate_fd(const char *kind, int fd, const char *file, const char *team, struct nb_error *err) {
        if (streq(kind, "node")) {
                _cleanup_free_ struct node_config *config = malloc(sizeof(*config));

                return config ? node_config_load_fd(fd, file, config, err) : -ENOMEM;
        }
        if (streq(kind, "settings")) {
                _cleanup_free_ struct settings *settings = malloc(sizeof(*settings));
                int r;

                if (!settings)
                        return -ENOMEM;
                if ((r = sandbox_parse_settings(fd, file, settings, err)) < 0)
                        return r;
                /* the hook would skip such an entry (settings.on_error skip); the file is not valid */
                return settings_refuse_faults(settings, err);
        }
        if (streq(kind, "config")) {
                struct oci_config config;

                return oci_config_load_fd(fd, file, &config, err);
        }
        struct team_grants grants = {};
        int r = streq(kind, "public") ? public_grants_load_fd(fd, file, &grants, err)
                                      : grants_load_fd(fd, file, team, &grants, err);
        team_grants_done(&grants);
        return r;
}

static bool known_kind(const char *kind) {
        static const char *const kinds[] = { "node", "grants", "public", "settings", "config" };

        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
                if (streq(kinds[i], kind))
                        return true;
        return false;
}

int cmd_validate(int argc, char **argv) {
        static const struct option options[] = {
                { "team", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_free_ char *file_copy = NULL;
        _cleanup_close_ int fd = -1;
        char team[256] = "";
        struct nb_error err = {};
        int opt;

        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (opt == 'h')
                        return fputs(validate_usage, stdout), 0;
                if (opt != 't')
                        return fputs(validate_usage, stderr), EXIT_INVALID;
                snprintf(team, sizeof(team), "%s", optarg);
        }
        if (argc - optind != 2 || !known_kind(argv[optind]))
                return fputs(validate_usage, stderr), EXIT_INVALID;
        const char *kind = argv[optind], *file = argv[optind + 1];
        if (!team[0] && (file_copy = strdup(file))) {
                snprintf(team, sizeof(team), "%s", basename(file_copy));
                if (strlen(team) > 5 && streq(team + strlen(team) - 5, ".json"))
                        team[strlen(team) - 5] = '\0';
        }
        fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                print_error("%s: cannot open: %s", file, strerror(errno));
                return EXIT_INVALID;
        }
        if (validate_fd(kind, fd, file, team, &err) < 0) {
                print_error("%s", err.msg);
                return EXIT_INVALID;
        }
        printf("%s: valid %s\n", file, kind);
        return 0;
}
