/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: skiffd's agent protocol (scheduler/agent.c: register,
 * poll, report, heartbeat; docs/agent-protocol.md), i.e. what a compromised
 * agent host can send to skiffd. The first byte picks the endpoint, the join
 * token and the method; the rest is the request body, in which "$I" stands
 * for the registered instance's ARN and "$T0".."$T3" for the ARNs of tasks
 * placed on it (their ids are random), so that reports hit real tasks; an
 * input may hold up to 16 such requests separated by 0xff (so that sequences
 * such as deregister-then-register meet). The daemon is in memory (a store
 * that keeps nothing, requests faked below), made afresh for each input, with
 * a cluster, a service, a registered instance and tasks on it. Every request
 * must be answered (or suspended, for a poll) exactly once with a JSON
 * object, an error carrying "error"; after each request a scheduling pass
 * runs and the task table's live lists and the hostname index are checked
 * against the tasks and instances, no deregistered (INACTIVE) instance may
 * be connected again, and what agents reported of containers has ECS's types
 * and bounded texts.
 * Run: scripts/fuzz sched_agent [SECONDS]
 * fuzz-sources: scheduler/api.c scheduler/api_clusters.c scheduler/api_instances.c
 * scheduler/api_services.c scheduler/api_tags.c scheduler/api_taskdefs.c scheduler/api_tasks.c
 * scheduler/auth.c scheduler/agent.c scheduler/state.c scheduler/store.c scheduler/tasks.c
 * scheduler/snapshot.c scheduler/service_loop.c scheduler/backoff.c scheduler/deploy.c
 * scheduler/feasible.c scheduler/plan.c scheduler/query.c scheduler/rank.c scheduler/reconcile.c
 * scheduler/select.c scheduler/tasktab.c scheduler/api_logs.c common/error.c common/file.c
 * common/json.c common/log.c common/loop.c common/sigv4.c common/xalloc.c
 * fuzz-pkgs: jansson sqlite3 libcrypto
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../scheduler/skiffd.h"
#include "cm/http.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "sched/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a request, without libmicrohttpd ---- */

struct cm_http_request {
    const char *method, *path, *auth;
    char *body;
    size_t len;
    bool too_large, suspended;
    unsigned answers;
    unsigned status;
    char *answer;
    void *data;
    void (*free_fn)(void *);
};

const char *
cm_http_request_method(const struct cm_http_request *req)
{
    return req->method;
}

const char *
cm_http_request_path(const struct cm_http_request *req)
{
    return req->path;
}

const char *
cm_http_request_header(const struct cm_http_request *req, const char *name)
{
    return strcasecmp(name, "Authorization") == 0 ? req->auth : NULL;
}

const char *
cm_http_request_query(const struct cm_http_request *req, const char *name)
{
    (void)req;
    (void)name;
    return NULL;
}

const char *
cm_http_request_body(const struct cm_http_request *req, size_t *ret_len)
{
    *ret_len = req->len;
    return req->body;
}

bool
cm_http_request_too_large(const struct cm_http_request *req)
{
    return req->too_large;
}

void
cm_http_request_set_data(struct cm_http_request *req, void *data, void (*free_fn)(void *))
{
    req->data = data;
    req->free_fn = free_fn;
}

void *
cm_http_request_get_data(const struct cm_http_request *req)
{
    return req->data;
}

int
cm_http_respond(struct cm_http_request *req, unsigned status, const char *content_type,
                const char *body, size_t len, const char *const *headers)
{
    (void)content_type;
    (void)headers;
    if (req->answers++)
        return -1;
    req->status = status;
    req->answer = strndup(body, len);
    return 0;
}

void
cm_http_suspend(struct cm_http_request *req)
{
    req->suspended = true;
}

/* ---- a store that keeps nothing ---- */

static int
n_ok(struct sched_store *s, struct cm_error **err)
{
    (void)s;
    (void)err;
    return 0;
}

