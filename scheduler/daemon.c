/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd's lifetime: state dir, store, credentials, HTTP, the scheduling tick,
 * signals; everything on one cm_loop thread. */
#include "sched/daemon.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/http.h"
#include "cm/log.h"
#include "cm/loop.h"
#include "cm/xalloc.h"
#include "sched/store.h"
#include "skiffd.h"
#include "tls.h"

static void
on_signal(struct cm_loop *loop, int signo, void *userdata)
{
    (void)userdata;
    if (signo == SIGTERM || signo == SIGINT) {
        cm_log_info("signal %d: shutting down", signo);
        cm_loop_quit(loop, 0);
    }
}

/* Forgets STOPPED tasks past the retention (ECS keeps them about an hour). */
static void
gc_stopped(struct sched_daemon *d)
{
    uint64_t now = cm_loop_now_ms();
    uint64_t every = d->stopped_retention_ms / 4 < 60000 ? d->stopped_retention_ms / 4 : 60000;
    if (now - d->last_gc_ms < every && d->last_gc_ms)
        return;
    d->last_gc_ms = now;
    double horizon = sched_now() - (double)d->stopped_retention_ms / 1000.0;
    json_auto_t *old = json_array();
    const char *k;
    json_t *t;
    json_object_foreach (d->tables[SCHED_K_TASK], k, t) {
        if (!strcmp(json_string_value(json_object_get(t, "lastStatus")), "STOPPED") &&
            json_number_value(json_object_get(t, "stoppedAt")) < horizon)
            json_array_append_new(old, json_string(k));
    }
    size_t i;
    json_t *id;
    json_array_foreach (old, i, id) {
        t = sched_get(d, SCHED_K_TASK, json_string_value(id));
        const char *tok = json_string_value(json_object_get(t, "_clientToken"));
        if (tok)
            json_object_del(d->idx_token, tok);
        sched_del(d, SCHED_K_TASK, json_string_value(id));
    }
    if (json_array_size(old) > 0)
        cm_log_debug("forgot %zu stopped tasks", json_array_size(old));
}

static void
run_pass(struct sched_daemon *d)
{
    cleanup_error struct cm_error *err = NULL;
    uint64_t t0 = cm_loop_now_ms();
    d->kick = false;
    gc_stopped(d);
    sched_agent_check(d);
    sched_service_pass(d);
    /* One batch per pass: every placement of the pass becomes durable together. */
    if (sched_flush(d, &err) < 0)
        cm_log_error("scheduling pass: store write failed: %s", err->msg);
    sched_agent_wake(d);
    d->last_pass_ms = cm_loop_now_ms();
    d->last_pass_cost_ms = d->last_pass_ms - t0;
}

static void
on_kick_timer(struct cm_loop *loop, struct cm_loop_source *t, void *userdata)
{
    struct sched_daemon *d = userdata;
    (void)loop;
    (void)t;
    if (d->kick)
        run_pass(d);
}

static void
on_tick(struct cm_loop *loop, struct cm_loop_source *t, void *userdata)
{
    (void)loop;
    (void)t;
    run_pass(userdata);
}

static void
before_sleep(struct cm_loop *loop, void *userdata)
{
    struct sched_daemon *d = userdata;
    (void)loop;
    if (!d->kick)
        return;
    /* Coalesce: a burst of requests (agent reports) shares one pass, and
     * passes never take more than about a third of the time. */
    uint64_t gap = d->last_pass_cost_ms * 2 > 20 ? d->last_pass_cost_ms * 2 : 20;
    uint64_t since = cm_loop_now_ms() - d->last_pass_ms;
    if (since >= gap)
        run_pass(d);
    else
        cm_loop_timer_set(d->kick_timer, gap - since, 0, NULL);
}

