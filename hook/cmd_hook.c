/* SPDX-License-Identifier: Apache-2.0 */
/* nbmount hook: what runc, crun, podman and CRI-O call at container start and stop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "container.h"
#include "checks.h"
#include "harden.h"
#include "inputs.h"
#include "mount.h"
#include "mountstatus.h"
#include "mountinfo.h"
#include "netfs.h"
#include "ocistate.h"
#include "quota.h"
#include "safeopen.h"
#include "s3client.h"
#include "util.h"

static const char hook_usage[] =
        "Usage: nbmount hook [createRuntime|prestart|poststop] [--config FILE] [--debug]\n"
        "\n"
        "The OCI hook: reads the container's state on stdin, as the runtime writes it.\n"
        "  createRuntime, prestart  mount /notebooks, /storage and /datasets/NAME (S3 buckets through\n"
        "                           nbmountd) into the container,\n"
        "                           all or nothing; a refusal stops the container with the reason\n"
        "  poststop                 give the container's S3 mounts back to nbmountd; never fails\n"
        "Without a stage, it is taken from the state's status (creating, created: createRuntime;\n"
        "stopped: poststop).\n"
        "\n"
        "  --config FILE  the node config (default " NODE_CONFIG_DEFAULT_PATH ")\n"
        "  --debug        trace every step on stderr\n"
        "\n"
        "Exit status: 0 done, 1 the start is refused or a mount failed, 2 invalid input or config.\n";

enum hook_stage { STAGE_FROM_STATUS, STAGE_CREATE_RUNTIME, STAGE_POSTSTOP };

struct hook_options {
        enum hook_stage stage;
        const char *config_path;
        bool debug;
};

/* Everything one start needs, allocated once (the plan is large). */
struct hook_run {
        struct oci_state state;
        struct container_process container; /* the state's pid, held from the start */
        struct oci_config bundle;
        uid_t host_uid;                     /* process.user as the host sees it (the container's */
        gid_t host_gid;                     /* uid_map and gid_map) */
        struct node_config config;
        struct gathered_inputs inputs;
        struct plan plan;
        char rootfs[2 * NB_PATH_MAX + 2];
        bool quota_guarded; /* the container cannot leave a quota project: decided before hardening */
        bool notebooks_remote, storage_remote; /* the roots are on a network filesystem (netfs.h) */
        struct s3_result s3[PLAN_MAX_MOUNTS]; /* what nbmountd answered for plan.mounts[i] */
};

/* The plan and the settings are large: they stay untouched until they are filled. */
static struct hook_run *hook_run_new(void) {
        struct hook_run *run = malloc(sizeof(*run));

        if (!run)
                return NULL;
        memset(&run->state, 0, sizeof(run->state));
        memset(&run->bundle, 0, sizeof(run->bundle));
        run->container = (struct container_process) { .pidfd = -1, .proc_pid_fd = -1, .mnt_ns_fd = -1 };
        gathered_inputs_init(&run->inputs);
        run->rootfs[0] = '\0';
        s3_results_init(run->s3);
        return run;
}

static void hook_run_free(struct hook_run **run) {
        if (*run) {
                gathered_inputs_done(&(*run)->inputs);
                container_process_close(&(*run)->container);
                s3_results_close((*run)->s3);
        }
        free(*run);
}

static int parse_stage(const char *word, enum hook_stage *ret) {
        if (streq(word, "createRuntime") || streq(word, "prestart"))
                *ret = STAGE_CREATE_RUNTIME;
        else if (streq(word, "poststop"))
                *ret = STAGE_POSTSTOP;
        else
                return -EINVAL;
        return 0;
}

/* Returns 1 to go on, 0 after --help, -EINVAL on a usage error. */
static int parse_options(int argc, char **argv, struct hook_options *o) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "debug", no_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int opt;

        *o = (struct hook_options) { .config_path = NODE_CONFIG_DEFAULT_PATH };
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                if (opt == 'h')
                        return fputs(hook_usage, stdout), 0;
                if (opt == 'c')
                        o->config_path = optarg;
                else if (opt == 'd')
                        o->debug = true;
                else
                        return fputs(hook_usage, stderr), -EINVAL;
        }
        if (argc - optind > 1 || (argc - optind == 1 && parse_stage(argv[optind], &o->stage) < 0)) {
                print_error("hook takes one stage, createRuntime, prestart or poststop; see nbmount hook --help");
                return -EINVAL;
        }
        return 1;
}

