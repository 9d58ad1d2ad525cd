/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-shim against a real OCI runtime: exit codes, logs, signals through the
 * control FIFO, OOM detection, a failed create, surviving the agent's SIGKILL. */
#include "shim_fixture.h"

#include <errno.h>
#include <fcntl.h>

#include "agent/logfile.h"

static struct shim_fixture fx;

static void
teardown(void)
{
    fixture_teardown(&fx);
}

TestSuite(agent_shim, .fini = teardown, .timeout = 60);

static pid_t
spawn_ok(void)
{
    struct agent_shim_opts o;
    struct cm_error *err = NULL;
    pid_t shim = 0;

    fixture_opts(&fx, &o);
    cr_assert_eq(agent_shim_spawn(fx.shim, &o, &shim, &err), 0, "spawn: %s", err ? err->msg : "");
    cr_assert_gt(shim, 0);
    return shim;
}

Test(agent_shim, exit_code_and_logs_recorded)
{
    const char *args[] = {"/bin/busybox", "sh", "-c", "echo hello; echo oops >&2; exit 3", NULL};
    struct agent_exit_record rec;
    struct agent_log_record *logs = NULL;
    size_t n = 0;
    cleanup_free char *logpath = NULL;
    cleanup_free char *state = NULL;

    fixture_setup(&fx, "exit", args, 0);
    spawn_ok();
    fixture_wait_exit(&fx, &rec);
    cr_assert_eq(rec.exit_code, 3);
    cr_assert_eq(rec.signal, 0);
    cr_assert_not(rec.oom_killed);
    logpath = xasprintf("%s/%s", fx.shimdir, AGENT_SHIM_LOG_NAME);
    cr_assert_eq(agent_log_read(logpath, 1, NULL, 0, &logs, &n, NULL), 0);
    cr_assert_eq(n, 2);
    {
        int out = logs[0].stream == AGENT_LOG_STDOUT ? 0 : 1;
        cr_assert_str_eq(logs[out].log, "hello\n");
        cr_assert_str_eq(logs[1 - out].log, "oops\n");
        cr_assert_eq(logs[1 - out].stream, AGENT_LOG_STDERR);
    }
    agent_log_records_free(logs, n);
    /* The shim deleted the container from the runtime once the exit was recorded. */
    state = xasprintf("%s/%s", fx.root, fx.id);
    for (int i = 0; i < 500 && access(state, F_OK) == 0; i++)
        usleep(10000);
    cr_assert_neq(access(state, F_OK), 0, "runtime state left behind");
}

Test(agent_shim, signal_through_ctl_records_137)
{
    const char *args[] = {"/bin/busybox", "sleep", "1000", NULL};
    struct agent_exit_record rec;
    enum agent_shim_state st;
    struct agent_shim_record srec;
    struct cm_error *err = NULL;

    fixture_setup(&fx, "kill", args, 0);
    spawn_ok();
    cr_assert_eq(agent_shim_inspect(fx.shimdir, &st, &rec, &srec, NULL), 0);
    cr_assert_eq(st, AGENT_SHIM_RUNNING);
    cr_assert_gt(srec.pid, 0);
    cr_assert_eq(kill(srec.pid, 0), 0, "the container's init is not running");
    cr_assert_eq(agent_shim_signal(fx.shimdir, SIGKILL, &err), 0, "%s", err ? err->msg : "");
    fixture_wait_exit(&fx, &rec);
    cr_assert_eq(rec.exit_code, 137);
    cr_assert_eq(rec.signal, SIGKILL);
    cr_assert_not(rec.oom_killed);
}

Test(agent_shim, oom_kill_flagged)
{
    const char *args[] = {"/bin/busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M",
                          "count=1",      NULL};
    struct agent_exit_record rec;

    fixture_setup(&fx, "oom", args, 16L << 20);
    spawn_ok();
    fixture_wait_exit(&fx, &rec);
    cr_assert_eq(rec.exit_code, 137);
    cr_assert(rec.oom_killed, "OOM kill not detected");
}

