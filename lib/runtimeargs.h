/* SPDX-License-Identifier: Apache-2.0 */
/* runc's (and crun's) command line, read just enough to find the command and the bundle: what
 * nbmount-runtime(8) needs before it execs the real runtime with the same arguments. */
#pragma once

#include <stdbool.h>

struct runtime_args {
        int command;          /* index in argv of the command ("create", "state", ...), -1 when none */
        bool creates;         /* the command is create or run: the bundle's config.json is read */
        const char *bundle;   /* --bundle/-b, NULL when absent: the working directory */
        const char *config;   /* crun's --config/-f (a config file other than config.json), NULL when absent */
        const char *log_path; /* the global --log, NULL when absent */
        bool log_json;        /* the global --log-format json */
};

/* Reads argv as runc does (urfave/cli): global options, the command, the command's options up to
 * its first argument or "--". An option is -NAME or --NAME, with its value after "=" or in the next
 * word for the options known to take one; any other option is taken for a flag. Never fails: a
 * command line it cannot read has command -1 and is passed on untouched. */
void runtime_args_parse(int argc, char *const argv[], struct runtime_args *ret);
