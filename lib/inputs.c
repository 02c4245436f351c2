/* SPDX-License-Identifier: Apache-2.0 */
#include "inputs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"
#include "safeopen.h"
#include "sandbox.h"
#include "util.h"

int oci_config_load_bundle(const char *bundle, struct oci_config *ret, struct nb_error *err) {
        _cleanup_close_ int bundle_fd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
        char file[sizeof(nb_path) + 16];

        snprintf(file, sizeof(file), "%s/config.json", bundle);
        if (bundle_fd < 0)
                return nb_fail(err, errno, "%s: cannot open the bundle: %s", bundle, strerror(errno));
        fd = openat(bundle_fd, "config.json", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", file, strerror(errno));
        return oci_config_load_fd(fd, file, ret, err);
}

static int check_root_only_dir(const char *path, const char *what, struct nb_error *err) {
        _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", path, strerror(errno));
        return check_root_only(fd, path, what, err);
}

int load_team_grants(const struct node_config *config, const char *team, struct team_grants *ret,
                            struct nb_error *err) {
        _cleanup_close_ int fd = -1;
        char relative[NB_NAME_MAX + 8], file[sizeof(nb_path) + sizeof(relative) + 2];

        snprintf(relative, sizeof(relative), "%s.json", team);
        snprintf(file, sizeof(file), "%s/%s", config->grants_dir, relative);
        fd = open_regular_beneath(config->grants_dir, relative, err);
        if (fd == -ENOENT)
                return nb_fail(err, ENOENT,
                               "%s: team %s has no grants; the control plane writes this file when the team is created",
                               file, team);
        if (fd < 0)
                return fd;
        if (check_root_only_dir(config->grants_dir, "the grants folder", err) < 0 ||
            check_root_only(fd, file, "a grants file", err) < 0)
                return -EPERM;
        return grants_load_fd(fd, file, team, ret, err);
}

static int load_public_grants(const struct node_config *config, struct team_grants *ret, struct nb_error *err) {
        _cleanup_close_ int fd = -1;
        char file[sizeof(nb_path) + 16];

        snprintf(file, sizeof(file), "%s/public.json", config->grants_dir);
        fd = open_regular_beneath(config->grants_dir, "public.json", err);
        if (fd == -ENOENT)
                return 0; /* no public datasets on this node */
        if (fd < 0)
                return fd;
        if (check_root_only(fd, file, "a grants file", err) < 0)
                return -EPERM;
        return public_grants_load_fd(fd, file, ret, err);
}

/* settings.yaml is optional; a notebook folder that does not exist yet has none. */
static int read_settings(const struct node_config *config, const struct container_identity *id,
                         struct settings *ret, struct nb_error *err) {
        _cleanup_close_ int fd = -1;
        char relative[2 * NB_NAME_MAX + 32], file[NB_PATH_MAX + sizeof(relative) + 2];

        snprintf(relative, sizeof(relative), "%s/%s/%s", id->team, id->notebook, SETTINGS_RELATIVE_PATH);
        snprintf(file, sizeof(file), "%s/%s", config->notebooks_root, relative);
        ret->n_mounts = 0;
        fd = open_regular_beneath(config->notebooks_root, relative, err);
        if (fd == -ENOENT || fd == -ENOTDIR)
                return 0;
        if (fd < 0)
                return fd;
        return sandbox_parse_settings(fd, file, ret, err);
}

/* With settings.on_error skip, a file that cannot be used is skipped whole (*problem says why) and
 * an entry at fault on its own; with refuse, either refuses the start, as the first fault. */
static int load_settings(const struct node_config *config, const struct container_identity *id,
                         struct settings *ret, char problem[NB_ERROR_MAX], struct nb_error *err) {
        int r = read_settings(config, id, ret, err);

        problem[0] = '\0';
        if (config->settings_on_error == ON_ERROR_REFUSE)
                return r < 0 ? r : settings_refuse_faults(ret, err);
        if (r < 0) {
                ret->n_mounts = 0;
                snprintf(problem, NB_ERROR_MAX, "%s", err->msg);
                err->msg[0] = '\0';
        }
        return 0;
}

static bool notebook_has_checkpoints(const struct node_config *config, const struct container_identity *id) {
        _cleanup_close_ int notebook_fd = -1;
        char relative[2 * NB_NAME_MAX + 4];
        struct stat st;

        snprintf(relative, sizeof(relative), "%s/%s", id->team, id->notebook);
        notebook_fd = open_beneath(config->notebooks_root, relative, O_PATH | O_DIRECTORY, NULL);
        if (notebook_fd < 0)
                return false;
        return fstatat(notebook_fd, "checkpoints", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static enum secret_state find_secret(const struct node_config *config, const char *team, const char *name) {
        _cleanup_close_ int fd = -1;
        char relative[2 * NB_NAME_MAX + 4];
        struct stat st;

        snprintf(relative, sizeof(relative), "%s/%s", team, name);
        fd = open_beneath(config->secrets_dir, relative, O_PATH, NULL);
        if (fd == -ELOOP || fd == -EXDEV)
                return SECRET_NOT_A_FILE;
        if (fd < 0 || fstat(fd, &st) < 0)
                return SECRET_MISSING;
        if (!S_ISREG(st.st_mode))
                return SECRET_NOT_A_FILE;
        if (!secret_stat_trusted(&st))
                return SECRET_UNSAFE;
        return SECRET_PRESENT;
}

int gather_inputs(const struct node_config *config, const struct container_identity *identity,
                  struct gathered_inputs *ret, struct nb_error *err) {
        int r;

        if ((r = load_team_grants(config, identity->team, &ret->team, err)) < 0 ||
            (r = load_public_grants(config, &ret->public_datasets, err)) < 0 ||
            (r = load_settings(config, identity, &ret->settings, ret->settings_problem, err)) < 0)
                return r;
        for (size_t i = 0; i < ret->settings.n_mounts; i++)
                if (ret->settings.mounts[i].secret_name[0])
                        ret->secret_states[i] = find_secret(config, identity->team, ret->settings.mounts[i].secret_name);
        ret->notebook_has_checkpoints = notebook_has_checkpoints(config, identity);
        return 0;
}

void gathered_inputs_init(struct gathered_inputs *in) {
        memset(&in->team, 0, sizeof(in->team));
        memset(&in->public_datasets, 0, sizeof(in->public_datasets));
        memset(in->secret_states, 0, sizeof(in->secret_states));
        in->settings.n_mounts = 0;
        in->settings_problem[0] = '\0';
        in->notebook_has_checkpoints = false;
}

void gathered_inputs_done(struct gathered_inputs *in) {
        team_grants_done(&in->team);
        team_grants_done(&in->public_datasets);
}

int plan_from_files(const struct node_config *config, const struct container_identity *identity,
                    struct gathered_inputs *inputs, struct plan *ret, struct nb_error *err) {
        struct plan_inputs in = {
                .config = config,
                .identity = identity,
                .team = &inputs->team,
                .public_datasets = &inputs->public_datasets,
                .settings = &inputs->settings,
                .secret_states = inputs->secret_states,
        };
        int r;

        if ((r = gather_inputs(config, identity, inputs, err)) < 0)
                return r;
        in.notebook_has_checkpoints = inputs->notebook_has_checkpoints;
        in.settings_problem = inputs->settings_problem[0] ? inputs->settings_problem : NULL;
        return plan_build(&in, ret, err);
}
