/* SPDX-License-Identifier: Apache-2.0 */
/* Pure decision functions of the agent: reconcile, dependency gates, exit
 * reporting, health-check bookkeeping. */
#include "agent/state.h"

#include <errno.h>
#include <string.h>

#include "cm/xalloc.h"

bool
agent_valid_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

bool
agent_task_ident_ok(const char *arn, const char *id)
{
    return arn && strlen(arn) <= 2048 && agent_valid_id(id);
}

int
agent_desired_parse(json_t *ans, size_t max, struct agent_desired_task **ret, size_t *ret_n)
{
    json_t *tasks = json_object_get(ans, "tasks");
    size_t nd = json_array_size(tasks);
    struct agent_desired_task *d;

    *ret = NULL;
    *ret_n = 0;
    if (!json_is_array(tasks) || nd > max)
        return -1;
    d = xcalloc(nd + 1, sizeof *d);
    for (size_t i = 0; i < nd; i++) {
        json_t *tj = json_array_get(tasks, i);
        const char *arn = json_string_value(json_object_get(tj, "taskArn"));
        const char *ds = json_string_value(json_object_get(tj, "desiredStatus"));
        d[i] = (struct agent_desired_task){arn ? arn : "", ds && strcmp(ds, "RUNNING") == 0};
    }
    *ret = d;
    *ret_n = nd;
    return 0;
}

int
agent_register_answer(json_t *ans, const char **ret_arn, long *ret_poll_ms, struct cm_error **err)
{
    const char *arn = json_string_value(json_object_get(ans, "containerInstanceArn"));
    json_int_t poll_ms = json_integer_value(json_object_get(ans, "pollTimeoutMs"));

    if (!arn || strlen(arn) > 2048)
        return cm_error_set(err, EIO, "register: no containerInstanceArn in the answer");
    *ret_arn = arn;
    *ret_poll_ms = poll_ms > 0 && poll_ms < 600000 ? (long)poll_ms : 20000;
    return 0;
}

size_t
agent_reconcile(const struct agent_desired_task *desired, size_t n_desired,
                const struct agent_local_task *local, size_t n_local, struct agent_action *out)
{
    size_t n = 0;

    for (size_t i = 0; i < n_desired; i++) {
        bool known = false;
        for (size_t k = 0; k < n_local && !known; k++)
            known = strcmp(local[k].arn, desired[i].arn) == 0;
        /* Also once: the same task listed twice is acted on once. */
        for (size_t k = 0; k < i && !known; k++)
            known = strcmp(desired[k].arn, desired[i].arn) == 0;
        if (!known)
            out[n++] =
                (struct agent_action){desired[i].run ? AGENT_ACT_START : AGENT_ACT_REPORT_STOPPED,
                                      i, desired[i].run ? NULL : "Task stopped before it started"};
    }
    for (size_t k = 0; k < n_local; k++) {
        const struct agent_desired_task *d = NULL;
        if (local[k].stopped || local[k].stopping)
            continue;
        for (size_t i = 0; i < n_desired && !d; i++)
            if (strcmp(local[k].arn, desired[i].arn) == 0)
                d = &desired[i];
        if (!d)
            out[n++] = (struct agent_action){AGENT_ACT_STOP, k,
                                             "Task no longer assigned to this container instance"};
        else if (!d->run)
            out[n++] = (struct agent_action){AGENT_ACT_STOP, k, "Task stopped by the scheduler"};
    }
    return n;
}

const char *
agent_cstate_name(enum agent_cstate s)
{
    switch (s) {
    case AGENT_C_PENDING:
        return "PENDING";
    case AGENT_C_RUNNING:
        return "RUNNING";
    case AGENT_C_STOPPED:
        return "STOPPED";
    }
    return "?";
}

const char *
agent_health_name(enum agent_health h)
{
    switch (h) {
    case AGENT_HEALTH_UNKNOWN:
        return "UNKNOWN";
    case AGENT_HEALTH_HEALTHY:
        return "HEALTHY";
    case AGENT_HEALTH_UNHEALTHY:
        return "UNHEALTHY";
    }
    return "?";
}

const char *
agent_tstate_name(enum agent_tstate s)
{
    switch (s) {
    case AGENT_T_PENDING:
        return "PENDING";
    case AGENT_T_RUNNING:
        return "RUNNING";
    case AGENT_T_STOPPING:
        return "STOPPING";
    case AGENT_T_STOPPED:
        return "STOPPED";
    }
    return "?";
}

