/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v2 backend (pure v2 hosts) and the v2 writers the hybrid backend
 * borrows for the unified hierarchy. Every path hangs off the hierarchy's
 * directory fds, so the unit tests run it against a fake tree. Mapping
 * tables and conversions: docs/cgroups.md. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/xalloc.h"

/* What a pure v2 container cgroup gets enabled down its path. */
#define V2_WANTED                                                                                  \
    (CG_CPU | CG_CPUSET | CG_IO | CG_MEMORY | CG_PIDS | CG_HUGETLB | CG_RDMA | CG_MISC)

static const struct {
    const char *name;
    unsigned bit;
} v2_names[] = {
    {"cpuset", CG_CPUSET},   {"cpu", CG_CPU},   {"io", CG_IO},     {"memory", CG_MEMORY},
    {"hugetlb", CG_HUGETLB}, {"pids", CG_PIDS}, {"rdma", CG_RDMA}, {"misc", CG_MISC},
};

uint64_t
cg_shares_to_weight(uint64_t shares)
{
    /* runc's linear map of cpu.shares [2, 262144] onto cpu.weight [1, 10000];
     * 0 means unset. */
    if (shares == 0)
        return 0;
    if (shares < 2)
        shares = 2;
    if (shares > 262144)
        shares = 262144;
    return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t
cg_blkio_to_io_weight(uint64_t weight)
{
    /* blkio.weight [10, 1000] onto io.weight [1, 10000]; 0 means unset. */
    if (weight == 0)
        return 0;
    if (weight < 10)
        weight = 10;
    if (weight > 1000)
        weight = 1000;
    return 1 + ((weight - 10) * 9999) / 990;
}

int
cg_swap_to_v2(const struct rt_memory *m, bool *ret_set, int64_t *ret, struct cm_error **err)
{
    int64_t limit = m->has_limit ? m->limit : 0;
    int64_t swap = m->has_swap ? m->swap : 0;

    *ret_set = false;
    /* v1 compatibility: unlimited memory with no swap given = unlimited swap */
    if (limit == -1 && swap == 0) {
        *ret_set = true;
        *ret = -1;
        return 0;
    }
    if (swap == 0)
        return 0; /* unset */
    if (swap == -1) {
        *ret_set = true;
        *ret = -1;
        return 0;
    }
    if (swap < -1)
        return cm_error_set(err, 0, "memory.swap %" PRId64 " is invalid", swap);
    if (limit == 0 || limit == -1)
        return cm_error_set(err, 0, "memory.swap needs a memory.limit on cgroup v2");
    if (limit < 0)
        return cm_error_set(err, 0, "memory.limit %" PRId64 " is invalid", limit);
    if (swap < limit)
        return cm_error_set(err, 0,
                            "memory.swap (%" PRId64 ") is lower than memory.limit (%" PRId64
                            "): it counts memory+swap",
                            swap, limit);
    *ret_set = true;
    *ret = swap - limit;
    return 0;
}

int
cg_check_page_size(const char *size, struct cm_error **err)
{
    const char *p = size;
    if (!p || !*p)
        return cm_error_set(err, 0, "hugepageLimits: empty pageSize");
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == size || (strcmp(p, "KB") != 0 && strcmp(p, "MB") != 0 && strcmp(p, "GB") != 0) ||
        strlen(size) > 24)
        return cm_error_set(err, 0, "hugepageLimits: invalid pageSize '%.32s'", size);
    return 0;
}

int
cg_check_unified_key(const char *key, struct cm_error **err)
{
    if (!key || !*key || strlen(key) > 128)
        return cm_error_set(err, 0, "unified: invalid key");
    if (strchr(key, '/') || strstr(key, "..") || key[0] == '.')
        return cm_error_set(err, 0, "unified: key '%s' must be a file name in the cgroup", key);
    if (!strchr(key, '.'))
        return cm_error_set(err, 0, "unified: key '%s' is not a controller file", key);
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return cm_error_set(err, 0, "unified: key '%s' has invalid characters", key);
    /* membership and kill are the runtime's business, not a setting */
    if (!strcmp(key, "cgroup.procs") || !strcmp(key, "cgroup.threads") ||
        !strcmp(key, "cgroup.kill") || !strcmp(key, "cgroup.subtree_control") ||
        !strcmp(key, "cgroup.freeze"))
        return cm_error_set(err, 0, "unified: key '%s' may not be set", key);
    return 0;
}

