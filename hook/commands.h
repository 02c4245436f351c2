/* SPDX-License-Identifier: Apache-2.0 */
/* The verbs of the nbmount program; each parses its own arguments and returns the exit code. */
#pragma once

#include <stdbool.h>

#define EXIT_REFUSED 1 /* the plan refuses a mount */
#define EXIT_INVALID 2 /* an input, the config or the command line is invalid */

int cmd_hook(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_quota(int argc, char **argv);
int cmd_mounts(int argc, char **argv);
int cmd_offline(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_seccomp(int argc, char **argv);
int cmd_meter(int argc, char **argv);

#include <stdbool.h>
#include <time.h>

#include "nodeconfig.h"

/* nbmount quota --month (cmd_quota_month.c): the bill of month "YYYY-MM", of every team or one. */
int quota_month(const struct node_config *config, const char *month, const char *team, bool json, time_t now);

/* The options of a listing verb: --config FILE, --json, --help (usage on stdout: returns 0; an
 * unknown option: usage on stderr, -EINVAL). Returns 1 with the arguments from optind on. */
int parse_listing_options(int argc, char **argv, const char *usage, const char **ret_config_path, bool *ret_json);

/* Prints "nbmount: MESSAGE" on stderr. */
void print_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
