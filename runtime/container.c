/* SPDX-License-Identifier: Apache-2.0 */
/* The lifecycle, parent side: create (one clone() with every new namespace,
 * cgroup, hooks, state), start (the exec fifo), run, state, kill, delete,
 * pause/resume, update. A failure at any step of create undoes the others. */
#include "rt/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "rt/cgroup.h"
#include "rt/security.h"
#include "internal.h"

/* What create has built so far, for undoing it on failure. */
struct creation {
    const char *root;
    const char *id;
    bool state_dir;
    struct rt_cgroup *cg;
    pid_t pid;
    int sync_fd;
};

static void
creation_undo(struct creation *c)
{
    struct cm_error *tmp = NULL;

    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        c->pid = 0;
    }
    if (c->cg) {
        if (rt_cgroup_destroy(c->cg, true, &tmp) < 0) {
            cm_log_warn("remove cgroup of '%s': %s, ignoring", c->id, tmp->msg);
            cm_error_free(&tmp);
        }
        rt_cgroup_free(c->cg);
        c->cg = NULL;
    }
    if (c->state_dir) {
        if (rt_state_remove(c->root, c->id, &tmp) < 0) {
            cm_log_warn("remove state of '%s': %s, ignoring", c->id, tmp->msg);
            cm_error_free(&tmp);
        }
        c->state_dir = false;
    }
}

static int
validate_config(const struct rt_config *cfg, struct cm_error **err)
{
    if (!cfg->has_process)
        return cm_error_set(err, 0, "process: required to create a container");
    if ((cfg->hostname && *cfg->hostname) || (cfg->domainname && *cfg->domainname)) {
        if (!rt_config_namespace(cfg, RT_NS_UTS))
            return cm_error_set(err, 0, "hostname: requires a uts namespace");
    }
    if (rt_config_has_new_ns(cfg, RT_NS_USER) &&
        (!cfg->linux_.n_uid_mappings || !cfg->linux_.n_gid_mappings))
        return cm_error_set(err, 0, "linux.uidMappings: required with a new user namespace");
    if (!rt_config_namespace(cfg, RT_NS_USER) &&
        (cfg->linux_.n_uid_mappings || cfg->linux_.n_gid_mappings))
        return cm_error_set(err, 0, "linux.uidMappings: requires a user namespace");
    if (cfg->linux_.seccomp && rt_seccomp_validate(cfg->linux_.seccomp, err) < 0)
        return cm_error_wrap(err, "linux.seccomp");
    if (rt_sysctl_validate(cfg, err) < 0)
        return -1;
    if (cfg->process.terminal && !cfg->process.cwd)
        return cm_error_set(err, 0, "process.cwd: required");
    return 0;
}

/* The device rules a container always needs (runc's list): mknod of any
 * device, the default /dev nodes, the console and ptys, then one allow per
 * linux.devices entry. They follow the config's rules (usually "deny all"). */
static struct rt_device_rule *
device_rules(const struct rt_config *cfg, size_t *ret_n)
{
    static const struct rt_device_rule defaults[] = {
        {true, 'c', -1, -1, "m"},    {true, 'b', -1, -1, "m"}, {true, 'c', 1, 3, "rwm"},
        {true, 'c', 1, 8, "rwm"},    {true, 'c', 1, 7, "rwm"}, {true, 'c', 5, 0, "rwm"},
        {true, 'c', 1, 5, "rwm"},    {true, 'c', 1, 9, "rwm"}, {true, 'c', 5, 1, "rwm"},
        {true, 'c', 136, -1, "rwm"}, {true, 'c', 5, 2, "rwm"}, {true, 'c', 10, 200, "rwm"},
    };
    const struct rt_resources *r = &cfg->linux_.resources;
    size_t nd = sizeof(defaults) / sizeof(defaults[0]);
    size_t n = r->n_devices + nd + cfg->linux_.n_devices, k = 0;
    struct rt_device_rule *v = xcalloc(n ? n : 1, sizeof(*v));

    for (size_t i = 0; i < r->n_devices; i++)
        v[k++] = r->devices[i];
    for (size_t i = 0; i < nd; i++)
        v[k++] = defaults[i];
    for (size_t i = 0; i < cfg->linux_.n_devices; i++) {
        const struct rt_device *d = &cfg->linux_.devices[i];
        if (d->type == 'p')
            continue;
        v[k] = (struct rt_device_rule){true, d->type == 'b' ? 'b' : 'c', d->major, d->minor, "rwm"};
        k++;
    }
    *ret_n = k;
    return v;
}

