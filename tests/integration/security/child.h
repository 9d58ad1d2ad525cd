/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a test body in a forked child (filters, uid and capability changes
 * must not touch Criterion's worker) and always reaps it. */
#pragma once

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: fail with the line number as exit status (1..255). */
#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "child check failed at line %d: %s (errno %s)\n", __LINE__, #cond,     \
                    strerror(errno));                                                              \
            _exit(__LINE__ % 250 + 1);                                                             \
        }                                                                                          \
    } while (0)

/* Forks, runs fn(arg) in the child, returns the raw wait status. The child
 * gets an alarm so that a hang cannot outlive the test. */
static inline int
run_child(int (*fn)(void *), void *arg)
{
    int status = 0;
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        alarm(20);
        _exit(fn(arg));
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            kill(pid, SIGKILL);
            cr_assert_fail("waitpid: %s", strerror(errno));
        }
    return status;
}

static inline void
assert_exit0(int status)
{
    cr_assert(WIFEXITED(status), "child killed by signal %d",
              WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    cr_assert_eq(WEXITSTATUS(status), 0, "child failed (status %d, see stderr)",
                 WEXITSTATUS(status));
}

static inline void
require_root(void)
{
    if (geteuid() != 0)
        cr_skip_test("requires root");
}