static enum hook_stage stage_of(const struct hook_options *o, const struct oci_state *state) {
        if (o->stage != STAGE_FROM_STATUS)
                return o->stage;
        return streq(state->status, "stopped") ? STAGE_POSTSTOP : STAGE_CREATE_RUNTIME;
}

static double elapsed_ms(const struct timespec *start) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double) (now.tv_sec - start->tv_sec) * 1e3 + (double) (now.tv_nsec - start->tv_nsec) / 1e6;
}

/* The rootfs as the container's namespace sees it: root.path, absolute or under the bundle. */
static int resolve_rootfs(struct hook_run *run, struct nb_error *err) {
        const char *root = run->bundle.root_path;
        int n = root[0] == '/' ? snprintf(run->rootfs, sizeof(run->rootfs), "%s", root)
                               : snprintf(run->rootfs, sizeof(run->rootfs), "%s/%s", run->state.bundle, root);

        if (n < 0 || (size_t) n >= sizeof(run->rootfs))
                return nb_fail(err, ENAMETOOLONG, "%s/config.json: root.path is too long", run->state.bundle);
        return 0;
}

/* The first refused mount stops the start; a skipped one (what the notebook asked for) does not. */
static int check_plan(const struct plan *plan, struct nb_error *err) {
        const struct plan_mount *m = plan_first_refusal(plan);

        return m ? nb_fail(err, EPERM, "%s refused: %s", m->target, m->reason) : 0;
}

static void trace_plan(const struct plan *plan) {
        for (size_t i = 0; i < plan->n_mounts; i++) {
                const struct plan_mount *m = &plan->mounts[i];

                fprintf(stderr, "nbmount: debug: plan: %s <- %s (%s, %s)%s%s\n", m->target, m->source,
                        m->readonly ? "ro" : "rw", plan_mount_status(m), m->granted ? "" : ": ", m->reason);
        }
}

/* A container user who owns files can take a folder out of its project and write past the limit:
 * chattr -p 0 (ioctl FS_IOC_FSSETXATTR), chattr -P (FS_IOC_SETFLAGS, FS_IOC32_SETFLAGS: new files
 * then get project 0), or file_setattr(2) on Linux 6.17 and later. The kernel refuses all of it
 * outside the initial user namespace: a container whose user namespace (seen at run time, not as
 * config.json describes it: one joined by path may be the host's) is not the hook's is safe. Else
 * the seccomp profile must deny every one (seccompcheck.h). */
static int quota_escape_problem(const struct hook_run *run, struct nb_error *ret) {
        const struct oci_config *c = &run->bundle;
        const char *userns_note = c->user_namespace ? "config.json names a user namespace, but the container's is nbmount's own (joined by path?): " : "";

        if (run->container.own_user_namespace)
                return 0;
        if (!c->seccomp.ioctls_closed)
                return nb_fail(ret, EPERM, "%s%s", userns_note, c->seccomp.ioctl_problem.msg);
        if (!c->seccomp.file_setattr_closed && kernel_probe_file_setattr() != -ENOSYS)
                return nb_fail(ret, EPERM, "%sthis kernel has file_setattr(2): %s", userns_note,
                               c->seccomp.file_setattr_problem.msg);
        return 0;
}

/* Through a network filesystem no one can change a project id: the storage server's filesystem
 * keeps it, so a mount from a network root needs no guard. */
static bool escape_possible(const struct hook_run *run, const struct plan_mount *m) {
        return m->has_quota && !(m->kind == MOUNT_NOTEBOOK && run->notebooks_remote) &&
               !(m->kind == MOUNT_STORAGE && run->storage_remote);
}

