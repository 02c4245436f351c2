/* SPDX-License-Identifier: Apache-2.0 */
/* netaddr.c: which addresses are globally reachable (the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries), the forms that embed an IPv4 address, numeric host strings and sockaddrs. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "netaddr.h"

struct kind_case {
        const char *host;
        const char *kind; /* NULL: globally reachable */
};

#define LOOPBACK "a loopback address"
#define PRIVATE "a private address"
#define LINK_LOCAL "a link-local address"
#define CGNAT "a shared (CGNAT) address"
#define UNSPECIFIED "an unspecified address"
#define DOC "a documentation address"
#define BENCH "a benchmarking address"
#define IETF4 "an IETF protocol assignment (192.0.0.0/24)"
#define IETF6 "an IETF protocol assignment (2001::/23)"
#define RESERVED "a reserved address"
#define MULTICAST "a multicast address"
#define AMBIGUOUS "an ambiguous numeric address"

static void check_hosts(const struct kind_case *cases, size_t n) {
        char wrong[4096] = "";

        for (size_t i = 0; i < n; i++) {
                char buf[NETADDR_KIND_MAX];
                const char *got = netaddr_host_kind(cases[i].host, buf, sizeof(buf));

                if ((!cases[i].kind) != (!got) || (got && strcmp(got, cases[i].kind) != 0))
                        snprintf(wrong + strlen(wrong), sizeof(wrong) - strlen(wrong), "\n  %s: \"%s\", expected \"%s\"",
                                 cases[i].host, got ? got : "(global)", cases[i].kind ? cases[i].kind : "(global)");
        }
        if (wrong[0])
                fail_msg("wrong kinds:%s", wrong);
}

/* Every block of the IPv4 registry whose "Globally Reachable" is False, at both ends, and the
 * addresses just outside; the True exceptions; multicast. */
static void ipv4_registry(void **state) {
        static const struct kind_case cases[] = {
                { "0.0.0.0", UNSPECIFIED },             { "0.255.255.255", UNSPECIFIED },
                { "1.0.0.0", NULL },                    { "9.255.255.255", NULL },
                { "10.0.0.0", PRIVATE },                { "10.255.255.255", PRIVATE },
                { "11.0.0.0", NULL },                   { "100.63.255.255", NULL },
                { "100.64.0.0", CGNAT },                { "100.127.255.255", CGNAT },
                { "100.128.0.0", NULL },                { "126.255.255.255", NULL },
                { "127.0.0.0", LOOPBACK },              { "127.0.0.1", LOOPBACK },
                { "127.255.255.255", LOOPBACK },        { "128.0.0.0", NULL },
                { "169.253.255.255", NULL },            { "169.254.0.0", LINK_LOCAL },
                { "169.254.169.254", LINK_LOCAL },      { "169.254.255.255", LINK_LOCAL },
                { "169.255.0.0", NULL },                { "172.15.255.255", NULL },
                { "172.16.0.0", PRIVATE },              { "172.31.255.255", PRIVATE },
                { "172.32.0.0", NULL },                 { "191.255.255.255", NULL },
                { "192.0.0.0", IETF4 },                 { "192.0.0.7", IETF4 },
                { "192.0.0.8", IETF4 },                 { "192.0.0.9", NULL }, /* PCP anycast */
                { "192.0.0.10", NULL },                 /* TURN anycast */
                { "192.0.0.11", IETF4 },                { "192.0.0.170", "a NAT64/DNS64 discovery address" },
                { "192.0.0.171", "a NAT64/DNS64 discovery address" },
                { "192.0.0.255", IETF4 },               { "192.0.1.0", NULL },
                { "192.0.2.0", DOC },                   { "192.0.2.255", DOC },
                { "192.0.3.0", NULL },                  { "192.31.196.1", NULL }, /* AS112-v4 */
                { "192.52.193.1", NULL },               /* AMT */
                { "192.88.99.1", "a 6to4 relay anycast address (deprecated)" },
                { "192.167.255.255", NULL },            { "192.168.0.0", PRIVATE },
                { "192.168.255.255", PRIVATE },         { "192.169.0.0", NULL },
                { "192.175.48.1", NULL },               /* AS112 direct delegation */
                { "198.17.255.255", NULL },             { "198.18.0.0", BENCH },
                { "198.19.255.255", BENCH },            { "198.20.0.0", NULL },
                { "198.51.100.0", DOC },                { "198.51.100.255", DOC },
                { "203.0.113.0", DOC },                 { "203.0.113.255", DOC },
                { "203.0.114.0", NULL },                { "223.255.255.255", NULL },
                { "224.0.0.0", MULTICAST },             { "224.0.0.1", MULTICAST },
                { "239.255.255.255", MULTICAST },       { "240.0.0.0", RESERVED },
                { "255.255.255.254", RESERVED },        { "255.255.255.255", "a broadcast address" },
                { "8.8.8.8", NULL },                    { "1.1.1.1", NULL },
                { "52.216.0.1", NULL },
        };

        check_hosts(cases, ARRAY_SIZE(cases));
}

