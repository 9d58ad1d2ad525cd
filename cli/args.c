/* SPDX-License-Identifier: Apache-2.0 */
/* Table-driven option parsing for the ECS commands: aws CLI conventions
 * (--opt VALUE, --opt=VALUE, list options taking every following word). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "ecs.h"

#define MAX_ARGS 4096

const struct cli_cmd *
cli_cmd_find(int argc, char **argv, int *ret_used)
{
    if (argc < 1)
        return NULL;
    /* Two-word commands ("wait services-stable") first. */
    if (argc >= 2) {
        cleanup_free char *two = xasprintf("%s %s", argv[0], argv[1]);
        for (size_t i = 0; i < cli_n_cmds; i++)
            if (!strcmp(cli_cmds[i].name, two)) {
                *ret_used = 2;
                return &cli_cmds[i];
            }
    }
    for (size_t i = 0; i < cli_n_cmds; i++)
        if (!strcmp(cli_cmds[i].name, argv[0])) {
            *ret_used = 1;
            return &cli_cmds[i];
        }
    return NULL;
}

static const struct cli_opt *
opt_find(const struct cli_opt *opts, const char *name, size_t len)
{
    for (const struct cli_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len))
            return o;
    return NULL;
}

static struct cli_arg *
arg_slot(struct cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].name, name))
            return &a->v[i];
    a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
    a->v[a->n] = (struct cli_arg){.name = name, .values = xcalloc(1, sizeof(char *))};
    return &a->v[a->n++];
}

static void
arg_push(struct cli_arg *s, const char *value)
{
    size_t n = cm_strv_len(s->values);
    s->values = xrealloc(s->values, (n + 2) * sizeof(char *));
    s->values[n] = xstrdup(value);
    s->values[n + 1] = NULL;
}

int
cli_args_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *ret,
               struct cm_error **err)
{
    struct cli_args a = {.cmd = cmd};

    if (argc > MAX_ARGS)
        return cm_error_set(err, E2BIG, "too many arguments (%d, at most %d)", argc, MAX_ARGS);
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (strncmp(w, "--", 2) || !w[2]) {
            /* One bare word may stand for the command's CLI_ARG option. */
            const struct cli_opt *p = cmd->opts;
            while (p && p->name && p->kind != CLI_ARG)
                p++;
            struct cli_arg *ps = p && p->name ? arg_slot(&a, p->name) : NULL;
            if (ps && !ps->values[0] && w[0] != '-') {
                arg_push(ps, w);
                continue;
            }
            cli_args_done(&a);
            return cm_error_set(err, 0, "unexpected argument '%s' (options start with --)", w);
        }
        const char *name = w + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const struct cli_opt *o = opt_find(cmd->opts, name, len);
        if (!o)
            o = opt_find(cli_global_opts, name, len);
        if (!o) {
            cli_args_done(&a);
            return cm_error_set(err, 0, "unknown option '--%.*s' (see 'skiff %s --help')", (int)len,
                                name, cmd->name);
        }
        struct cli_arg *s = arg_slot(&a, o->name);
        if (o->kind == CLI_FLAG) {
            if (eq) {
                cli_args_done(&a);
                return cm_error_set(err, 0, "option '--%s' takes no value", o->name);
            }
            if (!s->values[0])
                arg_push(s, "true");
            continue;
        }
        if (o->kind == CLI_VALUE || o->kind == CLI_ARG) {
            /* A later --opt overrides an earlier one. */
            cm_strv_free(s->values);
            s->values = xcalloc(1, sizeof(char *));
        }
        size_t before = cm_strv_len(s->values);
        if (eq) {
            arg_push(s, eq + 1);
        } else if (o->kind == CLI_VALUE || o->kind == CLI_ARG) {
            if (i + 1 < argc)
                arg_push(s, argv[++i]);
        } else {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2))
                arg_push(s, argv[++i]);
        }
        if (cm_strv_len(s->values) == before) {
            cli_args_done(&a);
            return cm_error_set(err, 0, "option '--%s' needs a value (%s)", o->name,
                                o->metavar ? o->metavar : "VALUE");
        }
    }
    if (!cli_flag(&a, "help"))
        for (const struct cli_opt *o = cmd->opts; o && o->name; o++)
            if (o->required && !cli_arg(&a, o->name)) {
                cli_args_done(&a);
                return cm_error_set(err, 0, "missing required option '--%s %s'", o->name,
                                    o->metavar ? o->metavar : "VALUE");
            }
    *ret = a;
    return 0;
}

void
cli_args_done(struct cli_args *a)
{
    for (size_t i = 0; i < a->n; i++)
        cm_strv_free(a->v[i].values);
    free(a->v);
    a->v = NULL;
    a->n = 0;
}

char *const *
cli_argv(const struct cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->v[i].name, name))
            return a->v[i].values;
    return NULL;
}

const char *
cli_arg(const struct cli_args *a, const char *name)
{
    char *const *v = cli_argv(a, name);
    size_t n = v ? cm_strv_len(v) : 0;
    return n ? v[n - 1] : NULL;
}

bool
cli_flag(const struct cli_args *a, const char *name)
{
    return cli_arg(a, name) != NULL;
}

int
cli_arg_int(const struct cli_args *a, const char *name, long long min, long long max,
            long long *ret, struct cm_error **err)
{
    const char *s = cli_arg(a, name);
    char *end = NULL;

    if (!s)
        return 0;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return cm_error_set(err, 0,
                            "option '--%s': expected an integer from %lld to %lld, got '%s'", name,
                            min, max, s);
    *ret = v;
    return 0;
}
