/* SPDX-License-Identifier: Apache-2.0 */
/* Test fixture for shim tests: a temp dir with a busybox bundle made by
 * `runc spec` and edited, the OCI runtime the shim uses (runc by default,
 * AGENT_TEST_RUNTIME=builtin for the runtime library), cleanup of everything. */
#pragma once

#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/shim.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

struct shim_fixture {
    char dir[64];
    char *bundle, *shimdir, *root, *work, *id, *runtime, *shim, *cli;
};

/* The runtime the shim uses: "builtin" (the runtime library), or a binary. */
static inline const char *
fixture_runtime(void)
{
    const char *r = getenv("AGENT_TEST_RUNTIME");
    return r ? r : "/usr/sbin/runc";
}

/* A runc-compatible command line for set-up and clean-up. */
static inline char *
fixture_cli(void)
{
    if (strcmp(fixture_runtime(), "builtin") == 0)
        return xasprintf("%s/bin/skiff-runtime", getenv("OUT") ? getenv("OUT") : "build");
    return xstrdup(fixture_runtime());
}

static inline int run_cmd(const char *fmt, ...) CM_PRINTF(1, 2);
static inline int
run_cmd(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int r;
    va_start(ap, fmt);
    if (vasprintf(&cmd, fmt, ap) < 0)
        abort();
    va_end(ap);
    r = system(cmd);
    free(cmd);
    return r;
}

/* Sets up DIR/{bundle/rootfs/bin/busybox, shim, root, work}; args for the process,
 * memory_limit 0 = none. */
static inline void
fixture_setup(struct shim_fixture *f, const char *name, const char *const *args, long memory_limit)
{
    json_auto_t *cfg = NULL;
    json_t *jargs, *mounts, *linux_;
    cleanup_free char *cfgpath = NULL;
    static int seq;

    if (geteuid() != 0)
        cr_skip_test("requires root");
    f->cli = fixture_cli();
    if (access(f->cli, X_OK) != 0 || access("/usr/sbin/runc", X_OK) != 0)
        cr_skip_test("no OCI runtime at %s (or no runc for `spec`)", f->cli);
    strcpy(f->dir, "/tmp/agt-shim-XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    f->bundle = xasprintf("%s/bundle", f->dir);
    f->shimdir = xasprintf("%s/shim", f->dir);
    f->root = xasprintf("%s/root", f->dir);
    f->work = xasprintf("%s/work", f->dir);
    f->id = xasprintf("agt-%s-%d-%d", name, (int)getpid(), seq++);
    f->runtime = xstrdup(fixture_runtime());
    f->shim = xasprintf("%s/bin/skiff-shim", getenv("OUT") ? getenv("OUT") : "build");
    cr_assert_eq(access(f->shim, X_OK), 0, "%s missing", f->shim);
    cr_assert_eq(run_cmd("mkdir -p %s/rootfs/bin %s %s %s && cp /bin/busybox %s/rootfs/bin/ && "
                         "runc spec -b %s",
                         f->bundle, f->shimdir, f->root, f->work, f->bundle, f->bundle),
                 0);
    cfgpath = xasprintf("%s/config.json", f->bundle);
    cfg = json_load_file(cfgpath, 0, NULL);
    cr_assert_not_null(cfg);
    json_object_set_new(json_object_get(cfg, "process"), "terminal", json_false());
    jargs = json_array();
    for (; *args; args++)
        json_array_append_new(jargs, json_string(*args));
    json_object_set_new(json_object_get(cfg, "process"), "args", jargs);
    mounts = json_object_get(cfg, "mounts");
    json_array_append_new(mounts,
                          json_pack("{s:s, s:s, s:s, s:[s, s]}", "destination", "/w", "type",
                                    "bind", "source", f->work, "options", "rbind", "rw"));
    linux_ = json_object_get(cfg, "linux");
    {
        cleanup_free char *cg = xasprintf("/%s", f->id);
        json_object_set_new(linux_, "cgroupsPath", json_string(cg));
    }
    if (memory_limit > 0)
        json_object_set_new(linux_, "resources",
                            json_pack("{s:{s:I}}", "memory", "limit", (json_int_t)memory_limit));
    cr_assert_eq(json_dump_file(cfg, cfgpath, 0), 0);
}

static inline void
fixture_opts(struct shim_fixture *f, struct agent_shim_opts *o)
{
    *o = (struct agent_shim_opts){.id = f->id,
                                  .bundle = f->bundle,
                                  .dir = f->shimdir,
                                  .runtime = f->runtime,
                                  .runtime_root = f->root,
                                  .log_max_files = 1};
}

/* Waits (bounded) until the container's exit is recorded. */
static inline void
fixture_wait_exit(struct shim_fixture *f, struct agent_exit_record *ret)
{
    for (int i = 0; i < 1500; i++) {
        enum agent_shim_state st;
        struct cm_error *err = NULL;
        int r = agent_shim_inspect(f->shimdir, &st, ret, NULL, &err);
        cr_assert_eq(r, 0, "inspect: %s", err ? err->msg : "");
        if (st == AGENT_SHIM_EXITED)
            return;
        cr_assert_eq(st, AGENT_SHIM_RUNNING, "shim lost");
        usleep(10000);
    }
    cr_assert_fail("container did not exit");
}

static inline void
fixture_teardown(struct shim_fixture *f)
{
    struct agent_shim_record rec;

    if (!f->id)
        return;
    if (agent_shim_record_load(f->shimdir, &rec, NULL) == 0 && rec.shim_pid > 0)
        kill(rec.shim_pid, SIGKILL);
    run_cmd("%s --root %s delete --force %s >/dev/null 2>&1", f->cli, f->root, f->id);
    run_cmd("rmdir /sys/fs/cgroup/*/%s 2>/dev/null", f->id);
    cm_rm_rf(f->dir, NULL);
    free(f->bundle);
    free(f->shimdir);
    free(f->root);
    free(f->work);
    free(f->id);
    free(f->runtime);
    free(f->shim);
    free(f->cli);
    memset(f, 0, sizeof *f);
}
