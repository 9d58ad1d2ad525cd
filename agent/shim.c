/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-shim's library: exit and shim records, OOM detection, the shim's
 * supervision loop and the agent-side spawn/signal/inspect calls. */
#include "agent/shim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/logfile.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "rt/container.h"
#include "rt/state.h"

#define RECORD_MAX (64u << 10)
#define ERROR_MAX 4000
/* After the init has exited, how long to wait for the last output (a process
 * outside the container's pid namespace could hold the pipes open forever). */
#define DRAIN_MS 3000

/* ---- records ---- */

char *
agent_exit_record_to_json(const struct agent_exit_record *r)
{
    json_auto_t *j = NULL;
    char t[48];

    agent_log_format_time(&r->finished, t, sizeof t);
    j = json_pack("{s:i, s:i, s:b, s:s}", "exitCode", r->exit_code, "signal", r->signal,
                  "oomKilled", r->oom_killed, "finishedAt", t);
    return json_dumps(j, JSON_COMPACT);
}

int
agent_exit_record_from_json(const char *buf, size_t len, struct agent_exit_record *ret,
                            struct cm_error **err)
{
    json_auto_t *j = NULL;
    int64_t code = 0, sig = 0;
    bool oom = false;
    const char *fin = NULL;
    struct agent_exit_record r = {0};

    if (cm_json_loadb(buf, len, "exit.json", &j, err) < 0)
        return -1;
    if (!json_is_object(j))
        return cm_error_set(err, 0, "exit.json: not an object");
    if (cm_json_get_int64(j, "exit", "exitCode", true, &code, err) < 0 ||
        cm_json_get_int64(j, "exit", "signal", true, &sig, err) < 0 ||
        cm_json_get_bool(j, "exit", "oomKilled", false, &oom, err) < 0 ||
        cm_json_get_string(j, "exit", "finishedAt", false, &fin, err) < 0)
        return -1;
    if (code < 0 || code > 255)
        return cm_error_set(err, 0, "exit.exitCode %" PRId64 " out of range", code);
    if (sig < 0 || sig > 64)
        return cm_error_set(err, 0, "exit.signal %" PRId64 " out of range", sig);
    if (fin && agent_log_parse_time(fin, &r.finished) < 0)
        return cm_error_set(err, 0, "exit.finishedAt '%s' is not an RFC 3339 UTC time", fin);
    r.exit_code = (int)code;
    r.signal = (int)sig;
    r.oom_killed = oom;
    *ret = r;
    return 0;
}

static int
save_at(const char *dir, const char *name, char *json, struct cm_error **err)
{
    cleanup_free char *data = json;
    cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0)
        return cm_error_errno(err, "open '%s'", dir);
    if (cm_write_file_atomic_at(dfd, name, data, strlen(data), 0644, err) < 0)
        return cm_error_wrap(err, "save '%s/%s'", dir, name);
    return 0;
}

static int
load_at(const char *dir, const char *name, char **ret, size_t *ret_len, struct cm_error **err)
{
    cleanup_free char *path = xasprintf("%s/%s", dir, name);
    return cm_read_file_at(AT_FDCWD, path, RECORD_MAX, ret, ret_len, err);
}

int
agent_exit_record_save(const char *dir, const struct agent_exit_record *r, struct cm_error **err)
{
    return save_at(dir, "exit.json", agent_exit_record_to_json(r), err);
}

int
agent_exit_record_load(const char *dir, struct agent_exit_record *ret, struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len;

    if (load_at(dir, "exit.json", &buf, &len, err) < 0)
        return -1;
    return agent_exit_record_from_json(buf, len, ret, err);
}

char *
agent_shim_record_to_json(const struct agent_shim_record *r)
{
    json_auto_t *j = json_pack("{s:I, s:I, s:I, s:I}", "shimPid", (json_int_t)r->shim_pid,
                               "shimStart", (json_int_t)r->shim_start, "pid", (json_int_t)r->pid,
                               "pidStart", (json_int_t)r->pid_start);
    return json_dumps(j, JSON_COMPACT);
}

int
agent_shim_record_from_json(const char *buf, size_t len, struct agent_shim_record *ret,
                            struct cm_error **err)
{
    json_auto_t *j = NULL;
    uint64_t sp = 0, ss = 0, p = 0, ps = 0;

