/* SPDX-License-Identifier: Apache-2.0 */
/* skiff: the user CLI. A flat table maps the first word to a command group. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ecs.h"
#include "cm/log.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"image", cli_image, "pull, unpack, list, inspect, remove and prune images"},
};

static void
usage(FILE *f)
{
    /* The ECS commands' table (cli/commands.c) lists "image" too. */
    cli_usage(f);
}

int
main(int argc, char **argv)
{
    cm_log_set_ident("skiff");
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("skiff version 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    int r = cli_ecs_main(argc - 1, argv + 1);
    if (r >= 0)
        return r;
    fprintf(stderr, "skiff: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