static int
n_put(struct sched_store *s, const char *kind, const char *key, const char *value,
      struct cm_error **err)
{
    (void)kind;
    (void)key;
    (void)value;
    return n_ok(s, err);
}

static int
n_del(struct sched_store *s, const char *kind, const char *key, struct cm_error **err)
{
    (void)kind;
    (void)key;
    return n_ok(s, err);
}

static void
n_rollback(struct sched_store *s)
{
    (void)s;
}

static int
n_load(struct sched_store *s, sched_store_load_fn fn, void *ud, struct cm_error **err)
{
    (void)fn;
    (void)ud;
    return n_ok(s, err);
}

static int
n_task_put(struct sched_store *s, int64_t seq, const void *data, size_t len, struct cm_error **err)
{
    (void)seq;
    (void)data;
    (void)len;
    return n_ok(s, err);
}

static int
n_task_del(struct sched_store *s, int64_t seq, struct cm_error **err)
{
    (void)seq;
    return n_ok(s, err);
}

static int
n_load_tasks(struct sched_store *s, sched_store_task_fn fn, void *ud, struct cm_error **err)
{
    (void)fn;
    (void)ud;
    return n_ok(s, err);
}

static int64_t
n_task_count(struct sched_store *s)
{
    (void)s;
    return 0;
}

static int
n_string_put(struct sched_store *s, int64_t id, const char *text, struct cm_error **err)
{
    (void)id;
    (void)text;
    return n_ok(s, err);
}

static int
n_load_strings(struct sched_store *s, sched_store_string_fn fn, void *ud, struct cm_error **err)
{
    (void)fn;
    (void)ud;
    return n_ok(s, err);
}

static void
n_free(struct sched_store *s)
{
    (void)s;
}

static const struct sched_store_ops null_ops = {
    .name = "null",
    .begin = n_ok,
    .put = n_put,
    .del = n_del,
    .commit = n_ok,
    .rollback = n_rollback,
    .load = n_load,
    .task_put = n_task_put,
    .task_del = n_task_del,
    .load_tasks = n_load_tasks,
    .task_count = n_task_count,
    .string_put = n_string_put,
    .load_strings = n_load_strings,
    .free = n_free,
};
static struct sched_store null_store = {.ops = &null_ops};

/* ---- the daemon ---- */

static struct sched_daemon *d;
static char *inst_arn;
static char *task_arns[4];

static const char *const paths[] = {"/agent/v1/register", "/agent/v1/poll", "/agent/v1/report",
                                    "/agent/v1/heartbeat"};
/* Any cluster, "default" only, another cluster, unknown, none. */
static const char *const tokens[] = {"Bearer any", "Bearer cl-default", "Bearer cl-other",
                                     "Bearer nope", NULL};

/* What an operator does meanwhile (bodies name "$I", "$T0", ...). */
static const sched_op_fn ecs_ops[] = {
    sched_op_deregister_container_instance,
    sched_op_update_container_instances_state,
    sched_op_stop_task,
    sched_op_run_task,
    sched_op_update_service,
    sched_op_delete_service,
    sched_op_register_container_instance,
    sched_op_deregister_task_definition,
    NULL, /* time passes: every agent has been silent for 100 s (disconnected, tasks lost) */
};

/* Runs one request to the end, as the HTTP server would: answered at once, or
 * suspended and answered by a wake-up (poll timeout 0: the next one). */
