/* SPDX-License-Identifier: Apache-2.0 */
#include "mountproto.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "util.h"

const char *const s3_spec_keys[] = { "team",  "bucket", "prefix",    "endpoint", "region", "access_key_id",
                                     "secret", "read_only", "uid", "gid",      NULL };

static const char *const op_names[] = { [MOUNTD_MOUNT] = "mount", [MOUNTD_RELEASE] = "release", [MOUNTD_LIST] = "list",
                                          [MOUNTD_OFFLINE] = "offline" };

/* FNV-1a over every field, each ended by a NUL: no two different specs run together. */
static uint64_t fnv1a(uint64_t hash, const void *data, size_t len) {
        const unsigned char *p = data;

        for (size_t i = 0; i < len; i++)
                hash = (hash ^ p[i]) * 0x100000001b3ULL;
        return hash;
}

static uint64_t hash_string(uint64_t hash, const char *s) {
        return fnv1a(hash, s, strlen(s) + 1);
}

void s3_spec_id(const struct s3_spec *spec, char *buf) {
        uint64_t h = 0xcbf29ce484222325ULL;
        const char *strings[] = { spec->team,   spec->bucket,        spec->prefix, spec->endpoint,
                                  spec->region, spec->access_key_id, spec->secret };

        for (size_t i = 0; i < ARRAY_SIZE(strings); i++)
                h = hash_string(h, strings[i]);
        h = fnv1a(h, &spec->read_only, sizeof(spec->read_only));
        h = fnv1a(h, &spec->uid, sizeof(spec->uid));
        h = fnv1a(h, &spec->gid, sizeof(spec->gid));
        snprintf(buf, MOUNTD_ID_LEN + 1, "%016llx", (unsigned long long) h);
}

bool s3_spec_equal(const struct s3_spec *a, const struct s3_spec *b) {
        return streq(a->team, b->team) && streq(a->bucket, b->bucket) && streq(a->prefix, b->prefix) &&
               streq(a->endpoint, b->endpoint) && streq(a->region, b->region) &&
               streq(a->access_key_id, b->access_key_id) && streq(a->secret, b->secret) &&
               a->read_only == b->read_only && a->uid == b->uid && a->gid == b->gid;
}

void s3_spec_url(const struct s3_spec *spec, char *buf, size_t size) {
        snprintf(buf, size, "s3://%s%s%s", spec->bucket, spec->prefix[0] ? "/" : "", spec->prefix);
}

struct json_object *s3_spec_to_json(const struct s3_spec *spec) {
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "team", json_object_new_string(spec->team));
        json_object_object_add(o, "bucket", json_object_new_string(spec->bucket));
        json_object_object_add(o, "prefix", json_object_new_string(spec->prefix));
        json_object_object_add(o, "endpoint", json_object_new_string(spec->endpoint));
        json_object_object_add(o, "region", json_object_new_string(spec->region));
        json_object_object_add(o, "access_key_id", json_object_new_string(spec->access_key_id));
        json_object_object_add(o, "secret", json_object_new_string(spec->secret));
        json_object_object_add(o, "read_only", json_object_new_boolean(spec->read_only));
        json_object_object_add(o, "uid", json_object_new_uint64(spec->uid));
        json_object_object_add(o, "gid", json_object_new_uint64(spec->gid));
        return o;
}

static const char *optional_region_problem(const char *s) {
        return s[0] ? s3_region_problem(s) : NULL;
}

static const char *optional_key_id_problem(const char *s) {
        return s[0] ? s3_key_id_problem(s) : NULL;
}

static const char *optional_name_problem(const char *s) {
        return s[0] ? name_problem(s) : NULL;
}

static const char *optional_prefix_problem(const char *s) {
        return s[0] ? s3_prefix_problem(s) : NULL;
}

static int get_id(const struct jctx *c, struct json_object *obj, const char *pointer, const char *key, uint32_t *ret) {
        uint64_t value = 0;
        int r = jget_uint(c, obj, pointer, key, UINT32_MAX - 1, &value);

        *ret = (uint32_t) value;
        return r;
}

