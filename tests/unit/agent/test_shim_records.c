/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the shim's records (exit.json, shim.json), OOM parsing,
 * wait statuses, the shim's command line and inspection of a shim directory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/shim.h"
#include "../tmpdir_suite.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

TMPDIR_SUITE(agent_shim_records, dir, "/tmp/agent-rec-XXXXXX");

Test(agent_shim_records, exit_roundtrip)
{
    struct agent_exit_record r = {.exit_code = 137,
                                  .signal = 9,
                                  .oom_killed = true,
                                  .finished = {.tv_sec = 1795777203, .tv_nsec = 42}},
                             back;
    cleanup_free char *j = agent_exit_record_to_json(&r);

    cr_assert_eq(agent_exit_record_from_json(j, strlen(j), &back, NULL), 0);
    cr_assert_eq(back.exit_code, 137);
    cr_assert_eq(back.signal, 9);
    cr_assert(back.oom_killed);
    cr_assert_eq(back.finished.tv_sec, r.finished.tv_sec);
    cr_assert_eq(back.finished.tv_nsec, 42);
}

Test(agent_shim_records, exit_rejects_bad_values)
{
    const char *bad[] = {
        "{\"exitCode\":256,\"signal\":0}",
        "{\"exitCode\":-1,\"signal\":0}",
        "{\"exitCode\":1,\"signal\":99}",
        "{\"exitCode\":\"1\",\"signal\":0}",
        "{\"signal\":0}",
        "{\"exitCode\":1,\"signal\":0,\"finishedAt\":\"yesterday\"}",
        "[1]",
        "{\"exitCode\":1,",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct agent_exit_record r;
        struct cm_error *err = NULL;
        cr_assert_eq(agent_exit_record_from_json(bad[i], strlen(bad[i]), &r, &err), -1, "%s",
                     bad[i]);
        cr_assert_not_null(err);
        cm_error_free(&err);
    }
}

Test(agent_shim_records, save_load_and_missing_is_enoent)
{
    struct agent_exit_record r = {.exit_code = 3}, back;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_exit_record_load(dir, &back, &err), -1);
    cr_assert_eq(err->code, ENOENT);
    cm_error_free(&err);
    cr_assert_eq(agent_exit_record_save(dir, &r, NULL), 0);
    cr_assert_eq(agent_exit_record_load(dir, &back, NULL), 0);
    cr_assert_eq(back.exit_code, 3);
}

Test(agent_shim_records, shim_record_roundtrip_and_rejects)
{
    struct agent_shim_record r = {.shim_pid = 12, .shim_start = 99, .pid = 13, .pid_start = 100},
                             back;
    cleanup_free char *j = agent_shim_record_to_json(&r);
    const char *zero = "{\"shimPid\":0,\"shimStart\":1,\"pid\":1,\"pidStart\":1}";
    struct cm_error *err = NULL;

    cr_assert_eq(agent_shim_record_from_json(j, strlen(j), &back, NULL), 0);
    cr_assert_eq(back.shim_pid, 12);
    cr_assert_eq(back.pid_start, 100);
    cr_assert_eq(agent_shim_record_from_json(zero, strlen(zero), &back, &err), -1);
    cm_error_free(&err);
}

