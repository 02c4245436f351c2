/* SPDX-License-Identifier: Apache-2.0 */
#include "planjson.h"

#include "jsonfile.h"
#include "util.h"

static struct json_object *quota_to_json(const struct plan_mount *m) {
        struct json_object *quota;

        if (!m->has_quota)
                return NULL;
        quota = json_object_new_object();
        json_object_object_add(quota, "project", json_object_new_string(m->quota.project));
        json_object_object_add(quota, "soft_bytes", json_bytes_or_null(m->quota.soft_bytes));
        json_object_object_add(quota, "hard_bytes", json_bytes_or_null(m->quota.hard_bytes));
        json_object_object_add(quota, "files", json_bytes_or_null(m->quota.files));
        return quota;
}

static struct json_object *s3_to_json(const struct settings_mount *s) {
        struct json_object *s3 = json_object_new_object();

        json_object_object_add(s3, "bucket", json_object_new_string(s->bucket));
        json_object_object_add(s3, "prefix", json_object_new_string(s->prefix));
        json_object_object_add(s3, "region", json_string_or_null(s->region));
        json_object_object_add(s3, "endpoint", json_string_or_null(s->endpoint));
        json_object_object_add(s3, "access_key_id", json_string_or_null(s->access_key_id));
        json_object_object_add(s3, "secret", json_string_or_null(s->secret_name));
        json_object_object_add(s3, "public", json_object_new_boolean(!s->access_key_id[0]));
        return s3;
}

static struct json_object *mount_to_json(const struct plan_mount *m) {
        struct json_object *mount = json_object_new_object();

        json_object_object_add(mount, "target", json_object_new_string(m->target));
        json_object_object_add(mount, "kind", json_object_new_string(mount_kind_name(m->kind)));
        json_object_object_add(mount, "source", json_object_new_string(m->source));
        json_object_object_add(mount, "readonly", json_object_new_boolean(m->readonly));
        json_object_object_add(mount, "quota", quota_to_json(m));
        json_object_object_add(mount, "status", json_object_new_string(plan_mount_status(m)));
        json_object_object_add(mount, "reason", m->granted ? NULL : json_object_new_string(m->reason));
        if (m->kind == MOUNT_DATASET) {
                struct json_object *dataset = json_object_new_object();

                json_object_object_add(dataset, "id", json_object_new_string(m->dataset_id));
                json_object_object_add(dataset, "version", json_string_or_null(m->version));
                json_object_object_add(mount, "dataset", dataset);
        }
        if (m->kind == MOUNT_S3)
                json_object_object_add(mount, "s3", s3_to_json(m->s3));
        return mount;
}

struct json_object *plan_to_json(const struct plan *plan) {
        struct json_object *root = json_object_new_object(), *mounts = json_object_new_array(),
                           *warnings = json_object_new_array();

        json_object_object_add(root, "team", json_object_new_string(plan->team));
        json_object_object_add(root, "notebook", json_object_new_string(plan->notebook));
        json_object_object_add(root, "user", json_object_new_string(plan->user));
        json_object_object_add(root, "cluster", json_object_new_string(plan->cluster));
        json_object_object_add(root, "storage_cluster", json_object_new_string(plan->storage_cluster));
        json_object_object_add(root, "plan", json_object_new_string(plan->plan_name));
        json_object_object_add(root, "card_on_file", json_object_new_boolean(plan->card_on_file));
        for (size_t i = 0; i < plan->n_mounts; i++)
                json_object_array_add(mounts, mount_to_json(&plan->mounts[i]));
        for (size_t i = 0; i < plan->n_warnings; i++)
                json_object_array_add(warnings, json_object_new_string(plan->warnings[i]));
        json_object_object_add(root, "mounts", mounts);
        json_object_object_add(root, "warnings", warnings);
        json_object_object_add(root, "settings_problem", json_string_or_null(plan->settings_problem));
        return root;
}
