/* SPDX-License-Identifier: Apache-2.0 */
/* pause and resume: the cgroup freezer. */
#include "cli.h"
#include "rt/container.h"

static int
no_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    (void)id, (void)arg, (void)ud, (void)err;
    return 0;
}

static int
pause_resume(int argc, char **argv, bool pause)
{
    struct cm_error *err = NULL;
    int ind = cli_parse(argc, argv, NULL, 0, no_opt, NULL);

    if (ind < 0 || cli_need_args(argc, ind, 1, false, argv[0], pause ? "pause ID" : "resume ID"))
        return 1;
    return rt_container_pause(arg_globals.root, argv[ind], pause, &err) < 0 ? cli_fail(&err) : 0;
}

int
cli_pause(int argc, char **argv)
{
    return pause_resume(argc, argv, true);
}

int
cli_resume(int argc, char **argv)
{
    return pause_resume(argc, argv, false);
}
