/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz_common.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct settings settings;
        struct nb_error err;
        char *text = fuzz_text(data, size);

        if (text)
                settings_parse(text, size, "settings.yaml", &settings, &err);
        free(text);
        return 0;
}
