/* SPDX-License-Identifier: Apache-2.0 */
/* delete: removes a stopped container (--force kills it first). */
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "rt/container.h"

static const struct rt_opt delete_opts[] = {{"force", 'f', false, 0}};

static int
on_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    (void)id, (void)err;
    *(bool *)ud = !strcmp(arg, "true");
    return 0;
}

int
cli_delete(int argc, char **argv)
{
    struct cm_error *err = NULL;
    bool force = false;
    int ind = cli_parse(argc, argv, delete_opts, 1, on_opt, &force);

    if (ind < 0 || cli_need_args(argc, ind, 1, false, "delete", "delete [--force] ID") != 0)
        return 1;
    if (rt_container_delete(arg_globals.root, argv[ind], force, &err) < 0) {
        /* runc: deleting a container that does not exist with --force is not an error. */
        if (force && err && err->code == ENOENT) {
            cm_error_free(&err);
            return 0;
        }
        return cli_fail(&err);
    }
    return 0;
}
