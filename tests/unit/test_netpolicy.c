/* SPDX-License-Identifier: Apache-2.0 */
/* netpolicy.c: where an s3fs may connect or send, as its supervisor judges each destination. */
#include "testutil.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "netaddr.h"
#include "netpolicy.h"

static struct sockaddr_storage ip(const char *address, unsigned port) {
        struct sockaddr_storage ss = {};
        struct sockaddr_in *in = (void *) &ss;
        struct sockaddr_in6 *in6 = (void *) &ss;

        if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
        } else {
                assert_int_equal(inet_pton(AF_INET6, address, &in6->sin6_addr), 1);
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
        }
        return ss;
}

static socklen_t len_of(const struct sockaddr_storage *ss) {
        return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* NULL (allowed) or why not */
static const char *judge(const struct netpolicy *p, const char *address, unsigned port) {
        static char why[NETPOLICY_WHY_MAX];
        struct sockaddr_storage dest = ip(address, port);

        return netpolicy_judge(p, (struct sockaddr *) &dest, len_of(&dest), why, sizeof(why));
}

#define NOT_ENDPOINT ", neither this mount's endpoint nor a DNS resolver of the node"

/* A node that allows private endpoints vetted 127.0.0.1:9000 for this mount; its resolver is 10.0.0.2. */
static void destinations(void **state) {
        struct netpolicy p = { .n_vetted = 2, .n_resolvers = 1 };

        p.vetted[0] = ip("127.0.0.1", 9000);
        p.vetted[1] = ip("fd00::5", 9000);
        p.resolvers[0] = ip("10.0.0.2", 53);
        assert_null(judge(&p, "52.216.0.1", 443));                  /* public: any port */
        assert_null(judge(&p, "2600:1f18::1", 80));
        assert_null(judge(&p, "127.0.0.1", 9000));                  /* the endpoint */
        assert_null(judge(&p, "::ffff:127.0.0.1", 9000));           /* the same, through an IPv6 socket */
        assert_null(judge(&p, "fd00::5", 9000));
        assert_null(judge(&p, "10.0.0.2", 53));                     /* the resolver, DNS only */
        assert_string_equal(judge(&p, "127.0.0.1", 9001), "a loopback address" NOT_ENDPOINT); /* a redirect */
        assert_string_equal(judge(&p, "127.0.0.2", 9000), "a loopback address" NOT_ENDPOINT);
        assert_string_equal(judge(&p, "10.0.0.2", 80), "a private address" NOT_ENDPOINT);
        assert_string_equal(judge(&p, "169.254.169.254", 80), "a link-local address" NOT_ENDPOINT);
        assert_string_equal(judge(&p, "::ffff:169.254.169.254", 80),
                            "an IPv4-mapped address embedding 169.254.169.254, a link-local address" NOT_ENDPOINT);
        assert_string_equal(judge(&p, "64:ff9b::a9fe:a9fe", 80),
                            "a NAT64 address embedding 169.254.169.254, a link-local address" NOT_ENDPOINT);
        assert_string_equal(judge(&p, "2002:a9fe:a9fe::1", 80),
                            "a 6to4 address embedding 169.254.169.254, a link-local address" NOT_ENDPOINT);
        assert_string_equal(judge(&p, "fd00::6", 9000), "a private address" NOT_ENDPOINT);
}

static void nothing_vetted(void **state) {
        const struct netpolicy p = {};

        assert_null(judge(&p, "8.8.8.8", 53));
        assert_string_equal(judge(&p, "127.0.0.53", 53), "a loopback address" NOT_ENDPOINT);
        assert_string_equal(judge(&p, "100.100.100.200", 80), "a shared (CGNAT) address" NOT_ENDPOINT);
}

static void other_families(void **state) {
        const struct netpolicy p = {};
        struct sockaddr_un un = { .sun_family = AF_UNIX, .sun_path = "/run/nscd/socket" };
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK }, process = { .nl_family = AF_NETLINK, .nl_pid = 1234 };
        struct sockaddr unspec = { .sa_family = AF_UNSPEC };
        struct sockaddr packet = { .sa_family = AF_PACKET };
        char why[NETPOLICY_WHY_MAX];

        assert_string_equal(netpolicy_judge(&p, (struct sockaddr *) &un, sizeof(un), why, sizeof(why)), "a unix socket");
        assert_null(netpolicy_judge(&p, (struct sockaddr *) &kernel, sizeof(kernel), why, sizeof(why)));
        assert_string_equal(netpolicy_judge(&p, (struct sockaddr *) &process, sizeof(process), why, sizeof(why)),
                            "a netlink socket of another process");
        assert_null(netpolicy_judge(&p, &unspec, sizeof(unspec), why, sizeof(why))); /* a disconnect */
        assert_string_equal(netpolicy_judge(&p, &packet, sizeof(packet), why, sizeof(why)),
                            "an address of family 17");
        assert_string_equal(netpolicy_judge(&p, &packet, 1, why, sizeof(why)), "an address of 1 bytes");
        /* an IPv4 family with a short address is not one */
        assert_string_equal(netpolicy_judge(&p, (struct sockaddr *) &kernel, 4, why, sizeof(why)),
                            "a netlink socket of another process");
}

static void resolvers(void **state) {
        struct sockaddr_storage list[NETPOLICY_RESOLVERS_MAX];
        size_t n = netpolicy_parse_resolvers("# comment\nsearch example.com\nnameserver 10.255.255.53\n"
                                             "nameserver   fe80::1%eth0\nnameserver not-an-address\n"
                                             "options timeout:1\nnameserver 127.0.0.53", list, NETPOLICY_RESOLVERS_MAX);
        struct sockaddr_storage expected[3] = { ip("10.255.255.53", 53), ip("fe80::1", 53), ip("127.0.0.53", 53) };

        assert_int_equal(n, 3);
        for (size_t i = 0; i < n; i++)
                assert_true(netaddr_same(&list[i], &expected[i]));
        /* none: glibc's default, the local host */
        assert_int_equal(netpolicy_parse_resolvers("search example.com\n", list, NETPOLICY_RESOLVERS_MAX), 1);
        expected[0] = ip("127.0.0.1", 53);
        assert_true(netaddr_same(&list[0], &expected[0]));
        assert_int_equal(netpolicy_parse_resolvers("nameserver 1.1.1.1\nnameserver 8.8.8.8\n", list, 1), 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(destinations),
                cmocka_unit_test(nothing_vetted),
                cmocka_unit_test(other_families),
                cmocka_unit_test(resolvers),
        };

        setvbuf(stdout, NULL, _IONBF, 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