int s3_spec_from_json(const struct jctx *c, struct json_object *obj, const char *pointer, struct s3_spec *ret) {
        int r;

        *ret = (struct s3_spec) {};
        if ((r = jget_string(c, obj, pointer, "team", ret->team, sizeof(ret->team), name_problem)) < 0 ||
            (r = jget_string(c, obj, pointer, "bucket", ret->bucket, sizeof(ret->bucket), s3_bucket_problem)) < 0 ||
            (r = jget_string(c, obj, pointer, "prefix", ret->prefix, sizeof(ret->prefix), optional_prefix_problem)) < 0 ||
            (r = jget_string(c, obj, pointer, "endpoint", ret->endpoint, sizeof(ret->endpoint), s3_endpoint_problem)) < 0 ||
            (r = jget_string(c, obj, pointer, "region", ret->region, sizeof(ret->region), optional_region_problem)) < 0 ||
            (r = jget_string(c, obj, pointer, "access_key_id", ret->access_key_id, sizeof(ret->access_key_id),
                             optional_key_id_problem)) < 0 ||
            (r = jget_string(c, obj, pointer, "secret", ret->secret, sizeof(ret->secret), optional_name_problem)) < 0 ||
            (r = jget_bool(c, obj, pointer, "read_only", &ret->read_only)) < 0 ||
            (r = get_id(c, obj, pointer, "uid", &ret->uid)) < 0 || (r = get_id(c, obj, pointer, "gid", &ret->gid)) < 0)
                return r;
        if (!ret->access_key_id[0] != !ret->secret[0])
                return jfail(c, pointer, "\"access_key_id\" and \"secret\" come together or not at all");
        return 0;
}

struct json_object *mountd_request_to_json(const struct mountd_request *req) {
        struct json_object *o = req->op == MOUNTD_MOUNT ? s3_spec_to_json(&req->spec) : json_object_new_object();

        json_object_object_add(o, "op", json_object_new_string(op_names[req->op]));
        if (req->op == MOUNTD_MOUNT || req->op == MOUNTD_RELEASE || req->op == MOUNTD_OFFLINE)
                json_object_object_add(o, "container", json_object_new_string(req->container));
        if (req->op == MOUNTD_OFFLINE) {
                json_object_object_add(o, "team", json_object_new_string(req->spec.team));
                json_object_object_add(o, "notebook", json_object_new_string(req->notebook));
        }
        if (req->op != MOUNTD_MOUNT)
                return o;
        json_object_object_add(o, "pid", json_object_new_int64(req->pid));
        if (req->target[0])
                json_object_object_add(o, "target", json_object_new_string(req->target));
        if (req->notebook[0])
                json_object_object_add(o, "notebook", json_object_new_string(req->notebook));
        if (req->start_wait_ms == 0)
                return o;
        json_object_object_add(o, "start_wait_ms", json_object_new_uint64(req->start_wait_ms));
        json_object_object_add(o, "rootfs", json_object_new_string(req->rootfs));
        return o;
}

static const char *op_problem(const char *op) {
        for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
                if (streq(op, op_names[i]))
                        return NULL;
        return "is not one of mount, release, list, offline";
}

static enum mountd_op op_from_name(const char *op) {
        for (size_t i = 0; i < ARRAY_SIZE(op_names); i++)
                if (streq(op, op_names[i]))
                        return (enum mountd_op) i;
        return MOUNTD_LIST;
}

/* "/datasets/NAME": where a pending bucket goes in the container. */
static const char *target_problem(const char *s) {
        if (strncmp(s, "/datasets/", strlen("/datasets/")) != 0)
                return "must be /datasets/NAME";
        return name_problem(s + strlen("/datasets/"));
}

/* Where the bucket goes (target, notebook: for a successor after a death, optional), and start_wait_ms
 * with what a late attach needs: target, rootfs and notebook (all of them, or no start_wait_ms: the
 * whole mount_timeout). */
static int parse_start_wait(const struct jctx *c, struct json_object *root, struct mountd_request *ret) {
        uint64_t wait_ms = 0;
        int r, present = 0, place = 0;

        if ((r = jget_uint(c, root, "", "start_wait_ms", MOUNTD_START_WAIT_MAX_MS, &wait_ms)) < 0)
                return r;
        present += r > 0;
        if ((r = jget_string(c, root, "", "target", ret->target, sizeof(ret->target), target_problem)) < 0)
                return r;
        place += r > 0;
        if ((r = jget_string(c, root, "", "rootfs", ret->rootfs, sizeof(ret->rootfs), path_problem)) < 0)
                return r;
        present += r > 0;
        if ((r = jget_string(c, root, "", "notebook", ret->notebook, sizeof(ret->notebook), name_problem)) < 0)
                return r;
        place += r > 0;
        if (present != 0 && (present != 2 || place != 2 || wait_ms == 0))
                return jfail(c, "", "\"start_wait_ms\" (above 0), \"target\", \"rootfs\" and \"notebook\" come together or not at all");
        ret->start_wait_ms = (uint32_t) wait_ms;
        return 0;
}

