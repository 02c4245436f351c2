/* SPDX-License-Identifier: Apache-2.0 */
/* grantscache.c: the teams' plans and cards from STATE/quota-grants.cache while the grants folder
 * stands as it did, and every grants change seen at once (lib/grantscache.h). */
#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"

#include "grantscache.h"

struct fixture {
        char root[64];
        struct node_config config;
};

/* GRANTS/TEAM.json replaced as the control plane must: a new file renamed over the name. */
static void put_grants(const struct fixture *f, const char *team, const char *plan, bool card) {
        char tmp[NB_PATH_MAX + 80], path[NB_PATH_MAX + 80];
        FILE *out;

        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", f->config.grants_dir, team);
        snprintf(path, sizeof(path), "%s/%s.json", f->config.grants_dir, team);
        assert_non_null(out = fopen(tmp, "w"));
        fprintf(out, "{\"team\": \"%s\", \"plan\": \"%s\", \"card_on_file\": %s, \"private_workspace\": false, "
                     "\"members\": [\"u\"], \"storage_clusters\": [], \"datasets\": []}\n",
                team, plan, card ? "true" : "false");
        assert_int_equal(fclose(out), 0);
        assert_int_equal(rename(tmp, path), 0);
}

static void put_text(const char *folder, const char *name, const char *text) {
        char path[NB_PATH_MAX + 80];
        FILE *out;

        snprintf(path, sizeof(path), "%s/%s", folder, name);
        assert_non_null(out = fopen(path, "w"));
        fputs(text, out);
        assert_int_equal(fclose(out), 0);
}