static int check_quota_escape(const struct hook_run *run, struct nb_error *err) {
        struct nb_error problem = {};

        if (run->config.quota_enforce != QUOTA_REQUIRED || quota_escape_problem(run, &problem) == 0)
                return 0;
        for (size_t i = 0; i < run->plan.n_mounts; i++)
                if (escape_possible(run, &run->plan.mounts[i]))
                        return nb_fail(err, EPERM,
                                       "%s: the container could leave its quota project: %s; or run the container in a user namespace (quota.enforce is required)",
                                       run->plan.mounts[i].target, problem.msg);
        return 0;
}

/* The roots answer (a network root whose server is away fails here, within quota.remote_timeout,
 * before anything reads from it), and which of them are network filesystems. */
static int probe_roots(struct hook_run *run, struct nb_error *err) {
        const char *const roots[] = { run->config.notebooks_root, run->config.storage_root, run->config.datasets_root };
        struct statfs seen[ARRAY_SIZE(roots)];

        if (netfs_probe(roots, ARRAY_SIZE(roots), run->config.quota_remote_timeout_ms, seen, err) < 0)
                return -EIO;
        run->notebooks_remote = netfs_type_name(seen[0].f_type);
        run->storage_remote = netfs_type_name(seen[1].f_type);
        return 0;
}

/* Reads the state, the bundle and every input, and decides. Returns EXIT_INVALID or EXIT_REFUSED on failure. */
static int decide(struct hook_run *run, const struct hook_options *o, struct nb_error *err) {
        if (node_config_load_path(o->config_path, &run->config, err) < 0)
                return EXIT_INVALID;
        if (probe_roots(run, err) < 0)
                return EXIT_REFUSED;
        if (oci_config_load_bundle(run->state.bundle, &run->bundle, err) < 0 || resolve_rootfs(run, err) < 0 ||
            plan_from_files(&run->config, &run->bundle.identity, &run->inputs, &run->plan, err) < 0)
                return EXIT_INVALID;
        if (container_host_ids(&run->container, run->bundle.uid, run->bundle.gid, &run->host_uid, &run->host_gid, err) < 0)
                return EXIT_REFUSED;
        if (o->debug)
                trace_plan(&run->plan);
        run->quota_guarded = quota_escape_problem(run, &(struct nb_error) {}) == 0;
        return check_plan(&run->plan, err) < 0 || check_quota_escape(run, err) < 0 ? EXIT_REFUSED : 0;
}

static void report_failure(const struct hook_run *run, const struct nb_error *err) {
        const struct container_identity *id = &run->bundle.identity;

        if (id->team[0]) {
                print_error("container %s (team %s, notebook %s, user %s): %s", run->state.id, id->team, id->notebook,
                            id->user, err->msg);
                syslog(LOG_ERR, "container %s (team %s, notebook %s, user %s): start refused: %s", run->state.id,
                       id->team, id->notebook, id->user, err->msg);
        } else {
                print_error("container %s: %s", run->state.id[0] ? run->state.id : "?", err->msg);
                syslog(LOG_ERR, "container %s: start refused: %s", run->state.id[0] ? run->state.id : "?", err->msg);
        }
}

/* The request can only be made once decide() has read config.json. */
static int mount_all(struct hook_run *run, const struct hook_options *o, const int *s3_tree_fds,
                     struct mount_result *ret, struct nb_error *err) {
        const struct mount_request req = {
                .pid = run->state.pid,
                .mnt_ns_fd = run->container.mnt_ns_fd,
                .rootfs = run->rootfs,
                .uid = run->host_uid,
                .gid = run->host_gid,
                .quota_enforce = run->config.quota_enforce,
                .cap_sys_resource = run->bundle.cap_sys_resource,
                .quota_guarded = run->quota_guarded,
                .debug = o->debug,
                .s3_tree_fds = s3_tree_fds,
        };

        return mounts_apply(&run->plan, &run->config, &req, ret, err);
}

/* A bucket that could not be mounted is skipped; one still on its way is pending. */
static void note_s3_outcomes(struct plan *plan, const struct s3_result *results) {
        for (size_t i = 0; i < plan->n_mounts; i++) {
                struct plan_mount *m = &plan->mounts[i];

                if (results[i].outcome != S3_SKIPPED && results[i].outcome != S3_PENDING)
                        continue;
                m->granted = false;
                m->skipped = results[i].outcome == S3_SKIPPED;
                m->pending = results[i].outcome == S3_PENDING;
                snprintf(m->reason, sizeof(m->reason), "%s", results[i].reason);
        }
}

