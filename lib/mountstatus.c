/* SPDX-License-Identifier: Apache-2.0 */
#include "mountstatus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ocistate.h"
#include "safeopen.h"
#include "textfile.h"
#include "util.h"
#include "writeall.h"

#define HEADER_PREFIX "# nbmount: the mounts of container "
#define TARGET_WIDTH 24

const char *entry_state_name(enum entry_state state) {
        static const char *const names[] = { "mounted", "skipped", "pending" };

        return names[state];
}

int mount_status_header(const char *container, char *buf, size_t size) {
        char when[32] = "?";
        time_t now = time(NULL);
        struct tm tm;

        if (gmtime_r(&now, &tm))
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return snprintf(buf, size,
                        HEADER_PREFIX "%s, started %s\n"
                        "# Written at every start; what was skipped can be fixed in .gradient/settings.yaml,\n"
                        "# then restart the notebook. TARGET  STATE  REASON\n",
                        container, when);
}


/* The file is read in a browser and in terminals: only printable ASCII goes in as it is. */
void mount_status_append(char *buf, size_t size, size_t *len, const char *target, enum entry_state state,
                         const char *reason) {
        size_t start = *len;

        if (size == 0 || *len >= size - 1)
                return;
        text_append_shown(buf, size, len, target, "");
        while (*len - start < TARGET_WIDTH && *len + 1 < size)
                buf[(*len)++] = ' ';
        text_append_shown(buf, size, len, " ", "");
        text_append_shown(buf, size, len, entry_state_name(state), "");
        if (reason && reason[0]) {
                text_append_shown(buf, size, len, "  ", "");
                text_append_shown(buf, size, len, reason, "");
        }
        if (*len + 1 < size)
                buf[(*len)++] = '\n';
        buf[*len] = '\0';
}

/* NOTEBOOK/.gradient, opened for writing into it: never a symlink, never outside the notebook.
 * -ENOENT when the notebook has none: it has no settings.yaml either, nothing to report beside. */
static int open_folder(const struct status_place *place, int *ret_notebook_fd, struct nb_error *err) {
        char relative[2 * NB_NAME_MAX + 4];
        _cleanup_close_ int notebook_fd = -1, fd = -1;

        snprintf(relative, sizeof(relative), "%s/%s", place->team, place->notebook);
        if ((notebook_fd = open_beneath(place->notebooks_root, relative, O_PATH | O_DIRECTORY, err)) < 0)
                return notebook_fd;
        fd = openat(notebook_fd, MOUNT_STATUS_FOLDER, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return nb_fail(err, ENOENT, "%s/%s/%s: none; the notebook has no settings either", place->notebooks_root,
                               relative, MOUNT_STATUS_FOLDER);
        if (fd < 0)
                return nb_fail(err, errno, "%s/%s/%s: %s", place->notebooks_root, relative, MOUNT_STATUS_FOLDER,
                               errno == ELOOP || errno == ENOTDIR ? "not a folder (a symlink?); no status file is written"
                                                                 : strerror(errno));
        *ret_notebook_fd = TAKE_FD(notebook_fd);
        return TAKE_FD(fd);
}

/* text into a new file under a temporary name in folder_fd, owned by the user, renamed over the
 * status file's name: whatever was planted at that name (a symlink, a hard link to another file, a
 * FIFO) is replaced, never opened or written through; a folder there stays, and the write fails. */
static int replace_file(int folder_fd, const struct status_place *place, const char *name, const char *text,
                        size_t len) {
        char temporary[NB_NAME_MAX + 24];
        _cleanup_close_ int fd = -1;
        uint64_t nonce = 0;
        int r;

        if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) != sizeof(nonce))
                nonce = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
        snprintf(temporary, sizeof(temporary), ".%s.%016llx", name, (unsigned long long) nonce);
        fd = openat(folder_fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        r = text_write_fd(fd, text, len);
        if (r == 0 && fchown(fd, place->uid, place->gid) < 0)
                r = -errno;
        if (r == 0 && renameat(folder_fd, temporary, folder_fd, name) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(folder_fd, temporary, 0);
        return r;
}

static void file_path(const struct status_place *place, const char *name, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s/%s/%s/%s", place->notebooks_root, place->team, place->notebook, MOUNT_STATUS_FOLDER,
                 name);
}

