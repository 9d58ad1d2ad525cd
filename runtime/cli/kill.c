/* SPDX-License-Identifier: Apache-2.0 */
/* kill: a signal to the init process (or, with --all, to every process). */
#include <string.h>

#include "cli.h"
#include "rt/container.h"

static const struct rt_opt kill_opts[] = {{"all", 'a', false, 0}};

static int
on_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    (void)id, (void)err;
    *(bool *)ud = !strcmp(arg, "true");
    return 0;
}

int
cli_kill(int argc, char **argv)
{
    struct cm_error *err = NULL;
    bool all = false;
    int ind = cli_parse(argc, argv, kill_opts, 1, on_opt, &all);
    int sig = 15;

    if (ind < 0)
        return 1;
    if (argc - ind != 1 && argc - ind != 2)
        return cli_failf("kill: usage: kill [--all] ID [SIGNAL]");
    if (argc - ind == 2) {
        sig = rt_signal_from_name(argv[ind + 1]);
        if (sig < 0)
            return cli_failf("unknown signal '%s'", argv[ind + 1]);
    }
    return rt_container_kill(arg_globals.root, argv[ind], sig, all, &err) < 0 ? cli_fail(&err) : 0;
}
