/* SPDX-License-Identifier: Apache-2.0 */
/* ECS task definitions -> plain structs for the agent (hostile input: limits,
 * types and ranges checked, errors name the field). */
#include "agent/taskdef.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cm/cleanup.h"
#include "cm/json.h"
#include "cm/xalloc.h"

static const struct {
    const char *name;
    int resource;
} ulimit_names[] = {
    {"core", RLIMIT_CORE},         {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},         {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
    {"rss", RLIMIT_RSS},           {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
};

static const char *const dep_names[] = {
    [AGENT_DEP_START] = "START",
    [AGENT_DEP_COMPLETE] = "COMPLETE",
    [AGENT_DEP_SUCCESS] = "SUCCESS",
    [AGENT_DEP_HEALTHY] = "HEALTHY",
};

int
agent_ulimit_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof ulimit_names / sizeof *ulimit_names; i++)
        if (strcmp(name, ulimit_names[i].name) == 0)
            return ulimit_names[i].resource;
    return -1;
}

const char *
agent_dep_condition_name(enum agent_dep_condition c)
{
    return (size_t)c < sizeof dep_names / sizeof *dep_names ? dep_names[c] : "?";
}

static void
container_done(struct agent_container_def *c)
{
    free(c->name);
    free(c->image);
    cm_strv_free(c->command);
    cm_strv_free(c->entry_point);
    cm_strv_free(c->environment);
    free(c->working_directory);
    free(c->user);
    free(c->ulimits);
    cm_strv_free(c->cap_add);
    cm_strv_free(c->cap_drop);
    free(c->port_mappings);
    cm_strv_free(c->health.command);
    for (size_t i = 0; i < c->n_depends_on; i++)
        free(c->depends_on[i].container);
    free(c->depends_on);
}

void
agent_task_def_free(struct agent_task_def *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_containers; i++)
        container_done(&t->containers[i]);
    free(t->containers);
    free(t->family);
    free(t);
}

const struct agent_container_def *
agent_task_def_container(const struct agent_task_def *t, const char *name)
{
    for (size_t i = 0; i < t->n_containers; i++)
        if (strcmp(t->containers[i].name, name) == 0)
            return &t->containers[i];
    return NULL;
}

static bool
valid_container_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= AGENT_MAX_NAME &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* ECS numbers in a JSON body may come as strings ("cpu": "256" in task-level
 * fields); accept both for the task-level cpu/memory. */
static int
get_units(json_t *obj, const char *path, const char *key, uint64_t max, uint64_t *ret,
          struct cm_error **err)
{
    json_t *v = json_object_get(obj, key);
    char *end;
    unsigned long long n;

    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v))
        return cm_json_get_uint64(obj, path, key, false, max, ret, err);
    if (!json_is_string(v))
        return cm_error_set(err, 0, "%s.%s: expected a number", path, key);
    errno = 0;
    n = strtoull(json_string_value(v), &end, 10);
    if (errno || *end || end == json_string_value(v) || json_string_value(v)[0] == '-' || n > max)
        return cm_error_set(err, 0, "%s.%s: '%s' is not a number up to %llu", path, key,
                            json_string_value(v), (unsigned long long)max);
    *ret = n;
    return 0;
}

static int
parse_env(json_t *c, const char *path, char ***ret, struct cm_error **err)
{
    json_t *arr = NULL, *e;
    size_t i;
    char **env;

    if (cm_json_get_array(c, path, "environment", false, &arr, err) < 0)
        return -1;
    if (json_array_size(arr) > AGENT_MAX_ENV)
        return cm_error_set(err, 0, "%s.environment: more than %d entries", path, AGENT_MAX_ENV);
    env = xcalloc(json_array_size(arr) + 1, sizeof *env);
    json_array_foreach (arr, i, e) {
        cleanup_free char *p = xasprintf("%s.environment[%zu]", path, i);
        const char *name = NULL, *value = "";
        if (!json_is_object(e) || cm_json_get_string(e, p, "name", true, &name, err) < 0 ||
            cm_json_get_string(e, p, "value", false, &value, err) < 0) {
            if (!json_is_object(e))
                cm_error_set(err, 0, "%s: expected an object", p);
            cm_strv_free(env);
            return -1;
        }
        if (!*name || strchr(name, '=')) {
            cm_strv_free(env);
            return cm_error_set(err, 0, "%s.name: '%s' is not a variable name", p, name);
        }
        env[i] = xasprintf("%s=%s", name, value);
    }
    *ret = env;
    return 0;
}

