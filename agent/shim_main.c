/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-shim: daemonises (double fork, new session), then supervises one
 * container (agent/shim.c). The launcher exits with 0 once the daemon runs;
 * the daemon reports the container's start on fd 3 when the agent passed it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/shim.h"
#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/xalloc.h"

int
main(int argc, char **argv)
{
    struct agent_shim_opts o;
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *logpath = NULL;
    int ready_fd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
    pid_t pid;
    int null;

    cm_log_set_ident("skiff-shim");
    if (agent_shim_parse_args(argc, argv, &o, &err) < 0) {
        fprintf(stderr, "skiff-shim: %s\n", err->msg);
        fprintf(stderr, "usage: skiff-shim --id ID --bundle DIR --dir SHIMDIR --runtime PATH "
                        "[--runtime-root DIR] [--log-max-size BYTES] [--log-max-files N]\n");
        return 2;
    }
    if (o.sup_pid > 0) {
        /* Re-executed by ourselves once the container runs: already a daemon,
         * fd 3 may be one of the container's pipes. */
        logpath = xasprintf("%s/shim.log", o.dir);
        if (cm_log_open(logpath, &err) < 0)
            cm_error_free(&err);
        cm_log_set_format(CM_LOG_JSON);
        if (agent_shim_run(&o, -1, &err) < 0) {
            cm_log_error("container '%s': %s", o.id, err->msg);
            return 1;
        }
        return 0;
    }
    if (ready_fd >= 0)
        fcntl(ready_fd, F_SETFD, FD_CLOEXEC);

    pid = fork();
    if (pid < 0) {
        perror("skiff-shim: fork");
        return 1;
    }
    if (pid > 0) {
        /* The launcher: the daemon is on its own once its parent has exited. */
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (setsid() < 0)
        _exit(1);
    pid = fork();
    if (pid < 0)
        _exit(1);
    if (pid > 0)
        _exit(0);

    /* The daemon: no terminal, no inherited stdio, no cwd pinning a mount. */
    if (chdir("/") < 0)
        _exit(1);
    umask(022);
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    logpath = xasprintf("%s/shim.log", o.dir);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    if (cm_log_open(logpath, &err) < 0)
        cm_error_free(&err);
    cm_log_set_format(CM_LOG_JSON);
    if (agent_shim_run(&o, ready_fd, &err) < 0) {
        cm_log_error("container '%s': %s", o.id, err->msg);
        return 1;
    }
    return 0;
}
