/* SPDX-License-Identifier: Apache-2.0 */
/* config.json (runtime-spec 1.1, Linux) -> struct rt_config in one pass over
 * the jansson tree. Unknown keys are ignored (spec "Extensibility"); a value
 * of the wrong type or outside its domain is an error naming its JSON path. */
#include "rt/config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <linux/mount.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/xalloc.h"
#include "config_names.h"
#include "rt/security.h"

/* The typed getters are common/json.c's (cm_json_*); the wrappers below add
 * this parser's limits (RT_MAX_ARRAY elements or entries). */

/* Child paths, built without printf: they are made for every object of every
 * array, and formatting them showed up as 15% of a parse. Keys are the
 * parser's own literals and indices are bounded by RT_MAX_ARRAY, so 256 bytes
 * always suffice; a longer path would only be cut short in a message. buf may
 * be path itself (appending in place). */
#define PATH_BUF 256

static size_t
append(char *buf, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (len > PATH_BUF - 1 - n)
        len = PATH_BUF - 1 - n;
    memcpy(buf + n, s, len);
    return n + len;
}

static const char *
sub(char *buf, const char *path, const char *key)
{
    size_t n = buf == path ? strlen(buf) : append(buf, 0, path);
    if (n && *key)
        n = append(buf, n, ".");
    n = append(buf, n, key);
    buf[n] = '\0';
    return buf;
}

static const char *
subi(char *buf, const char *path, const char *key, size_t i)
{
    char num[24], *d = num + sizeof(num);
    *--d = '\0';
    *--d = ']';
    do
        *--d = (char)('0' + i % 10);
    while ((i /= 10));
    *--d = '[';
    sub(buf, path, key);
    buf[append(buf, strlen(buf), d)] = '\0';
    return buf;
}

/* ---- typed getters (the config's limits on common/json.c's) ---------- */

static int
missing(struct cm_error **err, const char *path, const char *key)
{
    return cm_json_error(err, path, key, "required field missing");
}

static int
get_object(json_t *o, const char *path, const char *key, bool required, json_t **ret,
           struct cm_error **err)
{
    return cm_json_get_container(o, path, key, required, false, RT_MAX_ARRAY, ret, err);
}

static int
get_array(json_t *o, const char *path, const char *key, bool required, json_t **ret,
          struct cm_error **err)
{
    return cm_json_get_container(o, path, key, required, true, RT_MAX_ARRAY, ret, err);
}

static bool
is_abs(const char *p)
{
    return p[0] == '/';
}

/* A path string: non-empty, < RT_MAX_PATH, absolute when asked. */
static int
dup_path(json_t *o, const char *path, const char *key, bool required, bool absolute, char **ret,
         struct cm_error **err)
{
    const char *s = NULL;
    if (cm_json_get_string_max(o, path, key, required, RT_MAX_PATH - 1, &s, err) < 0)
        return -1;
    if (!s)
        return 0;
    if (absolute && !is_abs(s))
        return cm_json_error(err, path, key, "must be an absolute path");
    if (!*s)
        return cm_json_error(err, path, key, "must not be empty");
    free(*ret);
    *ret = xstrdup(s);
    return 0;
}

static int
get_bool(json_t *o, const char *path, const char *key, bool *ret, struct cm_error **err)
{
    return cm_json_get_bool(o, path, key, false, ret, err);
}

static int
get_u32(json_t *o, const char *path, const char *key, bool required, bool *has, uint32_t *ret,
        struct cm_error **err)
{
    uint64_t u = 0;
    bool h = false;
    if (cm_json_get_uint64_range(o, path, key, required, UINT32_MAX, &h, &u, err) < 0)
        return -1;
    if (h) {
        *ret = (uint32_t)u;
        if (has)
            *has = true;
    }
    return 0;
}

/* Array of strings -> NULL-terminated vector (NULL when absent); each element
 * checked by `check` when given (returns an error message or NULL). */
typedef cm_json_strv_check_fn strv_check_fn;

static int
get_strv(json_t *o, const char *path, const char *key, bool required, size_t max,
         strv_check_fn check, char ***ret, struct cm_error **err)
{
    return cm_json_get_strv_max(o, path, key, required, RT_MAX_ARRAY, max, check, ret, err);
}

static const char *
check_abs(const char *s)
{
    return is_abs(s) ? NULL : "must be an absolute path";
}

static const char *
check_env(const char *s)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s)
        return "expected KEY=value";
    return NULL;
}

/* ---- process ------------------------------------------------------------ */

/* cpuset lists: "0-3,5" (whitespace tolerated as the kernel does). */
static int
dup_cpuset(json_t *o, const char *path, const char *key, char **ret, struct cm_error **err)
{
    const char *s = NULL;
    if (cm_json_get_string_max(o, path, key, false, 4096, &s, err) < 0)
        return -1;
    if (!s || !*s)
        return 0;
    for (const char *c = s; *c; c++)
        if (!strchr("0123456789,- \n\t", *c))
            return cm_json_error(err, path, key, "invalid cpu/node list '%s'", s);
    *ret = xstrdup(s);
    return 0;
}

static int
parse_caps(json_t *o, const char *path, struct rt_capabilities *caps, struct cm_error **err)
{
    static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted",
                                       "ambient"};
    uint64_t *dst[] = {&caps->bounding, &caps->effective, &caps->inheritable, &caps->permitted,
                       &caps->ambient};
    char p[PATH_BUF];

    caps->present = true;
    for (size_t s = 0; s < 5; s++) {
        json_t *arr, *v;
        size_t i;
        if (get_array(o, path, sets[s], false, &arr, err) < 0)
            return -1;
        json_array_foreach (arr, i, v) {
            const char *name;
            if (!json_is_string(v) || json_string_length(v) > 64)
                return cm_json_check_string(v, subi(p, path, sets[s], i), NULL, 64, &name, err);
            name = json_string_value(v);
            int cap = rt_cap_from_name(name);
            if (cap < 0)
                return cm_json_error(err, subi(p, path, sets[s], i), NULL,
                                     "unknown capability '%s'", name);
            *dst[s] |= UINT64_C(1) << cap;
        }
    }
    return 0;
}

/* Element i of an array of objects told apart by a required "type" that
 * by_name knows (an id below 64) and that appears once: the id, or -1 with
 * "unknown WHAT" / "duplicate WHAT" naming PATH[i].type. p receives the
 * element's path, *ret_type the name. */
static int
typed_element(json_t *v, char *p, const char *path, size_t i, int (*by_name)(const char *),
              const char *what, uint64_t *seen, const char **ret_type, struct cm_error **err)
{
    const char *type = NULL;
    subi(p, path, "", i);
    if (!json_is_object(v))
        return cm_json_error(err, p, NULL, "expected an object");
    if (cm_json_get_string_max(v, p, "type", true, 64, &type, err) < 0)
        return -1;
    int id = by_name(type);
    if (id < 0 || id > 63)
        return cm_json_error(err, p, "type", "unknown %s '%s'", what, type);
    if (*seen & (UINT64_C(1) << id))
        return cm_json_error(err, p, "type", "duplicate %s '%s'", what, type);
    *seen |= UINT64_C(1) << id;
    *ret_type = type;
    return id;
}

/* An array's elements, at least one slot (calloc of 0 may return NULL). */
static void *
alloc_for(json_t *arr, size_t size)
{
    return xcalloc(json_array_size(arr) ? json_array_size(arr) : 1, size);
}

static int
parse_rlimits(json_t *arr, const char *path, struct rt_process *proc, struct cm_error **err)
{
    char p[PATH_BUF];
    uint64_t seen = 0;
    json_t *v;
    size_t i;

    proc->rlimits = alloc_for(arr, sizeof(*proc->rlimits));
    json_array_foreach (arr, i, v) {
        struct rt_rlimit *r = &proc->rlimits[i];
        const char *type = NULL;
        int res = typed_element(v, p, path, i, rt_rlimit_from_name, "rlimit", &seen, &type, err);
        if (res < 0)
            return -1;
        r->resource = res;
        r->type = xstrdup(type);
        proc->n_rlimits = i + 1;
        if (cm_json_get_uint64_range(v, p, "soft", true, UINT64_MAX, NULL, &r->soft, err) < 0 ||
            cm_json_get_uint64_range(v, p, "hard", true, UINT64_MAX, NULL, &r->hard, err) < 0)
            return -1;
        /* setrlimit(2) would refuse it later with a bare EINVAL. */
        if (r->soft > r->hard)
            return cm_json_error(err, p, NULL, "soft limit %" PRIu64 " exceeds hard limit %" PRIu64,
                                 r->soft, r->hard);
    }
    return 0;
}