/* Adds the wanted controllers to dfd's cgroup.subtree_control when the level
 * offers them and has not enabled them yet. */
static int
enable_level(int dfd, const char *dir, unsigned want, struct cm_error **err)
{
    char avail_s[512], have_s[512], cmd[256];
    unsigned avail = 0, have = 0;

    if (cg_read_at(dfd, dir, "cgroup.controllers", avail_s, sizeof(avail_s), err) < 0 ||
        cg_read_at(dfd, dir, "cgroup.subtree_control", have_s, sizeof(have_s), err) < 0)
        return -1;
    for (size_t i = 0; i < sizeof(v2_names) / sizeof(v2_names[0]); i++) {
        size_t len = strlen(v2_names[i].name);
        for (const char *s = avail_s; (s = strstr(s, v2_names[i].name)); s += len)
            if ((s == avail_s || s[-1] == ' ') && (s[len] == ' ' || s[len] == '\0'))
                avail |= v2_names[i].bit;
        for (const char *s = have_s; (s = strstr(s, v2_names[i].name)); s += len)
            if ((s == have_s || s[-1] == ' ' || s[-1] == '+') && (s[len] == ' ' || s[len] == '\0'))
                have |= v2_names[i].bit;
    }
    unsigned todo = want & avail & ~have;
    if (!todo)
        return 0;
    cmd[0] = '\0';
    for (size_t i = 0; i < sizeof(v2_names) / sizeof(v2_names[0]); i++)
        if (todo & v2_names[i].bit) {
            strcat(cmd, cmd[0] ? " +" : "+");
            strcat(cmd, v2_names[i].name);
        }
    if (cg_write_raw(dfd, "cgroup.subtree_control", cmd) == 0) {
        cm_log_debug("cgroup: %s/cgroup.subtree_control += %s", dir, cmd);
        return 0;
    }
    /* One refused controller (e.g. cpu with realtime tasks around) fails
     * the whole write: enable them one by one and let a later write of a
     * missing file say which is absent. */
    for (size_t i = 0; i < sizeof(v2_names) / sizeof(v2_names[0]); i++) {
        if (!(todo & v2_names[i].bit))
            continue;
        snprintf(cmd, sizeof(cmd), "+%s", v2_names[i].name);
        if (cg_write_raw(dfd, "cgroup.subtree_control", cmd) < 0)
            cm_log_debug("cgroup: enable %s in '%s': %s, ignoring", v2_names[i].name, dir,
                         strerror(errno));
    }
    return 0;
}

int
cg_v2_enable_controllers(struct rt_cgroup *cg, struct cg_hier *h, unsigned want,
                         struct cm_error **err)
{
    cleanup_close int fd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *p = xstrdup(cg->path);
    cleanup_free char *dir = xstrdup(h->mountpoint);

    if (fd < 0)
        return cm_error_errno(err, "open '%s'", h->mountpoint);
    /* every level above the leaf: the root, then each ancestor */
    char *save = NULL;
    char *c = strtok_r(p, "/", &save);
    while (c) {
        char *next = strtok_r(NULL, "/", &save);
        if (enable_level(fd, dir, want, err) < 0)
            return -1;
        if (!next)
            break;
        int nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (nfd < 0)
            return cm_error_errno(err, "open '%s/%s'", dir, c);
        close(fd);
        fd = nfd;
        char *ndir = xasprintf("%s/%s", dir, c);
        free(dir);
        dir = ndir;
        c = next;
    }
    return 0;
}

static int
v2_prepare(struct rt_cgroup *cg, struct cg_hier *h, struct cm_error **err)
{
    return cg_v2_enable_controllers(cg, h, V2_WANTED, err);
}

