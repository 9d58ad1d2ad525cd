/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-agent's daemon: register, long poll, local reconcile, task life
 * cycle (images, network, cgroup, bundles, shims, health checks, stop),
 * reports with retries, re-adoption after a restart, cleanup after retention.
 * One thread on common/loop.c: the poll's socket, the pipes of the jobs in
 * flight, a tick timer and SIGTERM/SIGINT. Slow work never runs on the loop:
 * a task's preparation and image gc run in skiff-agent-worker processes, a
 * container's creation in its shim; both report through pipes, at most
 * 2 x CPUs of each at a time, so many starts overlap. */
#include "agent/daemon.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/bundle.h"
#include "agent/client.h"
#include "agent/cni.h"
#include "agent/logserve.h"
#include "agent/nat.h"
#include "agent/shim.h"
#include "agent/state.h"
#include "agent/taskdef.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/log.h"
#include "cm/loop.h"
#include "cm/xalloc.h"

#define TICK_MS 200
#define SPARE_IDLE_MS 100
#define REPORT_TIMEOUT_MS 10000
#define MAX_TASKS 1024
#define MAX_WORKER_ANSWER (1u << 20)

/* A child whose output the loop collects: a worker job or a shim launcher. */
struct job {
    pid_t pid; /* 0: none */
    int fd;
    struct cm_loop_source *src;
    char *buf;
    size_t len, cap, max;
    bool done; /* EOF (or too much): the output is complete */
    int64_t t0;
};

struct ctr {
    const struct agent_container_def *def; /* borrowed from task->def */
    char *dir;                             /* shim directory */
    char *bundle;
    char *rid; /* runtime id */
    enum agent_cstate state;
    bool has_exit, lost;
    struct agent_exit_record exit;
    char *reason;
    struct agent_health_state hs;
    pid_t hc_pid;
    int64_t hc_deadline;
    bool stop_sent, kill_sent;
    int64_t kill_at;
    struct agent_port_mapping *pm; /* resolved copy of def->port_mappings */
    size_t n_pm;
    int stop_signal;
    bool starting;     /* its shim is being launched */
    struct job launch; /* the shim's launcher and report pipe */
};

struct task {
    char *arn, *id, *dir;
    json_t *desc; /* the task as skiffd sent it */
    struct agent_task_def *def;
    struct ctr *c;
    size_t n;
    enum agent_tstate state;
    char *stop_reason;
    char *netns, *ip;
    bool prepared; /* images, network, cgroup, bundles done */
    bool dirty;    /* unreported change */
    bool reported_stopped;
    int64_t stopped_at; /* wall clock seconds */
    bool cleaned;
    bool cgroup_gone;
    int64_t net_ms;  /* time spent on the network at preparation */
    struct job prep; /* the worker preparing it */
    char *cni_id;    /* CNI container id of a pre-warmed netns (else the task id) */
    /* A pre-warmed netns's host ports are mapped by a job of their own while
     * the containers start (their network is complete already); RUNNING is
     * reported once the ports work too. */
    bool ports_pending;
    struct job ports;
    /* portMapper "nft": the host ports are elements of our nftables map
     * (agent/nat.c), added in-process as soon as the address is known. */
    bool nft;
    bool nat_mapped; /* as far as we know, its elements are in the map */
    struct job rel;  /* the worker detaching its network once it stopped */
};

/* A network namespace attached (awsvpc) ahead of time, NETNS_DIR/ID. */
struct warm_ns {
    char *id, *netns, *ip;
};

struct agent {
    const struct agent_config *cfg;
    struct agent_client *client;
    struct cm_loop *loop;
    struct cm_loop_source *tick, *poll_src;
    int poll_fd;
    uint32_t poll_ev;
    bool full_tick; /* the timer fired: look at the shims and health checks */
    struct agent_port_pool ports;
    struct agent_cni_config cni;
    char *cni_ipam, *cni_cache;
    struct task **tasks;
    size_t n_tasks, cap_tasks;
    char *instance_arn;
    int64_t version;
    long poll_timeout_ms;
    int64_t next_register_ms, next_poll_ms, next_report_ms;
    unsigned report_failures;
    unsigned n_workers, n_launches, max_jobs;
    pid_t spare_pid; /* a worker waiting for its request (spare_tick) */
    int spare_in, spare_out;
    int64_t busy_ms; /* when a job, a shim launch or a starting task was last seen */
    struct job gc;
    int64_t last_expire;
    struct warm_ns *pool; /* ready, --netns-pool of them at most */
    size_t n_pool;
    struct job warm; /* the worker making the next one */
    char *warm_id;
    unsigned warm_seq;
    int64_t warm_retry_ms;
    struct agent_logserve *logs; /* the log endpoint skiffd reads (agent/logserve.c) */
    struct agent_nat *nat;       /* the host port mapper (portMapper "nft") */
    bool nat_ready;              /* its table is set up */
    char *log_secret;
};

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- task records on disk ---- */

static json_t *
ports_json(const struct task *t)
{
    json_t *o = json_object();
    for (size_t i = 0; i < t->n; i++) {
        json_t *a = json_array();
        for (size_t k = 0; k < t->c[i].n_pm; k++)
            json_array_append_new(a, json_pack("[i, i, b]", t->c[i].pm[k].container_port,
                                               t->c[i].pm[k].host_port, t->c[i].pm[k].udp));
        json_object_set_new(o, t->c[i].def->name, a);
    }
    return o;
}

static void
task_save(struct task *t)
{
    json_auto_t *j =
        json_pack("{s:s, s:s, s:O, s:s, s:b, s:b, s:I, s:b, s:o}", "taskArn", t->arn, "taskId",
                  t->id, "task", t->desc, "state", agent_tstate_name(t->state), "prepared",
                  t->prepared, "reportedStopped", t->reported_stopped, "stoppedAt",
                  (json_int_t)t->stopped_at, "cleaned", t->cleaned, "ports", ports_json(t));
    cleanup_free char *text = NULL;
    cleanup_close int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_error struct cm_error *err = NULL;

    if (t->stop_reason)
        json_object_set_new(j, "stopReason", json_string(t->stop_reason));
    if (t->netns)
        json_object_set_new(j, "netns", json_string(t->netns));
    if (t->ip)
        json_object_set_new(j, "ip", json_string(t->ip));
    if (t->cni_id)
        json_object_set_new(j, "cniId", json_string(t->cni_id));
    if (t->ports_pending)
        json_object_set_new(j, "portsPending", json_true());
    if (t->nft)
        json_object_set_new(j, "portMapper", json_string("nft"));
    text = json_dumps(j, JSON_COMPACT);
    if (dfd < 0 || cm_write_file_atomic_at(dfd, "task.json", text, strlen(text), 0600, &err) < 0)
        cm_log_error("task '%s': cannot save its record: %s", t->id,
                     err ? err->msg : strerror(errno));
}

static void
ctr_done(struct ctr *c)
{
    free(c->dir);
    free(c->bundle);
    free(c->rid);
    free(c->reason);
    free(c->pm);
}

static void
task_free(struct task *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        ctr_done(&t->c[i]);
    free(t->c);
    agent_task_def_free(t->def);
    json_decref(t->desc);
    free(t->arn);
    free(t->id);
    free(t->dir);
    free(t->stop_reason);
    free(t->netns);
    free(t->ip);
    free(t->cni_id);
    free(t);
}

static void set_reason(char **dst, const char *fmt, ...) CM_PRINTF(2, 3);
static void
set_reason(char **dst, const char *fmt, ...)
{
    va_list ap;
    char *s;

    if (*dst)
        return; /* the first reason is the real one */
    va_start(ap, fmt);
    s = xvasprintf(fmt, ap);
    va_end(ap);
    if (strlen(s) > 1024)
        s[1024] = '\0';
    *dst = s;
}

/* Builds the in-memory task from skiffd's task object (new or reloaded). */
static struct task *
task_new(struct agent *a, json_t *desc, struct cm_error **err)
{
    struct task *t;
    const char *arn = json_string_value(json_object_get(desc, "taskArn"));
    const char *id = json_string_value(json_object_get(desc, "taskId"));
    json_t *tdj = json_object_get(desc, "taskDefinition");
    cleanup_agent_task_def struct agent_task_def *def = NULL;

    if (!agent_task_ident_ok(arn, id)) {
        cm_error_set(err, 0, "task without a valid taskArn/taskId");
        return NULL;
    }
    if (agent_task_def_from_json(tdj, &def, err) < 0) {
        cm_error_wrap(err, "task '%s'", id);
        return NULL;
    }
    t = xcalloc(1, sizeof *t);
    t->arn = xstrdup(arn);
    t->id = xstrdup(id);
    t->dir = xasprintf("%s/tasks/%s", a->cfg->state_dir, id);
    t->desc = json_incref(desc);
    t->def = TAKE_PTR(def);
    t->n = t->def->n_containers;
    t->c = xcalloc(t->n, sizeof *t->c);
    t->prep = (struct job){.fd = -1};
    t->ports = (struct job){.fd = -1};
    t->rel = (struct job){.fd = -1};
    for (size_t i = 0; i < t->n; i++) {
        struct ctr *c = &t->c[i];
        c->def = &t->def->containers[i];
        c->dir = xasprintf("%s/c/%s", t->dir, c->def->name);
        c->bundle = xasprintf("%s/bundle", c->dir);
        c->rid = xasprintf("%s-%s", t->id, c->def->name);
        c->n_pm = c->def->n_port_mappings;
        c->pm = xcalloc(c->n_pm + 1, sizeof *c->pm);
        memcpy(c->pm, c->def->port_mappings, c->n_pm * sizeof *c->pm);
        c->stop_signal = SIGTERM;
        c->launch = (struct job){.fd = -1};
    }
    return t;
}