static void
request(const char *method, const char *path, const char *auth, const char *body, size_t len,
        bool too_large, char **ret_answer)
{
    struct cm_http_request req = {.method = method,
                                  .path = path,
                                  .auth = auth,
                                  .body = xstrndup(body, len),
                                  .len = len,
                                  .too_large = too_large};
    sched_agent_http(d, &req);
    if (req.suspended && !req.answers)
        sched_agent_wake(d);
    if (req.answers != 1) {
        fprintf(stderr, "%s: %u answers (suspended %d)\n", path, req.answers, req.suspended);
        abort();
    }
    json_error_t jerr;
    json_t *ans = json_loads(req.answer, 0, &jerr);
    if (!json_is_object(ans) || ((req.status < 200 || req.status > 299) &&
                                 !json_is_string(json_object_get(ans, "error")))) {
        fprintf(stderr, "%s: HTTP %u with a bad answer: %s\n", path, req.status, req.answer);
        abort();
    }
    json_decref(ans);
    if (req.free_fn)
        req.free_fn(req.data);
    if (ret_answer)
        *ret_answer = req.answer;
    else
        free(req.answer);
    free(req.body);
}

static void
tick(void)
{
    sched_agent_check(d);
    sched_service_pass(d);
    struct cm_error *err = NULL;
    if (sched_flush(d, &err) < 0) {
        fprintf(stderr, "flush: %s\n", err->msg);
        abort();
    }
    sched_agent_wake(d);
}

static void
ecs(sched_op_fn fn, const char *body, json_t **ret_out)
{
    json_t *in = json_loads(body, 0, NULL);
    struct sched_call c = {.d = d, .op = "setup", .in = in};
    json_t *out = json_object();
    if (fn(&c, in, out) < 0) {
        fprintf(stderr, "setup: %s: %s\n", c.err_type, c.err_msg);
        abort();
    }
    if (ret_out)
        *ret_out = out;
    else
        json_decref(out);
    json_decref(in);
    free(c.err_type);
    free(c.err_msg);
}

static void
reset(void)
{
    if (d) {
        sched_agent_free_waiters(d);
        sched_state_done(d);
        free(d->region);
        free(d);
    }
    free(inst_arn);
    inst_arn = NULL;
    for (int i = 0; i < 4; i++) {
        free(task_arns[i]);
        task_arns[i] = NULL;
    }
    d = xcalloc(1, sizeof(*d));
    d->region = xstrdup("us-east-1");
    sched_state_init(d);
    d->store = &null_store;
    d->heartbeat_grace_ms = 30000;
    d->task_grace_ms = 60000;
    d->poll_timeout_ms = 0;
    sched_put(d, SCHED_K_TOKEN, "any", json_pack("{s:n}", "cluster"));
    sched_put(d, SCHED_K_TOKEN, "cl-default", json_pack("{s:s}", "cluster", "default"));
    sched_put(d, SCHED_K_TOKEN, "cl-other", json_pack("{s:s}", "cluster", "other"));
    ecs(sched_op_create_cluster, "{}", NULL);
    ecs(sched_op_create_cluster, "{\"clusterName\":\"other\"}", NULL);
    /* Two containers, one with a health check, a host port: reports reach the
     * health derivation and the bindings. */
    ecs(sched_op_register_task_definition,
        "{\"family\":\"web\",\"containerDefinitions\":[{\"name\":\"web\",\"image\":\"i\","
        "\"memory\":64,\"cpu\":64,\"portMappings\":[{\"containerPort\":80,\"hostPort\":80}],"
        "\"healthCheck\":{\"command\":[\"CMD\",\"true\"]}},{\"name\":\"side\",\"image\":\"i\","
        "\"memory\":32,\"essential\":false}]}",
        NULL);
    static const char reg[] =
        "{\"hostname\":\"host-1\",\"cpu\":4096,\"memory\":4096,\"attributes\":{"
        "\"ecs.availability-zone\":\"zone-a\"},\"reservedPorts\":[22],\"logEndpoint\":{"
        "\"address\":\"127.0.0.1:8250\",\"secret\":\"0123456789abcdef0123456789abcdef\"}}";
    char *ans = NULL;
    request("POST", paths[0], tokens[0], reg, strlen(reg), false, &ans);
    json_t *a = json_loads(ans, 0, NULL);
    free(ans);
    const char *arn = json_string_value(json_object_get(a, "containerInstanceArn"));
    if (!arn)
        abort();
    inst_arn = xstrdup(arn);
    json_decref(a);
    /* Tasks placed on it: two of a service (reports feed its deployment) and a RunTask one. */
    ecs(sched_op_create_service,
        "{\"serviceName\":\"svc\",\"taskDefinition\":\"web\",\"desiredCount\":1}", NULL);
    tick();
    json_t *out = NULL;
    ecs(sched_op_run_task, "{\"taskDefinition\":\"web\",\"count\":3}", &out);
    tick();
    size_t n = 0;
    uint32_t *hs = sched_tasks_of_instance(d, sched_intern_find(d, sched_arn_tail(inst_arn)), &n);
    for (size_t i = 0; i < n && i < 4; i++)
        task_arns[i] = sched_task_arn(d, sched_task_at(d, hs[i]));
    free(hs);
    json_decref(out);
}

