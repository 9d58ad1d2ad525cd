/* SPDX-License-Identifier: Apache-2.0 */
/* exec: a new process in a running container, from --process FILE or from the
 * command line over the container's own process settings. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "rt/container.h"

enum {
    O_CONSOLE,
    O_CWD,
    O_ENV,
    O_TTY,
    O_USER,
    O_GIDS,
    O_PROCESS,
    O_DETACH,
    O_PIDFILE,
    O_LABEL,
    O_APPARMOR,
    O_NNP,
    O_CAP,
    O_PRESERVE,
    O_IGNORE_PAUSED,
    O_CGROUP
};

static const struct rt_opt exec_opts[] = {
    {"console-socket", 0, true, O_CONSOLE},
    {"cwd", 0, true, O_CWD},
    {"env", 'e', true, O_ENV},
    {"tty", 't', false, O_TTY},
    {"user", 'u', true, O_USER},
    {"additional-gids", 'g', true, O_GIDS},
    {"process", 'p', true, O_PROCESS},
    {"detach", 'd', false, O_DETACH},
    {"pid-file", 0, true, O_PIDFILE},
    {"process-label", 0, true, O_LABEL},
    {"apparmor", 0, true, O_APPARMOR},
    {"no-new-privs", 0, false, O_NNP},
    {"cap", 'c', true, O_CAP},
    {"preserve-fds", 0, true, O_PRESERVE},
    {"ignore-paused", 0, false, O_IGNORE_PAUSED},
    {"cgroup", 0, true, O_CGROUP},
};

struct exec_args {
    struct rt_exec_opts o;
    const char *cwd, *user, *process;
    char **env;
    size_t n_env;
    int tty; /* -1 unset */
    bool nnp;
    uint64_t add_caps;
    gid_t *gids;
    size_t n_gids;
};

static int
on_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    struct exec_args *a = ud;
    switch (id) {
    case O_CONSOLE:
        a->o.console_socket = arg;
        break;
    case O_CWD:
        a->cwd = arg;
        break;
    case O_ENV:
        a->env = xrealloc(a->env, (a->n_env + 2) * sizeof(char *));
        a->env[a->n_env++] = (char *)arg;
        a->env[a->n_env] = NULL;
        break;
    case O_TTY:
        a->tty = !strcmp(arg, "true");
        break;
    case O_USER:
        a->user = arg;
        break;
    case O_GIDS: {
        int g;
        if (rt_parse_int(arg, &g) < 0)
            return cm_error_set(err, 0, "--additional-gids: invalid gid '%s'", arg);
        a->gids = xrealloc(a->gids, (a->n_gids + 1) * sizeof(gid_t));
        a->gids[a->n_gids++] = (gid_t)g;
        break;
    }
    case O_PROCESS:
        a->process = arg;
        break;
    case O_DETACH:
        a->o.detach = !strcmp(arg, "true");
        break;
    case O_PIDFILE:
        a->o.pid_file = arg;
        break;
    case O_NNP:
        a->nnp = !strcmp(arg, "true");
        break;
    case O_CAP: {
        int c = rt_cap_from_name(arg);
        if (c < 0)
            return cm_error_set(err, 0, "--cap: unknown capability '%s'", arg);
        a->add_caps |= 1ull << c;
        break;
    }
    case O_PRESERVE:
        if (rt_parse_int(arg, &a->o.preserve_fds) < 0)
            return cm_error_set(err, 0, "--preserve-fds: invalid number '%s'", arg);
        break;
    default:
        break;
    }
    return 0;
}

/* Replaces a process's env entry with the same name or appends it. */
static void
env_set(struct rt_process *p, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    size_t n = cm_strv_len(p->env);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(p->env[i], kv, klen) && p->env[i][klen] == '=') {
            free(p->env[i]);
            p->env[i] = xstrdup(kv);
            return;
        }
    p->env = xrealloc(p->env, (n + 2) * sizeof(char *));
    p->env[n] = xstrdup(kv);
    p->env[n + 1] = NULL;
}

int
cli_exec(int argc, char **argv)
{
    struct exec_args a = {.o = {.root = arg_globals.root}, .tty = -1};
    struct cm_error *err = NULL;
    cleanup_rt_config struct rt_config *cfg = NULL;
    struct rt_process proc = {0};
    struct rt_process *p;
    bool own_proc = false;
    int ind =
        cli_parse(argc, argv, exec_opts, sizeof(exec_opts) / sizeof(exec_opts[0]), on_opt, &a);
    int status = 0, r;

    if (ind < 0)
        goto fail_quiet;
    if (argc - ind < 1 || (!a.process && argc - ind < 2)) {
        cli_failf("exec: usage: exec [options] ID COMMAND [ARGS...] or exec -p FILE ID");
        goto fail_quiet;
    }
    a.o.id = argv[ind];
    if (a.process) {
        cleanup_free char *buf = NULL;
        size_t len = 0;
        if (cm_read_file_at(AT_FDCWD, a.process, RT_CONFIG_MAX_BYTES, &buf, &len, &err) < 0 ||
            rt_process_parse(buf, len, a.process, &proc, &err) < 0)
            goto fail;
        p = &proc;
        own_proc = true;
    } else {
        if (rt_container_config(a.o.root, a.o.id, &cfg, &err) < 0)
            goto fail;
        p = &cfg->process;
        cm_strv_free(p->args);
        p->args = xstrv_dup(argv + ind + 1);
        p->terminal = false;
    }
    for (size_t i = 0; i < a.n_env; i++)
        env_set(p, a.env[i]);
    if (a.cwd) {
        free(p->cwd);
        p->cwd = xstrdup(a.cwd);
    }
    if (a.tty >= 0)
        p->terminal = a.tty;
    if (a.user) {
        bool has_gid = false;
        if (rt_parse_user(a.user, &p->user.uid, &p->user.gid, &has_gid) < 0) {
            cli_failf("--user: expected UID[:GID], got '%s'", a.user);
            goto fail_quiet;
        }
        if (!has_gid)
            p->user.gid = 0;
    }
    if (a.n_gids) {
        free(p->user.additional_gids);
        p->user.additional_gids = TAKE_PTR(a.gids);
        p->user.n_additional_gids = a.n_gids;
    }
    if (a.nnp)
        p->no_new_privileges = true;
    if (a.add_caps) {
        p->caps.present = true;
        p->caps.bounding |= a.add_caps;
        p->caps.effective |= a.add_caps;
        p->caps.permitted |= a.add_caps;
        p->caps.inheritable |= a.add_caps;
        p->caps.ambient |= a.add_caps;
    }
    a.o.process = p;
    r = rt_container_exec(&a.o, &status, &err);
    if (own_proc)
        rt_process_done(&proc);
    free(a.env);
    free(a.gids);
    return r < 0 ? cli_fail(&err) : status;
fail:
    cli_fail(&err);
fail_quiet:
    if (own_proc)
        rt_process_done(&proc);
    free(a.env);
    free(a.gids);
    return 1;
}
