/* SPDX-License-Identifier: Apache-2.0 */
/* mountproto.c: nbmountd's requests, spec ids and the fd passing (docs/FORMATS.md §6). */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "mountproto.h"
#include "testutil.h"

static const char mount_request[] =
        "{\"op\": \"mount\", \"container\": \"c1\", \"pid\": 4242, \"team\": \"acme\", \"bucket\": \"acme-data\","
        " \"prefix\": \"nb/x\", \"endpoint\": \"https://s3.example.com\", \"region\": \"\", \"access_key_id\": \"AK1\","
        " \"secret\": \"s3key\", \"read_only\": false, \"uid\": 1000, \"gid\": 1000}";

static void parse_mount_request(void **state) {
        struct mountd_request req;
        struct nb_error err = {};

        assert_int_equal(mountd_request_parse(mount_request, strlen(mount_request), &req, &err), 0);
        assert_int_equal(req.op, MOUNTD_MOUNT);
        assert_string_equal(req.container, "c1");
        assert_int_equal(req.pid, 4242);
        assert_string_equal(req.spec.bucket, "acme-data");
        assert_string_equal(req.spec.prefix, "nb/x");
        assert_string_equal(req.spec.secret, "s3key");
        assert_false(req.spec.read_only);
        assert_int_equal(req.spec.uid, 1000);
}

static void round_trip(void **state) {
        struct mountd_request req, again;
        struct nb_error err = {};
        struct json_object *o;
        const char *text;

        assert_int_equal(mountd_request_parse(mount_request, strlen(mount_request), &req, &err), 0);
        o = mountd_request_to_json(&req);
        text = json_object_to_json_string(o);
        assert_int_equal(mountd_request_parse(text, strlen(text), &again, &err), 0);
        assert_true(s3_spec_equal(&req.spec, &again.spec));
        assert_string_equal(again.container, "c1");
        json_object_put(o);
}

#define assert_request_error(text, expected)                                                                       \
        do {                                                                                                       \
                struct mountd_request r_;                                                                          \
                struct nb_error e_ = {};                                                                           \
                assert_true(mountd_request_parse((text), strlen(text), &r_, &e_) < 0);                             \
                assert_string_equal(e_.msg, (expected));                                                           \
        } while (0)

static void refused_requests(void **state) {
        assert_request_error("{\"op\": \"unmount\"}",
                             "request:1:2: \"op\" \"unmount\" is not one of mount, release, list, offline");
        assert_request_error("{\"op\": \"list\", \"x\": 1}",
                             "request:1:16: unknown key \"x\" in a list request (allowed: op)");
        assert_request_error("{\"op\": \"release\", \"container\": \"../x\"}",
                             "request:1:19: \"container\" \"../x\" may only contain letters, digits and _ + . -");
        /* bucket and endpoint follow the settings' rules: nothing that s3fs would split on */
        char *bad = strdup(mount_request);
        memcpy(strstr(bad, "acme-data"), "acme,data", 9);
        assert_request_error(bad, "request:1:65: \"bucket\" \"acme,data\" may only contain lowercase letters, digits, '.' and '-'");
        free(bad);
}

/* A mount request with start_wait_ms: a bucket may come late, attached at target in the container
 * at rootfs; the four come together, and each follows its rule. */