static void status_path(const struct status_place *place, char *buf, size_t size) {
        file_path(place, MOUNT_STATUS_NAME, buf, size);
}

int mount_status_write(const struct status_place *place, const char *text, size_t len, struct nb_error *err) {
        return status_file_write(place, MOUNT_STATUS_NAME, text, len, err);
}

int status_file_write(const struct status_place *place, const char *name, const char *text, size_t len,
                      struct nb_error *err) {
        _cleanup_close_ int notebook_fd = -1, folder_fd = -1;
        char path[3 * NB_PATH_MAX];
        int r;

        file_path(place, name, path, sizeof(path));
        if (len > MOUNT_STATUS_MAX_BYTES)
                return nb_fail(err, EFBIG, "%s: %zu bytes is over the %zu a status file may have", path, len,
                               MOUNT_STATUS_MAX_BYTES);
        if ((folder_fd = open_folder(place, &notebook_fd, err)) < 0)
                return folder_fd;
        if ((r = replace_file(folder_fd, place, name, text, len)) < 0)
                return nb_fail(err, r, "%s: cannot write: %s", path,
                               r == -EISDIR || r == -ENOTEMPTY || r == -EEXIST ? "a folder has its name; remove it"
                                                                                : strerror(-r));
        return 0;
}

/* The status file's text, if it is a regular file the size of a status file; never blocks. */
static int read_current(int folder_fd, const char *path, char **ret_text, size_t *ret_len, struct nb_error *err) {
        _cleanup_close_ int fd = openat(folder_fd, MOUNT_STATUS_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        struct stat st;

        if (fd < 0)
                return nb_fail(err, errno == ENOENT ? ESTALE : errno, "%s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return nb_fail(err, ESTALE, "%s: not a regular file any more", path);
        return text_read_fd(fd, path, MOUNT_STATUS_MAX_BYTES, ret_text, ret_len, err);
}

/* The line of target ("TARGET<spaces>STATE..."), or NULL. */
static char *find_entry(char *text, const char *target) {
        size_t n = strlen(target);

        for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, target, n) == 0 && line[n] == ' ')
                        return line;
        return NULL;
}

int mount_status_update(const struct status_place *place, const char *container, const char *target,
                        enum entry_state state, const char *reason, struct nb_error *err) {
        _cleanup_close_ int notebook_fd = -1, folder_fd = -1;
        _cleanup_free_ char *text = NULL, *out = NULL;
        char path[3 * NB_PATH_MAX], header[sizeof(HEADER_PREFIX) + OCI_ID_MAX + 2];
        size_t len = 0, out_len = 0;
        char *line, *rest;
        int r;

        status_path(place, path, sizeof(path));
        snprintf(header, sizeof(header), HEADER_PREFIX "%s,", container);
        if ((folder_fd = open_folder(place, &notebook_fd, err)) < 0)
                return folder_fd;
        if ((r = read_current(folder_fd, path, &text, &len, err)) < 0)
                return r;
        if (!text)
                return nb_fail(err, EIO, "%s: cannot read", path);
        if (strncmp(text, header, strlen(header)) != 0)
                return nb_fail(err, ESTALE, "%s: written by another start than container %s's; left as is", path,
                               container);
        if (!(line = find_entry(text, target)))
                return nb_fail(err, ENOENT, "%s: has no entry for %s", path, target);
        if (!(out = malloc(MOUNT_STATUS_MAX_BYTES + 1)))
                return nb_fail(err, ENOMEM, "out of memory");
        rest = strchr(line, '\n');
        out_len = (size_t) (line - text);
        memcpy(out, text, out_len);
        mount_status_append(out, MOUNT_STATUS_MAX_BYTES + 1, &out_len, target, state, reason);
        if (rest)
                snprintf(out + out_len, MOUNT_STATUS_MAX_BYTES + 1 - out_len, "%s", rest + 1);
        out_len = strlen(out);
        if ((r = replace_file(folder_fd, place, MOUNT_STATUS_NAME, out, out_len)) < 0)
                return nb_fail(err, r, "%s: cannot write: %s", path, strerror(-r));
        return 0;
}
