/* SPDX-License-Identifier: Apache-2.0 */
/* The agent protocol (docs/agent-protocol.md): register, long-poll for the
 * full desired state of a host, report task states, heartbeat; and failure
 * detection for agents that go silent. Every message is idempotent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/http.h"
#include "cm/log.h"
#include "cm/loop.h"
#include "cm/xalloc.h"
#include "sched/reconcile.h"
#include "skiffd.h"

#define AGENT_CT "application/json"

struct sched_waiter {
    struct sched_waiter *prev, *next;
    struct sched_daemon *d;
    struct cm_http_request *req;
    char *instance_id;
    json_int_t version;
    uint64_t deadline_ms;
    bool answered;
};

static void
respond(struct cm_http_request *req, unsigned status, json_t *body)
{
    cleanup_free char *text = json_dumps(body, JSON_COMPACT);
    cm_http_respond(req, status, AGENT_CT, text, strlen(text), NULL);
}

static void
respond_err(struct cm_http_request *req, unsigned status, const char *code, const char *msg)
{
    json_auto_t *b = json_pack("{s:s,s:s}", "error", code, "message", msg);
    respond(req, status, b);
}

static void
waiter_unlink(struct sched_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else if (w->d->waiters == w)
        w->d->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

static void
waiter_free(void *p)
{
    struct sched_waiter *w = p;
    waiter_unlink(w);
    free(w->instance_id);
    free(w);
}

/* The full desired state of one host: every task placed there that is meant
 * to run or has not been seen stopped yet. Tasks absent from it must not run. */
static json_t *
desired_state(struct sched_daemon *d, const char *id, json_t *inst)
{
    json_t *tasks = json_array();
    size_t n = 0;
    cleanup_free uint32_t *hs = sched_tasks_of_instance(d, sched_intern_find(d, id), &n);
    for (size_t i = 0; i < n; i++) {
        json_auto_t *view = sched_task_view(d, hs[i], false);
        json_t *td = sched_task_td(d, sched_task_at(d, hs[i]));
        char hex[33];
        sched_task_hex(sched_task_at(d, hs[i]), hex);
        json_t *e = json_pack(
            "{s:O,s:s,s:O,s:O,s:O,s:O,s:O}", "taskArn", json_object_get(view, "taskArn"), "taskId",
            hex, "desiredStatus", json_object_get(view, "desiredStatus"), "lastStatus",
            json_object_get(view, "lastStatus"), "version", json_object_get(view, "version"),
            "overrides", json_object_get(view, "overrides"), "containers",
            json_object_get(view, "containers"));
        json_object_set_new(e, "taskDefinition", td ? sched_public(td) : json_null());
        json_array_append_new(tasks, e);
    }
    return json_pack("{s:O,s:O,s:O,s:O,s:o}", "containerInstanceArn",
                     json_object_get(inst, "containerInstanceArn"), "version",
                     json_object_get(inst, "_version"), "status", json_object_get(inst, "status"),
                     "agentConnected", json_object_get(inst, "agentConnected"), "tasks", tasks);
}

static void
seen(struct sched_daemon *d, const char *id, json_t *inst)
{
    json_object_set_new(d->last_seen, id, json_integer((json_int_t)cm_loop_now_ms()));
    if (!sched_instance_connected(inst) &&
        strcmp(json_string_value(json_object_get(inst, "status")), "INACTIVE") != 0) {
        /* Back after a disconnect: the new desired state tells it which of its
         * tasks were replaced meanwhile (they are absent, so it stops them). */
        json_object_set_new(inst, "agentConnected", json_true());
        sched_touch(d, SCHED_K_INSTANCE, id);
        sched_instance_bump(d, id);
        cm_log_info("container instance '%s' reconnected", id);
        d->kick = true;
    }
}

static const char *
bearer(struct cm_http_request *req)
{
    const char *a = cm_http_request_header(req, "Authorization");
    if (!a || strncmp(a, "Bearer ", 7) != 0)
        return NULL;
    return a + 7;
}