static int
parse_user(json_t *o, const char *path, struct rt_user *u, struct cm_error **err)
{
    char p[PATH_BUF];
    uint32_t x = 0;
    json_t *arr, *v;
    size_t i;

    if (get_u32(o, path, "uid", true, NULL, &x, err) < 0)
        return -1;
    u->uid = x;
    if (get_u32(o, path, "gid", true, NULL, &x, err) < 0)
        return -1;
    u->gid = x;
    uint64_t um = 0;
    if (cm_json_get_uint64_range(o, path, "umask", false, 0777, &u->has_umask, &um, err) < 0)
        return -1;
    u->umask = (mode_t)um;
    if (get_array(o, path, "additionalGids", false, &arr, err) < 0)
        return -1;
    if (arr) {
        u->additional_gids = xcalloc(json_array_size(arr) + 1, sizeof(gid_t));
        json_array_foreach (arr, i, v) {
            uint64_t g;
            if (cm_json_check_uint64(v, subi(p, path, "additionalGids", i), NULL, UINT32_MAX, &g,
                                     err) < 0)
                return -1;
            u->additional_gids[i] = (gid_t)g;
            u->n_additional_gids = i + 1;
        }
    }
    return cm_json_dup_string_max(o, path, "username", false, 256, &u->username, err);
}

static int
parse_scheduler(json_t *o, const char *path, struct rt_scheduler *s, struct cm_error **err)
{
    char p[PATH_BUF];
    const char *policy = NULL;
    int64_t x = 0;
    json_t *arr, *v;
    size_t i;

    if (cm_json_get_string_max(o, path, "policy", true, 64, &policy, err) < 0)
        return -1;
    s->policy = rt_sched_policy_from_name(policy);
    if (s->policy < 0)
        return cm_json_error(err, path, "policy", "unknown scheduling policy '%s'", policy);
    if (cm_json_get_int64_range(o, path, "nice", false, -20, 19, NULL, &x, err) < 0)
        return -1;
    s->nice = (int32_t)x;
    x = 0;
    if (cm_json_get_int64_range(o, path, "priority", false, INT32_MIN, INT32_MAX, NULL, &x, err) <
        0)
        return -1;
    s->priority = (int32_t)x;
    if (get_array(o, path, "flags", false, &arr, err) < 0)
        return -1;
    json_array_foreach (arr, i, v) {
        const char *name;
        if (cm_json_check_string(v, subi(p, path, "flags", i), NULL, 64, &name, err) < 0)
            return -1;
        int64_t f = rt_sched_flag_from_name(name);
        if (f < 0)
            return cm_json_error(err, p, NULL, "unknown scheduler flag '%s'", name);
        s->flags |= (uint64_t)f;
    }
    if (cm_json_get_uint64_range(o, path, "runtime", false, UINT64_MAX, NULL, &s->runtime, err) <
            0 ||
        cm_json_get_uint64_range(o, path, "deadline", false, UINT64_MAX, NULL, &s->deadline, err) <
            0 ||
        cm_json_get_uint64_range(o, path, "period", false, UINT64_MAX, NULL, &s->period, err) < 0)
        return -1;
    return 0;
}

/* path is the process object's JSON path ("process", or "" for process.json). */
static int
parse_process(json_t *o, const char *path, struct rt_process *proc, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *obj, *arr;
    int64_t x;

    if (get_bool(o, path, "terminal", &proc->terminal, err) < 0)
        return -1;
    if (get_object(o, path, "consoleSize", false, &obj, err) < 0)
        return -1;
    if (obj) {
        uint32_t h = 0, w = 0;
        sub(p, path, "consoleSize");
        if (get_u32(obj, p, "height", true, NULL, &h, err) < 0 ||
            get_u32(obj, p, "width", true, NULL, &w, err) < 0)
            return -1;
        proc->has_console_size = true;
        proc->console_size.height = h;
        proc->console_size.width = w;
    }
    if (get_object(o, path, "user", false, &obj, err) < 0)
        return -1;
    if (obj && parse_user(obj, sub(p, path, "user"), &proc->user, err) < 0)
        return -1;
    if (get_strv(o, path, "args", true, RT_MAX_STRING, NULL, &proc->args, err) < 0)
        return -1;
    if (!proc->args[0])
        return cm_json_error(err, path, "args", "must contain at least one element");
    if (cm_json_dup_string_max(o, path, "commandLine", false, RT_MAX_STRING, &proc->command_line,
                               err) < 0)
        return -1;
    if (get_strv(o, path, "env", false, RT_MAX_STRING, check_env, &proc->env, err) < 0)
        return -1;
    if (!proc->env)
        proc->env = xcalloc(1, sizeof(char *));
    if (dup_path(o, path, "cwd", true, true, &proc->cwd, err) < 0)
        return -1;
    if (get_object(o, path, "capabilities", false, &obj, err) < 0)
        return -1;
    if (obj && parse_caps(obj, sub(p, path, "capabilities"), &proc->caps, err) < 0)
        return -1;
    if (get_array(o, path, "rlimits", false, &arr, err) < 0)
        return -1;
    if (arr && parse_rlimits(arr, sub(p, path, "rlimits"), proc, err) < 0)
        return -1;
    if (get_bool(o, path, "noNewPrivileges", &proc->no_new_privileges, err) < 0)
        return -1;
    if (cm_json_dup_string_max(o, path, "apparmorProfile", false, RT_MAX_PATH - 1,
                               &proc->apparmor_profile, err) < 0)
        return -1;
    x = 0;
    if (cm_json_get_int64_range(o, path, "oomScoreAdj", false, -1000, 1000,
                                &proc->has_oom_score_adj, &x, err) < 0)
        return -1;
    proc->oom_score_adj = (int)x;
    if (cm_json_dup_string_max(o, path, "selinuxLabel", false, RT_MAX_PATH - 1,
                               &proc->selinux_label, err) < 0)
        return -1;
    if (get_object(o, path, "ioPriority", false, &obj, err) < 0)
        return -1;
    if (obj) {
        const char *klass = NULL;
        sub(p, path, "ioPriority");
        if (cm_json_get_string_max(obj, p, "class", true, 64, &klass, err) < 0)
            return -1;
        proc->io_priority.klass = rt_ioprio_class_from_name(klass);
        if (proc->io_priority.klass < 0)
            return cm_json_error(err, p, "class", "unknown I/O priority class '%s'", klass);
        x = 0;
        if (cm_json_get_int64_range(obj, p, "priority", false, 0, 7, NULL, &x, err) < 0)
            return -1;
        proc->io_priority.priority = (int)x;
        proc->has_io_priority = true;
    }
    if (get_object(o, path, "execCPUAffinity", false, &obj, err) < 0)
        return -1;
    if (obj) {
        sub(p, path, "execCPUAffinity");
        if (dup_cpuset(obj, p, "initial", &proc->exec_cpu_affinity_initial, err) < 0 ||
            dup_cpuset(obj, p, "final", &proc->exec_cpu_affinity_final, err) < 0)
            return -1;
    }
    if (get_object(o, path, "scheduler", false, &obj, err) < 0)
        return -1;
    if (obj) {
        if (parse_scheduler(obj, sub(p, path, "scheduler"), &proc->scheduler, err) < 0)
            return -1;
        proc->has_scheduler = true;
    }
    return 0;
}

/* ---- mounts --------------------------------------------------------------- */

static int
parse_id_mappings(json_t *arr, const char *path, struct rt_id_mapping **ret, size_t *n,
                  struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *v;
    size_t i;

    *ret = alloc_for(arr, sizeof(**ret));
    json_array_foreach (arr, i, v) {
        struct rt_id_mapping *m = &(*ret)[i];
        subi(p, path, "", i);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        if (get_u32(v, p, "containerID", true, NULL, &m->container_id, err) < 0 ||
            get_u32(v, p, "hostID", true, NULL, &m->host_id, err) < 0 ||
            get_u32(v, p, "size", true, NULL, &m->size, err) < 0)
            return -1;
        if (m->size == 0)
            return cm_json_error(err, p, "size", "must be greater than 0");
        if ((uint64_t)m->container_id + m->size - 1 > UINT32_MAX ||
            (uint64_t)m->host_id + m->size - 1 > UINT32_MAX)
            return cm_json_error(err, p, "size", "range exceeds the 32-bit id space");
        *n = i + 1;
    }
    return 0;
}

