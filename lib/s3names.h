/* SPDX-License-Identifier: Apache-2.0 */
/* S3 naming rules and endpoint checks: bucket names, prefixes, key ids, regions, endpoint URLs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define S3_BUCKET_MAX 63
#define S3_PREFIX_MAX 1024
#define S3_KEY_ID_MAX 128
#define S3_REGION_MAX 32
#define S3_ENDPOINT_MAX 300
#define S3_HOST_MAX 253

/* Each returns NULL when valid, else why not (a static phrase). */
const char *s3_bucket_problem(const char *bucket);
const char *s3_prefix_problem(const char *prefix);
const char *s3_key_id_problem(const char *key_id);
const char *s3_region_problem(const char *region);
const char *s3_endpoint_problem(const char *endpoint);

struct s3_endpoint {
        bool https;
        char host[S3_HOST_MAX + 1]; /* without brackets for IPv6 */
        unsigned port;              /* 0 when absent */
};

/* Splits a valid non-empty endpoint; -EINVAL if s3_endpoint_problem() would refuse it. */
int s3_endpoint_split(const char *endpoint, struct s3_endpoint *ret);