static void
add_task(struct agent *a, struct task *t)
{
    a->tasks = xreallocarray_grow(a->tasks, &a->cap_tasks, a->n_tasks + 1, sizeof *a->tasks);
    a->tasks[a->n_tasks++] = t;
}

/* ---- jobs: children whose output comes back through a pipe ---- */

static void
job_close(struct job *j)
{
    cm_loop_remove(j->src);
    j->src = NULL;
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}

static void
job_reset(struct job *j)
{
    job_close(j);
    free(j->buf);
    *j = (struct job){.fd = -1};
}

static void
on_job_fd(struct cm_loop *loop, int fd, uint32_t events, void *userdata)
{
    struct job *j = userdata;

    (void)loop;
    (void)events;
    for (;;) {
        ssize_t n;
        if (j->len + 4096 + 1 > j->cap)
            j->buf = xreallocarray_grow(j->buf, &j->cap, j->len + 4096 + 1, 1);
        n = read(fd, j->buf + j->len, j->cap - j->len - 1);
        if (n > 0) {
            j->len += (size_t)n;
            j->buf[j->len] = '\0';
            if (j->len > j->max)
                break; /* more than any honest answer: take it as it is */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break;
    }
    if (!j->buf)
        j->buf = xcalloc(1, 1);
    job_close(j);
    j->done = true;
}

static int
job_watch(struct agent *a, struct job *j, pid_t pid, int fd, size_t max, struct cm_error **err)
{
    *j = (struct job){.pid = pid, .fd = fd, .max = max, .t0 = now_ms()};
    fcntl(fd, F_SETFL, O_NONBLOCK);
    j->src = cm_loop_add_fd(a->loop, fd, EPOLLIN, on_job_fd, j, err);
    return j->src ? 0 : -1;
}

/* Reaps the job's process (it has closed its output, so it is exiting). */
static int
job_wait(struct job *j)
{
    int status = 0;
    while (j->pid > 0 && waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
        ;
    j->pid = 0;
    return status;
}

/* Forks and execs skiff-agent-worker; *in is its stdin, *out its stdout. */
static int
worker_spawn(struct agent *a, pid_t *ret_pid, int *ret_in, int *ret_out, struct cm_error **err)
{
    int in[2], out[2];
    pid_t pid;

    if (pipe2(in, O_CLOEXEC) < 0)
        return cm_error_errno(err, "pipe");
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return cm_error_errno(err, "pipe");
    }
    pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return cm_error_errno(err, "fork");
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
            _exit(127);
        execl(a->cfg->worker, a->cfg->worker, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *ret_pid = pid;
    *ret_in = in[1];
    *ret_out = out[0];
    return 0;
}

/* Tasks waiting for a worker, being prepared or launching their containers.
 * A task waiting for a dependency's condition is not starting. */
static bool
tasks_starting(const struct agent *a)
{
    for (size_t i = 0; i < a->n_tasks; i++) {
        const struct task *t = a->tasks[i];
        if (t->state == AGENT_T_STOPPING || t->state == AGENT_T_STOPPED)
            continue;
        if (!t->prepared || t->ports.pid)
            return true;
        for (size_t k = 0; k < t->n; k++)
            if (t->c[k].starting)
                return true;
    }
    return false;
}

/* Ends the spare worker (closing its stdin alone would have it answer). */
static void
spare_drop(struct agent *a)
{
    if (a->spare_pid > 0) {
        kill(a->spare_pid, SIGKILL);
        while (waitpid(a->spare_pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(a->spare_in);
        close(a->spare_out);
    }
    a->spare_pid = 0;
}

/* A worker exec'd ahead of time, idle on its stdin: the exec and the dynamic
 * linking of the image library's dependencies (libcurl, gnutls, ...: 10 ms
 * and more of a task's start on a loaded 2-core host) are then off the next
 * job's path. Made once the agent has been idle (no job, no shim launch, no
 * task starting) for SPARE_IDLE_MS, so that it never competes for the CPU
 * with a starting task, or with the report of one that just started. */
static void
spare_tick(struct agent *a, int64_t now)
{
    cleanup_error struct cm_error *err = NULL;

    if (a->n_workers > 0 || a->n_launches > 0 || tasks_starting(a)) {
        a->busy_ms = now;
        return;
    }
    if (a->cfg->spare_workers == 0 || a->spare_pid > 0 || now - a->busy_ms < SPARE_IDLE_MS)
        return;
    if (worker_spawn(a, &a->spare_pid, &a->spare_in, &a->spare_out, &err) < 0) {
        a->spare_pid = 0;
        cm_log_warn("spare worker: %s", err->msg);
    }
}

/* Runs skiff-agent-worker (the spare one when it is still there) with the
 * request on its stdin (include/agent/prepare.h). */
static int
worker_start(struct agent *a, struct job *j, json_t *req, struct cm_error **err)
{
    cleanup_free char *text = json_dumps(req, JSON_COMPACT);
    size_t len = strlen(text), off = 0;
    int in = -1, out = -1;
    pid_t pid = 0;

    if (a->spare_pid > 0 && waitpid(a->spare_pid, NULL, WNOHANG) == 0) {
        pid = a->spare_pid;
        in = a->spare_in;
        out = a->spare_out;
        a->spare_pid = 0;
    } else if (a->spare_pid > 0) {
        /* It died (reaped just now): a fresh one does the job. */
        close(a->spare_in);
        close(a->spare_out);
        a->spare_pid = 0;
    }
    if (pid == 0 && worker_spawn(a, &pid, &in, &out, err) < 0)
        return -1;
    /* The worker reads the whole request before it does anything else. */
    while (off < len) {
        ssize_t n = write(in, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* it died: its empty answer says so */
        off += (size_t)n;
    }
    close(in);
    if (job_watch(a, j, pid, out, MAX_WORKER_ANSWER, err) < 0) {
        close(out);
        kill(pid, SIGKILL);
        job_wait(j);
        return -1;
    }
    a->n_workers++;
    return 0;
}

/* The worker's answer: a new reference, or NULL with *err. */
static json_t *
worker_finish(struct agent *a, struct job *j, struct cm_error **err)
{
    int status = job_wait(j);
    json_t *ans = j->len ? json_loadb(j->buf, j->len, 0, NULL) : NULL;

    a->n_workers--;
    if (!ans || !json_is_object(ans)) {
        json_decref(ans);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            return cm_error_set(err, ENOENT, "cannot run the worker '%s'", a->cfg->worker), NULL;
        return cm_error_set(err, EIO, "the worker '%s' failed (status %d)", a->cfg->worker, status),
               NULL;
    }
    if (!json_is_true(json_object_get(ans, "ok"))) {
        const char *msg = json_string_value(json_object_get(ans, "error"));
        cm_error_set(err, 0, "%s", msg ? msg : "the worker failed");
        json_decref(ans);
        return NULL;
    }
    return ans;
}

/* What a job needs of our configuration. */
static json_t *
worker_cfg(const struct agent *a)
{
    const struct agent_config *c = a->cfg;
    json_t *ins = json_array();

    for (char **p = c->insecure_registries; p && *p; p++)
        json_array_append_new(ins, json_string(*p));
    return json_pack("{s:s, s:s?, s:o, s:s?, s:s, s:s, s:s, s:s, s:s, s:s?, s:I, s:s}", "stateDir",
                     c->state_dir, "imageStore", c->image_store, "insecureRegistries", ins,
                     "defaultRegistry", c->default_registry, "cniPluginDir", c->cni_plugin_dir,
                     "bridge", c->bridge, "subnet", c->subnet, "netnsDir", c->netns_dir,
                     "cgroupRoot", c->cgroup_root, "initPath", c->init_path, "pidsLimit",
                     (json_int_t)c->pids_limit, "portMapper", c->port_mapper);
}

/* ---- the task's resources ---- */

static char *
task_cgroup(const struct agent *a, const struct task *t)
{
    return xasprintf("%s/%s", a->cfg->cgroup_root, t->id);
}

/* Removes the task's cgroup in every hierarchy (children first: the
 * runtime may have left container cgroups when a delete failed). */
static bool
rmdir_gone(const char *d)
{
    return rmdir(d) == 0 || errno == ENOENT;
}

static bool
task_cgroup_remove(struct agent *a, struct task *t)
{
    bool gone = true;
    cleanup_free char *path = task_cgroup(a, t);
    cleanup_dir DIR *root = opendir("/sys/fs/cgroup");
    struct dirent *de;
    bool unified = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;

    if (unified) {
        for (size_t i = 0; i < t->n; i++) {
            cleanup_free char *d = xasprintf("/sys/fs/cgroup%s/%s", path, t->c[i].def->name);
            gone &= rmdir_gone(d);
        }
        {
            cleanup_free char *d = xasprintf("/sys/fs/cgroup%s", path);
            gone &= rmdir_gone(d);
        }
        return gone;
    }
    while (root && (de = readdir(root)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        for (size_t i = 0; i < t->n; i++) {
            cleanup_free char *d =
                xasprintf("/sys/fs/cgroup/%s%s/%s", de->d_name, path, t->c[i].def->name);
            gone &= rmdir_gone(d) || errno == ENOTDIR;
        }
        {
            cleanup_free char *d = xasprintf("/sys/fs/cgroup/%s%s", de->d_name, path);
            gone &= rmdir_gone(d) || errno == ENOTDIR;
        }
    }
    return gone;
}

static void prepare_failed(struct task *t, const char *msg);
static void stop_task(struct task *t, const char *reason);

/* ---- host ports through our nftables map (portMapper "nft") ---- */

static bool
use_nft(const struct agent *a)
{
    return strcmp(a->cfg->port_mapper, "nft") == 0;
}

/* The netlink socket and the table, made on first use (and again after a
 * failure: a kernel module may have been missing). */
static int
nat_ensure(struct agent *a, struct cm_error **err)
{
    if (!a->nat && !(a->nat = agent_nat_open(a->cfg->bridge, a->cfg->subnet, err)))
        return -1;
    if (!a->nat_ready && agent_nat_setup(a->nat, err) < 0)
        return -1;
    a->nat_ready = true;
    return 0;
}

/* The task's map elements: its resolved host ports to its address. */
static struct agent_nat_entry *
nat_entries(const struct task *t, size_t *ret_n, struct cm_error **err)
{
    struct agent_nat_entry *e;
    struct in_addr ip;
    size_t n = 0, cap = 0;

    *ret_n = 0;
    if (!t->ip || inet_pton(AF_INET, t->ip, &ip) != 1) {
        cm_error_set(err, 0, "task '%s': no IPv4 address to map host ports to", t->id);
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++)
        cap += t->c[i].n_pm;
    e = xcalloc(cap + 1, sizeof *e);
    for (size_t i = 0; i < t->n; i++)
        for (size_t k = 0; k < t->c[i].n_pm; k++)
            e[n++] = (struct agent_nat_entry){
                .proto = t->c[i].pm[k].udp ? IPPROTO_UDP : IPPROTO_TCP,
                .host_port = t->c[i].pm[k].host_port,
                .addr = ip.s_addr,
                .container_port = t->c[i].pm[k].container_port,
            };
    *ret_n = n;
    return e;
}

static int
nat_map(struct agent *a, struct task *t, struct cm_error **err)
{
    cleanup_free struct agent_nat_entry *e = NULL;
    size_t n;

    if (nat_ensure(a, err) < 0)
        return -1;
    if (!(e = nat_entries(t, &n, err)))
        return -1;
    if (agent_nat_add(a->nat, e, n, err) < 0)
        return -1;
    t->nat_mapped = true;
    return 0;
}

/* Best effort, as CNI DEL is: what stays is put right at the next start. */
static void
nat_unmap(struct agent *a, struct task *t)
{
    cleanup_free struct agent_nat_entry *e = NULL;
    cleanup_error struct cm_error *err = NULL;
    size_t n;

    if (!t->nat_mapped)
        return;
    if (nat_ensure(a, &err) < 0 || !(e = nat_entries(t, &n, &err)) ||
        agent_nat_remove(a->nat, e, n, &err) < 0) {
        cm_log_warn("task '%s': host ports: %s, ignoring", t->id, err->msg);
        return;
    }
    t->nat_mapped = false;
}

/* At start-up: the map holds the host ports of the tasks we re-adopted,
 * nothing else (tasks that ended or were forgotten while we were away). */
static void
nat_reconcile(struct agent *a)
{
    cleanup_free struct agent_nat_entry *want = NULL;
    cleanup_error struct cm_error *err = NULL;
    size_t n = 0, cap = 0, removed = 0, added = 0;
    bool any = use_nft(a);

    for (size_t i = 0; i < a->n_tasks; i++) {
        struct task *t = a->tasks[i];
        struct agent_nat_entry *e;
        size_t k;
        cleanup_error struct cm_error *e2 = NULL;

        any |= t->nft;
        /* Not prepared: prepare_start maps its (newly picked) ports again. */
        if (!t->nft || t->def->network_mode != AGENT_NET_BRIDGE || t->state == AGENT_T_STOPPED ||
            !t->prepared)
            continue;
        if (!(e = nat_entries(t, &k, &e2))) {
            cm_log_warn("%s, ignoring", e2->msg);
            continue;
        }
        want = xreallocarray_grow(want, &cap, n + k + 1, sizeof *want);
        memcpy(want + n, e, k * sizeof *e);
        n += k;
        free(e);
        t->nat_mapped = true;
    }
    if (!any)
        return;
    if (nat_ensure(a, &err) < 0 ||
        agent_nat_reconcile(a->nat, want, n, &removed, &added, &err) < 0) {
        cm_log_error("host ports: %s", err->msg);
        return;
    }
    cm_log_info("host ports: table '%s' holds %zu mapping(s) (%zu removed, %zu added)",
                agent_nat_table(a->nat), n, removed, added);
}

/* Everything a task needs before its first container starts: host ports
 * here (the pool is ours), the rest in a worker (prepare_finish). */
static int
prepare_start(struct agent *a, struct task *t, struct cm_error **err)
{
    json_auto_t *req = NULL;

    if (cm_mkdir_p(t->dir, 0700, err) < 0)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (cm_mkdir_p(t->c[i].dir, 0700, err) < 0)
            return -1;
        /* Host ports, then the network (bridge mode maps them). */
        if (t->def->network_mode == AGENT_NET_BRIDGE &&
            agent_port_pool_assign(&a->ports, t->c[i].pm, t->c[i].n_pm, err) < 0)
            return cm_error_wrap(err, "container '%s'", t->c[i].def->name);
    }
    if ((t->def->network_mode == AGENT_NET_AWSVPC || t->def->network_mode == AGENT_NET_BRIDGE) &&
        !t->cni_id && a->n_pool > 0) {
        /* A pre-warmed netns: its plugin execs are off this task's path. */
        struct warm_ns *w = &a->pool[--a->n_pool];
        free(t->netns);
        free(t->ip);
        t->cni_id = w->id;
        t->netns = w->netns;
        t->ip = w->ip;
    }
    if (t->def->network_mode == AGENT_NET_BRIDGE && use_nft(a)) {
        t->nft = true;
        /* A pre-warmed netns has its address: the ports are mapped now, in
         * one netlink transaction (else at prepare_finish). A restart before
         * the task is prepared removes them and comes back here. */
        if (t->cni_id && t->ip && nat_map(a, t, err) < 0)
            return cm_error_wrap(err, "host ports");
    }
    task_save(t); /* a restart finds the ports and the pool netns it owns */
    req = json_pack("{s:s, s:o, s:O, s:o}", "op", "prepare", "cfg", worker_cfg(a), "task", t->desc,
                    "ports", ports_json(t));
    if (t->cni_id && t->netns) {
        /* portmap (portMapper "cni") runs as a job of its own alongside. */
        bool split = t->def->network_mode == AGENT_NET_BRIDGE && !t->nft;
        json_object_set_new(req, "pool",
                            json_pack("{s:s, s:s, s:s?, s:b}", "id", t->cni_id, "netns", t->netns,
                                      "ip", t->ip, "noPorts", split || t->nft));
        if (split && !t->ports_pending) {
            t->ports_pending = true;
            task_save(t);
        }
    }
    return worker_start(a, &t->prep, req, err);
}

static void
prepare_finish(struct agent *a, struct task *t)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *ans = worker_finish(a, &t->prep, &err);
    int64_t ms = now_ms() - t->prep.t0;
    json_t *sigs;

    job_reset(&t->prep);
    if (!ans) {
        prepare_failed(t, err->msg);
        return;
    }
    free(t->netns);
    free(t->ip);
    t->netns = json_is_string(json_object_get(ans, "netns"))
                   ? xstrdup(json_string_value(json_object_get(ans, "netns")))
                   : NULL;
    t->ip = json_is_string(json_object_get(ans, "ip"))
                ? xstrdup(json_string_value(json_object_get(ans, "ip")))
                : NULL;
    t->net_ms = json_integer_value(json_object_get(ans, "netMs"));
    sigs = json_object_get(ans, "stopSignals");
    for (size_t i = 0; i < t->n; i++) {
        json_int_t sig = json_integer_value(json_object_get(sigs, t->c[i].def->name));
        t->c[i].stop_signal = sig > 0 && sig < 65 ? (int)sig : SIGTERM;
    }
    if (t->nft && t->def->network_mode == AGENT_NET_BRIDGE && !t->nat_mapped &&
        nat_map(a, t, &err) < 0) {
        cleanup_free char *msg = xasprintf("host ports: %s", err->msg);
        prepare_failed(t, msg);
        return;
    }
    t->prepared = true;
    task_save(t);
    cm_log_info("task '%s': prepared in %lld ms (network %lld ms, image check %lld ms)", t->id,
                (long long)ms, (long long)t->net_ms,
                (long long)json_integer_value(json_object_get(ans, "pullMs")));
}

static void
prepare_failed(struct task *t, const char *msg)
{
    cm_log_error("task '%s': %s", t->id, msg);
    set_reason(&t->stop_reason, "%s", msg);
    for (size_t i = 0; i < t->n; i++)
        if (t->c[i].state == AGENT_C_PENDING)
            set_reason(&t->c[i].reason, "%.900s", msg);
    stop_task(t, msg);
}

static int
ports_start(struct agent *a, struct task *t, struct cm_error **err)
{
    json_auto_t *req =
        json_pack("{s:s, s:o, s:s, s:s, s:O, s:o}", "op", "ports", "cfg", worker_cfg(a), "id",
                  t->cni_id, "netns", t->netns, "task", t->desc, "ports", ports_json(t));
    return worker_start(a, &t->ports, req, err);
}

static void
ports_finish(struct agent *a, struct task *t)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *ans = worker_finish(a, &t->ports, &err);
    int64_t ms = now_ms() - t->ports.t0;

    job_reset(&t->ports);
    if (!ans) {
        prepare_failed(t, err->msg);
        return;
    }
    t->ports_pending = false;
    task_save(t);
    cm_log_info("task '%s': host ports mapped in %lld ms", t->id, (long long)ms);
}

/* The fast part of a release, once the network is detached. */
static void
release_done(struct agent *a, struct task *t)
{
    /* Explicit and picked host ports alike go back to the pool (only now:
     * their NAT rules are gone). */
    for (size_t i = 0; i < t->n && !t->cleaned; i++)
        for (size_t k = 0; k < t->c[i].n_pm; k++)
            if (t->c[i].pm[k].host_port)
                agent_port_pool_release(&a->ports, t->c[i].pm[k].host_port);
    /* The shims delete their containers (and cgroups) just after recording
     * the exit: the task cgroup may still be busy; task_tick retries. */
    t->cgroup_gone = task_cgroup_remove(a, t);
    t->cleaned = true;
    t->dirty = true; /* STOPPED goes out once the task holds nothing */
    task_save(t);
}

/* Releases what the task holds on the host; safe to repeat. Logs and exit
 * records stay until the retention period ends. Detaching a CNI network
 * (plugin execs) runs in a worker; release_finish completes it. */
static void
release_task(struct agent *a, struct task *t)
{
    cleanup_error struct cm_error *err = NULL;
    enum agent_net_mode mode = t->def->network_mode;

    if (t->cleaned || t->rel.pid)
        return;
    /* The host ports stop forwarding first; they go back to the pool once
     * the rest is released too (release_done). */
    nat_unmap(a, t);
    /* A preparation that failed or was cut short may have made the netns
     * without telling us. */
    if (!t->netns && agent_net_mode_has_netns(mode)) {
        cleanup_free char *path = xasprintf("%s/%s", a->cfg->netns_dir, t->id);
        if (access(path, F_OK) == 0)
            t->netns = TAKE_PTR(path);
    }
    for (size_t i = 0; i < t->n; i++) {
        cleanup_free char *rootfs = xasprintf("%s/rootfs", t->c[i].bundle);
        if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            cm_log_warn("task '%s': unmount '%s': %m, ignoring", t->id, rootfs);
    }
    if (t->netns && (mode == AGENT_NET_AWSVPC || mode == AGENT_NET_BRIDGE)) {
        json_auto_t *req = NULL;
        if (a->n_workers >= a->max_jobs)
            return; /* task_tick tries again */
        req = json_pack("{s:s, s:o, s:s, s:s, s:s}", "op", "release", "cfg", worker_cfg(a), "id",
                        t->cni_id ? t->cni_id : t->id, "netns", t->netns, "mode",
                        agent_net_mode_name(mode));
        if (worker_start(a, &t->rel, req, &err) == 0)
            return;
        cm_log_warn("task '%s': %s, will retry", t->id, err->msg);
        return;
    }
    if (t->netns && agent_netns_delete(t->netns, &err) < 0)
        cm_log_warn("task '%s': %s, ignoring", t->id, err->msg);
    release_done(a, t);
}

static void
release_finish(struct agent *a, struct task *t)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *ans = worker_finish(a, &t->rel, &err);

    job_reset(&t->rel);
    /* Best effort, as CNI DEL is: what is left is logged, not retried. */
    if (!ans)
        cm_log_warn("task '%s': %s, ignoring", t->id, err->msg);
    release_done(a, t);
}

/* ---- containers ---- */

static void
ctr_views(const struct task *t, struct agent_cview *v)
{
    for (size_t i = 0; i < t->n; i++) {
        int code = 0;
        bool has = false;
        const char *reason = NULL;
        if (t->c[i].state == AGENT_C_STOPPED)
            agent_exit_report(t->c[i].has_exit ? &t->c[i].exit : NULL, !t->c[i].has_exit, &code,
                              &has, &reason);
        v[i] = (struct agent_cview){.name = t->c[i].def->name,
                                    .state = t->c[i].state,
                                    .exit_code = has ? code : -1,
                                    .health = t->c[i].hs.status};
    }
}

static void
ctr_shim_opts(const struct agent *a, const struct ctr *c, struct agent_shim_opts *o)
{
    *o = (struct agent_shim_opts){.id = c->rid,
                                  .bundle = c->bundle,
                                  .dir = c->dir,
                                  .runtime = a->cfg->runtime,
                                  .runtime_root = a->cfg->runtime_root,
                                  .log_max_size = a->cfg->log_max_size,
                                  .log_max_files = a->cfg->log_max_files};
}

/* Launches the container's shim; launch_finish picks up its report. */
static void
start_container(struct agent *a, struct task *t, struct ctr *c)
{
    struct agent_shim_opts o;
    cleanup_error struct cm_error *err = NULL;
    pid_t pid;
    int fd;

    ctr_shim_opts(a, c, &o);
    if (agent_shim_launch(a->cfg->shim, &o, &pid, &fd, &err) < 0 ||
        job_watch(a, &c->launch, pid, fd, AGENT_SHIM_REPORT_MAX, &err) < 0) {
        cm_log_error("task '%s': container '%s': %s", t->id, c->def->name, err->msg);
        set_reason(&c->reason, "CannotStartContainerError: %s", err->msg);
        c->state = AGENT_C_STOPPED;
        t->dirty = true;
        return;
    }
    c->starting = true;
    a->n_launches++;
}

static void
launch_finish(struct agent *a, struct task *t, struct ctr *c)
{
    struct agent_shim_opts o;
    cleanup_error struct cm_error *err = NULL;
    pid_t shim;
    int64_t ms = now_ms() - c->launch.t0;

    ctr_shim_opts(a, c, &o);
    if (agent_shim_launched(a->cfg->shim, &o, c->launch.pid, c->launch.buf, &shim, &err) < 0) {
        cm_log_error("task '%s': container '%s': %s", t->id, c->def->name, err->msg);
        set_reason(&c->reason, "CannotStartContainerError: %s", err->msg);
        c->state = AGENT_C_STOPPED;
    } else {
        cm_log_info("task '%s': container '%s' started (shim %d, %lld ms)", t->id, c->def->name,
                    (int)shim, (long long)ms);
        c->state = AGENT_C_RUNNING;
        c->hs = (struct agent_health_state){.started_ms = now_ms()};
    }
    c->launch.pid = 0;
    job_reset(&c->launch);
    c->starting = false;
    a->n_launches--;
    t->dirty = true;
}

/* Picks up what the shim recorded. */
static void
observe_container(struct task *t, struct ctr *c)
{
    enum agent_shim_state st;
    struct agent_exit_record rec;
    cleanup_error struct cm_error *err = NULL;

    if (agent_shim_inspect(c->dir, &st, &rec, NULL, &err) < 0) {
        cm_log_warn("task '%s': container '%s': %s, ignoring", t->id, c->def->name, err->msg);
        return;
    }
    if (st == AGENT_SHIM_RUNNING)
        return;
    c->state = AGENT_C_STOPPED;
    c->has_exit = st == AGENT_SHIM_EXITED;
    c->lost = st == AGENT_SHIM_LOST;
    if (c->has_exit)
        c->exit = rec;
    t->dirty = true;
    cm_log_info("task '%s': container '%s' exited (%s %d%s)", t->id, c->def->name,
                c->has_exit ? "code" : "lost", c->has_exit ? rec.exit_code : 0,
                c->has_exit && rec.oom_killed ? ", OOM killed" : "");
}

static void
health_tick(struct agent *a, struct task *t, struct ctr *c, int64_t now)
{
    const struct agent_health_check *hc = &c->def->health;
    enum agent_health before = c->hs.status;

    if (c->hc_pid > 0) {
        int status;
        pid_t r = waitpid(c->hc_pid, &status, WNOHANG);
        if (r == 0 && now < c->hc_deadline)
            return;
        if (r == 0) {
            kill(c->hc_pid, SIGKILL);
            waitpid(c->hc_pid, &status, 0);
            agent_health_record(hc, &c->hs, false, now);
        } else {
            agent_health_record(hc, &c->hs, r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                                now);
        }
        c->hc_pid = 0;
        if (c->hs.status != before) {
            cm_log_info("task '%s': container '%s' is %s", t->id, c->def->name,
                        agent_health_name(c->hs.status));
            t->dirty = true;
        }
        return;
    }
    if (!agent_health_due(hc, &c->hs, now))
        return;
    c->hs.last_run_ms = now;
    c->hc_deadline = now + (int64_t)hc->timeout * 1000;
    c->hc_pid = fork();
    if (c->hc_pid < 0) {
        c->hc_pid = 0;
        return;
    }
    if (c->hc_pid == 0) {
        /* The shims may use the runtime library; `exec` needs a command line. */
        const char *cli =
            strcmp(a->cfg->runtime, "builtin") == 0 ? a->cfg->runtime_cli : a->cfg->runtime;
        const char *argv[64];
        size_t n = 0;
        int null = open("/dev/null", O_RDWR);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        argv[n++] = cli;
        if (a->cfg->runtime_root) {
            argv[n++] = "--root";
            argv[n++] = a->cfg->runtime_root;
        }
        argv[n++] = "exec";
        argv[n++] = c->rid;
        for (char **p = hc->command; *p && n < 62; p++)
            argv[n++] = *p;
        argv[n] = NULL;
        execv(cli, (char *const *)argv);
        _exit(127);
    }
}

static void
stop_task(struct task *t, const char *reason)
{
    if (t->state == AGENT_T_STOPPING || t->state == AGENT_T_STOPPED)
        return;
    set_reason(&t->stop_reason, "%s", reason);
    cm_log_info("task '%s': stopping: %s", t->id, reason);
    t->state = AGENT_T_STOPPING;
    t->dirty = true;
}

/* What task.json and the shims' records do not already hold: saving only
 * when it changes spares an fsync per task per tick. */
static uint64_t
task_signature(const struct task *t)
{
    uint64_t h = (uint64_t)t->state * 31 + t->prepared * 7 + t->cleaned * 3 + t->reported_stopped;
    for (size_t i = 0; i < t->n; i++)
        h = h * 131 + (uint64_t)t->c[i].state * 17 + (uint64_t)t->c[i].hs.status;
    return h;
}

/* Moves a task along. full: the tick timer fired, look at the shims' records
 * and the health checks too (other passes only react to finished jobs). */
static void
task_tick(struct agent *a, struct task *t, int64_t now, bool full)
{
    struct agent_cview views[AGENT_MAX_CONTAINERS];
    bool all_started = true, all_stopped = true;
    uint64_t sig = task_signature(t);

    if (t->state == AGENT_T_STOPPED) {
        if (t->rel.done)
            release_finish(a, t);
        else if (!t->cleaned)
            release_task(a, t); /* after a restart, or when no worker was free */
        if (full && t->cleaned && !t->cgroup_gone)
            t->cgroup_gone = task_cgroup_remove(a, t);
        return;
    }
    if (t->prep.done)
        prepare_finish(a, t);
    if (t->ports.done)
        ports_finish(a, t);
    /* Once prepare_start has taken a pool netns (or prepared, after a
     * restart): the ports alongside. */
    if (t->ports_pending && !t->ports.pid && (t->prep.pid || t->prepared) && t->cni_id &&
        t->netns && t->state != AGENT_T_STOPPING && a->n_workers < a->max_jobs) {
        cleanup_error struct cm_error *err = NULL;
        if (ports_start(a, t, &err) < 0)
            prepare_failed(t, err->msg);
    }
    if (!t->prepared && !t->prep.pid && t->state != AGENT_T_STOPPING &&
        a->n_workers < a->max_jobs) {
        cleanup_error struct cm_error *err = NULL;
        if (prepare_start(a, t, &err) < 0)
            prepare_failed(t, err->msg);
        else if (t->ports_pending && !t->ports.pid && a->n_workers < a->max_jobs &&
                 ports_start(a, t, &err) < 0)
            prepare_failed(t, err->msg);
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->c[i].starting && t->c[i].launch.done)
            launch_finish(a, t, &t->c[i]);
        if (full && t->c[i].state == AGENT_C_RUNNING)
            observe_container(t, &t->c[i]);
    }

    if (t->state != AGENT_T_STOPPING) {
        /* Start what may start; an essential container's end stops the task. */
        for (size_t i = 0; i < t->n; i++) {
            struct ctr *c = &t->c[i];
            const char *blocker = NULL;
            enum agent_gate g;
            if (c->state == AGENT_C_STOPPED && c->def->essential) {
                stop_task(t, AGENT_ESSENTIAL_EXITED);
                break;
            }
            if (c->state != AGENT_C_PENDING || c->starting || !t->prepared)
                continue;
            if (a->n_launches >= a->max_jobs)
                break;
            ctr_views(t, views);
            g = agent_deps_gate(c->def, views, t->n, &blocker);
            if (g == AGENT_GATE_READY) {
                start_container(a, t, c);
            } else if (g == AGENT_GATE_NEVER) {
                set_reason(&c->reason, "DependencyError: the dependency on '%s' cannot be met",
                           blocker);
                c->state = AGENT_C_STOPPED;
                t->dirty = true;
            }
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        struct ctr *c = &t->c[i];
        if (full && c->state == AGENT_C_RUNNING && c->def->health.present &&
            t->state != AGENT_T_STOPPING)
            health_tick(a, t, c, now);
    }

    if (t->state == AGENT_T_STOPPING) {
        for (size_t i = 0; i < t->n; i++) {
            struct ctr *c = &t->c[i];
            cleanup_error struct cm_error *err = NULL;
            if (c->state == AGENT_C_PENDING && !c->starting) {
                c->state = AGENT_C_STOPPED;
                t->dirty = true;
            }
            if (c->state != AGENT_C_RUNNING)
                continue;
            if (!c->stop_sent) {
                unsigned timeout =
                    c->def->stop_timeout ? c->def->stop_timeout : AGENT_DEFAULT_STOP_TIMEOUT;
                c->stop_sent = true;
                c->kill_at = now + (int64_t)timeout * 1000;
                if (agent_shim_signal(c->dir, c->stop_signal, &err) < 0)
                    cm_log_warn("task '%s': container '%s': %s, ignoring", t->id, c->def->name,
                                err->msg);
            } else if (!c->kill_sent && now >= c->kill_at) {
                c->kill_sent = true;
                if (agent_shim_signal(c->dir, SIGKILL, &err) < 0)
                    cm_log_warn("task '%s': container '%s': %s, ignoring", t->id, c->def->name,
                                err->msg);
            }
        }
    }

    for (size_t i = 0; i < t->n; i++) {
        if (t->c[i].state == AGENT_C_PENDING)
            all_started = false;
        if (t->c[i].state != AGENT_C_STOPPED)
            all_stopped = false;
    }
    /* A worker still preparing it must finish before its resources go. */
    if (t->prep.pid || t->ports.pid)
        all_stopped = false;
    if (t->state == AGENT_T_PENDING && all_started && t->prepared && !t->ports_pending) {
        t->state = AGENT_T_RUNNING;
        t->dirty = true;
        cm_log_info("task '%s': running", t->id);
    }
    if (all_stopped && (t->state == AGENT_T_STOPPING || t->prepared || t->stop_reason)) {
        if (t->state != AGENT_T_STOPPING)
            set_reason(&t->stop_reason, "%s", AGENT_ESSENTIAL_EXITED);
        t->state = AGENT_T_STOPPED;
        t->stopped_at = time(NULL);
        t->dirty = true;
        cm_log_info("task '%s': stopped: %s", t->id, t->stop_reason ? t->stop_reason : "");
        release_task(a, t);
    }
    if (task_signature(t) != sig)
        task_save(t);
}

/* ---- reports ---- */

static json_t *
task_report(const struct task *t)
{
    json_t *cs = json_array();
    struct agent_cview views[AGENT_MAX_CONTAINERS];
    json_t *j;

    ctr_views(t, views);
    for (size_t i = 0; i < t->n; i++) {
        const struct ctr *c = &t->c[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", c->def->name, "lastStatus",
                              agent_cstate_name(c->state), "runtimeId", c->rid);
        if (c->def->health.present)
            json_object_set_new(o, "healthStatus", json_string(agent_health_name(c->hs.status)));
        if (c->state == AGENT_C_STOPPED) {
            int code;
            bool has;
            const char *reason;
            if (c->has_exit || c->lost) {
                agent_exit_report(c->has_exit ? &c->exit : NULL, c->lost, &code, &has, &reason);
                if (has)
                    json_object_set_new(o, "exitCode", json_integer(code));
                if (reason)
                    json_object_set_new(o, "reason", json_string(reason));
            }
            if (c->reason && !json_object_get(o, "reason"))
                json_object_set_new(o, "reason", json_string(c->reason));
        }
        if (c->n_pm && t->def->network_mode == AGENT_NET_BRIDGE) {
            json_t *nb = json_array();
            for (size_t k = 0; k < c->n_pm; k++)
                json_array_append_new(nb, json_pack("{s:s, s:i, s:i, s:s}", "bindIP", "0.0.0.0",
                                                    "containerPort", c->pm[k].container_port,
                                                    "hostPort", c->pm[k].host_port, "protocol",
                                                    c->pm[k].udp ? "udp" : "tcp"));
            json_object_set_new(o, "networkBindings", nb);
        }
        json_array_append_new(cs, o);
    }
    j = json_pack("{s:s, s:s, s:s, s:o}", "taskArn", t->arn, "lastStatus",
                  agent_tstate_name(t->state), "healthStatus",
                  agent_health_name(agent_task_health(t->def, views)), "containers", cs);
    if (t->state == AGENT_T_STOPPED && t->stop_reason)
        json_object_set_new(j, "stoppedReason", json_string(t->stop_reason));
    if (t->ip)
        json_object_set_new(j, "privateIpv4Address", json_string(t->ip));
    return j;
}

static void
send_reports(struct agent *a, int64_t now)
{
    json_auto_t *body = NULL;
    json_auto_t *ans = NULL;
    json_t *list = json_array();
    cleanup_error struct cm_error *err = NULL;
    struct task *sent[MAX_TASKS];
    size_t n = 0;

    if (!a->instance_arn || now < a->next_report_ms) {
        json_decref(list);
        return;
    }
    for (size_t i = 0; i < a->n_tasks && n < MAX_TASKS; i++) {
        /* STOPPED is only told once the task holds nothing on the host. */
        if (!a->tasks[i]->dirty || (a->tasks[i]->state == AGENT_T_STOPPED && !a->tasks[i]->cleaned))
            continue;
        json_array_append_new(list, task_report(a->tasks[i]));
        sent[n++] = a->tasks[i];
    }
    if (n == 0) {
        json_decref(list);
        return;
    }
    body = json_pack("{s:s, s:o}", "containerInstanceArn", a->instance_arn, "tasks", list);
    if (agent_client_call(a->client, "report", body, REPORT_TIMEOUT_MS, &ans, NULL, &err) < 0) {
        /* Retry with back-off until skiffd has it (reports are level-based). */
        unsigned shift = a->report_failures < 5 ? a->report_failures : 5;
        a->report_failures++;
        a->next_report_ms = now + (250LL << shift);
        cm_log(err->code == EKEYREJECTED ? CM_LOG_ERROR : CM_LOG_WARN, "report: %s, will retry",
               err->msg);
        if (err->code == ENOENT)
            a->next_register_ms = 0, free(a->instance_arn), a->instance_arn = NULL;
        return;
    }
    a->report_failures = 0;
    for (size_t i = 0; i < n; i++) {
        sent[i]->dirty = false;
        if (sent[i]->state == AGENT_T_STOPPED && !sent[i]->reported_stopped) {
            sent[i]->reported_stopped = true;
            task_save(sent[i]);
        }
    }
}

/* ---- register / poll / reconcile ---- */

static uint64_t
host_memory_mib(void)
{
    cleanup_fclose FILE *f = fopen("/proc/meminfo", "re");
    char line[256];
    unsigned long long kb = 0;

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            break;
    return kb / 1024;
}

static int
do_register(struct agent *a, struct cm_error **err)
{
    json_auto_t *body = NULL;
    json_auto_t *ans = NULL;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t mem = host_memory_mib();
    const char *arn;
    json_t *attrs = a->cfg->attributes ? json_deep_copy(a->cfg->attributes) : json_object();
    long poll_ms;

    mem = mem > a->cfg->reserved_memory_mib ? mem - a->cfg->reserved_memory_mib : 0;
    body = json_pack("{s:s, s:I, s:I, s:o}", "hostname", a->cfg->hostname, "cpu",
                     (json_int_t)(cpus > 0 ? cpus : 1) * 1024, "memory", (json_int_t)mem,
                     "attributes", attrs);
    if (a->cfg->cluster)
        json_object_set_new(body, "cluster", json_string(a->cfg->cluster));
    if (a->instance_arn)
        json_object_set_new(body, "containerInstanceArn", json_string(a->instance_arn));
    if (a->logs)
        json_object_set_new(body, "logEndpoint",
                            json_pack("{s:s,s:s}", "address",
                                      a->cfg->log_advertise ? a->cfg->log_advertise
                                                            : agent_logserve_address(a->logs),
                                      "secret", a->log_secret));
    if (agent_client_call(a->client, "register", body, REPORT_TIMEOUT_MS, &ans, NULL, err) < 0)
        return -1;
    if (agent_register_answer(ans, &arn, &poll_ms, err) < 0)
        return -1;
    free(a->instance_arn);
    a->instance_arn = xstrdup(arn);
    a->poll_timeout_ms = poll_ms;
    a->version = 0;
    {
        json_auto_t *rec = json_pack("{s:s}", "containerInstanceArn", arn);
        cleanup_free char *text = json_dumps(rec, JSON_COMPACT);
        cleanup_close int dfd = open(a->cfg->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
            cm_write_file_atomic_at(dfd, "instance.json", text, strlen(text), 0600, NULL);
    }
    cm_log_info("registered as '%s'", arn);
    return 0;
}

static void
apply_desired(struct agent *a, json_t *ans)
{
    json_t *tasks = json_object_get(ans, "tasks");
    size_t nd = 0, nl = a->n_tasks;
    struct agent_desired_task *d;
    struct agent_local_task *l;
    struct agent_action *acts;
    size_t n;

    if (agent_desired_parse(ans, MAX_TASKS, &d, &nd) < 0) {
        cm_log_warn("poll: answer without a usable task list, ignoring");
        return;
    }
    l = xcalloc(nl + 1, sizeof *l);
    acts = xcalloc(nd + nl + 1, sizeof *acts);
    for (size_t i = 0; i < nl; i++)
        l[i] = (struct agent_local_task){a->tasks[i]->arn, a->tasks[i]->state == AGENT_T_STOPPED,
                                         a->tasks[i]->state == AGENT_T_STOPPING};
    n = agent_reconcile(d, nd, l, nl, acts);
    for (size_t i = 0; i < n; i++) {
        if (acts[i].kind == AGENT_ACT_STOP) {
            stop_task(a->tasks[acts[i].index], acts[i].reason);
            continue;
        }
        if (acts[i].kind == AGENT_ACT_REPORT_STOPPED) {
            json_auto_t *body = NULL;
            json_auto_t *ans2 = NULL;
            if (!*d[acts[i].index].arn)
                continue;
            body = json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "containerInstanceArn", a->instance_arn,
                             "tasks", "taskArn", d[acts[i].index].arn, "lastStatus", "STOPPED",
                             "stoppedReason", acts[i].reason);
            /* Best effort: the next poll lists it again if this is lost. */
            agent_client_call(a->client, "report", body, REPORT_TIMEOUT_MS, &ans2, NULL, NULL);
            continue;
        }
        {
            json_t *tj = json_array_get(tasks, acts[i].index);
            cleanup_error struct cm_error *err = NULL;
            struct task *t;
            if (!*d[acts[i].index].arn)
                continue;
            t = task_new(a, tj, &err);
            if (!t) {
                /* Report it stopped so the scheduler does not wait for it. */
                json_auto_t *body =
                    json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "containerInstanceArn", a->instance_arn,
                              "tasks", "taskArn", d[acts[i].index].arn, "lastStatus", "STOPPED",
                              "stoppedReason", err->msg);
                json_auto_t *ans2 = NULL;
                cm_log_error("%s", err->msg);
                agent_client_call(a->client, "report", body, REPORT_TIMEOUT_MS, &ans2, NULL, NULL);
                continue;
            }
            cm_log_info("task '%s': starting", t->id);
            t->dirty = true;
            add_task(a, t);
        }
    }
    free(d);
    free(l);
    free(acts);
}

static void
drop_poll_src(struct agent *a)
{
    cm_loop_remove(a->poll_src);
    a->poll_src = NULL;
    a->poll_fd = -1;
    a->poll_ev = 0;
}

static void
on_poll_fd(struct cm_loop *loop, int fd, uint32_t events, void *userdata)
{
    struct agent *a = userdata;

    (void)loop;
    (void)fd;
    (void)events;
    agent_client_poll_io(a->client);
}

/* Keeps the loop watching the poll's socket for what it waits for now. */
static void
sync_poll_src(struct agent *a)
{
    uint32_t ev = 0;
    int fd = agent_client_poll_fd(a->client, &ev);
    cleanup_error struct cm_error *err = NULL;

    if (fd == a->poll_fd && ev == a->poll_ev)
        return;
    if (fd >= 0 && fd == a->poll_fd && cm_loop_mod_fd(a->poll_src, ev, NULL) == 0) {
        a->poll_ev = ev;
        return;
    }
    drop_poll_src(a);
    if (fd < 0)
        return;
    a->poll_src = cm_loop_add_fd(a->loop, fd, ev, on_poll_fd, a, &err);
    if (!a->poll_src) {
        cm_log_warn("poll: %s, will retry", err->msg);
        return;
    }
    a->poll_fd = fd;
    a->poll_ev = ev;
}

static void
poll_step(struct agent *a, int64_t now)
{
    json_auto_t *ans = NULL;
    json_auto_t *body = NULL;
    cleanup_error struct cm_error *err = NULL;
    long status = 0;
    int r;

    if (agent_client_poll_done(a->client)) {
        drop_poll_src(a);
        r = agent_client_poll_result(a->client, &ans, &status, &err);
        if (r < 0) {
            /* A certificate skiffd's CA does not vouch for needs the operator. */
            cm_log(err->code == EKEYREJECTED ? CM_LOG_ERROR : CM_LOG_WARN, "poll: %s", err->msg);
            if (status == 404) {
                free(a->instance_arn);
                a->instance_arn = NULL;
                a->next_register_ms = now;
            }
            a->next_poll_ms = now + 1000;
            cm_error_free(&err);
        } else if (r > 0) {
            a->version = json_integer_value(json_object_get(ans, "version"));
            apply_desired(a, ans);
        }
    }
    if (!a->instance_arn) {
        if (now < a->next_register_ms)
            return;
        if (do_register(a, &err) < 0) {
            cm_log(err->code == EKEYREJECTED ? CM_LOG_ERROR : CM_LOG_WARN,
                   "register: %s, will retry", err->msg);
            a->next_register_ms = now + 2000;
            return;
        }
        a->next_poll_ms = 0;
    }
    if (agent_client_poll_active(a->client) || now < a->next_poll_ms)
        return;
    /* The next poll goes out at once: changes reach us while we work. */
    body = json_pack("{s:s, s:I, s:I}", "containerInstanceArn", a->instance_arn, "version",
                     (json_int_t)a->version, "waitMs", (json_int_t)a->poll_timeout_ms);
    if (agent_client_poll_start(a->client, body, a->poll_timeout_ms + 10000, &err) < 0) {
        cm_log_warn("poll: %s", err->msg);
        a->next_poll_ms = now + 1000;
    }
}

/* ---- re-adoption ---- */

static void
adopt(struct agent *a)
{
    cleanup_free char *dir = xasprintf("%s/tasks", a->cfg->state_dir);
    cleanup_dir DIR *d = opendir(dir);
    struct dirent *de;

    {
        cleanup_free char *p = xasprintf("%s/instance.json", a->cfg->state_dir);
        json_auto_t *j = NULL;
        if (cm_json_load_file(p, 1 << 16, &j, NULL) == 0 &&
            json_is_string(json_object_get(j, "containerInstanceArn")))
            a->instance_arn =
                xstrdup(json_string_value(json_object_get(j, "containerInstanceArn")));
    }
    while (d && (de = readdir(d)) != NULL) {
        cleanup_free char *p = NULL;
        json_auto_t *j = NULL;
        cleanup_error struct cm_error *err = NULL;
        struct task *t;
        const char *st;
        json_t *ports;

        if (!agent_valid_id(de->d_name))
            continue;
        p = xasprintf("%s/%s/task.json", dir, de->d_name);
        if (cm_json_load_file(p, 16 << 20, &j, &err) < 0) {
            cm_log_warn("adopt '%s': %s, ignoring", de->d_name, err->msg);
            continue;
        }
        t = task_new(a, json_object_get(j, "task"), &err);
        if (!t) {
            cm_log_warn("adopt '%s': %s, ignoring", de->d_name, err->msg);
            continue;
        }
        st = json_string_value(json_object_get(j, "state"));
        t->state = st && strcmp(st, "STOPPED") == 0    ? AGENT_T_STOPPED
                   : st && strcmp(st, "STOPPING") == 0 ? AGENT_T_STOPPING
                   : st && strcmp(st, "RUNNING") == 0  ? AGENT_T_RUNNING
                                                       : AGENT_T_PENDING;
        t->prepared = json_is_true(json_object_get(j, "prepared"));
        t->ports_pending = json_is_true(json_object_get(j, "portsPending"));
        t->nft = json_is_string(json_object_get(j, "portMapper")) &&
                 strcmp(json_string_value(json_object_get(j, "portMapper")), "nft") == 0;
        t->reported_stopped = json_is_true(json_object_get(j, "reportedStopped"));
        t->cleaned = json_is_true(json_object_get(j, "cleaned"));
        t->stopped_at = json_integer_value(json_object_get(j, "stoppedAt"));
        if (json_is_string(json_object_get(j, "stopReason")))
            t->stop_reason = xstrdup(json_string_value(json_object_get(j, "stopReason")));
        if (json_is_string(json_object_get(j, "netns")))
            t->netns = xstrdup(json_string_value(json_object_get(j, "netns")));
        if (json_is_string(json_object_get(j, "ip")))
            t->ip = xstrdup(json_string_value(json_object_get(j, "ip")));
        if (json_is_string(json_object_get(j, "cniId")) &&
            agent_valid_id(json_string_value(json_object_get(j, "cniId"))))
            t->cni_id = xstrdup(json_string_value(json_object_get(j, "cniId")));
        ports = json_object_get(j, "ports");
        for (size_t i = 0; i < t->n; i++) {
            struct ctr *c = &t->c[i];
            json_t *pa = json_object_get(ports, c->def->name);
            enum agent_shim_state ss;
            struct agent_exit_record rec;
            cleanup_free char *shimrec = xasprintf("%s/shim.json", c->dir);
            cleanup_free char *exitrec = xasprintf("%s/exit.json", c->dir);
            /* Ports of a task not fully prepared are assigned again by prepare. */
            for (size_t k = 0; t->prepared && k < c->n_pm && k < json_array_size(pa); k++) {
                json_int_t hp = json_integer_value(json_array_get(json_array_get(pa, k), 1));
                if (hp > 0 && hp < 65536) {
                    c->pm[k].host_port = (uint16_t)hp;
                    if (t->state != AGENT_T_STOPPED)
                        agent_port_pool_reserve(&a->ports, (uint16_t)hp, NULL);
                }
            }
            /* A container that never got a shim is still pending. */
            if (access(shimrec, F_OK) != 0 && access(exitrec, F_OK) != 0) {
                c->state = t->state == AGENT_T_STOPPED ? AGENT_C_STOPPED : AGENT_C_PENDING;
                continue;
            }
            if (agent_shim_inspect(c->dir, &ss, &rec, NULL, NULL) < 0)
                continue;
            c->state = ss == AGENT_SHIM_RUNNING ? AGENT_C_RUNNING : AGENT_C_STOPPED;
            c->has_exit = ss == AGENT_SHIM_EXITED;
            c->lost = ss == AGENT_SHIM_LOST;
            if (c->has_exit)
                c->exit = rec;
            c->hs = (struct agent_health_state){.started_ms = now_ms()};
        }
        /* Whatever changed while we were away must reach skiffd. */
        t->dirty = !t->reported_stopped;
        cm_log_info("adopted task '%s' (%s)", t->id, agent_tstate_name(t->state));
        add_task(a, t);
    }
}

/* Drops stopped tasks whose retention has passed (and skiffd knows). */
static void
expire(struct agent *a)
{
    int64_t now = time(NULL);

    for (size_t i = 0; i < a->n_tasks;) {
        struct task *t = a->tasks[i];
        if (t->state == AGENT_T_STOPPED && t->reported_stopped && !t->dirty &&
            now - t->stopped_at >= (int64_t)a->cfg->retention_s) {
            cleanup_error struct cm_error *err = NULL;
            if (!t->cleaned) {
                release_task(a, t);
                if (!t->cleaned) {
                    i++;
                    continue;
                }
            }
            if (cm_rm_rf(t->dir, &err) < 0)
                cm_log_warn("task '%s': %s, ignoring", t->id, err->msg);
            cm_log_info("task '%s': removed after retention", t->id);
            task_free(t);
            a->tasks[i] = a->tasks[--a->n_tasks];
            continue;
        }
        i++;
    }
}

/* Image garbage collection in a worker: when the store's filesystem is
 * fuller than the threshold, images no unstopped task uses are removed and
 * pruned (stopped tasks' rootfs are unmounted already). */
static void
image_gc_start(struct agent *a)
{
    json_auto_t *req = NULL;
    json_t *in_use = json_array();
    cleanup_error struct cm_error *err = NULL;

    if (a->gc.pid)
        return;
    for (size_t k = 0; k < a->n_tasks; k++) {
        const struct task *t = a->tasks[k];
        if (t->state == AGENT_T_STOPPED)
            continue;
        for (size_t c = 0; c < t->n; c++)
            json_array_append_new(in_use, json_string(t->c[c].def->image));
    }
    req = json_pack("{s:s, s:o, s:o, s:I}", "op", "gc", "cfg", worker_cfg(a), "inUse", in_use,
                    "percent", (json_int_t)a->cfg->image_gc_percent);
    if (worker_start(a, &a->gc, req, &err) < 0)
        cm_log_warn("image gc: %s, ignoring", err->msg);
}

static void
image_gc_finish(struct agent *a)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *ans = worker_finish(a, &a->gc, &err);
    size_t i;
    json_t *name;

    job_reset(&a->gc);
    if (!ans) {
        cm_log_warn("image gc: %s, ignoring", err->msg);
        return;
    }
    json_array_foreach (json_object_get(ans, "removed"), i, name)
        cm_log_info("image '%s' removed (disk over %u%%)", json_string_value(name),
                    a->cfg->image_gc_percent);
}

