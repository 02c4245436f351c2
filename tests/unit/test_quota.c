/* SPDX-License-Identifier: Apache-2.0 */
/* The money side of `nbmount quota`: allowance, hard limit, overage and its monthly cost; the file
 * limit; the stamp of a walked tree (quotatree.h) and the walk's log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <linux/magic.h>

#include "netfs.h"
#include "quotareport.h"
#include "quotatree.h"

#define GB 1000000000ULL

static struct node_config node(void) {
        static const char yaml[] = "cluster: east-1\nbilling: {price_per_gb_month: 0.29, overage_cap: 1TB}\n";
        struct node_config config;
        struct nb_error err = {};

        assert_int_equal(node_config_parse(yaml, strlen(yaml), "node.yaml", &config, &err), 0);
        return config;
}

static struct team_grants team(const char *plan, bool card) {
        struct team_grants grants = { .card_on_file = card };

        name_copy(grants.team, "acme");
        name_copy(grants.plan, plan);
        return grants;
}

/* The seed example: pro 15 GB, 50 GB used, 35 GB over, $10.15 a month. */
static void seed_example(void **state) {
        struct node_config config = node();
        struct team_grants grants = team("pro", true);
        struct quota_row row = { .used_bytes = 50 * GB };

        quota_row_costs(&row, &config, &grants);
        assert_string_equal(row.plan, "pro");
        assert_true(row.card_on_file);
        assert_int_equal(row.allowance_bytes, 15 * GB);
        assert_int_equal(row.hard_bytes, 15 * GB + 1000 * GB);
        assert_int_equal(row.over_bytes, 35 * GB);
        assert_true(row.overage_per_month > 10.149 && row.overage_per_month < 10.151);
        assert_int_equal(row.file_limit, 915527); /* 15 GB / 16 KiB, with or without a card */
}

static void under_the_plan_costs_nothing(void **state) {
        struct node_config config = node();
        struct team_grants grants = team("free", false);
        struct quota_row row = { .used_bytes = 4 * GB };

        quota_row_costs(&row, &config, &grants);
        assert_int_equal(row.allowance_bytes, 5 * GB);
        assert_int_equal(row.hard_bytes, 5 * GB);
        assert_int_equal(row.over_bytes, 0);
        assert_true(row.overage_per_month == 0.0);
}

static void notebook_rows_use_the_notebook_allowance(void **state) {
        struct node_config config = node();
        struct team_grants grants = team("growth", false);
        struct quota_row row = { .used_bytes = 51 * GB };

        name_copy(row.notebook, "nb1");
        quota_row_costs(&row, &config, &grants);
        assert_int_equal(row.allowance_bytes, 50 * GB);
        assert_int_equal(row.over_bytes, 1 * GB);
}

static void unlimited_and_unknown_plans(void **state) {
        struct node_config config = node();
        struct team_grants enterprise = team("enterprise", true), unknown = team("platinum", false);
        struct quota_row row = { .used_bytes = 900 * GB }, other = { .used_bytes = 1 };

        quota_row_costs(&row, &config, &enterprise);
        assert_int_equal(row.allowance_bytes, NB_SIZE_UNLIMITED);
        assert_int_equal(row.hard_bytes, NB_SIZE_UNLIMITED);
        assert_int_equal(row.over_bytes, 0);
        assert_int_equal(row.file_limit, NB_SIZE_UNLIMITED);
        quota_row_costs(&other, &config, &unknown);
        assert_string_equal(other.plan, "");
        assert_int_equal(other.allowance_bytes, NB_SIZE_UNLIMITED);
        assert_int_equal(other.file_limit, NB_SIZE_UNLIMITED);
        quota_row_costs(&other, &config, NULL);
        assert_int_equal(other.over_bytes, 0);
}

static void explicit_file_limits(void **state) {
        static const char yaml[] = "cluster: east-1\nplans:\n  small: {storage: 1GB, notebook: 2GB, storage_files: 40, notebook_files: 7}\n";
        struct node_config config;
        struct nb_error err = {};
        struct team_grants grants = team("small", false);
        struct quota_row storage = {}, notebook = {};

        assert_int_equal(node_config_parse(yaml, strlen(yaml), "node.yaml", &config, &err), 0);
        name_copy(notebook.notebook, "nb1");
        quota_row_costs(&storage, &config, &grants);
        quota_row_costs(&notebook, &config, &grants);
        assert_int_equal(storage.file_limit, 40);
        assert_int_equal(notebook.file_limit, 7);
}

