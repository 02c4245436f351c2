/* SPDX-License-Identifier: Apache-2.0 */
/* The walk of a notebook as its owner. The child is forked before nbmountd reads the bucket's key,
 * so it never holds it; it becomes the folder owner's uid and gid (no supplementary groups, no
 * capability left, not dumpable), lists the regular files below the notebook one folder fd at a
 * time (O_NOFOLLOW: never through a symlink; st_dev: never into another file system), then opens
 * the files nbmountd asks for beneath the notebook (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_XDEV, O_NONBLOCK, fstat: a regular file or nothing) and hands their fds over.
 *
 * Messages (SOCK_SEQPACKET): child → parent "F SIZE MTIME_NS PATH", "R PATH" (a folder with a .git
 * folder), "E" (the end) or "X WHY"; parent → child "O PATH", answered by an fd ("ok") or "WHY". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "offcopy.h"
#include "safeopen.h"
#include "util.h"

#define WALK_DEPTH_MAX 64
#define WALK_FILES_MAX 1000000
#define WALK_MESSAGE_MAX (PATH_MAX + 64)

struct walk {
        int sock;
        dev_t dev;
        size_t files;
};

static void say(int sock, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int sock, const char *fmt, ...) {
        char buf[WALK_MESSAGE_MAX];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n > 0 && (size_t) n < sizeof(buf))
                send(sock, buf, (size_t) n, MSG_NOSIGNAL);
}

static bool skipped_name(const char *name, size_t depth) {
        return streq(name, ".") || streq(name, "..") || streq(name, ".git") || (depth == 0 && streq(name, ".gradient"));
}

/* One folder: its regular files, then its subfolders (same file system only), depth first.
 * NOLINTNEXTLINE(misc-no-recursion): stops at WALK_DEPTH_MAX (64) */