static int
read_config(const char *bundle, char **ret_buf, size_t *ret_len, struct rt_config **ret,
            struct cm_error **err)
{
    cleanup_free char *path = xasprintf("%s/config.json", bundle);
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (cm_read_file_at(AT_FDCWD, path, RT_CONFIG_MAX_BYTES, &buf, &len, err) < 0)
        return -1;
    if (rt_config_parse(buf, len, "config.json", ret, err) < 0)
        return -1;
    *ret_buf = TAKE_PTR(buf);
    *ret_len = len;
    return 0;
}

static void
close_fds(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

static int
write_pid_file(const char *path, pid_t pid, struct cm_error **err)
{
    char buf[32];
    cleanup_free char *dir = NULL;
    cleanup_close int dfd = -1;
    const char *slash;

    snprintf(buf, sizeof(buf), "%d", (int)pid);
    slash = strrchr(path, '/');
    dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    dfd = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cm_error_errno(err, "pid file directory '%s'", dir);
    return rt_write_atomic_nosync(dfd, slash ? slash + 1 : path, buf, strlen(buf), 0644, err);
}

static int
run_hooks_kind(const struct rt_config *cfg, enum rt_hook_kind k, const struct rt_state *s,
               enum rt_status st, struct cm_error **err)
{
    cleanup_free char *json = NULL;
    if (!cfg->hooks.n_hooks[k])
        return 0;
    json = rt_state_spec_json(s, st, false);
    return rt_hooks_run(cfg->hooks.hooks[k], cfg->hooks.n_hooks[k], json, err);
}

static int
recv_fd(int sock)
{
    char buf[256], cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c;
    int fd = -1;

    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
        return -1;
    c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

/* poststart and poststop: a failing hook is a warning, the others still run. */
static void
run_hooks_warn(const struct rt_config *cfg, enum rt_hook_kind k, const struct rt_state *s,
               enum rt_status st, const char *what)
{
    cleanup_free char *json = NULL;
    if (!cfg->hooks.n_hooks[k])
        return;
    json = rt_state_spec_json(s, st, false);
    for (size_t i = 0; i < cfg->hooks.n_hooks[k]; i++) {
        struct cm_error *tmp = NULL;
        if (rt_hooks_run(&cfg->hooks.hooks[k][i], 1, json, &tmp) < 0) {
            cm_log_warn("%s hook of '%s': %s, ignoring", what, s->id, tmp->msg);
            cm_error_free(&tmp);
        }
    }
}

/* clone() of the init with every new namespace. With a cgroup2 directory
 * (pure v2, or the hybrid host's unified mount) clone3 starts it there
 * (CLONE_INTO_CGROUP): moving it afterwards through cgroup.procs would wait
 * for an RCU grace period. *ret_into says whether that happened; any clone3
 * failure (an old kernel, a caller's seccomp filter, a refusal that the
 * later cgroup.procs write reports better) falls back to plain clone. */
static pid_t
clone_init(unsigned long flags, int cgroup_fd, bool *ret_into)
{
    *ret_into = false;
    if (cgroup_fd >= 0) {
        struct clone_args a = {
            .flags = flags | CLONE_INTO_CGROUP,
            .exit_signal = SIGCHLD,
            .cgroup = (uint64_t)cgroup_fd,
        };
        pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
        if (pid >= 0) {
            *ret_into = true;
            return pid;
        }
        cm_log_debug("clone3 into cgroup: %s, using clone", strerror(errno));
    }
    return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* The body of create and run. On success *ret_pid is the init's pid and the
 * container is in "created" (fifo) or about to exec (run, fifo_wait false). */
static int
do_create(const struct rt_create_opts *o, bool use_fifo, struct rt_config **ret_cfg,
          struct rt_state *ret_state, struct rt_cgroup **ret_cg, int *ret_console,
          struct cm_error **err)
{
    cleanup_rt_config struct rt_config *cfg = NULL;
    cleanup_free char *cfgbuf = NULL;
    cleanup_free char *bundle = NULL;
    cleanup_free char *rootfs = NULL;
    cleanup_free char *dir = NULL;
    cleanup_close int fifo_fd = -1;
    cleanup_close int console_fd = -1;
    cleanup_close int console_peer = -1;
    cleanup_close int saved_cwd = -1;
    cleanup_close int self_exe = -1;
    cleanup_close int host_pidns = -1;
    int sp[2] = {-1, -1};
    size_t cfglen = 0;
    struct creation c = {.root = o->root, .id = o->id, .sync_fd = -1};
    struct rt_state st = {0};
    struct rt_init_ctx ctx = {0};
    unsigned long flags = 0;
    bool into_cgroup = false;
    bool late_cgroup = false;
    bool early_done = false;
    struct rt_resources cg_res = {0};
    cleanup_free struct rt_device_rule *cg_rules = NULL;
    struct rt_sync_msg m;
    int r = -1;
    char pathbuf[PATH_MAX];

    for (int i = 0; i < RT_NS_COUNT; i++)
        ctx.join_fds[i] = -1;
    if (rt_id_validate(o->id, err) < 0)
        return -1;
    if (!realpath(o->bundle ? o->bundle : ".", pathbuf))
        return cm_error_errno(err, "bundle '%s'", o->bundle ? o->bundle : ".");
    bundle = xstrdup(pathbuf);
    if (read_config(bundle, &cfgbuf, &cfglen, &cfg, err) < 0)
        return -1;
    if (validate_config(cfg, err) < 0)
        return -1;
    if (!cfg->root.path)
        return cm_error_set(err, 0, "root.path: required");
    {
        cleanup_free char *rp = cfg->root.path[0] == '/'
                                    ? xstrdup(cfg->root.path)
                                    : xasprintf("%s/%s", bundle, cfg->root.path);
        if (!realpath(rp, pathbuf))
            return cm_error_errno(err, "root.path '%s'", cfg->root.path);
        rootfs = xstrdup(pathbuf);
    }
    if (cfg->process.terminal && !o->console_socket && use_fifo)
        return cm_error_set(err, 0, "process.terminal requires --console-socket");
    /* Bind-mount sources are relative to the bundle: the init works from
     * there; the caller (a library user such as the shim) gets its cwd back. */
    saved_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (chdir(bundle) < 0)
        return cm_error_errno(err, "chdir '%s'", bundle);

    if (rt_state_dir_create(o->root, o->id, err) < 0)
        goto fail;
    c.state_dir = true;
    dir = xasprintf("%s/%s", o->root, o->id);

    st.id = xstrdup(o->id);
    st.bundle = xstrdup(bundle);
    st.rootfs = xstrdup(rootfs);
    st.created = rt_timestamp_now();
    st.owner = xstrdup("");
    st.systemd_cgroup = o->systemd_cgroup;
    if (cfg->n_annotations) {
        st.annotations = xcalloc(cfg->n_annotations, sizeof(*st.annotations));
        for (size_t i = 0; i < cfg->n_annotations; i++) {
            st.annotations[i].key = xstrdup(cfg->annotations[i].key);
            st.annotations[i].value = xstrdup(cfg->annotations[i].value);
        }
        st.n_annotations = cfg->n_annotations;
    }

    {
        cleanup_close int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
            cm_error_errno(err, "open '%s'", dir);
            goto fail;
        }
        /* exec uses the container's process as its defaults. Written in
         * place: nothing reads it before state.json exists. */
        {
            cleanup_close int cf =
                openat(dfd, RT_CONFIG_COPY, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (cf < 0 || write(cf, cfgbuf, cfglen) != (ssize_t)cfglen) {
                cm_error_errno(err, "save config of '%s'", o->id);
                goto fail;
            }
        }
        if (use_fifo) {
            if (mkfifoat(dfd, RT_EXEC_FIFO, 0600) < 0) {
                cm_error_errno(err, "mkfifo");
                goto fail;
            }
            snprintf(pathbuf, sizeof(pathbuf), "%s/" RT_EXEC_FIFO, dir);
            /* O_RDWR: the init is its own writer, so its read blocks until start writes. */
            fifo_fd = open(pathbuf, O_RDWR | O_CLOEXEC);
            if (fifo_fd < 0) {
                cm_error_errno(err, "open exec fifo");
                goto fail;
            }
        }
    }

    /* No state.json before the pid is known: after a crash from here on,
     * `delete` finds the cgroup from the config copy saved above (the init
     * dies with us: PDEATHSIG). */
    if (rt_cgroup_resolve_path(cfg->linux_.cgroups_path, o->id, &st.cgroup_path, err) < 0)
        goto fail;
    cg_res = cfg->linux_.resources;
    if (cfg->linux_.has_resources) {
        cg_rules = device_rules(cfg, &cg_res.n_devices);
        cg_res.devices = cg_rules;
    }
    if (rt_cgroup_plan(RT_CGROUP_ROOT, cfg->linux_.cgroups_path, o->id,
                       cfg->linux_.has_resources ? &cg_res : NULL, &c.cg, err) < 0)
        goto fail;
    /* The directories are made after the clone, while the init builds its
     * rootfs (it joins them by path when told, before its cgroup mount),
     * unless the init must be born in them (clone3 into cgroup2) or cannot
     * open their files itself (a user namespace). */
    late_cgroup = !rt_cgroup_plan_needs_v2(c.cg) && !rt_config_namespace(cfg, RT_NS_USER);
    if (!late_cgroup &&
        rt_cgroup_realize(c.cg, cfg->linux_.has_resources ? &cg_res : NULL, err) < 0)
        goto fail;
    free(st.cgroup_path);
    st.cgroup_path = xstrdup(rt_cgroup_path(c.cg));

    if (cfg->process.terminal && o->console_socket) {
        console_fd = rt_console_connect(o->console_socket, err);
        if (console_fd < 0)
            goto fail;
    } else if (cfg->process.terminal && ret_console) {
        /* run without a console socket: we are the console's other end. */
        int cv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv) < 0) {
            cm_error_errno(err, "socketpair");
            goto fail;
        }
        console_fd = cv[1];
        console_peer = cv[0];
    }
    self_exe = open("/proc/self/exe", O_PATH | O_CLOEXEC);

    /* Namespaces: new ones in the clone flags; joined ones opened now (host paths). */
    {
        const struct rt_namespace *userns = rt_config_namespace(cfg, RT_NS_USER);
        bool join_user = userns && userns->path;
        for (size_t i = 0; i < cfg->linux_.n_namespaces; i++) {
            const struct rt_namespace *ns = &cfg->linux_.namespaces[i];
            unsigned long f = rt_ns_clone_flag(ns->type);
            if (!ns->path) {
                if (ns->type == RT_NS_CGROUP || ns->type == RT_NS_TIME ||
                    (join_user && ns->type != RT_NS_PID))
                    ctx.late_ns_flags |= f;
                else
                    flags |= f;
                continue;
            }
            int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                cm_error_errno(err, "linux.namespaces: open '%s'", ns->path);
                goto fail;
            }
            if (ns->type == RT_NS_PID) {
                /* pid_for_children of this process; restored after clone. */
                host_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
                if (setns(fd, CLONE_NEWPID) < 0) {
                    close(fd);
                    cm_error_errno(err, "join pid namespace '%s'", ns->path);
                    goto fail;
                }
                close(fd);
            } else {
                ctx.join_fds[ns->type] = fd;
            }
        }
    }

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
        cm_error_errno(err, "socketpair");
        goto fail;
    }
    ctx.cfg = cfg;
    ctx.opts = o;
    ctx.rootfs = rootfs;
    ctx.sync_fd = sp[1];
    ctx.fifo_fd = fifo_fd;
    ctx.console_fd = console_fd;
    ctx.new_ns_flags = flags;
    ctx.state = &st;
    ctx.self_exe_fd = self_exe;
    ctx.cg = c.cg;
    ctx.join_planned = late_cgroup;
    ctx.sig_ignored = rt_signals_ignored();
    ctx.has_hooks_mid = cfg->hooks.n_hooks[RT_HOOK_PRESTART] ||
                        cfg->hooks.n_hooks[RT_HOOK_CREATE_RUNTIME] ||
                        cfg->hooks.n_hooks[RT_HOOK_CREATE_CONTAINER];
    ctx.wait_go = (flags & CLONE_NEWUSER) != 0;
    /* run without set-up hooks: no one can see "creating" (no hook, no
     * fifo to start), so the state written with the pid is the final one
     * and the write after READY is saved. */
    early_done = !use_fifo && !ctx.has_hooks_mid;

    if (rt_cgroup_join_prepare(c.cg, err) < 0)
        goto fail;
    c.pid = clone_init(flags, rt_cgroup_v2_fd(c.cg), &into_cgroup);
    if (c.pid < 0) {
        c.pid = 0;
        cm_error_errno(err, "clone");
        goto fail;
    }
    if (c.pid == 0) {
        close(sp[0]);
        rt_init_main(&ctx);
    }
    close(sp[1]);
    sp[1] = -1;
    rt_cgroup_join_done(c.cg, into_cgroup);
    close_fds(ctx.join_fds, RT_NS_COUNT);
    if (saved_cwd >= 0 && fchdir(saved_cwd) < 0)
        cm_log_debug("restore the working directory: %s, ignoring", strerror(errno));
    if (host_pidns >= 0 && setns(host_pidns, CLONE_NEWPID) < 0)
        cm_log_warn("restore pid namespace: %s, ignoring", strerror(errno));

    if ((flags & CLONE_NEWUSER) && rt_write_id_maps(c.pid, cfg, err) < 0)
        goto fail;
    /* The init joined the v1 hierarchies itself and clone3 placed it in the
     * v2 one: this moves it only where that was not possible. */
    if (ctx.wait_go && rt_sync_send(sp[0], RT_SYNC_GO, c.pid, NULL) < 0) {
        cm_error_errno(err, "signal the container init");
        goto fail;
    }
    if (late_cgroup) {
        rt_cgroup_mark_joined(c.cg); /* the init joins when told (RT_SYNC_CGROUP) */
        if (rt_cgroup_realize(c.cg, cfg->linux_.has_resources ? &cg_res : NULL, err) < 0)
            goto fail;
    }
    if (rt_cgroup_enter(c.cg, c.pid, err) < 0)
        goto fail;
    if (rt_sync_send(sp[0], RT_SYNC_CGROUP, c.pid, NULL) < 0) {
        cm_error_errno(err, "signal the container init");
        goto fail;
    }
    /* While the init mounts on: until READY it dies with us (PDEATHSIG), so
     * the pid need not be on disk before it goes on. */
    st.pid = c.pid;
    if (rt_proc_stat(c.pid, &st.start_time, NULL, err) < 0)
        goto fail;
    st.created_done = early_done;
    if (rt_state_save(o->root, &st, err) < 0)
        goto fail;
    for (;;) {
        int t = rt_sync_recv(sp[0], &m);
        if (t == RT_SYNC_READY)
            break;
        if (t == RT_SYNC_MOUNTED) {
            /* prestart sees "created" like runc's; createRuntime "creating". */
            if (run_hooks_kind(cfg, RT_HOOK_PRESTART, &st, RT_STATUS_CREATED, err) < 0 ||
                run_hooks_kind(cfg, RT_HOOK_CREATE_RUNTIME, &st, RT_STATUS_CREATING, err) < 0)
                goto fail;
            if (rt_sync_send(sp[0], RT_SYNC_HOOKS_DONE, 0, NULL) < 0) {
                cm_error_errno(err, "signal the container init");
                goto fail;
            }
            continue;
        }
        if (t == RT_SYNC_ERROR) {
            cm_error_set(err, m.value, "%s", m.text);
            goto fail;
        }
        cm_error_set(err, EIO, "container init exited during set-up");
        goto fail;
    }
    if (!early_done) {
        st.created_done = true;
        if (rt_state_save(o->root, &st, err) < 0)
            goto fail;
    }
    if (!use_fifo) {
        /* run: the socket closes at the init's execve (or death). */
        struct pollfd p = {.fd = sp[0], .events = POLLIN};
        while (poll(&p, 1, 10000) < 0 && errno == EINTR)
            ;
    }
    if (o->pid_file && write_pid_file(o->pid_file, c.pid, err) < 0)
        goto fail;
    close(sp[0]);
    if (ret_console)
        *ret_console = console_peer >= 0 ? recv_fd(console_peer) : -1;
    *ret_cfg = TAKE_PTR(cfg);
    *ret_state = st;
    *ret_cg = c.cg;
    return 0;

