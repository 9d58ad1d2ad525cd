/* SPDX-License-Identifier: Apache-2.0 */
/* ECS task definitions: register with ECS's validation (names, cpu/memory
 * strings, containers, Fargate size table), describe, deregister, list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "skiffd.h"

#define MAX_TASKDEF_BYTES (64 * 1024)
#define MAX_CONTAINERS 10

/* A size with an optional unit after it (case-insensitive, spaces allowed
 * between): a bare whole number as is, a number with a listed unit times its
 * scale (rounded to the nearest when round, truncated otherwise); -1 when
 * invalid. units ends with a NULL suffix. */
struct size_unit {
    const char *suffix;
    double scale;
    bool round;
};

static long
parse_size(const char *s, const struct size_unit *units)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    if (!*end)
        return v == (long)v ? (long)v : -1;
    for (; units->suffix; units++)
        if (!strcasecmp(end, units->suffix))
            return (long)(v * units->scale + (units->round ? 0.5 : 0));
    return -1;
}

/* "1024", "1 vCPU", "1vcpu", "0.25 vCPU" -> CPU units; -1 when invalid. */
static long
parse_cpu(const char *s)
{
    static const struct size_unit units[] = {{"vcpu", 1024, true}, {NULL, 0, false}};
    return parse_size(s, units);
}

/* "2048", "2 GB", "2GB" -> MiB; -1 when invalid. */
static long
parse_mem(const char *s)
{
    static const struct size_unit units[] = {
        {"gb", 1024, true}, {"mb", 1, false}, {"mib", 1, false}, {NULL, 0, false}};
    return parse_size(s, units);
}

/* The Fargate task size table (aws-api-compat.md 2.3). */
static bool
fargate_pair_ok(long cpu, long mem)
{
    switch (cpu) {
    case 256:
        return mem == 512 || mem == 1024 || mem == 2048;
    case 512:
        return mem >= 1024 && mem <= 4096 && mem % 1024 == 0;
    case 1024:
        return mem >= 2048 && mem <= 8192 && mem % 1024 == 0;
    case 2048:
        return mem >= 4096 && mem <= 16384 && mem % 1024 == 0;
    case 4096:
        return mem >= 8192 && mem <= 30720 && mem % 1024 == 0;
    case 8192:
        return mem >= 16384 && mem <= 61440 && mem % 4096 == 0;
    case 16384:
        return mem >= 32768 && mem <= 122880 && mem % 8192 == 0;
    default:
        return false;
    }
}

static bool
str_in(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(s, *set))
            return true;
    return false;
}

#define CE "ClientException"
#define IPE "InvalidParameterException"

static int
check_health(struct sched_call *c, json_t *hc, const char *cname)
{
    json_t *cmd = json_object_get(hc, "command");
    if (!json_is_array(cmd) || json_array_size(cmd) == 0)
        return sched_fail(c, CE, "Container '%s': healthCheck.command is required.", cname);
    const char *first = json_string_value(json_array_get(cmd, 0));
    if (!first || (strcmp(first, "CMD") && strcmp(first, "CMD-SHELL") && strcmp(first, "NONE")))
        return sched_fail(
            c, CE, "Container '%s': healthCheck.command must start with CMD or CMD-SHELL.", cname);
    static const struct {
        const char *key;
        int64_t min, max, dflt;
    } lim[] = {{"interval", 5, 300, 30},
               {"timeout", 2, 60, 5},
               {"retries", 1, 10, 3},
               {"startPeriod", 0, 300, 0}};
    for (size_t i = 0; i < 4; i++) {
        int64_t v = lim[i].dflt;
        json_t *j = json_object_get(hc, lim[i].key);
        if (j && !json_is_null(j)) {
            if (!json_is_integer(j) || json_integer_value(j) < lim[i].min ||
                json_integer_value(j) > lim[i].max)
                return sched_fail(c, CE,
                                  "Container '%s': healthCheck.%s should be between %lld and %lld.",
                                  cname, lim[i].key, (long long)lim[i].min, (long long)lim[i].max);
            v = json_integer_value(j);
        }
        json_object_set_new(hc, lim[i].key, json_integer(v));
    }
    return 0;
}

