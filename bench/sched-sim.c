/* SPDX-License-Identifier: Apache-2.0 */
/* sched-sim: skiffd's control plane end to end, in process: N simulated hosts
 * (agents behind the same functions the HTTP agent protocol calls), M services
 * x K tasks. Measures placements made durable, failure detection and
 * replacement, a rolling deployment of every service, and a restart from the
 * store (as after kill -9: nothing is flushed at exit); then checks that no
 * task is lost or duplicated and no host is over capacity. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../scheduler/skiffd.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/loop.h"
#include "cm/xalloc.h"
#include "sched/daemon.h"

static unsigned arg_services = 1000, arg_tasks = 1000, arg_hosts = 10000;
static const char *arg_listen = "127.0.0.1:8200";
static double arg_timeout = 600;
static bool arg_keep; /* leave the state directory behind (to time or inspect a load) */

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void
die(const char *what, struct cm_error *err)
{
    fprintf(stderr, "sched-sim: %s: %s\n", what, err ? err->msg : "failed");
    exit(2);
}

static int
call(struct sched_daemon *d, sched_op_fn fn, json_t *in)
{
    struct sched_call c = {.d = d, .op = "sim", .in = in};
    json_auto_t *out = json_object();
    int r = fn(&c, in, out);
    if (r < 0)
        fprintf(stderr, "sched-sim: %s: %s\n", c.err_type, c.err_msg);
    free(c.err_type);
    free(c.err_msg);
    json_decref(in);
    return r;
}

static double store_s; /* time spent in store transactions, for the per-phase split */

static void
flush(struct sched_daemon *d)
{
    cleanup_error struct cm_error *err = NULL;
    double t0 = now_s();
    if (sched_flush(d, &err) < 0)
        die("store", err);
    store_s += now_s() - t0;
}

/* The simulated agents: every live host heartbeats, and reports RUNNING for
 * the tasks it was given (exactly what a report over HTTP does). */
static void
agents(struct sched_daemon *d, json_t *lost)
{
    const char *k;
    json_t *inst;
    uint64_t now = cm_loop_now_ms();
    json_object_foreach (d->tables[SCHED_K_INSTANCE], k, inst) {
        if (json_object_get(lost, k))
            continue;
        json_object_set_new(d->last_seen, k, json_integer((json_int_t)now));
        if (!sched_instance_connected(inst)) {
            json_object_set_new(inst, "agentConnected", json_true());
            sched_touch(d, SCHED_K_INSTANCE, k);
        }
        size_t n = 0;
        cleanup_free uint32_t *hs = sched_tasks_of_instance(d, sched_intern_find(d, k), &n);
        for (size_t i = 0; i < n; i++) {
            struct sched_task_rec *t = sched_task_at(d, hs[i]);
            uint8_t want = (t->flags & SCHED_TF_DESIRED_STOP) ? 7 /* STOPPED */ : 3 /* RUNNING */;
            if (t->last_status == want)
                continue;
            cleanup_free char *arn = sched_task_arn(d, t);
            json_auto_t *r = json_pack("{s:s,s:s}", "taskArn", arn, "lastStatus",
                                       want == 7 ? "STOPPED" : "RUNNING");
            sched_agent_report_task(d, k, r);
        }
    }
}

/* What the daemon's pass does (scheduler/daemon.c run_pass), after the agents' messages. */
static void
pass(struct sched_daemon *d, json_t *lost)
{
    agents(d, lost);
    sched_agent_check(d);
    flush(d);
    sched_service_pass(d);
    flush(d);
}

/* Every service: desired live tasks, all RUNNING, one deployment, on td. */
static bool
settled(struct sched_daemon *d, json_t *lost, const char *td_arn, bool need_running)
{
    const char *k;
    json_t *svc;
    const char *tail = td_arn ? strstr(td_arn, ":task-definition/") : NULL;
    uint32_t td = tail ? sched_intern_find(d, tail + strlen(":task-definition/")) : 0;
    if (td_arn && !td)
        return false;
    json_object_foreach (d->tables[SCHED_K_SERVICE], k, svc) {
        json_int_t want = json_integer_value(json_object_get(svc, "desiredCount"));
        size_t nl = 0, n = 0;
        cleanup_free uint32_t *hs = sched_tasks_of_service(d, sched_intern_find(d, k), &nl);
        for (size_t i = 0; i < nl; i++) {
            const struct sched_task_rec *t = sched_task_at(d, hs[i]);
            if (t->flags & SCHED_TF_DESIRED_STOP)
                continue;
            /* A task on a silent host does not count: it has to be replaced. */
            if (lost && json_object_get(lost, sched_str(d, t->instance)))
                return false;
            if (need_running && t->last_status != 3 /* RUNNING */)
                return false;
            if (td && t->td != td)
                return false;
            n++;
        }
        if ((json_int_t)n != want)
            return false;
        if (td_arn && json_array_size(json_object_get(svc, "deployments")) != 1)
            return false;
    }
    return true;
}

