/* SPDX-License-Identifier: Apache-2.0 */
/* The container's init process, from clone() to execve(): namespaces joined
 * or created, rootfs, hostname, sysctl, console, process security, the exec
 * fifo, and an execve that refuses the runtime's own binary (CVE-2019-5736)
 * and leaks no host fd or directory (CVE-2024-21626). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "rt/security.h"

int
rt_sync_send(int fd, int type, int value, const char *text)
{
    struct rt_sync_msg m = {.type = type, .value = value};
    size_t len = offsetof(struct rt_sync_msg, text);

    if (text) {
        snprintf(m.text, sizeof(m.text), "%s", text);
        len += strlen(m.text) + 1;
    }
    for (;;) {
        ssize_t n = send(fd, &m, len, MSG_NOSIGNAL);
        if (n >= 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

int
rt_sync_recv(int fd, struct rt_sync_msg *m)
{
    ssize_t n;

    memset(m, 0, sizeof(*m));
    do
        n = recv(fd, m, sizeof(*m), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if (n == 0)
        return 0;
    if ((size_t)n < offsetof(struct rt_sync_msg, text)) {
        errno = EPROTO;
        return -1;
    }
    m->text[sizeof(m->text) - 1] = 0;
    return m->type;
}

unsigned long
rt_ns_clone_flag(enum rt_ns_type t)
{
    switch (t) {
    case RT_NS_PID:
        return CLONE_NEWPID;
    case RT_NS_NETWORK:
        return CLONE_NEWNET;
    case RT_NS_MOUNT:
        return CLONE_NEWNS;
    case RT_NS_IPC:
        return CLONE_NEWIPC;
    case RT_NS_UTS:
        return CLONE_NEWUTS;
    case RT_NS_USER:
        return CLONE_NEWUSER;
    case RT_NS_CGROUP:
        return CLONE_NEWCGROUP;
    case RT_NS_TIME:
        return 0x00000080; /* CLONE_NEWTIME */
    case RT_NS_COUNT:
        break;
    }
    return 0;
}

bool
rt_config_has_new_ns(const struct rt_config *cfg, enum rt_ns_type t)
{
    const struct rt_namespace *ns = rt_config_namespace(cfg, t);
    return ns && !ns->path;
}

static int
write_map(pid_t pid, const char *file, const struct rt_id_mapping *m, size_t n,
          struct cm_error **err)
{
    char path[64], buf[4096];
    size_t len = 0;

    if (!n)
        return 0;
    for (size_t i = 0; i < n && len < sizeof(buf) - 40; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
                                m[i].host_id, m[i].size);
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    if (cm_write_file_at(AT_FDCWD, path, buf, err) < 0)
        return cm_error_wrap(err, "write %s", file);
    return 0;
}

int
rt_write_id_maps(pid_t pid, const struct rt_config *cfg, struct cm_error **err)
{
    if (write_map(pid, "uid_map", cfg->linux_.uid_mappings, cfg->linux_.n_uid_mappings, err) < 0)
        return -1;
    return write_map(pid, "gid_map", cfg->linux_.gid_mappings, cfg->linux_.n_gid_mappings, err);
}

int
rt_prepare_fds(int preserve, struct cm_error **err)
{
    unsigned first = 3 + (unsigned)(preserve > 0 ? preserve : 0);

    if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        return cm_error_errno(err, "close_range");
    for (int fd = 3; fd < (int)first; fd++) {
        int fl = fcntl(fd, F_GETFD);
        if (fl >= 0)
            fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
    }
    return 0;
}

