/* SPDX-License-Identifier: Apache-2.0 */
#include "bundlehooks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "jsonfile.h"
#include "textfile.h"
#include "util.h"

#define CONFIG_NAME "config.json"
#define SCAN_CHUNK ((size_t) 64 * 1024)

static const char marker[] = ANNOTATION_PREFIX;

/* Whether the bytes of fd (from its current offset) contain the marker: 1, 0, or -errno. */
static int fd_mentions_marker(int fd) {
        const size_t keep = sizeof(marker) - 2; /* a marker cut between two chunks is seen whole */
        _cleanup_free_ char *buf = malloc(SCAN_CHUNK + keep);
        size_t have = 0;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + have, SCAN_CHUNK);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                have += (size_t) n;
                if (memmem(buf, have, marker, sizeof(marker) - 1))
                        return 1;
                if (have > keep) {
                        memmove(buf, buf + have - keep, keep);
                        have = keep;
                }
        }
}

/* config.json that nbmount will not edit: 0 when its bytes, read through whatever path leads to it
 * (runc reads it so), name no io.nbmount. annotation; else the refusal `why`. */
static int refuse_if_notebook(const char *path, const char *file, const char *why, struct nb_error *err) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        int r;

        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", file, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return nb_fail(err, EINVAL, "%s: is not a regular file", file);
        r = fd_mentions_marker(fd);
        if (r < 0)
                return nb_fail(err, r, "%s: cannot read: %s", file, strerror(-r));
        return r == 0 ? 0 : nb_fail(err, EPERM, "%s: %s", file, why);
}

static int open_bundle(const char *bundle, struct bundle_config *c, struct nb_error *err) {
        const char *dir = bundle ? bundle : ".";
        char followed[sizeof(c->file)];
        struct stat st;

        snprintf(c->file, sizeof(c->file), "%s/" CONFIG_NAME, dir);
        c->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (c->dir_fd >= 0)
                return 1;
        if (errno != ELOOP && errno != ENOTDIR)
                return nb_fail(err, errno, "%s: cannot open the bundle: %s", dir, strerror(errno));
        if (lstat(dir, &st) < 0 || !S_ISLNK(st.st_mode))
                return nb_fail(err, ENOTDIR, "%s: the bundle is not a folder", dir);
        snprintf(followed, sizeof(followed), "%s/" CONFIG_NAME, dir);
        return refuse_if_notebook(followed, c->file,
                                  "the bundle is a symbolic link, which nbmount-runtime does not follow to edit "
                                  "config.json; give the runtime the bundle's real path",
                                  err);
}

