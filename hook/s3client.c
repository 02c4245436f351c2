/* SPDX-License-Identifier: Apache-2.0 */
#include "s3client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
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
}

/* With settings.on_error skip: what nbmountd needs to attach the bucket into the running container
 * later (start_wait 0 in node.yaml: not wait at all, 1 ms). */
static int ask_to_pend(const struct plan *plan, const struct plan_mount *m, const struct node_config *config,
                       const struct s3_holder *holder, struct mountd_request *req, struct nb_error *err) {
        int n = snprintf(req->rootfs, sizeof(req->rootfs), "%s", holder->rootfs ? holder->rootfs : "");

        if (!holder->rootfs || n < 0 || (size_t) n >= sizeof(req->rootfs))
                return nb_fail(err, ENAMETOOLONG, "the container's root %s is too long for nbmountd to attach a bucket later",
                               holder->rootfs ? holder->rootfs : "(none)");
        snprintf(req->target, sizeof(req->target), "%s", m->target);
        snprintf(req->notebook, sizeof(req->notebook), "%s", plan->notebook);
        req->start_wait_ms = MAX(config->s3_start_wait_ms, 1U);
        return 0;
}

static bool reply_is_pending(struct json_object *reply) {
        struct json_object *pending;

        return json_object_object_get_ex(reply, "pending", &pending) && json_object_is_type(pending, json_type_boolean) &&
               json_object_get_boolean(pending);
}

static int acquire(const struct plan *plan, const struct plan_mount *m, const struct node_config *config,
                   const struct s3_holder *holder, struct s3_result *ret, struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        _cleanup_close_ int fd = -1, sock = -1;
        struct mountd_request req;
        struct json_object *name;
        unsigned timeout_s = config->s3_mount_timeout_s + 5;
        int r;

        request_for(plan, m, holder, &req);
        if (holder->may_skip && (r = ask_to_pend(plan, m, config, holder, &req, err)) < 0)
                return nb_wrap(err, r, "%s: ", m->target);
        if (holder->may_skip)
                timeout_s = config->s3_start_wait_ms / 1000 + 5;
        if ((r = mountd_call_keep(config->mountd_socket, &req, timeout_s, &reply, &fd, &sock, err)) < 0)
                return nb_wrap(err, r, "%s: ", m->target);
        if (holder->may_skip && fd < 0 && reply_is_pending(reply)) {
                ret->outcome = S3_PENDING;
                ret->conn_fd = TAKE_FD(sock);
                snprintf(ret->reason, sizeof(ret->reason), "%s did not answer within %.3g s; nbmountd mounts it once it answers (within s3.mount_timeout, %u s)",
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

int s3_acquire_all(const struct plan *plan, const struct node_config *config, const struct s3_holder *holder,
                   struct s3_result results[PLAN_MAX_MOUNTS], struct nb_error *err) {
        int r;

        for (size_t i = 0; i < PLAN_MAX_MOUNTS; i++)
                results[i] = (struct s3_result) { .outcome = S3_NOT_S3, .tree_fd = -1, .conn_fd = -1 };
        for (size_t i = 0; i < plan->n_mounts; i++) {
                const struct plan_mount *m = &plan->mounts[i];
                struct nb_error why = {};

                if (!m->granted || m->kind != MOUNT_S3)
                        continue;
                if ((r = acquire(plan, m, config, holder, &results[i], &why)) >= 0)
                        continue;
                if (!holder->may_skip) {
                        *err = why;
                        s3_results_close(results);
                        s3_release_all(config, holder->container, holder->debug);
                        return r;
                }
                results[i].outcome = S3_SKIPPED;
                /* nbmountd's words, without the target the status file shows beside them */
                snprintf(results[i].reason, sizeof(results[i].reason), "%.*s", PLAN_REASON_MAX - 1,
                         strncmp(why.msg, m->target, strlen(m->target)) == 0 && strncmp(why.msg + strlen(m->target), ": ", 2) == 0
                                 ? why.msg + strlen(m->target) + 2 : why.msg);
        }
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