static int
parse_ulimits(json_t *c, const char *path, struct agent_container_def *d, struct cm_error **err)
{
    json_t *arr = NULL, *u;
    size_t i;

    if (cm_json_get_array(c, path, "ulimits", false, &arr, err) < 0)
        return -1;
    if (json_array_size(arr) > 32)
        return cm_error_set(err, 0, "%s.ulimits: more than 32 entries", path);
    d->ulimits = xcalloc(json_array_size(arr) + 1, sizeof *d->ulimits);
    json_array_foreach (arr, i, u) {
        cleanup_free char *p = xasprintf("%s.ulimits[%zu]", path, i);
        const char *name = NULL;
        uint64_t soft = 0, hard = 0;
        if (!json_is_object(u))
            return cm_error_set(err, 0, "%s: expected an object", p);
        if (cm_json_get_string(u, p, "name", true, &name, err) < 0 ||
            cm_json_get_uint64(u, p, "softLimit", true, INT64_MAX, &soft, err) < 0 ||
            cm_json_get_uint64(u, p, "hardLimit", true, INT64_MAX, &hard, err) < 0)
            return -1;
        if (agent_ulimit_from_name(name) < 0)
            return cm_error_set(err, 0, "%s.name: unknown ulimit '%s'", p, name);
        if (soft > hard)
            return cm_error_set(err, 0, "%s: softLimit %llu above hardLimit %llu", p,
                                (unsigned long long)soft, (unsigned long long)hard);
        d->ulimits[i] = (struct agent_ulimit){agent_ulimit_from_name(name), soft, hard};
        d->n_ulimits++;
    }
    return 0;
}

static int
parse_ports(json_t *c, const char *path, struct agent_container_def *d, struct cm_error **err)
{
    json_t *arr = NULL, *pmj;
    size_t i;

    if (cm_json_get_array(c, path, "portMappings", false, &arr, err) < 0)
        return -1;
    if (json_array_size(arr) > AGENT_MAX_PORT_MAPPINGS)
        return cm_error_set(err, 0, "%s.portMappings: more than %d entries", path,
                            AGENT_MAX_PORT_MAPPINGS);
    d->port_mappings = xcalloc(json_array_size(arr) + 1, sizeof *d->port_mappings);
    json_array_foreach (arr, i, pmj) {
        cleanup_free char *p = xasprintf("%s.portMappings[%zu]", path, i);
        uint64_t cport = 0, hport = 0;
        const char *proto = "tcp";
        if (!json_is_object(pmj))
            return cm_error_set(err, 0, "%s: expected an object", p);
        if (cm_json_get_uint64(pmj, p, "containerPort", true, 65535, &cport, err) < 0 ||
            cm_json_get_uint64(pmj, p, "hostPort", false, 65535, &hport, err) < 0 ||
            cm_json_get_string(pmj, p, "protocol", false, &proto, err) < 0)
            return -1;
        if (cport == 0)
            return cm_error_set(err, 0, "%s.containerPort: must be 1-65535", p);
        if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
            return cm_error_set(err, 0, "%s.protocol: '%s' is not tcp or udp", p, proto);
        d->port_mappings[i] = (struct agent_port_mapping){.container_port = (uint16_t)cport,
                                                          .host_port = (uint16_t)hport,
                                                          .udp = proto[0] == 'u'};
        d->n_port_mappings++;
    }
    return 0;
}