/* The stamp is "v<version> <id>", exactly: another version, id, or anything more is not it. */
static void stamp_text(void **state) {
        char buf[QUOTA_STAMP_MAX], expected[QUOTA_STAMP_MAX];

        quota_stamp_format(10001, buf, sizeof(buf));
        snprintf(expected, sizeof(expected), "v%u 10001", QUOTA_STAMP_VERSION);
        assert_string_equal(buf, expected);
        assert_true(quota_stamp_valid(buf, strlen(buf), 10001));
        assert_false(quota_stamp_valid(buf, strlen(buf), 10000));
        assert_false(quota_stamp_valid(buf, strlen(buf) - 1, 10001)); /* "v1 1000" */
        assert_false(quota_stamp_valid(buf, strlen(buf) + 1, 10001)); /* with its NUL */
        assert_false(quota_stamp_valid("", 0, 10001));
        snprintf(buf, sizeof(buf), "v%u 10001", QUOTA_STAMP_VERSION - 1);
        assert_false(quota_stamp_valid(buf, strlen(buf), 10001));
        snprintf(buf, sizeof(buf), "v%u 10001", QUOTA_STAMP_VERSION + 1);
        assert_false(quota_stamp_valid(buf, strlen(buf), 10001));
        quota_stamp_format(UINT32_MAX, buf, sizeof(buf));
        assert_true(strlen(buf) < QUOTA_STAMP_MAX);
}

static void walk_lines(void **state) {
        struct quota_walk walk = { .walked = true, .folders = 1, .files = 0 };
        char line[256];

        quota_walk_describe(&walk, line, sizeof(line));
        assert_string_equal(line, "walked 1 folder and 0 files: all in the project");
        walk = (struct quota_walk) { .folders = 12, .files = 340, .repaired_folders = 1, .repaired_files = 20,
                                     .repaired_links = 2 };
        quota_walk_describe(&walk, line, sizeof(line));
        assert_string_equal(line, "walked 12 folders and 340 files: repaired 1 folder and 20 files (2 hard links)");
        quota_walk_describe(&walk, line, 10);
        assert_string_equal(line, "walked 12");
}

/* What a node sees of the storage server's limit through statfs (netfs.h). */
static void network_limits(void **state) {
        struct plan_quota quota = { .project = "team.acme", .soft_bytes = 20 * 1000 * 1000, .hard_bytes = 25 * 1000 * 1000 };
        /* XFS rounds 20 MB down to its 4 KiB blocks, the NFS client to its own 4 KiB */
        struct statfs seen = { .f_type = NFS_SUPER_MAGIC, .f_bsize = 4096, .f_blocks = 20000000 / 1024 * 1024 / 4096 };

        assert_string_equal(netfs_type_name(NFS_SUPER_MAGIC), "nfs");
        assert_string_equal(netfs_type_name(0x00c36400), "ceph");
        assert_null(netfs_type_name(XFS_SUPER_MAGIC));
        assert_true(netfs_limit_met(&seen, &quota));
        seen.f_blocks = 512 * 1024 * 1024 / 4096; /* the whole export: no project limit yet */
        assert_false(netfs_limit_met(&seen, &quota));
        seen.f_blocks = 4 * 1000 * 1000 / 4096; /* a smaller plan's limit: not this one */
        assert_false(netfs_limit_met(&seen, &quota));
        quota.soft_bytes = NB_SIZE_UNLIMITED; /* no allowance: the hard limit is what statfs shows */
        seen.f_blocks = 25000000 / 1024 * 1024 / 4096;
        assert_true(netfs_limit_met(&seen, &quota));
        quota.hard_bytes = NB_SIZE_UNLIMITED;
        assert_true(netfs_limit_met(&seen, &quota));
}

/* The roots' probe (a child's statfs): a root that is there, one that is not (all zero: not the
 * probe's to judge). */
static void probe_roots(void **state) {
        const char *const paths[] = { "/", "/nonexistent-nbmount-root" };
        struct statfs seen[2];
        struct nb_error err = {};

        memset(seen, 0xff, sizeof(seen));
        assert_int_equal(netfs_probe(paths, 2, 5000, seen, &err), 0);
        assert_true(seen[0].f_type != 0 && seen[0].f_blocks > 0);
        assert_true(seen[1].f_type == 0 && seen[1].f_blocks == 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(seed_example),
                cmocka_unit_test(under_the_plan_costs_nothing),
                cmocka_unit_test(notebook_rows_use_the_notebook_allowance),
                cmocka_unit_test(unlimited_and_unknown_plans),
                cmocka_unit_test(explicit_file_limits),
                cmocka_unit_test(stamp_text),
                cmocka_unit_test(walk_lines),
                cmocka_unit_test(network_limits),
                cmocka_unit_test(probe_roots),
        };

        setvbuf(stdout, NULL, _IONBF, 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
