/* mountproto.c: nbmountd's requests, spec ids and the fd passing (docs/FORMATS.md §6). */
#include <fcntl.h>
#include <sys/socket.h>

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
                             "request:1:2: \"op\" \"unmount\" is not one of mount, release, list");
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parse_mount_request), cmocka_unit_test(round_trip),
                cmocka_unit_test(refused_requests),    cmocka_unit_test(spec_ids),
                cmocka_unit_test(fd_passing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