static const struct agent_cview *
find_view(const struct agent_cview *views, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(views[i].name, name) == 0)
            return &views[i];
    return NULL;
}

enum agent_gate
agent_deps_gate(const struct agent_container_def *def, const struct agent_cview *views, size_t n,
                const char **ret_blocker)
{
    enum agent_gate gate = AGENT_GATE_READY;

    for (size_t i = 0; i < def->n_depends_on; i++) {
        const struct agent_depends_on *d = &def->depends_on[i];
        const struct agent_cview *v = find_view(views, n, d->container);
        enum agent_gate g = AGENT_GATE_WAIT;

        if (!v) {
            g = AGENT_GATE_NEVER;
        } else {
            switch (d->condition) {
            case AGENT_DEP_START:
                g = v->state != AGENT_C_PENDING ? AGENT_GATE_READY : AGENT_GATE_WAIT;
                break;
            case AGENT_DEP_COMPLETE:
                g = v->state == AGENT_C_STOPPED ? AGENT_GATE_READY : AGENT_GATE_WAIT;
                break;
            case AGENT_DEP_SUCCESS:
                if (v->state == AGENT_C_STOPPED)
                    g = v->exit_code == 0 ? AGENT_GATE_READY : AGENT_GATE_NEVER;
                break;
            case AGENT_DEP_HEALTHY:
                if (v->health == AGENT_HEALTH_HEALTHY && v->state == AGENT_C_RUNNING)
                    g = AGENT_GATE_READY;
                else if (v->state == AGENT_C_STOPPED)
                    g = AGENT_GATE_NEVER;
                break;
            }
        }
        if (g == AGENT_GATE_NEVER) {
            if (ret_blocker)
                *ret_blocker = d->container;
            return AGENT_GATE_NEVER;
        }
        if (g == AGENT_GATE_WAIT && gate == AGENT_GATE_READY) {
            gate = AGENT_GATE_WAIT;
            if (ret_blocker)
                *ret_blocker = d->container;
        }
    }
    return gate;
}

void
agent_exit_report(const struct agent_exit_record *rec, bool lost, int *ret_code, bool *ret_has_code,
                  const char **ret_reason)
{
    if (lost || !rec) {
        *ret_has_code = false;
        *ret_code = 0;
        *ret_reason = "Container lost: its monitor process is gone";
        return;
    }
    *ret_has_code = true;
    if (rec->oom_killed) {
        /* ECS reports the kill, whatever the init's own status said. */
        *ret_code = 137;
        *ret_reason = AGENT_OOM_REASON;
        return;
    }
    *ret_code = rec->exit_code;
    *ret_reason = NULL;
}

bool
agent_health_due(const struct agent_health_check *hc, const struct agent_health_state *st,
                 int64_t now_ms)
{
    if (!hc->present)
        return false;
    if (st->last_run_ms == 0)
        return true;
    return now_ms - st->last_run_ms >= (int64_t)hc->interval * 1000;
}

void
agent_health_record(const struct agent_health_check *hc, struct agent_health_state *st, bool passed,
                    int64_t now_ms)
{
    bool in_start_period = now_ms - st->started_ms < (int64_t)hc->start_period * 1000;

    if (passed) {
        st->failures = 0;
        st->status = AGENT_HEALTH_HEALTHY;
        return;
    }
    if (in_start_period && st->status != AGENT_HEALTH_HEALTHY)
        return;
    st->failures++;
    if (st->failures >= hc->retries)
        st->status = AGENT_HEALTH_UNHEALTHY;
}

enum agent_health
agent_task_health(const struct agent_task_def *t, const struct agent_cview *views)
{
    bool any = false, all_healthy = true;

    for (size_t i = 0; i < t->n_containers; i++) {
        const struct agent_container_def *c = &t->containers[i];
        if (!c->essential || !c->health.present)
            continue;
        any = true;
        if (views[i].health == AGENT_HEALTH_UNHEALTHY)
            return AGENT_HEALTH_UNHEALTHY;
        if (views[i].health != AGENT_HEALTH_HEALTHY)
            all_healthy = false;
    }
    return any && all_healthy ? AGENT_HEALTH_HEALTHY : AGENT_HEALTH_UNKNOWN;
}
