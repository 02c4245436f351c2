/* SPDX-License-Identifier: Apache-2.0 */
/* The plan as JSON (schemas/plan.schema.json). */
#pragma once

#include <json-c/json.h>

#include "plan.h"

/* A new json-c object; NULL on out of memory. */
struct json_object *plan_to_json(const struct plan *plan);
