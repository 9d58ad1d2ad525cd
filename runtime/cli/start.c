/* SPDX-License-Identifier: Apache-2.0 */
/* start: releases a created container. */
#include "cli.h"
#include "rt/container.h"

static int
no_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    (void)id, (void)arg, (void)ud, (void)err;
    return 0;
}

int
cli_start(int argc, char **argv)
{
    struct cm_error *err = NULL;
    int ind = cli_parse(argc, argv, NULL, 0, no_opt, NULL);

    if (ind < 0 || cli_need_args(argc, ind, 1, false, "start", "start ID") != 0)
        return 1;
    return rt_container_start(arg_globals.root, argv[ind], &err) < 0 ? cli_fail(&err) : 0;
}
