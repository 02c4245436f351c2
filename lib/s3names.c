/* SPDX-License-Identifier: Apache-2.0 */
#include "s3names.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && streq(s + n - m, suffix);
}

/* Four dot-separated groups of digits, whatever their values: S3 refuses such bucket names. */
static bool looks_like_ipv4(const char *s) {
        for (int group = 0; group < 4; group++) {
                size_t n = strspn(s, "0123456789");

                if (n == 0 || (group < 3 && s[n] != '.'))
                        return false;
                s += n + (group < 3);
        }
        return *s == '\0';
}

const char *s3_bucket_problem(const char *b) {
        size_t n = strlen(b);

        if (n < 3 || n > S3_BUCKET_MAX)
                return "must be 3 to 63 characters long";
        for (const char *p = b; *p; p++)
                if (!is_lower_alnum(*p) && *p != '.' && *p != '-')
                        return "may only contain lowercase letters, digits, '.' and '-'";
        if (!is_lower_alnum(b[0]) || !is_lower_alnum(b[n - 1]))
                return "must start and end with a lowercase letter or a digit";
        if (strstr(b, ".."))
                return "must not contain '..'";
        if (looks_like_ipv4(b))
                return "must not be shaped like an IP address";
        if (starts_with(b, "xn--") || starts_with(b, "sthree-") || starts_with(b, "amzn-s3-demo-"))
                return "must not start with xn--, sthree- or amzn-s3-demo-";
        if (ends_with(b, "-s3alias") || ends_with(b, "--ol-s3") || ends_with(b, ".mrap"))
                return "must not end with -s3alias, --ol-s3 or .mrap";
        return NULL;
}

const char *s3_prefix_problem(const char *prefix) {
        if (strlen(prefix) > S3_PREFIX_MAX)
                return "is longer than 1024 characters";
        for (const char *p = prefix; *p; p++)
                if (!is_alnum(*p) && !strchr("._~@=+-/", *p))
                        return "may only contain letters, digits and . _ ~ @ = + - /";
        size_t len = strlen(prefix);

        if (len == 0)
                return NULL;
        if (prefix[len - 1] == '/')
                len--; /* one trailing slash is allowed */
        for (size_t start = 0, n; start <= len; start += n + 1) {
                const char *segment = prefix + start;

                n = strcspn(segment, "/");
                if (n > len - start)
                        n = len - start;
                if (n == 0 || (n == 1 && segment[0] == '.') || (n == 2 && segment[0] == '.' && segment[1] == '.'))
                        return "must not have an empty, '.' or '..' segment";
        }
        return NULL;
}

const char *s3_key_id_problem(const char *key_id) {
        size_t n = strlen(key_id);

        if (n == 0 || n > S3_KEY_ID_MAX)
                return "must be 1 to 128 characters long";
        if (!is_alnum(key_id[0]))
                return "must start with a letter or a digit";
        for (const char *p = key_id; *p; p++)
                if (!is_alnum(*p) && !strchr("._-", *p))
                        return "may only contain letters, digits, '.', '_' and '-'";
        return NULL;
}

const char *s3_region_problem(const char *region) {
        size_t n = strlen(region);

        if (n == 0 || n > S3_REGION_MAX)
                return "must be 1 to 32 characters long";
        if (region[0] < 'a' || region[0] > 'z')
                return "must start with a lowercase letter";
        for (const char *p = region; *p; p++)
                if (!is_lower_alnum(*p) && *p != '-')
                        return "may only contain lowercase letters, digits and '-'";
        return NULL;
}

/* Labels of 1 to 63 letters, digits and '-', none starting or ending with '-'. */
static bool is_dns_name(const char *host) {
        for (const char *label = host;; label++) {
                size_t n = strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");

                if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
                        return false;
                label += n;
                if (*label != '.')
                        return *label == '\0';
        }
}

static const char *split_host(const char *hostport, struct s3_endpoint *ret) {
        const char *end, *port = NULL;
        size_t n;

        if (hostport[0] == '[') {
                end = strchr(hostport, ']');
                if (!end || end - hostport - 1 < 2 || end - hostport - 1 > 45)
                        return "has a malformed [IPv6] host";
                n = (size_t) (end - hostport - 1);
                memcpy(ret->host, hostport + 1, n);
                ret->host[n] = '\0';
                if (strspn(ret->host, "0123456789abcdefABCDEF:.") != n)
                        return "has a malformed [IPv6] host";
                end++;
        } else {
                n = strcspn(hostport, ":/");
                if (n == 0 || n > S3_HOST_MAX)
                        return "must name a host of 1 to 253 characters";
                memcpy(ret->host, hostport, n);
                ret->host[n] = '\0';
                if (!is_dns_name(ret->host))
                        return "must name a host of dot-separated labels of letters, digits and '-' (no label starts or ends with '-')";
                end = hostport + n;
        }
        if (*end == ':') {
                port = end + 1;
                n = strspn(port, "0123456789");
                if (n == 0 || n > 5 || strtoul(port, NULL, 10) > 65535)
                        return "has a port that is not a number from 0 to 65535";
                ret->port = (unsigned) strtoul(port, NULL, 10);
                end = port + n;
        }
        if (!streq(end, "") && !streq(end, "/"))
                return "must be only a scheme, a host and an optional port (no path, query or user)";
        return NULL;
}

static const char *endpoint_parse(const char *endpoint, struct s3_endpoint *ret) {
        memset(ret, 0, sizeof(*ret));
        if (strlen(endpoint) > S3_ENDPOINT_MAX)
                return "is longer than 300 characters";
        if (starts_with(endpoint, "https://"))
                ret->https = true;
        else if (!starts_with(endpoint, "http://"))
                return "must start with https://";
        return split_host(endpoint + (ret->https ? 8 : 7), ret);
}

const char *s3_endpoint_problem(const char *endpoint) {
        struct s3_endpoint parsed;

        return endpoint[0] ? endpoint_parse(endpoint, &parsed) : NULL;
}

int s3_endpoint_split(const char *endpoint, struct s3_endpoint *ret) {
        return endpoint_parse(endpoint, ret) ? -EINVAL : 0;
}