/* Passes until settled; the check follows each pass's commit (the agents' reports of the
 * new tasks come after it). */
static void
run_until(struct sched_daemon *d, json_t *lost, const char *td, bool running, const char *what)
{
    double t0 = now_s();
    while (!settled(d, lost, td, running)) {
        if (now_s() - t0 > arg_timeout) {
            fprintf(stderr, "sched-sim: %s did not finish in %.0f s\n", what, arg_timeout);
            exit(1);
        }
        pass(d, lost);
        if (settled(d, lost, td, running))
            break;
        agents(d, lost);
        flush(d);
    }
}

/* The consistency check: counts, duplicates, capacity, lost hosts. */
static int
consistency(struct sched_daemon *d, json_t *lost, char *msg, size_t len)
{
    const char *k;
    json_t *v;
    cleanup_free int64_t *used_cpu = xcalloc(d->strings.n + 1, sizeof(int64_t));
    cleanup_free int64_t *used_mem = xcalloc(d->strings.n + 1, sizeof(int64_t));
    json_auto_t *seen = json_object();
    for (uint32_t h = 0; h < d->tasks.n; h++) {
        const struct sched_task_rec *t = sched_task_at(d, h);
        if (!(t->flags & SCHED_TF_USED))
            continue;
        char hex[33];
        sched_task_hex(t, hex);
        if (sched_task_find(d, hex) != h) {
            snprintf(msg, len, "task %s is not found by its id (duplicate id?)", hex);
            return -1;
        }
        if (!sched_task_live(t))
            continue;
        const char *iid = sched_str(d, t->instance);
        if (!iid || json_object_get(lost, iid)) {
            snprintf(msg, len, "task %s still live on lost host %s", hex, iid ? iid : "?");
            return -1;
        }
        used_cpu[t->instance] += t->cpu;
        used_mem[t->instance] += t->memory;
    }
    json_object_foreach (d->tables[SCHED_K_INSTANCE], k, v) {
        uint32_t i = sched_intern_find(d, k);
        if (!i)
            continue;
        if (used_cpu[i] > json_integer_value(json_object_get(v, "_cpu")) ||
            used_mem[i] > json_integer_value(json_object_get(v, "_memory"))) {
            snprintf(msg, len, "host %s over capacity", k);
            return -1;
        }
    }
    json_object_foreach (d->tables[SCHED_K_SERVICE], k, v) {
        size_t n = sched_n_tasks_of_service(d, sched_intern_find(d, k));
        if ((json_int_t)n != json_integer_value(json_object_get(v, "desiredCount"))) {
            snprintf(msg, len, "service %s has %zu live tasks, wants %lld", k, n,
                     (long long)json_integer_value(json_object_get(v, "desiredCount")));
            return -1;
        }
    }
    return 0;
}

/* An order-independent digest of every task's identity and state, to show that
 * a restart brings back exactly what was there. */
static uint64_t
digest(struct sched_daemon *d)
{
    uint64_t sum = 0;
    for (uint32_t h = 0; h < d->tasks.n; h++) {
        const struct sched_task_rec *t = sched_task_at(d, h);
        if (!(t->flags & SCHED_TF_USED))
            continue;
        uint64_t x;
        memcpy(&x, t->id, 8);
        x ^= (uint64_t)t->last_status << 56 ^ (uint64_t)(t->flags & SCHED_TF_DESIRED_STOP) << 48 ^
             (uint64_t)t->version << 20;
        const char *iid = sched_str(d, t->instance);
        for (; iid && *iid; iid++)
            x = (x ^ (unsigned char)*iid) * 1099511628211ULL;
        x ^= x >> 31;
        x *= 0x9e3779b97f4a7c15ULL;
        sum += x ^ (x >> 29);
    }
    return sum;
}

/* The daemon does not serve here, but it listens: when the port is taken
 * (another run), try the next few. */
