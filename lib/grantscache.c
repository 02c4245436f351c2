/* SPDX-License-Identifier: Apache-2.0 */
#include "grantscache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "netfs.h"
#include "safeopen.h"
#include "textfile.h"
#include "util.h"

#define HEADER_MAX 160

/* "nbmount-grants-cache 1 DEV_MAJOR:DEV_MINOR INO MTIME_NS CTIME_NS\n" of the folder as it stands,
 * and whether its last change is GRANTS_CACHE_SETTLE_NS older than now_ns. */
static int folder_stamp(int fd, long long now_ns, char *header, bool *ret_settled) {
        struct statx st;
        long long mtime_ns, ctime_ns;

        if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &st) < 0)
                return -errno;
        mtime_ns = st.stx_mtime.tv_sec * 1000000000LL + st.stx_mtime.tv_nsec;
        ctime_ns = st.stx_ctime.tv_sec * 1000000000LL + st.stx_ctime.tv_nsec;
        snprintf(header, HEADER_MAX, "nbmount-grants-cache 1 %u:%u %llu %lld %lld\n", st.stx_dev_major,
                 st.stx_dev_minor, (unsigned long long) st.stx_ino, mtime_ns, ctime_ns);
        *ret_settled = ctime_ns <= now_ns - GRANTS_CACHE_SETTLE_NS;
        return 0;
}

static long long coarse_now_ns(void) {
        struct timespec now;

        clock_gettime(CLOCK_REALTIME_COARSE, &now); /* the clock the kernel stamps files with */
        return now.tv_sec * 1000000000LL + now.tv_nsec;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(a, b);
}

static int compare_entries(const void *a, const void *b) {
        return strcmp(((const struct grants_cache_entry *) a)->team, ((const struct grants_cache_entry *) b)->team);
}

/* One "TEAM PLAN CARD" line (PLAN "-": no grants that load; CARD 0 or 1), its separators made NULs. */
static bool parse_line(char *line, struct grants_cache_entry *ret) {
        char *plan = strchr(line, ' '), *card = plan ? strchr(plan + 1, ' ') : NULL;

        if (!card || !(streq(card + 1, "0") || streq(card + 1, "1")))
                return false;
        *plan++ = *card++ = '\0';
        *ret = (struct grants_cache_entry) { .team = line, .plan = streq(plan, "-") ? NULL : plan,
                                             .card_on_file = streq(card, "1") };
        return !name_problem(line) && (!ret->plan || !name_problem(plan));
}

/* The entries of body, lines sorted by team without repeats; -EINVAL when one is malformed. */
static int parse_body(char *body, struct grants_cache *c) {
        size_t lines = 0, n = 0;
        char *line, *end;

        for (const char *p = body; *p; p++)
                lines += *p == '\n';
        if (!(c->entries = calloc(lines ? lines : 1, sizeof(*c->entries))))
                return -ENOMEM;
        for (line = body; *line; line = end + 1) {
                if (!(end = strchr(line, '\n')))
                        return -EINVAL;
                *end = '\0';
                if (!parse_line(line, &c->entries[n]) || (n > 0 && strcmp(c->entries[n - 1].team, line) >= 0))
                        return -EINVAL;
                n++;
        }
        c->n_entries = n;
        return 0;
}

