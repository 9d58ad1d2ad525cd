/* SPDX-License-Identifier: Apache-2.0 */
/* spec: writes a default config.json (--rootless: with a user namespace). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "rt/config.h"

enum { O_BUNDLE, O_ROOTLESS };
static const struct rt_opt spec_opts[] = {{"bundle", 'b', true, O_BUNDLE},
                                          {"rootless", 0, false, O_ROOTLESS}};

struct spec_args {
    const char *bundle;
    bool rootless;
};

static int
on_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    struct spec_args *a = ud;
    (void)err;
    if (id == O_BUNDLE)
        a->bundle = arg;
    else
        a->rootless = !strcmp(arg, "true");
    return 0;
}

int
cli_spec(int argc, char **argv)
{
    struct spec_args a = {.bundle = "."};
    struct cm_error *err = NULL;
    cleanup_free char *json = NULL;
    cleanup_close int dfd = -1;
    int ind = cli_parse(argc, argv, spec_opts, 2, on_opt, &a);

    if (ind < 0 || cli_need_args(argc, ind, 0, false, "spec", "spec [--bundle DIR] [--rootless]"))
        return 1;
    dfd = open(a.bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cli_failf("bundle '%s': %s", a.bundle, strerror(errno));
    if (faccessat(dfd, "config.json", F_OK, 0) == 0)
        return cli_failf("File config.json exists. Remove it first");
    json = rt_config_default_spec(a.rootless);
    if (!json)
        return cli_failf("no default spec available");
    if (cm_write_file_atomic_at(dfd, "config.json", json, strlen(json), 0644, &err) < 0)
        return cli_fail(&err);
    return 0;
}