/* ---- pre-warmed network namespaces (--netns-pool) ---- */

static void
pool_tick(struct agent *a, int64_t now)
{
    cleanup_error struct cm_error *err = NULL;
    json_auto_t *req = NULL;

    if (a->warm.done) {
        json_auto_t *ans = worker_finish(a, &a->warm, &err);
        job_reset(&a->warm);
        if (!ans) {
            cm_log_warn("netns pool: '%s': %s, will retry", a->warm_id, err->msg);
            cm_error_free(&err);
            a->warm_retry_ms = now + 5000;
        } else {
            a->pool = xrealloc(a->pool, (a->n_pool + 1) * sizeof *a->pool);
            a->pool[a->n_pool++] =
                (struct warm_ns){.id = TAKE_PTR(a->warm_id),
                                 .netns = xstrdup(json_string_value(json_object_get(ans, "netns"))),
                                 .ip = json_is_string(json_object_get(ans, "ip"))
                                           ? xstrdup(json_string_value(json_object_get(ans, "ip")))
                                           : NULL};
        }
        free(a->warm_id);
        a->warm_id = NULL;
    }
    if (a->warm.pid || a->n_pool >= a->cfg->netns_pool || a->n_workers >= a->max_jobs ||
        now < a->warm_retry_ms)
        return;
    /* Starting tasks come first: a bridge plugin exec (~30 ms of CPU, more
     * under load) would slow their start down on a small host. */
    if (tasks_starting(a))
        return;
    a->warm_id = xasprintf("warm-%u", a->warm_seq++);
    req = json_pack("{s:s, s:o, s:s}", "op", "warm", "cfg", worker_cfg(a), "id", a->warm_id);
    if (worker_start(a, &a->warm, req, &err) < 0) {
        cm_log_warn("netns pool: %s, will retry", err->msg);
        free(a->warm_id);
        a->warm_id = NULL;
        a->warm_retry_ms = now + 5000;
    }
}