/* Validates and normalises one container definition in place. */
static int
check_container(struct sched_call *c, json_t *cd, size_t idx, const char *net, bool fargate,
                bool task_mem, json_t *names)
{
    const char *name = NULL, *image = NULL;
    if (!json_is_object(cd))
        return sched_fail(c, CE, "containerDefinitions[%zu] must be a structure.", idx);
    if (sched_in_str(c, cd, "name", false, &name) < 0 ||
        sched_in_str(c, cd, "image", false, &image) < 0)
        return -1;
    if (!name || !*name)
        return sched_fail(c, CE, "Container.name should not be null or empty.");
    if (!sched_valid_name(name, 255))
        return sched_fail(c, CE,
                          "Container name '%.300s' is invalid: up to 255 letters, numbers, "
                          "hyphens and underscores are allowed.",
                          name);
    if (json_object_get(names, name))
        return sched_fail(c, CE, "Duplicate container name '%s'.", name);
    json_object_set_new(names, name, json_true());
    if (!image || !*image)
        return sched_fail(c, CE, "Container.image should not be null or empty.");
    if (strlen(image) > 1024)
        return sched_fail(c, CE, "Container '%s': image reference is too long.", name);

    int64_t cpu = 0, mem = 0, memres = 0;
    if (sched_in_int(c, cd, "cpu", false, 0, 10240 * 19, &cpu) < 0 ||
        sched_in_int(c, cd, "memory", false, 4, 1 << 24, &mem) < 0 ||
        sched_in_int(c, cd, "memoryReservation", false, 4, 1 << 24, &memres) < 0)
        return -1;
    if (!task_mem && !mem && !memres)
        return sched_fail(c, CE,
                          "Invalid setting for container '%s'. At least one of 'memory' or "
                          "'memoryReservation' must be specified.",
                          name);
    if (mem && memres && mem <= memres)
        return sched_fail(c, CE,
                          "Invalid setting for container '%s'. 'memory' must be greater than "
                          "'memoryReservation'.",
                          name);
    bool essential = true;
    if (sched_in_bool(c, cd, "essential", &essential) < 0)
        return -1;
    json_object_set_new(cd, "essential", json_boolean(essential));
    if (json_object_get(cd, "cpu") == NULL)
        json_object_set_new(cd, "cpu", json_integer(0));
    bool priv = false;
    if (sched_in_bool(c, cd, "privileged", &priv) < 0)
        return -1;
    if (fargate && priv)
        return sched_fail(c, CE, "Privileged containers are not supported on Fargate.");

    json_t *pms = NULL;
    if (sched_in_array(c, cd, "portMappings", false, 100, &pms) < 0)
        return -1;
    if (!pms)
        json_object_set_new(cd, "portMappings", json_array());
    size_t i;
    json_t *pm;
    json_array_foreach (pms, i, pm) {
        int64_t cport = 0, hport = -1;
        const char *proto = "tcp";
        if (!json_is_object(pm) ||
            sched_in_int(c, pm, "containerPort", false, 0, 65535, &cport) < 0 ||
            sched_in_int(c, pm, "hostPort", false, 0, 65535, &hport) < 0 ||
            sched_in_str(c, pm, "protocol", false, &proto) < 0)
            return c->err_type
                       ? -1
                       : sched_fail(c, CE, "Container '%s': invalid portMappings[%zu].", name, i);
        if (!json_object_get(pm, "containerPort") && !json_object_get(pm, "containerPortRange"))
            return sched_fail(c, CE, "Container '%s': portMappings[%zu].containerPort is required.",
                              name, i);
        if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
            return sched_fail(c, CE, "Container '%s': protocol must be tcp or udp, not '%s'.", name,
                              proto);
        json_object_set_new(pm, "protocol", json_string(proto));
        bool same = !strcmp(net, "awsvpc") || !strcmp(net, "host");
        if (same && hport >= 0 && hport != cport)
            return sched_fail(c, CE,
                              "When networkMode=%s, the host ports specified in a portMapping "
                              "must match the container port.",
                              net);
        if (same && cport)
            json_object_set_new(pm, "hostPort", json_integer(cport));
        else if (hport < 0 && !strcmp(net, "bridge"))
            json_object_set_new(pm, "hostPort", json_integer(0));
    }

    json_t *env = NULL;
    if (sched_in_array(c, cd, "environment", false, 1000, &env) < 0)
        return -1;
    if (!env)
        json_object_set_new(cd, "environment", json_array());
    json_t *e;
    json_array_foreach (env, i, e) {
        const char *n = NULL, *v = NULL;
        if (!json_is_object(e) || sched_in_str(c, e, "name", false, &n) < 0 ||
            sched_in_str(c, e, "value", false, &v) < 0 || !n || !*n)
            return c->err_type ? -1
                               : sched_fail(c, CE, "Container '%s': environment[%zu] needs a name.",
                                            name, i);
    }
    json_t *hc = NULL;
    if (sched_in_object(c, cd, "healthCheck", &hc) < 0)
        return -1;
    if (hc && check_health(c, hc, name) < 0)
        return -1;
    json_t *lc = NULL;
    if (sched_in_object(c, cd, "logConfiguration", &lc) < 0)
        return -1;
    if (lc) {
        static const char *const drivers[] = {"json-file", "syslog",      "journald",
                                              "gelf",      "fluentd",     "awslogs",
                                              "splunk",    "awsfirelens", NULL};
        static const char *const fdrivers[] = {"awslogs", "splunk", "awsfirelens", NULL};
        const char *drv = NULL;
        if (sched_in_str(c, lc, "logDriver", true, &drv) < 0)
            return -1;
        if (!str_in(drv, fargate ? fdrivers : drivers))
            return sched_fail(c, CE, "Log driver '%s' is not supported%s.", drv,
                              fargate ? " on Fargate" : "");
    }
    json_t *mps = NULL, *vfs = NULL;
    if (sched_in_array(c, cd, "mountPoints", false, 100, &mps) < 0 ||
        sched_in_array(c, cd, "volumesFrom", false, 100, &vfs) < 0)
        return -1;
    if (!mps)
        json_object_set_new(cd, "mountPoints", json_array());
    if (!vfs)
        json_object_set_new(cd, "volumesFrom", json_array());
    return 0;
}