    if (cm_json_loadb(buf, len, "shim.json", &j, err) < 0)
        return -1;
    if (!json_is_object(j))
        return cm_error_set(err, 0, "shim.json: not an object");
    if (cm_json_get_uint64(j, "shim", "shimPid", true, INT_MAX, &sp, err) < 0 ||
        cm_json_get_uint64(j, "shim", "shimStart", true, INT64_MAX, &ss, err) < 0 ||
        cm_json_get_uint64(j, "shim", "pid", true, INT_MAX, &p, err) < 0 ||
        cm_json_get_uint64(j, "shim", "pidStart", true, INT64_MAX, &ps, err) < 0)
        return -1;
    if (sp == 0)
        return cm_error_set(err, 0, "shim.shimPid must not be 0");
    ret->shim_pid = (pid_t)sp;
    ret->shim_start = ss;
    ret->pid = (pid_t)p;
    ret->pid_start = ps;
    return 0;
}

int
agent_shim_record_save(const char *dir, const struct agent_shim_record *r, struct cm_error **err)
{
    return save_at(dir, "shim.json", agent_shim_record_to_json(r), err);
}

int
agent_shim_record_load(const char *dir, struct agent_shim_record *ret, struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len;

    if (load_at(dir, "shim.json", &buf, &len, err) < 0)
        return -1;
    return agent_shim_record_from_json(buf, len, ret, err);
}

/* Field 22 of /proc/PID/stat; 0 when the process is gone or a zombie. */
static uint64_t
proc_start_time(pid_t pid)
{
    char path[64];
    cleanup_free char *buf = NULL;
    size_t len;
    const char *p;
    unsigned long long start;
    char state;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (cm_read_file_at(AT_FDCWD, path, 4096, &buf, &len, NULL) < 0)
        return 0;
    /* comm may contain spaces and parentheses: skip to the last ')'. */
    p = strrchr(buf, ')');
    if (!p)
        return 0;
    /* After ") ": field 3 (state) ... field 22 (starttime). */
    p++;
    while (*p == ' ')
        p++;
    state = *p;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    if (!p || sscanf(p, "%llu", &start) != 1)
        return 0;
    if (state == 'Z' || state == 'X')
        return 0;
    return start;
}

int
agent_shim_inspect(const char *dir, enum agent_shim_state *ret_state,
                   struct agent_exit_record *ret_exit, struct agent_shim_record *ret_rec,
                   struct cm_error **err)
{
    struct agent_shim_record rec = {0};
    struct cm_error *e = NULL;
    bool have_rec;

    /* The exit record first: once it exists the answer is final. */
    if (agent_exit_record_load(dir, ret_exit, &e) == 0) {
        if (ret_rec)
            agent_shim_record_load(dir, ret_rec, NULL);
        *ret_state = AGENT_SHIM_EXITED;
        return 0;
    }
    if (e->code != ENOENT) {
        cm_error_set(err, e->code, "container '%s': %s", dir, e->msg);
        cm_error_free(&e);
        return -1;
    }
    cm_error_free(&e);
    have_rec = agent_shim_record_load(dir, &rec, &e) == 0;
    if (!have_rec && e->code != ENOENT) {
        cm_error_set(err, e->code, "container '%s': %s", dir, e->msg);
        cm_error_free(&e);
        return -1;
    }
    cm_error_free(&e);
    if (have_rec && ret_rec)
        *ret_rec = rec;
    if (have_rec && proc_start_time(rec.shim_pid) == rec.shim_start) {
        *ret_state = AGENT_SHIM_RUNNING;
        return 0;
    }
    /* The shim may have written exit.json just before going away. */
    if (agent_exit_record_load(dir, ret_exit, NULL) == 0) {
        *ret_state = AGENT_SHIM_EXITED;
        return 0;
    }
    *ret_state = AGENT_SHIM_LOST;
    return 0;
}

void
agent_exit_from_wait_status(int status, struct agent_exit_record *ret)
{
    if (WIFSIGNALED(status)) {
        ret->signal = WTERMSIG(status);
        ret->exit_code = 128 + ret->signal;
    } else {
        ret->signal = 0;
        ret->exit_code = WEXITSTATUS(status);
    }
}

/* ---- OOM ---- */

uint64_t
agent_parse_oom_kill(const char *text)
{
    const char *p = text;

    while ((p = strstr(p, "oom_kill")) != NULL) {
        bool at_line_start = p == text || p[-1] == '\n';
        if (at_line_start && p[8] == ' ')
            return strtoull(p + 9, NULL, 10);
        p += 8;
    }
    return 0;
}

