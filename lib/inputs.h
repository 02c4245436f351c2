/* SPDX-License-Identifier: Apache-2.0 */
/* Gathers what a plan is decided from, reading every file safely: no symlink in a path that a user
 * or the control plane writes is followed, every fd is O_CLOEXEC, FIFOs and devices are refused. */
#pragma once

#include "error.h"
#include "grants.h"
#include "nodeconfig.h"
#include "ociconfig.h"
#include "plan.h"
#include "settings.h"

/* Everything plan_build() needs, owned. */
struct gathered_inputs {
        struct team_grants team;
        struct team_grants public_datasets;
        struct settings settings;
        char settings_problem[NB_ERROR_MAX]; /* settings.on_error skip: why settings.yaml was skipped, or "" */
        enum secret_state secret_states[SETTINGS_MAX_MOUNTS];
        bool notebook_has_checkpoints;
};

int oci_config_load_bundle(const char *bundle, struct oci_config *ret, struct nb_error *err);

/* GRANTS/TEAM.json, opened without following symlinks. */
int load_team_grants(const struct node_config *config, const char *team, struct team_grants *ret,
                     struct nb_error *err);

/* Empties in (without touching the large settings array). */
void gathered_inputs_init(struct gathered_inputs *in);

/* Loads grants, public datasets, settings.yaml and the facts about secrets and the notebook folder.
 * *ret must have been through gathered_inputs_init(); release with gathered_inputs_done(). */
int gather_inputs(const struct node_config *config, const struct container_identity *identity,
                  struct gathered_inputs *ret, struct nb_error *err);
void gathered_inputs_done(struct gathered_inputs *in);

/* gather_inputs() then plan_build(): the plan for one container, from the files of this node. */
int plan_from_files(const struct node_config *config, const struct container_identity *identity,
                    struct gathered_inputs *inputs, struct plan *ret, struct nb_error *err);
