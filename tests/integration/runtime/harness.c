/* SPDX-License-Identifier: Apache-2.0 */
/* Shared set-up of the runtime integration tests (see harness.h). */
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

struct harness H;
char *h_out;
char *h_err;
static char status_buf[32];

const char *
h_runtime(void)
{
    static char path[PATH_MAX];
    char rel[256];
    const char *out = getenv("OUT");
    const char *given = getenv("SKIFF_RUNTIME"); /* another build of it (runtime-release.sh) */
    if (path[0])
        return path;
    if (given && *given) {
        snprintf(path, sizeof(path), "%s", given);
        return path;
    }
    /* Absolute: some tests run the runtime from another cwd. */
    snprintf(rel, sizeof(rel), "%s/bin/skiff-runtime", out && *out ? out : "build");
    if (!realpath(rel, path))
        snprintf(path, sizeof(path), "%s", rel);
    return path;
}

static void
copy_file(const char *from, const char *to, mode_t mode)
{
    char *buf = NULL;
    size_t len = 0;
    cr_assert_eq(cm_read_file_at(AT_FDCWD, from, 64 << 20, &buf, &len, NULL), 0, "read %s", from);
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    cr_assert_geq(fd, 0, "create %s", to);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
    free(buf);
}

static char *
slurp(int fd)
{
    char *buf = NULL;
    size_t len = 0;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (cm_read_file_at(AT_FDCWD, path, 16 << 20, &buf, &len, NULL) < 0)
        return xstrdup("");
    return buf;
}

/* Output goes to unlinked temp files, not pipes: a detached container keeps
 * the runtime's stdio open long after the runtime exits. */
static int
run_argv(char **argv, int extra_fd, const char *cwd)
{
    char tpl[] = "/tmp/rt-core-out-XXXXXX";
    int fo, fe;
    pid_t pid;
    int st = 0;

    free(h_out);
    free(h_err);
    fo = mkostemp(tpl, O_CLOEXEC);
    cr_assert_geq(fo, 0);
    unlink(tpl);
    strcpy(tpl, "/tmp/rt-core-err-XXXXXX");
    fe = mkostemp(tpl, O_CLOEXEC);
    cr_assert_geq(fe, 0);
    unlink(tpl);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        /* The extra fd becomes fd 3, inheritable (what --preserve-fds passes on). */
        if (extra_fd >= 0) {
            if (extra_fd == 3)
                fcntl(3, F_SETFD, 0);
            else
                dup2(extra_fd, 3);
        }
        if (cwd && chdir(cwd) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        ;
    h_out = slurp(fo);
    h_err = slurp(fe);
    /* Under MODE=asan the runtime's own sanitizer reports fail the test. */
    cr_assert_null(strstr(h_err, "Sanitizer"), "%s", h_err);
    cr_assert_null(strstr(h_err, "runtime error:"), "%s", h_err);
    close(fo);
    close(fe);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static int
h_rtv(int extra_fd, const char *cwd, const char *first, va_list ap)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)h_runtime();
    argv[n++] = "--root";
    argv[n++] = H.root;
    for (const char *a = first; a && n < 63; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    argv[n] = NULL;
    return run_argv(argv, extra_fd, cwd);
}

int
h_rt(const char *arg, ...)
{
    va_list ap;
    int r;
    va_start(ap, arg);
    r = h_rtv(-1, NULL, arg, ap);
    va_end(ap);
    return r;
}

int
h_rt_fd(int extra_fd, const char *cwd, const char *arg, ...)
{
    va_list ap;
    int r;
    va_start(ap, arg);
    r = h_rtv(extra_fd, cwd, arg, ap);
    va_end(ap);
    return r;
}

const char *
h_status(const char *id)
{
    json_t *o;
    status_buf[0] = 0;
    if (h_rt("state", id, NULL) != 0)
        return status_buf;
    o = json_loads(h_out, 0, NULL);
    if (o && json_is_string(json_object_get(o, "status")))
        snprintf(status_buf, sizeof(status_buf), "%s",
                 json_string_value(json_object_get(o, "status")));
    json_decref(o);
    return status_buf;
}

const char *
h_id(const char *suffix)
{
    cr_assert_lt(H.n_ids, 8);
    snprintf(H.ids[H.n_ids], sizeof(H.ids[0]), "rt-core-%d-%s", (int)getpid(), suffix);
    return H.ids[H.n_ids++];
}

bool
h_cgroup_exists(const char *id)
{
    const char *dirs[] = {"/sys/fs/cgroup/pids/skiff", "/sys/fs/cgroup/memory/skiff",
                          "/sys/fs/cgroup/unified/skiff", "/sys/fs/cgroup/skiff"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char p[256];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dirs[i], id);
        if (stat(p, &st) == 0)
            return true;
    }
    return false;
}

