/* SPDX-License-Identifier: Apache-2.0 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* How an IPv6 form carries an IPv4 address. */
enum embed { EMBED_NONE, EMBED_LOW32, EMBED_6TO4, EMBED_TEREDO };

struct v4_entry {
        uint32_t network;
        unsigned prefix;
        const char *kind; /* NULL: globally reachable (a more specific exception) */
};

/* The IANA IPv4 Special-Purpose Address Registry (iana-ipv4-special-registry, 2025), every block
 * whose "Globally Reachable" is False, with the more specific True exceptions; plus multicast
 * (224.0.0.0/4, its own registry). The longest matching prefix decides. */
static const struct v4_entry v4_table[] = {
        { 0x00000000, 8, "an unspecified address" }, /* "this network", RFC 791 */
        { 0x0a000000, 8, "a private address" },
        { 0x64400000, 10, "a shared (CGNAT) address" },
        { 0x7f000000, 8, "a loopback address" },
        { 0xa9fe0000, 16, "a link-local address" },
        { 0xac100000, 12, "a private address" },
        { 0xc0000000, 24, "an IETF protocol assignment (192.0.0.0/24)" },
        { 0xc0000009, 32, NULL }, /* PCP anycast */
        { 0xc000000a, 32, NULL }, /* TURN anycast */
        { 0xc00000aa, 31, "a NAT64/DNS64 discovery address" },
        { 0xc0000200, 24, "a documentation address" },
        { 0xc0586300, 24, "a 6to4 relay anycast address (deprecated)" },
        { 0xc0a80000, 16, "a private address" },
        { 0xc6120000, 15, "a benchmarking address" },
        { 0xc6336400, 24, "a documentation address" },
        { 0xcb007100, 24, "a documentation address" },
        { 0xe0000000, 4, "a multicast address" },
        { 0xf0000000, 4, "a reserved address" },
        { 0xffffffff, 32, "a broadcast address" },
};

struct v6_entry {
        uint8_t network[16];
        unsigned prefix;
        const char *kind;   /* NULL: globally reachable */
        enum embed embed;   /* the form carries an IPv4 address, named in the phrase */
        bool embed_decides; /* globally reachable exactly when the embedded IPv4 address is */
};

#define V6(...) { __VA_ARGS__ }

/* The IANA IPv6 Special-Purpose Address Registry (iana-ipv6-special-registry, 2025), as above.
 * "N/A" entries count as not globally reachable (6to4, Teredo: both reach an embedded IPv4 address
 * through relays); 64:ff9b::/96 (NAT64) is globally reachable when the IPv4 address it embeds is.
 * Outside 2000::/3 (global unicast) and these entries, everything is reserved. */
static const struct v6_entry v6_table[] = {
        { V6(0), 128, "an unspecified address", EMBED_NONE, false },
        { V6([15] = 1), 128, "a loopback address", EMBED_NONE, false },
        { V6(0), 96, "an IPv4-compatible address (deprecated)", EMBED_LOW32, false },
        { V6([10] = 0xff, 0xff), 96, "an IPv4-mapped address", EMBED_LOW32, false },
        { V6([8] = 0xff, 0xff), 96, "an IPv4-translated address", EMBED_LOW32, false },
        { V6(0, 0x64, 0xff, 0x9b), 96, "a NAT64 address", EMBED_LOW32, true },
        { V6(0, 0x64, 0xff, 0x9b, 0, 1), 48, "a local-use NAT64 address", EMBED_NONE, false },
        { V6(0x01, 0x00), 64, "a discard-only address", EMBED_NONE, false },
        { V6(0x20, 0x01), 23, "an IETF protocol assignment (2001::/23)", EMBED_NONE, false },
        { V6(0x20, 0x01), 32, "a Teredo address", EMBED_TEREDO, false },
        { V6(0x20, 0x01, 0, 0x01, [15] = 1), 128, NULL, EMBED_NONE, false },  /* PCP anycast */
        { V6(0x20, 0x01, 0, 0x01, [15] = 2), 128, NULL, EMBED_NONE, false },  /* TURN anycast */
        { V6(0x20, 0x01, 0, 0x01, [15] = 3), 128, NULL, EMBED_NONE, false },  /* DNS-SD SRP anycast */
        { V6(0x20, 0x01, 0, 0x02), 48, "a benchmarking address", EMBED_NONE, false },
        { V6(0x20, 0x01, 0, 0x03), 32, NULL, EMBED_NONE, false },             /* AMT */
        { V6(0x20, 0x01, 0, 0x04, 0x01, 0x12), 48, NULL, EMBED_NONE, false }, /* AS112-v6 */
        { V6(0x20, 0x01, 0, 0x20), 28, NULL, EMBED_NONE, false },             /* ORCHIDv2 */
        { V6(0x20, 0x01, 0, 0x30), 28, NULL, EMBED_NONE, false },             /* drone remote ID */
        { V6(0x20, 0x01, 0x0d, 0xb8), 32, "a documentation address", EMBED_NONE, false },
        { V6(0x20, 0x02), 16, "a 6to4 address", EMBED_6TO4, false },
        { V6(0x3f, 0xff), 20, "a documentation address", EMBED_NONE, false },
        { V6(0xfc), 7, "a private address", EMBED_NONE, false },
        { V6(0xfe, 0x80), 10, "a link-local address", EMBED_NONE, false },
        { V6(0xfe, 0xc0), 10, "a private address", EMBED_NONE, false }, /* site-local, deprecated */
        { V6(0xff), 8, "a multicast address", EMBED_NONE, false },
};