static json_t *
agent_instance(struct sched_daemon *d, struct cm_http_request *req, json_t *in,
               const char *token_cluster, const char **ret_id)
{
    const char *ref = json_string_value(json_object_get(in, "containerInstanceArn"));
    json_t *inst = ref ? sched_instance_get(d, NULL, ref, ret_id) : NULL;
    if (!inst || !strcmp(json_string_value(json_object_get(inst, "status")), "INACTIVE")) {
        respond_err(req, 404, "UnknownInstance",
                    "container instance not registered (or deregistered): register again");
        return NULL;
    }
    if (*token_cluster &&
        strcmp(token_cluster, json_string_value(json_object_get(inst, "_cluster"))) != 0) {
        respond_err(req, 403, "AccessDenied", "join token is not valid for this cluster");
        return NULL;
    }
    return inst;
}

static void
do_register(struct sched_daemon *d, struct cm_http_request *req, json_t *in,
            const char *token_cluster)
{
    const char *cluster = json_string_value(json_object_get(in, "cluster"));
    const char *host = json_string_value(json_object_get(in, "hostname"));
    json_t *cpu = json_object_get(in, "cpu"), *mem = json_object_get(in, "memory");
    if (!cluster)
        cluster = *token_cluster ? token_cluster : "default";
    if (*token_cluster && strcmp(cluster, token_cluster) != 0) {
        respond_err(req, 403, "AccessDenied", "join token is not valid for this cluster");
        return;
    }
    if (!host || !*host || strlen(host) > 255 || !json_is_integer(cpu) || !json_is_integer(mem) ||
        json_integer_value(cpu) <= 0 || json_integer_value(mem) <= 0 ||
        json_integer_value(cpu) > (1 << 24) || json_integer_value(mem) > (1 << 26)) {
        respond_err(req, 400, "BadRequest",
                    "register needs hostname (string), cpu and memory (positive integers)");
        return;
    }
    json_t *cl = sched_get(d, SCHED_K_CLUSTER, cluster);
    if (!cl || strcmp(json_string_value(json_object_get(cl, "status")), "ACTIVE") != 0) {
        respond_err(req, 404, "ClusterNotFound", "cluster not found");
        return;
    }
    json_auto_t *attrs = json_array();
    json_t *ain = json_object_get(in, "attributes");
    const char *k;
    json_t *v;
    json_object_foreach (ain, k, v) {
        if (json_array_size(attrs) >= 100)
            break;
        json_array_append_new(attrs,
                              json_pack("{s:s,s:s?}", "name", k, "value", json_string_value(v)));
    }
    json_auto_t *ports = json_array();
    size_t i;
    json_array_foreach (json_object_get(in, "reservedPorts"), i, v) {
        if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 65536)
            json_array_append_new(
                ports, json_integer(SCHED_PORT_KEY(SCHED_PROTO_TCP, json_integer_value(v))));
    }
    cleanup_free char *region =
        sched_region_of(d, json_string_value(json_object_get(cl, "clusterArn")));
    struct sched_call c = {.d = d, .op = "agent.register", .region = region};
    json_t *inst = sched_instance_register(
        &c, cluster, host, json_integer_value(cpu), json_integer_value(mem), attrs, ports,
        json_string_value(json_object_get(in, "containerInstanceArn")), NULL);
    free(c.err_type);
    free(c.err_msg);
    if (inst)
        sched_logs_register(d, inst, json_object_get(in, "logEndpoint"));
    cleanup_error struct cm_error *err = NULL;
    if (sched_flush(d, &err) < 0) {
        respond_err(req, 500, "StoreFailed", err->msg);
        return;
    }
    cm_log_info("agent '%s' registered as '%s' in cluster '%s'", host,
                json_string_value(json_object_get(inst, "_id")), cluster);
    json_auto_t *out = json_pack("{s:O,s:O,s:s,s:O,s:I,s:I}", "containerInstanceArn",
                                 json_object_get(inst, "containerInstanceArn"),
                                 "containerInstanceId", json_object_get(inst, "_id"), "cluster",
                                 cluster, "version", json_object_get(inst, "_version"),
                                 "heartbeatGraceMs", (json_int_t)d->heartbeat_grace_ms,
                                 "pollTimeoutMs", (json_int_t)d->poll_timeout_ms);
    respond(req, 200, out);
}

