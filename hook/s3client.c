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

static int acquire(const struct plan *plan, const struct plan_mount *m, const struct node_config *config,
                   const struct s3_holder *holder, int *ret_fd, struct nb_error *err) {
        _cleanup_(json_object_putp) struct json_object *reply = NULL;
        struct mountd_request req;
        struct json_object *name;
        int r;

        request_for(plan, m, holder, &req);
        if ((r = mountd_call(config->mountd_socket, &req, config->s3_mount_timeout_s + 5, &reply, ret_fd, err)) < 0)
                return nb_wrap(err, r, "%s: ", m->target);
        if (*ret_fd < 0)
                return nb_fail(err, EPROTO, "%s: nbmountd answered without a mount", m->target);
        if (holder->debug && json_object_object_get_ex(reply, "mount", &name))
                fprintf(stderr, "nbmount: debug: %s: %s shared by nbmountd as %s\n", m->target, m->source,
                        json_object_get_string(name));
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
                if ((r = acquire(plan, m, config, holder, &results[i].tree_fd, &why)) == 0) {
                        results[i].outcome = S3_MOUNTED;
                } else if (holder->may_skip) {
                        results[i].outcome = S3_SKIPPED;
                        snprintf(results[i].reason, sizeof(results[i].reason), "%.*s", PLAN_REASON_MAX - 1, why.msg);
                } else {
                        *err = why;
                        s3_results_close(results);
                        s3_release_all(config, holder->container, holder->debug);
                        return r;
                }
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
