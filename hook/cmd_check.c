/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount check: the operator's doctor. One line per check of what the hook, nbmountd and the
 * runtimes rely on on this node: ok, warn, or fail with the fix. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "commands.h"
#include "containerdconf.h"
#include "grants.h"
#include "inputs.h"
#include "jsonfile.h"
#include "mountproto.h"
#include "netfs.h"
#include "quota.h"
#include "quotawatch.h"
#include "safeopen.h"
#include "textfile.h"
#include "util.h"

#define MOUNTD_TIMEOUT_S 5
#define VERSION_TIMEOUT_MS 5000
#define HOOKS_FILE_MAX ((size_t) 64 * 1024)
#define S3FS_PATH "/usr/bin/s3fs"
#define HOOKS_FILE_NAME "nbmount.json"

static const char check_usage[] =
        "Usage: nbmount check [--config FILE] [--hooks-dir DIR] [--containerd-config FILE] [--json]\n"
        "\n"
        "Checks this node, one line per check (ok, warn, or fail with the fix), then a summary:\n"
        "the node config; the roots, grants, secrets and state folders (they exist, their owners\n"
        "and modes: grants root-only, secrets 0700 with files 0600 or 0400); the kernel features\n"
        "the hook needs (openat2, open_tree, move_mount, mount_setattr, quotactl_fd; file_setattr);\n"
        "project quotas on the notebooks and storage filesystems; nbmountd; s3fs; and the hooks.d\n"
        "file that makes podman and CRI-O call nbmount, and its program's version; containerd's\n"
        "runtime handler for nbmount-runtime and the annotations it passes.\n"
        "\n"
        "  --config FILE    the node config (default " NODE_CONFIG_DEFAULT_PATH ")\n"
        "  --hooks-dir DIR  look for DIR/" HOOKS_FILE_NAME " (as podman --hooks-dir DIR) instead of\n"
        "                   /etc/containers/oci/hooks.d and /usr/share/containers/oci/hooks.d\n"
        "  --containerd-config FILE  containerd's config (default " CONTAINERD_CONFIG_DEFAULT_PATH ")\n"
        "  --json           {\"checks\": [{\"check\", \"status\", \"message\"}], \"ok\", \"warnings\", \"failures\"}\n"
        "\n"
        "Exit status: 0 no check failed, 1 a check failed, 2 the node config is invalid or a usage error.\n";

enum check_status { CHECK_OK, CHECK_WARN, CHECK_FAIL };

static const char *const status_words[] = { "ok", "warn", "fail" };

struct doctor {
        const struct node_config *config; /* NULL when it cannot be read */
        const char *hooks_dir;            /* NULL: the runtimes' two folders */
        const char *containerd_config;    /* NULL: the default, which need not exist */
        struct json_object *checks;       /* with --json; else each check is printed at once */
        unsigned counts[3];
        bool roots_away;                  /* a root did not answer a statfs in time: nothing more reads it */
        struct statfs roots[2];           /* the notebooks' and the storage's root, as the probe saw them */
};

struct check_options {
        const char *config_path, *hooks_dir, *containerd_config;
        bool json;
};