static int
get_id_mappings(json_t *o, const char *path, const char *key, struct rt_id_mapping **ret, size_t *n,
                struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *arr;
    if (get_array(o, path, key, false, &arr, err) < 0)
        return -1;
    if (!arr)
        return 0;
    return parse_id_mappings(arr, sub(p, path, key), ret, n, err);
}

/* Folds the options into flags/clear/propagation/...; the rest becomes data. */
static void
mount_apply_options(struct rt_mount *m)
{
    size_t total = 0;
    char *d = NULL;

    for (char **o = m->options; o && *o; o++)
        total += strlen(*o) + 1;
    for (char **o = m->options; o && *o; o++) {
        const struct rt_mount_opt *opt = rt_mount_opt_lookup(*o);
        if (!opt) {
            if (!m->data)
                d = m->data = xmalloc(total);
            else
                *d++ = ',';
            size_t len = strlen(*o);
            memcpy(d, *o, len);
            d += len;
            *d = '\0';
            continue;
        }
        switch (opt->kind) {
        case RT_MOPT_FLAG:
        case RT_MOPT_BIND:
        case RT_MOPT_RBIND:
            m->flags = (m->flags & ~opt->clr) | opt->set;
            m->clear = (m->clear & ~opt->set) | opt->clr;
            if (opt->kind == RT_MOPT_BIND)
                m->bind = true;
            if (opt->kind == RT_MOPT_RBIND)
                m->bind = m->recursive = true;
            break;
        case RT_MOPT_PROP:
            m->propagation = opt->set;
            break;
        case RT_MOPT_REC_ATTR:
            m->rec_attr_set = (m->rec_attr_set & ~(uint64_t)opt->clr) | opt->set;
            m->rec_attr_clr = (m->rec_attr_clr & ~(uint64_t)opt->set) | opt->clr;
            break;
        case RT_MOPT_IDMAP:
            m->idmap = true;
            break;
        case RT_MOPT_RIDMAP:
            m->idmap = m->idmap_recursive = true;
            break;
        case RT_MOPT_IGNORED:
            break;
        }
    }
}

static int
parse_mount(json_t *o, const char *path, struct rt_mount *m, struct cm_error **err)
{
    const char *dest = NULL;

    if (!json_is_object(o))
        return cm_json_error(err, path, NULL, "expected an object");
    if (cm_json_get_string_max(o, path, "destination", true, RT_MAX_PATH - 2, &dest, err) < 0)
        return -1;
    if (!*dest)
        return cm_json_error(err, path, "destination", "must not be empty");
    /* Relative destinations are deprecated but allowed: relative to "/". */
    m->destination = is_abs(dest) ? xstrdup(dest) : xasprintf("/%s", dest);
    if (cm_json_dup_string_max(o, path, "source", false, RT_MAX_PATH - 1, &m->source, err) < 0 ||
        cm_json_dup_string_max(o, path, "type", false, 255, &m->type, err) < 0 ||
        get_strv(o, path, "options", false, RT_MAX_STRING, NULL, &m->options, err) < 0)
        return -1;
    if (get_id_mappings(o, path, "uidMappings", &m->uid_mappings, &m->n_uid_mappings, err) < 0 ||
        get_id_mappings(o, path, "gidMappings", &m->gid_mappings, &m->n_gid_mappings, err) < 0)
        return -1;
    mount_apply_options(m);
    return 0;
}

/* ---- hooks, annotations ------------------------------------------------- */

static const char *const hook_keys[RT_HOOK_KIND_COUNT] = {
    [RT_HOOK_PRESTART] = "prestart",
    [RT_HOOK_CREATE_RUNTIME] = "createRuntime",
    [RT_HOOK_CREATE_CONTAINER] = "createContainer",
    [RT_HOOK_START_CONTAINER] = "startContainer",
    [RT_HOOK_POSTSTART] = "poststart",
    [RT_HOOK_POSTSTOP] = "poststop",
};

static int
parse_hooks(json_t *o, const char *path, struct rt_hooks *h, struct cm_error **err)
{
    char p[PATH_BUF];

    for (int k = 0; k < RT_HOOK_KIND_COUNT; k++) {
        json_t *arr, *v;
        size_t i;
        if (get_array(o, path, hook_keys[k], false, &arr, err) < 0)
            return -1;
        if (!arr)
            continue;
        h->hooks[k] = alloc_for(arr, sizeof(struct rt_hook));
        json_array_foreach (arr, i, v) {
            struct rt_hook *hk = &h->hooks[k][i];
            int64_t t = 0;
            subi(p, path, hook_keys[k], i);
            if (!json_is_object(v))
                return cm_json_error(err, p, NULL, "expected an object");
            h->n_hooks[k] = i + 1;
            if (dup_path(v, p, "path", true, true, &hk->path, err) < 0 ||
                get_strv(v, p, "args", false, RT_MAX_STRING, NULL, &hk->args, err) < 0 ||
                get_strv(v, p, "env", false, RT_MAX_STRING, NULL, &hk->env, err) < 0)
                return -1;
            json_t *tv = cm_json_field(v, "timeout");
            if (tv) {
                if (cm_json_check_int64(tv, p, "timeout", INT64_MIN, INT64_MAX, &t, err) < 0)
                    return -1;
                if (t <= 0)
                    return cm_json_error(err, p, "timeout", "must be greater than 0");
                if (t > INT_MAX)
                    return cm_json_error(err, p, "timeout", "%" PRId64 " is out of range (max %d)",
                                         t, INT_MAX);
                hk->has_timeout = true;
                hk->timeout = (int)t;
            }
        }
    }
    return 0;
}

/* A string -> string object (annotations, sysctl, unified) into an array of
 * {char *key; char *value;} structs of size `stride` (*ret_arr, set even on
 * failure so that the caller frees what was filled). Keys must be non-empty
 * and pass check_key when given. */
typedef const char *(*key_check_fn)(const char *key);

static int
parse_string_map(json_t *obj, const char *path, key_check_fn check_key, void **ret_arr, size_t *n,
                 size_t stride, struct cm_error **err)
{
    const char *key;
    json_t *v;
    size_t i = 0;

    char *arr = xcalloc(json_object_size(obj) ? json_object_size(obj) : 1, stride);
    *ret_arr = arr;
    json_object_foreach (obj, key, v) {
        const char *s;
        if (!*key)
            return cm_error_set(err, 0, "%s: keys must not be empty", path);
        if (strlen(key) > RT_MAX_PATH - 1)
            return cm_error_set(err, 0, "%s: key too long (%zu bytes)", path, strlen(key));
        const char *bad = check_key ? check_key(key) : NULL;
        if (bad)
            return cm_error_set(err, 0, "%s['%s']: %s", path, key, bad);
        if (!json_is_string(v))
            return cm_error_set(err, 0, "%s['%s']: expected a string", path, key);
        if (json_string_length(v) > RT_MAX_STRING)
            return cm_error_set(err, 0, "%s['%s']: too long (%zu bytes, max %u)", path, key,
                                json_string_length(v), RT_MAX_STRING);
        s = json_string_value(v);
        char *k = xstrdup(key), *val = xstrdup(s);
        memcpy(arr + i * stride, &k, sizeof(k));
        memcpy(arr + i * stride + sizeof(char *), &val, sizeof(val));
        *n = ++i;
    }
    return 0;
}

/* ---- linux ---------------------------------------------------------------- */

static int
parse_namespaces(json_t *arr, const char *path, struct rt_linux *l, struct cm_error **err)
{
    char p[PATH_BUF];
    uint64_t seen = 0;
    json_t *v;
    size_t i;

    l->namespaces = alloc_for(arr, sizeof(*l->namespaces));
    json_array_foreach (arr, i, v) {
        struct rt_namespace *ns = &l->namespaces[i];
        const char *type = NULL;
        int t =
            typed_element(v, p, path, i, rt_ns_type_from_name, "namespace type", &seen, &type, err);
        if (t < 0)
            return -1;
        ns->type = (enum rt_ns_type)t;
        l->n_namespaces = i + 1;
        if (dup_path(v, p, "path", false, true, &ns->path, err) < 0)
            return -1;
    }
    return 0;
}

