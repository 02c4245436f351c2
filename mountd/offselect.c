/* SPDX-License-Identifier: Apache-2.0 */
/* Which walked files belong in the copy: *.ipynb, *.md, what a git index inside the notebook tracks,
 * what .notebookinclude matches. libgit2 reads each index (git_index_open on the fd the walk opened
 * as the owner, through /proc/self/fd) and matches the patterns with its own gitignore machinery
 * (git_ignore_add_rule / git_ignore_path_is_ignored on an in-memory repository whose work tree is an
 * empty root-owned folder: only the notebook's rules apply, no file of the notebook is read by
 * path, and no global or system git config counts, see offline_init()). */
#include <errno.h>
#include <git2.h>
#include <git2/sys/repository.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "offcopy.h"
#include "textfile.h"
#include "util.h"

#define INCLUDE_FILE ".notebookinclude"
#define INCLUDE_MAX_BYTES ((size_t) 64 * 1024)

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n > m && strcasecmp(s + n - m, suffix) == 0;
}

static const char *git_why(void) {
        const git_error *e = git_error_last();

        return e && e->message ? e->message : "unknown error";
}

/* Every file repo's index tracks (and the walk found) is OFFLINE_GIT, unless it is an earlier kind. */
static int mark_tracked(struct walker *w, const char *repo, int *kinds, struct nb_error *err) {
        char index_path[PATH_MAX], proc_path[64], full[PATH_MAX];
        _cleanup_close_ int fd = -1;
        git_index *index = NULL;
        const struct walk_entry *e;

        snprintf(index_path, sizeof(index_path), "%s%s.git/index", repo, repo[0] ? "/" : "");
        if ((fd = walker_open(w, index_path, err)) < 0)
                return fd == -ENOENT ? 0 : fd; /* a repository without an index tracks nothing */
        snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
        if (git_index_open(&index, proc_path) < 0 || git_index_read(index, true) < 0) {
                nb_fail(err, EINVAL, "%s: not a git index libgit2 can read: %s", index_path, git_why());
                git_index_free(index);
                return -EINVAL;
        }
        for (size_t i = 0, n = git_index_entrycount(index); i < n; i++) {
                const git_index_entry *entry = git_index_get_byindex(index, i);

                snprintf(full, sizeof(full), "%s%s%s", repo, repo[0] ? "/" : "", entry->path);
                if ((e = walker_find(w, full)) && kinds[e - w->files] < 0)
                        kinds[e - w->files] = OFFLINE_GIT;
        }
        git_index_free(index);
        return 0;
}

static int read_include(struct walker *w, char **ret_text, struct nb_error *err) {
        _cleanup_close_ int fd = -1;
        size_t len = 0;

        *ret_text = NULL;
        if (!walker_find(w, INCLUDE_FILE))
                return 0;
        if ((fd = walker_open(w, INCLUDE_FILE, err)) < 0)
                return 0; /* gone meanwhile: nothing is included */
        return text_read_fd(fd, INCLUDE_FILE, INCLUDE_MAX_BYTES, ret_text, &len, err);
}

/* What .notebookinclude matches (gitignore syntax: a match is included, "!" excludes again). */
static int mark_included(struct walker *w, const char *empty_dir, int *kinds, struct nb_error *err) {
        _cleanup_free_ char *rules = NULL;
        git_repository *repo = NULL;
        int r, matched;

        if ((r = read_include(w, &rules, err)) < 0 || !rules)
                return r;
        if (git_repository_new(&repo) < 0 || git_repository_set_workdir(repo, empty_dir, 0) < 0 ||
            git_ignore_add_rule(repo, rules) < 0) {
                nb_fail(err, EINVAL, "%s: libgit2 cannot take its patterns: %s", INCLUDE_FILE, git_why());
                git_repository_free(repo);
                return -EINVAL;
        }
        for (size_t i = 0; i < w->n_files; i++)
                if (kinds[i] < 0 && git_ignore_path_is_ignored(&matched, repo, w->files[i].path) == 0 && matched)
                        kinds[i] = OFFLINE_INCLUDE;
        git_repository_free(repo);
        return 0;
}

int offline_classify(struct walker *w, const char *empty_dir, int *kinds, struct nb_error *err) {
        for (size_t i = 0; i < w->n_files; i++)
                kinds[i] = has_suffix(w->files[i].path, ".ipynb") ? OFFLINE_IPYNB
                           : has_suffix(w->files[i].path, ".md")  ? OFFLINE_MD
                                                                  : -1;
        for (size_t i = 0; i < w->n_repos; i++)
                if (mark_tracked(w, w->repos[i], kinds, err) < 0)
                        mountd_log(LOG_WARNING, "offline copy: %s, ignoring (its files are not taken as tracked)", err->msg);
        return mark_included(w, empty_dir, kinds, err);
}
