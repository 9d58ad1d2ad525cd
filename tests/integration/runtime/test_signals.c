/* SPDX-License-Identifier: Apache-2.0 */
/* The container process starts with no signal blocked or ignored, whatever
 * the runtime's caller blocked or ignored (a shim blocking SIGTERM, a shell's
 * `trap '' TERM`), and without the runtime's own ignored SIGPIPE: for run,
 * create + start, and exec. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm/file.h"
#include "harness.h"

TestSuite(rt_signals, .init = h_setup, .fini = h_teardown, .timeout = 60);

struct saved_signals {
    sigset_t mask;
    struct sigaction act[3];
};

static const int hostile[] = {SIGINT, SIGTERM, SIGUSR1};

/* Makes this process (and so the runtime it starts) block SIGTERM and SIGUSR2
 * and ignore SIGINT, SIGTERM and SIGUSR1. */
static void
hostile_signals(struct saved_signals *s)
{
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigset_t block;

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGUSR2);
    cr_assert_eq(sigprocmask(SIG_BLOCK, &block, &s->mask), 0);
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
        cr_assert_eq(sigaction(hostile[i], &ign, &s->act[i]), 0);
}

static void
restore_signals(const struct saved_signals *s)
{
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
        sigaction(hostile[i], &s->act[i], NULL);
    sigprocmask(SIG_SETMASK, &s->mask, NULL);
}

/* The hex mask after "key:\t" in the init's report; fails the test if absent. */
static uint64_t
status_mask(const char *key)
{
    char pat[32];
    const char *p;

    snprintf(pat, sizeof(pat), "%s:\t", key);
    p = strstr(h_out, pat);
    cr_assert_not_null(p, "no %s in the report: %s", key, h_out);
    return strtoull(p + strlen(pat), NULL, 16);
}

static void
assert_clean_signals(void)
{
    uint64_t blk = status_mask("SigBlk"), ign = status_mask("SigIgn");
    cr_expect_eq(blk, 0, "SigBlk %#" PRIx64 " in the container: %s", blk, h_out);
    cr_expect_eq(ign, 0, "SigIgn %#" PRIx64 " in the container: %s", ign, h_out);
}

Test(rt_signals, run_resets_callers_mask_and_ignored)
{
    struct saved_signals s;
    int r;

    h_args("report", NULL);
    h_write_config();
    hostile_signals(&s);
    r = h_rt("run", "--bundle", H.bundle, h_id("sigrun"), NULL);
    restore_signals(&s);
    cr_assert_eq(r, 0, "%s", h_err);
    assert_clean_signals();
}

Test(rt_signals, create_start_resets_callers_mask_and_ignored)
{
    const char *id = h_id("sigcreate");
    char pidfile[256], path[64];
    char *buf = NULL;
    struct saved_signals s;
    size_t len = 0;
    int r;

    h_args("sleep", "30", NULL);
    h_write_config();
    snprintf(pidfile, sizeof(pidfile), "%s/pid", H.dir);
    hostile_signals(&s);
    r = h_rt("create", "--bundle", H.bundle, "--pid-file", pidfile, id, NULL);
    restore_signals(&s);
    cr_assert_eq(r, 0, "%s", h_err);
    cr_assert_eq(h_rt("start", id, NULL), 0, "%s", h_err);
    /* start returns once the init has exec'd: read its status from here. */
    cr_assert_eq(cm_read_file_at(AT_FDCWD, pidfile, 64, &buf, &len, NULL), 0);
    snprintf(path, sizeof(path), "/proc/%d/status", atoi(buf));
    free(buf);
    free(h_out);
    h_out = NULL;
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 1 << 16, &h_out, &len, NULL), 0);
    assert_clean_signals();
}

Test(rt_signals, exec_resets_callers_mask_and_ignored)
{
    const char *id = h_id("sigexec");
    struct saved_signals s;
    int r;

    h_args("sleep", "30", NULL);
    h_write_config();
    cr_assert_eq(h_rt("run", "-d", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    hostile_signals(&s);
    r = h_rt("exec", id, "/init", "report", NULL);
    restore_signals(&s);
    cr_assert_eq(r, 0, "%s", h_err);
    assert_clean_signals();
}

/* A caller that ignores SIGCHLD must still get the container's exit status
 * from `run` (with SIGCHLD ignored the kernel reaps children itself). Only the
 * runtime's process ignores it: the harness must still reap the runtime. */
Test(rt_signals, run_exit_status_with_sigchld_ignored)
{
    const char *id = h_id("sigchld");
    int st = 0;
    pid_t pid;

    h_args("exit", "7", NULL);
    h_write_config();
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        signal(SIGCHLD, SIG_IGN);
        execl(h_runtime(), "skiff-runtime", "--root", H.root, "run", "--bundle", H.bundle, id,
              (char *)NULL);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 7, "run exited %d", WEXITSTATUS(st));
}
