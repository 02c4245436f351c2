/* SPDX-License-Identifier: Apache-2.0 */
/* The clock of `nbmount meter` and `nbmount quota --month`: the real one, or for tests only a time
 * given with --now, honoured only when the program was started with NBMOUNT_TEST_CLOCK=1 in its
 * environment (read from /proc/self/environ: main() clears environ). A production run that passes
 * --now by mistake is refused, never back-dated. */
#pragma once

#include <time.h>

#include "error.h"

#define TESTCLOCK_VARIABLE "NBMOUNT_TEST_CLOCK"

/* now_option NULL: time(NULL). Else "YYYY-MM-DDTHH:MM:SSZ", only under NBMOUNT_TEST_CLOCK=1. */
int testclock_now(const char *now_option, time_t *ret, struct nb_error *err);