fail:
    if (saved_cwd >= 0 && fchdir(saved_cwd) < 0)
        cm_log_debug("restore the working directory: %s, ignoring", strerror(errno));
    /* The init may have failed first: its message explains our failure better
     * (a broken pipe or a vanished pid). */
    if (sp[0] >= 0 && c.pid > 0) {
        struct rt_sync_msg em;
        ssize_t n;
        do
            n = recv(sp[0], &em, sizeof(em), MSG_DONTWAIT);
        while (n > 0 && em.type != RT_SYNC_ERROR);
        if (n > 0) {
            em.text[sizeof(em.text) - 1] = 0;
            cm_error_free(err);
            cm_error_set(err, em.value, "%s", em.text);
        }
    }
    if (sp[0] >= 0)
        close(sp[0]);
    if (sp[1] >= 0)
        close(sp[1]);
    close_fds(ctx.join_fds, RT_NS_COUNT);
    creation_undo(&c);
    rt_state_done(&st);
    return r;
}

int
rt_container_create(const struct rt_create_opts *o, struct cm_error **err)
{
    cleanup_rt_config struct rt_config *cfg = NULL;
    struct rt_state st = {0};
    struct rt_cgroup *cg = NULL;

    if (do_create(o, true, &cfg, &st, &cg, NULL, err) < 0)
        return -1;
    rt_cgroup_free(cg);
    rt_state_done(&st);
    return 0;
}