/* At start-up: pre-warmed netns no task owns are left from an earlier run
 * (we do not know how far their attachment got): detach and remove them. */
static void
pool_sweep(struct agent *a)
{
    cleanup_dir DIR *d = opendir(a->cfg->netns_dir);
    struct dirent *de;

    while (d && (de = readdir(d)) != NULL) {
        unsigned long n;
        char *end;
        bool owned = false;
        if (strncmp(de->d_name, "warm-", 5) != 0)
            continue;
        n = strtoul(de->d_name + 5, &end, 10);
        if (*end == '\0' && n < UINT_MAX && n >= a->warm_seq)
            a->warm_seq = (unsigned)n + 1;
        for (size_t i = 0; i < a->n_tasks && !owned; i++)
            owned = a->tasks[i]->cni_id && strcmp(a->tasks[i]->cni_id, de->d_name) == 0;
        if (!owned && agent_valid_id(de->d_name)) {
            cleanup_free char *path = xasprintf("%s/%s", a->cfg->netns_dir, de->d_name);
            cleanup_error struct cm_error *err = NULL;
            agent_cni_del(&a->cni, AGENT_NET_AWSVPC, de->d_name, path, NULL);
            if (agent_netns_delete(path, &err) < 0)
                cm_log_warn("netns pool: %s, ignoring", err->msg);
        }
    }
}