/* The poststop's offline request: container, team and notebook, nothing else; a round trip. */
static void offline_request(void **state) {
        const char *text = "{\"op\": \"offline\", \"container\": \"c1\", \"team\": \"acme\", \"notebook\": \"nb1\"}";
        struct mountd_request req, again;
        struct nb_error err = {};

        assert_int_equal(mountd_request_parse(text, strlen(text), &req, &err), 0);
        assert_int_equal(req.op, MOUNTD_OFFLINE);
        assert_string_equal(req.container, "c1");
        assert_string_equal(req.spec.team, "acme");
        assert_string_equal(req.notebook, "nb1");
        struct json_object *o = mountd_request_to_json(&req);
        const char *round = json_object_to_json_string(o);
        assert_int_equal(mountd_request_parse(round, strlen(round), &again, &err), 0);
        assert_string_equal(again.notebook, "nb1");
        json_object_put(o);
        assert_request_error("{\"op\": \"offline\", \"container\": \"c1\", \"team\": \"acme\"}",
                             "request:1:1: an offline request is missing \"notebook\"; add it");
        assert_request_error("{\"op\": \"offline\", \"container\": \"c1\", \"team\": \"../x\", \"notebook\": \"n\"}",
                             "request:1:38: \"team\" \"../x\" starts with a dot");
}

static void pending_fields(void **state) {
        char *text = format("%.*s, \"start_wait_ms\": 2000, \"target\": \"/datasets/data\", \"rootfs\": \"/run/b/rootfs\","
                            " \"notebook\": \"nb1\"}", (int) strlen(mount_request) - 1, mount_request);
        struct mountd_request req, again;
        struct nb_error err = {};
        struct json_object *o;
        const char *round;

        assert_int_equal(mountd_request_parse(text, strlen(text), &req, &err), 0);
        assert_int_equal(req.start_wait_ms, 2000);
        assert_string_equal(req.target, "/datasets/data");
        assert_string_equal(req.rootfs, "/run/b/rootfs");
        assert_string_equal(req.notebook, "nb1");
        o = mountd_request_to_json(&req);
        round = json_object_to_json_string(o);
        assert_int_equal(mountd_request_parse(round, strlen(round), &again, &err), 0);
        assert_int_equal(again.start_wait_ms, 2000);
        assert_string_equal(again.target, "/datasets/data");
        assert_string_equal(again.rootfs, "/run/b/rootfs");
        assert_string_equal(again.notebook, "nb1");
        json_object_put(o);
        free(text);
        /* without them: the old request, the whole mount_timeout */
        assert_int_equal(mountd_request_parse(mount_request, strlen(mount_request), &req, &err), 0);
        assert_int_equal(req.start_wait_ms, 0);

        text = format("%.*s, \"start_wait_ms\": 2000, \"target\": \"/datasets/data\"}", (int) strlen(mount_request) - 1,
                      mount_request);
        assert_request_error(text, "request:1:1: \"start_wait_ms\" (above 0), \"target\", \"rootfs\" and \"notebook\" come together or not at all");
        free(text);
        /* where the bucket goes, alone: kept for a successor after a death */
        text = format("%.*s, \"target\": \"/datasets/data\", \"notebook\": \"nb1\"}", (int) strlen(mount_request) - 1,
                      mount_request);
        assert_int_equal(mountd_request_parse(text, strlen(text), &req, &err), 0);
        assert_string_equal(req.target, "/datasets/data");
        assert_int_equal(req.start_wait_ms, 0);
        free(text);
        text = format("%.*s, \"rootfs\": \"/r\"}", (int) strlen(mount_request) - 1, mount_request);
        assert_request_error(text, "request:1:1: \"start_wait_ms\" (above 0), \"target\", \"rootfs\" and \"notebook\" come together or not at all");
        free(text);
        text = format("%.*s, \"start_wait_ms\": 2000, \"target\": \"/etc/passwd\", \"rootfs\": \"/r\", \"notebook\": \"nb1\"}",
                      (int) strlen(mount_request) - 1, mount_request);
        assert_non_null(strstr(text, "/etc/passwd"));
        {
                struct mountd_request r_;
                struct nb_error e_ = {};

                assert_true(mountd_request_parse(text, strlen(text), &r_, &e_) < 0);
                assert_non_null(strstr(e_.msg, "\"target\" \"/etc/passwd\" must be /datasets/NAME"));
        }
        free(text);
        text = format("%.*s, \"start_wait_ms\": 2000, \"target\": \"/datasets/../x\", \"rootfs\": \"/r\", \"notebook\": \"nb1\"}",
                      (int) strlen(mount_request) - 1, mount_request);
        {
                struct mountd_request r_;
                struct nb_error e_ = {};

                assert_true(mountd_request_parse(text, strlen(text), &r_, &e_) < 0);
        }
        free(text);
}