/* S3 mounts come from nbmountd first (asked by s3_ask_all()); if the rest fails, their references
 * are given back. */
static int mount_with_s3(struct hook_run *run, const struct hook_options *o, const struct s3_holder *holder,
                         struct mount_result *ret, struct nb_error *err) {
        int tree_fds[PLAN_MAX_MOUNTS];
        int r;

        if (!plan_has_s3(&run->plan))
                return mount_all(run, o, NULL, ret, err);
        if ((r = s3_acquire_all(&run->plan, &run->config, holder, run->s3, err)) < 0)
                return r;
        note_s3_outcomes(&run->plan, run->s3);
        for (size_t i = 0; i < PLAN_MAX_MOUNTS; i++)
                tree_fds[i] = run->s3[i].tree_fd;
        r = mount_all(run, o, tree_fds, ret, err);
        for (size_t i = 0; i < PLAN_MAX_MOUNTS; i++)
                closep(&run->s3[i].tree_fd);
        if (r < 0) {
                s3_results_close(run->s3);
                s3_release_all(&run->config, run->state.id, o->debug);
        }
        return r;
}

/* The S3 requests go out before the hook hardens itself, so that nbmountd serves them meanwhile;
 * their answers are read only after (they carry the mounts' fds). Nothing in between reads input. */
static int harden_and_mount(struct hook_run *run, const struct hook_options *o, struct mount_result *ret,
                            struct nb_error *err) {
        const struct s3_holder holder = { .container = run->state.id, .pid = run->state.pid,
                                          .uid = run->host_uid, .gid = run->host_gid, .rootfs = run->rootfs,
                                          .may_skip = run->config.settings_on_error == ON_ERROR_SKIP,
                                          .debug = o->debug };
        int r;

        if (plan_has_s3(&run->plan))
                s3_ask_all(&run->plan, &run->config, &holder, run->s3);
        if ((r = harden_hook(err)) < 0) {
                s3_results_close(run->s3);
                s3_release_all(&run->config, run->state.id, o->debug);
                return r;
        }
        return mount_with_s3(run, o, &holder, ret, err);
}

/* reason without the notebook's own host path: the user reads ".gradient/settings.yaml:3:5: ...". */
static void user_words(const struct hook_run *run, const char *reason, char *buf, size_t size) {
        const struct container_identity *id = &run->bundle.identity;
        char prefix[NB_PATH_MAX + 2 * NB_NAME_MAX + 4];
        const char *at;

        snprintf(prefix, sizeof(prefix), "%s/%s/%s/", run->config.notebooks_root, id->team, id->notebook);
        if ((at = strstr(reason, prefix)))
                snprintf(buf, size, "%.*s%s", (int) (at - reason), reason, at + strlen(prefix));
        else
                snprintf(buf, size, "%s", reason);
}

static size_t status_text(const struct hook_run *run, char *buf, size_t size) {
        char reason[NB_ERROR_MAX];
        size_t len = 0;
        int n = mount_status_header(run->state.id, buf, size);

        len = n > 0 ? MIN((size_t) n, size - 1) : 0;
        if (run->plan.settings_problem[0]) {
                user_words(run, run->plan.settings_problem, reason, sizeof(reason));
                mount_status_append(buf, size, &len, SETTINGS_RELATIVE_PATH, ENTRY_SKIPPED, reason);
        }
        for (size_t i = 0; i < run->plan.n_mounts; i++) {
                const struct plan_mount *m = &run->plan.mounts[i];

                user_words(run, m->reason, reason, sizeof(reason));
                mount_status_append(buf, size, &len, m->target,
                                    m->granted ? ENTRY_MOUNTED : m->pending ? ENTRY_PENDING : ENTRY_SKIPPED, reason);
        }
        return len;
}

/* The status file beside settings.yaml, and a log line for each thing skipped; a status file that
 * cannot be written is a warning, never a refusal. */
