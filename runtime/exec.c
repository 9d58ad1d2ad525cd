/* SPDX-License-Identifier: Apache-2.0 */
/* exec: a new process in a running container. A first child enters the
 * container's cgroup and joins its namespaces (setns), then forks the process
 * itself, which is in the container's pid namespace; errors before execve come
 * back over a close-on-exec pipe. Both stay non-dumpable so the container cannot
 * open /proc/<pid>/exe of the runtime binary (CVE-2019-5736). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "rt/cgroup.h"
#include "rt/security.h"

static const enum rt_ns_type exec_ns_order[] = {RT_NS_USER,   RT_NS_IPC, RT_NS_UTS,  RT_NS_NETWORK,
                                                RT_NS_CGROUP, RT_NS_PID, RT_NS_TIME, RT_NS_MOUNT};
static const char *const exec_ns_files[] = {
    [RT_NS_PID] = "pid", [RT_NS_NETWORK] = "net", [RT_NS_MOUNT] = "mnt",     [RT_NS_IPC] = "ipc",
    [RT_NS_UTS] = "uts", [RT_NS_USER] = "user",   [RT_NS_CGROUP] = "cgroup", [RT_NS_TIME] = "time",
};

static _Noreturn void
child_fail(int errfd, struct cm_error *e, const char *what)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%s%s%s", what, e ? ": " : "", e ? e->msg : "");
    if (n > 0 && write(errfd, buf, (size_t)n) < 0)
        _exit(126);
    _exit(126);
}

static _Noreturn void
exec_process(const struct rt_exec_opts *o, const struct rt_config *cfg, int console_fd, int errfd,
             int self_exe, uint64_t sig_ignored)
{
    const struct rt_process *p = o->process;
    struct cm_error *e = NULL;
    struct rt_seccomp_filter *filter = NULL;
    int exec_fd = -1;
    bool script = false;
    char *path = NULL;

    if (p->terminal && console_fd >= 0) {
        if (setsid() < 0)
            child_fail(errfd, NULL, "setsid");
        if (rt_console_setup(console_fd, p, false, &e) < 0)
            child_fail(errfd, e, "console");
        close(console_fd);
    }
    if (chdir(p->cwd ? p->cwd : "/") < 0) {
        cm_error_errno(&e, "chdir '%s'", p->cwd ? p->cwd : "/");
        child_fail(errfd, e, "cwd");
    }
    if (!p->args || !p->args[0])
        child_fail(errfd, NULL, "process.args must not be empty");
    if (rt_resolve_exec(p->args[0], p->env, self_exe, &exec_fd, &script, &path, &e) < 0)
        child_fail(errfd, e, "process");
    if (self_exe >= 0)
        close(self_exe);
    if (cfg && cfg->linux_.seccomp && rt_seccomp_compile(cfg->linux_.seccomp, &filter, &e) < 0)
        child_fail(errfd, e, "seccomp");
    if (rt_prepare_fds(o->preserve_fds, &e) < 0)
        child_fail(errfd, e, "fds");
    if (rt_rlimits_apply(p->rlimits, p->n_rlimits, &e) < 0)
        child_fail(errfd, e, "rlimits");
    if (rt_oom_score_adj_apply(p, &e) < 0)
        child_fail(errfd, e, "oomScoreAdj");
    if (rt_ioprio_apply(p, &e) < 0)
        child_fail(errfd, e, "ioPriority");
    if (rt_sched_apply(p, &e) < 0)
        child_fail(errfd, e, "scheduler");
    /* Before the filter, which may not allow rt_sigaction. */
    rt_signals_reset(sig_ignored);
    int nfd = -1;
    /* Without noNewPrivileges the filter needs CAP_SYS_ADMIN: load it first. */
    if (filter && !p->no_new_privileges && rt_seccomp_load(filter, &nfd, &e) < 0)
        child_fail(errfd, e, "seccomp");
    if (rt_user_apply(&p->user, &e) < 0)
        child_fail(errfd, e, "user");
    if (p->caps.present && rt_caps_apply(&p->caps, &e) < 0)
        child_fail(errfd, e, "capabilities");
    if (rt_no_new_privs_apply(p, &e) < 0)
        child_fail(errfd, e, "noNewPrivileges");
    if (filter && p->no_new_privileges && rt_seccomp_load(filter, &nfd, &e) < 0)
        child_fail(errfd, e, "seccomp");
    if (!script)
        syscall(SYS_execveat, exec_fd, "", p->args, p->env, AT_EMPTY_PATH);
    execve(path, p->args, p->env);
    cm_error_errno(&e, "exec '%s'", p->args[0]);
    child_fail(errfd, e, "process");
}