/* A write whose file is missing most likely means the controller is not
 * enabled for this cgroup: say so. */
static int
v2_write(struct cg_hier *h, const char *file, const char *value, struct cm_error **err)
{
    if (cg_write_raw(h->fd, file, value) == 0) {
        cm_log_debug("cgroup: %s/%s = %s", h->dir, file, value);
        return 0;
    }
    if (errno == ENOENT)
        return cm_error_set(err, ENOTSUP, "'%s/%s' does not exist (controller not enabled?)",
                            h->dir, file);
    return cm_error_errno(err, "write '%s' to '%s/%s'", value, h->dir, file);
}

static int v2_writef(struct cg_hier *h, const char *file, struct cm_error **err, const char *fmt,
                     ...) CM_PRINTF(4, 5);
static int
v2_writef(struct cg_hier *h, const char *file, struct cm_error **err, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return cm_error_set(err, ENAMETOOLONG, "value for '%s/%s' too long", h->dir, file);
    return v2_write(h, file, buf, err);
}

/* -1 (and any negative) = "max" */
static int
v2_write_limit(struct cg_hier *h, const char *file, int64_t v, struct cm_error **err)
{
    if (v < 0)
        return v2_write(h, file, "max", err);
    return v2_writef(h, file, err, "%" PRId64, v);
}

static int
v2_memory(struct cg_hier *h, const struct rt_memory *m, struct cm_error **err)
{
    bool set_swap = false;
    int64_t swap = 0;

    if (cg_swap_to_v2(m, &set_swap, &swap, err) < 0)
        return -1;
    if (m->has_limit && m->limit < -1)
        return cm_error_set(err, 0, "memory.limit %" PRId64 " is invalid", m->limit);
    if (m->has_check_before_update && m->check_before_update && m->has_limit && m->limit > 0) {
        char buf[64];
        if (cg_read(h, "memory.current", buf, sizeof(buf), err) < 0)
            return -1;
        if (strtoll(buf, NULL, 10) > m->limit)
            return cm_error_set(err, EBUSY,
                                "memory.limit %" PRId64 " is below the current usage %s", m->limit,
                                buf);
    }
    /* swap.max and max are independent on v2: no ordering dance */
    if (set_swap) {
        if (!cg_exists(h, "memory.swap.max")) {
            if (swap != -1 && swap != 0)
                return cm_error_set(err, ENOTSUP,
                                    "memory.swap: swap accounting is disabled on this host "
                                    "('%s/memory.swap.max' is missing)",
                                    h->dir);
            cm_log_debug("cgroup: no memory.swap.max in '%s', ignoring", h->dir);
        } else if (v2_write_limit(h, "memory.swap.max", swap, err) < 0) {
            return -1;
        }
    }
    if (m->has_limit && m->limit != 0 && v2_write_limit(h, "memory.max", m->limit, err) < 0)
        return -1;
    if (m->has_reservation && v2_write_limit(h, "memory.low", m->reservation, err) < 0)
        return -1;
    if (m->has_swappiness || m->has_kernel || m->has_kernel_tcp || m->has_disable_oom_killer)
        cm_log_debug("cgroup: swappiness, kernel, kernelTCP and disableOOMKiller have no "
                     "cgroup v2 equivalent, ignoring");
    return 0;
}