static int
check_depends(struct sched_call *c, json_t *cds)
{
    size_t i;
    json_t *cd;
    json_array_foreach (cds, i, cd) {
        json_t *deps = NULL;
        const char *name = json_string_value(json_object_get(cd, "name"));
        if (sched_in_array(c, cd, "dependsOn", false, 10, &deps) < 0)
            return -1;
        size_t j;
        json_t *dep;
        json_array_foreach (deps, j, dep) {
            const char *target = NULL, *cond = NULL;
            if (!json_is_object(dep) || sched_in_str(c, dep, "containerName", true, &target) < 0 ||
                sched_in_str(c, dep, "condition", true, &cond) < 0)
                return c->err_type ? -1 : sched_fail(c, CE, "Invalid dependsOn in '%s'.", name);
            static const char *const conds[] = {"START", "COMPLETE", "SUCCESS", "HEALTHY", NULL};
            if (!str_in(cond, conds))
                return sched_fail(c, CE, "dependsOn condition '%s' is invalid.", cond);
            json_t *tcd = NULL;
            size_t k;
            json_t *x;
            json_array_foreach (cds, k, x)
                if (!strcmp(json_string_value(json_object_get(x, "name")), target))
                    tcd = x;
            if (!tcd || !strcmp(target, name))
                return sched_fail(c, CE, "Container '%s' depends on unknown container '%s'.", name,
                                  target);
            if (!strcmp(cond, "HEALTHY") && !json_object_get(tcd, "healthCheck"))
                return sched_fail(c, CE,
                                  "Container '%s' depends on '%s' being HEALTHY, but it has no "
                                  "healthCheck.",
                                  name, target);
            if ((!strcmp(cond, "COMPLETE") || !strcmp(cond, "SUCCESS")) &&
                json_is_true(json_object_get(tcd, "essential")))
                return sched_fail(c, CE,
                                  "Container '%s' depends on essential container '%s' to %s; "
                                  "it must be non-essential.",
                                  name, target, cond);
        }
    }
    return 0;
}

