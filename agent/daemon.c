/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-agent's daemon: register, long poll, local reconcile, task life
 * cycle (images, network, cgroup, bundles, shims, health checks, stop),
 * reports with retries, re-adoption after a restart, cleanup after retention.
 * One thread: the loop waits on the poll transfer and a signalfd, and ticks. */
#include "agent/daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/bundle.h"
#include "agent/client.h"
#include "agent/cni.h"
#include "agent/logserve.h"
#include "agent/shim.h"
#include "agent/state.h"
#include "agent/taskdef.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "img/rootfs.h"
#include "img/store.h"

#define TICK_MS 200
#define REPORT_TIMEOUT_MS 10000
#define MAX_TASKS 1024

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
    int64_t net_ms; /* time spent on the network at preparation */
};

struct agent {
    const struct agent_config *cfg;
    struct agent_client *client;
    struct img_store *store;
    struct agent_port_pool ports;
    struct agent_cni_config cni;
    char *cni_ipam, *cni_cache;
    struct task **tasks;
    size_t n_tasks, cap_tasks;
    char *instance_arn;
    int64_t version;
    long poll_timeout_ms;
    int sig_fd;
    int64_t next_register_ms, next_poll_ms, next_report_ms;
    unsigned report_failures;
    bool quit;
    struct agent_logserve *logs; /* the log endpoint skiffd reads (agent/logserve.c) */
    char *log_secret;
};

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
valid_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* ---- signals by name (image StopSignal) ---- */

static int
signal_from_name(const char *s)
{
    static const struct {
        const char *n;
        int sig;
    } names[] = {{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"QUIT", SIGQUIT},
                 {"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH},
                 {"STOP", SIGSTOP}, {"PWR", SIGPWR}};
    char *end;
    long v;

    if (!s || !*s)
        return SIGTERM;
    v = strtol(s, &end, 10);
    if (!*end && v > 0 && v < 65)
        return (int)v;
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i].n) == 0)
            return names[i].sig;
    return SIGTERM;
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
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
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

    if (!arn || strlen(arn) > 2048 || !valid_id(id)) {
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
    }
    return t;
}

static void
add_task(struct agent *a, struct task *t)
{
    a->tasks = xreallocarray_grow(a->tasks, &a->cap_tasks, a->n_tasks + 1, sizeof *a->tasks);
    a->tasks[a->n_tasks++] = t;
}

/* ---- the task's resources ---- */

static char *
cgroup_dir(const char *controller, const char *path)
{
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
        return xasprintf("/sys/fs/cgroup%s", path);
    return xasprintf("/sys/fs/cgroup/%s%s", controller, path);
}

static char *
task_cgroup(const struct agent *a, const struct task *t)
{
    return xasprintf("%s/%s", a->cfg->cgroup_root, t->id);
}

/* The task's CPU quota and memory limit on its own cgroup (the containers'
 * cgroups are created below it by the runtime). */
