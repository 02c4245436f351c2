/* SPDX-License-Identifier: Apache-2.0 */
#include "netpolicy.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"
#include "util.h"

static bool listed(const struct sockaddr_storage *list, size_t n, const struct sockaddr *dest, socklen_t len) {
        struct sockaddr_storage copy = {};

        if (len > (socklen_t) sizeof(copy))
                return false;
        memcpy(&copy, dest, len);
        for (size_t i = 0; i < n; i++)
                if (netaddr_same(&list[i], &copy))
                        return true;
        return false;
}

static const char *judge_ip(const struct netpolicy *p, const struct sockaddr *dest, socklen_t len, char *why,
                            size_t size) {
        char kind[NETADDR_KIND_MAX];

        if (!netaddr_sockaddr_kind(dest, len, kind, sizeof(kind)))
                return NULL;
        if (listed(p->vetted, p->n_vetted, dest, len) || listed(p->resolvers, p->n_resolvers, dest, len))
                return NULL;
        snprintf(why, size, "%s, neither this mount's endpoint nor a DNS resolver of the node", kind);
        return why;
}

static const char *judge_netlink(const struct sockaddr *dest, socklen_t len, char *why, size_t size) {
        const struct sockaddr_nl *nl = (const void *) dest;

        if (len >= (socklen_t) sizeof(*nl) && nl->nl_pid == 0)
                return NULL;
        snprintf(why, size, "a netlink socket of another process");
        return why;
}

const char *netpolicy_judge(const struct netpolicy *policy, const struct sockaddr *dest, socklen_t len, char *why,
                            size_t size) {
        if (len < (socklen_t) sizeof(dest->sa_family)) {
                snprintf(why, size, "an address of %u bytes", (unsigned) len);
                return why;
        }
        switch (dest->sa_family) {
        case AF_UNSPEC: return NULL; /* connect(AF_UNSPEC) dissolves a datagram socket's association */
        case AF_INET:
        case AF_INET6: return judge_ip(policy, dest, len, why, size);
        case AF_NETLINK: return judge_netlink(dest, len, why, size);
        case AF_UNIX: snprintf(why, size, "a unix socket"); return why;
        default: snprintf(why, size, "an address of family %d", dest->sa_family); return why;
        }
}

static bool parse_resolver(const char *text, struct sockaddr_storage *ret) {
        struct sockaddr_in *in = (void *) ret;
        struct sockaddr_in6 *in6 = (void *) ret;
        char address[INET6_ADDRSTRLEN];

        snprintf(address, sizeof(address), "%.*s", (int) strcspn(text, "%"), text); /* fe80::1%eth0 */
        memset(ret, 0, sizeof(*ret));
        if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(53);
                return true;
        }
        if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(53);
                return true;
        }
        return false;
}

size_t netpolicy_parse_resolvers(const char *text, struct sockaddr_storage *ret, size_t max) {
        size_t n = 0;

        for (const char *line = text; line && *line && n < max; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
                char word[16], value[INET6_ADDRSTRLEN + 32];

                if (sscanf(line, "%15s %77s", word, value) == 2 && streq(word, "nameserver") &&
                    parse_resolver(value, &ret[n]))
                        n++;
        }
        if (n == 0 && max > 0)
                parse_resolver("127.0.0.1", &ret[n++]);
        return n;
}