static int
v2_cpu(struct cg_hier *h, const struct rt_cpu *c, struct cm_error **err)
{
    if ((c->has_realtime_runtime && c->realtime_runtime != 0) ||
        (c->has_realtime_period && c->realtime_period != 0))
        return cm_error_set(err, ENOTSUP,
                            "cpu.realtimeRuntime/realtimePeriod: cgroup v2 has no "
                            "realtime scheduling limits");
    if (c->has_shares && c->shares != 0 &&
        v2_writef(h, "cpu.weight", err, "%" PRIu64, cg_shares_to_weight(c->shares)) < 0)
        return -1;
    bool quota = c->has_quota && c->quota != 0;
    bool period = c->has_period && c->period != 0;
    if (quota || period) {
        char cur[64] = "max 100000", q[64];
        cleanup_error struct cm_error *tmp = NULL;
        /* keep what is not being changed */
        if (cg_read(h, "cpu.max", cur, sizeof(cur), &tmp) < 0)
            cm_log_debug("cgroup: %s, assuming 'max 100000'", tmp->msg);
        char *sp = strchr(cur, ' ');
        uint64_t cur_period = sp ? strtoull(sp + 1, NULL, 10) : 100000;
        if (sp)
            *sp = '\0';
        if (quota)
            c->quota > 0 ? snprintf(q, sizeof(q), "%" PRId64, c->quota)
                         : snprintf(q, sizeof(q), "max");
        else
            snprintf(q, sizeof(q), "%s", cur[0] ? cur : "max");
        if (v2_writef(h, "cpu.max", err, "%s %" PRIu64, q,
                      period ? c->period : (cur_period ? cur_period : 100000)) < 0)
            return -1;
    }
    if (c->has_burst && v2_writef(h, "cpu.max.burst", err, "%" PRIu64, c->burst) < 0)
        return -1;
    if (c->has_idle && v2_writef(h, "cpu.idle", err, "%" PRId64, c->idle) < 0)
        return -1;
    if (c->cpus && v2_write(h, "cpuset.cpus", c->cpus, err) < 0)
        return -1;
    if (c->mems && v2_write(h, "cpuset.mems", c->mems, err) < 0)
        return -1;
    return 0;
}

static int
v2_throttle(struct cg_hier *h, const char *key, const struct rt_blkio_throttle *t, size_t n,
            struct cm_error **err)
{
    for (size_t i = 0; i < n; i++) {
        char rate[32];
        if (t[i].rate == 0)
            snprintf(rate, sizeof(rate), "max");
        else
            snprintf(rate, sizeof(rate), "%" PRIu64, t[i].rate);
        if (v2_writef(h, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%s", t[i].major, t[i].minor,
                      key, rate) < 0)
            return -1;
    }
    return 0;
}

static int
v2_io(struct cg_hier *h, const struct rt_blkio *b, struct cm_error **err)
{
    /* BFQ takes blkio's own scale; io.weight (iocost) needs the conversion */
    bool bfq = cg_exists(h, "io.bfq.weight");

    if (b->has_weight && b->weight != 0) {
        if (bfq ? v2_writef(h, "io.bfq.weight", err, "%u", b->weight) < 0
                : v2_writef(h, "io.weight", err, "default %" PRIu64,
                            cg_blkio_to_io_weight(b->weight)) < 0)
            return -1;
    }
    if (b->has_leaf_weight)
        cm_log_debug("cgroup: blkio.leafWeight has no cgroup v2 equivalent, ignoring");
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const struct rt_blkio_device *d = &b->weight_device[i];
        if (!d->has_weight)
            continue;
        if (bfq ? v2_writef(h, "io.bfq.weight", err, "%" PRId64 ":%" PRId64 " %u", d->major,
                            d->minor, d->weight) < 0
                : v2_writef(h, "io.weight", err, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major,
                            d->minor, cg_blkio_to_io_weight(d->weight)) < 0)
            return -1;
    }
    if (v2_throttle(h, "rbps", b->throttle_read_bps, b->n_throttle_read_bps, err) < 0 ||
        v2_throttle(h, "wbps", b->throttle_write_bps, b->n_throttle_write_bps, err) < 0 ||
        v2_throttle(h, "riops", b->throttle_read_iops, b->n_throttle_read_iops, err) < 0 ||
        v2_throttle(h, "wiops", b->throttle_write_iops, b->n_throttle_write_iops, err) < 0)
        return -1;
    return 0;
}