static void
do_poll(struct sched_daemon *d, struct cm_http_request *req, json_t *in, const char *token_cluster)
{
    const char *id = NULL;
    json_t *inst = agent_instance(d, req, in, token_cluster, &id);
    if (!inst)
        return;
    seen(d, id, inst);
    json_t *ver = json_object_get(in, "version");
    json_int_t cur = json_integer_value(json_object_get(inst, "_version"));
    if (!json_is_integer(ver) || json_integer_value(ver) != cur) {
        json_auto_t *out = desired_state(d, id, inst);
        respond(req, 200, out);
        return;
    }
    struct sched_waiter *w = xcalloc(1, sizeof(*w));
    w->d = d;
    w->req = req;
    w->instance_id = xstrdup(id);
    w->version = cur;
    json_t *wait = json_object_get(in, "waitMs");
    uint64_t wait_ms = d->poll_timeout_ms;
    if (json_is_integer(wait) && json_integer_value(wait) >= 0 &&
        (uint64_t)json_integer_value(wait) < wait_ms)
        wait_ms = (uint64_t)json_integer_value(wait);
    w->deadline_ms = cm_loop_now_ms() + wait_ms;
    w->next = d->waiters;
    if (w->next)
        w->next->prev = w;
    d->waiters = w;
    cm_http_request_set_data(req, w, waiter_free);
    cm_http_suspend(req);
}

/* An agent's text cut to max bytes (at a character boundary, so that it stays UTF-8), as a
 * new reference; NULL when it is not a string. */
static json_t *
bounded_str(json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!s)
        return NULL;
    if (n <= max)
        return json_incref(v);
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return json_stringn(s, max);
}

static json_t *
port_or_null(json_t *v)
{
    json_int_t p = json_integer_value(v);
    return json_is_integer(v) && p >= 0 && p <= 65535 ? json_integer(p) : NULL;
}

/* What a report may set of a container: ECS's types, bounded sizes and known members
 * only, since every ECS client (and the agents' desired state) reads them back; NULL drops
 * the value. A compromised host must not be able to store arbitrary JSON in its tasks. */
static json_t *
report_field(const char *key, json_t *v)
{
    if (!strcmp(key, "exitCode")) {
        json_int_t c = json_integer_value(v);
        return json_is_integer(v) && c >= INT32_MIN && c <= INT32_MAX ? json_integer(c) : NULL;
    }
    if (!strcmp(key, "reason"))
        return bounded_str(v, SCHED_AGENT_TEXT_MAX);
    if (!strcmp(key, "runtimeId") || !strcmp(key, "imageDigest"))
        return json_string_length(v) <= 256 ? bounded_str(v, 256) : NULL;
    if (!strcmp(key, "healthStatus")) {
        const char *h = json_string_value(v);
        return h && (!strcmp(h, "HEALTHY") || !strcmp(h, "UNHEALTHY") || !strcmp(h, "UNKNOWN"))
                   ? json_incref(v)
                   : NULL;
    }
    /* networkBindings */
    if (!json_is_array(v))
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *b;
    json_array_foreach (v, i, b) {
        if (json_array_size(out) >= 128)
            break;
        const char *proto = json_string_value(json_object_get(b, "protocol"));
        json_t *cp = port_or_null(json_object_get(b, "containerPort"));
        json_t *hp = port_or_null(json_object_get(b, "hostPort"));
        json_t *ip = json_string_length(json_object_get(b, "bindIP")) <= 64
                         ? bounded_str(json_object_get(b, "bindIP"), 64)
                         : NULL;
        if (!cp || !hp || !ip || !proto || (strcmp(proto, "tcp") && strcmp(proto, "udp"))) {
            json_decref(cp);
            json_decref(hp);
            json_decref(ip);
            continue;
        }
        json_array_append_new(out, json_pack("{s:o,s:o,s:o,s:s}", "bindIP", ip, "containerPort", cp,
                                             "hostPort", hp, "protocol", proto));
    }
    return out;
}