/* Until the grants folder's last change is more than GRANTS_CACHE_SETTLE_NS old. */
static void settle(void) {
        usleep(GRANTS_CACHE_SETTLE_NS / 1000 + 200000);
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        snprintf(f->root, sizeof(f->root), "/tmp/nbmount-grantscache.XXXXXX");
        assert_non_null(mkdtemp(f->root));
        snprintf(f->config.grants_dir, sizeof(f->config.grants_dir), "%s/grants", f->root);
        snprintf(f->config.state_dir, sizeof(f->config.state_dir), "%s/state", f->root);
        assert_int_equal(mkdir(f->config.grants_dir, 0700), 0);
        assert_int_equal(mkdir(f->config.state_dir, 0700), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        char command[128];

        snprintf(command, sizeof(command), "rm -rf %s", f->root);
        assert_int_equal(system(command), 0);
        free(f);
        return 0;
}

#define ANY (-1) /* right after a change, whether it was saved depends on when the test ran: no assertion */

/* Opens the cache and checks where it came from. */
static void open_cache(const struct fixture *f, struct grants_cache *c, bool from_cache, int saved) {
        struct nb_error err = {};

        if (grants_cache_open(&f->config, c, &err) < 0)
                fail_msg("grants_cache_open: %s", err.msg);
        assert_int_equal(c->from_cache, from_cache);
        if (saved != ANY)
                assert_int_equal(c->saved, saved);
}

/* team's plan ("" for none) and card as the cache gives them. */
static void assert_plan(const struct grants_cache *c, const char *team, const char *plan, bool card) {
        struct team_grants g = {};
        bool found = grants_cache_find(c, team, &g);

        assert_int_equal(found, plan[0] != '\0');
        if (found) {
                assert_string_equal(g.team, team);
                assert_string_equal(g.plan, plan);
                assert_int_equal(g.card_on_file, card);
        }
}

static void cached_once_settled(void **state) {
        struct fixture *f = *state;
        struct grants_cache c;

        put_grants(f, "acme", "pro", true);
        put_grants(f, "beta", "free", false);
        open_cache(f, &c, false, ANY); /* just changed: read from the files (and not written, unless
                                          this test stalled for a second) */
        assert_plan(&c, "acme", "pro", true);
        grants_cache_done(&c);
        settle();
        open_cache(f, &c, false, true);
        grants_cache_done(&c);
        open_cache(f, &c, true, false);
        assert_int_equal(c.n_entries, 2);
        assert_plan(&c, "acme", "pro", true);
        assert_plan(&c, "beta", "free", false);
        assert_plan(&c, "gamma", "", false);
        grants_cache_done(&c);
}

/* Each change after the cache was written is seen by the next report, without waiting. */
static void changes_seen_at_once(void **state) {
        struct fixture *f = *state;
        struct grants_cache c;
        char path[NB_PATH_MAX + 80];

        put_grants(f, "acme", "pro", false);
        put_grants(f, "beta", "free", false);
        settle();
        open_cache(f, &c, false, true);
        grants_cache_done(&c);

        put_grants(f, "acme", "growth", true); /* the plan changed */
        open_cache(f, &c, false, ANY);
        assert_plan(&c, "acme", "growth", true);
        grants_cache_done(&c);

        settle();
        open_cache(f, &c, false, true);
        grants_cache_done(&c);
        snprintf(path, sizeof(path), "%s/beta.json", f->config.grants_dir);
        assert_int_equal(unlink(path), 0); /* the grants removed */
        open_cache(f, &c, false, ANY);
        assert_plan(&c, "beta", "", false);
        assert_plan(&c, "acme", "growth", true);
        grants_cache_done(&c);

        settle();
        open_cache(f, &c, false, true);
        grants_cache_done(&c);
        put_grants(f, "gamma", "free", true); /* a team the cache never saw */
        open_cache(f, &c, false, ANY);
        assert_plan(&c, "gamma", "free", true);
        assert_int_equal(c.n_entries, 2);
        grants_cache_done(&c);
}

/* A file that does not load is a team without a plan, cached or not; only TEAM.json names count. */
static void files_that_do_not_load(void **state) {
        struct fixture *f = *state;
        struct grants_cache c;

        put_grants(f, "acme", "pro", false);
        put_text(f->config.grants_dir, "wrong.json", "{\"team\": \"other\"}\n");
        put_text(f->config.grants_dir, "broken.json", "{");
        put_text(f->config.grants_dir, "public.json", "{\"datasets\": []}\n");
        put_text(f->config.grants_dir, "notes.txt", "not grants\n");
        put_text(f->config.grants_dir, ".hidden.json", "{}\n");
        settle();
        for (int pass = 0; pass < 2; pass++) {
                open_cache(f, &c, pass == 1, pass == 0);
                assert_int_equal(c.n_entries, 4); /* acme, broken, public, wrong */
                assert_plan(&c, "acme", "pro", false);
                assert_plan(&c, "wrong", "", false);
                assert_plan(&c, "broken", "", false);
                assert_plan(&c, "public", "", false);
                assert_plan(&c, "notes", "", false);
                grants_cache_done(&c);
        }
}

/* The cache is a copy: one of another folder's stamp is ignored, a malformed one made again. */
static void bad_caches_made_again(void **state) {
        struct fixture *f = *state;
        struct grants_cache c;
        char path[NB_PATH_MAX + 80], *text = NULL, *newline;
        size_t len = 0;
        FILE *in;

        put_grants(f, "acme", "pro", false);
        settle();
        open_cache(f, &c, false, true);
        grants_cache_done(&c);
        snprintf(path, sizeof(path), "%s/%s", f->config.state_dir, GRANTS_CACHE_NAME);
        assert_non_null(in = fopen(path, "r"));
        assert_true(getline(&text, &len, in) > 0); /* the header: the folder as it stands */
        fclose(in);

        put_text(f->config.state_dir, GRANTS_CACHE_NAME, "nbmount-grants-cache 1 0:0 1 2 3\nacme enterprise 1\n");
        open_cache(f, &c, false, true);
        assert_plan(&c, "acme", "pro", false);
        grants_cache_done(&c);

        assert_non_null(newline = strchr(text, '\n'));
        strcpy(newline + 1, "zeta free 0\nacme free 0\n"); /* out of order */
        put_text(f->config.state_dir, GRANTS_CACHE_NAME, text);
        open_cache(f, &c, false, true);
        assert_plan(&c, "acme", "pro", false);
        assert_plan(&c, "zeta", "", false);
        grants_cache_done(&c);

        strcpy(newline + 1, "acme free 2\n"); /* no such card */
        put_text(f->config.state_dir, GRANTS_CACHE_NAME, text);
        open_cache(f, &c, false, true);
        assert_plan(&c, "acme", "pro", false);
        grants_cache_done(&c);
        open_cache(f, &c, true, false);
        grants_cache_done(&c);
        free(text);
}

/* No grants folder: no teams. A state folder that cannot be written: nothing saved, plans read. */
static void missing_folders(void **state) {
        struct fixture *f = *state;
        struct grants_cache c;
        char path[sizeof(f->root) + 8];

        snprintf(path, sizeof(path), "%s/none", f->root);
        snprintf(f->config.state_dir, sizeof(f->config.state_dir), "%s", path);
        put_grants(f, "acme", "pro", false);
        settle();
        open_cache(f, &c, false, false);
        assert_plan(&c, "acme", "pro", false);
        grants_cache_done(&c);
        snprintf(f->config.grants_dir, sizeof(f->config.grants_dir), "%s", path);
        open_cache(f, &c, false, false);
        assert_int_equal(c.n_entries, 0);
        assert_plan(&c, "acme", "", false);
        grants_cache_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(cached_once_settled, setup, teardown),
                cmocka_unit_test_setup_teardown(changes_seen_at_once, setup, teardown),
                cmocka_unit_test_setup_teardown(files_that_do_not_load, setup, teardown),
                cmocka_unit_test_setup_teardown(bad_caches_made_again, setup, teardown),
                cmocka_unit_test_setup_teardown(missing_folders, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