/* The IPv6 registry, as above; everything outside 2000::/3 that no entry names is reserved. */
static void ipv6_registry(void **state) {
        static const struct kind_case cases[] = {
                { "::", UNSPECIFIED },
                { "::1", LOOPBACK },
                { "::2", "an IPv4-compatible address (deprecated) embedding 0.0.0.2, " UNSPECIFIED },
                { "100::", "a discard-only address" },
                { "100::ffff:ffff:ffff:ffff", "a discard-only address" },
                { "100:0:0:1::", RESERVED },
                { "64:ff9b:1::1", "a local-use NAT64 address" },
                { "2001::", "a Teredo address (server 0.0.0.0, client 255.255.255.255)" },
                { "2001:1::", IETF6 },
                { "2001:1::1", NULL },                  /* PCP anycast */
                { "2001:1::2", NULL },                  /* TURN anycast */
                { "2001:1::3", NULL },                  /* DNS-SD SRP anycast */
                { "2001:1::4", IETF6 },
                { "2001:2::", BENCH },
                { "2001:2:0:ffff::1", BENCH },
                { "2001:2:1::", IETF6 },
                { "2001:3::1", NULL },                  /* AMT */
                { "2001:4:112::1", NULL },              /* AS112-v6 */
                { "2001:4:113::1", IETF6 },
                { "2001:10::1", IETF6 },                /* ORCHID, deprecated */
                { "2001:20::1", NULL },                 /* ORCHIDv2 */
                { "2001:2f:ffff::1", NULL },
                { "2001:30::1", NULL },                 /* drone remote ID */
                { "2001:40::1", IETF6 },
                { "2001:1ff:ffff::1", IETF6 },
                { "2001:200::1", NULL },                /* past 2001::/23 */
                { "2001:db7:ffff::1", NULL },
                { "2001:db8::", DOC },
                { "2001:db8:ffff::1", DOC },
                { "2001:db9::", NULL },
                { "2002::1", "a 6to4 address embedding 0.0.0.0, " UNSPECIFIED },
                { "2620:4f:8000::1", NULL },            /* AS112 direct delegation */
                { "3ffe::1", NULL },
                { "3fff::", DOC },
                { "3fff:fff::1", DOC },
                { "3fff:1000::", NULL },
                { "4000::1", RESERVED },
                { "5f00::1", RESERVED },                /* SRv6 SIDs */
                { "fc00::1", PRIVATE },
                { "fdff:ffff::1", PRIVATE },
                { "fe7f::1", RESERVED },
                { "fe80::1", LINK_LOCAL },
                { "febf::1", LINK_LOCAL },
                { "fec0::1", PRIVATE },
                { "feff::1", PRIVATE },
                { "ff00::", MULTICAST },
                { "ff02::1", MULTICAST },
                { "2001:4860:4860::8888", NULL },
                { "2606:4700:4700::1111", NULL },
                { "2a05:d018::1", NULL },
        };

        check_hosts(cases, ARRAY_SIZE(cases));
}