static int parse_mount(const struct jctx *c, struct json_object *root, struct mountd_request *ret) {
        static const char *const allowed[] = { "op",     "container",     "pid",    "team",      "bucket", "prefix",
                                               "endpoint", "region",      "access_key_id", "secret", "read_only",
                                               "uid",    "gid",           "start_wait_ms", "target", "rootfs",
                                               "notebook", NULL };
        static const char *const required[] = { "op",     "container",     "pid",    "team",      "bucket", "prefix",
                                                "endpoint", "region",      "access_key_id", "secret", "read_only",
                                                "uid",    "gid",           NULL };
        uint64_t pid = 0;
        int r;

        if ((r = jcheck_keys(c, root, "", "a mount request", allowed, required)) < 0 ||
            (r = jget_string(c, root, "", "container", ret->container, sizeof(ret->container),
                             oci_container_id_problem)) < 0 ||
            (r = jget_uint(c, root, "", "pid", INT32_MAX, &pid)) < 0 ||
            (r = s3_spec_from_json(c, root, "", &ret->spec)) < 0 || (r = parse_start_wait(c, root, ret)) < 0)
                return r;
        if (pid < 2)
                return jfail(c, "/pid", "\"pid\" must be a container's init process");
        ret->pid = (pid_t) pid;
        return 0;
}

static int parse_offline(const struct jctx *c, struct json_object *root, struct mountd_request *ret) {
        static const char *const keys[] = { "op", "container", "team", "notebook", NULL };
        int r;

        if ((r = jcheck_keys(c, root, "", "an offline request", keys, keys)) < 0 ||
            (r = jget_string(c, root, "", "container", ret->container, sizeof(ret->container),
                             oci_container_id_problem)) < 0 ||
            (r = jget_string(c, root, "", "team", ret->spec.team, sizeof(ret->spec.team), name_problem)) < 0 ||
            (r = jget_string(c, root, "", "notebook", ret->notebook, sizeof(ret->notebook), name_problem)) < 0)
                return r;
        return 0;
}

int mountd_request_parse(const char *text, size_t len, struct mountd_request *ret, struct nb_error *err) {
        static const char *const release_keys[] = { "op", "container", NULL };
        static const char *const list_keys[] = { "op", NULL };
        _cleanup_(json_object_putp) struct json_object *root = NULL;
        const struct jctx c = { .file = "request", .text = text, .err = err };
        char op[16] = "";
        int r;

        *ret = (struct mountd_request) {};
        if ((r = json_parse_strict(text, len, "request", &root, err)) < 0 ||
            (r = jexpect_object(&c, root, "", "a request")) < 0 ||
            (r = jget_string(&c, root, "", "op", op, sizeof(op), op_problem)) < 0)
                return r;
        if (r == 0)
                return jfail(&c, "", "a request needs \"op\"");
        ret->op = op_from_name(op);
        switch (ret->op) {
        case MOUNTD_MOUNT:
                return parse_mount(&c, root, ret);
        case MOUNTD_RELEASE:
                if ((r = jcheck_keys(&c, root, "", "a release request", release_keys, release_keys)) < 0)
                        return r;
                r = jget_string(&c, root, "", "container", ret->container, sizeof(ret->container),
                                oci_container_id_problem);
                return r < 0 ? r : 0;
        case MOUNTD_OFFLINE:
                return parse_offline(&c, root, ret);
        default:
                return jcheck_keys(&c, root, "", "a list request", list_keys, list_keys);
        }
}

int send_with_fd(int sock, const void *data, size_t len, int fd) {
        struct iovec iov = { .iov_base = (void *) data, .iov_len = len };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control = {};
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                struct cmsghdr *cmsg;

                msg.msg_control = control.buf;
                msg.msg_controllen = sizeof(control.buf);
                cmsg = CMSG_FIRSTHDR(&msg);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        }
        return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int mountd_send(int sock, struct json_object *message, int fd) {
        size_t len;
        const char *text = json_object_to_json_string_length(message, JSON_C_TO_STRING_PLAIN, &len);

        return send_with_fd(sock, text, len, fd);
}

/* Every fd of every SCM_RIGHTS message in msg: the first is kept in *ret_first, every other one is closed.
 * Returns how many there were. (The kernel installs what fits in the control buffer and closes the rest,
 * which it flags with MSG_CTRUNC.) */
static size_t take_fds(struct msghdr *msg, int *ret_first) {
        size_t n = 0;

        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
                size_t count;

                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len < CMSG_LEN(0))
                        continue;
                count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < count; i++, n++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                        if (n == 0)
                                *ret_first = fd;
                        else
                                close(fd);
                }
        }
        return n;
}

int mountd_receive(int sock, char *buf, size_t size, size_t *ret_len, int *ret_fd) {
        struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
        union {
                char buf[CMSG_SPACE(sizeof(int) * MOUNTD_FDS_SEEN)];
                struct cmsghdr align;
        } control = {};
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                              .msg_controllen = sizeof(control.buf) };
        _cleanup_close_ int fd = -1;
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        size_t n_fds;

        if (n < 0)
                return -errno;
        n_fds = take_fds(&msg, &fd);
        if (n == 0)
                return -ECONNRESET;
        if ((msg.msg_flags & MSG_CTRUNC) || n_fds > (ret_fd ? 1 : 0))
                return -EBADMSG;
        if (msg.msg_flags & MSG_TRUNC)
                return -EMSGSIZE;
        buf[n] = '\0';
        *ret_len = (size_t) n;
        if (ret_fd)
                *ret_fd = TAKE_FD(fd);
        return 0;
}