struct sched_daemon *
sched_daemon_new(const struct sched_daemon_config *cfg, struct cm_error **err)
{
    struct sched_daemon *d = xcalloc(1, sizeof(*d));
    cleanup_free char *dbpath = NULL;
    cleanup_sched_tls struct sched_tls *tls = NULL;

    d->state_dir = xstrdup(cfg->state_dir);
    d->region = xstrdup(cfg->region ? cfg->region : "us-east-1");
    d->heartbeat_grace_ms = cfg->heartbeat_grace_ms ? cfg->heartbeat_grace_ms : 30000;
    d->task_grace_ms = cfg->task_grace_ms ? cfg->task_grace_ms : 60000;
    d->poll_timeout_ms = cfg->poll_timeout_ms ? cfg->poll_timeout_ms : 20000;
    d->stopped_retention_ms =
        cfg->stopped_retention_ms ? cfg->stopped_retention_ms : 3600ULL * 1000;
    sched_state_init(d);
    /* Before anything is written: a bad certificate leaves no trace. */
    if (cfg->tls_cert || cfg->tls_key) {
        tls = sched_tls_load(cfg->tls_cert, cfg->tls_key, err);
        if (!tls)
            goto fail;
        sched_tls_log(tls, cfg->tls_cert);
    }
    if (cm_mkdir_p(cfg->state_dir, 0700, err) < 0)
        goto fail;
    dbpath = xasprintf("%s/skiffd.db", cfg->state_dir);
    d->store = sched_store_sqlite_open(dbpath, err);
    if (!d->store)
        goto fail;
    if (sched_load(d, err) < 0) {
        cm_error_wrap(err, "loading '%s'", dbpath);
        goto fail;
    }
    sched_index_rebuild(d);
    if (sched_auth_load(d, err) < 0 || sched_auth_join_token_file(d, err) < 0)
        goto fail;
    d->loop = cm_loop_new(err);
    if (!d->loop)
        goto fail;
    if (cm_loop_add_signal(d->loop, SIGTERM, on_signal, d, err) < 0 ||
        cm_loop_add_signal(d->loop, SIGINT, on_signal, d, err) < 0)
        goto fail;
    signal(SIGPIPE, SIG_IGN);
    struct cm_http_config hc = {
        .listen = cfg->listen,
        .max_body = SCHED_MAX_BODY,
        .conn_timeout_s = 120,
        .handler = sched_http_handler,
        .userdata = d,
        .tls_cert_pem = tls ? tls->cert_pem : NULL,
        .tls_key_pem = tls ? tls->key_pem : NULL,
    };
    d->http = cm_http_server_new(d->loop, &hc, err);
    if (!d->http)
        goto fail;
    uint64_t tick = cfg->tick_ms ? cfg->tick_ms : 1000;
    d->tick = cm_loop_add_timer(d->loop, tick, tick, on_tick, d, err);
    if (!d->tick)
        goto fail;
    d->kick_timer = cm_loop_add_timer(d->loop, 0, 0, on_kick_timer, d, err);
    if (!d->kick_timer)
        goto fail;
    cm_loop_add_before_sleep(d->loop, before_sleep, d, NULL);
    d->started_ms = cm_loop_now_ms();
    d->kick = true; /* resume scheduling right after a restart */
    cm_log_info("skiffd listening on %s (state in '%s', %zu tasks loaded)", cfg->listen,
                cfg->state_dir, json_object_size(d->tables[SCHED_K_TASK]));
    return d;
fail:
    sched_daemon_free(d);
    return NULL;
}

int
sched_daemon_run(struct sched_daemon *d)
{
    int r = cm_loop_run(d->loop);
    cleanup_error struct cm_error *err = NULL;
    if (sched_flush(d, &err) < 0) {
        cm_log_error("final store write failed: %s", err->msg);
        return 1;
    }
    return r < 0 ? 1 : r;
}

struct sched_daemon *
sched_daemon_free(struct sched_daemon *d)
{
    if (!d)
        return NULL;
    d->http = cm_http_server_free(d->http);
    sched_agent_free_waiters(d);
    cm_loop_remove(d->tick);
    cm_loop_remove(d->kick_timer);
    d->loop = cm_loop_free(d->loop);
    d->store = sched_store_free(d->store);
    sched_state_done(d);
    free(d->state_dir);
    free(d->region);
    free(d);
    return NULL;
}