static int
task_cgroup_setup(struct agent *a, struct task *t, struct cm_error **err)
{
    cleanup_free char *path = task_cgroup(a, t);
    int64_t quota, mem;
    uint64_t period;
    char buf[64];

    agent_task_cgroup_limits(t->def->cpu, t->def->memory, &quota, &period, &mem);
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
        cleanup_free char *dir = cgroup_dir("", path);
        if (cm_mkdir_p(dir, 0755, err) < 0)
            return -1;
        if (quota > 0) {
            cleanup_free char *f = xasprintf("%s/cpu.max", dir);
            snprintf(buf, sizeof buf, "%lld %llu", (long long)quota, (unsigned long long)period);
            if (cm_write_file_at(AT_FDCWD, f, buf, err) < 0)
                return -1;
        }
        if (mem > 0) {
            cleanup_free char *f = xasprintf("%s/memory.max", dir);
            snprintf(buf, sizeof buf, "%lld", (long long)mem);
            if (cm_write_file_at(AT_FDCWD, f, buf, err) < 0)
                return -1;
        }
        return 0;
    }
    {
        cleanup_free char *cpu = cgroup_dir("cpu", path);
        cleanup_free char *memd = cgroup_dir("memory", path);
        if (cm_mkdir_p(cpu, 0755, err) < 0 || cm_mkdir_p(memd, 0755, err) < 0)
            return -1;
        if (quota > 0) {
            cleanup_free char *fp = xasprintf("%s/cpu.cfs_period_us", cpu);
            cleanup_free char *fq = xasprintf("%s/cpu.cfs_quota_us", cpu);
            snprintf(buf, sizeof buf, "%llu", (unsigned long long)period);
            if (cm_write_file_at(AT_FDCWD, fp, buf, err) < 0)
                return -1;
            snprintf(buf, sizeof buf, "%lld", (long long)quota);
            if (cm_write_file_at(AT_FDCWD, fq, buf, err) < 0)
                return -1;
        }
        if (mem > 0) {
            cleanup_free char *f = xasprintf("%s/memory.limit_in_bytes", memd);
            snprintf(buf, sizeof buf, "%lld", (long long)mem);
            if (cm_write_file_at(AT_FDCWD, f, buf, err) < 0)
                return -1;
        }
    }
    return 0;
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

static int
prepare_container(struct agent *a, struct task *t, struct ctr *c, struct cm_error **err)
{
    cleanup_img_image struct img_image *img = NULL;
    cleanup_img_config struct img_config *icfg = NULL;
    struct img_pull_opts po = {.registry = {.insecure = a->cfg->insecure_registries},
                               .default_registry = a->cfg->default_registry};
    cleanup_free char *upper = xasprintf("%s/upper", c->dir);
    cleanup_free char *work = xasprintf("%s/work", c->dir);
    cleanup_free char *rootfs = xasprintf("%s/rootfs", c->bundle);
    cleanup_free char *cgparent = task_cgroup(a, t);
    cleanup_close int rootfs_fd = -1;
    cleanup_close int bfd = -1;
    json_auto_t *spec = NULL;
    cleanup_free char *text = NULL;
    struct agent_bundle_params bp = {.task_id = t->id,
                                     .cgroup_parent = cgparent,
                                     .netns = t->netns,
                                     .hostname = t->id,
                                     .init_path = a->cfg->init_path,
                                     .pids_limit = a->cfg->pids_limit};
    const char *sig;

    if (cm_mkdir_p(rootfs, 0755, err) < 0 || cm_mkdir_p(upper, 0755, err) < 0 ||
        cm_mkdir_p(work, 0755, err) < 0)
        return -1;
    /* A preparation cut short by a restart may have mounted it already. */
    for (int i = 0; i < 8 && umount2(rootfs, MNT_DETACH) == 0; i++)
        ;
    if (img_pull(a->store, c->def->image, &po, &img, err) < 0)
        return cm_error_wrap(err, "CannotPullContainerError: pull '%s'", c->def->image);
    if (img_store_read_config(a->store, img, &icfg, err) < 0)
        return cm_error_wrap(err, "image '%s'", c->def->image);
    if (img_rootfs_mount(a->store, img, upper, work, rootfs, NULL, err) < 0)
        return cm_error_wrap(err, "rootfs of '%s'", c->def->image);
    rootfs_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (agent_bundle_config(icfg, rootfs_fd, c->def, &bp, &spec, err) < 0)
        return -1;
    sig = json_string_value(
        json_object_get(json_object_get(spec, "annotations"), AGENT_ANN_STOP_SIGNAL));
    c->stop_signal = signal_from_name(sig);
    text = json_dumps(spec, JSON_INDENT(2));
    bfd = open(c->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0)
        return cm_error_errno(err, "open '%s'", c->bundle);
    return cm_write_file_atomic_at(bfd, "config.json", text, strlen(text), 0644, err);
}