static int
parse_devices(json_t *arr, const char *path, struct rt_linux *l, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *v;
    size_t i;

    l->devices = alloc_for(arr, sizeof(*l->devices));
    json_array_foreach (arr, i, v) {
        struct rt_device *d = &l->devices[i];
        const char *type = NULL;
        uint64_t u = 0;
        subi(p, path, "", i);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        l->n_devices = i + 1;
        if (cm_json_get_string_max(v, p, "type", true, 8, &type, err) < 0)
            return -1;
        if (strlen(type) != 1 || !strchr("cbup", type[0]))
            return cm_json_error(err, p, "type", "unknown device type '%s' (c, b, u or p)", type);
        d->type = type[0];
        if (dup_path(v, p, "path", true, true, &d->path, err) < 0)
            return -1;
        bool need = d->type != 'p';
        d->major = d->minor = 0;
        if (cm_json_get_int64_range(v, p, "major", need, 0, INT64_MAX, NULL, &d->major, err) < 0 ||
            cm_json_get_int64_range(v, p, "minor", need, 0, INT64_MAX, NULL, &d->minor, err) < 0)
            return -1;
        if (cm_json_get_uint64_range(v, p, "fileMode", false, 07777, &d->has_mode, &u, err) < 0)
            return -1;
        d->mode = (mode_t)u;
        uint32_t id = 0;
        if (get_u32(v, p, "uid", false, &d->has_uid, &id, err) < 0)
            return -1;
        d->uid = id;
        if (get_u32(v, p, "gid", false, &d->has_gid, &id, err) < 0)
            return -1;
        d->gid = id;
    }
    return 0;
}

static int
parse_device_rules(json_t *arr, const char *path, struct rt_resources *r, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *v;
    size_t i;

    r->devices = alloc_for(arr, sizeof(*r->devices));
    json_array_foreach (arr, i, v) {
        struct rt_device_rule *d = &r->devices[i];
        const char *type = NULL, *access = NULL;
        subi(p, path, "", i);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        r->n_devices = i + 1;
        json_t *av = cm_json_field(v, "allow");
        if (!av)
            return missing(err, p, "allow");
        if (get_bool(v, p, "allow", &d->allow, err) < 0)
            return -1;
        if (cm_json_get_string_max(v, p, "type", false, 8, &type, err) < 0)
            return -1;
        d->type = 'a';
        if (type && *type) {
            if (strlen(type) != 1 || !strchr("acb", type[0]))
                return cm_json_error(err, p, "type", "unknown device type '%s' (a, c or b)", type);
            d->type = type[0];
        }
        d->major = d->minor = -1;
        if (cm_json_get_int64_range(v, p, "major", false, -1, INT64_MAX, NULL, &d->major, err) <
                0 ||
            cm_json_get_int64_range(v, p, "minor", false, -1, INT64_MAX, NULL, &d->minor, err) < 0)
            return -1;
        if (cm_json_get_string_max(v, p, "access", false, 16, &access, err) < 0)
            return -1;
        if (!access || !*access) {
            memcpy(d->access, "rwm", 4);
            continue;
        }
        bool rd = false, wr = false, mk = false;
        for (const char *c = access; *c; c++) {
            if (*c == 'r')
                rd = true;
            else if (*c == 'w')
                wr = true;
            else if (*c == 'm')
                mk = true;
            else
                return cm_json_error(err, p, "access", "invalid access '%s' (a subset of \"rwm\")",
                                     access);
        }
        char *a = d->access;
        if (rd)
            *a++ = 'r';
        if (wr)
            *a++ = 'w';
        if (mk)
            *a++ = 'm';
        *a = '\0';
    }
    return 0;
}

static int
parse_memory(json_t *o, const char *path, struct rt_memory *m, struct cm_error **err)
{
    if (cm_json_get_int64_range(o, path, "limit", false, INT64_MIN, INT64_MAX, &m->has_limit,
                                &m->limit, err) < 0 ||
        cm_json_get_int64_range(o, path, "reservation", false, INT64_MIN, INT64_MAX,
                                &m->has_reservation, &m->reservation, err) < 0 ||
        cm_json_get_int64_range(o, path, "swap", false, INT64_MIN, INT64_MAX, &m->has_swap,
                                &m->swap, err) < 0 ||
        cm_json_get_int64_range(o, path, "kernel", false, INT64_MIN, INT64_MAX, &m->has_kernel,
                                &m->kernel, err) < 0 ||
        cm_json_get_int64_range(o, path, "kernelTCP", false, INT64_MIN, INT64_MAX,
                                &m->has_kernel_tcp, &m->kernel_tcp, err) < 0 ||
        cm_json_get_uint64_range(o, path, "swappiness", false, 100, &m->has_swappiness,
                                 &m->swappiness, err) < 0)
        return -1;
    m->has_disable_oom_killer = cm_json_field(o, "disableOOMKiller") != NULL;
    m->has_use_hierarchy = cm_json_field(o, "useHierarchy") != NULL;
    m->has_check_before_update = cm_json_field(o, "checkBeforeUpdate") != NULL;
    if (get_bool(o, path, "disableOOMKiller", &m->disable_oom_killer, err) < 0 ||
        get_bool(o, path, "useHierarchy", &m->use_hierarchy, err) < 0 ||
        get_bool(o, path, "checkBeforeUpdate", &m->check_before_update, err) < 0)
        return -1;
    return 0;
}

static int
parse_cpu(json_t *o, const char *path, struct rt_cpu *c, struct cm_error **err)
{
    if (cm_json_get_uint64_range(o, path, "shares", false, UINT64_MAX, &c->has_shares, &c->shares,
                                 err) < 0 ||
        cm_json_get_int64_range(o, path, "quota", false, INT64_MIN, INT64_MAX, &c->has_quota,
                                &c->quota, err) < 0 ||
        cm_json_get_uint64_range(o, path, "burst", false, UINT64_MAX, &c->has_burst, &c->burst,
                                 err) < 0 ||
        cm_json_get_uint64_range(o, path, "period", false, UINT64_MAX, &c->has_period, &c->period,
                                 err) < 0 ||
        cm_json_get_int64_range(o, path, "realtimeRuntime", false, INT64_MIN, INT64_MAX,
                                &c->has_realtime_runtime, &c->realtime_runtime, err) < 0 ||
        cm_json_get_uint64_range(o, path, "realtimePeriod", false, UINT64_MAX,
                                 &c->has_realtime_period, &c->realtime_period, err) < 0 ||
        cm_json_get_int64_range(o, path, "idle", false, INT64_MIN, INT64_MAX, &c->has_idle,
                                &c->idle, err) < 0 ||
        dup_cpuset(o, path, "cpus", &c->cpus, err) < 0 ||
        dup_cpuset(o, path, "mems", &c->mems, err) < 0)
        return -1;
    return 0;
}

static int
parse_weight_devices(json_t *arr, const char *path, struct rt_blkio *b, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *v;
    size_t i;

    b->weight_device = alloc_for(arr, sizeof(*b->weight_device));
    json_array_foreach (arr, i, v) {
        struct rt_blkio_device *d = &b->weight_device[i];
        uint64_t u = 0;
        subi(p, path, "", i);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        b->n_weight_device = i + 1;
        if (cm_json_get_int64_range(v, p, "major", true, 0, INT64_MAX, NULL, &d->major, err) < 0 ||
            cm_json_get_int64_range(v, p, "minor", true, 0, INT64_MAX, NULL, &d->minor, err) < 0)
            return -1;
        if (cm_json_get_uint64_range(v, p, "weight", false, UINT16_MAX, &d->has_weight, &u, err) <
            0)
            return -1;
        d->weight = (uint16_t)u;
        if (cm_json_get_uint64_range(v, p, "leafWeight", false, UINT16_MAX, &d->has_leaf_weight, &u,
                                     err) < 0)
            return -1;
        d->leaf_weight = (uint16_t)u;
        if (!d->has_weight && !d->has_leaf_weight)
            return cm_json_error(err, p, NULL, "needs weight or leafWeight");
    }
    return 0;
}

