/* SPDX-License-Identifier: Apache-2.0 */
#include "s3client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "mountproto.h"
#include "util.h"

#define RELEASE_TIMEOUT_S 5

bool plan_has_s3(const struct plan *plan) {
        for (size_t i = 0; i < plan->n_mounts; i++)
                if (plan->mounts[i].granted && plan->mounts[i].kind == MOUNT_S3)
                        return true;
        return false;
}

void s3_results_init(struct s3_result results[PLAN_MAX_MOUNTS]) {
        for (size_t i = 0; i < PLAN_MAX_MOUNTS; i++)
                results[i] = (struct s3_result) { .outcome = S3_NOT_S3, .tree_fd = -1, .conn_fd = -1 };
}

void s3_results_close(struct s3_result results[PLAN_MAX_MOUNTS]) {
        for (size_t i = 0; i < PLAN_MAX_MOUNTS; i++) {
                closep(&results[i].tree_fd);
                closep(&results[i].conn_fd);
        }
}

void s3_commit_pending(struct s3_result results[PLAN_MAX_MOUNTS]) {
        for (size_t i = 0; i < PLAN_MAX_MOUNTS; i++) {
                if (results[i].outcome == S3_PENDING && results[i].conn_fd >= 0)
                        /* a lost commit only means nbmountd attaches nothing: the entry stays pending */
                        (void) send_with_fd(results[i].conn_fd, MOUNTD_COMMIT, strlen(MOUNTD_COMMIT), -1);
                closep(&results[i].conn_fd);
        }
        s3_results_close(results);
}

static void request_for(const struct plan *plan, const struct plan_mount *m, const struct s3_holder *holder,
                        struct mountd_request *ret) {
        const struct settings_mount *s = m->s3;

        *ret = (struct mountd_request) { .op = MOUNTD_MOUNT, .pid = holder->pid };
        snprintf(ret->container, sizeof(ret->container), "%s", holder->container);
        snprintf(ret->spec.team, sizeof(ret->spec.team), "%s", plan->team);
        memcpy(ret->spec.bucket, s->bucket, sizeof(ret->spec.bucket));
        memcpy(ret->spec.prefix, s->prefix, sizeof(ret->spec.prefix));
        memcpy(ret->spec.endpoint, s->endpoint, sizeof(ret->spec.endpoint));
        memcpy(ret->spec.region, s->region, sizeof(ret->spec.region));
        memcpy(ret->spec.access_key_id, s->access_key_id, sizeof(ret->spec.access_key_id));
        memcpy(ret->spec.secret, s->secret_name, sizeof(ret->spec.secret));
        ret->spec.read_only = m->readonly;
        ret->spec.uid = (uint32_t) holder->uid;
        ret->spec.gid = (uint32_t) holder->gid;
        /* where the bucket goes: nbmountd swaps a new s3fs in there if this one dies */
        snprintf(ret->target, sizeof(ret->target), "%s", m->target);
        snprintf(ret->notebook, sizeof(ret->notebook), "%s", plan->notebook);
}

/* With settings.on_error skip: what nbmountd needs to attach the bucket into the running container
 * later (start_wait 0 in node.yaml: not wait at all, 1 ms). */
static int ask_to_pend(const struct node_config *config, const struct s3_holder *holder, struct mountd_request *req, struct nb_error *err) {
        int n = snprintf(req->rootfs, sizeof(req->rootfs), "%s", holder->rootfs ? holder->rootfs : "");

        if (!holder->rootfs || n < 0 || (size_t) n >= sizeof(req->rootfs))
                return nb_fail(err, ENAMETOOLONG, "the container's root %s is too long for nbmountd to attach a bucket later",
                               holder->rootfs ? holder->rootfs : "(none)");
        req->start_wait_ms = MAX(config->s3_start_wait_ms, 1U);
        return 0;
}

