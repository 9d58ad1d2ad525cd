/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-runtime's verbs (one file each) and the global options they share. */
#pragma once

#include <stdbool.h>

#include "cm/error.h"
#include "rt/options.h"

struct cli_globals {
    const char *root;
    bool systemd_cgroup;
    bool debug;
};

extern struct cli_globals arg_globals;

/* Each verb gets argv after the verb name (argv[0] = verb) and returns the exit status. */
int cli_create(int argc, char **argv);
int cli_start(int argc, char **argv);
int cli_state(int argc, char **argv);
int cli_kill(int argc, char **argv);
int cli_delete(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_exec(int argc, char **argv);
int cli_ps(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_spec(int argc, char **argv);
int cli_features(int argc, char **argv);
int cli_pause(int argc, char **argv);
int cli_resume(int argc, char **argv);
int cli_update(int argc, char **argv);

/* Logs err (once) and returns 1. */
int cli_fail(struct cm_error **err);
/* Logs a formatted error and returns 1. */
int cli_failf(const char *fmt, ...) CM_PRINTF(1, 2);
/* Parses options; returns the index of the first positional or -1 (after logging). */
typedef int (*cli_opt_fn)(int id, const char *arg, void *ud, struct cm_error **err);
int cli_parse(int argc, char **argv, const struct rt_opt *opts, size_t n, cli_opt_fn fn, void *ud);
/* Requires exactly `want` positional args from ind (or at least, when at_least). */
int cli_need_args(int argc, int ind, int want, bool at_least, const char *verb, const char *usage);