static int
parse_health(json_t *c, const char *path, struct agent_health_check *h, struct cm_error **err)
{
    json_t *hc = NULL;
    cleanup_free char *p = xasprintf("%s.healthCheck", path);
    cleanup_strv char **cmd = NULL;
    uint64_t interval = 30, timeout = 5, retries = 3, start = 0;
    size_t n;

    if (cm_json_get_object(c, path, "healthCheck", false, &hc, err) < 0)
        return -1;
    if (!hc)
        return 0;
    if (cm_json_get_strv(hc, p, "command", true, &cmd, err) < 0 ||
        cm_json_get_uint64(hc, p, "interval", false, 300, &interval, err) < 0 ||
        cm_json_get_uint64(hc, p, "timeout", false, 60, &timeout, err) < 0 ||
        cm_json_get_uint64(hc, p, "retries", false, 10, &retries, err) < 0 ||
        cm_json_get_uint64(hc, p, "startPeriod", false, 300, &start, err) < 0)
        return -1;
    if (interval < 5 || timeout < 2 || retries < 1)
        return cm_error_set(err, 0, "%s: interval >= 5, timeout >= 2, retries >= 1 (ECS limits)",
                            p);
    n = cm_strv_len(cmd);
    if (n < 2)
        return cm_error_set(err, 0, "%s.command: needs [\"CMD\", ...] or [\"CMD-SHELL\", cmd]", p);
    if (strcmp(cmd[0], "CMD-SHELL") == 0) {
        if (n != 2)
            return cm_error_set(err, 0, "%s.command: CMD-SHELL takes one string", p);
        h->command = xcalloc(4, sizeof *h->command);
        h->command[0] = xstrdup("/bin/sh");
        h->command[1] = xstrdup("-c");
        h->command[2] = xstrdup(cmd[1]);
    } else if (strcmp(cmd[0], "CMD") == 0) {
        h->command = xstrv_dup(cmd + 1);
    } else {
        return cm_error_set(err, 0, "%s.command: must start with CMD or CMD-SHELL, not '%s'", p,
                            cmd[0]);
    }
    h->present = true;
    h->interval = (unsigned)interval;
    h->timeout = (unsigned)timeout;
    h->retries = (unsigned)retries;
    h->start_period = (unsigned)start;
    return 0;
}