/* The body with "$I" and "$T0".."$T3" replaced (malloc'd). */
static char *
expand(const char *in, size_t len, size_t *ret_len)
{
    size_t cap = len + 1, n = 0;
    char *out = xmalloc(cap);
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        size_t skip = 0;
        if (in[i] == '$' && i + 1 < len && in[i + 1] == 'I') {
            rep = inst_arn;
            skip = 1;
        } else if (in[i] == '$' && i + 2 < len && in[i + 1] == 'T' && in[i + 2] >= '0' &&
                   in[i + 2] <= '3') {
            rep = task_arns[in[i + 2] - '0'];
            skip = 2;
        }
        size_t rl = rep ? strlen(rep) : 1;
        if (n + rl + 1 > cap) {
            cap = (n + rl + 1) * 2;
            out = xrealloc(out, cap);
        }
        if (rep) {
            memcpy(out + n, rep, rl);
            i += skip;
        } else {
            out[n] = in[i];
        }
        n += rl;
    }
    out[n] = '\0';
    *ret_len = n;
    return out;
}

/* The live lists agree with the tasks; the hostname index with the instances. */
static void
check(void)
{
    struct sched_tasktab *tt = &d->tasks;
    size_t live = 0;
    for (uint32_t h = 0; h < tt->n; h++) {
        struct sched_task_rec *t = sched_task_at(d, h);
        if (!(t->flags & SCHED_TF_USED))
            continue;
        if (t->last_status > 7 || t->health > SCHED_TH_UNHEALTHY || t->cpu < 0 || t->memory < 0)
            abort();
        /* What agents reported: ECS's types only, bounded texts (scheduler/agent.c). */
        const char *ck;
        json_t *cv;
        json_object_foreach (json_object_get(t->extra, "_containers"), ck, cv) {
            json_t *x = json_object_get(cv, "exitCode");
            if ((x && !json_is_integer(x)) ||
                json_string_length(json_object_get(cv, "reason")) > SCHED_AGENT_TEXT_MAX ||
                (json_object_get(cv, "reason") && !json_is_string(json_object_get(cv, "reason"))) ||
                (json_object_get(cv, "networkBindings") &&
                 !json_is_array(json_object_get(cv, "networkBindings")))) {
                fprintf(stderr, "container '%s' keeps a bad report: %s\n", ck,
                        json_dumps(cv, JSON_COMPACT));
                abort();
            }
        }
        if (json_string_length(json_object_get(t->extra, "stoppedReason")) > 4096)
            abort();
        bool linked = t->flags & SCHED_TF_LINKED;
        if (linked != sched_task_live(t))
            abort();
        if (!linked)
            continue;
        live++;
        if (t->instance &&
            (t->instance >= tt->n_lists || t->inst_pos >= tt->inst_lists[t->instance].n ||
             tt->inst_lists[t->instance].v[t->inst_pos] != h))
            abort();
        if (t->service && (t->service >= tt->n_lists || t->svc_pos >= tt->svc_lists[t->service].n ||
                           tt->svc_lists[t->service].v[t->svc_pos] != h))
            abort();
    }
    size_t listed = 0;
    for (size_t i = 0; i < tt->n_lists; i++)
        listed += tt->inst_lists[i].n;
    size_t placed = 0;
    for (uint32_t h = 0; h < tt->n; h++) {
        struct sched_task_rec *t = sched_task_at(d, h);
        placed += (t->flags & SCHED_TF_LINKED) && t->instance;
    }
    if (listed != placed || live < placed)
        abort();
    const char *k;
    json_t *v;
    json_object_foreach (d->idx_hostname, k, v) {
        json_t *inst = sched_get(d, SCHED_K_INSTANCE, json_string_value(v));
        if (!inst)
            abort();
    }
    json_object_foreach (d->tables[SCHED_K_INSTANCE], k, v) {
        if (!json_is_string(json_object_get(v, "status")) ||
            !json_is_string(json_object_get(v, "_cluster")) ||
            !json_is_integer(json_object_get(v, "_version")) ||
            json_integer_value(json_object_get(v, "_cpu")) <= 0 ||
            json_integer_value(json_object_get(v, "_memory")) <= 0)
            abort();
        /* A deregistered instance stays so: no agent request brings it back to life. */
        if (!strcmp(json_string_value(json_object_get(v, "status")), "INACTIVE") &&
            json_is_true(json_object_get(v, "agentConnected"))) {
            fprintf(stderr, "INACTIVE instance %s is agentConnected\n", k);
            abort();
        }
    }
}