Test(agent_shim, failed_create_reports_error_and_leaves_nothing)
{
    const char *args[] = {"/no/such/binary", NULL};
    struct agent_shim_opts o;
    struct cm_error *err = NULL;
    pid_t shim = 0;
    enum agent_shim_state st;
    struct agent_exit_record rec;
    cleanup_free char *state = NULL;

    fixture_setup(&fx, "fail", args, 0);
    fixture_opts(&fx, &o);
    cr_assert_eq(agent_shim_spawn(fx.shim, &o, &shim, &err), -1);
    cr_assert_not_null(err);
    cr_assert(strstr(err->msg, fx.id), "message does not name the container: %s", err->msg);
    cm_error_free(&err);
    cr_assert_eq(agent_shim_inspect(fx.shimdir, &st, &rec, NULL, NULL), 0);
    cr_assert_neq(st, AGENT_SHIM_EXITED);
    state = xasprintf("%s/%s", fx.root, fx.id);
    cr_assert_neq(access(state, F_OK), 0, "runtime state left behind");
}

Test(agent_shim, survives_agent_kill_and_records_exit_meanwhile)
{
    const char *args[] = {"/bin/busybox", "sh", "-c",
                          "echo up; while [ ! -e /w/go ]; do sleep 0.05; done; exit 7", NULL};
    struct agent_exit_record rec;
    enum agent_shim_state st;
    struct agent_shim_record srec;
    cleanup_free char *go = NULL;
    int sync[2];
    pid_t agent;
    int status;
    char c;

    fixture_setup(&fx, "adopt", args, 0);
    cr_assert_eq(pipe(sync), 0);
    /* A stand-in agent: spawns the shim, says so, waits to be killed. */
    agent = fork();
    cr_assert_geq(agent, 0);
    if (agent == 0) {
        struct agent_shim_opts o;
        pid_t shim;
        close(sync[0]);
        fixture_opts(&fx, &o);
        if (agent_shim_spawn(fx.shim, &o, &shim, NULL) < 0)
            _exit(1);
        if (write(sync[1], "k", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(sync[1]);
    cr_assert_eq(read(sync[0], &c, 1), 1, "the agent failed to start the container");
    close(sync[0]);
    cr_assert_eq(kill(agent, SIGKILL), 0);
    cr_assert_eq(waitpid(agent, &status, 0), agent);
    cr_assert(WIFSIGNALED(status));

    /* The agent is gone: the shim and the container are still there. */
    cr_assert_eq(agent_shim_inspect(fx.shimdir, &st, &rec, &srec, NULL), 0);
    cr_assert_eq(st, AGENT_SHIM_RUNNING);
    cr_assert_eq(kill(srec.shim_pid, 0), 0);
    cr_assert_eq(kill(srec.pid, 0), 0);

    /* The container exits while no agent runs; a new agent finds the code. */
    go = xasprintf("%s/go", fx.work);
    cr_assert_eq(run_cmd("touch %s", go), 0);
    fixture_wait_exit(&fx, &rec);
    cr_assert_eq(rec.exit_code, 7);
    cr_assert_eq(rec.signal, 0);
}

Test(agent_shim, signal_without_shim_is_esrch)
{
    const char *args[] = {"/bin/busybox", "true", NULL};
    struct cm_error *err = NULL;
    cleanup_free char *ctl = NULL;

    fixture_setup(&fx, "noshim", args, 0);
    ctl = xasprintf("%s/ctl", fx.shimdir);
    cr_assert_eq(mkfifo(ctl, 0600), 0);
    cr_assert_eq(agent_shim_signal(fx.shimdir, SIGTERM, &err), -1);
    cr_assert_eq(err->code, ESRCH);
    cm_error_free(&err);
}

Test(agent_shim, container_handles_sigterm)
{
    /* The init must start with no signal blocked: its TERM handler runs. */
    const char *args[] = {"/bin/busybox", "sh", "-c",
                          "trap 'exit 42' TERM; echo > /w/ready; /bin/busybox sleep 1000 & wait",
                          NULL};
    struct agent_exit_record rec;
    cleanup_free char *ready = NULL;
    struct cm_error *err = NULL;

    fixture_setup(&fx, "term", args, 0);
    spawn_ok();
    ready = xasprintf("%s/ready", fx.work);
    for (int i = 0; i < 500 && access(ready, F_OK) != 0; i++)
        usleep(10000);
    cr_assert_eq(access(ready, F_OK), 0, "container did not start");
    cr_assert_eq(agent_shim_signal(fx.shimdir, SIGTERM, &err), 0, "%s", err ? err->msg : "");
    fixture_wait_exit(&fx, &rec);
    cr_assert_eq(rec.exit_code, 42, "SIGTERM handler did not run (exit %d)", rec.exit_code);
}
