/* SPDX-License-Identifier: Apache-2.0 */
/* Which network destinations are globally reachable: the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries, one table each. The plan judges literal endpoint hosts with it, nbmountd the addresses
 * an endpoint name resolves to, and each s3fs's supervisor every address s3fs connects or sends to. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETADDR_KIND_MAX 160 /* the longest phrase, with an embedded IPv4 address */

/* NULL when the address is globally reachable; else what it is, in ret_kind[size]
 * ("a loopback address", "a 6to4 address embedding 169.254.169.254, a link-local address", ...).
 * An IPv4 address is given in host byte order. */
const char *netaddr_ipv4_kind(uint32_t address, char *ret_kind, size_t size);
const char *netaddr_ipv6_kind(const uint8_t address[16], char *ret_kind, size_t size);

/* The same for an AF_INET or AF_INET6 socket address (any other family: "not an IP address"). */
const char *netaddr_sockaddr_kind(const struct sockaddr *address, socklen_t len, char *ret_kind, size_t size);

/* The same for a URL's host: a numeric IPv4 or IPv6 address (without brackets), a numeric form that
 * is not a plain dotted quad (0x7f.1, 2130706433, 127.1: "an ambiguous numeric address"), or a
 * localhost name (RFC 6761: "a loopback name"). Any other DNS name is NULL: it is judged once resolved. */
const char *netaddr_host_kind(const char *host, char *ret_kind, size_t size);

/* An AF_INET6 address of the form ::ffff:a.b.c.d becomes the AF_INET address a.b.c.d (same port):
 * the kernel connects an IPv6 socket to such an address over IPv4. Anything else is left alone. */
void netaddr_unmap(struct sockaddr_storage *address);

/* Equal family, address and port, after netaddr_unmap() of both. */
bool netaddr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* "192.0.2.1:443", "[2001:db8::1]:443" (port 0: without it); "family N" for another family. */
void netaddr_format(const struct sockaddr *address, socklen_t len, char *buf, size_t size);