/* ---- the loop ---- */

static void
on_tick(struct cm_loop *loop, struct cm_loop_source *timer, void *userdata)
{
    struct agent *a = userdata;

    (void)loop;
    (void)timer;
    a->full_tick = true;
}

static void
on_signal(struct cm_loop *loop, int signo, void *userdata)
{
    (void)signo;
    (void)userdata;
    cm_loop_quit(loop, 0);
}

/* Before every wait: whatever the last events (poll answer, finished jobs,
 * the tick) made possible, then one report with every change. */
static void
step(struct cm_loop *loop, void *userdata)
{
    struct agent *a = userdata;
    int64_t now = now_ms();
    bool full = a->full_tick;

    (void)loop;
    a->full_tick = false;
    poll_step(a, now);
    for (size_t i = 0; i < a->n_tasks; i++)
        task_tick(a, a->tasks[i], now, full);
    send_reports(a, now);
    pool_tick(a, now);
    spare_tick(a, now);
    if (a->gc.done)
        image_gc_finish(a);
    if (full && now - a->last_expire > 5000) {
        expire(a);
        if (a->n_workers < a->max_jobs)
            image_gc_start(a);
        a->last_expire = now;
    }
    sync_poll_src(a);
}

/* The log endpoint, after the signals are blocked (its thread inherits the mask).
 * Without it the agent still runs tasks; `skiff logs` then says so. */