static bool reply_is_pending(struct json_object *reply) {
        struct json_object *pending;

        return json_object_object_get_ex(reply, "pending", &pending) && json_object_is_type(pending, json_type_boolean) &&
               json_object_get_boolean(pending);
}

/* What nbmountd answered on conn for m: a mount, a pending bucket (the connection is kept for the
 * commit), or a refusal (-errno, its words in err). */
static int settle(const struct plan_mount *m, const struct node_config *config, const struct s3_holder *holder,
                  int conn, unsigned timeout_s, struct s3_result *ret, struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        _cleanup_close_ int fd = -1, sock = conn;
        struct json_object *name;
        int r;

        if ((r = mountd_answer(sock, config->mountd_socket, timeout_s, &reply, &fd, err)) < 0)
                return nb_wrap(err, r, "%s: ", m->target);
        if (holder->may_skip && fd < 0 && reply_is_pending(reply)) {
                ret->outcome = S3_PENDING;
                ret->conn_fd = TAKE_FD(sock);
                snprintf(ret->reason, sizeof(ret->reason), "%.300s did not answer within %.3g s; nbmountd mounts it once it answers (within s3.mount_timeout, %u s)",
                         m->source, config->s3_start_wait_ms / 1000.0, config->s3_mount_timeout_s);
                if (holder->debug)
                        fprintf(stderr, "nbmount: debug: %s: %s pending\n", m->target, m->source);
                return 0;
        }
        if (fd < 0)
                return nb_fail(err, EPROTO, "%s: nbmountd answered without a mount", m->target);
        if (holder->debug && json_object_object_get_ex(reply, "mount", &name))
                fprintf(stderr, "nbmount: debug: %s: %s shared by nbmountd as %s\n", m->target, m->source,
                        json_object_get_string(name));
        ret->outcome = S3_MOUNTED;
        ret->tree_fd = TAKE_FD(fd);
        return 0;
}

/* The request for m sent to nbmountd: the connection its answer comes on, or -errno. */
static int ask(const struct plan *plan, const struct plan_mount *m, const struct node_config *config,
               const struct s3_holder *holder, unsigned timeout_s, struct nb_error *err) {
        struct mountd_request req;
        int r;

        request_for(plan, m, holder, &req);
        if (holder->may_skip && (r = ask_to_pend(config, holder, &req, err)) < 0)
                return nb_wrap(err, r, "%s: ", m->target);
        if ((r = mountd_ask(config->mountd_socket, &req, timeout_s, err)) < 0)
                return nb_wrap(err, r, "%s: ", m->target);
        return r;
}

/* nbmountd's words, without the target the status file shows beside them. */
static void skip_with(struct s3_result *ret, const struct plan_mount *m, const struct nb_error *why) {
        size_t n = strlen(m->target);
        const char *words = strncmp(why->msg, m->target, n) == 0 && strncmp(why->msg + n, ": ", 2) == 0 ? why->msg + n + 2
                                                                                                        : why->msg;

        ret->outcome = S3_SKIPPED;
        snprintf(ret->reason, sizeof(ret->reason), "%.*s", PLAN_REASON_MAX - 1, words);
}

static bool wanted(const struct plan_mount *m) {
        return m->granted && m->kind == MOUNT_S3;
}

/* settings.on_error skip: every request is sent at once, so that the buckets' start_wait runs at once
 * (a start waits start_wait, not start_wait per bucket). */
static void ask_skipping(const struct plan *plan, const struct node_config *config, const struct s3_holder *holder,
                         struct s3_result *results) {
        unsigned timeout_s = config->s3_start_wait_ms / 1000 + 5;

        for (size_t i = 0; i < plan->n_mounts; i++) {
                struct nb_error why = {};

                if (wanted(&plan->mounts[i]) &&
                    (results[i].conn_fd = ask(plan, &plan->mounts[i], config, holder, timeout_s, &why)) < 0)
                        skip_with(&results[i], &plan->mounts[i], &why);
        }
}

