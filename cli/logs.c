/* SPDX-License-Identifier: Apache-2.0 */
/* `skiff logs`: skiffd keeps no logs (the agent writes them on the task's
 * host), so this resolves the task through skiffd and reads the logs with
 * `skiff-agent logs` from the local agent's state directory. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "ecs.h"

/* skiff-agent next to this binary, else from PATH. */
static char *
agent_binary(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        cleanup_free char *p = xasprintf("%s/skiff-agent", dirname(self));
        if (access(p, X_OK) == 0)
            return TAKE_PTR(p);
    }
    return xstrdup("skiff-agent");
}

static int
run_agent_logs(const char *agent, const char *state, const char *task, const char *ctr,
               const char *tail)
{
    const char *argv[10] = {agent, "logs", "--state", state, task, ctr};
    int n = 6;
    if (tail) {
        argv[n++] = "--tail";
        argv[n++] = tail;
    }
    argv[n] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(agent, (char *const *)argv);
        fprintf(stderr, "skiff logs: cannot run '%s': %s\n", agent, strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

int
cli_cmd_logs(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *in = cli_req_cluster(a), *out = NULL;
    const char *state = cli_arg(a, "agent-state"), *want = cli_arg(a, "container");
    cleanup_free char *agent = agent_binary();
    cleanup_free char *def_state = NULL;
    long long tail = 0;
    struct stat st;
    int rc = 0, shown = 0;

    if (cli_arg_int(a, "tail", 1, 1000000, &tail, &err) < 0)
        return cli_fail(NULL, a, &err);
    if (!state) {
        const char *s = getenv("SKIFF_STATE_DIR");
        def_state = xasprintf("%s/agent", s && *s ? s : CLI_DEFAULT_STATE);
        state = def_state;
    }
    json_object_set_new(in, "tasks", json_pack("[s]", cli_arg(a, "task")));
    if (cli_ecs_call(ctx, "DescribeTasks", in, &out, &err) < 0)
        return cli_fail(ctx, a, &err);
    json_t *task = json_array_get(json_object_get(out, "tasks"), 0);
    if (!task) {
        fprintf(stderr, "skiff logs: task '%s' not found in the cluster\n", cli_arg(a, "task"));
        fprintf(stderr, "  hint: 'skiff list-tasks --desired-status STOPPED' lists stopped ones\n");
        return 1;
    }
    const char *id = cli_arn_tail(json_string_value(json_object_get(task, "taskArn")));
    /* The id becomes a path below the agent's state: only a plain name. */
    if (!id || !*id || id[0] == '.' ||
        strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(id)) {
        fprintf(stderr, "skiff logs: skiffd returned an unexpected task ARN\n");
        return 1;
    }
    cleanup_free char *tdir = xasprintf("%s/tasks/%s", state, id);
    if (stat(tdir, &st) < 0) {
        fprintf(stderr,
                "skiff logs: task %s has no logs on this host ('%s' does not exist)\n"
                "  hint: skiffd stores no logs; run 'skiff logs' on the host of container "
                "instance %s, or pass --agent-state DIR\n",
                id, tdir,
                cli_arn_tail(json_string_value(json_object_get(task, "containerInstanceArn"))));
        return 1;
    }
    size_t i;
    json_t *c;
    char tailbuf[24];
    snprintf(tailbuf, sizeof(tailbuf), "%lld", tail);
    size_t nc = json_array_size(json_object_get(task, "containers"));
    json_array_foreach (json_object_get(task, "containers"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name || (want && strcmp(want, name)) || name[0] == '.' || strchr(name, '/'))
            continue;
        if (nc > 1 && !want)
            printf("==> %s <==\n", name);
        int r = run_agent_logs(agent, state, id, name, tail ? tailbuf : NULL);
        if (r)
            rc = 1;
        shown++;
    }
    if (!shown) {
        fprintf(stderr, "skiff logs: task %s has no container '%s'\n", id, want ? want : "");
        return 1;
    }
    return rc;
}