int
rt_container_config(const char *root, const char *id, struct rt_config **ret, struct cm_error **err)
{
    cleanup_free char *dir = rt_state_dir(root, id, err);
    cleanup_free char *path = NULL;
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (!dir)
        return -1;
    path = xasprintf("%s/" RT_CONFIG_COPY, dir);
    if (cm_read_file_at(AT_FDCWD, path, RT_CONFIG_MAX_BYTES, &buf, &len, err) < 0)
        return -1;
    return rt_config_parse(buf, len, "config.json", ret, err);
}

static int
release_fifo(const char *root, const char *id, struct cm_error **err)
{
    char path[PATH_MAX];
    cleanup_close int fd = -1;

    snprintf(path, sizeof(path), "%s/%s/" RT_EXEC_FIFO, root, id);
    fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return cm_error_errno(err, "open exec fifo of '%s'", id);
    if (write(fd, "0", 1) != 1)
        return cm_error_errno(err, "release '%s'", id);
    unlink(path);
    /* The init holds the fifo open until its execve (close-on-exec): when the
     * last reader is gone the user process runs (or the init died). Waiting
     * makes poststart hooks and signals sent right after start meet the
     * user's program, not the runtime. Bounded: 10 s. */
    for (int i = 0; i < 100; i++) {
        struct pollfd p = {.fd = fd, .events = 0};
        if (poll(&p, 1, 100) != 0)
            break;
    }
    return 0;
}