/* Everything a task needs before its first container starts. */
static int
prepare_task(struct agent *a, struct task *t, struct cm_error **err)
{
    enum agent_net_mode mode = t->def->network_mode;
    struct agent_port_mapping *all = NULL;
    size_t n_all = 0;

    if (cm_mkdir_p(t->dir, 0700, err) < 0)
        return -1;
    for (size_t i = 0; i < t->n; i++)
        if (cm_mkdir_p(t->c[i].dir, 0700, err) < 0)
            return -1;
    task_save(t);
    /* Host ports, then the network (bridge mode maps them). */
    for (size_t i = 0; i < t->n; i++) {
        if (mode == AGENT_NET_BRIDGE &&
            agent_port_pool_assign(&a->ports, t->c[i].pm, t->c[i].n_pm, err) < 0)
            return cm_error_wrap(err, "container '%s'", t->c[i].def->name);
    }
    task_save(t);
    t->net_ms = now_ms();
    if (agent_net_mode_has_netns(mode)) {
        cleanup_free char *path = xasprintf("%s/%s", a->cfg->netns_dir, t->id);
        struct stat st;

        /* A restart during preparation may have left a half-attached netns:
         * detach (DEL is idempotent) and start over with a fresh one. */
        if (t->netns || stat(path, &st) == 0) {
            agent_cni_del(&a->cni, mode, t->id, path, NULL);
            agent_netns_delete(path, NULL);
            free(t->netns);
            t->netns = NULL;
            free(t->ip);
            t->ip = NULL;
        }
        if (agent_netns_create(a->cfg->netns_dir, t->id, &t->netns, err) < 0)
            return -1;
        task_save(t);
        if (mode == AGENT_NET_BRIDGE) {
            for (size_t i = 0; i < t->n; i++) {
                all = xrealloc(all, (n_all + t->c[i].n_pm + 1) * sizeof *all);
                memcpy(all + n_all, t->c[i].pm, t->c[i].n_pm * sizeof *all);
                n_all += t->c[i].n_pm;
            }
        }
        {
            int r = agent_cni_add(&a->cni, mode, t->id, t->netns, all, n_all, &t->ip, err);
            free(all);
            if (r < 0)
                return -1;
        }
        task_save(t);
    }
    t->net_ms = now_ms() - t->net_ms;
    if (task_cgroup_setup(a, t, err) < 0)
        return cm_error_wrap(err, "task cgroup");
    for (size_t i = 0; i < t->n; i++)
        if (prepare_container(a, t, &t->c[i], err) < 0)
            return cm_error_wrap(err, "container '%s'", t->c[i].def->name);
    t->prepared = true;
    task_save(t);
    return 0;
}

/* Releases what the task holds on the host; safe to repeat. Logs and exit
 * records stay until the retention period ends. */
