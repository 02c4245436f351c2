/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount seccomp: a seccomp profile that keeps containers in their quota projects, for podman and
 * CRI-O (their profile format) or, with --oci, for a runc or crun config.json. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "jsonfile.h"
#include "ociconfig.h"
#include "seccompcheck.h"
#include "seccompprofile.h"
#include "textfile.h"
#include "util.h"

#define STOCK_PROFILE "/usr/share/containers/seccomp.json"
#define PROFILE_MAX_BYTES ((size_t) 4 * 1024 * 1024)
#define CAPS_MAX 64

static const char seccomp_usage[] =
        "Usage: nbmount seccomp [--profile FILE] [--oci [--cap CAP]...]\n"
        "\n"
        "Prints a seccomp profile that keeps a container in its quota projects: FILE (default\n"
        STOCK_PROFILE ", podman's and CRI-O's), which must deny by default, with\n"
        "ioctl allowed for every request but FS_IOC_FSSETXATTR, FS_IOC_SETFLAGS and FS_IOC32_SETFLAGS\n"
        "(whatever bits 32-63 of the request hold), those three and file_setattr denied with EPERM.\n"
        "Give it to podman with --security-opt seccomp=PROFILE, to CRI-O as seccomp_profile.\n"
        "\n"
        "  --profile FILE  the profile to start from\n"
        "  --oci           print instead the linux.seccomp object that podman would make of it on this\n"
        "                  machine, for the config.json of runc or crun\n"
        "  --cap CAP       with --oci: a capability of the container (repeatable), which decides the\n"
        "                  rules with includes.caps or excludes.caps, as podman does\n"
        "\n"
        "Exit status: 0 printed, 1 the profile cannot be made to hold (why, on stderr), 2 invalid usage\n"
        "or profile.\n";

struct seccomp_options {
        const char *profile_path;
        bool oci;
        size_t n_caps;
        char *caps[CAPS_MAX];
};

/* Returns 1 to go on, 0 after --help, -EINVAL on a usage error. */
static int parse_options(int argc, char **argv, struct seccomp_options *o) {
        static const struct option options[] = {
                { "profile", required_argument, NULL, 'p' },
                { "oci", no_argument, NULL, 'o' },
                { "cap", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int opt;

        *o = (struct seccomp_options) { .profile_path = STOCK_PROFILE };
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (opt == 'h')
                        return fputs(seccomp_usage, stdout), 0;
                if (opt == 'p')
                        o->profile_path = optarg;
                else if (opt == 'o')
                        o->oci = true;
                else if (opt == 'c' && o->n_caps < CAPS_MAX && strncmp(optarg, "CAP_", 4) == 0)
                        o->caps[o->n_caps++] = optarg;
                else if (opt == 'c')
                        return print_error("--cap takes a capability name such as CAP_SYS_ADMIN (at most %d)", CAPS_MAX),
                               -EINVAL;
                else
                        return fputs(seccomp_usage, stderr), -EINVAL;
        }
        if (optind < argc || (o->n_caps > 0 && !o->oci)) {
                print_error(optind < argc ? "seccomp takes no argument; see nbmount seccomp --help"
                                          : "--cap goes with --oci; see nbmount seccomp --help");
                return -EINVAL;
        }
        return 1;
}

static int load_profile(const char *path, struct json_object **ret, struct nb_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open the profile: %s", path, strerror(errno));
        if ((r = text_read_fd(fd, path, PROFILE_MAX_BYTES, &text, &len, err)) < 0)
                return r;
        return json_parse_strict(text, len, path, ret, err);
}

/* The rewritten profile, as a runtime would get it with caps (all, or those given), must pass the
 * hook's own judgement: both ways out closed. */
static int check_holds(struct json_object *profile, const struct profile_caps *caps, const char *path,
                       struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *oci = NULL;
        struct seccomp_profile read = {};
        struct seccomp_guard guard;
        int r;

        if ((r = seccomp_profile_to_oci(profile, caps, path, &oci, err)) < 0)
                return r;
        r = oci_seccomp_read(oci, &read);
        if (r >= 0)
                seccomp_guard_judge(&read, &guard);
        free(read.rules);
        if (r < 0)
                return nb_fail(err, r, "out of memory");
        if (!guard.ioctls_closed)
                return nb_fail(err, EPERM, "%s: the rewritten profile still lets a container leave its quota project: %s",
                               path, guard.ioctl_problem.msg);
        if (!guard.file_setattr_closed)
                return nb_fail(err, EPERM, "%s: the rewritten profile still lets file_setattr(2) through: %s", path,
                               guard.file_setattr_problem.msg);
        return 0;
}

static int print_json(struct json_object *object) {
        const char *text = json_object_to_json_string_ext(object, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!text || puts(text) < 0 || fflush(stdout) != 0)
                return print_error("cannot write the profile: %s", strerror(errno)), EXIT_INVALID;
        return 0;
}

int cmd_seccomp(int argc, char **argv) {
        _cleanup_(json_object_putp) struct json_object *profile = NULL, *oci = NULL;
        struct seccomp_options o;
        struct nb_error err = {};
        const struct profile_caps all_caps = { .all = true };
        int r;

        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? EXIT_INVALID : 0;
        const struct profile_caps caps = { .n = o.n_caps, .names = o.caps };
        if (load_profile(o.profile_path, &profile, &err) < 0 || seccomp_profile_rewrite(profile, o.profile_path, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        if ((r = check_holds(profile, &caps, o.profile_path, &err)) < 0 ||
            (r = check_holds(profile, &all_caps, o.profile_path, &err)) < 0)
                return print_error("%s", err.msg), r == -EPERM ? EXIT_REFUSED : EXIT_INVALID;
        if (!o.oci)
                return print_json(profile);
        if (seccomp_profile_to_oci(profile, &caps, o.profile_path, &oci, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        return print_json(oci);
}