static void report_outcome(const struct hook_run *run) {
        const struct container_identity *id = &run->bundle.identity;
        const struct status_place place = { .notebooks_root = run->config.notebooks_root, .team = id->team,
                                            .notebook = id->notebook, .uid = run->host_uid, .gid = run->host_gid };
        _cleanup_free_ char *text = malloc(MOUNT_STATUS_MAX_BYTES);
        struct nb_error err = {};
        int r;

        if (run->plan.settings_problem[0])
                syslog(LOG_WARNING, "container %s (team %s, notebook %s, user %s): settings.yaml skipped: %s",
                       run->state.id, id->team, id->notebook, id->user, run->plan.settings_problem);
        for (size_t i = 0; i < run->plan.n_mounts; i++) {
                const struct plan_mount *m = &run->plan.mounts[i];

                if (!m->granted)
                        syslog(LOG_WARNING, "container %s (team %s, notebook %s, user %s): %s %s: %s", run->state.id,
                               id->team, id->notebook, id->user, m->target, m->pending ? "pending" : "skipped",
                               m->reason);
        }
        r = text ? mount_status_write(&place, text, status_text(run, text, MOUNT_STATUS_MAX_BYTES), &err)
                 : nb_fail(&err, ENOMEM, "out of memory");
        if (r == 0 || r == -ENOENT) /* written, or no .gradient folder: nothing asked for, nothing to say */
                return;
        print_error("warning: container %s: no status file for the notebook: %s", run->state.id, err.msg);
        syslog(LOG_WARNING, "container %s (team %s, notebook %s, user %s): no status file: %s", run->state.id, id->team,
               id->notebook, id->user, err.msg);
}

/* One line per folder whose tree this start walked: a warning when something had left its project. */
static void log_walks(const struct hook_run *run, const struct mount_result *result) {
        const struct container_identity *id = &run->bundle.identity;

        for (size_t i = 0; i < result->n_walks; i++)
                syslog(result->walks[i].repaired ? LOG_WARNING : LOG_INFO,
                       "container %s (team %s, notebook %s, user %s): quota: %s", run->state.id, id->team, id->notebook,
                       id->user, result->walks[i].line);
}

static int create_runtime(struct hook_run *run, const struct hook_options *o) {
        const struct container_identity *id = &run->bundle.identity;
        struct nb_error err = {};
        struct mount_result result = {};
        struct timespec start;
        int exit_code = 0;

        clock_gettime(CLOCK_MONOTONIC, &start);
        if (run->state.pid <= 0) {
                nb_fail(&err, EINVAL, "the OCI state has no pid; nbmount runs as a createRuntime or prestart hook");
                exit_code = EXIT_INVALID;
        } else if (container_process_open(run->state.pid, &run->container, &err) < 0 ||
                   ((exit_code = decide(run, o, &err)) == 0 && harden_and_mount(run, o, &result, &err) < 0)) {
                exit_code = exit_code == EXIT_INVALID ? EXIT_INVALID : EXIT_REFUSED;
        }
        if (exit_code != 0) {
                report_failure(run, &err);
                return exit_code;
        }
        log_walks(run, &result);
        report_outcome(run);
        s3_commit_pending(run->s3);
        if (result.quota_warning) {
                print_error("warning: container %s: %s", run->state.id, result.warning.msg);
                syslog(LOG_WARNING, "container %s (team %s, notebook %s, user %s): %s", run->state.id, id->team,
                       id->notebook, id->user, result.warning.msg);
        }
        syslog(LOG_INFO, "container %s (team %s, notebook %s, user %s): %zu mounts in %.1f ms", run->state.id, id->team,
               id->notebook, id->user, result.mounted, elapsed_ms(&start));
        return 0;
}

/* Whether root is on a network filesystem, by the mount table: the storage server keeps its
 * projects there (no stamps), and a hard mount whose server is away would hold any question put
 * to it, past the runtime's timeout for this hook. */
static bool root_is_remote(const char *root) {
        char fstype[64];

        return mountinfo_fstype_of(root, fstype, sizeof(fstype)) == 0 && netfs_fstype_name(fstype);
}