static bool v4_in(uint32_t address, uint32_t network, unsigned prefix) {
        uint32_t mask = prefix == 0 ? 0 : ~0U << (32 - prefix);

        return (address & mask) == (network & mask);
}

static const struct v4_entry *v4_match(uint32_t address) {
        const struct v4_entry *best = NULL;

        for (size_t i = 0; i < ARRAY_SIZE(v4_table); i++)
                if (v4_in(address, v4_table[i].network, v4_table[i].prefix) &&
                    (!best || v4_table[i].prefix > best->prefix))
                        best = &v4_table[i];
        return best;
}

static const char *v4_phrase(uint32_t address) {
        const struct v4_entry *entry = v4_match(address);

        return entry ? entry->kind : NULL;
}

const char *netaddr_ipv4_kind(uint32_t address, char *ret_kind, size_t size) {
        const char *kind = v4_phrase(address);

        if (!kind)
                return NULL;
        snprintf(ret_kind, size, "%s", kind);
        return ret_kind;
}

static bool v6_in(const uint8_t *address, const uint8_t *network, unsigned prefix) {
        unsigned whole = prefix / 8, bits = prefix % 8;

        if (memcmp(address, network, whole) != 0)
                return false;
        return bits == 0 || ((address[whole] ^ network[whole]) & (0xff << (8 - bits))) == 0;
}

static const struct v6_entry *v6_match(const uint8_t *address) {
        const struct v6_entry *best = NULL;

        for (size_t i = 0; i < ARRAY_SIZE(v6_table); i++)
                if (v6_in(address, v6_table[i].network, v6_table[i].prefix) &&
                    (!best || v6_table[i].prefix > best->prefix))
                        best = &v6_table[i];
        return best;
}

