/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-agent-worker: one job of the agent (a task's preparation, image
 * garbage collection) per process: a JSON request on stdin, a JSON answer on
 * stdout (include/agent/prepare.h). It dies with the agent: a restarted agent
 * redoes an unfinished preparation from the start. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "agent/prepare.h"
#include "cm/cleanup.h"
#include "cm/log.h"

int
main(int argc, char **argv)
{
    json_error_t jerr;
    json_auto_t *req = NULL;
    json_auto_t *ans = NULL;
    cleanup_free char *text = NULL;
    size_t len;

    (void)argv;
    cm_log_set_ident("skiff-agent-worker");
    if (argc != 1) {
        fprintf(stderr,
                "usage: skiff-agent-worker <REQUEST.json >ANSWER.json (run by skiff-agent)\n");
        return 2;
    }
    /* An orphaned job would race the redone preparation of a restarted agent. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        return 1;
    req = json_loadf(stdin, JSON_DISABLE_EOF_CHECK, &jerr);
    if (!req)
        ans = json_pack("{s:b, s:s}", "ok", 0, "error", "worker: request is not JSON");
    else
        ans = agent_worker_handle(req);
    text = json_dumps(ans, JSON_COMPACT);
    len = strlen(text);
    return fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : 1;
}