/* A container that could leave its quota projects may have taken files out of them until it
 * stopped, also after another start walked its folders and stamped them: the stamps go, so that the
 * next guarded start walks again (quotatree.h). */
static void forget_quota_trees(const struct hook_run *run, bool debug) {
        const struct container_identity *id = &run->bundle.identity;
        const struct {
                const char *root, *a, *b;
        } trees[] = {
                { run->config.notebooks_root, id->team, id->notebook },
                { run->config.storage_root, run->config.cluster, id->team },
        };
        char relative[2 * NB_NAME_MAX + 2], path[NB_PATH_MAX + sizeof(relative) + 2];

        for (size_t i = 0; i < ARRAY_SIZE(trees); i++) {
                _cleanup_close_ int fd = -1;
                struct nb_error err = {};

                if (root_is_remote(trees[i].root))
                        continue;
                snprintf(relative, sizeof(relative), "%s/%s", trees[i].a, trees[i].b);
                snprintf(path, sizeof(path), "%s/%s", trees[i].root, relative);
                if ((fd = open_beneath(trees[i].root, relative, O_PATH | O_DIRECTORY, NULL)) < 0)
                        continue; /* never made: nothing was stamped */
                if (quota_forget(fd, path, &err) < 0)
                        syslog(LOG_WARNING, "container %s: poststop: %s", run->state.id, err.msg);
                else if (debug)
                        fprintf(stderr, "nbmount: debug: %s: quota stamp removed (the container was not guarded)\n", path);
        }
}

/* At poststop the container's process is gone: config.json must do. A user namespace that config.json
 * names but that was the hook's own (joined by path) is not seen here; that start removed the stamp
 * already, and only a guarded start that walked while it ran is missed. */
static bool guarded_by_config(const struct oci_config *c) {
        return c->user_namespace ||
               (c->seccomp.ioctls_closed && (c->seccomp.file_setattr_closed || kernel_probe_file_setattr() == -ENOSYS));
}

/* Gives the container's S3 mounts back to nbmountd, and the stamps of its folders' trees when it
 * was not guarded; never fails the runtime's cleanup. */
static int poststop(struct hook_run *run, const struct hook_options *o) {
        struct nb_error err = {};

        if (harden_hook(NULL) < 0)
                return 0; /* nothing is released unhardened; the runtime's cleanup goes on */
        if (node_config_load_path(o->config_path, &run->config, &err) < 0) {
                syslog(LOG_WARNING, "container %s: poststop: %s; its S3 mounts are released by nbmountd's sweep",
                       run->state.id, err.msg);
                return 0;
        }
        s3_release_all(&run->config, run->state.id, o->debug);
        if (oci_config_load_bundle(run->state.bundle, &run->bundle, &err) < 0) {
                syslog(LOG_WARNING, "container %s: poststop: %s", run->state.id, err.msg);
                return 0;
        }
        if (run->config.bucket_name[0] && run->bundle.identity.notebook[0])
                s3_offline_request(&run->config, run->state.id, run->bundle.identity.team,
                                   run->bundle.identity.notebook, o->debug);
        if (run->config.quota_enforce == QUOTA_OFF || !guarded_by_config(&run->bundle))
                forget_quota_trees(run, o->debug);
        return 0;
}

int cmd_hook(int argc, char **argv) {
        _cleanup_(hook_run_free) struct hook_run *run = hook_run_new();
        struct hook_options o;
        struct nb_error err = {};
        int r;

        if (!run)
                return print_error("out of memory"), EXIT_INVALID;
        if ((r = parse_options(argc, argv, &o)) <= 0)
                return r < 0 ? EXIT_INVALID : 0;
        openlog("nbmount", LOG_PID, LOG_DAEMON);
        if (oci_state_load_fd(STDIN_FILENO, "the OCI state on stdin", &run->state, &err) < 0) {
                if (o.stage == STAGE_POSTSTOP)
                        return 0; /* a runtime's cleanup must go on */
                report_failure(run, &err);
                return EXIT_INVALID;
        }
        if (stage_of(&o, &run->state) == STAGE_POSTSTOP)
                return poststop(run, &o);
        return create_runtime(run, &o);
}