static int
parse_container(json_t *c, const char *path, struct agent_container_def *d, struct cm_error **err)
{
    json_t *lp = NULL, *caps = NULL, *deps = NULL, *dep;
    uint64_t cpu = 0, stop = 0;
    size_t i;

    if (!json_is_object(c))
        return cm_error_set(err, 0, "%s: expected an object", path);
    d->essential = true;
    if (cm_json_dup_string(c, path, "name", true, &d->name, err) < 0 ||
        cm_json_dup_string(c, path, "image", true, &d->image, err) < 0 ||
        cm_json_get_uint64(c, path, "cpu", false, 10 * 1024 * 192, &cpu, err) < 0 ||
        cm_json_get_uint64(c, path, "memory", false, 1u << 30, &d->memory, err) < 0 ||
        cm_json_get_uint64(c, path, "memoryReservation", false, 1u << 30, &d->memory_reservation,
                           err) < 0 ||
        cm_json_get_bool(c, path, "essential", false, &d->essential, err) < 0 ||
        cm_json_get_strv(c, path, "command", false, &d->command, err) < 0 ||
        cm_json_get_strv(c, path, "entryPoint", false, &d->entry_point, err) < 0 ||
        parse_env(c, path, &d->environment, err) < 0 ||
        cm_json_dup_string(c, path, "workingDirectory", false, &d->working_directory, err) < 0 ||
        cm_json_dup_string(c, path, "user", false, &d->user, err) < 0 ||
        parse_ulimits(c, path, d, err) < 0 ||
        cm_json_get_bool(c, path, "readonlyRootFilesystem", false, &d->readonly_root_filesystem,
                         err) < 0 ||
        cm_json_get_uint64(c, path, "stopTimeout", false, 120, &stop, err) < 0 ||
        cm_json_get_bool(c, path, "privileged", false, &d->privileged, err) < 0 ||
        parse_ports(c, path, d, err) < 0 || parse_health(c, path, &d->health, err) < 0)
        return -1;
    if (!valid_container_name(d->name))
        return cm_error_set(err, 0, "%s.name: '%s' is not 1-255 of [A-Za-z0-9_-]", path, d->name);
    if (!*d->image || strlen(d->image) > 4096)
        return cm_error_set(err, 0, "%s.image: empty or too long", path);
    if (d->memory && d->memory < 6)
        return cm_error_set(err, 0, "%s.memory: at least 6 MiB", path);
    if (d->memory && d->memory_reservation > d->memory)
        return cm_error_set(err, 0, "%s.memoryReservation: above memory", path);
    if (d->working_directory && d->working_directory[0] != '/')
        return cm_error_set(err, 0, "%s.workingDirectory: '%s' is not absolute", path,
                            d->working_directory);
    d->cpu = (uint32_t)cpu;
    d->stop_timeout = (uint32_t)stop;

    if (cm_json_get_object(c, path, "linuxParameters", false, &lp, err) < 0)
        return -1;
    if (lp) {
        cleanup_free char *lpp = xasprintf("%s.linuxParameters", path);
        cleanup_free char *cpp = xasprintf("%s.capabilities", lpp);
        if (cm_json_get_bool(lp, lpp, "initProcessEnabled", false, &d->init_process_enabled, err) <
                0 ||
            cm_json_get_object(lp, lpp, "capabilities", false, &caps, err) < 0)
            return -1;
        if (caps && (cm_json_get_strv(caps, cpp, "add", false, &d->cap_add, err) < 0 ||
                     cm_json_get_strv(caps, cpp, "drop", false, &d->cap_drop, err) < 0))
            return -1;
    }

    if (cm_json_get_array(c, path, "dependsOn", false, &deps, err) < 0)
        return -1;
    if (json_array_size(deps) > AGENT_MAX_CONTAINERS)
        return cm_error_set(err, 0, "%s.dependsOn: too many entries", path);
    d->depends_on = xcalloc(json_array_size(deps) + 1, sizeof *d->depends_on);
    json_array_foreach (deps, i, dep) {
        cleanup_free char *p = xasprintf("%s.dependsOn[%zu]", path, i);
        const char *cond = NULL;
        struct agent_depends_on *o = &d->depends_on[d->n_depends_on];
        int k;
        if (!json_is_object(dep))
            return cm_error_set(err, 0, "%s: expected an object", p);
        if (cm_json_dup_string(dep, p, "containerName", true, &o->container, err) < 0)
            return -1;
        d->n_depends_on++;
        if (cm_json_get_string(dep, p, "condition", true, &cond, err) < 0)
            return -1;
        for (k = 0; k < 4 && strcmp(cond, dep_names[k]) != 0; k++)
            ;
        if (k == 4)
            return cm_error_set(err, 0,
                                "%s.condition: '%s' is not START, COMPLETE, SUCCESS or "
                                "HEALTHY",
                                p, cond);
        o->condition = (enum agent_dep_condition)k;
    }
    return 0;
}

/* dependsOn must name containers of the task, not itself, without cycles;
 * HEALTHY needs a health check. */
