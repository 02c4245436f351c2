/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harnesses: each feeds one parser (or the plan builder) arbitrary bytes. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The parsers take a NUL-terminated text and its length (which may hold NULs). */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
        char *text = malloc(size + 1);

        if (text) {
                memcpy(text, data, size);
                text[size] = '\0';
        }
        return text;
}
