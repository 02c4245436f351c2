/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz_common.h"
#include "ocistate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct oci_state state;
        struct nb_error err;
        char *text = fuzz_text(data, size);

        if (text)
                oci_state_parse(text, size, "state", &state, &err);
        free(text);
        return 0;
}