Test(agent_shim_records, inspect_states)
{
    enum agent_shim_state st;
    struct agent_exit_record ex;
    struct agent_shim_record me = {.shim_pid = getpid(), .pid = getpid()};
    struct agent_shim_record dead = {.shim_pid = getpid(), .shim_start = 1, .pid = 1};
    char path[64], *buf = NULL;
    size_t len;

    /* Nothing at all: lost (never started). */
    cr_assert_eq(agent_shim_inspect(dir, &st, &ex, NULL, NULL), 0);
    cr_assert_eq(st, AGENT_SHIM_LOST);
    /* Our own pid with our real start time stands in for a live shim. */
    snprintf(path, sizeof path, "/proc/%d/stat", (int)getpid());
    cr_assert_eq(cm_read_file_at(AT_FDCWD, path, 4096, &buf, &len, NULL), 0);
    {
        char *p = strrchr(buf, ')') + 2;
        for (int f = 3; f < 22; f++)
            p = strchr(p, ' ') + 1;
        me.shim_start = strtoull(p, NULL, 10);
    }
    free(buf);
    cr_assert_eq(agent_shim_record_save(dir, &me, NULL), 0);
    cr_assert_eq(agent_shim_inspect(dir, &st, &ex, NULL, NULL), 0);
    cr_assert_eq(st, AGENT_SHIM_RUNNING);
    /* Same pid, other start time: a recycled pid, the shim is gone. */
    cr_assert_eq(agent_shim_record_save(dir, &dead, NULL), 0);
    cr_assert_eq(agent_shim_inspect(dir, &st, &ex, NULL, NULL), 0);
    cr_assert_eq(st, AGENT_SHIM_LOST);
    /* An exit record wins. */
    ex = (struct agent_exit_record){.exit_code = 5};
    cr_assert_eq(agent_exit_record_save(dir, &ex, NULL), 0);
    memset(&ex, 0, sizeof ex);
    cr_assert_eq(agent_shim_inspect(dir, &st, &ex, NULL, NULL), 0);
    cr_assert_eq(st, AGENT_SHIM_EXITED);
    cr_assert_eq(ex.exit_code, 5);
}

Test(agent_shim_records, inspect_damaged_record_is_error)
{
    enum agent_shim_state st;
    struct agent_exit_record ex;
    struct cm_error *err = NULL;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY);

    cr_assert_eq(cm_write_file_atomic_at(dfd, "exit.json", "{junk", 5, 0644, NULL), 0);
    cr_assert_eq(agent_shim_inspect(dir, &st, &ex, NULL, &err), -1);
    cr_assert_not_null(err);
    cm_error_free(&err);
}

Test(agent_shim_records, parse_oom_kill)
{
    cr_assert_eq(agent_parse_oom_kill("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"), 2);
    cr_assert_eq(agent_parse_oom_kill("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n"), 1);
    cr_assert_eq(agent_parse_oom_kill("oom_kill_disable 0\nunder_oom 0\n"), 0);
    cr_assert_eq(agent_parse_oom_kill("xoom_kill 5\n"), 0);
}

Test(agent_shim_records, wait_status_mapping)
{
    struct agent_exit_record r;

    agent_exit_from_wait_status(3 << 8, &r);
    cr_assert_eq(r.exit_code, 3);
    cr_assert_eq(r.signal, 0);
    agent_exit_from_wait_status(SIGKILL, &r);
    cr_assert_eq(r.exit_code, 137);
    cr_assert_eq(r.signal, SIGKILL);
    agent_exit_from_wait_status(SIGTERM, &r);
    cr_assert_eq(r.exit_code, 143);
}

Test(agent_shim_records, parse_args)
{
    char *ok[] = {"skiff-shim", "--id",      "c1", "--bundle",       "/b",   "--dir",
                  "/d",         "--runtime", "/r", "--log-max-size", "1000", "--log-max-files",
                  "2",          NULL};
    char *badid[] = {"skiff-shim", "--id", "../x",      "--bundle", "/b",
                     "--dir",      "/d",   "--runtime", "/r",       NULL};
    char *missing[] = {"skiff-shim", "--id", "c1", NULL};
    char *badnum[] = {"skiff-shim", "--log-max-size", "-1", NULL};
    char *toomany[] = {"skiff-shim", "--log-max-files", "1000", NULL};
    char *unknown[] = {"skiff-shim", "--frobnicate", "1", NULL};
    struct agent_shim_opts o;
    struct cm_error *err = NULL;

    cr_assert_eq(agent_shim_parse_args(13, ok, &o, NULL), 0);
    cr_assert_str_eq(o.id, "c1");
    cr_assert_eq(o.log_max_size, 1000);
    cr_assert_eq(o.log_max_files, 2);
    cr_assert_null(o.runtime_root);
    cr_assert_eq(agent_shim_parse_args(9, badid, &o, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(agent_shim_parse_args(3, missing, &o, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(agent_shim_parse_args(3, badnum, &o, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(agent_shim_parse_args(3, toomany, &o, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(agent_shim_parse_args(3, unknown, &o, &err), -1);
    cm_error_free(&err);
}
