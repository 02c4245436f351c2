/* SPDX-License-Identifier: Apache-2.0 */
#include "fuzz_common.h"
#include "grants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct team_grants grants = {}, public = {};
        struct nb_error err;
        char *text = fuzz_text(data, size);

        if (!text)
                return 0;
        if (grants_parse(text, size, "acme.json", "acme", &grants, &err) == 0)
                team_grants_done(&grants);
        if (public_grants_parse(text, size, "public.json", &public, &err) == 0)
                team_grants_done(&public);
        free(text);
        return 0;
}