int
agent_memory_cgroup_dir(pid_t pid, char **ret_dir, struct cm_error **err)
{
    char path[64];
    cleanup_free char *buf = NULL;
    cleanup_free char *v2 = NULL;
    size_t len;
    char *save = NULL;

    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    if (cm_read_file_at(AT_FDCWD, path, 64 << 10, &buf, &len, err) < 0)
        return -1;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        /* v1: "N:memory:/path" (the memory controller may share a line). */
        for (char *s = NULL, *ctl = strtok_r(c1 + 1, ",", &s); ctl; ctl = strtok_r(NULL, ",", &s)) {
            if (strcmp(ctl, "memory") == 0) {
                *ret_dir = xasprintf("/sys/fs/cgroup/memory%s", c2 + 1);
                return 0;
            }
        }
        if (strncmp(line, "0:", 2) == 0 && c1 + 1 == c2)
            v2 = xstrdup(c2 + 1);
    }
    if (!v2)
        return cm_error_set(err, ENOENT, "process %d has no memory cgroup", (int)pid);
    /* Unified host: /sys/fs/cgroup is the v2 root; hybrid: /sys/fs/cgroup/unified. */
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
        *ret_dir = xasprintf("/sys/fs/cgroup%s", v2);
    else
        *ret_dir = xasprintf("/sys/fs/cgroup/unified%s", v2);
    return 0;
}

int
agent_oom_kill_count(const char *cgroup_dir, uint64_t *ret, struct cm_error **err)
{
    cleanup_free char *p1 = xasprintf("%s/memory.oom_control", cgroup_dir);
    cleanup_free char *p2 = xasprintf("%s/memory.events", cgroup_dir);
    cleanup_free char *buf = NULL;
    size_t len;

    if (cm_read_file_at(AT_FDCWD, p1, 64 << 10, &buf, &len, NULL) < 0 &&
        cm_read_file_at(AT_FDCWD, p2, 64 << 10, &buf, &len, err) < 0)
        return -1;
    *ret = agent_parse_oom_kill(buf);
    return 0;
}

/* ---- running the OCI runtime ---- */

/* Runs RUNTIME [--root R] --log DIR/runtime.log ARGS... with stdout/stderr
 * given (-1 = /dev/null); returns its wait status in *ret_status. */
