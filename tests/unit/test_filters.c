/* SPDX-License-Identifier: Apache-2.0 */
/* filters.h (made by lib/gen/filtergen.c at build time): the BPF the hook and the settings parser load
 * is, instruction for instruction, what libseccomp compiles from hookfilters.c's rules now. */
#include "testutil.h"

#include "confine.h"
#include "filters.h"
#include "hookfilters.h"

static void assert_compiles_to(int (*build)(struct filter_variant, scmp_filter_ctx *), struct filter_variant v,
                               const struct sock_filter *expected, size_t n_expected) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_free_ struct sock_filter *insns = NULL;
        size_t n = 0;

        assert_int_equal(build(v, &ctx), 0);
        assert_int_equal(confine_export_filter(ctx, &insns, &n), 0);
        assert_int_equal(n, n_expected);
        assert_memory_equal(insns, expected, n * sizeof(*insns));
}

#define assert_filter(build, sanitizer_, log_, array)                                                             \
        assert_compiles_to(build, (struct filter_variant) { .sanitizer = sanitizer_, .log = log_ }, array,       \
                           ARRAY_SIZE(array))

static void hook_filters_are_libseccomps(void **state) {
        (void) state;
        assert_filter(hook_filter_build, false, false, filter_hook);
        assert_filter(hook_filter_build, false, true, filter_hook_log);
        assert_filter(hook_filter_build, true, false, filter_hook_sanitizer);
        assert_filter(hook_filter_build, true, true, filter_hook_sanitizer_log);
}

static void sandbox_filters_are_libseccomps(void **state) {
        (void) state;
        assert_filter(sandbox_filter_build, false, false, filter_sandbox);
        assert_filter(sandbox_filter_build, true, false, filter_sandbox_sanitizer);
}

/* The variants differ where they must: a changed rule set shows up as a changed program. */
static void variants_differ(void **state) {
        (void) state;
        assert_true(ARRAY_SIZE(filter_hook_sanitizer) > ARRAY_SIZE(filter_hook));
        assert_true(ARRAY_SIZE(filter_sandbox_sanitizer) > ARRAY_SIZE(filter_sandbox));
        assert_int_equal(ARRAY_SIZE(filter_hook_log), ARRAY_SIZE(filter_hook));
        assert_memory_not_equal(filter_hook_log, filter_hook, sizeof(filter_hook));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(hook_filters_are_libseccomps),
                cmocka_unit_test(sandbox_filters_are_libseccomps),
                cmocka_unit_test(variants_differ),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
