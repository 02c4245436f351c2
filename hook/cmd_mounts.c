/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount mounts: the S3 mounts nbmountd shares, who holds them, and whether they are healthy. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "inputs.h"
#include "mountlist.h"
#include "mountproto.h"
#include "util.h"

static const char mounts_usage[] =
        "Usage: nbmount mounts [--json] [--config FILE]\n"
        "\n"
        "Lists the S3 mounts that nbmountd shares between containers: the mount, its team,\n"
        "bucket and endpoint, read-only or not, its s3fs process, its health (ok; mounting;\n"
        "healing: a new s3fs is being swapped in; s3fs-dead; not-mounted), how often its s3fs\n"
        "was replaced under running containers, its key generation (1, then one more at each\n"
        "rotation of the secret; never the key) and the containers holding it; below a mount,\n"
        "its last failure (a death, a hang, a refused key) with its time. Asks nbmountd over\n"
        "mountd_socket.\n"
        "\n"
        "  --config FILE  the node config (default " NODE_CONFIG_DEFAULT_PATH ")\n"
        "  --json         the mounts as JSON (schemas/mountd.schema.json: shared mounts with\n"
        "                 s3fs_alive and mounted)\n"
        "\n"
        "Exit status: 0 done, 1 nbmountd cannot be reached, 2 invalid config or command line.\n";

struct mounts_options {
        const char *config_path;
        bool json;
};

static int parse_options(int argc, char **argv, struct mounts_options *o) {
        int r;

        *o = (struct mounts_options) { .config_path = NODE_CONFIG_DEFAULT_PATH };
        if ((r = parse_listing_options(argc, argv, mounts_usage, &o->config_path, &o->json)) <= 0)
                return r;
        if (optind < argc) {
                print_error("mounts takes no argument \"%s\"; see nbmount mounts --help", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static void print_last_failure(struct json_object *mount) {
        struct json_object *at;
        char when[32] = "";
        time_t seconds;
        struct tm tm;

        if (!mount_member(mount, "last_failure")[0])
                return;
        if (json_object_object_get_ex(mount, "last_failure_at", &at) && (seconds = (time_t) json_object_get_int64(at)) > 0 &&
            gmtime_r(&seconds, &tm))
                strftime(when, sizeof(when), " %Y-%m-%dT%H:%M:%SZ", &tm);
        printf("    last failure%s: %s\n", when, mount_member(mount, "last_failure"));
}

static void print_row(struct json_object *mount) {
        struct json_object *spec, *containers;
        char url[S3_BUCKET_MAX + S3_PREFIX_MAX + 8], holders[2048] = "";
        size_t used = 0;

        json_object_object_get_ex(mount, "spec", &spec);
        json_object_object_get_ex(mount, "containers", &containers);
        snprintf(url, sizeof(url), "s3://%s%s%s", mount_member(spec, "bucket"), mount_member(spec, "prefix")[0] ? "/" : "",
                 mount_member(spec, "prefix"));
        for (size_t i = 0; i < json_object_array_length(containers) && used + 2 < sizeof(holders); i++)
                used += (size_t) snprintf(holders + used, sizeof(holders) - used, "%s%s", i ? "," : "",
                                          mount_member(json_object_array_get_idx(containers, i), "id"));
        printf("%-25s %-12s %-32s %-28s %-2s %-8s %-11s %-8s %-3s %s\n", mount_member(mount, "name"), mount_member(spec, "team"), url,
               mount_member(spec, "endpoint")[0] ? mount_member(spec, "endpoint") : "(aws)", mount_flag(spec, "read_only") ? "ro" : "rw",
               mount_member(mount, "s3fs_pid"), mount_health(mount), mount_member(mount, "restarts"), mount_member(mount, "key_generation"),
               holders[0] ? holders : "-");
        print_last_failure(mount);
}

int cmd_mounts(int argc, char **argv) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct mounts_options o;
        struct node_config config;
        struct nb_error err = {};
        struct json_object *mounts;
        int r;

        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? EXIT_INVALID : 0;
        if (node_config_load_path(o.config_path, &config, &err) < 0)
                return print_error("%s", err.msg), EXIT_INVALID;
        if (mount_list_fetch(config.mountd_socket, &reply, &mounts, &err) < 0)
                return print_error("%s", err.msg), EXIT_REFUSED;
        if (o.json) {
                puts(json_object_to_json_string_ext(mounts, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                return 0;
        }
        printf("%-25s %-12s %-32s %-28s %-2s %-8s %-11s %-8s %-3s %s\n", "MOUNT", "TEAM", "BUCKET", "ENDPOINT", "RW", "S3FS",
               "HEALTH", "RESTARTS", "KEY", "CONTAINERS");
        for (size_t i = 0; i < json_object_array_length(mounts); i++)
                print_row(json_object_array_get_idx(mounts, i));
        return 0;
}