/* One request: its first byte picks what, the rest is its body. */
static void
one(const uint8_t *data, size_t size)
{
    /* bits 0-2: endpoint (4: unknown; 5-7: an ECS operation picked by bits 3-7, so that
     * agents meet deregistered instances, stopped tasks, ...), 3-5: token, 6: GET, 7 with
     * 6: too large. */
    uint8_t sel = data[0];
    size_t len = 0;
    char *body = expand((const char *)data + 1, size - 1, &len);
    if ((sel & 7) >= 5) {
        sched_op_fn fn = ecs_ops[(sel >> 3) % (sizeof(ecs_ops) / sizeof(ecs_ops[0]))];
        json_t *in = fn ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!fn) {
            const char *k;
            json_t *v;
            json_object_foreach (d->last_seen, k, v)
                json_integer_set(v, json_integer_value(v) - 100000);
        } else if (json_is_object(in)) {
            struct sched_call c = {.d = d, .op = "fuzz", .in = in};
            json_t *out = json_object();
            fn(&c, in, out);
            json_decref(out);
            free(c.err_type);
            free(c.err_msg);
        }
        json_decref(in);
    } else {
        const char *path = (sel & 7) < 4 ? paths[sel & 7] : "/agent/v1/nope";
        const char *auth = tokens[((sel >> 3) & 7) % 5];
        bool get = (sel & 0xc0) == 0x40, big = (sel & 0xc0) == 0xc0;
        request(get ? "GET" : "POST", path, auth, body, len, big, NULL);
    }
    free(body);
    tick();
    check();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* A fresh daemon per input: a leak shows in the input that made it, and LeakSanitizer
     * does not rescan a grown state after every input (that made runs 10 times slower). */
    cm_log_set_level(CM_LOG_ERROR);
    reset();
    /* Up to 16 requests in a row, separated by 0xff (never in a JSON text): sequences such
     * as deregister-then-register meet in one input. */
    for (int n = 0; size > 0 && n < 16; n++) {
        const uint8_t *sep = memchr(data, 0xff, size);
        size_t len = sep ? (size_t)(sep - data) : size;
        if (len > 0)
            one(data, len);
        data += len + (sep ? 1 : 0);
        size -= len + (sep ? 1 : 0);
    }
    return 0;
}