static void
release_task(struct agent *a, struct task *t)
{
    cleanup_error struct cm_error *err = NULL;

    for (size_t i = 0; i < t->n; i++) {
        cleanup_free char *rootfs = xasprintf("%s/rootfs", t->c[i].bundle);
        if (umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            cm_log_warn("task '%s': unmount '%s': %m, ignoring", t->id, rootfs);
        /* Explicit and picked host ports alike go back to the pool. */
        for (size_t k = 0; k < t->c[i].n_pm; k++)
            if (t->c[i].pm[k].host_port && !t->cleaned)
                agent_port_pool_release(&a->ports, t->c[i].pm[k].host_port);
    }
    if (t->netns) {
        if (agent_cni_del(&a->cni, t->def->network_mode, t->id, t->netns, &err) < 0) {
            cm_log_warn("task '%s': %s, ignoring", t->id, err->msg);
            cm_error_free(&err);
        }
        if (agent_netns_delete(t->netns, &err) < 0) {
            cm_log_warn("task '%s': %s, ignoring", t->id, err->msg);
            cm_error_free(&err);
        }
    }
    /* The shims delete their containers (and cgroups) just after recording
     * the exit: the task cgroup may still be busy; task_tick retries. */
    t->cgroup_gone = task_cgroup_remove(a, t);
    t->cleaned = true;
    task_save(t);
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
start_container(struct agent *a, struct task *t, struct ctr *c)
{
    struct agent_shim_opts o = {.id = c->rid,
                                .bundle = c->bundle,
                                .dir = c->dir,
                                .runtime = a->cfg->runtime,
                                .runtime_root = a->cfg->runtime_root,
                                .log_max_size = a->cfg->log_max_size,
                                .log_max_files = a->cfg->log_max_files};
    cleanup_error struct cm_error *err = NULL;
    pid_t shim;
    int64_t t0 = now_ms();

    if (agent_shim_spawn(a->cfg->shim, &o, &shim, &err) < 0) {
        cm_log_error("task '%s': container '%s': %s", t->id, c->def->name, err->msg);
        set_reason(&c->reason, "CannotStartContainerError: %s", err->msg);
        c->state = AGENT_C_STOPPED;
    } else {
        cm_log_info("task '%s': container '%s' started (shim %d, %lld ms)", t->id, c->def->name,
                    (int)shim, (long long)(now_ms() - t0));
        c->state = AGENT_C_RUNNING;
        c->hs = (struct agent_health_state){.started_ms = now_ms()};
    }
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

static void
task_tick(struct agent *a, struct task *t, int64_t now)
{
    struct agent_cview views[AGENT_MAX_CONTAINERS];
    bool all_started = true, all_stopped = true;
    uint64_t sig = task_signature(t);

    if (t->state == AGENT_T_STOPPED) {
        if (t->cleaned && !t->cgroup_gone)
            t->cgroup_gone = task_cgroup_remove(a, t);
        return;
    }
    if (!t->prepared && t->state != AGENT_T_STOPPING) {
        cleanup_error struct cm_error *err = NULL;
        int64_t t0 = now_ms();
        int r = prepare_task(a, t, &err);
        if (r == 0)
            cm_log_info("task '%s': prepared in %lld ms (network %lld ms)", t->id,
                        (long long)(now_ms() - t0), (long long)t->net_ms);
        if (r < 0) {
            cm_log_error("task '%s': %s", t->id, err->msg);
            set_reason(&t->stop_reason, "%s", err->msg);
            for (size_t i = 0; i < t->n; i++)
                if (t->c[i].state == AGENT_C_PENDING)
                    set_reason(&t->c[i].reason, "%.900s", err->msg);
            stop_task(t, err->msg);
        }
    }
    for (size_t i = 0; i < t->n; i++)
        if (t->c[i].state == AGENT_C_RUNNING)
            observe_container(t, &t->c[i]);

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
            if (c->state != AGENT_C_PENDING)
                continue;
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
        if (c->state == AGENT_C_RUNNING && c->def->health.present && t->state != AGENT_T_STOPPING)
            health_tick(a, t, c, now);
    }

    if (t->state == AGENT_T_STOPPING) {
        for (size_t i = 0; i < t->n; i++) {
            struct ctr *c = &t->c[i];
            cleanup_error struct cm_error *err = NULL;
            if (c->state == AGENT_C_PENDING) {
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
    if (t->state == AGENT_T_PENDING && all_started && t->prepared) {
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
        if (!a->tasks[i]->dirty)
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
        cm_log_warn("report: %s, will retry", err->msg);
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
    json_int_t poll_ms;

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
    arn = json_string_value(json_object_get(ans, "containerInstanceArn"));
    if (!arn || strlen(arn) > 2048)
        return cm_error_set(err, EIO, "register: no containerInstanceArn in the answer");
    free(a->instance_arn);
    a->instance_arn = xstrdup(arn);
    poll_ms = json_integer_value(json_object_get(ans, "pollTimeoutMs"));
    a->poll_timeout_ms = poll_ms > 0 && poll_ms < 600000 ? (long)poll_ms : 20000;
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
    size_t nd = json_array_size(tasks), nl = a->n_tasks;
    struct agent_desired_task *d;
    struct agent_local_task *l;
    struct agent_action *acts;
    size_t n;

    if (!json_is_array(tasks) || nd > MAX_TASKS) {
        cm_log_warn("poll: answer without a usable task list, ignoring");
        return;
    }
    d = xcalloc(nd + 1, sizeof *d);
    l = xcalloc(nl + 1, sizeof *l);
    acts = xcalloc(nd + nl + 1, sizeof *acts);
    for (size_t i = 0; i < nd; i++) {
        json_t *tj = json_array_get(tasks, i);
        const char *arn = json_string_value(json_object_get(tj, "taskArn"));
        const char *ds = json_string_value(json_object_get(tj, "desiredStatus"));
        d[i] = (struct agent_desired_task){arn ? arn : "", ds && strcmp(ds, "RUNNING") == 0};
    }
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
poll_step(struct agent *a, int64_t now)
{
    json_auto_t *ans = NULL;
    cleanup_error struct cm_error *err = NULL;
    long status = 0;
    int r;

    if (!a->instance_arn) {
        if (now < a->next_register_ms)
            return;
        if (do_register(a, &err) < 0) {
            cm_log_warn("register: %s, will retry", err->msg);
            a->next_register_ms = now + 2000;
            return;
        }
        a->next_poll_ms = 0;
    }
    if (!agent_client_poll_active(a->client)) {
        json_auto_t *body = NULL;
        if (now < a->next_poll_ms)
            return;
        body = json_pack("{s:s, s:I, s:I}", "containerInstanceArn", a->instance_arn, "version",
                         (json_int_t)a->version, "waitMs", (json_int_t)a->poll_timeout_ms);
        if (agent_client_poll_start(a->client, body, a->poll_timeout_ms + 10000, &err) < 0) {
            cm_log_warn("poll: %s", err->msg);
            a->next_poll_ms = now + 1000;
        }
        return;
    }
    r = agent_client_poll_result(a->client, &ans, &status, &err);
    if (r == 0)
        return;
    if (r < 0) {
        cm_log_warn("poll: %s", err->msg);
        if (status == 404) {
            free(a->instance_arn);
            a->instance_arn = NULL;
            a->next_register_ms = now;
        }
        a->next_poll_ms = now + 1000;
        return;
    }
    a->version = json_integer_value(json_object_get(ans, "version"));
    apply_desired(a, ans);
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

        if (!valid_id(de->d_name))
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
        t->reported_stopped = json_is_true(json_object_get(j, "reportedStopped"));
        t->cleaned = json_is_true(json_object_get(j, "cleaned"));
        t->stopped_at = json_integer_value(json_object_get(j, "stoppedAt"));
        if (json_is_string(json_object_get(j, "stopReason")))
            t->stop_reason = xstrdup(json_string_value(json_object_get(j, "stopReason")));
        if (json_is_string(json_object_get(j, "netns")))
            t->netns = xstrdup(json_string_value(json_object_get(j, "netns")));
        if (json_is_string(json_object_get(j, "ip")))
            t->ip = xstrdup(json_string_value(json_object_get(j, "ip")));
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
            if (!t->cleaned)
                release_task(a, t);
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

/* Image garbage collection: when the store's filesystem is fuller than the
 * threshold, images no unstopped task uses are forgotten and their blobs and
 * snapshots pruned (stopped tasks' rootfs are unmounted already). */
static void
image_gc(struct agent *a)
{
    struct statvfs vfs;
    struct img_image **imgs = NULL;
    size_t n = 0;
    uint64_t removed = 0;
    unsigned used;
    cleanup_error struct cm_error *err = NULL;

    if (statvfs(img_store_root(a->store), &vfs) < 0 || vfs.f_blocks == 0)
        return;
    used = (unsigned)(100 - (uint64_t)vfs.f_bavail * 100 / vfs.f_blocks);
    if (used < a->cfg->image_gc_percent || img_store_list(a->store, &imgs, &n, &err) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        bool in_use = false;
        for (size_t k = 0; k < a->n_tasks && !in_use; k++) {
            const struct task *t = a->tasks[k];
            if (t->state == AGENT_T_STOPPED)
                continue;
            for (size_t c = 0; c < t->n && !in_use; c++) {
                cleanup_img_image struct img_image *mine = NULL;
                if (img_store_get(a->store, t->c[c].def->image, a->cfg->default_registry, &mine,
                                  NULL) == 0)
                    in_use = strcmp(mine->name, imgs[i]->name) == 0;
            }
        }
        if (!in_use && img_store_remove(a->store, imgs[i]->name, NULL, NULL) == 0)
            cm_log_info("image '%s' removed (disk %u%% used)", imgs[i]->name, used);
    }
    img_image_list_free(imgs, n);
    if (img_store_prune(a->store, NULL, &removed, &err) < 0)
        cm_log_warn("image gc: %s, ignoring", err->msg);
}

/* ---- the loop ---- */

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
    struct agent a = {.cfg = cfg, .sig_fd = -1, .poll_timeout_ms = 20000};
    cleanup_free char *token = NULL;
    cleanup_free char *store = NULL;
    cleanup_free char *tasks = NULL;
    size_t len;
    sigset_t mask;
    int64_t last_expire = 0;
    int r = 0;

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
    store = cfg->image_store ? xstrdup(cfg->image_store) : xasprintf("%s/images", cfg->state_dir);
    if (img_store_open(store, &a.store, err) < 0)
        return -1;
    a.cni_ipam = xasprintf("%s/cni/ipam", cfg->state_dir);
    a.cni_cache = xasprintf("%s/cni/cache", cfg->state_dir);
    a.cni = (struct agent_cni_config){.plugin_dir = cfg->cni_plugin_dir,
                                      .network = "skiff",
                                      .bridge = cfg->bridge,
                                      .subnet = cfg->subnet,
                                      .ipam_dir = a.cni_ipam,
                                      .cache_dir = a.cni_cache};
    agent_port_pool_init(&a.ports, cfg->port_lo, cfg->port_hi, true);
    a.client = agent_client_new(cfg->endpoint, token, cfg->ca_file);

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    a.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    logs_start(&a);

    adopt(&a);
    cm_log_info("agent up: %zu task(s) adopted, endpoint '%s'", a.n_tasks, cfg->endpoint);
    while (!a.quit) {
        cleanup_error struct cm_error *e = NULL;
        struct signalfd_siginfo si;
        int64_t now;

        if (agent_client_wait(a.client, a.sig_fd, TICK_MS, &e) < 0) {
            cm_log_warn("%s", e->msg);
            cm_error_free(&e);
            usleep(TICK_MS * 1000);
        }
        while (a.sig_fd >= 0 && read(a.sig_fd, &si, sizeof si) == sizeof si)
            a.quit = true;
        if (a.quit)
            break;
        now = now_ms();
        poll_step(&a, now);
        for (size_t i = 0; i < a.n_tasks; i++)
            task_tick(&a, a.tasks[i], now);
        send_reports(&a, now);
        if (now - last_expire > 5000) {
            expire(&a);
            image_gc(&a);
            last_expire = now;
        }
    }
    cm_log_info("agent: terminating; containers keep running under their shims");
    for (size_t i = 0; i < a.n_tasks; i++) {
        for (size_t k = 0; k < a.tasks[i]->n; k++)
            if (a.tasks[i]->c[k].hc_pid > 0) {
                kill(a.tasks[i]->c[k].hc_pid, SIGKILL);
                waitpid(a.tasks[i]->c[k].hc_pid, NULL, 0);
            }
        task_free(a.tasks[i]);
    }
    agent_logserve_stop(a.logs);
    free(a.log_secret);
    free(a.tasks);
    free(a.instance_arn);
    free(a.cni_ipam);
    free(a.cni_cache);
    agent_client_free(a.client);
    img_store_free(a.store);
    if (a.sig_fd >= 0)
        close(a.sig_fd);
    return r;
}