/* Records what a host says about one task; only forward moves count. */
void
sched_agent_report_task(struct sched_daemon *d, const char *iid, json_t *r)
{
    const char *arn = json_string_value(json_object_get(r, "taskArn"));
    const char *st = json_string_value(json_object_get(r, "lastStatus"));
    int rank = sched_status_rank(st);
    if (!arn || !st || rank < 0)
        return;
    uint32_t h = sched_task_find(d, sched_arn_tail(arn));
    if (h == SCHED_NO_TASK)
        return;
    struct sched_task_rec *t = sched_task_at(d, h);
    const char *inst = sched_str(d, t->instance);
    if (!inst || strcmp(inst, iid) != 0 || !sched_task_live(t))
        return;
    int64_t now = sched_now_ms();
    bool changed = false;
    /* Container details (exit codes, bindings) from any report of a live task. */
    size_t i;
    json_t *rc;
    json_t *td = sched_task_td(d, t);
    json_array_foreach (json_object_get(r, "containers"), i, rc) {
        const char *name = json_string_value(json_object_get(rc, "name"));
        size_t j;
        json_t *cd;
        bool known = false;
        json_array_foreach (json_object_get(td, "containerDefinitions"), j, cd)
            known |= name && !strcmp(name, json_string_value(json_object_get(cd, "name")));
        if (!known)
            continue;
        json_t *all = json_object_get(sched_task_extra(t), "_containers");
        if (!all) {
            all = json_object();
            json_object_set_new(t->extra, "_containers", all);
        }
        json_t *tc = json_object_get(all, name);
        if (!tc) {
            tc = json_object();
            json_object_set_new(all, name, tc);
        }
        static const char *const keys[] = {
            "exitCode",     "reason",      "runtimeId", "networkBindings",
            "healthStatus", "imageDigest", NULL};
        for (int x = 0; keys[x]; x++) {
            json_t *val = json_object_get(rc, keys[x]);
            json_t *ok = val ? report_field(keys[x], val) : NULL;
            if (ok)
                json_object_set_new(tc, keys[x], ok);
        }
        const char *cst = json_string_value(json_object_get(rc, "lastStatus"));
        if (cst && (!strcmp(cst, "PENDING") || !strcmp(cst, "RUNNING") || !strcmp(cst, "STOPPED")))
            json_object_set_new(tc, "lastStatus", json_string(cst));
        changed = true;
    }
    /* The task's health is derived here, from the containers' (the agent's own task-level
     * value is not trusted); a change wants a pass so that UNHEALTHY tasks get replaced. */
    if (changed) {
        json_auto_t *reported = sched_task_reported_containers(t);
        const char *health = sched_task_health(td, reported);
        uint8_t hv = !strcmp(health, "HEALTHY")     ? SCHED_TH_HEALTHY
                     : !strcmp(health, "UNHEALTHY") ? SCHED_TH_UNHEALTHY
                                                    : SCHED_TH_UNKNOWN;
        if (hv != t->health) {
            t->health = hv;
            d->kick = true;
        }
        sched_task_changed(d, h);
    }
    if (rank <= t->last_status)
        return;
    if (rank == 7) { /* STOPPED */
        bool was_desired = !(t->flags & SCHED_TF_DESIRED_STOP);
        bool ever = t->flags & SCHED_TF_EVER_RUNNING;
        json_auto_t *reason_j =
            bounded_str(json_object_get(r, "stoppedReason"), SCHED_AGENT_TEXT_MAX);
        const char *reason = json_string_value(reason_j);
        if (was_desired && !ever) {
            /* Failed to start: feeds the circuit breaker and the launch back-off. */
            const char *skey = sched_str(d, t->service);
            json_t *svc = skey ? sched_get(d, SCHED_K_SERVICE, skey) : NULL;
            const char *dep = sched_str(d, t->deployment);
            json_t *dd;
            json_array_foreach (json_object_get(svc, "deployments"), i, dd) {
                if (dep && !strcmp(json_string_value(json_object_get(dd, "id")), dep))
                    json_object_set_new(
                        dd, "failedTasks",
                        json_integer(json_integer_value(json_object_get(dd, "failedTasks")) + 1));
            }
            if (svc) {
                json_object_set_new(
                    svc, "_startFailures",
                    json_integer(json_integer_value(json_object_get(svc, "_startFailures")) + 1));
                json_object_set_new(svc, "_lastStartFailureAt", json_integer((json_int_t)now));
                sched_touch(d, SCHED_K_SERVICE, skey);
            }
        }
        sched_task_set_stopped(d, h,
                               !was_desired ? NULL
                               : ever       ? "EssentialContainerExited"
                                            : "TaskFailedToStart",
                               reason        ? reason
                               : was_desired ? "Essential container in task exited"
                                             : NULL);
        return;
    }
    t->last_status = (uint8_t)rank;
    t->version++;
    if (rank >= 1 /* PENDING */ && !t->pull_started_ms)
        t->pull_started_ms = now;
    if (rank == 3 /* RUNNING */) {
        if (!t->pull_stopped_ms)
            t->pull_stopped_ms = now;
        t->started_ms = now;
        t->flags |= SCHED_TF_CONNECTIVITY | SCHED_TF_EVER_RUNNING;
        t->connectivity_ms = now;
        const char *skey = sched_str(d, t->service);
        json_t *svc = skey ? sched_get(d, SCHED_K_SERVICE, skey) : NULL;
        if (svc && json_integer_value(json_object_get(svc, "_startFailures"))) {
            json_object_set_new(svc, "_startFailures", json_integer(0));
            sched_touch(d, SCHED_K_SERVICE, skey);
        }
    }
    sched_task_changed(d, h);
    d->kick = true;
}