static int parse_options(int argc, char **argv, struct check_options *o) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' }, { "hooks-dir", required_argument, NULL, 'd' },
                { "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
                { "containerd-config", required_argument, NULL, 'C' },
                {},
        };
        int opt;

        *o = (struct check_options) { .config_path = NODE_CONFIG_DEFAULT_PATH };
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (opt == 'h')
                        return fputs(check_usage, stdout), 0;
                if (opt == 'c')
                        o->config_path = optarg;
                else if (opt == 'd')
                        o->hooks_dir = optarg;
                else if (opt == 'j')
                        o->json = true;
                else if (opt == 'C')
                        o->containerd_config = optarg;
                else
                        return fputs(check_usage, stderr), -EINVAL;
        }
        if (optind < argc) {
                print_error("check takes no argument \"%s\"; see nbmount check --help", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static void report(struct doctor *d, enum check_status status, const char *check, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void report(struct doctor *d, enum check_status status, const char *check, const char *fmt, ...) {
        char message[2 * NB_ERROR_MAX];
        struct json_object *o;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        d->counts[status]++;
        if (!d->checks) {
                printf("%-6s%s: %s\n", status_words[status], check, message);
                fflush(stdout);
                return;
        }
        o = json_object_new_object();
        json_object_object_add(o, "check", json_object_new_string(check));
        json_object_object_add(o, "status", json_object_new_string(status_words[status]));
        json_object_object_add(o, "message", json_object_new_string(message));
        json_object_array_add(d->checks, o);
}

/* ---- folders -------------------------------------------------------------------------------------- */

static void group_name(gid_t gid, char *buf, size_t size) {
        const struct group *g = getgrgid(gid);

        if (g)
                snprintf(buf, size, "%s", g->gr_name);
        else
                snprintf(buf, size, "%u", (unsigned) gid);
}

/* A root (notebooks, storage, datasets): a real folder of root's that nobody else can write, or
 * anyone could plant there a folder that the hook would mount into a team's containers. */
static void check_root_folder(struct doctor *d, const char *check, const char *path, const char *planted) {
        _cleanup_free_ char *target = NULL;
        char group[64];
        struct stat st;
        unsigned mode;

        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        report(d, CHECK_FAIL, check, "%s does not exist, so the hook cannot mount from it; create it: install -d -m 755 %s",
                               path, path);
                else
                        report(d, CHECK_FAIL, check, "%s: cannot stat: %s", path, strerror(errno));
                return;
        }
        mode = st.st_mode & 07777;
        if (S_ISLNK(st.st_mode)) {
                target = realpath(path, NULL);
                report(d, CHECK_FAIL, check,
                       "%s is a symlink (to %s): a root must be the folder itself, so that what is checked is what the hook mounts from; set %s: %s in the node config",
                       path, target ? target : "nowhere", check, target ? target : "A_FOLDER");
        } else if (!S_ISDIR(st.st_mode)) {
                report(d, CHECK_FAIL, check, "%s is not a folder; move it away and create the folder: install -d -m 755 %s",
                       path, path);
        } else if (st.st_uid != 0) {
                report(d, CHECK_FAIL, check,
                       "%s is owned by uid %u, who could plant %s in it that the hook would mount into a team's containers; run: chown root: %s",
                       path, (unsigned) st.st_uid, planted, path);
        } else if (mode & S_IWOTH) {
                report(d, CHECK_FAIL, check,
                       "%s is writable by anyone (mode %04o): a local user could plant %s in it that the hook would mount into a team's containers; run: chmod o-w %s",
                       path, mode, planted, path);
        } else if (mode & S_IWGRP) {
                group_name(st.st_gid, group, sizeof(group));
                report(d, CHECK_WARN, check, "%s is writable by group %s (mode %04o): its members could plant %s in it; run: chmod g-w %s",
                       path, group, mode, planted, path);
        } else {
                report(d, CHECK_OK, check, "%s: a folder of root's, mode %04o", path, mode);
        }
}

struct grants_tally {
        size_t teams, failures;
        bool public_datasets;
};

/* One TEAM.json or public.json, read as the hook reads it: no symlink, root's, and valid. */
static void check_grants_file(struct doctor *d, const char *dir, const char *name, struct grants_tally *t) {
        struct team_grants grants = {};
        struct nb_error err = {};
        char team[NAME_MAX + 1], file[NB_PATH_MAX + NAME_MAX + 2];
        bool public = streq(name, "public.json");
        _cleanup_close_ int fd = -1;
        int r;

        snprintf(team, sizeof(team), "%.*s", (int) (strlen(name) - strlen(".json")), name);
        snprintf(file, sizeof(file), "%s/%s", dir, name);
        if (!public && name_problem(team)) {
                report(d, CHECK_WARN, "grants", "%s: not a team's grants (\"%s\" %s); nbmount never reads it", file, team,
                       name_problem(team));
                return;
        }
        fd = open_regular_beneath(dir, name, &err);
        r = fd < 0 ? fd : check_root_only(fd, file, "a grants file", &err);
        if (r >= 0)
                r = public ? public_grants_load_fd(fd, file, &grants, &err) : grants_load_fd(fd, file, team, &grants, &err);
        if (r >= 0 && !public && !node_config_find_plan(d->config, grants.plan))
                r = nb_fail(&err, EINVAL,
                            "%s: team %s is on plan \"%s\", which the node config does not define; add it under \"plans\" in node.yaml",
                            file, team, grants.plan);
        team_grants_done(&grants);
        if (r < 0) {
                report(d, CHECK_FAIL, "grants", "%s", err.msg);
                t->failures++;
        } else if (public) {
                t->public_datasets = true;
        } else {
                t->teams++;
        }
}

static bool is_json_file_name(const char *name) {
        size_t len = strlen(name);

        return name[0] != '.' && len > strlen(".json") && streq(name + len - strlen(".json"), ".json");
}

static void check_grants(struct doctor *d) {
        const char *dir = d->config->grants_dir;
        _cleanup_close_ int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct grants_tally tally = {};
        struct nb_error err = {};
        const struct dirent *entry;
        struct stat st;
        DIR *entries;

        if (dir_fd < 0) {
                if (errno == ENOENT)
                        report(d, CHECK_FAIL, "grants", "%s does not exist: every container start is refused; the control plane writes TEAM.json files there; create it: install -d -m 755 %s",
                               dir, dir);
                else
                        report(d, CHECK_FAIL, "grants", "%s: cannot open: %s", dir, strerror(errno));
                return;
        }
        if (check_root_only(dir_fd, dir, "the grants folder", &err) < 0) {
                report(d, CHECK_FAIL, "grants", "%s", err.msg);
                tally.failures++;
        }
        if (fstat(dir_fd, &st) < 0 || !(entries = fdopendir(dir_fd))) {
                report(d, CHECK_FAIL, "grants", "%s: cannot list: %s", dir, strerror(errno));
                return;
        }
        TAKE_FD(dir_fd);
        while ((entry = readdir(entries)))
                if (is_json_file_name(entry->d_name))
                        check_grants_file(d, dir, entry->d_name, &tally);
        closedir(entries);
        if (tally.failures)
                return;
        if (tally.teams == 0)
                report(d, CHECK_WARN, "grants", "%s: no team has grants yet: every container start is refused until the control plane writes TEAM.json",
                       dir);
        else
                report(d, CHECK_OK, "grants", "%s: root's, mode %04o; %zu team%s%s, every file root's and valid", dir,
                       (unsigned) (st.st_mode & 07777), tally.teams, tally.teams == 1 ? "" : "s",
                       tally.public_datasets ? " and public.json" : "");
}

/* One secret, read as the hook and nbmountd read it: a regular file of root's, mode 0600 or 0400. */
static int check_secret(int team_fd, const char *name, const char *path, struct nb_error *err) {
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (fstatat(team_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
                return nb_fail(err, ELOOP,
                               "%s is a symlink, which the hook and nbmountd refuse: a secret must be a regular file; replace the link with the file",
                               path);
        fd = openat(team_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", path, strerror(errno));
        return check_secret_file(fd, path, err);
}

/* Every SECRETS/TEAM/NAME of one team (team_fd is taken); returns how many there are. */
static size_t check_team_secrets(struct doctor *d, int team_fd, const char *team_dir, size_t *failures) {
        const struct dirent *entry;
        char path[NB_PATH_MAX + 2 * NAME_MAX + 3];
        size_t n = 0;
        DIR *entries = fdopendir(team_fd);

        if (!entries) {
                report(d, CHECK_FAIL, "secrets", "%s: cannot list: %s", team_dir, strerror(errno));
                close(team_fd);
                (*failures)++;
                return 0;
        }
        while ((entry = readdir(entries))) {
                struct nb_error err = {};

                if (streq(entry->d_name, ".") || streq(entry->d_name, ".."))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", team_dir, entry->d_name);
                n++;
                if (check_secret(dirfd(entries), entry->d_name, path, &err) < 0) {
                        report(d, CHECK_FAIL, "secrets", "%s", err.msg);
                        (*failures)++;
                }
        }
        closedir(entries);
        return n;
}

/* One SECRETS/TEAM entry: a real folder of root's; returns how many secrets it holds. */
static size_t check_secrets_entry(struct doctor *d, int dir_fd, const char *dir, const char *name, size_t *teams,
                                  size_t *failures) {
        struct nb_error err = {};
        char team_dir[NB_PATH_MAX + NAME_MAX + 2];
        struct stat st;
        int team_fd;

        snprintf(team_dir, sizeof(team_dir), "%s/%s", dir, name);
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (!S_ISLNK(st.st_mode) && (!S_ISDIR(st.st_mode) || name_problem(name))) {
                report(d, CHECK_WARN, "secrets", "%s is not a team's folder (SECRETS/TEAM/NAME); nbmount never reads it",
                       team_dir);
                return 0;
        }
        if (S_ISLNK(st.st_mode))
                team_fd = nb_fail(&err, ELOOP,
                                  "%s is a symlink, which nbmount never follows under the secrets folder: team %s's buckets with keys are refused; replace it with the folder",
                                  team_dir, name);
        else if ((team_fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                team_fd = nb_fail(&err, errno, "%s: cannot open: %s", team_dir, strerror(errno));
        else if (check_root_only(team_fd, team_dir, "a team's secrets folder", &err) < 0) {
                close(team_fd);
                team_fd = -EPERM;
        }
        if (team_fd < 0) {
                report(d, CHECK_FAIL, "secrets", "%s", err.msg);
                (*failures)++;
                return 0;
        }
        (*teams)++;
        return check_team_secrets(d, team_fd, team_dir, failures);
}

static void check_secrets(struct doctor *d) {
        const char *dir = d->config->secrets_dir;
        int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t teams = 0, secrets = 0, failures = 0;
        const struct dirent *entry;
        struct stat st;
        DIR *entries;

        if (dir_fd < 0) {
                if (errno == ENOENT)
                        report(d, CHECK_WARN, "secrets", "%s does not exist: S3 buckets with keys are refused (public buckets work); create it: install -d -m 700 %s",
                               dir, dir);
                else
                        report(d, CHECK_FAIL, "secrets", "%s: cannot open: %s", dir, strerror(errno));
                return;
        }
        if (fstat(dir_fd, &st) < 0 || !(entries = fdopendir(dir_fd))) {
                report(d, CHECK_FAIL, "secrets", "%s: cannot list: %s", dir, strerror(errno));
                close(dir_fd);
                return;
        }
        if (st.st_uid != 0 || (st.st_mode & 077)) {
                report(d, CHECK_FAIL, "secrets",
                       "%s: the secrets folder must be owned by root with mode 0700 (it is owned by uid %u, mode %04o): others could see which teams hold keys, or plant one; run: chown root: %s && chmod 700 %s",
                       dir, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), dir, dir);
                failures++;
        }
        while ((entry = readdir(entries)))
                if (entry->d_name[0] != '.')
                        secrets += check_secrets_entry(d, dirfd(entries), dir, entry->d_name, &teams, &failures);
        closedir(entries);
        if (!failures)
                report(d, CHECK_OK, "secrets", "%s: root's, mode %04o; %zu secret%s of %zu team%s, each root's with mode 0600 or 0400",
                       dir, (unsigned) (st.st_mode & 07777), secrets, secrets == 1 ? "" : "s", teams, teams == 1 ? "" : "s");
}

static void check_state(struct doctor *d) {
        const char *dir = d->config->state_dir;
        _cleanup_close_ int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct nb_error err = {};
        struct stat st;

        if (fd < 0 && errno == ENOENT) {
                report(d, CHECK_OK, "state", "%s: not there yet; nbmountd creates it", dir);
                return;
        }
        if (fd < 0) {
                report(d, CHECK_FAIL, "state", "%s: cannot open: %s", dir, strerror(errno));
                return;
        }
        if (check_root_only(fd, dir, "the state folder", &err) < 0) {
                report(d, CHECK_FAIL, "state", "%s", err.msg);
                return;
        }
        if (fstat(fd, &st) == 0)
                report(d, CHECK_OK, "state", "%s: root's, mode %04o", dir, (unsigned) (st.st_mode & 07777));
}

/* ---- the kernel ------------------------------------------------------------------------------------- */

static int probe_open_tree(void) {
        char dir[] = "/tmp/nbmount-check.XXXXXX";
        int r;

        if (!mkdtemp(dir))
                return -errno;
        r = kernel_probe_open_tree(dir);
        rmdir(dir);
        return r;
}

struct kernel_feature {
        const char *name, *since;
        int (*probe)(void);
        const char *present;          /* what it is for */
        enum check_status if_absent;
        const char *absent;           /* what happens without it */
};

static const struct kernel_feature kernel_features[] = {
        { "openat2", "5.6", kernel_probe_openat2, "files under the roots, grants and secrets are opened without following symlinks",
          CHECK_WARN, "nbmount falls back to one O_NOFOLLOW component at a time: slower, as strict" },
        { "open_tree", "5.2", probe_open_tree, "the hook clones each source as a detached mount",
          CHECK_FAIL, "the hook cannot mount anything; upgrade the kernel" },
        { "move_mount", "5.2", kernel_probe_move_mount, "the hook attaches each clone in the container",
          CHECK_FAIL, "the hook cannot mount anything; upgrade the kernel" },
        { "mount_setattr", "5.12", kernel_probe_mount_setattr, "the hook makes mounts nosuid, nodev, read-only and private",
          CHECK_FAIL, "the hook cannot mount anything; upgrade the kernel" },
        { "quotactl_fd", "5.14", kernel_probe_quotactl_fd, "quotas are set through the folder itself",
          CHECK_WARN, "nbmount falls back to quotactl(2) on the filesystem's block device" },
};

static void check_kernel(struct doctor *d) {
        bool quotas_off = d->config && d->config->quota_enforce == QUOTA_OFF;
        char check[64];

        for (size_t i = 0; i < ARRAY_SIZE(kernel_features); i++) {
                const struct kernel_feature *f = &kernel_features[i];
                int r = f->probe();

                snprintf(check, sizeof(check), "kernel %s", f->name);
                if (r == 0)
                        report(d, CHECK_OK, check, "present: %s", f->present);
                else if (r == -ENOSYS && quotas_off && streq(f->name, "quotactl_fd"))
                        report(d, CHECK_OK, check, "absent (Linux %s adds it); not needed with quota.enforce: off", f->since);
                else if (r == -ENOSYS)
                        report(d, f->if_absent, check, "absent (Linux %s adds it): %s", f->since, f->absent);
                else if (r == -EPERM)
                        report(d, CHECK_WARN, check, "cannot tell without CAP_SYS_ADMIN; run nbmount check as root");
                else
                        report(d, CHECK_WARN, check, "cannot tell: the probe failed: %s", strerror(-r));
        }
        if (kernel_probe_file_setattr() == 0)
                report(d, CHECK_OK, "kernel file_setattr",
                       "present (Linux 6.17+): it can take a folder out of its project like chattr -p; with quota.enforce: required, containers need a user namespace or a seccomp profile that denies by default (packaging/seccomp/nbmount-quota.json)");
        else
                report(d, CHECK_OK, "kernel file_setattr", "absent (Linux 6.17 adds it): nothing to do");
}

/* ---- quotas, nbmountd, s3fs ---------------------------------------------------------------------- */

static void check_quota_root(struct doctor *d, const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct nb_error err = {};
        int r;

        if (fd < 0)
                return; /* the roots' check says why */
        r = quota_probe(fd, path, &err);
        if (r == QUOTA_EXT4)
                report(d, CHECK_OK, "quota", "%s: project quotas enforced (ext4, which lets CAP_SYS_RESOURCE past them: containers must not hold it)",
                       path);
        else if (r >= 0)
                report(d, CHECK_OK, "quota", "%s: project quotas enforced (xfs)", path);
        else if (d->config->quota_enforce == QUOTA_REQUIRED)
                report(d, CHECK_FAIL, "quota", "%s; quota.enforce is required: every container start with a quota there is refused until then (or set quota.enforce: best-effort)",
                       err.msg);
        else
                report(d, CHECK_WARN, "quota", "%s; quota.enforce is best-effort: containers start without limits there",
                       err.msg);
}

/* A root on a network filesystem: the mount (hard, not soft), and whether the storage server's
 * limits show through statfs on the folders under it. */
static void check_network_root(struct doctor *d, const char *root, const char *type, const char *folder_path) {
        struct netfs_export e;
        struct nb_error err = {};

        if (netfs_describe(root, folder_path, &e, &err) < 0) {
                report(d, CHECK_FAIL, "quota", "%s", err.msg);
                return;
        }
        report(d, e.soft ? CHECK_WARN : CHECK_OK, "network root", "%s: %s from %s (%s)%s", root, type, e.source, e.options,
               e.soft ? ": mounted soft, a slow storage server turns into I/O errors and lost writes; mount it hard (quota.remote_timeout keeps starts from hanging)" : "");
        if (!folder_path)
                report(d, CHECK_OK, "quota", "%s: quotas kept by the storage server (nbmount quota sync there)", root);
        else if (e.folders == 0)
                report(d, CHECK_OK, "quota", "%s: quotas kept by the storage server (nbmount quota sync there); no folder yet to see them through", root);
        else if (e.limited == 0 && d->config->quota_enforce == QUOTA_REQUIRED)
                report(d, CHECK_FAIL, "quota", "%s: none of its %zu folders shows a limit of its own through statfs: the storage server sets none (run nbmount quota sync --watch there, on XFS or ext4 with prjquota), or %s hides them; every container start is refused (quota.enforce is required)",
                       folder_path, e.folders, type);
        else
                report(d, e.limited < e.folders ? CHECK_WARN : CHECK_OK, "quota",
                       "%s: %zu of its %zu folders show the storage server's limit through statfs%s", folder_path, e.limited,
                       e.folders, e.limited < e.folders ? " (the others: unlimited plans, or not synced yet)" : "");
}

/* On the storage server (where a sync has run: its status file is there), the sync that the nodes
 * rely on still runs. A node with local roots has neither, and nothing is said. */
static void check_sync(struct doctor *d) {
        char status[sizeof(d->config->state_dir) + sizeof(QUOTA_SYNC_STATUS) + 1];
        struct nb_error err = {};
        int r = quota_sync_running(d->config, &err);

        snprintf(status, sizeof(status), "%s/%s", d->config->state_dir, QUOTA_SYNC_STATUS);
        if (r > 0)
                report(d, CHECK_OK, "quota sync", "nbmount quota sync runs (it holds %s/%s; its last pass: %s)",
                       d->config->state_dir, QUOTA_SYNC_LOCK, status);
        else if (r < 0)
                report(d, CHECK_WARN, "quota sync", "%s", err.msg);
        else if (access(status, F_OK) == 0)
                report(d, CHECK_FAIL, "quota sync", "%s is there but no nbmount quota sync runs: the nodes that mount this server's roots get no limits for new folders and no plan changes; systemctl enable --now nbmount-quota-sync",
                       status);
}

static void check_quota(struct doctor *d) {
        char cluster_folder[sizeof(d->config->storage_root) + NB_NAME_MAX + 2];
        const char *type;
        bool local = false;

        if (d->config->quota_enforce == QUOTA_OFF) {
                report(d, CHECK_OK, "quota", "quotas off (quota.enforce: off)");
                return;
        }
        if (d->roots_away)
                return;
        snprintf(cluster_folder, sizeof(cluster_folder), "%s/%s", d->config->storage_root, d->config->cluster);
        if ((type = netfs_type_name(d->roots[0].f_type)))
                check_network_root(d, d->config->notebooks_root, type, NULL);
        else
                local = true, check_quota_root(d, d->config->notebooks_root);
        if ((type = netfs_type_name(d->roots[1].f_type)))
                check_network_root(d, d->config->storage_root, type, cluster_folder);
        else
                local = true, check_quota_root(d, d->config->storage_root);
        if (local)
                check_sync(d);
}

static void check_mountd(struct doctor *d) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct mountd_request request = { .op = MOUNTD_LIST };
        struct nb_error err = {};
        struct json_object *mounts;
        _cleanup_close_ int fd = -1;
        size_t n;

        if (mountd_call(d->config->mountd_socket, &request, MOUNTD_TIMEOUT_S, &reply, &fd, &err) < 0) {
                report(d, CHECK_WARN, "nbmountd", "%s; until then S3 mounts fail (a node without S3 buckets works without it)",
                       err.msg);
                return;
        }
        if (!json_object_object_get_ex(reply, "mounts", &mounts) || !json_object_is_type(mounts, json_type_array)) {
                report(d, CHECK_WARN, "nbmountd", "%s: its answer has no mount list; is it the same version as nbmount?",
                       d->config->mountd_socket);
                return;
        }
        n = json_object_array_length(mounts);
        report(d, CHECK_OK, "nbmountd", "running at %s: %zu shared mount%s", d->config->mountd_socket, n, n == 1 ? "" : "s");
}

static void check_s3fs(struct doctor *d) {
        if (access(S3FS_PATH, X_OK) == 0)
                report(d, CHECK_OK, "s3fs", "%s is installed", S3FS_PATH);
        else
                report(d, CHECK_WARN, "s3fs", "%s: %s: S3 mounts will fail; apt-get install s3fs", S3FS_PATH, strerror(errno));
}

/* ---- the hooks.d file and its program ------------------------------------------------------------ */

/* Reads what fd gives until EOF, size - 1 bytes or the deadline; NUL-terminated. */
static int read_with_deadline(int fd, char *buf, size_t size) {
        size_t len = 0;
        int r = 0;

        while (len + 1 < size) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                ssize_t n;

                if ((r = poll(&pfd, 1, VERSION_TIMEOUT_MS)) <= 0) {
                        r = r == 0 ? -ETIMEDOUT : -errno;
                        if (r == -EINTR)
                                continue;
                        break;
                }
                if ((n = read(fd, buf + len, size - 1 - len)) <= 0) {
                        r = n < 0 ? -errno : 0;
                        break;
                }
                len += (size_t) n;
                r = 0;
        }
        buf[len] = '\0';
        return r;
}

/* The first line that `program --version` prints, within a deadline. The program is trusted already:
 * root's and writable by no one else, as the runtimes run it. */
static int program_version(const char *program, char *buf, size_t size) {
        char *const argv[] = { (char *) program, (char *) "--version", NULL }, *const envp[] = { NULL };
        posix_spawn_file_actions_t actions;
        _cleanup_close_ int read_fd = -1;
        int pipe_fds[2], r, status;
        pid_t pid;

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return -errno;
        read_fd = pipe_fds[0];
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        r = posix_spawn(&pid, program, &actions, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&actions);
        close(pipe_fds[1]);
        if (r != 0)
                return -r; /* glibc has reaped a child that could not exec */
        r = read_with_deadline(read_fd, buf, size);
        if (r == -ETIMEDOUT)
                kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        buf[strcspn(buf, "\n")] = '\0';
        return r;
}

static void check_version(struct doctor *d, const char *program) {
        struct stat self, installed;
        char version[128];
        int r;

        if (stat("/proc/self/exe", &self) == 0 && stat(program, &installed) == 0 && self.st_dev == installed.st_dev &&
            self.st_ino == installed.st_ino) {
                report(d, CHECK_OK, "version", "%s is this nbmount (%s)", program, NBMOUNT_VERSION);
                return;
        }
        if ((r = program_version(program, version, sizeof(version))) < 0) {
                report(d, CHECK_WARN, "version", "cannot run %s --version: %s", program, strerror(-r));
                return;
        }
        if (streq(version, "nbmount " NBMOUNT_VERSION))
                report(d, CHECK_OK, "version", "%s is %s, as this one", program, version);
        else
                report(d, CHECK_WARN, "version", "%s is \"%s\", this is nbmount %s: the runtimes run the installed one; install this version",
                       program, version, NBMOUNT_VERSION);
}

static const char *string_member(struct json_object *o, const char *key) {
        struct json_object *value;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &value) ||
            !json_object_is_type(value, json_type_string))
                return NULL;
        return json_object_get_string(value);
}

static bool array_has_string(struct json_object *o, const char *key, const char *word) {
        struct json_object *array;

        if (!json_object_object_get_ex(o, key, &array) || !json_object_is_type(array, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(array); i++)
                if (streq(json_object_get_string(json_object_array_get_idx(array, i)) ?: "", word))
                        return true;
        return false;
}

/* What podman and CRI-O need of the file's JSON: 0, or -EINVAL with err saying what to change. */
static int check_hooks_json(struct json_object *root, const char *file, struct nb_error *err) {
        struct json_object *hook = NULL, *when = NULL, *args = NULL, *always = NULL;
        const char *version = string_member(root, "version"), *arg1 = NULL;

        json_object_object_get_ex(root, "hook", &hook);
        json_object_object_get_ex(root, "when", &when);
        if (hook && json_object_object_get_ex(hook, "args", &args) && json_object_is_type(args, json_type_array))
                arg1 = json_object_get_string(json_object_array_get_idx(args, 1));
        if (!version || !streq(version, "1.0.0"))
                return nb_fail(err, EINVAL, "%s: \"version\" must be \"1.0.0\", the hooks.d format podman and CRI-O read; copy packaging/hooks.d/nbmount.json",
                               file);
        if (!string_member(hook, "path"))
                return nb_fail(err, EINVAL, "%s: no \"hook\": {\"path\": ...}; copy packaging/hooks.d/nbmount.json", file);
        if (!arg1 || !streq(arg1, "hook"))
                return nb_fail(err, EINVAL, "%s: hook.args must be [\"nbmount\", \"hook\"]: without the hook command, nbmount prints its usage and every container fails",
                               file);
        if (!(array_has_string(root, "stages", "createRuntime") || array_has_string(root, "stages", "prestart")) ||
            !array_has_string(root, "stages", "poststop"))
                return nb_fail(err, EINVAL, "%s: \"stages\" must hold createRuntime and poststop: without them no mount is made, or none given back",
                               file);
        if (when && json_object_object_get_ex(when, "always", &always) && json_object_get_boolean(always))
                return nb_fail(err, EINVAL, "%s: when.always is true: podman would call nbmount for every container, and nbmount refuses those without io.nbmount.team; use when.annotations as packaging/hooks.d/nbmount.json does",
                               file);
        return 0;
}

/* The hook's program: there, executable, and writable by root alone (the runtimes run it as root). */
static int check_hook_program(const char *program, struct nb_error *err) {
        _cleanup_close_ int fd = open(program, O_PATH | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return nb_fail(err, errno, "hook.path %s: %s; install nbmount there or fix hook.path", program, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || access(program, X_OK) < 0)
                return nb_fail(err, EACCES, "hook.path %s is not an executable file; install nbmount there or fix hook.path",
                               program);
        return check_root_only(fd, program, "the hook's program", err);
}

static void check_hooks_file(struct doctor *d, const char *file, const char *overrides) {
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *text = NULL;
        struct nb_error err = {};
        const char *program;
        size_t len;

        if (fd < 0) {
                report(d, CHECK_FAIL, "hooks.d", "%s: cannot open: %s", file, strerror(errno));
                return;
        }
        if (check_root_only(fd, file, "a hooks.d file", &err) < 0 ||
            text_read_fd(fd, file, HOOKS_FILE_MAX, &text, &len, &err) < 0 ||
            json_parse_strict(text, len, file, &root, &err) < 0 || check_hooks_json(root, file, &err) < 0) {
                report(d, CHECK_FAIL, "hooks.d", "%s", err.msg);
                return;
        }
        program = string_member(json_object_object_get(root, "hook"), "path");
        if (check_hook_program(program, &err) < 0) {
                report(d, CHECK_FAIL, "hooks.d", "%s: %s", file, err.msg);
                return;
        }
        report(d, CHECK_OK, "hooks.d", "%s: podman and CRI-O run %s at createRuntime and poststop%s%s", file, program,
               overrides ? "; it overrides " : "", overrides ? overrides : "");
        check_version(d, program);
}

static void check_hooks_dir(struct doctor *d) {
        static const char *const runtime_dirs[] = { "/etc/containers/oci/hooks.d", "/usr/share/containers/oci/hooks.d" };
        char files[2][NB_PATH_MAX + 1];
        bool there[2] = {};
        size_t n = d->hooks_dir ? 1 : 2;

        for (size_t i = 0; i < n; i++) {
                snprintf(files[i], sizeof(files[i]), "%s/%s", d->hooks_dir ? d->hooks_dir : runtime_dirs[i], HOOKS_FILE_NAME);
                there[i] = access(files[i], F_OK) == 0;
        }
        if (there[0])
                return check_hooks_file(d, files[0], n > 1 && there[1] ? files[1] : NULL);
        if (n > 1 && there[1])
                return check_hooks_file(d, files[1], NULL);
        report(d, CHECK_WARN, "hooks.d",
               "no %s in %s%s%s: podman/CRI-O will not call nbmount (install packaging/hooks.d/nbmount.json there); runc/crun users configure hooks in config.json",
               HOOKS_FILE_NAME, d->hooks_dir ? d->hooks_dir : runtime_dirs[0], d->hooks_dir ? "" : " or ",
               d->hooks_dir ? "" : runtime_dirs[1]);
}

/* containerd's runtime handler for nbmount-runtime: named, of type runc.v2, passing io.nbmount.*. */
static void check_containerd_runtime(struct doctor *d, const char *file, const struct containerd_runtime *r) {
        if (!streq(r->runtime_type, "io.containerd.runc.v2"))
                report(d, CHECK_FAIL, "containerd", "%s: runtime %s has runtime_type \"%s\"; set \"io.containerd.runc.v2\" (its BinaryName is runc's stand-in)",
                       file, r->handler, r->runtime_type);
        else if (!r->passes_annotations)
                report(d, CHECK_FAIL, "containerd", "%s: runtime %s does not pass the pods' io.nbmount.* annotations; add pod_annotations = [\"io.nbmount.*\"]",
                       file, r->handler);
        else if (access(r->binary_name, X_OK) < 0)
                report(d, CHECK_FAIL, "containerd", "%s: runtime %s: BinaryName %s: %s; install nbmount-runtime there or fix the path",
                       file, r->handler, r->binary_name, strerror(errno));
        else
                report(d, CHECK_OK, "containerd", "%s: runtime handler %s runs %s and passes the io.nbmount.* annotations (RuntimeClass handler: %s)",
                       file, r->handler, r->binary_name, r->handler);
}

static void check_containerd(struct doctor *d) {
        const char *file = d->containerd_config ? d->containerd_config : CONTAINERD_CONFIG_DEFAULT_PATH;
        struct containerd_config config;
        _cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        _cleanup_free_ char *text = NULL;
        const struct containerd_runtime *runtime;
        struct nb_error err = {};
        size_t len;

        if (fd < 0 && errno == ENOENT && !d->containerd_config)
                return; /* no containerd here: nothing to say */
        if (fd < 0) {
                report(d, CHECK_FAIL, "containerd", "%s: cannot open: %s", file, strerror(errno));
                return;
        }
        if (text_read_fd(fd, file, CONTAINERD_CONFIG_MAX_BYTES, &text, &len, &err) < 0) {
                report(d, CHECK_FAIL, "containerd", "%s", err.msg);
                return;
        }
        containerd_config_read(text, &config);
        runtime = containerd_find_binary(&config, "nbmount-runtime");
        if (!runtime)
                report(d, CHECK_WARN, "containerd", "%s names no runtime handler with BinaryName nbmount-runtime: Kubernetes pods cannot get nbmount's mounts; add packaging/containerd/nbmount.toml (nbmount-runtime(8))",
                       file);
        else
                check_containerd_runtime(d, file, runtime);
}

/* ---- the command -------------------------------------------------------------------------------- */

/* What a notebook's own fault does to its start: said, so that no one is surprised at 3 a.m. */
static void check_on_error(struct doctor *d) {
        if (d->config->settings_on_error == ON_ERROR_REFUSE)
                report(d, CHECK_OK, "settings.on_error",
                       "refuse: a fault in what a notebook asks for (settings.yaml, a dataset not granted, a bucket that does not answer within s3.mount_timeout %u s) refuses its start; set skip to start without it",
                       d->config->s3_mount_timeout_s);
        else
                report(d, CHECK_OK, "settings.on_error",
                       "skip: a fault in what a notebook asks for skips only that entry, said in its .gradient/mounts.status; a bucket not ready within s3.start_wait %.3g s is attached later",
                       d->config->s3_start_wait_ms / 1000.0);
}

static void check_node(struct doctor *d) {
        static const struct {
                const char *check;
                size_t offset;
                const char *planted;
        } roots[] = {
                { "roots.notebooks", offsetof(struct node_config, notebooks_root), "a team's folder" },
                { "roots.storage", offsetof(struct node_config, storage_root), "a cluster's folder" },
                { "roots.datasets", offsetof(struct node_config, datasets_root), "a dataset" },
        };

        const char *const paths[] = { d->config->notebooks_root, d->config->storage_root, d->config->datasets_root };
        struct statfs seen[ARRAY_SIZE(paths)];
        struct nb_error err = {};

        if (netfs_probe(paths, ARRAY_SIZE(paths), d->config->quota_remote_timeout_ms, seen, &err) < 0) {
                report(d, CHECK_FAIL, "roots", "%s", err.msg);
                d->roots_away = true;
                return;
        }
        memcpy(d->roots, seen, sizeof(d->roots));
        for (size_t i = 0; i < ARRAY_SIZE(roots); i++)
                check_root_folder(d, roots[i].check, (const char *) d->config + roots[i].offset, roots[i].planted);
        check_grants(d);
        check_secrets(d);
        check_state(d);
        check_on_error(d);
}

static void print_summary(struct doctor *d) {
        const unsigned *c = d->counts;
        struct json_object *o;

        if (!d->checks) {
                printf("%u ok, %u warning%s, %u failure%s\n", c[CHECK_OK], c[CHECK_WARN], c[CHECK_WARN] == 1 ? "" : "s",
                       c[CHECK_FAIL], c[CHECK_FAIL] == 1 ? "" : "s");
                return;
        }
        o = json_object_new_object();
        json_object_object_add(o, "checks", json_object_get(d->checks));
        json_object_object_add(o, "ok", json_object_new_int64(c[CHECK_OK]));
        json_object_object_add(o, "warnings", json_object_new_int64(c[CHECK_WARN]));
        json_object_object_add(o, "failures", json_object_new_int64(c[CHECK_FAIL]));
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

int cmd_check(int argc, char **argv) {
        _cleanup_(json_object_putp) struct json_object *checks = NULL;
        _cleanup_free_ struct node_config *config = NULL;
        struct check_options o;
        struct nb_error err = {};
        struct doctor d = {};
        int r;

        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? EXIT_INVALID : 0;
        if (!(config = malloc(sizeof(*config))))
                return print_error("out of memory"), EXIT_INVALID;
        if (o.json)
                checks = json_object_new_array();
        d.checks = checks;
        d.hooks_dir = o.hooks_dir;
        d.containerd_config = o.containerd_config;
        if (geteuid() != 0)
                report(&d, CHECK_WARN, "privileges", "running as uid %u: folders, secrets, quotas and open_tree may be out of reach; run nbmount check as root",
                       (unsigned) geteuid());
        if (node_config_load_path(o.config_path, config, &err) < 0) {
                report(&d, CHECK_FAIL, "node config", "%s", err.msg);
        } else {
                d.config = config;
                report(&d, CHECK_OK, "node config", "%s: valid (cluster %s, quota.enforce %s)", o.config_path,
                       config->cluster, quota_enforce_name(config->quota_enforce));
                check_node(&d);
        }
        check_kernel(&d);
        if (d.config) {
                check_quota(&d);
                check_mountd(&d);
        }
        check_s3fs(&d);
        check_hooks_dir(&d);
        check_containerd(&d);
        print_summary(&d);
        if (!d.config)
                return EXIT_INVALID;
        return d.counts[CHECK_FAIL] ? EXIT_REFUSED : 0;
}