static int
parse_throttle(json_t *o, const char *path, const char *key, struct rt_blkio_throttle **ret,
               size_t *n, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *arr, *v;
    size_t i;

    if (get_array(o, path, key, false, &arr, err) < 0)
        return -1;
    if (!arr)
        return 0;
    *ret = alloc_for(arr, sizeof(**ret));
    json_array_foreach (arr, i, v) {
        struct rt_blkio_throttle *t = &(*ret)[i];
        subi(p, path, key, i);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        *n = i + 1;
        if (cm_json_get_int64_range(v, p, "major", true, 0, INT64_MAX, NULL, &t->major, err) < 0 ||
            cm_json_get_int64_range(v, p, "minor", true, 0, INT64_MAX, NULL, &t->minor, err) < 0 ||
            cm_json_get_uint64_range(v, p, "rate", true, UINT64_MAX, NULL, &t->rate, err) < 0)
            return -1;
    }
    return 0;
}

static int
parse_blkio(json_t *o, const char *path, struct rt_blkio *b, struct cm_error **err)
{
    char p[PATH_BUF];
    uint64_t u = 0;
    json_t *arr;

    if (cm_json_get_uint64_range(o, path, "weight", false, UINT16_MAX, &b->has_weight, &u, err) < 0)
        return -1;
    b->weight = (uint16_t)u;
    if (cm_json_get_uint64_range(o, path, "leafWeight", false, UINT16_MAX, &b->has_leaf_weight, &u,
                                 err) < 0)
        return -1;
    b->leaf_weight = (uint16_t)u;
    if (get_array(o, path, "weightDevice", false, &arr, err) < 0)
        return -1;
    if (arr && parse_weight_devices(arr, sub(p, path, "weightDevice"), b, err) < 0)
        return -1;
    if (parse_throttle(o, path, "throttleReadBpsDevice", &b->throttle_read_bps,
                       &b->n_throttle_read_bps, err) < 0 ||
        parse_throttle(o, path, "throttleWriteBpsDevice", &b->throttle_write_bps,
                       &b->n_throttle_write_bps, err) < 0 ||
        parse_throttle(o, path, "throttleReadIOPSDevice", &b->throttle_read_iops,
                       &b->n_throttle_read_iops, err) < 0 ||
        parse_throttle(o, path, "throttleWriteIOPSDevice", &b->throttle_write_iops,
                       &b->n_throttle_write_iops, err) < 0)
        return -1;
    return 0;
}

/* "2MB", "1GB", "64KB": the hugetlb.<size>.limit_in_bytes spelling. Page
 * sizes are powers of two, so "3MB" cannot name a hugetlb controller file. */
static bool
valid_page_size(const char *s)
{
    const char *c = s;
    uint64_t n = 0;
    while (*c >= '0' && *c <= '9' && c - s < 10)
        n = n * 10 + (uint64_t)(*c++ - '0');
    return c != s && n && !(n & (n - 1)) && c[0] && strchr("KMGTP", c[0]) && c[1] == 'B' && !c[2];
}

static int
parse_hugepages(json_t *arr, const char *path, struct rt_resources *r, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *v;
    size_t i;

    r->hugepage_limits = alloc_for(arr, sizeof(*r->hugepage_limits));
    json_array_foreach (arr, i, v) {
        struct rt_hugepage_limit *h = &r->hugepage_limits[i];
        const char *ps = NULL;
        subi(p, path, "", i);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        r->n_hugepage_limits = i + 1;
        if (cm_json_get_string_max(v, p, "pageSize", true, 32, &ps, err) < 0)
            return -1;
        if (!valid_page_size(ps))
            return cm_json_error(err, p, "pageSize", "invalid page size '%s' (e.g. \"2MB\")", ps);
        h->page_size = xstrdup(ps);
        if (cm_json_get_uint64_range(v, p, "limit", true, UINT64_MAX, NULL, &h->limit, err) < 0)
            return -1;
    }
    return 0;
}

static int
parse_network(json_t *o, const char *path, struct rt_resources *r, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *arr, *v;
    size_t i;

    r->has_network = true;
    if (get_u32(o, path, "classID", false, &r->has_class_id, &r->class_id, err) < 0)
        return -1;
    if (get_array(o, path, "priorities", false, &arr, err) < 0)
        return -1;
    if (!arr)
        return 0;
    r->priorities = alloc_for(arr, sizeof(*r->priorities));
    json_array_foreach (arr, i, v) {
        struct rt_net_prio *np = &r->priorities[i];
        subi(p, path, "priorities", i);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        r->n_priorities = i + 1;
        if (cm_json_dup_string_max(v, p, "name", true, 15, &np->name, err) < 0 ||
            get_u32(v, p, "priority", true, NULL, &np->priority, err) < 0)
            return -1;
        if (!*np->name)
            return cm_json_error(err, p, "name", "must not be empty");
    }
    return 0;
}