static const char *
env_get(char *const *env, const char *name)
{
    size_t n = strlen(name);
    for (; env && *env; env++)
        if (!strncmp(*env, name, n) && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* Is fd the same file as our own binary? */
static bool
same_file(int fd, int self_fd)
{
    struct stat a, b;
    if (self_fd < 0 || fstat(fd, &a) < 0 || fstat(self_fd, &b) < 0)
        return false;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Follows the #! chain like the kernel (up to 5 levels) so that a script whose
 * interpreter is /proc/self/exe cannot run the host runtime binary. */
static int
check_interpreters(int fd, int self_fd, bool *ret_script, struct cm_error **err)
{
    cleanup_close int cur = -1;
    int use = fd;

    *ret_script = false;
    for (int depth = 0; depth < 5; depth++) {
        char buf[256];
        cleanup_close int rfd = -1;
        char path[64], *p, *end;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", use);
        rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
            return 0; /* not readable (e.g. exec-only): the kernel decides */
        n = read(rfd, buf, sizeof(buf) - 1);
        if (n < 2 || buf[0] != '#' || buf[1] != '!')
            return 0;
        if (depth == 0)
            *ret_script = true;
        buf[n] = 0;
        p = buf + 2;
        while (*p == ' ' || *p == '\t')
            p++;
        end = p;
        while (*end && *end != ' ' && *end != '\t' && *end != '\n')
            end++;
        *end = 0;
        if (!*p)
            return 0;
        if (cur >= 0)
            close(TAKE_FD(cur));
        cur = open(p, O_PATH | O_CLOEXEC);
        if (cur < 0)
            return 0;
        if (same_file(cur, self_fd))
            return cm_error_set(err, EPERM,
                                "refusing to execute the runtime binary inside the container");
        use = cur;
    }
    return 0;
}

int
rt_resolve_exec(const char *file, char *const *env, int self_exe_fd, int *ret_fd, bool *ret_script,
                char **ret_path, struct cm_error **err)
{
    cleanup_close int fd = -1;
    cleanup_free char *path = NULL;
    struct stat st;

    if (!file || !*file)
        return cm_error_set(err, 0, "process.args[0] is empty");
    if (strchr(file, '/')) {
        path = xstrdup(file);
        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
            return cm_error_errno(err, "exec '%s'", file);
    } else {
        const char *pathenv = env_get(env, "PATH");
        if (!pathenv)
            pathenv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        while (*pathenv) {
            const char *colon = strchr(pathenv, ':');
            size_t n = colon ? (size_t)(colon - pathenv) : strlen(pathenv);
            free(path);
            path = xasprintf("%.*s/%s", (int)n, n ? pathenv : ".", file);
            fd = open(path, O_PATH | O_CLOEXEC);
            if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) == 0)
                break;
            if (fd >= 0)
                close(TAKE_FD(fd));
            pathenv += n + (colon ? 1 : 0);
        }
        if (fd < 0)
            return cm_error_set(err, ENOENT, "exec '%s': executable file not found in $PATH", file);
    }
    if (fstat(fd, &st) < 0)
        return cm_error_errno(err, "exec '%s'", file);
    if (!S_ISREG(st.st_mode))
        return cm_error_set(err, EACCES, "exec '%s': not a regular file", file);
    if (faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) < 0)
        return cm_error_errno(err, "exec '%s'", file);
    if (same_file(fd, self_exe_fd))
        return cm_error_set(err, EPERM,
                            "refusing to execute the runtime binary inside the container");
    if (check_interpreters(fd, self_exe_fd, ret_script, err) < 0)
        return -1;
    *ret_fd = TAKE_FD(fd);
    *ret_path = TAKE_PTR(path);
    return 0;
}

static _Noreturn void
init_fail(struct rt_init_ctx *ctx, struct cm_error *e, const char *what)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s%s%s", what, e ? ": " : "", e ? e->msg : "");
    if (rt_sync_send(ctx->sync_fd, RT_SYNC_ERROR, e ? e->code : 0, buf) < 0)
        fprintf(stderr, "skiff-runtime: %s\n", buf);
    _exit(1);
}

static int
join_namespaces(struct rt_init_ctx *ctx, struct cm_error **err)
{
    /* The user namespace first: it owns the ones joined after it. */
    static const enum rt_ns_type order[] = {RT_NS_USER,   RT_NS_IPC,  RT_NS_UTS,  RT_NS_NETWORK,
                                            RT_NS_CGROUP, RT_NS_TIME, RT_NS_MOUNT};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        enum rt_ns_type t = order[i];
        int fd = ctx->join_fds[t];
        if (fd < 0)
            continue;
        if (setns(fd, (int)rt_ns_clone_flag(t)) < 0)
            return cm_error_errno(err, "join %s namespace", rt_ns_type_name(t));
        close(fd);
        ctx->join_fds[t] = -1;
    }
    return 0;
}