static uint32_t be32_at(const uint8_t *p) {
        return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static void format_v4(uint32_t a, char *buf, size_t size) {
        snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

/* "FORM embedding A.B.C.D[, KIND]" */
static void describe_embedded(const char *form, uint32_t v4, char *ret_kind, size_t size) {
        const char *kind = v4_phrase(v4);
        char text[INET_ADDRSTRLEN];

        format_v4(v4, text, sizeof(text));
        snprintf(ret_kind, size, "%s embedding %s%s%s", form, text, kind ? ", " : "", kind ? kind : "");
}

/* Teredo (RFC 4380): the server's IPv4 address in bits 32-63, the client's, inverted, in 96-127. */
static void describe_teredo(const uint8_t *a, char *ret_kind, size_t size) {
        char server[INET_ADDRSTRLEN], client[INET_ADDRSTRLEN];

        format_v4(be32_at(a + 4), server, sizeof(server));
        format_v4(~be32_at(a + 12), client, sizeof(client));
        snprintf(ret_kind, size, "a Teredo address (server %s, client %s)", server, client);
}

static bool in_global_unicast(const uint8_t *address) {
        return (address[0] & 0xe0) == 0x20; /* 2000::/3 */
}

const char *netaddr_ipv6_kind(const uint8_t address[16], char *ret_kind, size_t size) {
        const struct v6_entry *entry = v6_match(address);

        if (!entry) {
                if (in_global_unicast(address))
                        return NULL;
                snprintf(ret_kind, size, "a reserved address");
                return ret_kind;
        }
        if (entry->embed_decides && !v4_phrase(be32_at(address + 12)))
                return NULL;
        if (!entry->kind)
                return NULL;
        switch (entry->embed) {
        case EMBED_LOW32: describe_embedded(entry->kind, be32_at(address + 12), ret_kind, size); break;
        case EMBED_6TO4: describe_embedded(entry->kind, be32_at(address + 2), ret_kind, size); break;
        case EMBED_TEREDO: describe_teredo(address, ret_kind, size); break;
        case EMBED_NONE: snprintf(ret_kind, size, "%s", entry->kind); break;
        }
        return ret_kind;
}

const char *netaddr_sockaddr_kind(const struct sockaddr *address, socklen_t len, char *ret_kind, size_t size) {
        if (address->sa_family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) (const void *) address;

                return netaddr_ipv4_kind(ntohl(in->sin_addr.s_addr), ret_kind, size);
        }
        if (address->sa_family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) (const void *) address;

                return netaddr_ipv6_kind(in6->sin6_addr.s6_addr, ret_kind, size);
        }
        snprintf(ret_kind, size, "not an IP address");
        return ret_kind;
}

/* localhost, foo.localhost, with any case and an optional final dot (RFC 6761). */
static bool is_localhost_name(const char *host) {
        size_t n = strlen(host), word = strlen("localhost");

        n -= n > 0 && host[n - 1] == '.';
        return n >= word && strncasecmp(host + n - word, "localhost", word) == 0 &&
               (n == word || host[n - word - 1] == '.');
}

const char *netaddr_host_kind(const char *host, char *ret_kind, size_t size) {
        struct in_addr v4;
        struct in6_addr v6;

        if (inet_pton(AF_INET, host, &v4) == 1)
                return netaddr_ipv4_kind(ntohl(v4.s_addr), ret_kind, size);
        if (inet_pton(AF_INET6, host, &v6) == 1)
                return netaddr_ipv6_kind(v6.s6_addr, ret_kind, size);
        if (inet_aton(host, &v4) != 0 || strspn(host, "0123456789.") == strlen(host)) {
                snprintf(ret_kind, size, "an ambiguous numeric address");
                return ret_kind;
        }
        if (is_localhost_name(host)) {
                snprintf(ret_kind, size, "a loopback name");
                return ret_kind;
        }
        return NULL;
}

void netaddr_unmap(struct sockaddr_storage *address) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) (const void *) address;
        struct sockaddr_in in = { .sin_family = AF_INET };

        if (address->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
                return;
        in.sin_port = in6->sin6_port;
        memcpy(&in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
        memset(address, 0, sizeof(*address));
        memcpy(address, &in, sizeof(in));
}

bool netaddr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
        struct sockaddr_storage x = *a, y = *b;

        netaddr_unmap(&x);
        netaddr_unmap(&y);
        if (x.ss_family != y.ss_family)
                return false;
        if (x.ss_family == AF_INET) {
                const struct sockaddr_in *p = (const void *) &x, *q = (const void *) &y;

                return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
        }
        if (x.ss_family == AF_INET6) {
                const struct sockaddr_in6 *p = (const void *) &x, *q = (const void *) &y;

                return p->sin6_port == q->sin6_port && IN6_ARE_ADDR_EQUAL(&p->sin6_addr, &q->sin6_addr);
        }
        return false;
}

void netaddr_format(const struct sockaddr *address, socklen_t len, char *buf, size_t size) {
        char text[INET6_ADDRSTRLEN] = "?";

        if (address->sa_family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *in = (const void *) address;

                inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
                if (in->sin_port)
                        snprintf(buf, size, "%s:%u", text, ntohs(in->sin_port));
                else
                        snprintf(buf, size, "%s", text);
        } else if (address->sa_family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *in6 = (const void *) address;

                inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
                if (in6->sin6_port)
                        snprintf(buf, size, "[%s]:%u", text, ntohs(in6->sin6_port));
                else
                        snprintf(buf, size, "%s", text);
        } else {
                snprintf(buf, size, "family %d", address->sa_family);
        }
}