static void
logs_start(struct agent *a)
{
    const char *listen = a->cfg->log_listen;
    cleanup_error struct cm_error *e = NULL;

    if (!listen || !*listen || !strcmp(listen, "off"))
        return;
    if (!strncmp(listen, "0.0.0.0:", 8) && !a->cfg->log_advertise) {
        cm_log_warn("log endpoint on '%s' needs --log-advertise ADDRESS:PORT for skiffd, "
                    "not serving logs",
                    listen);
        return;
    }
    if (agent_logserve_secret(a->cfg->state_dir, &a->log_secret, &e) < 0 ||
        !(a->logs = agent_logserve_start(listen, a->cfg->state_dir, a->cfg->log_max_files,
                                         a->log_secret, &e))) {
        cm_log_warn("%s, not serving logs", e->msg);
        return;
    }
    cm_log_info("log endpoint on '%s'", agent_logserve_address(a->logs));
}

int
agent_run(const struct agent_config *cfg, struct cm_error **err)
{
    struct agent a = {.cfg = cfg, .poll_timeout_ms = 20000, .poll_fd = -1};
    cleanup_free char *token = NULL;
    cleanup_free char *tasks = NULL;
    size_t len;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int r = 0;

    a.gc = (struct job){.fd = -1};
    a.warm = (struct job){.fd = -1};
    if (agent_config_validate(cfg, err) < 0)
        return -1;
    if (cm_read_file_at(AT_FDCWD, cfg->join_token_file, 4096, &token, &len, err) < 0)
        return cm_error_wrap(err, "join token");
    while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r' || token[len - 1] == ' '))
        token[--len] = '\0';
    if (len == 0 || strpbrk(token, "\r\n"))
        return cm_error_set(err, 0, "join token file '%s' is empty or malformed",
                            cfg->join_token_file);
    tasks = xasprintf("%s/tasks", cfg->state_dir);
    if (cm_mkdir_p(tasks, 0700, err) < 0)
        return -1;
    /* Jobs mostly wait (plugins, registry, disk): twice the CPUs keeps both busy. */
    a.max_jobs = cpus > 0 ? (unsigned)cpus * 2 : 2;
    a.cni_ipam = xasprintf("%s/cni/ipam", cfg->state_dir);
    a.cni_cache = xasprintf("%s/cni/cache", cfg->state_dir);
    a.cni = (struct agent_cni_config){.plugin_dir = cfg->cni_plugin_dir,
                                      .network = "skiff",
                                      .bridge = cfg->bridge,
                                      .subnet = cfg->subnet,
                                      .ipam_dir = a.cni_ipam,
                                      .cache_dir = a.cni_cache,
                                      .portmap = !use_nft(&a)};
    agent_port_pool_init(&a.ports, cfg->port_lo, cfg->port_hi, true);
    a.client = agent_client_new(cfg->endpoint, token, cfg->ca_file);
    signal(SIGPIPE, SIG_IGN);
    a.loop = cm_loop_new(err);
    if (!a.loop || cm_loop_add_signal(a.loop, SIGTERM, on_signal, &a, err) < 0 ||
        cm_loop_add_signal(a.loop, SIGINT, on_signal, &a, err) < 0 ||
        !(a.tick = cm_loop_add_timer(a.loop, TICK_MS, TICK_MS, on_tick, &a, err)) ||
        cm_loop_add_before_sleep(a.loop, step, &a, err) < 0) {
        r = -1;
        goto out;
    }
    /* After the loop blocked the signals: the log endpoint's thread inherits the mask. */
    logs_start(&a);

    adopt(&a);
    pool_sweep(&a);
    nat_reconcile(&a);
    cm_log_info("agent up: %zu task(s) adopted, endpoint '%s'", a.n_tasks, cfg->endpoint);
    a.full_tick = true;
    cm_loop_run(a.loop);
    cm_log_info("agent: terminating; containers keep running under their shims");
out:
    for (size_t i = 0; i < a.n_tasks; i++) {
        struct task *t = a.tasks[i];
        for (size_t k = 0; k < t->n; k++) {
            if (t->c[k].hc_pid > 0) {
                kill(t->c[k].hc_pid, SIGKILL);
                waitpid(t->c[k].hc_pid, NULL, 0);
            }
            /* A launching shim goes on alone: the next agent adopts it. */
            job_wait(&t->c[k].launch);
            job_reset(&t->c[k].launch);
        }
        /* A half-done preparation is redone by the next agent. */
        if (t->prep.pid > 0)
            kill(t->prep.pid, SIGKILL);
        job_wait(&t->prep);
        job_reset(&t->prep);
        if (t->ports.pid > 0)
            kill(t->ports.pid, SIGKILL);
        job_wait(&t->ports);
        job_reset(&t->ports);
        /* A release cut short is redone by the next agent. */
        if (t->rel.pid > 0)
            kill(t->rel.pid, SIGKILL);
        job_wait(&t->rel);
        job_reset(&t->rel);
        task_free(t);
    }
    spare_drop(&a);
    /* Ready pool entries stay; the next agent sweeps them. */
    if (a.warm.pid > 0)
        kill(a.warm.pid, SIGKILL);
    job_wait(&a.warm);
    job_reset(&a.warm);
    free(a.warm_id);
    for (size_t i = 0; i < a.n_pool; i++) {
        free(a.pool[i].id);
        free(a.pool[i].netns);
        free(a.pool[i].ip);
    }
    free(a.pool);
    if (a.gc.pid > 0)
        kill(a.gc.pid, SIGKILL);
    job_wait(&a.gc);
    job_reset(&a.gc);
    drop_poll_src(&a);
    agent_logserve_stop(a.logs);
    free(a.log_secret);
    free(a.tasks);
    free(a.instance_arn);
    free(a.cni_ipam);
    free(a.cni_cache);
    agent_client_free(a.client);
    agent_nat_free(a.nat);
    cm_loop_free(a.loop);
    return r;
}