int
sched_op_register_task_definition(struct sched_call *c, json_t *in, json_t *out)
{
    const char *family = NULL, *net = "bridge", *cpu_s = NULL, *mem_s = NULL;
    json_t *cds = NULL, *compat = NULL;
    long cpu = -1, mem = -1;

    cleanup_free char *dump = json_dumps(in, JSON_COMPACT);
    if (strlen(dump) > MAX_TASKDEF_BYTES)
        return sched_fail(c, CE, "Task definition exceeds %d bytes.", MAX_TASKDEF_BYTES);
    if (sched_in_str(c, in, "family", true, &family) < 0)
        return -1;
    if (!sched_valid_name(family, 255))
        return sched_fail(c, CE,
                          "Family '%.300s' is invalid: up to 255 letters (uppercase and "
                          "lowercase), numbers, hyphens, and underscores are allowed.",
                          family);
    if (sched_in_array(c, in, "containerDefinitions", true, 0, &cds) < 0)
        return -1;
    if (json_array_size(cds) == 0)
        return sched_fail(c, CE, "Container list cannot be empty.");
    if (json_array_size(cds) > MAX_CONTAINERS)
        return sched_fail(c, CE, "Too many containers (%zu); a task definition has at most %d.",
                          json_array_size(cds), MAX_CONTAINERS);
    if (sched_in_str(c, in, "networkMode", false, &net) < 0 ||
        sched_in_str(c, in, "cpu", false, &cpu_s) < 0 ||
        sched_in_str(c, in, "memory", false, &mem_s) < 0 ||
        sched_in_array(c, in, "requiresCompatibilities", false, 4, &compat) < 0)
        return -1;
    static const char *const nets[] = {"bridge", "host", "awsvpc", "none", NULL};
    if (!str_in(net, nets))
        return sched_fail(c, CE, "Invalid networkMode '%s'.", net);
    bool fargate = false;
    size_t i;
    json_t *v;
    json_array_foreach (compat, i, v) {
        static const char *const lts[] = {"EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES", NULL};
        if (!json_is_string(v) || !str_in(json_string_value(v), lts))
            return sched_fail(c, CE, "Invalid requiresCompatibilities value.");
        if (!strcmp(json_string_value(v), "FARGATE"))
            fargate = true;
    }
    if (cpu_s) {
        cpu = parse_cpu(cpu_s);
        if (cpu < 128 || cpu > 196608)
            return sched_fail(c, CE, "Invalid 'cpu' setting for task.");
    }
    if (mem_s) {
        mem = parse_mem(mem_s);
        if (mem < 6 || mem > 1 << 24)
            return sched_fail(c, CE, "Invalid 'memory' setting for task.");
    }
    if (fargate) {
        if (strcmp(net, "awsvpc") != 0)
            return sched_fail(c, CE, "Fargate only supports network mode 'awsvpc'.");
        if (cpu < 0)
            return sched_fail(c, CE, "Fargate requires task definition to have cpu value set.");
        if (mem < 0)
            return sched_fail(c, CE, "Fargate requires task definition to have memory value set.");
        if (!fargate_pair_ok(cpu, mem))
            return sched_fail(c, CE,
                              "No Fargate configuration exists for given values: %ld CPU, %ld "
                              "memory. See the Amazon ECS documentation for the valid values.",
                              cpu, mem);
    }
    json_t *tags = sched_tags_parse(c, json_object_get(in, "tags"));
    if (!tags)
        return -1;
    json_t *td = json_deep_copy(in);
    json_object_del(td, "tags");
    json_t *ncds = json_object_get(td, "containerDefinitions");
    json_auto_t *names = json_object();
    bool any_essential = false;
    long sum_cpu = 0, sum_mem = 0;
    json_t *cd;
    json_array_foreach (ncds, i, cd) {
        if (check_container(c, cd, i, net, fargate, mem >= 0, names) < 0) {
            json_decref(td);
            json_decref(tags);
            return -1;
        }
        if (json_is_true(json_object_get(cd, "essential")))
            any_essential = true;
        sum_cpu += (long)json_integer_value(json_object_get(cd, "cpu"));
        json_int_t cm = json_integer_value(json_object_get(cd, "memory"));
        if (!cm)
            cm = json_integer_value(json_object_get(cd, "memoryReservation"));
        sum_mem += (long)cm;
    }
    if (!any_essential) {
        json_decref(td);
        json_decref(tags);
        return sched_fail(c, CE, "Task definition does not have any essential container.");
    }
    if (check_depends(c, ncds) < 0 || (cpu >= 0 && sum_cpu > cpu) || (mem >= 0 && sum_mem > mem)) {
        json_decref(td);
        json_decref(tags);
        if (c->err_type)
            return -1;
        return sched_fail(c, CE,
                          "The sum of the container cpu/memory (%ld/%ld) exceeds the task "
                          "level value.",
                          sum_cpu, sum_mem);
    }

    /* Revisions grow per family and are never reused. */
    json_t *fam = sched_get(c->d, SCHED_K_FAMILY, family);
    json_int_t rev = fam ? json_integer_value(json_object_get(fam, "last")) + 1 : 1;
    sched_put(c->d, SCHED_K_FAMILY, family, json_pack("{s:I}", "last", rev));
    cleanup_free char *key = xasprintf("%s:%lld", family, (long long)rev);
    cleanup_free char *arn = sched_arn(c, "task-definition/%s", key);
    json_object_set_new(td, "taskDefinitionArn", json_string(arn));
    json_object_set_new(td, "revision", json_integer(rev));
    json_object_set_new(td, "status", json_string("ACTIVE"));
    json_object_set_new(td, "networkMode", json_string(net));
    if (cpu >= 0)
        json_object_set_new(td, "cpu", json_sprintf("%ld", cpu));
    if (mem >= 0)
        json_object_set_new(td, "memory", json_sprintf("%ld", mem));
    json_t *compats = json_pack("[s]", "EC2");
    if (!strcmp(net, "awsvpc") && cpu >= 0 && mem >= 0 && fargate_pair_ok(cpu, mem))
        json_array_append_new(compats, json_string("FARGATE"));
    json_object_set_new(td, "compatibilities", compats);
    json_t *req_attrs = json_array();
    if (!strcmp(net, "awsvpc"))
        json_array_append_new(req_attrs, json_pack("{s:s}", "name", "ecs.capability.task-eni"));
    json_object_set_new(td, "requiresAttributes", req_attrs);
    if (!json_object_get(td, "volumes"))
        json_object_set_new(td, "volumes", json_array());
    if (!json_object_get(td, "placementConstraints"))
        json_object_set_new(td, "placementConstraints", json_array());
    if (!json_object_get(td, "requiresCompatibilities"))
        json_object_set_new(td, "requiresCompatibilities", json_array());
    json_object_set_new(td, "registeredAt", json_real(sched_now()));
    json_object_set_new(td, "registeredBy", json_string("arn:aws:iam::" SCHED_ACCOUNT ":root"));
    json_object_set_new(td, "_tags", tags);
    json_object_set_new(td, "_cpu", json_integer(cpu >= 0 ? cpu : sum_cpu));
    json_object_set_new(td, "_memory", json_integer(mem >= 0 ? mem : sum_mem));
    sched_put(c->d, SCHED_K_TASKDEF, key, td);
    json_object_set_new(out, "taskDefinition", sched_public(td));
    json_object_set(out, "tags", tags);
    return 0;
}

