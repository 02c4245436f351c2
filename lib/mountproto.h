/* SPDX-License-Identifier: Apache-2.0 */
/* nbmountd's protocol (docs/FORMATS.md §6): one JSON object per SOCK_SEQPACKET message on a root-only
 * unix socket. A mount reply carries the mount itself as a detached mount fd (SCM_RIGHTS), so the
 * hook never walks a path into a FUSE file system. Shared by the hook, `nbmount mounts` and nbmountd. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "jsonfile.h"
#include "ocistate.h"
#include "s3names.h"
#include "values.h"

#define MOUNTD_MESSAGE_MAX ((size_t) 64 * 1024)
#define MOUNTD_LIST_MAX ((size_t) 4 * 1024 * 1024)
#define MOUNTD_ID_LEN 16 /* hex digits of a shared mount's id */
#define MOUNTD_FDS_SEEN 8 /* fds one receive takes in (and closes) at most: the kernel closes the rest */

/* What makes two containers' S3 mounts the same shared mount. */
struct s3_spec {
        nb_name team;
        char bucket[S3_BUCKET_MAX + 1];
        char prefix[S3_PREFIX_MAX + 1];
        char endpoint[S3_ENDPOINT_MAX + 1];
        char region[S3_REGION_MAX + 1];
        char access_key_id[S3_KEY_ID_MAX + 1]; /* "" with secret "": a public bucket */
        nb_name secret;
        bool read_only;
        uint32_t uid, gid; /* the container user's, as files in the bucket are shown */
};

/* MOUNTD_OFFLINE: the container stopped; nbmountd brings the offline copy of spec.team's notebook up
 * to date in the platform's bucket later (answered at once, {"queued": true}). */
enum mountd_op { MOUNTD_MOUNT, MOUNTD_RELEASE, MOUNTD_LIST, MOUNTD_OFFLINE };

#define MOUNTD_TARGET_MAX (sizeof("/datasets/") + NB_NAME_MAX)
#define MOUNTD_START_WAIT_MAX_MS 600000U

struct mountd_request {
        enum mountd_op op;
        char container[OCI_ID_MAX + 1]; /* MOUNT, RELEASE */
        pid_t pid;                      /* MOUNT: the container's init, in the host's pid namespace */
        struct s3_spec spec;            /* MOUNT */
        /* MOUNT with start_wait_ms > 0: a bucket not ready by then is answered {"pending": true} and
         * attached later by nbmountd at target ("/datasets/NAME") in the container whose root the hook
         * sees at rootfs; notebook names its status file. 0: wait the whole s3.mount_timeout. */
        uint32_t start_wait_ms;
        char target[MOUNTD_TARGET_MAX];
        char rootfs[NB_PATH_MAX + 1];
        nb_name notebook;
};

/* The hook's word on the connection of a pending answer once its start went through. */
#define MOUNTD_COMMIT "{\"op\": \"commit\"}"

/* A stable id for spec: equal specs, equal ids. buf holds MOUNTD_ID_LEN + 1 bytes. */
void s3_spec_id(const struct s3_spec *spec, char *buf);
bool s3_spec_equal(const struct s3_spec *a, const struct s3_spec *b);
/* "s3://bucket/prefix" for messages. */
void s3_spec_url(const struct s3_spec *spec, char *buf, size_t size);

struct json_object *s3_spec_to_json(const struct s3_spec *spec);
/* Reads spec members of obj (at JSON pointer `pointer`) with the settings' own rules. */
int s3_spec_from_json(const struct jctx *c, struct json_object *obj, const char *pointer, struct s3_spec *ret);
/* The keys s3_spec_to_json() writes, NULL-terminated. */
extern const char *const s3_spec_keys[];

struct json_object *mountd_request_to_json(const struct mountd_request *req);
int mountd_request_parse(const char *text, size_t len, struct mountd_request *ret, struct nb_error *err);

/* One message of len bytes, with fd attached (SCM_RIGHTS) when fd >= 0. Returns 0 or -errno. */
int send_with_fd(int sock, const void *data, size_t len, int fd);
/* The same for a JSON object. */
int mountd_send(int sock, struct json_object *message, int fd);
/* One message into buf (NUL-terminated; *ret_len without the NUL) and the one fd it may carry into
 * *ret_fd (-1 without one); ret_fd NULL: the message may carry none. Every other fd it carries is
 * closed and the message refused with -EBADMSG: more than one fd, an fd where none is expected, or
 * control data the kernel had to cut (MSG_CTRUNC). -EMSGSIZE when the message does not fit in buf,
 * -ECONNRESET when the peer closed. */
int mountd_receive(int sock, char *buf, size_t size, size_t *ret_len, int *ret_fd);

/* Client side: connects to nbmountd with a reply deadline of timeout_s seconds, sends request and
 * returns the reply's object ({"ok": true, ...}) and the fd it carried (or -1). A refusal
 * ({"ok": false, "error": ...}) fails with its text. */
int mountd_call(const char *socket_path, const struct mountd_request *request, unsigned timeout_s,
                struct json_object **ret_reply, int *ret_fd, struct nb_error *err);
/* mountd_call in two halves, so that many requests wait for their answers at once (and a pending
 * mount's connection stays open for the commit): the connection with request sent (or -errno), and
 * then the answer on it. */
int mountd_ask(const char *socket_path, const struct mountd_request *request, unsigned timeout_s,
               struct nb_error *err);
int mountd_answer(int sock, const char *socket_path, unsigned timeout_s, struct json_object **ret_reply, int *ret_fd,
                  struct nb_error *err);