/* config.json into c->text: 1 when read, 0 when it is not a notebook's after all, or -errno. */
static int read_config(struct bundle_config *c, struct nb_error *err) {
        _cleanup_close_ int fd = openat(c->dir_fd, CONFIG_NAME, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        char followed[64];
        int r;

        if (fd < 0 && errno == ELOOP) {
                snprintf(followed, sizeof(followed), "/proc/self/fd/%d/" CONFIG_NAME, c->dir_fd);
                return refuse_if_notebook(followed, c->file,
                                          "is a symbolic link, which nbmount-runtime does not follow; make it a file",
                                          err);
        }
        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot open: %s", c->file, strerror(errno));
        if (fstat(fd, &c->st) < 0)
                return nb_fail(err, errno, "%s: cannot stat: %s", c->file, strerror(errno));
        if (!S_ISREG(c->st.st_mode))
                return nb_fail(err, EINVAL, "%s: is not a regular file", c->file);
        if ((size_t) c->st.st_size > OCI_CONFIG_MAX_BYTES) {
                r = fd_mentions_marker(fd);
                if (r < 0)
                        return nb_fail(err, r, "%s: cannot read: %s", c->file, strerror(-r));
                return r == 0 ? 0
                              : nb_fail(err, EFBIG, "%s: is %lld bytes, more than the %zu nbmount reads; shorten it",
                                        c->file, (long long) c->st.st_size, OCI_CONFIG_MAX_BYTES);
        }
        if ((r = text_read_fd(fd, c->file, OCI_CONFIG_MAX_BYTES, &c->text, &c->len, err)) < 0)
                return r;
        return 1;
}

static bool has_our_annotation(struct json_object *root) {
        struct json_object *annotations;

        if (!json_object_object_get_ex(root, "annotations", &annotations) ||
            !json_object_is_type(annotations, json_type_object))
                return false;
        json_object_object_foreach(annotations, key, value) {
                (void) value;
                if (strncmp(key, marker, sizeof(marker) - 1) == 0)
                        return true;
        }
        return false;
}

int bundle_config_read(const char *bundle, struct bundle_config *ret, struct nb_error *err) {
        int r;

        *ret = (struct bundle_config) { .dir_fd = -1 };
        if ((r = open_bundle(bundle, ret, err)) <= 0 || (r = read_config(ret, err)) <= 0)
                return r;
        if (!memmem(ret->text, ret->len, marker, sizeof(marker) - 1))
                return 0; /* the common case: no JSON parsed at all */
        if ((r = text_check_utf8(ret->text, ret->len, ret->file, err)) < 0 ||
            (r = json_parse_strict(ret->text, ret->len, ret->file, &ret->root, err)) < 0)
                return r;
        if (!has_our_annotation(ret->root))
                return 0;
        if ((r = oci_identity_read(ret->root, ret->text, ret->file, &ret->identity, err)) < 0)
                return r;
        return 1;
}

static bool is_our_hook(struct json_object *hook, const char *program) {
        struct json_object *path, *args, *word;

        return json_object_is_type(hook, json_type_object) && json_object_object_get_ex(hook, "path", &path) &&
               json_object_is_type(path, json_type_string) && streq(json_object_get_string(path), program) &&
               json_object_object_get_ex(hook, "args", &args) && json_object_is_type(args, json_type_array) &&
               (word = json_object_array_get_idx(args, 1)) && json_object_is_type(word, json_type_string) &&
               streq(json_object_get_string(word), "hook");
}

static struct json_object *new_hook(const char *stage, const struct bundle_hooks *hooks) {
        struct json_object *hook = json_object_new_object(), *args = json_object_new_array(),
                           *env = json_object_new_array();
        const char *const words[] = { "nbmount", "hook", stage, "--config", hooks->node_config };

        for (size_t i = 0; i < ARRAY_SIZE(words); i++)
                json_object_array_add(args, json_object_new_string(words[i]));
        json_object_array_add(env, json_object_new_string("PATH=/usr/sbin:/usr/bin:/sbin:/bin"));
        json_object_object_add(hook, "path", json_object_new_string(hooks->program));
        json_object_object_add(hook, "args", args);
        json_object_object_add(hook, "env", env);
        json_object_object_add(hook, "timeout", json_object_new_int(BUNDLE_HOOK_TIMEOUT_S));
        return hook;
}

/* hooks.STAGE gets nbmount's entry unless it has one: 1 when added, 0 when there, or -errno. */
static int add_stage(const struct jctx *c, struct json_object *stages, const char *stage, const struct bundle_hooks *hooks) {
        struct json_object *list;
        char pointer[64];

        snprintf(pointer, sizeof(pointer), "/hooks/%s", stage);
        if (!json_object_object_get_ex(stages, stage, &list)) {
                list = json_object_new_array();
                json_object_object_add(stages, stage, list);
        }
        if (!json_object_is_type(list, json_type_array))
                return jfail(c, pointer, "\"hooks.%s\" must be an array, not %s", stage, json_type_phrase(list));
        for (size_t i = 0; i < json_object_array_length(list); i++)
                if (is_our_hook(json_object_array_get_idx(list, i), hooks->program))
                        return 0;
        json_object_array_add(list, new_hook(stage, hooks));
        return 1;
}

/* text into a new file in the bundle, with config.json's owner and mode, renamed over config.json;
 * on failure the new file is removed and config.json is as it was. Not synced: the real runtime
 * reads it at once through the page cache, and after a power loss the bundle is the container
 * manager's to make again (a container does not outlive the machine); an fsync of file and folder
 * cost 1.1 ms of the 1.9 ms this takes (bench/runtime.sh). */
static int replace_config(const struct bundle_config *c, const char *text, size_t len, struct nb_error *err) {
        char temporary[sizeof("." CONFIG_NAME ".nbmount-") + 16];
        _cleanup_close_ int fd = -1;
        uint64_t nonce = 0;
        int r = 0;

        if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) != sizeof(nonce))
                nonce = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
        snprintf(temporary, sizeof(temporary), "." CONFIG_NAME ".nbmount-%016llx", (unsigned long long) nonce);
        fd = openat(c->dir_fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot write a new copy in the bundle: %s", c->file, strerror(errno));
        if ((fchown(fd, c->st.st_uid, c->st.st_gid) < 0 && geteuid() == 0) ||
            fchmod(fd, c->st.st_mode & 07777) < 0)
                r = -errno;
        if (r == 0)
                r = text_write_fd(fd, text, len);
        if (r == 0 && renameat(c->dir_fd, temporary, c->dir_fd, CONFIG_NAME) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(c->dir_fd, temporary, 0);
                return nb_fail(err, r, "%s: cannot write it back: %s", c->file, strerror(-r));
        }
        return 0;
}

int bundle_config_add_hooks(struct bundle_config *c, const struct bundle_hooks *hooks, struct nb_error *err) {
        const struct jctx ctx = { .file = c->file, .text = c->text, .err = err };
        struct json_object *all;
        const char *text;
        int added = 0, r;

        if (!json_object_object_get_ex(c->root, "hooks", &all)) {
                all = json_object_new_object();
                json_object_object_add(c->root, "hooks", all);
        }
        if (!json_object_is_type(all, json_type_object))
                return jfail(&ctx, "/hooks", "\"hooks\" must be an object, not %s", json_type_phrase(all));
        if ((r = add_stage(&ctx, all, "createRuntime", hooks)) < 0)
                return r;
        added += r;
        if ((r = add_stage(&ctx, all, "poststop", hooks)) < 0)
                return r;
        added += r;
        if (!added)
                return 0;
        text = json_object_to_json_string_ext(c->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return nb_fail(err, ENOMEM, "%s: out of memory", c->file);
        if ((r = replace_config(c, text, strlen(text), err)) < 0)
                return r;
        return 1;
}

void bundle_config_done(struct bundle_config *c) {
        closep(&c->dir_fd);
        free(c->text);
        c->text = NULL;
        json_object_putp(&c->root);
        c->root = NULL;
}