/* The forms that embed an IPv4 address: mapped, translated (SIIT), compatible, NAT64, 6to4, Teredo. */
static void embedded_ipv4(void **state) {
        static const struct kind_case cases[] = {
                /* mapped ::ffff:0:0/96: never globally reachable as such; names what it embeds */
                { "::ffff:127.0.0.1", "an IPv4-mapped address embedding 127.0.0.1, " LOOPBACK },
                { "::ffff:7f00:1", "an IPv4-mapped address embedding 127.0.0.1, " LOOPBACK },
                { "::ffff:169.254.169.254", "an IPv4-mapped address embedding 169.254.169.254, " LINK_LOCAL },
                { "::ffff:10.1.2.3", "an IPv4-mapped address embedding 10.1.2.3, " PRIVATE },
                { "::ffff:8.8.8.8", "an IPv4-mapped address embedding 8.8.8.8" },
                /* translated ::ffff:0:0:0/96 (the review's [::ffff:0:a9fe:a9fe]) */
                { "::ffff:0:a9fe:a9fe", "an IPv4-translated address embedding 169.254.169.254, " LINK_LOCAL },
                { "::ffff:0:808:808", "an IPv4-translated address embedding 8.8.8.8" },
                /* compatible ::/96 */
                { "::127.0.0.1", "an IPv4-compatible address (deprecated) embedding 127.0.0.1, " LOOPBACK },
                { "::8.8.8.8", "an IPv4-compatible address (deprecated) embedding 8.8.8.8" },
                /* NAT64 64:ff9b::/96: globally reachable exactly when the IPv4 address is */
                { "64:ff9b::808:808", NULL },
                { "64:ff9b::8.8.8.8", NULL },
                { "64:ff9b::a9fe:a9fe", "a NAT64 address embedding 169.254.169.254, " LINK_LOCAL },
                { "64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1, " LOOPBACK },
                { "64:ff9b::a00:1", "a NAT64 address embedding 10.0.0.1, " PRIVATE },
                { "64:ff9b::c000:aa", "a NAT64 address embedding 192.0.0.170, a NAT64/DNS64 discovery address" },
                { "64:ff9b::c612:1", "a NAT64 address embedding 198.18.0.1, " BENCH },
                { "64:ff9b::6440:1", "a NAT64 address embedding 100.64.0.1, " CGNAT },
                /* 6to4 2002::/16 (the review's [2002:a9fe:a9fe::1]) */
                { "2002:a9fe:a9fe::1", "a 6to4 address embedding 169.254.169.254, " LINK_LOCAL },
                { "2002:7f00:1::1", "a 6to4 address embedding 127.0.0.1, " LOOPBACK },
                { "2002:c000:2ff::1", "a 6to4 address embedding 192.0.2.255, " DOC },
                { "2002:808:808::1", "a 6to4 address embedding 8.8.8.8" },
                /* Teredo 2001::/32: server in bits 32-63, client inverted in 96-127 (the review's
                 * [2001:0:a9fe:a9fe::1]) */
                { "2001:0:a9fe:a9fe::1", "a Teredo address (server 169.254.169.254, client 255.255.255.254)" },
                { "2001:0:808:808:0:0:f5fe:5656", "a Teredo address (server 8.8.8.8, client 10.1.169.169)" },
        };

        check_hosts(cases, ARRAY_SIZE(cases));
}

