/* SPDX-License-Identifier: Apache-2.0 */
/* `skiff logs`: skiffd keeps no logs (the agent writes them on the task's
 * host); SkiffGetTaskLogs asks that host's agent through skiffd, page by page
 * with a cursor, and --follow long-polls for new lines until the task stops
 * (or the user interrupts). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "ecs.h"

#define FOLLOW_WAIT_MS 10000

/* --since: RFC 3339 UTC as is, or a duration back from now ("90s", "10m", "2h", "1d"). */
static char *
since_arg(const char *s)
{
    char *end;
    unsigned long long n;
    char buf[40];
    struct tm tm;

    if (strlen(s) >= 20 && isdigit((unsigned char)s[0]) && s[4] == '-' && s[strlen(s) - 1] == 'Z')
        return xstrdup(s);
    n = strtoull(s, &end, 10);
    if (end == s || !*end || end[1] || n > 100ull * 365 * 86400)
        return NULL;
    switch (*end) {
    case 's':
        break;
    case 'm':
        n *= 60;
        break;
    case 'h':
        n *= 3600;
        break;
    case 'd':
        n *= 86400;
        break;
    default:
        return NULL;
    }
    time_t t = time(NULL) - (time_t)n;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return xstrdup(buf);
}

/* Prints a page; returns the number of events. */
static size_t
print_events(json_t *out, bool prefix)
{
    size_t i;
    json_t *e;
    json_t *events = json_object_get(out, "events");

    json_array_foreach (events, i, e) {
        const char *log = json_string_value(json_object_get(e, "log"));
        const char *stream = json_string_value(json_object_get(e, "stream"));
        FILE *f = stream && !strcmp(stream, "stderr") ? stderr : stdout;
        if (!log)
            continue;
        if (prefix)
            fprintf(f, "%s | ", json_string_value(json_object_get(e, "container")));
        fputs(log, f);
    }
    fflush(stdout);
    fflush(stderr);
    return json_array_size(events);
}

static bool
task_stopped(struct cli_ctx *ctx, const struct cli_args *a, const char *task)
{
    json_auto_t *in = cli_req_cluster(a), *out = NULL;
    cleanup_error struct cm_error *err = NULL;

    json_object_set_new(in, "tasks", json_pack("[s]", task));
    if (cli_ecs_call(ctx, "DescribeTasks", in, &out, &err) < 0)
        return false;
    json_t *t = json_array_get(json_object_get(out, "tasks"), 0);
    return !t || !strcmp(json_string_value(json_object_get(t, "lastStatus")), "STOPPED");
}

int
cli_cmd_logs(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *din = cli_req_cluster(a), *dout = NULL;
    const char *task = cli_arg(a, "task"), *want = cli_arg(a, "container");
    bool follow = cli_flag(a, "follow");
    cleanup_free char *since = NULL, *token = NULL;
    long long tail = 0;

    if (cli_arg_int(a, "tail", 1, 1000000, &tail, &err) < 0)
        return cli_fail(NULL, a, &err);
    if (cli_arg(a, "since") && !(since = since_arg(cli_arg(a, "since")))) {
        fprintf(stderr,
                "skiff logs: --since '%s' is neither an RFC 3339 UTC time "
                "(2026-01-02T15:04:05Z) nor a duration (90s, 10m, 2h, 1d)\n",
                cli_arg(a, "since"));
        return 2;
    }
    json_object_set_new(din, "tasks", json_pack("[s]", task));
    if (cli_ecs_call(ctx, "DescribeTasks", din, &dout, &err) < 0)
        return cli_fail(ctx, a, &err);
    json_t *t = json_array_get(json_object_get(dout, "tasks"), 0);
    if (!t) {
        fprintf(stderr, "skiff logs: task '%s' not found in the cluster\n", task);
        fprintf(stderr, "  hint: 'skiff list-tasks --desired-status STOPPED' lists stopped ones\n");
        return 1;
    }
    /* Several containers in one stream: each line says whose it is. */
    bool prefix = !want && json_array_size(json_object_get(t, "containers")) > 1;
    for (bool first = true;; first = false) {
        json_auto_t *in = cli_req_cluster(a), *out = NULL;
        json_object_set_new(in, "task", json_string(task));
        if (want)
            json_object_set_new(in, "containerName", json_string(want));
        if (token)
            json_object_set_new(in, "nextToken", json_string(token));
        else if (since)
            json_object_set_new(in, "since", json_string(since));
        if (first && tail)
            json_object_set_new(in, "tail", json_integer(tail));
        if (follow && !first)
            json_object_set_new(in, "waitMs", json_integer(FOLLOW_WAIT_MS));
        if (cli_ecs_call(ctx, "SkiffGetTaskLogs", in, &out, &err) < 0)
            return cli_fail(ctx, a, &err);
        size_t n = print_events(out, prefix);
        const char *next = json_string_value(json_object_get(out, "nextToken"));
        if (next) {
            free(token);
            token = xstrdup(next);
        }
        /* A page cut by a limit: the rest at once, follow or not. */
        if (json_is_true(json_object_get(out, "more")))
            continue;
        if (!follow || json_is_true(json_object_get(out, "stopped")))
            return 0;
        if (n > 0)
            continue;
        /* Nothing new within the wait: a task that stopped without its containers'
         * exit records (a lost host) has nothing more to say either. */
        if (!first && task_stopped(ctx, a, task))
            return 0;
    }
}