/* Then each answer is read in turn. */
static void settle_skipping(const struct plan *plan, const struct node_config *config,
                            const struct s3_holder *holder, struct s3_result *results) {
        unsigned timeout_s = config->s3_start_wait_ms / 1000 + 5;

        for (size_t i = 0; i < plan->n_mounts; i++) {
                struct nb_error why = {};
                int conn = TAKE_FD(results[i].conn_fd);

                if (conn >= 0 && settle(&plan->mounts[i], config, holder, conn, timeout_s, &results[i], &why) < 0)
                        skip_with(&results[i], &plan->mounts[i], &why);
        }
}

/* settings.on_error refuse: one by one, each up to mount_timeout; the first failure fails all. */
static int acquire_strictly(const struct plan *plan, const struct node_config *config,
                            const struct s3_holder *holder, struct s3_result *results, struct nb_error *err) {
        unsigned timeout_s = config->s3_mount_timeout_s + 5;
        int r = 0;

        for (size_t i = 0; i < plan->n_mounts && r >= 0; i++)
                if (wanted(&plan->mounts[i]) &&
                    (r = ask(plan, &plan->mounts[i], config, holder, timeout_s, err)) >= 0)
                        r = settle(&plan->mounts[i], config, holder, r, timeout_s, &results[i], err);
        if (r < 0) {
                s3_results_close(results);
                s3_release_all(config, holder->container, holder->debug);
        }
        return r < 0 ? r : 0;
}

void s3_ask_all(const struct plan *plan, const struct node_config *config, const struct s3_holder *holder,
                struct s3_result results[PLAN_MAX_MOUNTS]) {
        s3_results_init(results);
        if (holder->may_skip)
                ask_skipping(plan, config, holder, results);
}

int s3_acquire_all(const struct plan *plan, const struct node_config *config, const struct s3_holder *holder,
                   struct s3_result results[PLAN_MAX_MOUNTS], struct nb_error *err) {
        if (!holder->may_skip)
                return acquire_strictly(plan, config, holder, results, err);
        settle_skipping(plan, config, holder, results);
        return 0;
}

void s3_release_all(const struct node_config *config, const char *container, bool debug) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct mountd_request req = { .op = MOUNTD_RELEASE };
        struct nb_error err = {};
        _cleanup_close_ int fd = -1;
        struct json_object *released;

        snprintf(req.container, sizeof(req.container), "%s", container);
        if (mountd_call(config->mountd_socket, &req, RELEASE_TIMEOUT_S, &reply, &fd, &err) < 0) {
                if (debug)
                        fprintf(stderr, "nbmount: debug: container %s: nothing released: %s\n", container, err.msg);
                return;
        }
        if (debug && json_object_object_get_ex(reply, "released", &released))
                fprintf(stderr, "nbmount: debug: container %s: nbmountd released %s mounts\n", container,
                        json_object_get_string(released));
}

void s3_offline_request(const struct node_config *config, const char *container, const char *team,
                        const char *notebook, bool debug) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct mountd_request req = { .op = MOUNTD_OFFLINE };
        struct nb_error err = {};
        _cleanup_close_ int fd = -1;

        snprintf(req.container, sizeof(req.container), "%s", container);
        snprintf(req.spec.team, sizeof(req.spec.team), "%s", team);
        snprintf(req.notebook, sizeof(req.notebook), "%s", notebook);
        if (mountd_call(config->mountd_socket, &req, RELEASE_TIMEOUT_S, &reply, &fd, &err) < 0) {
                syslog(LOG_WARNING, "container %s (team %s, notebook %s): poststop: no offline copy now: %s", container,
                       team, notebook, err.msg);
                if (debug)
                        fprintf(stderr, "nbmount: debug: container %s: no offline copy: %s\n", container, err.msg);
                return;
        }
        if (debug)
                fprintf(stderr, "nbmount: debug: container %s: offline copy of %s/%s queued in nbmountd\n", container,
                        team, notebook);
}