static int walk_folder(struct walk *w, int dir_fd, char *path, size_t len, size_t depth) {
        DIR *dir = opendir_again(dir_fd);
        struct dirent *e;
        struct stat st;

        if (!dir)
                return -errno;
        if (fstatat(dir_fd, ".git", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
                say(w->sock, "R %.*s", (int) len, path);
        while ((e = readdir(dir))) {
                size_t n = strlen(e->d_name), sub = len ? len + 1 + n : n;

                if (skipped_name(e->d_name, depth) || sub >= PATH_MAX ||
                    fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != w->dev)
                        continue;
                snprintf(path + len, PATH_MAX - len, "%s%s", len ? "/" : "", e->d_name);
                if (S_ISREG(st.st_mode) && w->files++ < WALK_FILES_MAX)
                        say(w->sock, "F %" PRIu64 " %" PRId64 " %s", (uint64_t) st.st_size,
                            (int64_t) st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, path);
                else if (S_ISDIR(st.st_mode) && depth + 1 < WALK_DEPTH_MAX) {
                        _cleanup_close_ int fd = openat(dir_fd, e->d_name,
                                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

                        if (fd >= 0)
                                walk_folder(w, fd, path, sub, depth + 1);
                }
                path[len] = '\0';
        }
        closedir(dir);
        return 0;
}

static void serve_opens(int sock, int root_fd) {
        char buf[WALK_MESSAGE_MAX];
        ssize_t n;

        while ((n = recv(sock, buf, sizeof(buf) - 1, 0)) > 2 && buf[0] == 'O') {
                _cleanup_close_ int fd = -1;
                struct stat st;

                buf[n] = '\0';
                fd = openat_beneath(root_fd, buf + 2, O_RDONLY | O_NONBLOCK | O_NOCTTY, RESOLVE_NO_XDEV);
                if (fd < 0)
                        say(sock, "%s", fd == -ELOOP || fd == -EXDEV ? "a symlink or another file system on the way"
                                                                     : strerror(-fd));
                else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                        say(sock, "not a regular file");
                else
                        send_with_fd(sock, "ok", 2, fd);
        }
}

static int become_owner(uid_t uid, gid_t gid) {
        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
                return -errno;
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || geteuid() == 0)
                return -EPERM;
        return 0;
}

static __attribute__((noreturn)) void child_main(int sock, int notebook_fd, uid_t uid, gid_t gid) {
        char path[PATH_MAX] = "";
        struct walk w = { .sock = sock };
        _cleanup_close_ int root_fd = -1;
        struct stat st;
        int r;

        if ((r = become_owner(uid, gid)) < 0) {
                say(sock, "X cannot become uid %u: %s", (unsigned) uid, strerror(-r));
                _exit(1);
        }
        /* after the change of uid, which clears it; nbmountd gone meanwhile closes the socket anyway */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        root_fd = openat(notebook_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 || fstat(root_fd, &st) < 0) {
                say(sock, "X the notebook folder, as uid %u: %s", (unsigned) uid, strerror(errno));
                _exit(1);
        }
        w.dev = st.st_dev;
        walk_folder(&w, root_fd, path, 0, 0);
        say(sock, "E");
        serve_opens(sock, root_fd);
        _exit(0);
}

static int add_line(struct walker *w, char *line, struct nb_error *err) {
        char *end;

        if (line[0] == 'R') {
                char **repos = realloc(w->repos, (w->n_repos + 1) * sizeof(*repos));

                if (!repos || !(repos[w->n_repos] = strdup(line[1] ? line + 2 : "")))
                        return nb_fail(err, ENOMEM, "out of memory");
                w->repos = repos;
                w->n_repos++;
                return 0;
        }
        if (line[0] == 'F' && line[1] == ' ') {
                struct walk_entry e = { .size = strtoull(line + 2, &end, 10) };

                e.mtime_ns = strtoll(end, &end, 10);
                if (*end != ' ' || !end[1])
                        return nb_fail(err, EBADMSG, "the notebook's walk sent a malformed line");
                struct walk_entry *files = realloc(w->files, (w->n_files + 1) * sizeof(*files));

                if (!files || !(e.path = strdup(end + 1)))
                        return nb_fail(err, ENOMEM, "out of memory");
                w->files = files;
                w->files[w->n_files++] = e;
                return 0;
        }
        return nb_fail(err, EIO, "the notebook's walk failed: %s", line[0] == 'X' ? line + 2 : "an unexpected answer");
}

static int compare_entries(const void *a, const void *b) {
        return strcmp(((const struct walk_entry *) a)->path, ((const struct walk_entry *) b)->path);
}

static int read_listing(struct walker *w, struct nb_error *err) {
        char buf[WALK_MESSAGE_MAX];
        ssize_t n;
        int r;

        while ((n = recv(w->sock, buf, sizeof(buf) - 1, 0)) > 0) {
                buf[n] = '\0';
                if (streq(buf, "E")) {
                        if (w->n_files)
                                qsort(w->files, w->n_files, sizeof(*w->files), compare_entries);
                        return 0;
                }
                if ((r = add_line(w, buf, err)) < 0)
                        return r;
        }
        return nb_fail(err, EIO, "the notebook's walk ended without its listing%s", n < 0 ? " (it took too long)" : "");
}

int walker_start(int notebook_fd, uid_t uid, gid_t gid, struct walker *ret, struct nb_error *err) {
        struct timeval tv = { .tv_sec = 600 };
        int pair[2], r;

        *ret = (struct walker) { .pid = -1, .sock = -1 };
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return nb_fail(err, errno, "cannot make a socket pair: %s", strerror(errno));
        if ((ret->pid = fork()) < 0) {
                r = -errno;
                close(pair[0]);
                close(pair[1]);
                return nb_fail(err, r, "cannot fork the notebook's walk: %s", strerror(-r));
        }
        if (ret->pid == 0) {
                close(pair[0]);
                child_main(pair[1], notebook_fd, uid, gid);
        }
        close(pair[1]);
        ret->sock = pair[0];
        setsockopt(ret->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if ((r = read_listing(ret, err)) < 0)
                walker_stop(ret);
        return r;
}

int walker_open(struct walker *w, const char *path, struct nb_error *err) {
        char buf[WALK_MESSAGE_MAX];
        size_t n = 0;
        int fd = -1, r;

        snprintf(buf, sizeof(buf), "O %s", path);
        if (send(w->sock, buf, strlen(buf), MSG_NOSIGNAL) < 0)
                return nb_fail(err, errno, "%s: the notebook's walk is gone: %s", path, strerror(errno));
        if ((r = mountd_receive(w->sock, buf, sizeof(buf), &n, &fd)) < 0)
                return nb_fail(err, r, "%s: no answer from the notebook's walk", path);
        if (fd < 0) /* the child's refusal: gone, a symlink, not a regular file */
                return nb_fail(err, ENOENT, "%s: %s", path, buf);
        return fd;
}

void walker_stop(struct walker *w) {
        closep(&w->sock);
        if (w->pid > 0) {
                kill(w->pid, SIGKILL);
                while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        w->pid = -1;
        for (size_t i = 0; i < w->n_files; i++)
                free(w->files[i].path);
        for (size_t i = 0; i < w->n_repos; i++)
                free(w->repos[i]);
        free(w->files);
        free(w->repos);
        w->files = NULL;
        w->repos = NULL;
        w->n_files = w->n_repos = 0;
}

const struct walk_entry *walker_find(const struct walker *w, const char *path) {
        struct walk_entry key = { .path = (char *) path };

        return w->n_files ? bsearch(&key, w->files, w->n_files, sizeof(*w->files), compare_entries) : NULL;
}