int
rt_container_exec(const struct rt_exec_opts *o, int *ret_status, struct cm_error **err)
{
    struct rt_state st = {0};
    cleanup_rt_config struct rt_config *cfg = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    cleanup_close int console_fd = -1;
    cleanup_close int self_exe = -1;
    int nsfd[RT_NS_COUNT];
    int errp[2] = {-1, -1}, pidp[2] = {-1, -1};
    enum rt_status s;
    pid_t child;
    int r = -1, wst = 0;
    char buf[1024];
    ssize_t n;
    int target = 0;
    uint64_t sig_ignored;

    for (int i = 0; i < RT_NS_COUNT; i++)
        nsfd[i] = -1;
    if (rt_state_load(o->root, o->id, &st, err) < 0)
        return -1;
    s = rt_state_status(o->root, &st);
    if (s != RT_STATUS_RUNNING && s != RT_STATUS_CREATED) {
        cm_error_set(err, 0, "cannot exec in container '%s' in state %s", o->id, rt_status_name(s));
        goto out;
    }
    if (rt_container_config(o->root, o->id, &cfg, err) < 0)
        goto out;
    if (st.cgroup_path && rt_cgroup_open(RT_CGROUP_ROOT, st.cgroup_path, &cg, err) < 0)
        goto out;
    if (o->process->terminal) {
        if (!o->console_socket) {
            cm_error_set(err, 0, "process.terminal requires --console-socket");
            goto out;
        }
        console_fd = rt_console_connect(o->console_socket, err);
        if (console_fd < 0)
            goto out;
    }
    for (size_t i = 0; i < sizeof(exec_ns_order) / sizeof(exec_ns_order[0]); i++) {
        enum rt_ns_type t = exec_ns_order[i];
        char p1[64], p2[64];
        struct stat a, b;
        snprintf(p1, sizeof(p1), "/proc/%d/ns/%s", (int)st.pid, exec_ns_files[t]);
        snprintf(p2, sizeof(p2), "/proc/self/ns/%s", exec_ns_files[t]);
        if (stat(p1, &a) < 0)
            continue;
        if (stat(p2, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            continue;
        nsfd[t] = open(p1, O_RDONLY | O_CLOEXEC);
        if (nsfd[t] < 0) {
            cm_error_errno(err, "open '%s'", p1);
            goto out;
        }
    }
    self_exe = open("/proc/self/exe", O_PATH | O_CLOEXEC);
    /* Here, with the host's /proc: the child joins the container's. */
    sig_ignored = rt_signals_ignored();
    if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(pidp, O_CLOEXEC) < 0) {
        cm_error_errno(err, "pipe");
        goto out;
    }
    child = fork();
    if (child < 0) {
        cm_error_errno(err, "fork");
        goto out;
    }
    if (child == 0) {
        struct cm_error *e = NULL;
        pid_t gc;
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        close(errp[0]);
        close(pidp[0]);
        /* by itself: no RCU grace period on cgroup v1 (rt_cgroup_join_prepare) */
        if (cg && rt_cgroup_enter_self(cg, &e) < 0)
            child_fail(errp[1], e, "cgroup");
        for (size_t i = 0; i < sizeof(exec_ns_order) / sizeof(exec_ns_order[0]); i++) {
            enum rt_ns_type t = exec_ns_order[i];
            if (nsfd[t] < 0)
                continue;
            if (setns(nsfd[t], 0) < 0) {
                cm_error_errno(&e, "join %s namespace", exec_ns_files[t]);
                child_fail(errp[1], e, "namespaces");
            }
            close(nsfd[t]);
        }
        gc = fork();
        if (gc < 0)
            child_fail(errp[1], NULL, "fork");
        if (gc == 0) {
            close(pidp[1]);
            exec_process(o, cfg, console_fd, errp[1], self_exe, sig_ignored);
        }
        /* Report the process's pid (host view), then wait for it unless detached. */
        if (write(pidp[1], &gc, sizeof(gc)) != sizeof(gc))
            _exit(126);
        close(pidp[1]);
        close(errp[1]);
        if (o->detach)
            _exit(0);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        {
            int gst = 0;
            while (waitpid(gc, &gst, 0) < 0)
                if (errno != EINTR)
                    _exit(126);
            _exit(WIFSIGNALED(gst) ? 128 + WTERMSIG(gst) : WEXITSTATUS(gst));
        }
    }
    close(errp[1]);
    errp[1] = -1;
    close(pidp[1]);
    pidp[1] = -1;
    if (read(pidp[0], &target, sizeof(target)) != sizeof(target))
        target = 0;
    do
        n = read(errp[0], buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        buf[n] = 0;
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        cm_error_set(err, 0, "exec in '%s': %s", o->id, buf);
        goto out;
    }
    if (o->pid_file && target > 0) {
        char pb[32];
        snprintf(pb, sizeof(pb), "%d", target);
        if (rt_write_atomic_nosync(AT_FDCWD, o->pid_file, pb, strlen(pb), 0644, err) < 0) {
            if (!o->detach)
                kill(target, SIGKILL);
            goto out;
        }
    }
    while (waitpid(child, &wst, 0) < 0)
        if (errno != EINTR) {
            cm_error_errno(err, "wait");
            goto out;
        }
    *ret_status = o->detach ? 0 : (WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : WEXITSTATUS(wst));
    r = 0;
out:
    for (int i = 0; i < RT_NS_COUNT; i++)
        if (nsfd[i] >= 0)
            close(nsfd[i]);
    for (int i = 0; i < 2; i++) {
        if (errp[i] >= 0)
            close(errp[i]);
        if (pidp[i] >= 0)
            close(pidp[i]);
    }
    rt_state_done(&st);
    return r;
}