static void spec_ids(void **state) {
        struct s3_spec a = { .team = "acme", .bucket = "b1", .read_only = true, .uid = 1000, .gid = 1000 };
        struct s3_spec b = a;
        char id_a[MOUNTD_ID_LEN + 1], id_b[MOUNTD_ID_LEN + 1];

        s3_spec_id(&a, id_a);
        s3_spec_id(&b, id_b);
        assert_string_equal(id_a, id_b);
        assert_int_equal(strlen(id_a), MOUNTD_ID_LEN);
        b.read_only = false;
        s3_spec_id(&b, id_b);
        assert_string_not_equal(id_a, id_b);
        /* fields do not run together: ("ab", "") differs from ("a", "b") */
        struct s3_spec c = { .team = "ab" }, d = { .team = "a", .bucket = "b" };
        s3_spec_id(&c, id_a);
        s3_spec_id(&d, id_b);
        assert_string_not_equal(id_a, id_b);
        assert_false(s3_spec_equal(&c, &d));
}

static void fd_passing(void **state) {
        int pair[2], fd = -1, received = -1;
        char buf[256];
        size_t len = 0;
        struct json_object *o = json_object_new_object();

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        json_object_object_add(o, "ok", json_object_new_boolean(true));
        assert_int_equal(mountd_send(pair[0], o, fd), 0);
        assert_int_equal(mountd_receive(pair[1], buf, sizeof(buf), &len, &received), 0);
        assert_string_equal(buf, "{\"ok\":true}");
        assert_true(received >= 0 && received != fd);
        close(received);
        assert_int_equal(mountd_send(pair[0], o, -1), 0);
        assert_int_equal(mountd_receive(pair[1], buf, sizeof(buf), &len, &received), 0);
        assert_int_equal(received, -1);
        close(pair[0]);
        assert_int_equal(mountd_receive(pair[1], buf, sizeof(buf), &len, &received), -ECONNRESET);
        close(pair[1]);
        close(fd);
        json_object_put(o);
}