static int
check_dependencies(const struct agent_task_def *t, struct cm_error **err)
{
    size_t n = t->n_containers;
    bool done[AGENT_MAX_CONTAINERS] = {0};

    for (size_t i = 0; i < n; i++) {
        const struct agent_container_def *c = &t->containers[i];
        for (size_t j = 0; j < c->n_depends_on; j++) {
            const struct agent_container_def *target =
                agent_task_def_container(t, c->depends_on[j].container);
            if (!target)
                return cm_error_set(err, 0,
                                    "containerDefinitions[%zu].dependsOn[%zu]: no container '%s'",
                                    i, j, c->depends_on[j].container);
            if (target == c)
                return cm_error_set(err, 0, "container '%s' depends on itself", c->name);
            if (c->depends_on[j].condition == AGENT_DEP_HEALTHY && !target->health.present)
                return cm_error_set(err, 0,
                                    "container '%s': HEALTHY dependency on '%s', which has no "
                                    "healthCheck",
                                    c->name, target->name);
        }
    }
    /* Cycle check (n <= 10): repeatedly retire containers whose dependencies
     * are all retired; whatever is left sits on a cycle. */
    {
        size_t removed = 0;
        bool progress = true;
        while (progress) {
            progress = false;
            for (size_t i = 0; i < n; i++) {
                const struct agent_container_def *c = &t->containers[i];
                bool ready = !done[i];
                for (size_t j = 0; ready && j < c->n_depends_on; j++) {
                    size_t k = (size_t)(agent_task_def_container(t, c->depends_on[j].container) -
                                        t->containers);
                    ready = done[k];
                }
                if (ready) {
                    done[i] = true;
                    removed++;
                    progress = true;
                }
            }
        }
        if (removed < n)
            return cm_error_set(err, 0, "dependsOn: the containers' dependencies form a cycle");
    }
    return 0;
}

int
agent_task_def_from_json(json_t *j, struct agent_task_def **ret, struct cm_error **err)
{
    cleanup_agent_task_def struct agent_task_def *t = xcalloc(1, sizeof *t);
    json_t *defs = NULL, *c;
    const char *mode = "bridge";
    uint64_t rev = 0, cpu = 0, mem = 0;
    size_t i;
    int m;

    if (!json_is_object(j))
        return cm_error_set(err, 0, "taskDefinition: expected an object");
    if (cm_json_dup_string(j, "taskDefinition", "family", false, &t->family, err) < 0 ||
        cm_json_get_uint64(j, "taskDefinition", "revision", false, UINT32_MAX, &rev, err) < 0 ||
        cm_json_get_string(j, "taskDefinition", "networkMode", false, &mode, err) < 0 ||
        get_units(j, "taskDefinition", "cpu", 192 * 1024, &cpu, err) < 0 ||
        get_units(j, "taskDefinition", "memory", 1u << 30, &mem, err) < 0 ||
        cm_json_get_array(j, "taskDefinition", "containerDefinitions", true, &defs, err) < 0)
        return -1;
    m = agent_net_mode_from_name(mode);
    if (m < 0)
        return cm_error_set(err, 0, "taskDefinition.networkMode: unknown mode '%s'", mode);
    t->network_mode = (enum agent_net_mode)m;
    t->revision = (uint32_t)rev;
    t->cpu = (uint32_t)cpu;
    t->memory = mem;
    if (json_array_size(defs) == 0 || json_array_size(defs) > AGENT_MAX_CONTAINERS)
        return cm_error_set(err, 0, "taskDefinition.containerDefinitions: 1 to %d containers",
                            AGENT_MAX_CONTAINERS);
    t->containers = xcalloc(json_array_size(defs), sizeof *t->containers);
    json_array_foreach (defs, i, c) {
        cleanup_free char *p = xasprintf("containerDefinitions[%zu]", i);
        t->n_containers++;
        if (parse_container(c, p, &t->containers[i], err) < 0)
            return -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(t->containers[k].name, t->containers[i].name) == 0)
                return cm_error_set(err, 0, "%s.name: '%s' used twice", p, t->containers[i].name);
        if (t->containers[i].n_port_mappings && t->network_mode != AGENT_NET_BRIDGE &&
            t->network_mode != AGENT_NET_AWSVPC)
            return cm_error_set(err, 0, "%s.portMappings: not with network mode %s", p, mode);
    }
    {
        bool any_essential = false;
        for (i = 0; i < t->n_containers; i++)
            any_essential |= t->containers[i].essential;
        if (!any_essential)
            return cm_error_set(err, 0,
                                "taskDefinition: at least one container must be "
                                "essential");
    }
    if (check_dependencies(t, err) < 0)
        return -1;
    *ret = TAKE_PTR(t);
    return 0;
}
