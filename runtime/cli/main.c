/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-runtime: an OCI runtime with runc's command line. Global options, then
 * one verb per file. */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/random.h>

#include "cli.h"
#include "cm/log.h"
#include "rt/state.h"

struct cli_globals arg_globals = {.root = RT_DEFAULT_ROOT};
static bool log_to_file;

int
cli_fail(struct cm_error **err)
{
    const char *msg = err && *err ? (*err)->msg : "unknown error";
    cm_log_error("%s", msg);
    if (log_to_file)
        fprintf(stderr, "skiff-runtime: %s\n", msg);
    cm_error_free(err);
    return 1;
}

int
cli_failf(const char *fmt, ...)
{
    struct cm_error *e = NULL;
    va_list ap;
    va_start(ap, fmt);
    cm_error_setv(&e, 0, fmt, ap);
    va_end(ap);
    return cli_fail(&e);
}

int
cli_parse(int argc, char **argv, const struct rt_opt *opts, size_t n, cli_opt_fn fn, void *ud)
{
    int ind = 1;
    for (;;) {
        const char *arg = NULL;
        struct cm_error *e = NULL;
        int id = rt_opt_next(argc, argv, &ind, opts, n, &arg, &e);
        if (id == RT_OPT_END)
            return ind;
        if (id < 0 || fn(id, arg, ud, &e) < 0) {
            cli_fail(&e);
            return -1;
        }
    }
}

int
cli_need_args(int argc, int ind, int want, bool at_least, const char *verb, const char *usage)
{
    int have = argc - ind;
    if (have == want || (at_least && have >= want))
        return 0;
    return cli_failf("%s: \"%s\" requires %s%d argument%s (usage: %s)", verb, verb,
                     at_least ? "at least " : "exactly ", want, want == 1 ? "" : "s", usage);
}

enum { G_ROOT, G_LOG, G_LOG_FORMAT, G_DEBUG, G_SYSTEMD, G_ROOTLESS, G_CRIU, G_VERSION, G_HELP };

static const struct rt_opt global_opts[] = {
    {"root", 0, true, G_ROOT},
    {"log", 0, true, G_LOG},
    {"log-format", 0, true, G_LOG_FORMAT},
    {"debug", 0, false, G_DEBUG},
    {"systemd-cgroup", 0, false, G_SYSTEMD},
    {"rootless", 0, true, G_ROOTLESS},
    {"criu", 0, true, G_CRIU},
    {"version", 'v', false, G_VERSION},
    {"help", 'h', false, G_HELP},
};

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} verbs[] = {
    {"create", cli_create, "create a container"},
    {"start", cli_start, "start a created container"},
    {"state", cli_state, "output the state of a container"},
    {"kill", cli_kill, "send a signal to the container's init process"},
    {"delete", cli_delete, "delete a container"},
    {"run", cli_run, "create and run a container"},
    {"exec", cli_exec, "run a new process inside a container"},
    {"ps", cli_ps, "list the processes of a container"},
    {"list", cli_list, "list containers"},
    {"spec", cli_spec, "create a new specification file"},
    {"features", cli_features, "show the enabled features"},
    {"pause", cli_pause, "pause all processes of a container"},
    {"resume", cli_resume, "resume all processes of a container"},
    {"update", cli_update, "update the resources of a container"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: skiff-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug] "
               "[--systemd-cgroup] COMMAND [OPTIONS] ...\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
}

int
main(int argc, char **argv)
{
    int ind = 1;

    cm_log_set_ident("skiff-runtime");
    {
        /* jansson seeds its hash function at the first object by opening
         * /dev/urandom; one getrandom() does it for less (0: its own way). */
        uint32_t seed = 0;
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed) && seed)
            json_object_seed(seed);
    }
    /* A hook or console peer closing early must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    /* A caller that ignores SIGCHLD would make the kernel reap our children
     * and waitpid() fail, losing the container's exit status. */
    signal(SIGCHLD, SIG_DFL);
    for (;;) {
        const char *arg = NULL;
        struct cm_error *e = NULL;
        int id = rt_opt_next(argc, argv, &ind, global_opts,
                             sizeof(global_opts) / sizeof(global_opts[0]), &arg, &e);
        if (id == RT_OPT_END)
            break;
        if (id < 0)
            return cli_fail(&e);
        switch (id) {
        case G_ROOT:
            arg_globals.root = arg;
            break;
        case G_LOG:
            if (*arg) {
                if (cm_log_open(arg, &e) < 0)
                    return cli_fail(&e);
                log_to_file = true;
            }
            break;
        case G_LOG_FORMAT:
            if (!strcmp(arg, "json"))
                cm_log_set_format(CM_LOG_JSON);
            else if (!strcmp(arg, "text"))
                cm_log_set_format(CM_LOG_TEXT);
            else
                return cli_failf("unknown log format '%s' (text or json)", arg);
            break;
        case G_DEBUG:
            arg_globals.debug = !strcmp(arg, "true");
            if (arg_globals.debug)
                cm_log_set_level(CM_LOG_DEBUG);
            break;
        case G_SYSTEMD:
            arg_globals.systemd_cgroup = !strcmp(arg, "true");
            break;
        case G_ROOTLESS:
        case G_CRIU:
            break;
        case G_VERSION:
            printf("skiff-runtime version 0.1.0\nspec: " RT_OCI_VERSION "\n");
            return 0;
        case G_HELP:
            usage(stdout);
            return 0;
        default:
            break;
        }
    }
    if (ind >= argc) {
        usage(stderr);
        return 1;
    }
    if (!strcmp(argv[ind], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(argv[ind], verbs[i].name))
            return verbs[i].fn(argc - ind, argv + ind);
    return cli_failf("unknown command '%s'", argv[ind]);
}