/* Sends "{}" with n_fds descriptors of /dev/null in one SCM_RIGHTS message, as a hostile peer would. */
static void send_fds(int sock, size_t n_fds) {
        int fds[16];
        union {
                char buf[CMSG_SPACE(sizeof(fds))];
                struct cmsghdr align;
        } control = {};
        struct iovec iov = { .iov_base = "{}", .iov_len = 2 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

        assert_true(n_fds <= ARRAY_SIZE(fds));
        for (size_t i = 0; i < n_fds; i++)
                assert_true((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
        if (n_fds > 0) {
                struct cmsghdr *cmsg;

                msg.msg_control = control.buf;
                msg.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
                cmsg = CMSG_FIRSTHDR(&msg);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
                memcpy(CMSG_DATA(cmsg), fds, n_fds * sizeof(int));
        }
        assert_int_equal(sendmsg(sock, &msg, 0), 2);
        for (size_t i = 0; i < n_fds; i++)
                close(fds[i]);
}

/* The lowest free fd number: equal before and after a receive means nothing leaked into this process. */
static int next_fd(void) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        close(fd);
        return fd;
}

/* Every fd of a message is the receiver's to close: one is taken where one is expected, any other is
 * closed and the message refused (-EBADMSG); none leaks. (Before issue 11, 2 fds leaked both.) */
static void fd_counts(void **state) {
        static const struct {
                size_t sent;
                bool expecting; /* ret_fd given */
                int result;
        } cases[] = {
                { 0, true, 0 },         { 1, true, 0 },         { 2, true, -EBADMSG }, { 3, true, -EBADMSG },
                { 4, true, -EBADMSG },  { 12, true, -EBADMSG }, /* more than MOUNTD_FDS_SEEN: MSG_CTRUNC */
                { 0, false, 0 },        { 1, false, -EBADMSG }, { 2, false, -EBADMSG },
                { 3, false, -EBADMSG },
        };
        int pair[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                int before = next_fd(), received = -2;
                char buf[64];
                size_t len = 0;
                int r;

                send_fds(pair[0], cases[i].sent);
                r = mountd_receive(pair[1], buf, sizeof(buf), &len, cases[i].expecting ? &received : NULL);
                if (r != cases[i].result)
                        fail_msg("%zu fds, %s: returned %d, not %d", cases[i].sent,
                                 cases[i].expecting ? "one expected" : "none expected", r, cases[i].result);
                if (r == 0 && cases[i].expecting && cases[i].sent == 1) {
                        assert_true(received >= 0);
                        assert_true(fcntl(received, F_GETFD) & FD_CLOEXEC);
                        close(received);
                } else if (r == 0 && cases[i].expecting) {
                        assert_int_equal(received, -1);
                } else {
                        assert_int_equal(received, -2); /* untouched on failure */
                }
                if (next_fd() != before)
                        fail_msg("%zu fds, %s: a descriptor leaked (next free fd %d, was %d)", cases[i].sent,
                                 cases[i].expecting ? "one expected" : "none expected", next_fd(), before);
        }
        close(pair[0]);
        close(pair[1]);
}

/* A fake nbmountd that answers one request with {"ok":true} and n_fds descriptors. */
struct fake_mountd {
        int listen_fd;
        size_t n_fds;
};

static void *fake_mountd(void *arg) {
        struct fake_mountd *f = arg;
        char buf[256];
        int conn = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (conn < 0)
                return NULL;
        (void) !read(conn, buf, sizeof(buf));
        send_fds(conn, f->n_fds);
        close(conn);
        return NULL;
}

/* The hook's side: an answer with more than one fd is refused, and none of them stays open. */
static void reply_with_two_fds(void **state) {
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        struct mountd_request req = { .op = MOUNTD_LIST };
        struct fake_mountd f = { .n_fds = 2 };
        struct json_object *reply = NULL;
        struct nb_error err = {};
        char dir[] = "/tmp/nbmount-test-mountproto.XXXXXX", expected[256];
        int fd = -2, before;
        pthread_t thread;

        assert_non_null(mkdtemp(dir));
        snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/s.sock", dir);
        assert_true((f.listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) >= 0);
        assert_int_equal(bind(f.listen_fd, (struct sockaddr *) &addr, sizeof(addr)), 0);
        assert_int_equal(listen(f.listen_fd, 1), 0);
        before = next_fd(); /* before the thread exists: nothing of its own can be open then */
        assert_int_equal(pthread_create(&thread, NULL, fake_mountd, &f), 0);
        assert_int_equal(mountd_call(addr.sun_path, &req, 5, &reply, &fd, &err), -EPROTO);
        pthread_join(thread, NULL);
        snprintf(expected, sizeof(expected),
                 "nbmountd at %s answered with more than one file descriptor (all closed); is it the same version as nbmount?",
                 addr.sun_path);
        assert_string_equal(err.msg, expected);
        assert_null(reply);
        assert_int_equal(fd, -2);
        assert_int_equal(next_fd(), before);
        close(f.listen_fd);
        unlink(addr.sun_path);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parse_mount_request), cmocka_unit_test(round_trip),
                cmocka_unit_test(refused_requests),    cmocka_unit_test(pending_fields),
                cmocka_unit_test(spec_ids),            cmocka_unit_test(offline_request),
                cmocka_unit_test(fd_passing),    cmocka_unit_test(fd_counts),
                cmocka_unit_test(reply_with_two_fds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
