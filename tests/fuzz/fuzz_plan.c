/* SPDX-License-Identifier: Apache-2.0 */
/* The plan builder on settings.yaml from the fuzzer, against a fixed node and team. */
#include "fuzz_common.h"
#include "grants.h"
#include "nodeconfig.h"
#include "plan.h"
#include "planjson.h"

static const char node_yaml[] = "cluster: east-1\nroots: {notebooks: /n, storage: /s, datasets: /d}\n";
static const char team_json[] =
        "{\"team\": \"acme\", \"plan\": \"pro\", \"card_on_file\": true, \"private_workspace\": false,"
        " \"members\": [\"alice\"], \"storage_clusters\": [\"east-1\"], \"datasets\": [{\"name\": \"q\","
        " \"id\": \"dsq\", \"versions\": [\"v1\", \"v2\"], \"latest\": \"v2\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct node_config config;
        static struct settings settings;
        static struct plan plan;
        static enum secret_state secrets[SETTINGS_MAX_MOUNTS];
        struct container_identity identity = { "acme", "nb1", "alice", "" };
        struct team_grants team = {};
        struct nb_error err;
        char *text = fuzz_text(data, size);

        if (!text || node_config_parse(node_yaml, sizeof(node_yaml) - 1, "node.yaml", &config, &err) < 0 ||
            grants_parse(team_json, sizeof(team_json) - 1, "acme.json", "acme", &team, &err) < 0 ||
            settings_parse(text, size, "settings.yaml", &settings, &err) < 0)
                goto out;
        for (size_t i = 0; i < settings.n_mounts; i++)
                secrets[i] = (enum secret_state) (settings.mounts[i].name[0] % 4);
        struct plan_inputs in = {
                .config = &config,
                .identity = &identity,
                .team = &team,
                .settings = &settings,
                /* a settings.yaml skipped whole, one time in three */
                .settings_problem = size % 3 == 0 ? "settings.yaml:1:1: skipped" : NULL,
                .notebook_has_checkpoints = size % 2,
                .secret_states = secrets,
        };
        config.settings_on_error = size % 5 == 0 ? ON_ERROR_REFUSE : ON_ERROR_SKIP;
        if (plan_build(&in, &plan, &err) == 0)
                json_object_put(plan_to_json(&plan));
out:
        team_grants_done(&team);
        free(text);
        return 0;
}