json_t *
sched_taskdef_resolve(struct sched_call *c, const char *ref, bool active_only)
{
    const char *tail = ref;
    if (!strncmp(ref, "arn:", 4)) {
        const char *p = strstr(ref, ":task-definition/");
        tail = p ? p + strlen(":task-definition/") : "";
    }
    json_t *td = NULL;
    const char *colon = strchr(tail, ':');
    if (colon) {
        td = sched_get(c->d, SCHED_K_TASKDEF, tail);
    } else {
        json_t *fam = sched_get(c->d, SCHED_K_FAMILY, tail);
        for (json_int_t r = fam ? json_integer_value(json_object_get(fam, "last")) : 0; r > 0;
             r--) {
            cleanup_free char *key = xasprintf("%s:%lld", tail, (long long)r);
            json_t *x = sched_get(c->d, SCHED_K_TASKDEF, key);
            if (x && !strcmp(json_string_value(json_object_get(x, "status")), "ACTIVE")) {
                td = x;
                break;
            }
        }
    }
    if (!td) {
        sched_fail(c, CE, "Unable to describe task definition.");
        return NULL;
    }
    if (active_only && strcmp(json_string_value(json_object_get(td, "status")), "ACTIVE") != 0) {
        sched_fail(c, CE, "TaskDefinition is inactive");
        return NULL;
    }
    return td;
}

int
sched_op_describe_task_definition(struct sched_call *c, json_t *in, json_t *out)
{
    const char *ref = NULL;
    if (sched_in_str(c, in, "taskDefinition", true, &ref) < 0)
        return -1;
    json_t *td = sched_taskdef_resolve(c, ref, false);
    if (!td)
        return -1;
    json_object_set_new(out, "taskDefinition", sched_public(td));
    if (sched_include_has(in, "TAGS"))
        json_object_set(out, "tags", json_object_get(td, "_tags"));
    return 0;
}

int
sched_op_deregister_task_definition(struct sched_call *c, json_t *in, json_t *out)
{
    const char *ref = NULL;
    if (sched_in_str(c, in, "taskDefinition", true, &ref) < 0)
        return -1;
    const char *tail = strncmp(ref, "arn:", 4) ? ref : sched_arn_tail(ref);
    if (!strchr(tail, ':'))
        return sched_fail(c, CE, "Invalid revision number. Number: %s", "");
    json_t *td = sched_taskdef_resolve(c, ref, false);
    if (!td)
        return -1;
    if (!strcmp(json_string_value(json_object_get(td, "status")), "ACTIVE")) {
        json_object_set_new(td, "status", json_string("INACTIVE"));
        json_object_set_new(td, "deregisteredAt", json_real(sched_now()));
        const char *family = json_string_value(json_object_get(td, "family"));
        cleanup_free char *key = xasprintf(
            "%s:%lld", family, (long long)json_integer_value(json_object_get(td, "revision")));
        sched_touch(c->d, SCHED_K_TASKDEF, key);
    }
    json_object_set_new(out, "taskDefinition", sched_public(td));
    return 0;
}