int
rt_container_start(const char *root, const char *id, struct cm_error **err)
{
    struct rt_state st = {0};
    cleanup_rt_config struct rt_config *cfg = NULL;
    enum rt_status s;
    int r;

    if (rt_state_load(root, id, &st, err) < 0)
        return -1;
    s = rt_state_status(root, &st);
    if (s != RT_STATUS_CREATED) {
        rt_state_done(&st);
        return cm_error_set(err, 0, "cannot start container '%s' in state %s", id,
                            rt_status_name(s));
    }
    if (rt_container_config(root, id, &cfg, err) < 0) {
        rt_state_done(&st);
        return -1;
    }
    r = release_fifo(root, id, err);
    if (r == 0) {
        /* start returns once the user's program has had its first slice
         * (until it sleeps or exits, at most 10 ms): poststart hooks and
         * signals sent right after start then meet a program that has set
         * itself up (signal handlers), not one still being loaded. */
        for (int i = 0; i < 50; i++) {
            char path[64], buf[512], *p;
            cleanup_close int fd = -1;
            ssize_t n;
            snprintf(path, sizeof(path), "/proc/%d/stat", (int)st.pid);
            fd = open(path, O_RDONLY | O_CLOEXEC);
            n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
            if (n <= 0)
                break;
            buf[n] = 0;
            p = strrchr(buf, ')');
            if (!p || p[1] != ' ' || (p[2] != 'R' && p[2] != 'D'))
                break;
            usleep(200);
        }
        run_hooks_warn(cfg, RT_HOOK_POSTSTART, &st, RT_STATUS_RUNNING, "poststart");
    }
    rt_state_done(&st);
    return r;
}