static int
run_runtime(const struct agent_shim_opts *o, const char *const *args, int out_fd, int err_fd,
            int *ret_status, struct cm_error **err)
{
    const char *argv[32];
    size_t n = 0;
    cleanup_free char *log = xasprintf("%s/runtime.log", o->dir);
    pid_t pid;
    int status;

    argv[n++] = o->runtime;
    if (o->runtime_root) {
        argv[n++] = "--root";
        argv[n++] = o->runtime_root;
    }
    argv[n++] = "--log";
    argv[n++] = log;
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;

    pid = fork();
    if (pid < 0)
        return cm_error_errno(err, "fork");
    if (pid == 0) {
        sigset_t all;
        int null = open("/dev/null", O_RDWR);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        dup2(null, 0);
        dup2(out_fd >= 0 ? out_fd : null, 1);
        dup2(err_fd >= 0 ? err_fd : null, 2);
        execv(o->runtime, (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return cm_error_errno(err, "wait for '%s'", o->runtime);
    }
    *ret_status = status;
    return 0;
}

/* The last lines of DIR/runtime.log, for error messages. */
static char *
runtime_log_tail(const struct agent_shim_opts *o)
{
    cleanup_free char *path = xasprintf("%s/runtime.log", o->dir);
    cleanup_free char *buf = NULL;
    size_t len;
    const char *start;

    if (cm_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, NULL) < 0 || len == 0)
        return xstrdup("no message from the runtime");
    while (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    start = len > 512 ? buf + len - 512 : buf;
    return xstrdup(start);
}

static int
runtime_step(const struct agent_shim_opts *o, const char *verb, const char *const *args, int out_fd,
             int err_fd, struct cm_error **err)
{
    int status;

    if (run_runtime(o, args, out_fd, err_fd, &status, err) < 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    {
        cleanup_free char *tail = runtime_log_tail(o);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            return cm_error_set(err, ENOEXEC, "%s '%s': cannot run the runtime '%s'", verb, o->id,
                                o->runtime);
        return cm_error_set(err, EIO, "%s '%s': runtime failed (status %d): %s", verb, o->id,
                            status, tail);
    }
}

/* ---- the runtime library (no --runtime: "builtin") ---- */

static bool
builtin(const struct agent_shim_opts *o)
{
    return !o->runtime || strcmp(o->runtime, AGENT_SHIM_BUILTIN) == 0;
}

static const char *
lib_root(const struct agent_shim_opts *o)
{
    return o->runtime_root ? o->runtime_root : RT_DEFAULT_ROOT;
}

/* Creates the container in this process: the init is cloned from us, so it
 * inherits our fds 0-2, which are pointed at the log pipes for the call. */
static int
lib_create(const struct agent_shim_opts *o, const char *pidfile, int out_w, int err_w,
           struct cm_error **err)
{
    struct rt_create_opts co = {
        .root = lib_root(o), .id = o->id, .bundle = o->bundle, .pid_file = pidfile};
    int saved[3] = {dup(0), dup(1), dup(2)};
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int r;

    if (saved[0] < 0 || saved[1] < 0 || saved[2] < 0 || null < 0) {
        for (int i = 0; i < 3; i++)
            if (saved[i] >= 0)
                close(saved[i]);
        if (null >= 0)
            close(null);
        return cm_error_errno(err, "create '%s': dup", o->id);
    }
    dup2(null, 0);
    dup2(out_w, 1);
    dup2(err_w, 2);
    /* Our blocked SIGTERM/SIGCHLD and ignored SIGPIPE do not reach the
     * container: the runtime's init resets the mask and ignored signals. */
    r = rt_container_create(&co, err);
    for (int i = 0; i < 3; i++) {
        dup2(saved[i], i);
        close(saved[i]);
    }
    close(null);
    if (r < 0)
        return cm_error_wrap(err, "create '%s'", o->id);
    return 0;
}

static int
do_create(const struct agent_shim_opts *o, const char *pidfile, int out_w, int err_w,
          struct cm_error **err)
{
    const char *args[] = {"create", "--bundle", o->bundle, "--pid-file", pidfile, o->id, NULL};

    if (builtin(o))
        return lib_create(o, pidfile, out_w, err_w, err);
    return runtime_step(o, "create", args, out_w, err_w, err);
}

static int
do_start(const struct agent_shim_opts *o, struct cm_error **err)
{
    const char *args[] = {"start", o->id, NULL};

    if (builtin(o)) {
        if (rt_container_start(lib_root(o), o->id, err) < 0)
            return cm_error_wrap(err, "start '%s'", o->id);
        return 0;
    }
    return runtime_step(o, "start", args, -1, -1, err);
}

static void
do_delete(const struct agent_shim_opts *o)
{
    const char *args[] = {"delete", "--force", o->id, NULL};
    cleanup_error struct cm_error *err = NULL;
    int st;

    if (builtin(o)) {
        if (rt_container_delete(lib_root(o), o->id, true, &err) < 0)
            cm_log_warn("container '%s': delete: %s, ignoring", o->id, err->msg);
        return;
    }
    if (run_runtime(o, args, -1, -1, &st, &err) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        cm_log_warn("container '%s': runtime delete failed, ignoring", o->id);
}

/* ---- the shim ---- */

static void report(int fd, const char *fmt, ...) CM_PRINTF(2, 3);
static void
report(int fd, const char *fmt, ...)
{
    char buf[ERROR_MAX + 64];
    va_list ap;
    int n;

    if (fd < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = (int)sizeof buf - 1;
    if (write(fd, buf, (size_t)n) < 0)
        cm_log_debug("report to the agent failed, ignoring");
}

static int
read_pid_file(const char *path, pid_t *ret, struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len;
    char *end;
    long v;

    if (cm_read_file_at(AT_FDCWD, path, 64, &buf, &len, err) < 0)
        return -1;
    errno = 0;
    v = strtol(buf, &end, 10);
    if (errno || end == buf || v <= 0 || v > INT_MAX)
        return cm_error_set(err, 0, "pid file '%s': bad content", path);
    *ret = (pid_t)v;
    return 0;
}

struct shim {
    const struct agent_shim_opts *o;
    struct agent_logfile *log;
    int out_fd, err_fd; /* read ends, -1 at EOF */
    int sig_fd, ctl_fd;
    pid_t pid;
    bool exited;
    int wait_status;
    char *mem_cgroup;
};

static void
shim_done(struct shim *s)
{
    agent_logfile_close(s->log);
    if (s->out_fd >= 0)
        close(s->out_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
    if (s->sig_fd >= 0)
        close(s->sig_fd);
    if (s->ctl_fd >= 0)
        close(s->ctl_fd);
    free(s->mem_cgroup);
}

static void
reap(struct shim *s)
{
    for (;;) {
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p <= 0)
            return;
        /* As subreaper we also collect the container's orphans and the
         * runtime's leftovers; only the init's status matters. */
        if (p == s->pid && !s->exited) {
            s->exited = true;
            s->wait_status = status;
        }
    }
}

static void
drain(struct shim *s, int *fd, enum agent_log_stream st)
{
    char buf[8192];
    ssize_t n = read(*fd, buf, sizeof buf);

    if (n > 0) {
        cleanup_error struct cm_error *e = NULL;
        if (agent_logfile_feed(s->log, st, buf, (size_t)n, &e) < 0)
            cm_log_warn("container '%s': %s, ignoring", s->o->id, e->msg);
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    agent_logfile_flush(s->log, st, NULL);
    close(*fd);
    *fd = -1;
}

static void
handle_ctl(struct shim *s)
{
    char buf[256];
    ssize_t n = read(s->ctl_fd, buf, sizeof buf - 1);
    char *save = NULL;

    if (n <= 0)
        return;
    buf[n] = '\0';
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int sig;
        if (sscanf(line, "kill %d", &sig) != 1 || sig <= 0 || sig >= 65) {
            cm_log_warn("container '%s': bad control line '%s', ignoring", s->o->id, line);
            continue;
        }
        /* The init is our child until we reap it, so its pid cannot be reused. */
        if (!s->exited && kill(s->pid, sig) < 0)
            cm_log_warn("container '%s': kill %d: %m, ignoring", s->o->id, sig);
    }
}

static int
supervise(struct shim *s)
{
    struct timespec exit_at = {0};

    for (;;) {
        struct pollfd p[4];
        int timeout = -1;
        int r;

        if (s->exited) {
            struct timespec now;
            long waited;
            if (s->out_fd < 0 && s->err_fd < 0)
                return 0;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (exit_at.tv_sec == 0)
                exit_at = now;
            waited =
                (now.tv_sec - exit_at.tv_sec) * 1000 + (now.tv_nsec - exit_at.tv_nsec) / 1000000;
            if (waited >= DRAIN_MS)
                return 0;
            timeout = (int)(DRAIN_MS - waited);
        }
        p[0] = (struct pollfd){.fd = s->out_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->err_fd, .events = POLLIN};
        p[2] = (struct pollfd){.fd = s->sig_fd, .events = POLLIN};
        p[3] = (struct pollfd){.fd = s->ctl_fd, .events = POLLIN};
        r = poll(p, 4, timeout);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        if (p[0].revents)
            drain(s, &s->out_fd, AGENT_LOG_STDOUT);
        if (p[1].revents)
            drain(s, &s->err_fd, AGENT_LOG_STDERR);
        if (p[3].revents)
            handle_ctl(s);
        if (p[2].revents) {
            struct signalfd_siginfo si;
            while (read(s->sig_fd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD)
                    reap(s);
                else if (!s->exited)
                    kill(s->pid, (int)si.ssi_signo); /* TERM/INT/HUP: pass on */
            }
        }
    }
}

static int
shim_start(struct shim *s, int ready_fd, struct cm_error **err)
{
    const struct agent_shim_opts *o = s->o;
    cleanup_free char *pidfile = xasprintf("%s/init.pid", o->dir);
    cleanup_free char *ctl = xasprintf("%s/ctl", o->dir);
    cleanup_free char *logpath = xasprintf("%s/%s", o->dir, AGENT_SHIM_LOG_NAME);
    cleanup_close int out_w = -1;
    cleanup_close int err_w = -1;
    int out[2], errp[2];
    sigset_t mask;
    struct agent_shim_record rec = {0};
    struct cm_error *tmp = NULL;

    /* Orphans of the container's init (the runtime's create process exits,
     * leaving the init behind) become our children. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return cm_error_errno(err, "set child subreaper");
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->sig_fd < 0)
        return cm_error_errno(err, "signalfd");

    unlink(ctl);
    if (mkfifo(ctl, 0600) < 0)
        return cm_error_errno(err, "mkfifo '%s'", ctl);
    /* O_RDWR: we hold a writer ourselves, so poll never sees a hang-up. */
    s->ctl_fd = open(ctl, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (s->ctl_fd < 0)
        return cm_error_errno(err, "open '%s'", ctl);

    /* Claim the directory before anything else: an agent restarted while we
     * create the container must see a live shim, not a container to start. */
    rec.shim_pid = getpid();
    rec.shim_start = proc_start_time(rec.shim_pid);
    if (agent_shim_record_save(o->dir, &rec, err) < 0)
        return -1;

    s->log =
        agent_logfile_open(logpath, o->log_max_size ? o->log_max_size : AGENT_LOG_DEFAULT_MAX_SIZE,
                           o->log_max_files, err);
    if (!s->log)
        return -1;
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
        return cm_error_errno(err, "pipe");
    s->out_fd = out[0];
    out_w = out[1];
    s->err_fd = errp[0];
    err_w = errp[1];
    fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(s->err_fd, F_SETFL, O_NONBLOCK);

    unlink(pidfile);
    if (do_create(o, pidfile, out_w, err_w, err) < 0)
        return -1;
    /* Only the container holds the write ends now: EOF means it is gone. */
    close(TAKE_FD(out_w));
    close(TAKE_FD(err_w));
    if (read_pid_file(pidfile, &s->pid, err) < 0)
        goto fail_delete;
    if (agent_memory_cgroup_dir(s->pid, &s->mem_cgroup, &tmp) < 0) {
        cm_log_warn("container '%s': %s, OOM kills will not be detected", o->id, tmp->msg);
        cm_error_free(&tmp);
    }
    rec.pid = s->pid;
    rec.pid_start = proc_start_time(s->pid);
    if (agent_shim_record_save(o->dir, &rec, err) < 0)
        goto fail_delete;
    if (do_start(o, err) < 0)
        goto fail_delete;
    report(ready_fd, "ok %d\n", (int)s->pid);
    return 0;

fail_delete:
    do_delete(o);
    reap(s);
    return -1;
}

/* The options every shim command line carries (a new shim, and the re-exec that
 * supervises); size and files hold the numbers as text. Returns how many are set. */
static size_t
shim_argv(const struct agent_shim_opts *o, const char *argv0, const char **argv, char size[32],
          char files[16])
{
    size_t n = 0;

    snprintf(size, 32, "%" PRIu64, o->log_max_size);
    snprintf(files, 16, "%u", o->log_max_files);
    argv[n++] = argv0;
    argv[n++] = "--id";
    argv[n++] = o->id;
    argv[n++] = "--bundle";
    argv[n++] = o->bundle;
    argv[n++] = "--dir";
    argv[n++] = o->dir;
    if (o->runtime) {
        argv[n++] = "--runtime";
        argv[n++] = o->runtime;
    }
    if (o->runtime_root) {
        argv[n++] = "--runtime-root";
        argv[n++] = o->runtime_root;
    }
    argv[n++] = "--log-max-size";
    argv[n++] = size;
    argv[n++] = "--log-max-files";
    argv[n++] = files;
    return n;
}

/* Continues as a fresh image of ourselves (see agent_shim_opts.sup_pid):
 * the descriptors stay open across exec, blocked and pending signals stay
 * as they are, the container's init stays our child. Returns only when exec
 * failed; the shim then simply goes on supervising in this process. */
static void
shim_reexec(struct shim *s)
{
    const struct agent_shim_opts *o = s->o;
    char sup[64], size[32], files[16];
    const char *argv[32];
    size_t n;
    int fds[3] = {s->out_fd, s->err_fd, s->ctl_fd};

    /* A partial line waiting in our buffers would be lost. */
    agent_logfile_flush(s->log, AGENT_LOG_STDOUT, NULL);
    agent_logfile_flush(s->log, AGENT_LOG_STDERR, NULL);
    snprintf(sup, sizeof sup, "%d,%d,%d,%d", (int)s->pid, s->out_fd, s->err_fd, s->ctl_fd);
    n = shim_argv(o, "skiff-shim", argv, size, files);
    argv[n++] = "--supervise";
    argv[n++] = sup;
    if (s->mem_cgroup) {
        argv[n++] = "--mem-cgroup";
        argv[n++] = s->mem_cgroup;
    }
    argv[n] = NULL;
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            fcntl(fds[i], F_SETFD, 0);
    execv("/proc/self/exe", (char *const *)argv);
    cm_log_warn("container '%s': re-exec: %m, supervising in place", o->id);
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            fcntl(fds[i], F_SETFD, FD_CLOEXEC);
}

/* The re-executed shim takes over what shim_start set up. */
static int
shim_resume(struct shim *s, struct cm_error **err)
{
    const struct agent_shim_opts *o = s->o;
    cleanup_free char *logpath = xasprintf("%s/%s", o->dir, AGENT_SHIM_LOG_NAME);
    sigset_t mask;
    int fds[3] = {o->sup_out, o->sup_err, o->sup_ctl};

    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0 && fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0)
            return cm_error_errno(err, "--supervise: descriptor %d", fds[i]);
    s->pid = o->sup_pid;
    s->out_fd = o->sup_out;
    s->err_fd = o->sup_err;
    s->ctl_fd = o->sup_ctl;
    s->mem_cgroup = o->mem_cgroup ? xstrdup(o->mem_cgroup) : NULL;
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return cm_error_errno(err, "set child subreaper");
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s->sig_fd < 0)
        return cm_error_errno(err, "signalfd");
    s->log =
        agent_logfile_open(logpath, o->log_max_size ? o->log_max_size : AGENT_LOG_DEFAULT_MAX_SIZE,
                           o->log_max_files, err);
    return s->log ? 0 : -1;
}

/* Drops our read-only, never-written file pages (the program text, mostly
 * touched once by start-up and container creation; the kernel maps 64 KiB
 * around every fault) from our page tables: they come back from the page
 * cache when used again, so only what the supervision loop needs stays
 * resident. Mappings with private (copied) pages keep them. */
static void
shed_text(void)
{
    cleanup_fclose FILE *f = fopen("/proc/self/smaps", "re");
    char line[512];
    unsigned long lo = 0, hi = 0;
    bool cand = false;

    while (f && fgets(line, sizeof line, f)) {
        char perms[8] = "";
        unsigned long kb;
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && strchr(line, '/')) {
            lo = a;
            hi = b;
            cand = perms[1] != 'w' && perms[3] == 'p';
            continue;
        }
        if (sscanf(line, "%lx-%lx", &a, &b) == 2 && strchr(line, ' ')) {
            cand = false; /* anonymous mapping */
            continue;
        }
        if (cand && sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
            if (kb == 0)
                madvise((void *)lo, hi - lo, MADV_DONTNEED);
            cand = false;
        }
    }
}

int
agent_shim_run(const struct agent_shim_opts *o, int ready_fd, struct cm_error **err)
{
    struct shim s = {.o = o, .out_fd = -1, .err_fd = -1, .sig_fd = -1, .ctl_fd = -1};
    struct agent_exit_record rec = {0};
    uint64_t ooms = 0;
    int r;

    struct cm_error *e = NULL;

    if (o->sup_pid > 0) {
        if (shim_resume(&s, &e) < 0) {
            /* Without its pipes, log or signals we can still record the exit. */
            cm_log_warn("container '%s': resume: %s, logs are lost", o->id, e->msg);
            cm_error_free(&e);
            s.pid = o->sup_pid;
            goto wait_init;
        }
    } else {
        if (shim_start(&s, ready_fd, &e) < 0) {
            report(ready_fd, "error %s\n", e->msg);
            cm_error_set(err, e->code, "%s", e->msg);
            cm_error_free(&e);
            shim_done(&s);
            return -1;
        }
        if (ready_fd >= 0)
            close(ready_fd);
        shim_reexec(&s);
    }
    reap(&s); /* a SIGCHLD may have come before the loop */
    shed_text();
    r = supervise(&s);
    if (r < 0)
        cm_log_warn("container '%s': supervision loop: %m", o->id);
wait_init:
    if (!s.exited) {
        /* Only a broken poll gets here: wait for the init all the same. */
        int status;
        while (waitpid(s.pid, &status, 0) < 0 && errno == EINTR)
            ;
        s.wait_status = status;
    }
    agent_exit_from_wait_status(s.wait_status, &rec);
    if (s.mem_cgroup && agent_oom_kill_count(s.mem_cgroup, &ooms, NULL) == 0)
        rec.oom_killed = ooms > 0;
    clock_gettime(CLOCK_REALTIME, &rec.finished);
    r = agent_exit_record_save(o->dir, &rec, err);
    do_delete(o);
    shim_done(&s);
    return r;
}

/* ---- command line ---- */

int
agent_shim_parse_args(int argc, char **argv, struct agent_shim_opts *o, struct cm_error **err)
{
    *o = (struct agent_shim_opts){.log_max_files = AGENT_LOG_DEFAULT_MAX_FILES};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return cm_error_set(err, 0, "option '%s' needs a value", a);
        if (strcmp(a, "--id") == 0)
            o->id = v;
        else if (strcmp(a, "--bundle") == 0)
            o->bundle = v;
        else if (strcmp(a, "--dir") == 0)
            o->dir = v;
        else if (strcmp(a, "--runtime") == 0)
            o->runtime = v;
        else if (strcmp(a, "--runtime-root") == 0)
            o->runtime_root = v;
        else if (strcmp(a, "--mem-cgroup") == 0)
            o->mem_cgroup = v;
        else if (strcmp(a, "--supervise") == 0) {
            int pid, out, errfd, ctl;
            char extra;
            if (sscanf(v, "%d,%d,%d,%d%c", &pid, &out, &errfd, &ctl, &extra) != 4 || pid <= 0 ||
                out < -1 || errfd < -1 || ctl < -1)
                return cm_error_set(err, 0, "--supervise: '%s' is not PID,OUT,ERR,CTL", v);
            o->sup_pid = pid;
            o->sup_out = out;
            o->sup_err = errfd;
            o->sup_ctl = ctl;
        } else if (strcmp(a, "--log-max-size") == 0 || strcmp(a, "--log-max-files") == 0) {
            char *end;
            unsigned long long n;
            errno = 0;
            n = strtoull(v, &end, 10);
            if (errno || *end || end == v || v[0] == '-')
                return cm_error_set(err, 0, "%s: '%s' is not a number", a, v);
            if (a[10] == 's')
                o->log_max_size = n;
            else if (n > AGENT_LOG_MAX_FILES_LIMIT)
                return cm_error_set(err, 0, "%s: at most %u", a, AGENT_LOG_MAX_FILES_LIMIT);
            else
                o->log_max_files = (unsigned)n;
        } else
            return cm_error_set(err, 0, "unknown option '%s'", a);
        i++;
    }
    if (!o->id || !o->bundle || !o->dir)
        return cm_error_set(err, 0, "--id, --bundle and --dir are required");
    if (strlen(o->id) > 255 ||
        strspn(o->id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789_+.-") != strlen(o->id) ||
        strcmp(o->id, ".") == 0 || strcmp(o->id, "..") == 0)
        return cm_error_set(err, 0, "invalid container id '%s'", o->id);
    return 0;
}

/* ---- agent side ---- */

int
agent_shim_launch(const char *shim_path, const struct agent_shim_opts *o, pid_t *ret_pid,
                  int *ret_ready_fd, struct cm_error **err)
{
    char size[32], files[16];
    const char *argv[24];
    size_t n;
    int ready[2];
    pid_t pid;

    n = shim_argv(o, shim_path, argv, size, files);
    argv[n] = NULL;

    /* The shim reports on fd 3; every other descriptor of ours is CLOEXEC. */
    if (pipe2(ready, O_CLOEXEC) < 0)
        return cm_error_errno(err, "pipe");
    pid = fork();
    if (pid < 0) {
        close(ready[0]);
        close(ready[1]);
        return cm_error_errno(err, "fork");
    }
    if (pid == 0) {
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (dup2(ready[1], 3) < 0)
            _exit(127);
        execv(shim_path, (char *const *)argv);
        _exit(127);
    }
    close(ready[1]);
    *ret_pid = pid;
    *ret_ready_fd = ready[0];
    return 0;
}

int
agent_shim_launched(const char *shim_path, const struct agent_shim_opts *o, pid_t launcher,
                    const char *report, pid_t *ret_shim_pid, struct cm_error **err)
{
    int status = 0;

    /* The launcher exits as soon as the daemon has forked off. */
    while (waitpid(launcher, &status, 0) < 0) {
        if (errno != EINTR)
            return cm_error_errno(err, "wait for the shim launcher");
    }
    if (strncmp(report, "ok ", 3) == 0) {
        struct agent_shim_record rec;
        if (agent_shim_record_load(o->dir, &rec, err) < 0)
            return cm_error_wrap(err, "container '%s'", o->id);
        *ret_shim_pid = rec.shim_pid;
        return 0;
    }
    if (strncmp(report, "error ", 6) == 0) {
        const char *nl = strchr(report, '\n');
        return cm_error_set(err, EIO, "%.*s", nl ? (int)(nl - report - 6) : (int)strlen(report + 6),
                            report + 6);
    }
    return cm_error_set(err, EIO, "container '%s': the shim '%s' failed (status %d)", o->id,
                        shim_path, status);
}

int
agent_shim_spawn(const char *shim_path, const struct agent_shim_opts *o, pid_t *ret_shim_pid,
                 struct cm_error **err)
{
    char buf[ERROR_MAX + 64];
    size_t len = 0;
    pid_t pid;
    int fd;

    if (agent_shim_launch(shim_path, o, &pid, &fd, err) < 0)
        return -1;
    while (len < sizeof buf - 1) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd);
    return agent_shim_launched(shim_path, o, pid, buf, ret_shim_pid, err);
}

int
agent_shim_signal(const char *dir, int sig, struct cm_error **err)
{
    cleanup_free char *ctl = xasprintf("%s/ctl", dir);
    /* O_NONBLOCK: ENXIO instead of blocking when no shim reads the FIFO. */
    cleanup_close int fd = open(ctl, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    char line[32];
    int n;

    if (fd < 0) {
        if (errno == ENXIO)
            return cm_error_set(err, ESRCH, "container '%s': no shim is running", dir);
        return cm_error_errno(err, "open '%s'", ctl);
    }
    n = snprintf(line, sizeof line, "kill %d\n", sig);
    if (write(fd, line, (size_t)n) != n)
        return cm_error_errno(err, "write '%s'", ctl);
    return 0;
}