struct td_ref {
    const char *family;
    json_int_t rev;
    json_t *arn;
};

static int
td_ref_cmp(const void *a, const void *b)
{
    const struct td_ref *x = a, *y = b;
    int c = strcmp(x->family, y->family);
    if (c)
        return c;
    return x->rev < y->rev ? -1 : x->rev > y->rev;
}

int
sched_op_list_task_definitions(struct sched_call *c, json_t *in, json_t *out)
{
    const char *prefix = NULL, *status = "ACTIVE", *sort = "ASC";
    if (sched_in_str(c, in, "familyPrefix", false, &prefix) < 0 ||
        sched_in_str(c, in, "status", false, &status) < 0 ||
        sched_in_str(c, in, "sort", false, &sort) < 0)
        return -1;
    static const char *const sts[] = {"ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS", NULL};
    if (!str_in(status, sts))
        return sched_fail(c, IPE, "Invalid status '%s'.", status);
    if (strcmp(sort, "ASC") && strcmp(sort, "DESC"))
        return sched_fail(c, IPE, "Invalid sort '%s'.", sort);
    size_t n = json_object_size(c->d->tables[SCHED_K_TASKDEF]), m = 0;
    cleanup_free struct td_ref *refs = xcalloc(n + 1, sizeof(*refs));
    const char *k;
    json_t *v;
    json_object_foreach (c->d->tables[SCHED_K_TASKDEF], k, v) {
        const char *fam = json_string_value(json_object_get(v, "family"));
        if (strcmp(json_string_value(json_object_get(v, "status")), status) != 0)
            continue;
        if (prefix && *prefix && strcmp(fam, prefix) != 0)
            continue;
        refs[m++] = (struct td_ref){fam, json_integer_value(json_object_get(v, "revision")),
                                    json_object_get(v, "taskDefinitionArn")};
    }
    qsort(refs, m, sizeof(*refs), td_ref_cmp);
    json_auto_t *all = json_array();
    for (size_t i = 0; i < m; i++)
        json_array_append(all, refs[strcmp(sort, "DESC") ? i : m - 1 - i].arn);
    return sched_paginate(c, in, all, "taskDefinitionArns", out, 100);
}

static int
cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

int
sched_op_list_task_definition_families(struct sched_call *c, json_t *in, json_t *out)
{
    const char *prefix = "", *status = "ACTIVE";
    if (sched_in_str(c, in, "familyPrefix", false, &prefix) < 0 ||
        sched_in_str(c, in, "status", false, &status) < 0)
        return -1;
    if (strcmp(status, "ACTIVE") && strcmp(status, "INACTIVE") && strcmp(status, "ALL"))
        return sched_fail(c, IPE, "Invalid status '%s'.", status);
    json_auto_t *active = json_object();
    const char *k;
    json_t *v;
    json_object_foreach (c->d->tables[SCHED_K_TASKDEF], k, v) {
        if (!strcmp(json_string_value(json_object_get(v, "status")), "ACTIVE"))
            json_object_set_new(active, json_string_value(json_object_get(v, "family")),
                                json_true());
    }
    size_t n = json_object_size(c->d->tables[SCHED_K_FAMILY]), m = 0;
    cleanup_free json_t **list = xcalloc(n + 1, sizeof(json_t *));
    json_object_foreach (c->d->tables[SCHED_K_FAMILY], k, v) {
        bool is_active = json_object_get(active, k) != NULL;
        if (strncmp(k, prefix, strlen(prefix)) != 0)
            continue;
        if ((!strcmp(status, "ACTIVE") && !is_active) || (!strcmp(status, "INACTIVE") && is_active))
            continue;
        list[m++] = json_string(k);
    }
    qsort(list, m, sizeof(json_t *), cmp_json_str);
    json_auto_t *all = json_array();
    for (size_t i = 0; i < m; i++)
        json_array_append_new(all, list[i]);
    return sched_paginate(c, in, all, "families", out, 100);
}
