/* SPDX-License-Identifier: Apache-2.0 */
/* create and run: a container from a bundle. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rt/container.h"

enum { O_BUNDLE, O_CONSOLE, O_PIDFILE, O_NOPIVOT, O_NOKEYRING, O_PRESERVE, O_DETACH, O_KEEP };

static const struct rt_opt create_opts[] = {
    {"bundle", 'b', true, O_BUNDLE},           {"console-socket", 0, true, O_CONSOLE},
    {"pid-file", 0, true, O_PIDFILE},          {"no-pivot", 0, false, O_NOPIVOT},
    {"no-new-keyring", 0, false, O_NOKEYRING}, {"preserve-fds", 0, true, O_PRESERVE},
    {"detach", 'd', false, O_DETACH},          {"keep", 0, false, O_KEEP},
    {"no-subreaper", 0, false, O_KEEP},
};

struct create_args {
    struct rt_create_opts o;
    bool detach;
};

static int
on_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    struct create_args *a = ud;
    switch (id) {
    case O_BUNDLE:
        a->o.bundle = arg;
        break;
    case O_CONSOLE:
        a->o.console_socket = arg;
        break;
    case O_PIDFILE:
        a->o.pid_file = arg;
        break;
    case O_NOPIVOT:
        a->o.no_pivot = !strcmp(arg, "true");
        break;
    case O_PRESERVE:
        if (rt_parse_int(arg, &a->o.preserve_fds) < 0)
            return cm_error_set(err, 0, "--preserve-fds: invalid number '%s'", arg);
        break;
    case O_DETACH:
        a->detach = !strcmp(arg, "true");
        break;
    default:
        break;
    }
    return 0;
}

static int
create_or_run(int argc, char **argv, bool run)
{
    struct create_args a = {.o = {.root = arg_globals.root}};
    struct cm_error *err = NULL;
    size_t n = sizeof(create_opts) / sizeof(create_opts[0]) - (run ? 0 : 3);
    int ind = cli_parse(argc, argv, create_opts, n, on_opt, &a);
    int status = 0;

    if (ind < 0)
        return 1;
    if (cli_need_args(argc, ind, 1, false, argv[0],
                      run ? "run [options] ID" : "create [options] ID") != 0)
        return 1;
    a.o.id = argv[ind];
    a.o.systemd_cgroup = arg_globals.systemd_cgroup;
    if (!run)
        return rt_container_create(&a.o, &err) < 0 ? cli_fail(&err) : 0;
    if (rt_container_run(&a.o, a.detach, &status, &err) < 0)
        return cli_fail(&err);
    return status;
}

int
cli_create(int argc, char **argv)
{
    return create_or_run(argc, argv, false);
}

int
cli_run(int argc, char **argv)
{
    return create_or_run(argc, argv, true);
}