/* Removes everything of a stopped container: poststop hooks, cgroup, state. */
static int
destroy(const char *root, struct rt_state *st, const struct rt_config *have_cfg,
        struct rt_cgroup *have_cg, struct cm_error **err)
{
    cleanup_rt_config struct rt_config *cfg = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct cm_error *tmp = NULL;

    /* run passes what it already holds; delete reloads it from the state. */
    if (!have_cfg && rt_container_config(root, st->id, &cfg, &tmp) < 0)
        cm_error_free(&tmp);
    if (have_cfg || cfg)
        run_hooks_warn(have_cfg ? have_cfg : cfg, RT_HOOK_POSTSTOP, st, RT_STATUS_STOPPED,
                       "poststop");
    /* A create that crashed before its first state.json: the cgroup path
     * follows from the config copy. */
    if (!have_cg && !st->cgroup_path && cfg &&
        rt_cgroup_resolve_path(cfg->linux_.cgroups_path, st->id, &st->cgroup_path, &tmp) < 0)
        cm_error_free(&tmp);
    if (!have_cg && st->cgroup_path &&
        rt_cgroup_open(RT_CGROUP_ROOT, st->cgroup_path, &cg, &tmp) < 0)
        cm_error_free(&tmp);
    if (have_cg || cg) {
        struct rt_cgroup *g = have_cg ? have_cg : cg;
        /* Usually empty by now: freezing to kill stragglers toggles a kernel
         * static key (text patching on every CPU), so only when needed. */
        if (rt_cgroup_destroy(g, false, &tmp) < 0) {
            cm_error_free(&tmp);
            if (rt_cgroup_destroy(g, true, err) < 0)
                return cm_error_wrap(err, "delete '%s'", st->id);
        }
    }
    return rt_state_remove(root, st->id, err);
}