/* cgroup v2 file names: one path component, so nothing escapes the cgroup. */
static const char *
check_unified_key(const char *key)
{
    if (strchr(key, '/') || strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
        return "must be a cgroup file name";
    return NULL;
}

static int
parse_rdma(json_t *obj, const char *path, struct rt_resources *r, struct cm_error **err)
{
    const char *key;
    json_t *v;
    size_t i = 0;

    r->rdma = xcalloc(json_object_size(obj) ? json_object_size(obj) : 1, sizeof(*r->rdma));
    json_object_foreach (obj, key, v) {
        struct rt_rdma *d = &r->rdma[i];
        cleanup_free char *p = NULL;
        if (!*key || strchr(key, '/') || strlen(key) > 255)
            return cm_error_set(err, 0, "%s: invalid device name '%.64s'", path, key);
        p = xasprintf("%s['%s']", path, key);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        d->device = xstrdup(key);
        r->n_rdma = ++i;
        if (get_u32(v, p, "hcaHandles", false, &d->has_hca_handles, &d->hca_handles, err) < 0 ||
            get_u32(v, p, "hcaObjects", false, &d->has_hca_objects, &d->hca_objects, err) < 0)
            return -1;
        if (!d->has_hca_handles && !d->has_hca_objects)
            return cm_json_error(err, p, NULL, "needs hcaHandles or hcaObjects");
    }
    return 0;
}

static int
parse_resources(json_t *o, const char *path, struct rt_resources *r, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *obj, *arr;

    if (get_array(o, path, "devices", false, &arr, err) < 0)
        return -1;
    if (arr && parse_device_rules(arr, sub(p, path, "devices"), r, err) < 0)
        return -1;
    if (get_object(o, path, "memory", false, &obj, err) < 0)
        return -1;
    if (obj) {
        r->has_memory = true;
        if (parse_memory(obj, sub(p, path, "memory"), &r->memory, err) < 0)
            return -1;
    }
    if (get_object(o, path, "cpu", false, &obj, err) < 0)
        return -1;
    if (obj) {
        r->has_cpu = true;
        if (parse_cpu(obj, sub(p, path, "cpu"), &r->cpu, err) < 0)
            return -1;
    }
    if (get_object(o, path, "pids", false, &obj, err) < 0)
        return -1;
    if (obj) {
        if (cm_json_get_int64_range(obj, sub(p, path, "pids"), "limit", true, INT64_MIN, INT64_MAX,
                                    NULL, &r->pids_limit, err) < 0)
            return -1;
        r->has_pids = true;
    }
    if (get_object(o, path, "blockIO", false, &obj, err) < 0)
        return -1;
    if (obj) {
        r->has_blkio = true;
        if (parse_blkio(obj, sub(p, path, "blockIO"), &r->blkio, err) < 0)
            return -1;
    }
    if (get_array(o, path, "hugepageLimits", false, &arr, err) < 0)
        return -1;
    if (arr && parse_hugepages(arr, sub(p, path, "hugepageLimits"), r, err) < 0)
        return -1;
    if (get_object(o, path, "network", false, &obj, err) < 0)
        return -1;
    if (obj && parse_network(obj, sub(p, path, "network"), r, err) < 0)
        return -1;
    if (get_object(o, path, "rdma", false, &obj, err) < 0)
        return -1;
    if (obj && parse_rdma(obj, sub(p, path, "rdma"), r, err) < 0)
        return -1;
    if (get_object(o, path, "unified", false, &obj, err) < 0)
        return -1;
    if (obj) {
        void *arr_out = NULL;
        int rc = parse_string_map(obj, sub(p, path, "unified"), check_unified_key, &arr_out,
                                  &r->n_unified, sizeof(*r->unified), err);
        r->unified = arr_out;
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int
parse_seccomp_args(json_t *arr, const char *path, struct rt_seccomp_syscall *sc,
                   struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *v;
    size_t i;

    sc->args = alloc_for(arr, sizeof(*sc->args));
    json_array_foreach (arr, i, v) {
        struct rt_seccomp_arg *a = &sc->args[i];
        const char *op = NULL;
        uint64_t idx = 0;
        subi(p, path, "", i);
        if (!json_is_object(v))
            return cm_json_error(err, p, NULL, "expected an object");
        sc->n_args = i + 1;
        if (cm_json_get_uint64_range(v, p, "index", true, 5, NULL, &idx, err) < 0)
            return -1;
        a->index = (unsigned)idx;
        if (cm_json_get_uint64_range(v, p, "value", true, UINT64_MAX, NULL, &a->value, err) < 0 ||
            cm_json_get_uint64_range(v, p, "valueTwo", false, UINT64_MAX, NULL, &a->value_two,
                                     err) < 0 ||
            cm_json_get_string_max(v, p, "op", true, 64, &op, err) < 0)
            return -1;
        int o = rt_seccomp_op_from_name(op);
        if (o < 0)
            return cm_json_error(err, p, "op", "unknown operator '%s'", op);
        a->op = (enum rt_seccomp_op)o;
    }
    return 0;
}

static int
get_action(json_t *o, const char *path, const char *key, enum rt_seccomp_action *ret,
           struct cm_error **err)
{
    const char *name = NULL;
    if (cm_json_get_string_max(o, path, key, true, 64, &name, err) < 0)
        return -1;
    int a = rt_seccomp_action_from_name(name);
    if (a < 0)
        return cm_json_error(err, path, key, "unknown action '%s'", name);
    *ret = (enum rt_seccomp_action)a;
    return 0;
}

/* errnoRet only makes sense where the action returns an errno (spec: error). */
static int
get_errno_ret(json_t *o, const char *path, const char *key, enum rt_seccomp_action action,
              bool *has, uint32_t *ret, struct cm_error **err)
{
    if (get_u32(o, path, key, false, has, ret, err) < 0)
        return -1;
    if (*has && action != RT_SCMP_ERRNO && action != RT_SCMP_TRACE)
        return cm_json_error(err, path, key,
                             "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s",
                             rt_seccomp_action_name(action));
    return 0;
}

static const char *
check_arch(const char *s)
{
    for (size_t i = 0; i < rt_n_seccomp_archs; i++)
        if (strcmp(rt_seccomp_archs[i], s) == 0)
            return NULL;
    return "unknown architecture";
}

static const char *
check_flag(const char *s)
{
    for (size_t i = 0; i < rt_n_seccomp_flags; i++)
        if (strcmp(rt_seccomp_flags[i], s) == 0)
            return NULL;
    return "unknown seccomp flag";
}

static int
parse_seccomp(json_t *o, const char *path, struct rt_seccomp *s, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *arr, *v;
    size_t i;
    bool notify = false;

    if (get_action(o, path, "defaultAction", &s->default_action, err) < 0 ||
        get_errno_ret(o, path, "defaultErrnoRet", s->default_action, &s->has_default_errno_ret,
                      &s->default_errno_ret, err) < 0)
        return -1;
    if (s->default_action == RT_SCMP_NOTIFY)
        return cm_json_error(err, path, "defaultAction",
                             "SCMP_ACT_NOTIFY cannot be the default action");
    if (get_strv(o, path, "architectures", false, 64, NULL, &s->architectures, err) < 0 ||
        get_strv(o, path, "flags", false, 64, NULL, &s->flags, err) < 0)
        return -1;
    /* Checked here rather than through get_strv's hook to name the value. */
    for (size_t k = 0; s->architectures && s->architectures[k]; k++)
        if (check_arch(s->architectures[k]))
            return cm_json_error(err, subi(p, path, "architectures", k), NULL,
                                 "unknown architecture '%s'", s->architectures[k]);
    for (size_t k = 0; s->flags && s->flags[k]; k++)
        if (check_flag(s->flags[k]))
            return cm_json_error(err, subi(p, path, "flags", k), NULL, "unknown seccomp flag '%s'",
                                 s->flags[k]);
    if (dup_path(o, path, "listenerPath", false, false, &s->listener_path, err) < 0 ||
        cm_json_dup_string_max(o, path, "listenerMetadata", false, RT_MAX_STRING,
                               &s->listener_metadata, err) < 0)
        return -1;
    if (get_array(o, path, "syscalls", false, &arr, err) < 0)
        return -1;
    if (arr) {
        s->syscalls = alloc_for(arr, sizeof(*s->syscalls));
        json_array_foreach (arr, i, v) {
            struct rt_seccomp_syscall *sc = &s->syscalls[i];
            json_t *args;
            subi(p, path, "syscalls", i);
            if (!json_is_object(v))
                return cm_json_error(err, p, NULL, "expected an object");
            s->n_syscalls = i + 1;
            if (get_strv(v, p, "names", true, 128, NULL, &sc->names, err) < 0)
                return -1;
            if (!sc->names[0])
                return cm_json_error(err, p, "names", "must contain at least one element");
            if (get_action(v, p, "action", &sc->action, err) < 0 ||
                get_errno_ret(v, p, "errnoRet", sc->action, &sc->has_errno_ret, &sc->errno_ret,
                              err) < 0)
                return -1;
            notify |= sc->action == RT_SCMP_NOTIFY;
            if (get_array(v, p, "args", false, &args, err) < 0)
                return -1;
            if (args) {
                char ap[PATH_BUF];
                if (parse_seccomp_args(args, sub(ap, p, "args"), sc, err) < 0)
                    return -1;
            }
        }
    }
    if (notify && !s->listener_path)
        return cm_json_error(err, path, "listenerPath", "required when SCMP_ACT_NOTIFY is used");
    if (s->listener_metadata && !s->listener_path)
        return cm_json_error(err, path, "listenerMetadata", "set without listenerPath");
    return 0;
}

/* sysctl keys name files below /proc/sys: "net.ipv4.ip_forward" or with
 * slashes; nothing may climb out of it. */
static const char *
check_sysctl_key(const char *key)
{
    if (key[0] == '/' || key[0] == '.')
        return "invalid sysctl name";
    for (const char *c = key; *c; c++)
        if ((c[0] == '/' && (c[1] == '.' || c[1] == '/' || !c[1])))
            return "invalid sysctl name";
    return NULL;
}

static int
parse_time_offset(json_t *o, const char *path, const char *key, struct rt_time_offset *t,
                  struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *obj;
    if (get_object(o, path, key, false, &obj, err) < 0)
        return -1;
    if (!obj)
        return 0;
    sub(p, path, key);
    uint64_t ns = 0;
    if (cm_json_get_int64_range(obj, p, "secs", false, INT64_MIN, INT64_MAX, NULL, &t->secs, err) <
            0 ||
        cm_json_get_uint64_range(obj, p, "nanosecs", false, 999999999, NULL, &ns, err) < 0)
        return -1;
    t->nanosecs = (uint32_t)ns;
    t->present = true;
    return 0;
}

static int
parse_linux(json_t *o, const char *path, struct rt_linux *l, struct cm_error **err)
{
    char p[PATH_BUF];
    const char *s = NULL;
    json_t *obj, *arr;

    if (get_array(o, path, "namespaces", false, &arr, err) < 0)
        return -1;
    if (arr && parse_namespaces(arr, sub(p, path, "namespaces"), l, err) < 0)
        return -1;
    if (get_id_mappings(o, path, "uidMappings", &l->uid_mappings, &l->n_uid_mappings, err) < 0 ||
        get_id_mappings(o, path, "gidMappings", &l->gid_mappings, &l->n_gid_mappings, err) < 0)
        return -1;
    if (get_object(o, path, "timeOffsets", false, &obj, err) < 0)
        return -1;
    if (obj) {
        sub(p, path, "timeOffsets");
        char tp[PATH_BUF];
        memcpy(tp, p, sizeof(tp));
        if (parse_time_offset(obj, tp, "monotonic", &l->time_monotonic, err) < 0 ||
            parse_time_offset(obj, tp, "boottime", &l->time_boottime, err) < 0)
            return -1;
    }
    if (get_array(o, path, "devices", false, &arr, err) < 0)
        return -1;
    if (arr && parse_devices(arr, sub(p, path, "devices"), l, err) < 0)
        return -1;
    if (cm_json_get_string_max(o, path, "cgroupsPath", false, RT_MAX_PATH - 1, &s, err) < 0)
        return -1;
    if (s && *s)
        l->cgroups_path = xstrdup(s);
    if (get_object(o, path, "resources", false, &obj, err) < 0)
        return -1;
    if (obj) {
        l->has_resources = true;
        if (parse_resources(obj, sub(p, path, "resources"), &l->resources, err) < 0)
            return -1;
    }
    s = NULL;
    if (cm_json_get_string_max(o, path, "rootfsPropagation", false, 64, &s, err) < 0)
        return -1;
    if (s && *s) {
        int prop = rt_rootfs_propagation_from_name(s);
        if (prop < 0)
            return cm_json_error(err, path, "rootfsPropagation", "unknown propagation '%s'", s);
        l->rootfs_propagation = (enum rt_rootfs_propagation)prop;
    }
    if (get_object(o, path, "seccomp", false, &obj, err) < 0)
        return -1;
    if (obj) {
        l->seccomp = xcalloc(1, sizeof(*l->seccomp));
        if (parse_seccomp(obj, sub(p, path, "seccomp"), l->seccomp, err) < 0)
            return -1;
    }
    if (get_object(o, path, "sysctl", false, &obj, err) < 0)
        return -1;
    if (obj) {
        void *arr_out = NULL;
        int rc = parse_string_map(obj, sub(p, path, "sysctl"), check_sysctl_key, &arr_out,
                                  &l->n_sysctl, sizeof(*l->sysctl), err);
        l->sysctl = arr_out;
        if (rc < 0)
            return -1;
    }
    if (get_strv(o, path, "maskedPaths", false, RT_MAX_PATH - 1, check_abs, &l->masked_paths, err) <
            0 ||
        get_strv(o, path, "readonlyPaths", false, RT_MAX_PATH - 1, check_abs, &l->readonly_paths,
                 err) < 0)
        return -1;
    if (cm_json_dup_string_max(o, path, "mountLabel", false, RT_MAX_PATH - 1, &l->mount_label,
                               err) < 0)
        return -1;
    if (get_object(o, path, "personality", false, &obj, err) < 0)
        return -1;
    if (obj) {
        sub(p, path, "personality");
        if (cm_json_get_string_max(obj, p, "domain", true, 16, &s, err) < 0)
            return -1;
        if (strcmp(s, "LINUX") != 0 && strcmp(s, "LINUX32") != 0)
            return cm_json_error(err, p, "domain",
                                 "unknown personality domain '%s' (LINUX or LINUX32)", s);
        l->has_personality = true;
        l->personality_domain = xstrdup(s);
        if (get_strv(obj, p, "flags", false, 64, NULL, &l->personality_flags, err) < 0)
            return -1;
        /* The spec defines no flag yet: any value is unsupported. */
        if (l->personality_flags && l->personality_flags[0]) {
            char fp[PATH_BUF];
            return cm_json_error(err, subi(fp, p, "flags", 0), NULL,
                                 "unknown personality flag '%s'", l->personality_flags[0]);
        }
    }
    if (get_object(o, path, "intelRdt", false, &obj, err) < 0)
        return -1;
    if (obj) {
        sub(p, path, "intelRdt");
        l->has_intel_rdt = true;
        if (cm_json_dup_string_max(obj, p, "closID", false, 255, &l->intel_rdt_clos_id, err) < 0 ||
            cm_json_dup_string_max(obj, p, "l3CacheSchema", false, RT_MAX_PATH,
                                   &l->intel_rdt_l3_cache_schema, err) < 0 ||
            cm_json_dup_string_max(obj, p, "memBwSchema", false, RT_MAX_PATH,
                                   &l->intel_rdt_mem_bw_schema, err) < 0 ||
            cm_json_dup_string_max(obj, p, "schemata", false, RT_MAX_STRING, &l->intel_rdt_schemata,
                                   err) < 0 ||
            get_bool(obj, p, "enableCMT", &l->intel_rdt_enable_cmt, err) < 0 ||
            get_bool(obj, p, "enableMBM", &l->intel_rdt_enable_mbm, err) < 0)
            return -1;
        if (l->intel_rdt_mem_bw_schema && (strncmp(l->intel_rdt_mem_bw_schema, "MB:", 3) != 0 ||
                                           strchr(l->intel_rdt_mem_bw_schema, '\n')))
            return cm_json_error(err, p, "memBwSchema", "must start with \"MB:\" and be one line");
        if (l->intel_rdt_clos_id &&
            (strchr(l->intel_rdt_clos_id, '/') || strcmp(l->intel_rdt_clos_id, ".") == 0 ||
             strcmp(l->intel_rdt_clos_id, "..") == 0))
            return cm_json_error(err, p, "closID", "must be a plain directory name");
    }
    return 0;
}

/* Rules spanning fields. Setting a hostname without a UTS namespace of the
 * container's own would rename the host: refused before anything is created. */
static int
check_cross_fields(const struct rt_config *c, struct cm_error **err)
{
    if ((c->hostname && *c->hostname) && !rt_config_namespace(c, RT_NS_UTS))
        return cm_error_set(err, 0,
                            "hostname: setting it needs a UTS namespace "
                            "(linux.namespaces)");
    if ((c->domainname && *c->domainname) && !rt_config_namespace(c, RT_NS_UTS))
        return cm_error_set(err, 0,
                            "domainname: setting it needs a UTS namespace "
                            "(linux.namespaces)");
    if ((c->linux_.time_monotonic.present || c->linux_.time_boottime.present) &&
        !rt_config_namespace(c, RT_NS_TIME))
        return cm_error_set(err, 0, "linux.timeOffsets: given without a time namespace");
    if ((c->linux_.time_monotonic.present || c->linux_.time_boottime.present) &&
        rt_config_namespace(c, RT_NS_TIME)->path)
        return cm_error_set(err, 0,
                            "linux.timeOffsets: a joined time namespace (path) keeps its offsets");
    return 0;
}

/* SemVer 2.0.0 identifiers: [0-9A-Za-z-]+, numeric ones without leading zeros
 * when `numeric_rule`. Returns the end of the dot-separated list or NULL. */
static const char *
semver_idents(const char *s, bool numeric_rule)
{
    for (;;) {
        const char *start = s;
        bool digits_only = true;
        while ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
               *s == '-') {
            digits_only &= *s >= '0' && *s <= '9';
            s++;
        }
        if (s == start || (numeric_rule && digits_only && *start == '0' && s - start > 1))
            return NULL;
        if (*s != '.')
            return s;
        s++;
    }
}

/* ociVersion: "MAJOR.MINOR.PATCH[-pre][+build]" with MAJOR 0 or 1 (spec:
 * SemVer, compatible within a major version). */
static int
check_oci_version(const char *v, struct cm_error **err)
{
    const char *s = v;
    unsigned long part[3];
    for (int i = 0; i < 3; i++) {
        if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9'))
            return cm_error_set(err, 0, "ociVersion: '%s' is not a SemVer version", v);
        char *end;
        part[i] = strtoul(s, &end, 10);
        s = end;
        if (i < 2 && *s++ != '.')
            return cm_error_set(err, 0, "ociVersion: '%s' is not a SemVer version", v);
    }
    if (*s == '-')
        s = semver_idents(s + 1, true);
    if (s && *s == '+')
        s = semver_idents(s + 1, false);
    if (!s || *s)
        return cm_error_set(err, 0, "ociVersion: '%s' is not a SemVer version", v);
    /* 0.x drafts (the spec's own example says "0.5.0-dev") read like 1.x. */
    if (part[0] > 1)
        return cm_error_set(err, 0, "ociVersion: version '%s' is not supported (1.x only)", v);
    return 0;
}

static int
config_from_json(json_t *root, struct rt_config *c, struct cm_error **err)
{
    char p[PATH_BUF];
    json_t *obj, *arr, *v;
    size_t i;

    if (!json_is_object(root))
        return cm_error_set(err, 0, "expected a JSON object at the top level");
    if (cm_json_dup_string_max(root, "", "ociVersion", true, 64, &c->oci_version, err) < 0)
        return -1;
    if (check_oci_version(c->oci_version, err) < 0)
        return -1;
    if (get_object(root, "", "process", false, &obj, err) < 0)
        return -1;
    if (obj) {
        c->has_process = true;
        if (parse_process(obj, "process", &c->process, err) < 0)
            return -1;
    }
    if (get_object(root, "", "root", true, &obj, err) < 0 ||
        dup_path(obj, "root", "path", true, false, &c->root.path, err) < 0 ||
        get_bool(obj, "root", "readonly", &c->root.readonly, err) < 0)
        return -1;
    /* sethostname/setdomainname take at most 64 bytes (__NEW_UTS_LEN). */
    if (cm_json_dup_string_max(root, "", "hostname", false, 64, &c->hostname, err) < 0 ||
        cm_json_dup_string_max(root, "", "domainname", false, 64, &c->domainname, err) < 0)
        return -1;
    if (get_array(root, "", "mounts", false, &arr, err) < 0)
        return -1;
    if (arr) {
        c->mounts = alloc_for(arr, sizeof(*c->mounts));
        json_array_foreach (arr, i, v) {
            c->n_mounts = i + 1;
            if (parse_mount(v, subi(p, "", "mounts", i), &c->mounts[i], err) < 0)
                return -1;
        }
    }
    if (get_object(root, "", "hooks", false, &obj, err) < 0)
        return -1;
    if (obj && parse_hooks(obj, "hooks", &c->hooks, err) < 0)
        return -1;
    if (get_object(root, "", "annotations", false, &obj, err) < 0)
        return -1;
    if (obj) {
        void *arr_out = NULL;
        int rc = parse_string_map(obj, "annotations", NULL, &arr_out, &c->n_annotations,
                                  sizeof(*c->annotations), err);
        c->annotations = arr_out;
        if (rc < 0)
            return -1;
    }
    if (get_object(root, "", "linux", false, &obj, err) < 0)
        return -1;
    if (obj && parse_linux(obj, "linux", &c->linux_, err) < 0)
        return -1;
    return check_cross_fields(c, err);
}

/* Loads JSON text with the size limit and the big-integer fallback. */
static int
load_json(const char *buf, size_t len, const char *name, json_t **ret, struct cm_error **err)
{
    if (len > RT_CONFIG_MAX_BYTES)
        return cm_error_set(err, EFBIG, "%s: too large (%zu bytes, max %u)", name, len,
                            RT_CONFIG_MAX_BYTES);
    return cm_json_loadb_wide(buf, len, name, ret, err);
}

int
rt_config_parse(const char *buf, size_t len, const char *name, struct rt_config **ret,
                struct cm_error **err)
{
    json_auto_t *root = NULL;
    cleanup_rt_config struct rt_config *c = NULL;

    if (!name)
        name = "config.json";
    if (load_json(buf, len, name, &root, err) < 0)
        return -1;
    c = xcalloc(1, sizeof(*c));
    int r = config_from_json(root, c, err);
    cm_json_set_ints_as_real(false);
    if (r < 0)
        return cm_error_wrap(err, "%s", name);
    *ret = TAKE_PTR(c);
    return 0;
}

int
rt_config_load(const char *bundle, struct rt_config **ret, struct cm_error **err)
{
    cleanup_free char *path = xasprintf("%s/config.json", bundle);
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (cm_read_file_at(AT_FDCWD, path, RT_CONFIG_MAX_BYTES, &buf, &len, err) < 0)
        return -1;
    return rt_config_parse(buf, len, path, ret, err);
}

int
rt_process_parse(const char *buf, size_t len, const char *name, struct rt_process *ret,
                 struct cm_error **err)
{
    json_auto_t *root = NULL;
    struct rt_process p = {0};

    if (!name)
        name = "process.json";
    if (load_json(buf, len, name, &root, err) < 0)
        return -1;
    int r = json_is_object(root) ? parse_process(root, "", &p, err)
                                 : cm_error_set(err, 0, "expected a JSON object at the top level");
    cm_json_set_ints_as_real(false);
    if (r < 0) {
        rt_process_done(&p);
        return cm_error_wrap(err, "%s", name);
    }
    *ret = p;
    return 0;
}

int
rt_resources_parse(const char *buf, size_t len, const char *name, struct rt_resources *ret,
                   struct cm_error **err)
{
    json_auto_t *root = NULL;
    struct rt_resources r = {0};

    if (!name)
        name = "resources.json";
    if (load_json(buf, len, name, &root, err) < 0)
        return -1;
    int rc = json_is_object(root) ? parse_resources(root, "", &r, err)
                                  : cm_error_set(err, 0, "expected a JSON object at the top level");
    cm_json_set_ints_as_real(false);
    if (rc < 0) {
        rt_resources_done(&r);
        return cm_error_wrap(err, "%s", name);
    }
    *ret = r;
    return 0;
}

/* ---- freeing -------------------------------------------------------------- */

void
rt_process_done(struct rt_process *p)
{
    if (!p)
        return;
    free(p->user.additional_gids);
    free(p->user.username);
    cm_strv_free(p->args);
    free(p->command_line);
    cm_strv_free(p->env);
    free(p->cwd);
    for (size_t i = 0; i < p->n_rlimits; i++)
        free(p->rlimits[i].type);
    free(p->rlimits);
    free(p->apparmor_profile);
    free(p->selinux_label);
    free(p->exec_cpu_affinity_initial);
    free(p->exec_cpu_affinity_final);
    *p = (struct rt_process){0};
}

void
rt_resources_done(struct rt_resources *r)
{
    if (!r)
        return;
    free(r->devices);
    free(r->cpu.cpus);
    free(r->cpu.mems);
    free(r->blkio.weight_device);
    free(r->blkio.throttle_read_bps);
    free(r->blkio.throttle_write_bps);
    free(r->blkio.throttle_read_iops);
    free(r->blkio.throttle_write_iops);
    for (size_t i = 0; i < r->n_hugepage_limits; i++)
        free(r->hugepage_limits[i].page_size);
    free(r->hugepage_limits);
    for (size_t i = 0; i < r->n_priorities; i++)
        free(r->priorities[i].name);
    free(r->priorities);
    for (size_t i = 0; i < r->n_unified; i++) {
        free(r->unified[i].key);
        free(r->unified[i].value);
    }
    free(r->unified);
    for (size_t i = 0; i < r->n_rdma; i++)
        free(r->rdma[i].device);
    free(r->rdma);
    *r = (struct rt_resources){0};
}

static void
linux_done(struct rt_linux *l)
{
    for (size_t i = 0; i < l->n_namespaces; i++)
        free(l->namespaces[i].path);
    free(l->namespaces);
    free(l->uid_mappings);
    free(l->gid_mappings);
    for (size_t i = 0; i < l->n_devices; i++)
        free(l->devices[i].path);
    free(l->devices);
    free(l->cgroups_path);
    rt_resources_done(&l->resources);
    rt_seccomp_profile_free(l->seccomp); /* frees what the parser built too */
    for (size_t i = 0; i < l->n_sysctl; i++) {
        free(l->sysctl[i].key);
        free(l->sysctl[i].value);
    }
    free(l->sysctl);
    cm_strv_free(l->masked_paths);
    cm_strv_free(l->readonly_paths);
    free(l->mount_label);
    free(l->personality_domain);
    cm_strv_free(l->personality_flags);
    free(l->intel_rdt_clos_id);
    free(l->intel_rdt_l3_cache_schema);
    free(l->intel_rdt_mem_bw_schema);
    free(l->intel_rdt_schemata);
}

void
rt_config_free(struct rt_config *c)
{
    if (!c)
        return;
    free(c->oci_version);
    rt_process_done(&c->process);
    free(c->root.path);
    free(c->hostname);
    free(c->domainname);
    for (size_t i = 0; i < c->n_mounts; i++) {
        struct rt_mount *m = &c->mounts[i];
        free(m->destination);
        free(m->source);
        free(m->type);
        cm_strv_free(m->options);
        free(m->data);
        free(m->uid_mappings_unused);
        free(m->uid_mappings);
        free(m->gid_mappings);
    }
    free(c->mounts);
    for (int k = 0; k < RT_HOOK_KIND_COUNT; k++) {
        for (size_t i = 0; i < c->hooks.n_hooks[k]; i++) {
            free(c->hooks.hooks[k][i].path);
            cm_strv_free(c->hooks.hooks[k][i].args);
            cm_strv_free(c->hooks.hooks[k][i].env);
        }
        free(c->hooks.hooks[k]);
    }
    for (size_t i = 0; i < c->n_annotations; i++) {
        free(c->annotations[i].key);
        free(c->annotations[i].value);
    }
    free(c->annotations);
    linux_done(&c->linux_);
    free(c);
}

const struct rt_namespace *
rt_config_namespace(const struct rt_config *c, enum rt_ns_type t)
{
    for (size_t i = 0; i < c->linux_.n_namespaces; i++)
        if (c->linux_.namespaces[i].type == t)
            return &c->linux_.namespaces[i];
    return NULL;
}
