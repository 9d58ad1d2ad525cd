/* SPDX-License-Identifier: Apache-2.0 */
/* state: the spec's state JSON of one container. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "rt/container.h"

static int
no_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    (void)id, (void)arg, (void)ud, (void)err;
    return 0;
}

int
cli_state(int argc, char **argv)
{
    struct cm_error *err = NULL;
    char *json = NULL;
    int ind = cli_parse(argc, argv, NULL, 0, no_opt, NULL);

    if (ind < 0 || cli_need_args(argc, ind, 1, false, "state", "state ID") != 0)
        return 1;
    if (rt_container_state(arg_globals.root, argv[ind], &json, &err) < 0)
        return cli_fail(&err);
    printf("%s\n", json);
    free(json);
    return 0;
}
