/* SPDX-License-Identifier: Apache-2.0 */
/* OCI hooks: each runs with its args and env, the state JSON on stdin, and is
 * killed when it outlives its timeout. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm/cleanup.h"

static int
wait_hook(pid_t pid, int timeout, int *ret_status, bool *ret_timed_out)
{
    cleanup_close int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int st = 0;

    *ret_timed_out = false;
    if (timeout > 0 && pfd >= 0) {
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int r;
        do
            r = poll(&p, 1, timeout * 1000);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            kill(pid, SIGKILL);
            *ret_timed_out = true;
        }
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    *ret_status = st;
    return 0;
}

static int
run_one(const struct rt_hook *h, const char *state_json, struct cm_error **err)
{
    int pipefd[2];
    pid_t pid;
    int st = 0;
    bool timed_out = false;
    size_t len = strlen(state_json), off = 0;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return cm_error_errno(err, "pipe");
    pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return cm_error_errno(err, "fork");
    }
    if (pid == 0) {
        char *const noenv[] = {NULL};
        char *argv0[] = {h->path, NULL};
        dup2(pipefd[0], 0);
        signal(SIGPIPE, SIG_DFL);
        execve(h->path, h->args ? h->args : argv0, h->env ? h->env : noenv);
        fprintf(stderr, "skiff-runtime: exec hook '%s': %s\n", h->path, strerror(errno));
        _exit(127);
    }
    close(pipefd[0]);
    /* The hook may ignore stdin and exit: EPIPE is not an error. */
    while (off < len) {
        ssize_t n = write(pipefd[1], state_json + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(pipefd[1]);
    if (wait_hook(pid, h->has_timeout ? h->timeout : 0, &st, &timed_out) < 0)
        return cm_error_errno(err, "wait for hook '%s'", h->path);
    if (timed_out)
        return cm_error_set(err, ETIMEDOUT, "hook '%s' timed out after %d s", h->path, h->timeout);
    if (WIFSIGNALED(st))
        return cm_error_set(err, ECHILD, "hook '%s' killed by signal %d", h->path, WTERMSIG(st));
    if (WEXITSTATUS(st) != 0)
        return cm_error_set(err, ECHILD, "hook '%s' exited with status %d", h->path,
                            WEXITSTATUS(st));
    return 0;
}

int
rt_hooks_run(const struct rt_hook *hooks, size_t n, const char *state_json, struct cm_error **err)
{
    for (size_t i = 0; i < n; i++)
        if (run_one(&hooks[i], state_json, err) < 0)
            return -1;
    return 0;
}