static bool
copy_some(int from, int to)
{
    char buf[4096];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 && errno == EINTR;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

/* run with a terminal and no console socket (runc's behaviour): our stdin in
 * raw mode feeds the container's pty, its output goes to our stdout, until
 * the container's init exits. */
static void
proxy_console(int master, pid_t pid)
{
    struct termios saved, raw;
    bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
    cleanup_close int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p[3] = {{.fd = 0, .events = POLLIN},
                          {.fd = master, .events = POLLIN},
                          {.fd = pfd, .events = POLLIN}};

    if (tty) {
        struct winsize ws;
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
        if (ioctl(0, TIOCGWINSZ, &ws) == 0)
            ioctl(master, TIOCSWINSZ, &ws);
    }
    for (;;) {
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if ((p[0].revents & (POLLIN | POLLHUP)) && !copy_some(0, master))
            p[0].fd = -1; /* stdin closed: keep showing output */
        if ((p[1].revents & POLLIN) && !copy_some(master, 1))
            break;
        if (p[1].revents & (POLLHUP | POLLERR))
            break;
        if (p[2].revents & POLLIN) {
            /* The init is gone: drain what it left in the pty. */
            int fl = fcntl(master, F_GETFL);
            fcntl(master, F_SETFL, fl | O_NONBLOCK);
            while (copy_some(master, 1))
                ;
            break;
        }
    }
    if (tty)
        tcsetattr(0, TCSANOW, &saved);
}

static volatile sig_atomic_t forward_pid;

static void
forward_signal(int sig)
{
    if (forward_pid > 0)
        kill(forward_pid, sig);
}

int
rt_container_run(const struct rt_create_opts *o, bool detach, int *ret_status,
                 struct cm_error **err)
{
    cleanup_rt_config struct rt_config *cfg = NULL;
    struct rt_state st = {0};
    struct rt_cgroup *cg = NULL;
    int wst = 0, r, master = -1;
    static const int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

    if (detach) {
        if (rt_container_create(o, err) < 0)
            return -1;
        if (rt_container_start(o->root, o->id, err) < 0)
            return -1;
        *ret_status = 0;
        return 0;
    }
    if (do_create(o, false, &cfg, &st, &cg, &master, err) < 0)
        return -1;
    run_hooks_warn(cfg, RT_HOOK_POSTSTART, &st, RT_STATUS_RUNNING, "poststart");
    forward_pid = st.pid;
    for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++) {
        struct sigaction sa = {.sa_handler = forward_signal, .sa_flags = SA_RESTART};
        sigaction(fwd[i], &sa, NULL);
    }
    if (master >= 0) {
        proxy_console(master, st.pid);
        close(master);
    }
    while (waitpid(st.pid, &wst, 0) < 0) {
        if (errno != EINTR) {
            wst = 0;
            break;
        }
    }
    forward_pid = 0;
    *ret_status = WIFSIGNALED(wst) ? 128 + WTERMSIG(wst) : WEXITSTATUS(wst);
    st.pid = 0;
    r = destroy(o->root, &st, cfg, cg, err);
    rt_cgroup_free(cg);
    rt_state_done(&st);
    return r;
}

int
rt_container_state(const char *root, const char *id, char **ret_json, struct cm_error **err)
{
    struct rt_state st = {0};

    if (rt_state_load(root, id, &st, err) < 0)
        return -1;
    *ret_json = rt_state_spec_json(&st, rt_state_status(root, &st), true);
    rt_state_done(&st);
    return 0;
}