static int connect_socket(const char *path, unsigned timeout_s, struct nb_error *err) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = timeout_s };
        _cleanup_close_ int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (sock < 0)
                return nb_fail(err, errno, "cannot make a socket: %s", strerror(errno));
        if (strlen(path) >= sizeof(addr.sun_path))
                return nb_fail(err, ENAMETOOLONG, "%s: the socket path is too long", path);
        memcpy(addr.sun_path, path, strlen(path) + 1);
        if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return nb_fail(err, errno, "cannot set a socket timeout: %s", strerror(errno));
        if (connect(sock, (struct sockaddr *) &addr, sizeof(addr)) < 0) {
                int e = errno;

                if (e == ENOENT || e == ECONNREFUSED)
                        return nb_fail(err, e, "nbmountd is not running (nothing listens on %s); start it: systemctl start nbmountd",
                                       path);
                return nb_fail(err, e, "cannot reach nbmountd at %s: %s", path, strerror(e));
        }
        return TAKE_FD(sock);
}

static int check_reply(struct json_object *reply, struct nb_error *err) {
        struct json_object *ok, *error;

        if (!json_object_is_type(reply, json_type_object) || !json_object_object_get_ex(reply, "ok", &ok) ||
            !json_object_is_type(ok, json_type_boolean))
                return nb_fail(err, EPROTO, "nbmountd sent a reply without \"ok\"; is it the same version as nbmount?");
        if (json_object_get_boolean(ok))
                return 0;
        if (json_object_object_get_ex(reply, "error", &error) && json_object_is_type(error, json_type_string))
                return nb_fail(err, EPERM, "%s", json_object_get_string(error));
        return nb_fail(err, EPROTO, "nbmountd refused without saying why");
}

/* The reply's text into a fresh object; its fd (or -1) into *ret_fd. */
static int receive_reply(int sock, const char *socket_path, unsigned timeout_s, struct json_object **ret_reply,
                         int *ret_fd, struct nb_error *err) {
        char *buf = malloc(MOUNTD_LIST_MAX);
        size_t len = 0;
        int r;

        if (!buf)
                return nb_fail(err, ENOMEM, "out of memory");
        r = mountd_receive(sock, buf, MOUNTD_LIST_MAX, &len, ret_fd);
        *ret_reply = r < 0 ? NULL : json_tokener_parse(buf);
        free(buf);
        if (r == -EAGAIN)
                return nb_fail(err, ETIMEDOUT, "nbmountd at %s did not answer within %u s; see journalctl -u nbmountd",
                               socket_path, timeout_s);
        if (r == -ECONNRESET)
                return nb_fail(err, r, "nbmountd at %s closed the connection without an answer (did it stop?); see journalctl -u nbmountd",
                               socket_path);
        if (r == -EBADMSG)
                return nb_fail(err, EPROTO, "nbmountd at %s answered with more than one file descriptor (all closed); is it the same version as nbmount?",
                               socket_path);
        if (r < 0)
                return nb_fail(err, r, "cannot read nbmountd's answer from %s: %s", socket_path, strerror(-r));
        if (!*ret_reply)
                return nb_fail(err, EPROTO, "nbmountd at %s sent a reply that is not JSON", socket_path);
        return 0;
}

int mountd_call(const char *socket_path, const struct mountd_request *request, unsigned timeout_s,
                struct json_object **ret_reply, int *ret_fd, struct nb_error *err) {
        _cleanup_close_ int sock = mountd_ask(socket_path, request, timeout_s, err);

        if (sock < 0)
                return sock;
        return mountd_answer(sock, socket_path, timeout_s, ret_reply, ret_fd, err);
}

int mountd_ask(const char *socket_path, const struct mountd_request *request, unsigned timeout_s,
               struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *message = mountd_request_to_json(request);
        _cleanup_close_ int sock = connect_socket(socket_path, timeout_s, err);
        int r;

        if (sock < 0)
                return sock;
        if ((r = mountd_send(sock, message, -1)) < 0)
                return nb_fail(err, r, "cannot send to nbmountd at %s: %s", socket_path, strerror(-r));
        return TAKE_FD(sock);
}

int mountd_answer(int sock, const char *socket_path, unsigned timeout_s, struct json_object **ret_reply, int *ret_fd,
                  struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if ((r = receive_reply(sock, socket_path, timeout_s, &reply, &fd, err)) < 0 ||
            (r = check_reply(reply, err)) < 0)
                return r;
        *ret_reply = TAKE_PTR(reply);
        *ret_fd = TAKE_FD(fd);
        return 0;
}