static void
do_report(struct sched_daemon *d, struct cm_http_request *req, json_t *in,
          const char *token_cluster)
{
    const char *id = NULL;
    json_t *inst = agent_instance(d, req, in, token_cluster, &id);
    if (!inst)
        return;
    seen(d, id, inst);
    json_t *tasks = json_object_get(in, "tasks");
    if (json_array_size(tasks) > 10000) {
        respond_err(req, 400, "BadRequest", "at most 10000 tasks per report");
        return;
    }
    size_t i;
    json_t *r;
    json_array_foreach (tasks, i, r)
        if (json_is_object(r))
            sched_agent_report_task(d, id, r);
    cleanup_error struct cm_error *err = NULL;
    if (sched_flush(d, &err) < 0) {
        respond_err(req, 500, "StoreFailed", err->msg);
        return;
    }
    json_auto_t *out = json_pack("{s:I,s:O}", "accepted", (json_int_t)json_array_size(tasks),
                                 "version", json_object_get(inst, "_version"));
    respond(req, 200, out);
}

void
sched_agent_http(struct sched_daemon *d, struct cm_http_request *req)
{
    const char *path = cm_http_request_path(req);
    size_t len = 0;
    const char *body = cm_http_request_body(req, &len);

    if (cm_http_request_too_large(req)) {
        respond_err(req, 413, "TooLarge", "request body too large");
        return;
    }
    if (strcmp(cm_http_request_method(req), "POST") != 0) {
        respond_err(req, 405, "MethodNotAllowed", "use POST");
        return;
    }
    const char *token_cluster = sched_join_token_check(d, bearer(req));
    if (!token_cluster) {
        respond_err(req, 401, "Unauthorized", "missing or unknown join token");
        return;
    }
    json_error_t jerr;
    json_auto_t *in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!in || !json_is_object(in)) {
        respond_err(req, 400, "BadRequest", in ? "body must be a JSON object" : jerr.text);
        return;
    }
    if (!strcmp(path, "/agent/v1/register")) {
        do_register(d, req, in, token_cluster);
    } else if (!strcmp(path, "/agent/v1/poll")) {
        do_poll(d, req, in, token_cluster);
    } else if (!strcmp(path, "/agent/v1/report")) {
        do_report(d, req, in, token_cluster);
    } else if (!strcmp(path, "/agent/v1/heartbeat")) {
        const char *id = NULL;
        json_t *inst = agent_instance(d, req, in, token_cluster, &id);
        if (!inst)
            return;
        seen(d, id, inst);
        json_auto_t *out = json_pack("{s:O}", "version", json_object_get(inst, "_version"));
        respond(req, 200, out);
    } else {
        respond_err(req, 404, "NotFound", "unknown agent endpoint");
    }
}

