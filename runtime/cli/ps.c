/* SPDX-License-Identifier: Apache-2.0 */
/* ps: the container's processes, as `ps` shows them (filtered on the PID
 * column) or a JSON array of pids. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "rt/container.h"

static const struct rt_opt ps_opts[] = {{"format", 'f', true, 0}};

static int
on_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    (void)id;
    if (strcmp(arg, "table") && strcmp(arg, "json"))
        return cm_error_set(err, 0, "invalid format option '%s'", arg);
    *(const char **)ud = arg;
    return 0;
}

static bool
has_pid(const pid_t *pids, size_t n, long pid)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

int
cli_ps(int argc, char **argv)
{
    const char *format = "table";
    struct cm_error *err = NULL;
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    int ind = cli_parse(argc, argv, ps_opts, 1, on_opt, &format);
    int pfd[2];
    pid_t child;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    int pidcol = -1;
    bool header = true;

    if (ind < 0 ||
        cli_need_args(argc, ind, 1, true, "ps", "ps [--format table|json] ID [ps options]"))
        return 1;
    if (rt_container_pids(arg_globals.root, argv[ind], &pids, &n, &err) < 0)
        return cli_fail(&err);
    if (!strcmp(format, "json")) {
        printf("[");
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", (int)pids[i]);
        printf("]\n");
        return 0;
    }
    if (pipe(pfd) < 0)
        return cli_failf("pipe: %s", strerror(errno));
    child = fork();
    if (child == 0) {
        char **av = xcalloc((size_t)(argc - ind) + 2, sizeof(char *));
        av[0] = "ps";
        if (argc - ind > 1)
            for (int i = ind + 1; i < argc; i++)
                av[i - ind] = argv[i];
        else
            av[1] = "-ef";
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execvp("ps", av);
        _exit(127);
    }
    close(pfd[1]);
    f = fdopen(pfd[0], "r");
    while (f && getline(&line, &cap, f) > 0) {
        if (header) {
            /* Find the PID column in the header. */
            int col = 0;
            char *save = NULL, *copy = xstrdup(line);
            for (char *t = strtok_r(copy, " \t\n", &save); t;
                 t = strtok_r(NULL, " \t\n", &save), col++)
                if (!strcmp(t, "PID"))
                    pidcol = col;
            free(copy);
            header = false;
            fputs(line, stdout);
            if (pidcol < 0) {
                fclose(f);
                free(line);
                waitpid(child, NULL, 0);
                return cli_failf("ps: couldn't find PID field in ps output");
            }
            continue;
        }
        {
            int col = 0;
            char *save = NULL, *copy = xstrdup(line);
            for (char *t = strtok_r(copy, " \t\n", &save); t;
                 t = strtok_r(NULL, " \t\n", &save), col++)
                if (col == pidcol) {
                    if (has_pid(pids, n, strtol(t, NULL, 10)))
                        fputs(line, stdout);
                    break;
                }
            free(copy);
        }
    }
    free(line);
    if (f)
        fclose(f);
    waitpid(child, NULL, 0);
    return 0;
}
