/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz_common.h"
#include "ociconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct oci_config config;
        struct nb_error err;
        char *text = fuzz_text(data, size);

        if (text)
                oci_config_parse(text, size, "config.json", &config, &err);
        free(text);
        return 0;
}
