/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz_common.h"
#include "nodeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct node_config config;
        struct nb_error err;
        char *text = fuzz_text(data, size);

        if (text)
                node_config_parse(text, size, "node.yaml", &config, &err);
        free(text);
        return 0;
}