static int
set_hostname(const struct rt_config *cfg, struct cm_error **err)
{
    if (cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
        return cm_error_errno(err, "sethostname '%s'", cfg->hostname);
    if (cfg->domainname && setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
        return cm_error_errno(err, "setdomainname '%s'", cfg->domainname);
    return 0;
}

static int
hooks_in_init(struct rt_init_ctx *ctx, enum rt_hook_kind kind, const char *status,
              struct cm_error **err)
{
    const struct rt_hooks *h = &ctx->cfg->hooks;
    cleanup_free char *json = NULL;
    enum rt_status st = !strcmp(status, "created") ? RT_STATUS_CREATED : RT_STATUS_CREATING;

    if (!h->n_hooks[kind])
        return 0;
    json = rt_state_spec_json(ctx->state, st, false);
    return rt_hooks_run(h->hooks[kind], h->n_hooks[kind], json, err);
}

bool
rt_init_wait_cgroup(struct rt_init_ctx *ctx)
{
    struct rt_sync_msg m;
    struct cm_error *e = NULL;
    if (ctx->in_cgroup)
        return true;
    if (rt_sync_recv(ctx->sync_fd, &m) != RT_SYNC_CGROUP)
        return false;
    if (m.value > 0)
        ctx->state->pid = m.value;
    if (ctx->join_planned && rt_cgroup_join_planned(ctx->cg, &e) < 0)
        init_fail(ctx, e, "cgroup");
    ctx->in_cgroup = true;
    return true;
}

static bool
wait_cgroup(struct rt_init_ctx *ctx)
{
    return rt_init_wait_cgroup(ctx);
}

static _Noreturn void
late_fail(struct cm_error *e, const char *what)
{
    fprintf(stderr, "skiff-runtime: %s: %s\n", what, e ? e->msg : "failed");
    _exit(127);
}

static int
load_filter(struct rt_seccomp_filter *f, struct cm_error **err)
{
    int notify = -1;
    return rt_seccomp_load(f, &notify, err);
}

_Noreturn void
rt_init_main(struct rt_init_ctx *ctx)
{
    const struct rt_config *cfg = ctx->cfg;
    const struct rt_process *p = &cfg->process;
    struct cm_error *e = NULL;
    struct rt_sync_msg m;
    struct rt_seccomp_filter *filter = NULL;
    int exec_fd = -1;
    bool script = false;
    char *exec_path = NULL;
    int preserve = ctx->opts->preserve_fds;
    const char *listen = getenv("LISTEN_FDS");
    char **env = p->env;

    /* Until execve nothing in the container may open /proc/<us>/exe. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* First, when the cgroup exists already (a user namespace, cgroup2): what the
     * init does from here on is charged to the container. */
    if (ctx->cg && rt_cgroup_join_self(ctx->cg, &e) < 0)
        init_fail(ctx, e, "cgroup");

    /* Without a user namespace nothing must happen before we go on: our pid
     * (for hooks) comes with RT_SYNC_CGROUP, and a parent gone meanwhile
     * shows at that read (PDEATHSIG is set from here on). */
    if (ctx->wait_go) {
        if (rt_sync_recv(ctx->sync_fd, &m) != RT_SYNC_GO)
            _exit(1);
        ctx->state->pid = m.value;
    }

    if (ctx->new_ns_flags & CLONE_NEWUSER) {
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
            init_fail(ctx, NULL, "become root in the user namespace");
    }
    if (join_namespaces(ctx, &e) < 0)
        init_fail(ctx, e, "namespaces");
    /* A cgroup namespace is rooted at the cgroup we are in: wait for it. */
    if ((ctx->late_ns_flags & CLONE_NEWCGROUP) && !wait_cgroup(ctx))
        _exit(1);
    if (ctx->late_ns_flags && unshare((int)ctx->late_ns_flags) < 0) {
        cm_error_errno(&e, "unshare");
        init_fail(ctx, e, "namespaces");
    }
    /* Before any hook: the first process to enter the namespace fixes them. */
    if ((ctx->late_ns_flags & CLONE_NEWTIME) && rt_time_offsets_apply(&cfg->linux_, &e) < 0)
        init_fail(ctx, e, "time namespace");

    if (rt_rootfs_prepare(ctx, &e) < 0)
        init_fail(ctx, e, "rootfs");

    if (ctx->has_hooks_mid) {
        if (!wait_cgroup(ctx))
            _exit(1);
        if (rt_sync_send(ctx->sync_fd, RT_SYNC_MOUNTED, 0, NULL) < 0)
            _exit(1);
        if (rt_sync_recv(ctx->sync_fd, &m) != RT_SYNC_HOOKS_DONE)
            _exit(1);
        if (hooks_in_init(ctx, RT_HOOK_CREATE_CONTAINER, "creating", &e) < 0)
            init_fail(ctx, e, "createContainer hook");
    }

    /* Joining by path needs the host's /sys/fs/cgroup: before the pivot. */
    if (ctx->join_planned && !wait_cgroup(ctx))
        _exit(1);
    if (rt_rootfs_pivot(ctx, &e) < 0)
        init_fail(ctx, e, "pivot_root");
    if (rt_config_namespace(cfg, RT_NS_UTS) && set_hostname(cfg, &e) < 0)
        init_fail(ctx, e, "hostname");
    if (rt_sysctl_apply(cfg, &e) < 0)
        init_fail(ctx, e, "sysctl");
    if (rt_rootfs_finish(ctx, &e) < 0)
        init_fail(ctx, e, "rootfs");

    if (p->terminal && ctx->console_fd >= 0) {
        if (setsid() < 0) {
            cm_error_errno(&e, "setsid");
            init_fail(ctx, e, "console");
        }
        if (rt_console_setup(ctx->console_fd, p, true, &e) < 0)
            init_fail(ctx, e, "console");
        close(ctx->console_fd);
        ctx->console_fd = -1;
    }

    /* The cwd is always set inside the new root (CVE-2024-21626). */
    if (chdir(p->cwd ? p->cwd : "/") < 0) {
        cm_error_errno(&e, "chdir '%s'", p->cwd ? p->cwd : "/");
        init_fail(ctx, e, "cwd");
    }
    {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/') {
            cm_error_set(&e, EPERM, "working directory is outside the container root");
            init_fail(ctx, e, "cwd");
        }
    }

    if (!p->args || !p->args[0])
        init_fail(ctx, NULL, "process.args must not be empty");
    if (rt_resolve_exec(p->args[0], p->env, ctx->self_exe_fd, &exec_fd, &script, &exec_path, &e) <
        0)
        init_fail(ctx, e, "process");
    if (ctx->self_exe_fd >= 0)
        close(ctx->self_exe_fd);

    if (cfg->linux_.seccomp && rt_seccomp_compile(cfg->linux_.seccomp, &filter, &e) < 0)
        init_fail(ctx, e, "seccomp");
    if (rt_rlimits_apply(p->rlimits, p->n_rlimits, &e) < 0)
        init_fail(ctx, e, "rlimits");
    if (cfg->linux_.has_personality && cfg->linux_.personality_domain &&
        personality(!strcmp(cfg->linux_.personality_domain, "LINUX32") ? PER_LINUX32 : PER_LINUX) <
            0) {
        cm_error_errno(&e, "personality '%s'", cfg->linux_.personality_domain);
        init_fail(ctx, e, "linux.personality");
    }
    if (rt_oom_score_adj_apply(p, &e) < 0)
        init_fail(ctx, e, "oomScoreAdj");
    if (rt_ioprio_apply(p, &e) < 0)
        init_fail(ctx, e, "ioPriority");
    if (rt_sched_apply(p, &e) < 0)
        init_fail(ctx, e, "scheduler");
    if (!wait_cgroup(ctx))
        _exit(1);
    /* create's process exits after READY: the init must outlive it. */
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (rt_sync_send(ctx->sync_fd, RT_SYNC_READY, 0, NULL) < 0)
        _exit(1);

    if (ctx->fifo_fd >= 0) {
        char c;
        ssize_t n;
        do
            n = read(ctx->fifo_fd, &c, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
            _exit(1);
        /* Kept open until execve closes it: start waits for that. */
    }
    /* From here on errors go to the container's stderr: create has returned. */
    if (cfg->hooks.n_hooks[RT_HOOK_START_CONTAINER] &&
        hooks_in_init(ctx, RT_HOOK_START_CONTAINER, "created", &e) < 0) {
        fprintf(stderr, "skiff-runtime: startContainer hook: %s\n", e->msg);
        _exit(1);
    }
    /* Before any filter: it may not allow close_range or fcntl. */
    if (listen) {
        /* Socket activation (runc's rule): the fds after the preserved ones
         * go to the container, which is told so as pid 1. */
        int n = atoi(listen);
        if (n > 0 && n < 1024) {
            size_t k = cm_strv_len(env);
            char **v = xcalloc(k + 3, sizeof(char *));
            if (k)
                memcpy(v, env, k * sizeof(char *));
            v[k] = xasprintf("LISTEN_FDS=%d", n);
            v[k + 1] = xstrdup("LISTEN_PID=1");
            env = v;
            preserve += n;
        }
    }
    if (rt_prepare_fds(preserve, &e) < 0) {
        fprintf(stderr, "skiff-runtime: %s\n", e->msg);
        _exit(1);
    }
    /* Hooks and the fifo are behind us (hooks needed our SIGPIPE ignored);
     * before the filter, which may not allow rt_sigaction. */
    rt_signals_reset(ctx->sig_ignored);
    /* Privileges drop after the fifo so that start-time hooks and the fifo
     * itself are unaffected; without noNewPrivileges the filter must be
     * loaded while CAP_SYS_ADMIN is still held (runc's order). */
    if (filter && !p->no_new_privileges && load_filter(filter, &e) < 0)
        late_fail(e, "seccomp");
    if (rt_user_apply(&p->user, &e) < 0)
        late_fail(e, "user");
    if (p->caps.present && rt_caps_apply(&p->caps, &e) < 0)
        late_fail(e, "capabilities");
    if (rt_no_new_privs_apply(p, &e) < 0)
        late_fail(e, "noNewPrivileges");
    if (filter && p->no_new_privileges && load_filter(filter, &e) < 0)
        late_fail(e, "seccomp");
    if (!script)
        syscall(SYS_execveat, exec_fd, "", p->args, env, AT_EMPTY_PATH);
    /* Scripts, and filters that do not allow execveat: by path. */
    execve(exec_path, p->args, env);
    fprintf(stderr, "skiff-runtime: exec '%s': %s\n", p->args[0], strerror(errno));
    _exit(127);
}
