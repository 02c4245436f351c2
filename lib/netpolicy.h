/* SPDX-License-Identifier: Apache-2.0 */
/* Where an s3fs may open connections or send datagrams: its supervisor asks this for every
 * destination s3fs names in connect(), sendto() or sendmsg(), whatever URL, redirect or DNS answer
 * led s3fs there. Allowed: globally reachable addresses (netaddr.h); the addresses nbmountd vetted
 * for the mount's own endpoint (on a node with s3.allow_private_endpoints, they may be private),
 * with the endpoint's port; the node's DNS resolvers (/etc/resolv.conf) on port 53; netlink to the
 * kernel (the resolver asks it for the host's addresses); a disconnect (AF_UNSPEC). Nothing else:
 * no other private, loopback or link-local address, no unix socket. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define NETPOLICY_VETTED_MAX 16
#define NETPOLICY_RESOLVERS_MAX 8
#define NETPOLICY_WHY_MAX 256

struct netpolicy {
        size_t n_vetted;
        struct sockaddr_storage vetted[NETPOLICY_VETTED_MAX];
        size_t n_resolvers;
        struct sockaddr_storage resolvers[NETPOLICY_RESOLVERS_MAX]; /* port 53 */
};

/* NULL when s3fs may reach dest; else why not, in why[size]. */
const char *netpolicy_judge(const struct netpolicy *policy, const struct sockaddr *dest, socklen_t len, char *why,
                            size_t size);

/* The "nameserver" lines of resolv.conf text, as port-53 addresses (at most max); like glibc,
 * 127.0.0.1 when there is none. Returns how many. */
size_t netpolicy_parse_resolvers(const char *text, struct sockaddr_storage *ret, size_t max);