/* STATE/quota-grants.cache when its first line is header: its text; else -ESTALE (or -errno). */
static int read_cache(const char *state_dir, const char *header, char **ret_text) {
        _cleanup_close_ int state_fd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (state_fd < 0)
                return -errno;
        if ((fd = openat(state_fd, GRANTS_CACHE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
                return -errno;
        if ((r = text_read_fd(fd, GRANTS_CACHE_NAME, GRANTS_CACHE_MAX_BYTES, &text, &len, NULL)) < 0)
                return r;
        if (strlen(text) != len || strncmp(text, header, strlen(header)) != 0)
                return -ESTALE;
        *ret_text = TAKE_PTR(text);
        return 0;
}

/* The stems of the folder's NAME.json files whose NAME could be a team, sorted. */
static int list_teams(int grants_fd, nb_name **ret, size_t *ret_n) {
        DIR *dir = opendir_again(grants_fd);
        _cleanup_free_ nb_name *teams = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *entry;
        int r = 0;

        if (!dir)
                return -errno;
        while (r == 0 && (entry = readdir(dir))) {
                size_t len = strlen(entry->d_name);

                if (len <= 5 || len - 5 > NB_NAME_MAX || !streq(entry->d_name + len - 5, ".json"))
                        continue;
                if (n == allocated) {
                        nb_name *grown = reallocarray(teams, allocated = allocated ? 2 * allocated : 256, sizeof(*teams));

                        if (!grown) {
                                r = -ENOMEM;
                                break;
                        }
                        teams = grown;
                }
                snprintf(teams[n], sizeof(nb_name), "%.*s", (int) (len - 5), entry->d_name);
                n += !name_problem(teams[n]);
        }
        closedir(dir);
        if (r < 0)
                return r;
        if (n > 0)
                qsort(teams, n, sizeof(*teams), compare_names);
        *ret = TAKE_PTR(teams);
        *ret_n = n;
        return 0;
}

/* header, then a line for each team of the folder, from its grants file read now. */
static int make_text(int grants_fd, const char *header, char **ret_text) {
        _cleanup_free_ nb_name *teams = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *text = NULL;
        size_t n = 0, len = 0;
        int r;

        if (grants_fd >= 0 && (r = list_teams(grants_fd, &teams, &n)) < 0) {
                if (r == -ENOMEM)
                        return r;
                n = 0; /* a folder that cannot be listed has no teams, as one that cannot be opened */
        }
        if (!(f = open_memstream(&text, &len)))
                return -ENOMEM;
        fputs(header, f);
        for (size_t i = 0; i < n; i++) {
                struct team_grants grants = {};

                if (grants_load_at(grants_fd, teams[i], &grants, NULL) == 0)
                        fprintf(f, "%s %s %d\n", teams[i], grants.plan, grants.card_on_file);
                else
                        fprintf(f, "%s - 0\n", teams[i]);
                team_grants_done(&grants);
        }
        r = fflush(f) == 0 && !ferror(f) ? 0 : -ENOMEM;
        fclose(TAKE_PTR(f));
        if (r < 0)
                return free(text), r;
        *ret_text = text;
        return 0;
}

/* STATE/quota-grants.cache: a new file (0600: the grants folder is root's) renamed into place. */
static bool save(const char *state_dir, const char *text) {
        static const char tmp[] = GRANTS_CACHE_NAME ".new";
        _cleanup_close_ int state_fd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
        size_t len = strlen(text);

        if (state_fd < 0 ||
            (fd = openat(state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
                return false; /* a read-only state folder: the report goes on without */
        if (write(fd, text, len) == (ssize_t) len && renameat(state_fd, tmp, state_fd, GRANTS_CACHE_NAME) == 0)
                return true;
        (void) unlinkat(state_fd, tmp, 0);
        return false;
}

static bool on_network(int fd) {
        struct statfs sfs;

        return fstatfs(fd, &sfs) < 0 || netfs_type_name(sfs.f_type);
}

/* Made from the files: saved when the folder had settled before and stands the same after. */
static int make_fresh(const struct node_config *config, int grants_fd, const char *header, bool cacheable,
                      struct grants_cache *c) {
        char after[HEADER_MAX];
        bool settled;
        int r = make_text(grants_fd, header, &c->text);

        if (r < 0)
                return r;
        if (cacheable && folder_stamp(grants_fd, coarse_now_ns(), after, &settled) == 0 && streq(after, header)) {
                c->saved = save(config->state_dir, c->text);
        }
        return 0;
}

int grants_cache_open(const struct node_config *config, struct grants_cache *ret, struct nb_error *err) {
        _cleanup_close_ int grants_fd = open(config->grants_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct grants_cache c = {};
        char header[HEADER_MAX] = "";
        bool settled = false, cacheable;
        int r = 0;

        if (grants_fd >= 0 && folder_stamp(grants_fd, coarse_now_ns(), header, &settled) < 0)
                header[0] = '\0';
        cacheable = header[0] && settled && !on_network(grants_fd);
        c.from_cache = cacheable && read_cache(config->state_dir, header, &c.text) == 0;
        if (!c.from_cache)
                r = make_fresh(config, grants_fd, header, cacheable, &c);
        if (r == 0 && (r = parse_body(c.text + strlen(header), &c)) == -EINVAL && c.from_cache) {
                grants_cache_done(&c); /* a malformed cache: made again from the files, and replaced */
                r = make_fresh(config, grants_fd, header, cacheable, &c);
                r = r < 0 ? r : parse_body(c.text + strlen(header), &c);
        }
        if (r < 0) {
                grants_cache_done(&c);
                return nb_fail(err, -r, "%s: cannot list the teams' plans: %s", config->grants_dir, strerror(-r));
        }
        *ret = c;
        return 0;
}

bool grants_cache_find(const struct grants_cache *cache, const char *team, struct team_grants *ret) {
        const struct grants_cache_entry key = { .team = team }, *found = NULL;

        if (cache->n_entries > 0)
                found = bsearch(&key, cache->entries, cache->n_entries, sizeof(key), compare_entries);
        if (!found || !found->plan)
                return false;
        *ret = (struct team_grants) { .card_on_file = found->card_on_file };
        name_copy(ret->team, found->team);
        name_copy(ret->plan, found->plan);
        return true;
}

void grants_cache_done(struct grants_cache *cache) {
        free(cache->text);
        free(cache->entries);
        *cache = (struct grants_cache) {};
}