int
cg_v2_apply_hugetlb(struct rt_cgroup *cg, struct cg_hier *h, const struct rt_resources *res,
                    struct cm_error **err)
{
    for (size_t i = 0; i < res->n_hugepage_limits; i++)
        if (cg_check_page_size(res->hugepage_limits[i].page_size, err) < 0)
            return -1;
    /* hybrid: the unified hierarchy has nothing enabled by default */
    if (cg->mode != RT_CGROUP_V2 && cg_v2_enable_controllers(cg, h, CG_HUGETLB, err) < 0)
        return -1;
    for (size_t i = 0; i < res->n_hugepage_limits; i++) {
        const struct rt_hugepage_limit *l = &res->hugepage_limits[i];
        char file[96];
        snprintf(file, sizeof(file), "hugetlb.%s.max", l->page_size);
        if (v2_writef(h, file, err, "%" PRIu64, l->limit) < 0)
            return -1;
    }
    return 0;
}

int
cg_v2_apply_unified(struct cg_hier *h, const struct rt_resources *res, struct cm_error **err)
{
    for (size_t i = 0; i < res->n_unified; i++) {
        const struct rt_unified *u = &res->unified[i];
        if (cg_check_unified_key(u->key, err) < 0)
            return -1;
        if (!u->value || strlen(u->value) > 4000)
            return cm_error_set(err, 0, "unified: value of '%s' is missing or too long", u->key);
        if (v2_write(h, u->key, u->value, err) < 0)
            return cm_error_wrap(err, "unified '%s'", u->key);
    }
    return 0;
}

static int
v2_apply(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    struct cg_hier *h = cg_v2_find(cg);
    if (!h)
        return cm_error_set(err, ENOENT, "no cgroup2 directory for '%s'", cg->path);
    if (res->has_cpu && v2_cpu(h, &res->cpu, err) < 0)
        return -1;
    if (res->has_memory && v2_memory(h, &res->memory, err) < 0)
        return -1;
    if (res->has_pids &&
        v2_write_limit(h, "pids.max", res->pids_limit > 0 ? res->pids_limit : -1, err) < 0)
        return -1;
    if (res->has_blkio && v2_io(h, &res->blkio, err) < 0)
        return -1;
    if (res->n_hugepage_limits > 0 && cg_v2_apply_hugetlb(cg, h, res, err) < 0)
        return -1;
    if (res->has_network)
        cm_log_debug("cgroup: network classID/priorities have no cgroup v2 equivalent, ignoring");
    if (res->n_devices > 0) {
        size_t n = 0;
        cleanup_free struct rt_device_rule *rules = cg_effective_device_rules(res, &n);
        if (cg_fake_kernel) {
            /* a fake tree cannot take a program: build it to validate */
            cleanup_free struct bpf_insn *prog = NULL;
            size_t count = 0;
            if (cg_bpf_devices_program(rules, n, &prog, &count, err) < 0)
                return -1;
        } else if (cg_bpf_devices_attach(h->fd, h->dir, rules, n, err) < 0) {
            return -1;
        }
    }
    if (res->n_unified > 0 && cg_v2_apply_unified(h, res, err) < 0)
        return -1;
    return 0;
}

static void
pause_us(long us)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000L};
    nanosleep(&ts, NULL);
}

/* cgroup.events "frozen 0|1"; *ret = -1 when the line is missing. */
static int
read_frozen_event(struct cg_hier *h, int *ret, struct cm_error **err)
{
    char buf[256];
    if (cg_read(h, "cgroup.events", buf, sizeof(buf), err) < 0)
        return -1;
    const char *f = strstr(buf, "frozen ");
    *ret = f ? f[7] == '1' : -1;
    return 0;
}