void
h_args(const char *first, ...)
{
    json_t *proc = json_object_get(H.config, "process");
    json_t *a = json_array();
    va_list ap;
    json_array_append_new(a, json_string("/init"));
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        json_array_append_new(a, json_string(s));
    va_end(ap);
    json_object_set_new(proc, "args", a);
}

void
h_add_mount(const char *dest, const char *type, const char *source, const char *opt, ...)
{
    json_t *m = json_object(), *opts = json_array();
    va_list ap;
    json_object_set_new(m, "destination", json_string(dest));
    json_object_set_new(m, "type", json_string(type));
    json_object_set_new(m, "source", json_string(source));
    va_start(ap, opt);
    for (const char *s = opt; s; s = va_arg(ap, const char *))
        json_array_append_new(opts, json_string(s));
    va_end(ap);
    json_object_set_new(m, "options", opts);
    json_array_append_new(json_object_get(H.config, "mounts"), m);
}

void
h_add_hook(const char *kind, const char *script, int timeout)
{
    json_t *hooks = json_object_get(H.config, "hooks");
    json_t *h = json_object();
    if (!hooks) {
        hooks = json_object();
        json_object_set_new(H.config, "hooks", hooks);
    }
    if (!json_object_get(hooks, kind))
        json_object_set_new(hooks, kind, json_array());
    json_object_set_new(h, "path", json_string("/bin/sh"));
    json_object_set_new(h, "args", json_pack("[sss]", "sh", "-c", script));
    if (timeout > 0)
        json_object_set_new(h, "timeout", json_integer(timeout));
    json_array_append_new(json_object_get(hooks, kind), h);
}

void
h_write_config(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/config.json", H.bundle);
    cr_assert_eq(json_dump_file(H.config, path, JSON_INDENT(1)), 0);
}

void
h_setup(void)
{
    char path[256], helper[256];
    const char *out = getenv("OUT");
    json_error_t jerr;

    memset(&H, 0, sizeof(H));
    if (geteuid() != 0)
        cr_skip_test("requires root");
    strcpy(H.dir, "/tmp/rt-core-XXXXXX");
    cr_assert_not_null(mkdtemp(H.dir));
    snprintf(H.bundle, sizeof(H.bundle), "%s/bundle", H.dir);
    snprintf(H.rootfs, sizeof(H.rootfs), "%s/rootfs", H.bundle);
    snprintf(H.root, sizeof(H.root), "%s/root", H.dir);
    cr_assert_eq(mkdir(H.bundle, 0755), 0);
    cr_assert_eq(mkdir(H.rootfs, 0755), 0);
    snprintf(helper, sizeof(helper), "%s/tests/helpers/init", out && *out ? out : "build");
    snprintf(path, sizeof(path), "%s/init", H.rootfs);
    copy_file(helper, path, 0755);
    if (h_rt("spec", "--bundle", H.bundle, NULL) != 0)
        cr_assert_fail("skiff-runtime spec failed: %s", h_err);
    snprintf(path, sizeof(path), "%s/config.json", H.bundle);
    H.config = json_load_file(path, 0, &jerr);
    cr_assert_not_null(H.config);
    json_object_set_new(json_object_get(H.config, "process"), "terminal", json_false());
    json_object_set_new(json_object_get(H.config, "root"), "readonly", json_false());
    h_args(NULL);
}

void
h_teardown(void)
{
    for (int i = 0; i < H.n_ids; i++) {
        h_rt("delete", "--force", H.ids[i], NULL);
        /* whatever the runtime left (a test of its clean-up that failed) */
        cleanup_free char *pat = xasprintf("/sys/fs/cgroup/*/skiff/%s", H.ids[i]);
        glob_t g;
        if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++)
                rmdir(g.gl_pathv[k]);
            globfree(&g);
        }
    }
    if (H.dir[0])
        cm_rm_rf(H.dir, NULL);
    json_decref(H.config);
    free(h_out);
    free(h_err);
    h_out = h_err = NULL;
}