static struct sched_daemon *
start(const char *dir, struct cm_error **err)
{
    const char *colon = strrchr(arg_listen, ':');
    unsigned base = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 8130;
    cleanup_free char *host =
        colon ? xstrndup(arg_listen, (size_t)(colon - arg_listen)) : xstrdup("127.0.0.1");
    for (unsigned i = 0; i < 10; i++) {
        cleanup_free char *listen = xasprintf("%s:%u", host, base + i);
        struct sched_daemon_config cfg = {
            .listen = listen,
            .state_dir = dir,
            .heartbeat_grace_ms = 1000,
            .task_grace_ms = 1000,
            .tick_ms = 3600000,
        };
        struct cm_error *e = NULL;
        struct sched_daemon *d = sched_daemon_new(&cfg, &e);
        if (d)
            return d;
        if (e->code != EADDRINUSE || i == 9) {
            *err = e;
            return NULL;
        }
        cm_error_free(&e);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"services", required_argument, NULL, 's'}, {"tasks", required_argument, NULL, 't'},
        {"hosts", required_argument, NULL, 'H'},    {"listen", required_argument, NULL, 'l'},
        {"timeout", required_argument, NULL, 'T'},  {"keep-state", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "s:t:H:l:T:kh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            arg_services = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            arg_tasks = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'H':
            arg_hosts = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'l':
            arg_listen = optarg;
            break;
        case 'T':
            arg_timeout = strtod(optarg, NULL);
            break;
        case 'k':
            arg_keep = true;
            break;
        case 'h':
            printf("usage: sched-sim [--services M] [--tasks K] [--hosts N] [--listen ADDR] "
                   "[--timeout S] [--keep-state]\n"
                   "  M services x K tasks on N simulated hosts (default 1000 x 1000 on 10000),\n"
                   "  in process behind the agent-protocol functions; prints one figure a line\n"
                   "  and exits 1 when the consistency check fails.\n");
            return 0;
        default:
            return 2;
        }
    }
    if (!arg_services || !arg_tasks || !arg_hosts) {
        fprintf(stderr, "sched-sim: services, tasks and hosts must be positive\n");
        return 2;
    }
    cm_log_set_level(CM_LOG_ERROR);
    setvbuf(stdout, NULL, _IOLBF, 0); /* figures appear as they are measured */
    char dir[] = "/tmp/skiffd-api-sim.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    cleanup_error struct cm_error *err = NULL;
    struct sched_daemon *d = start(dir, &err);
    if (!d)
        die("start", err);

    /* Capacity: each task takes 64 CPU units and 64 MiB; hosts get 2.4x the
     * even share, so that with 10% of them lost a 200% rolling deployment
     * still has room. */
    uint64_t per_host = ((uint64_t)arg_services * arg_tasks + arg_hosts - 1) / arg_hosts;
    int64_t cap = (int64_t)(per_host * 64 * 24 / 10 + 64);
    double setup0 = now_s();
    call(d, sched_op_create_cluster, json_pack("{s:s}", "clusterName", "default"));
    for (int v = 1; v <= 2; v++)
        call(d, sched_op_register_task_definition,
             json_pack("{s:s,s:[{s:s,s:s,s:i,s:i}]}", "family", "sim", "containerDefinitions",
                       "name", "app", "image", v == 1 ? "app:1" : "app:2", "cpu", 64, "memory",
                       64));
    call(d, sched_op_deregister_task_definition, json_pack("{s:s}", "taskDefinition", "sim:2"));
    struct sched_call rc = {.d = d, .op = "sim"};
    for (unsigned h = 0; h < arg_hosts; h++) {
        char host[32];
        snprintf(host, sizeof(host), "sim-host-%u", h);
        json_auto_t *attrs = json_pack("[{s:s,s:s}]", "name", "ecs.availability-zone", "value",
                                       h % 3 == 0   ? "zone-a"
                                       : h % 3 == 1 ? "zone-b"
                                                    : "zone-c");
        sched_instance_register(&rc, "default", host, cap, cap, attrs, NULL, NULL, NULL);
    }
    flush(d);

    printf("setup_s: %.2f s\n", now_s() - setup0);
    double t0 = now_s();
    for (unsigned s = 0; s < arg_services; s++) {
        char name[32];
        snprintf(name, sizeof(name), "svc-%u", s);
        if (call(d, sched_op_create_service,
                 json_pack("{s:s,s:s,s:i}", "serviceName", name, "taskDefinition", "sim:1",
                           "desiredCount", (int)arg_tasks)) < 0)
            return 2;
    }
    flush(d);
    double in_pass = 0, in_store = 0;
    while (!settled(d, NULL, NULL, false)) {
        double p0 = now_s();
        sched_service_pass(d);
        double p1 = now_s();
        flush(d);
        in_pass += p1 - p0;
        in_store += now_s() - p1;
        if (now_s() - t0 > arg_timeout)
            die("placements timed out", NULL);
    }
    double placed = now_s() - t0;
    printf("placements: %llu\n", (unsigned long long)arg_services * arg_tasks);
    printf("placements_durable_s: %.2f s\n", placed);
    /* Where the time went: scheduling passes vs. the store's transactions. */
    printf("placements_pass_s: %.2f s\n", in_pass);
    printf("placements_store_s: %.2f s\n", in_store);
    printf("placements_per_s: %.0f\n", (double)arg_services * arg_tasks / placed);
    run_until(d, NULL, NULL, true, "start");

    /* 10% of the hosts stop heartbeating. */
    json_auto_t *lost = json_object();
    uint64_t now = cm_loop_now_ms();
    const char *k;
    json_t *inst;
    unsigned i = 0;
    json_object_foreach (d->tables[SCHED_K_INSTANCE], k, inst) {
        if (i++ % 10 == 0) {
            json_object_set_new(lost, k, json_true());
            json_object_set_new(d->last_seen, k,
                                json_integer((json_int_t)(now - d->heartbeat_grace_ms - 1)));
        }
    }
    /* Detected: the DISCONNECTED states are durable (the first half of the daemon's pass). */
    t0 = now_s();
    for (;;) {
        agents(d, lost);
        sched_agent_check(d);
        flush(d);
        bool all = true;
        json_object_foreach (lost, k, inst)
            all &= !sched_instance_connected(sched_get(d, SCHED_K_INSTANCE, k));
        if (all)
            break;
        sched_service_pass(d);
        flush(d);
    }
    printf("detect_s: %.2f s\n", now_s() - t0);
    /* The task grace runs out: replace everything that ran there. */
    now = cm_loop_now_ms();
    json_object_foreach (lost, k, inst)
        json_object_set_new(
            d->last_seen, k,
            json_integer((json_int_t)(now - d->heartbeat_grace_ms - d->task_grace_ms - 1)));
    t0 = now_s();
    double st0 = store_s;
    run_until(d, lost, NULL, false, "replacement");
    printf("replace_s: %.2f s\n", now_s() - t0);
    printf("replace_store_s: %.2f s\n", store_s - st0);
    run_until(d, lost, NULL, true, "replacement running");

    /* A rolling deployment of every service. */
    call(d, sched_op_register_task_definition,
         json_pack("{s:s,s:[{s:s,s:s,s:i,s:i}]}", "family", "sim", "containerDefinitions", "name",
                   "app", "image", "app:3", "cpu", 64, "memory", 64));
    t0 = now_s();
    json_t *svc;
    json_object_foreach (d->tables[SCHED_K_SERVICE], k, svc) {
        call(d, sched_op_update_service,
             json_pack("{s:O,s:s}", "service", json_object_get(svc, "serviceName"),
                       "taskDefinition", "sim:3"));
    }
    flush(d);
    cleanup_free char *td3 =
        xasprintf("arn:aws:ecs:us-east-1:%s:task-definition/sim:3", SCHED_ACCOUNT);
    run_until(d, lost, td3, true, "deployment");
    printf("deploy_s: %.2f s\n", now_s() - t0);

    /* Restart as after kill -9: drop the process state, reload the store. */
    size_t tasks_before = d->tasks.count;
    uint64_t digest_before = digest(d);
    char msg[512] = "";
    int bad = consistency(d, lost, msg, sizeof(msg));
    json_auto_t *lost_ids = json_deep_copy(lost);
    sched_daemon_free(d);
    t0 = now_s();
    d = start(dir, &err);
    if (!d)
        die("restart", err);
    double loaded = now_s() - t0;
    sched_service_pass(d);
    flush(d);
    printf("restart_s: %.2f s\n", now_s() - t0);
    printf("restart_load_s: %.2f s\n", loaded);
    if (!bad && d->tasks.count != tasks_before) {
        snprintf(msg, sizeof(msg), "%zu tasks before the restart, %zu after", tasks_before,
                 d->tasks.count);
        bad = -1;
    }
    if (!bad && digest(d) != digest_before) {
        snprintf(msg, sizeof(msg), "the tasks after the restart differ from those before");
        bad = -1;
    }
    if (!bad)
        bad = consistency(d, lost_ids, msg, sizeof(msg));
    printf("rss_max_mib: %.0f MiB\n", rss_mib());
    printf("consistency: %s\n", bad ? msg : "ok");
    sched_daemon_free(d);
    if (arg_keep)
        fprintf(stderr, "sched-sim: state kept in %s\n", dir);
    else
        cm_rm_rf(dir, NULL);
    return bad ? 1 : 0;
}