static int
send_signal(const struct rt_state *st, int sig, struct cm_error **err)
{
    cleanup_close int pfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    uint64_t start = 0;

    if (pfd < 0)
        return cm_error_errno(err, "container '%s' is not running", st->id);
    /* The pidfd pins the process: check it is still ours, then signal it. */
    if (rt_proc_stat(st->pid, &start, NULL, err) < 0)
        return -1;
    if (start != st->start_time)
        return cm_error_set(err, ESRCH, "container '%s' is not running", st->id);
    if (syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
        return cm_error_errno(err, "kill '%s'", st->id);
    return 0;
}

int
rt_container_kill(const char *root, const char *id, int sig, bool all, struct cm_error **err)
{
    struct rt_state st = {0};
    enum rt_status s;
    int r;

    if (rt_state_load(root, id, &st, err) < 0)
        return -1;
    s = rt_state_status(root, &st);
    if (s == RT_STATUS_STOPPED && !all) {
        rt_state_done(&st);
        return cm_error_set(err, 0, "container '%s' is not running", id);
    }
    if (all && st.cgroup_path) {
        cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
        r = rt_cgroup_open(RT_CGROUP_ROOT, st.cgroup_path, &cg, err);
        if (r == 0)
            r = rt_cgroup_kill_all(cg, sig, err);
    } else {
        r = send_signal(&st, sig, err);
    }
    rt_state_done(&st);
    return r;
}

int
rt_container_delete(const char *root, const char *id, bool force, struct cm_error **err)
{
    struct rt_state st = {0};
    enum rt_status s;
    int r;

    if (rt_state_load(root, id, &st, err) < 0)
        return -1;
    s = rt_state_status(root, &st);
    if (s != RT_STATUS_STOPPED) {
        if (!force) {
            rt_state_done(&st);
            return cm_error_set(err, 0, "cannot delete container '%s' that is not stopped: %s", id,
                                rt_status_name(s));
        }
        if (st.cgroup_path) {
            cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
            struct cm_error *tmp = NULL;
            if (rt_cgroup_open(RT_CGROUP_ROOT, st.cgroup_path, &cg, &tmp) == 0 &&
                rt_cgroup_kill_all(cg, SIGKILL, &tmp) == 0) {
            } else {
                cm_error_free(&tmp);
            }
        }
        {
            struct cm_error *tmp = NULL;
            if (send_signal(&st, SIGKILL, &tmp) < 0)
                cm_error_free(&tmp);
        }
        /* Wait (bounded) until the init is gone; it may not be our child. */
        for (int i = 0; i < 2000 && rt_state_status(root, &st) != RT_STATUS_STOPPED; i++)
            usleep(1000);
    }
    r = destroy(root, &st, NULL, NULL, err);
    rt_state_done(&st);
    return r;
}

static int
open_cgroup(const char *root, const char *id, bool need_running, struct rt_state *st,
            struct rt_cgroup **ret, struct cm_error **err)
{
    enum rt_status s;

    if (rt_state_load(root, id, st, err) < 0)
        return -1;
    s = rt_state_status(root, st);
    if (need_running && s == RT_STATUS_STOPPED)
        return cm_error_set(err, 0, "container '%s' is not running", id);
    if (!st->cgroup_path)
        return cm_error_set(err, ENOENT, "container '%s' has no cgroup", id);
    return rt_cgroup_open(RT_CGROUP_ROOT, st->cgroup_path, ret, err);
}

int
rt_container_pause(const char *root, const char *id, bool pause, struct cm_error **err)
{
    struct rt_state st = {0};
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    enum rt_status s;
    int r = -1;

    if (open_cgroup(root, id, true, &st, &cg, err) < 0)
        goto out;
    s = rt_state_status(root, &st);
    if (pause && s != RT_STATUS_RUNNING) {
        cm_error_set(err, 0, "container '%s' is not running", id);
        goto out;
    }
    if (!pause && s != RT_STATUS_PAUSED) {
        cm_error_set(err, 0, "container '%s' is not paused", id);
        goto out;
    }
    r = rt_cgroup_freeze(cg, pause, err);
out:
    rt_state_done(&st);
    return r;
}

int
rt_container_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n,
                  struct cm_error **err)
{
    struct rt_state st = {0};
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    int r = open_cgroup(root, id, false, &st, &cg, err);

    if (r == 0)
        r = rt_cgroup_pids(cg, ret, ret_n, err);
    rt_state_done(&st);
    return r;
}

int
rt_container_update(const char *root, const char *id, const struct rt_resources *res,
                    struct cm_error **err)
{
    struct rt_state st = {0};
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    int r = open_cgroup(root, id, true, &st, &cg, err);

    if (r == 0)
        r = rt_cgroup_apply(cg, res, err);
    rt_state_done(&st);
    return r;
}

int
rt_signal_from_name(const char *name)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {
        {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
        {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
        {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
        {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
        {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
        {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
        {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
        {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
        {"SYS", SIGSYS},
    };
    char *end;
    long n;

    if (!name || !*name)
        return -1;
    n = strtol(name, &end, 10);
    if (!*end)
        return n > 0 && n < _NSIG ? (int)n : -1;
    if (!strncasecmp(name, "SIG", 3))
        name += 3;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (!strcasecmp(name, sigs[i].name))
            return sigs[i].sig;
    if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
        int base = !strncasecmp(name, "RTMIN", 5) ? SIGRTMIN : SIGRTMAX;
        long off = 0;
        if (name[5]) {
            off = strtol(name + 5, &end, 10);
            if (*end)
                return -1;
        }
        n = base + off;
        return n >= SIGRTMIN && n <= SIGRTMAX ? (int)n : -1;
    }
    return -1;
}
