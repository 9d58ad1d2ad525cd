/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: what the agent (root on its host) reads from outside:
 * skiffd's HTTP answers (agent/client.c: framing, chunked bodies, status,
 * the JSON object), the desired state of a poll answer and the register
 * answer (agent/state.c, as agent/daemon.c applies them, through
 * agent_reconcile against tasks the agent runs), and its config file
 * (agent_config_load on a memfd, then agent_config_validate). The first byte
 * picks: 0 an HTTP answer (bit 4: the endpoint is https), 1 a poll answer's
 * JSON, 2 a register answer's JSON, 3 a config file. Anything must be parsed
 * or refused with an error; never crash, leak or read out of bounds, and
 * every reconcile action must name an existing entry.
 * Run: scripts/fuzz agent_proto [SECONDS]
 * fuzz-sources: agent/client.c agent/state.c agent/config.c agent/cni.c agent/logserve.c
 * agent/logfile.c agent/taskdef.c common/error.c common/file.c common/json.c common/log.c
 * common/loop.c common/http_server.c common/xalloc.c
 * fuzz-pkgs: libmicrohttpd
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/client.h"
#include "agent/daemon.h"
#include "agent/state.h"
#include "cm/error.h"
#include "cm/log.h"
#include "cm/xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Tasks this agent runs: one skiffd still lists (in the seeds), one it
 * dropped, one stopping, one stopped. */
static const struct agent_local_task local[] = {
    {"arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef", false,
     false},
    {"arn:aws:ecs:us-east-1:000000000000:task/default/gone", false, false},
    {"arn:aws:ecs:us-east-1:000000000000:task/default/stopping", false, true},
    {"arn:aws:ecs:us-east-1:000000000000:task/default/stopped", true, false},
};
#define N_LOCAL (sizeof(local) / sizeof(local[0]))

/* As agent/daemon.c's apply_desired: parse, reconcile, check what would be started. */
static void
desired(json_t *ans)
{
    struct agent_desired_task *d = NULL;
    size_t nd = 0;
    if (agent_desired_parse(ans, 1024, &d, &nd) < 0) {
        if (d)
            abort();
        return;
    }
    struct agent_action *acts = xcalloc(nd + N_LOCAL + 1, sizeof(*acts));
    size_t n = agent_reconcile(d, nd, local, N_LOCAL, acts);
    if (n > nd + N_LOCAL)
        abort();
    json_t *tasks = json_object_get(ans, "tasks");
    for (size_t i = 0; i < n; i++) {
        if (acts[i].kind == AGENT_ACT_STOP ? acts[i].index >= N_LOCAL : acts[i].index >= nd)
            abort();
        if (acts[i].kind == AGENT_ACT_START) {
            json_t *tj = json_array_get(tasks, acts[i].index);
            if (!d[acts[i].index].run)
                abort();
            agent_task_ident_ok(json_string_value(json_object_get(tj, "taskArn")),
                                json_string_value(json_object_get(tj, "taskId")));
        }
    }
    free(acts);
    free(d);
}

static void
registered(json_t *ans)
{
    const char *arn = NULL;
    long poll_ms = 0;
    struct cm_error *err = NULL;
    if (agent_register_answer(ans, &arn, &poll_ms, &err) < 0) {
        if (!err)
            abort();
        cm_error_free(&err);
        return;
    }
    if (!arn || strlen(arn) > 2048 || poll_ms <= 0 || poll_ms >= 600000)
        abort();
}

static void
config(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("agent_proto", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    struct agent_config c;
    agent_config_init(&c, "/usr/bin/skiff-agent");
    struct cm_error *err = NULL;
    if (agent_config_load(path, &c, &err) < 0 || agent_config_validate(&c, &err) < 0) {
        if (!err)
            abort();
        cm_error_free(&err);
    }
    agent_config_done(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cm_log_set_level(CM_LOG_ERROR);
    uint8_t mode = data[0];
    data++;
    size--;
    switch (mode & 3) {
    case 0: {
        /* The client's receive buffer is NUL-terminated at len. */
        char *buf = xmalloc(size + 1);
        memcpy(buf, data, size);
        buf[size] = '\0';
        agent_client_answer_complete(buf, size);
        json_t *j = NULL;
        long status = -1;
        struct cm_error *err = NULL;
        if (agent_client_parse_answer(buf, size, mode & 0x10, "poll", &j, &status, &err) < 0) {
            if (!err || j)
                abort();
            cm_error_free(&err);
        } else {
            if (!json_is_object(j) || status < 200 || status > 299)
                abort();
            desired(j);
            registered(j);
            json_decref(j);
        }
        free(buf);
        break;
    }
    case 1:
    case 2: {
        json_t *j = json_loadb((const char *)data, size, 0, NULL);
        if (json_is_object(j)) {
            if ((mode & 3) == 1)
                desired(j);
            else
                registered(j);
        }
        json_decref(j);
        break;
    }
    default:
        config(data, size);
    }
    return 0;
}