void
sched_agent_wake(struct sched_daemon *d)
{
    uint64_t now = cm_loop_now_ms();
    for (struct sched_waiter *w = d->waiters; w; w = w->next) {
        if (w->answered)
            continue;
        json_t *inst = sched_get(d, SCHED_K_INSTANCE, w->instance_id);
        json_int_t cur = inst ? json_integer_value(json_object_get(inst, "_version")) : -1;
        if (cur == w->version && now < w->deadline_ms)
            continue;
        w->answered = true;
        cm_log_debug("answering long poll of '%s' (version %lld)", w->instance_id, (long long)cur);
        if (!inst) {
            respond_err(w->req, 404, "UnknownInstance", "container instance not registered");
            continue;
        }
        json_auto_t *out = desired_state(d, w->instance_id, inst);
        respond(w->req, 200, out);
    }
}

void
sched_agent_check(struct sched_daemon *d)
{
    uint64_t now = cm_loop_now_ms();
    const char *k;
    json_t *inst;
    json_object_foreach (d->tables[SCHED_K_INSTANCE], k, inst) {
        if (!strcmp(json_string_value(json_object_get(inst, "status")), "INACTIVE"))
            continue;
        json_t *ls = json_object_get(d->last_seen, k);
        if (!ls) {
            /* Just (re)started: every agent gets a full grace period. */
            json_object_set_new(d->last_seen, k, json_integer((json_int_t)now));
            continue;
        }
        uint64_t silent = now - (uint64_t)json_integer_value(ls);
        if (sched_instance_connected(inst) && silent > d->heartbeat_grace_ms) {
            json_object_set_new(inst, "agentConnected", json_false());
            sched_touch(d, SCHED_K_INSTANCE, k);
            cm_log_warn("container instance '%s' missed its heartbeats for %llu ms: "
                        "DISCONNECTED",
                        k, (unsigned long long)silent);
            d->kick = true;
        }
        if (!sched_instance_connected(inst) && silent > d->heartbeat_grace_ms + d->task_grace_ms) {
            size_t n = 0;
            cleanup_free uint32_t *hs = sched_tasks_of_instance(d, sched_intern_find(d, k), &n);
            cleanup_free char *why = n ? sched_stop_reason(SCHED_STOP_INSTANCE_LOST, NULL) : NULL;
            for (size_t i = 0; i < n; i++)
                sched_task_set_stopped(d, hs[i], "ServiceSchedulerInitiated", why);
        }
    }
}

void
sched_agent_free_waiters(struct sched_daemon *d)
{
    while (d->waiters)
        waiter_free(d->waiters);
}