int
cg_v2_freeze_hier(struct cg_hier *h, bool frozen, struct cm_error **err)
{
    if (cg_write(h, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
        return -1;
    /* the kernel freezes asynchronously: wait (up to ~2 s) for the event */
    long waited = 0, step = 50;
    for (;;) {
        int ev;
        if (read_frozen_event(h, &ev, err) < 0)
            return -1;
        if (ev < 0 || ev == (int)frozen)
            return 0;
        if (waited >= 2000000)
            break;
        pause_us(step);
        waited += step;
        if (step < 10000)
            step *= 2;
    }
    if (frozen) {
        cleanup_error struct cm_error *tmp = NULL;
        if (cg_write(h, "cgroup.freeze", "0", &tmp) < 0)
            cm_log_debug("cgroup: %s, ignoring", tmp->msg);
    }
    return cm_error_set(err, EBUSY, "'%s' did not become %s", h->dir, frozen ? "frozen" : "thawed");
}

int
cg_v2_is_frozen_hier(struct cg_hier *h, bool *ret, struct cm_error **err)
{
    int ev;
    if (read_frozen_event(h, &ev, err) < 0)
        return -1;
    if (ev < 0) {
        char buf[8];
        if (cg_read(h, "cgroup.freeze", buf, sizeof(buf), err) < 0)
            return -1;
        ev = buf[0] == '1';
    }
    *ret = ev == 1;
    return 0;
}

static int
v2_freeze(struct rt_cgroup *cg, bool frozen, struct cm_error **err)
{
    struct cg_hier *h = cg_v2_find(cg);
    if (!h)
        return cm_error_set(err, ENOENT, "no cgroup2 directory for '%s'", cg->path);
    return cg_v2_freeze_hier(h, frozen, err);
}

static int
v2_is_frozen(struct rt_cgroup *cg, bool *ret, struct cm_error **err)
{
    struct cg_hier *h = cg_v2_find(cg);
    if (!h)
        return cm_error_set(err, ENOENT, "no cgroup2 directory for '%s'", cg->path);
    return cg_v2_is_frozen_hier(h, ret, err);
}

/* cgroup.kill (5.14+) kills the whole subtree atomically, no freeze needed. */
static int
v2_kill(struct rt_cgroup *cg, int sig, struct cm_error **err)
{
    struct cg_hier *h = cg_v2_find(cg);
    if (sig != SIGKILL || !h || !cg_exists(h, "cgroup.kill"))
        return 0;
    if (cg_write(h, "cgroup.kill", "1", err) < 0)
        return -1;
    return 1;
}

static int
v2_stats(struct rt_cgroup *cg, struct rt_cgroup_stats *st, struct cm_error **err)
{
    struct cg_hier *h = cg_v2_find(cg);
    cleanup_error struct cm_error *tmp = NULL;
    if (!h)
        return cm_error_set(err, ENOENT, "no cgroup2 directory for '%s'", cg->path);
    if (cg_exists(h, "memory.current")) {
        if (cg_read_u64(h, "memory.current", NULL, &st->memory_usage, err) < 0 ||
            cg_read_u64(h, "memory.max", NULL, &st->memory_limit, err) < 0)
            return -1;
        if (cg_read_u64(h, "memory.peak", NULL, &st->memory_max_usage, &tmp) < 0)
            cm_error_free(&tmp); /* 5.19+ */
        st->has_memory = true;
        st->has_oom = cg_read_u64(h, "memory.events", "oom_kill", &st->oom_kills, &tmp) == 0;
        cm_error_free(&tmp);
    }
    if (cg_exists(h, "pids.current")) {
        if (cg_read_u64(h, "pids.current", NULL, &st->pids_current, err) < 0 ||
            cg_read_u64(h, "pids.max", NULL, &st->pids_limit, err) < 0)
            return -1;
        st->has_pids = true;
    }
    /* cpu.stat exists even without the cpu controller (usage only) */
    if (cg_exists(h, "cpu.stat")) {
        uint64_t usage = 0, user = 0, sys = 0;
        if (cg_read_u64(h, "cpu.stat", "usage_usec", &usage, err) < 0)
            return -1;
        if (cg_read_u64(h, "cpu.stat", "user_usec", &user, &tmp) < 0 ||
            cg_read_u64(h, "cpu.stat", "system_usec", &sys, &tmp) < 0)
            user = sys = 0;
        st->cpu_usage_ns = usage * 1000;
        st->cpu_user_ns = user * 1000;
        st->cpu_system_ns = sys * 1000;
        st->has_cpu = true;
    }
    return 0;
}

const struct cg_ops cg_v2_ops = {
    .name = "v2",
    .init_dir = NULL,
    .prepare = v2_prepare,
    .apply = v2_apply,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
    .stats = v2_stats,
    .removed = NULL,
    .kill = v2_kill,
};
