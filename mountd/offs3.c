/* SPDX-License-Identifier: Apache-2.0 */
/* The platform's bucket (node.yaml bucket_storage) through libcurl: PUT of one object from an fd and
 * DELETE, each signed by libcurl's own SigV4 (CURLOPT_AWS_SIGV4). The key lives in this process's
 * memory only (CURLOPT_USERPWD), wiped when the client closes; never in an argv, environ or log. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "offcopy.h"
#include "util.h"

#define OFFS3_TIMEOUT_S 300L
#define OFFS3_CONNECT_TIMEOUT_S 10L
/* S3 wants the payload's hash in every signed request; libcurl signs with this header's value */
#define UNSIGNED_PAYLOAD "x-amz-content-sha256: UNSIGNED-PAYLOAD"

int offs3_open(struct offs3 *c, const struct node_config *config, struct nb_error *err) {
        char secret[S3FS_SECRET_MAX + 4], relative[2 * NB_NAME_MAX + 8];
        int r;

        *c = (struct offs3) {};
        snprintf(relative, sizeof(relative), "%s/%s", BUCKET_SECRET_FOLDER, config->bucket_secret);
        if ((r = secret_read(config->secrets_dir, relative, secret, sizeof(secret), err)) < 0)
                return nb_wrap(err, r, "bucket_storage.secret: ");
        snprintf(c->userpwd, sizeof(c->userpwd), "%s:%s", config->bucket_key_id, secret);
        explicit_bzero(secret, sizeof(secret));
        snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:s3", config->bucket_region);
        if (config->bucket_endpoint[0])
                snprintf(c->base, sizeof(c->base), "%s/%s", config->bucket_endpoint, config->bucket_name);
        else
                snprintf(c->base, sizeof(c->base), "https://s3.%s.amazonaws.com/%s", config->bucket_region,
                         config->bucket_name);
        if (!(c->curl = curl_easy_init())) {
                explicit_bzero(c->userpwd, sizeof(c->userpwd));
                return nb_fail(err, ENOMEM, "cannot start libcurl");
        }
        return 0;
}

void offs3_close(struct offs3 *c) {
        if (c->curl)
                curl_easy_cleanup(c->curl);
        c->curl = NULL;
        explicit_bzero(c->userpwd, sizeof(c->userpwd));
}

/* BASE/KEY with each segment of key URI-encoded (SigV4's canonical form), '/' kept. */
static int object_url(struct offs3 *c, const char *key, char *buf, size_t size) {
        size_t len = (size_t) snprintf(buf, size, "%s", c->base);

        for (const char *p = key; *p;) {
                size_t n = strcspn(p, "/");
                char *escaped = curl_easy_escape(c->curl, p, (int) n);

                if (!escaped)
                        return -ENOMEM;
                len += (size_t) snprintf(buf + len, len < size ? size - len : 0, "/%s", escaped);
                curl_free(escaped);
                p += n + (p[n] == '/');
        }
        return len < size ? 0 : -ENAMETOOLONG;
}

struct upload {
        int fd;
        uint64_t left;
        char *etag;
        size_t etag_size;
};

static size_t read_body(char *buf, size_t size, size_t n, void *arg) {
        struct upload *u = arg;
        size_t want = (size_t) MIN((uint64_t) size * n, u->left);
        ssize_t got;

        if (want == 0)
                return 0;
        while ((got = read(u->fd, buf, want)) < 0 && errno == EINTR)
                ;
        if (got <= 0)
                return CURL_READFUNC_ABORT; /* the file shrank or failed: the upload fails, nothing is kept */
        u->left -= (uint64_t) got;
        return (size_t) got;
}

static size_t header_line(char *line, size_t size, size_t n, void *arg) {
        struct upload *u = arg;
        size_t len = size * n;

        if (u && u->etag && len > 5 && strncasecmp(line, "etag:", 5) == 0) {
                const char *v = line + 5;
                size_t vlen = len - 5;

                while (vlen && (*v == ' ' || *v == '"')) v++, vlen--;
                while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == '"')) vlen--;
                snprintf(u->etag, u->etag_size, "%.*s", (int) MIN(vlen, u->etag_size - 1), v);
        }
        return len;
}

static size_t discard(const char *p, size_t size, size_t n, void *arg) {
        (void) p;
        (void) arg;
        return size * n;
}

static void common_options(struct offs3 *c, const char *url) {
        curl_easy_reset(c->curl);
        curl_easy_setopt(c->curl, CURLOPT_URL, url);
        curl_easy_setopt(c->curl, CURLOPT_USERPWD, c->userpwd);
        curl_easy_setopt(c->curl, CURLOPT_AWS_SIGV4, c->sigv4);
        curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, OFFS3_TIMEOUT_S);
        curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, OFFS3_CONNECT_TIMEOUT_S);
        curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, header_line);
        curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, NULL);
}

/* Performs the request; 0 on a 2xx answer (404 too when missing_ok). */
static int perform(struct offs3 *c, const char *what, const char *key, bool missing_ok, struct nb_error *err) {
        CURLcode code = curl_easy_perform(c->curl);
        long status = 0;

        if (code != CURLE_OK)
                return nb_fail(err, EIO, "%s %s: %s", what, key, curl_easy_strerror(code));
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
        if ((status >= 200 && status < 300) || (missing_ok && status == 404))
                return 0;
        return nb_fail(err, status == 403 ? EACCES : EIO, "%s %s: the bucket answered HTTP %ld%s", what, key, status,
                       status == 403 ? " (check bucket_storage's key id and secret)" : "");
}

int offs3_put(struct offs3 *c, const char *key, int fd, uint64_t size, char *ret_etag, size_t etag_size,
              struct nb_error *err) {
        struct upload u = { .fd = fd, .left = size, .etag = ret_etag, .etag_size = etag_size };
        struct curl_slist *headers = curl_slist_append(NULL, UNSIGNED_PAYLOAD);
        char url[OFFS3_URL_MAX];
        int r;

        ret_etag[0] = '\0';
        if ((r = object_url(c, key, url, sizeof(url))) < 0) {
                curl_slist_free_all(headers);
                return nb_fail(err, r, "%s: the object's name is too long", key);
        }
        common_options(c, url);
        curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) size);
        curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(c->curl, CURLOPT_READDATA, &u);
        curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &u);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
        r = perform(c, "PUT", key, false, err);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(headers);
        return r;
}

int offs3_delete(struct offs3 *c, const char *key, struct nb_error *err) {
        struct curl_slist *headers = curl_slist_append(NULL, UNSIGNED_PAYLOAD);
        char url[OFFS3_URL_MAX];
        int r;

        if ((r = object_url(c, key, url, sizeof(url))) < 0) {
                curl_slist_free_all(headers);
                return nb_fail(err, r, "%s: the object's name is too long", key);
        }
        common_options(c, url);
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, "DELETE");
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
        r = perform(c, "DELETE", key, true, err);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(headers);
        return r;
}