/* The forms the review found still granted, and the numeric and name forms the plan sees. */
static void review_forms(void **state) {
        static const struct kind_case cases[] = {
                { "192.0.0.170", "a NAT64/DNS64 discovery address" },
                { "198.18.0.1", BENCH },
                { "localhost", "a loopback name" },
                { "foo.localhost", "a loopback name" },
                { "LocalHost.", "a loopback name" },
                { "localhost.", "a loopback name" },
                { "Foo.LocalHost", "a loopback name" },
                { "foo.LOCALHOST", "a loopback name" },
                { "foo.localhost.", "a loopback name" },
                { "a.b.localhost", "a loopback name" },
                { "2130706433", AMBIGUOUS },
                { "0x7f000001", AMBIGUOUS },
                { "0177.0.0.1", AMBIGUOUS },
                { "0x7f.1", AMBIGUOUS },
                { "127.1", AMBIGUOUS },
                { "127.0.0.1.", AMBIGUOUS },
                { "999.1.1.1", AMBIGUOUS },
                { "s3.amazonaws.com", NULL },
                { "nyc3.digitaloceanspaces.com", NULL },
                { "localhost.example.com", NULL },
                { "mylocalhost", NULL },
        };
        char buf[NETADDR_KIND_MAX];

        check_hosts(cases, ARRAY_SIZE(cases));
        assert_string_equal(netaddr_host_kind("::ffff:0:a9fe:a9fe", buf, sizeof(buf)),
                            "an IPv4-translated address embedding 169.254.169.254, a link-local address");
        assert_non_null(netaddr_host_kind("2002:a9fe:a9fe::1", buf, sizeof(buf)));
        assert_non_null(netaddr_host_kind("2001:0:a9fe:a9fe::1", buf, sizeof(buf)));
}

static struct sockaddr_storage v4(const char *address, unsigned port) {
        struct sockaddr_storage ss = {};
        struct sockaddr_in *in = (void *) &ss;

        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t) port);
        assert_int_equal(inet_pton(AF_INET, address, &in->sin_addr), 1);
        return ss;
}

static struct sockaddr_storage v6(const char *address, unsigned port) {
        struct sockaddr_storage ss = {};
        struct sockaddr_in6 *in6 = (void *) &ss;

        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t) port);
        assert_int_equal(inet_pton(AF_INET6, address, &in6->sin6_addr), 1);
        return ss;
}

static void sockaddrs(void **state) {
        struct sockaddr_storage a = v4("169.254.169.254", 80), b = v6("::ffff:169.254.169.254", 80),
                                c = v6("2001:4860:4860::8888", 443), unix_socket = { .ss_family = AF_UNIX };
        char buf[NETADDR_KIND_MAX], text[64];

        assert_string_equal(netaddr_sockaddr_kind((struct sockaddr *) &a, sizeof(struct sockaddr_in), buf, sizeof(buf)),
                            LINK_LOCAL);
        assert_string_equal(netaddr_sockaddr_kind((struct sockaddr *) &b, sizeof(struct sockaddr_in6), buf, sizeof(buf)),
                            "an IPv4-mapped address embedding 169.254.169.254, " LINK_LOCAL);
        assert_null(netaddr_sockaddr_kind((struct sockaddr *) &c, sizeof(struct sockaddr_in6), buf, sizeof(buf)));
        assert_string_equal(netaddr_sockaddr_kind((struct sockaddr *) &unix_socket, sizeof(unix_socket), buf, sizeof(buf)),
                            "not an IP address");
        /* too short to hold the address: not judged as one */
        assert_string_equal(netaddr_sockaddr_kind((struct sockaddr *) &c, 8, buf, sizeof(buf)), "not an IP address");
        assert_true(netaddr_same(&a, &b)); /* mapped and plain, same port */
        b = v6("::ffff:169.254.169.254", 81);
        assert_false(netaddr_same(&a, &b));
        assert_false(netaddr_same(&a, &c));
        netaddr_format((struct sockaddr *) &a, sizeof(struct sockaddr_in), text, sizeof(text));
        assert_string_equal(text, "169.254.169.254:80");
        netaddr_format((struct sockaddr *) &c, sizeof(struct sockaddr_in6), text, sizeof(text));
        assert_string_equal(text, "[2001:4860:4860::8888]:443");
}

/* A phrase never overflows its buffer, however small. */
static void small_buffers(void **state) {
        char buf[8];

        assert_non_null(netaddr_host_kind("2002:a9fe:a9fe::1", buf, sizeof(buf)));
        assert_string_equal(buf, "a 6to4 ");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(ipv4_registry), cmocka_unit_test(ipv6_registry), cmocka_unit_test(embedded_ipv4),
                cmocka_unit_test(review_forms),  cmocka_unit_test(sockaddrs),     cmocka_unit_test(small_buffers),
        };

        setvbuf(stdout, NULL, _IONBF, 0);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
