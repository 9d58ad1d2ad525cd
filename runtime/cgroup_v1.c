/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v1 backend, also used on hybrid hosts: one directory per v1
 * hierarchy plus, when a cgroup2 is mounted beside them (<root>/unified), one
 * there too, which carries hugetlb when no v1 hierarchy does and serves as
 * freezer when no v1 freezer is mounted. Mapping tables: docs/cgroups.md. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/xalloc.h"

/* A cpuset cgroup starts with empty cpus and mems, and a task cannot join it
 * until both are set: inherit them from the parent. */
static int
v1_init_dir(struct rt_cgroup *cg, struct cg_hier *h, int parent_fd, int fd, bool is_new,
            const char *dir, struct cm_error **err)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    cleanup_close int mount_fd = -1;
    (void)cg;
    if (h->v2 || !(h->mask & CG_CPUSET))
        return 0;
    for (size_t i = 0; i < 2; i++) {
        char cur[4096], parent[4096];
        /* a cpuset we just made is empty (or, with clone_children, already
         * the parent's): only an existing one needs reading */
        if (!is_new) {
            if (cg_read_at(fd, dir, files[i], cur, sizeof(cur), err) < 0)
                return -1;
            if (cur[0])
                continue;
        }
        if (parent_fd < 0) {
            mount_fd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (mount_fd < 0)
                return cm_error_errno(err, "open '%s'", h->mountpoint);
            parent_fd = mount_fd;
        }
        if (cg_read_at(parent_fd, h->mountpoint, files[i], parent, sizeof(parent), err) < 0)
            return -1;
        if (parent[0] && cg_write_raw(fd, files[i], parent) < 0)
            return cm_error_errno(err, "write '%s' to '%s/%s'", parent, dir, files[i]);
    }
    return 0;
}

static struct cg_hier *
need(struct rt_cgroup *cg, unsigned bit, const char *what, struct cm_error **err)
{
    struct cg_hier *h = cg_v1_find(cg, bit);
    if (!h)
        cm_error_set(err, ENOTSUP, "%s limits requested but no %s hierarchy is mounted", what,
                     what);
    return h;
}

static int
write_i64(struct cg_hier *h, const char *file, int64_t v, struct cm_error **err)
{
    return cg_writef(h, file, err, "%" PRId64, v);
}

bool
cg_kmem_kept(int64_t wanted, const char *readback)
{
    char *end;
    errno = 0;
    unsigned long long got = strtoull(readback, &end, 10);
    if (end == readback || errno || *end)
        return false;
    /* the kernel rounds down to whole pages; a dropped write reads "max" */
    return got <= (unsigned long long)wanted;
}

/* memory.kernel / kernelTCP. Kernel memory limits went away in steps: 5.16
 * deprecated kmem.limit_in_bytes, 6.1 turned its write into a silent no-op
 * (the file stays, reads "max"), newer configs drop the files. A limit asked
 * for and not kept is an error, like any other limit we cannot enforce;
 * -1 ("unlimited") asks for nothing and is fine everywhere. */
static int
v1_kmem(struct cg_hier *h, const char *file, const char *what, int64_t v, struct cm_error **err)
{
    char buf[64];
    if (v < -1)
        return cm_error_set(err, 0, "memory.%s %" PRId64 " is invalid", what, v);
    if (!cg_exists(h, file)) {
        if (v == -1)
            return 0;
        return cm_error_set(err, ENOTSUP,
                            "memory.%s: kernel memory limits are not supported by this kernel "
                            "('%s/%s' is missing)",
                            what, h->dir, file);
    }
    if (write_i64(h, file, v, err) < 0)
        return -1;
    if (v == -1)
        return 0;
    if (cg_read(h, file, buf, sizeof(buf), err) < 0)
        return -1;
    if (!cg_kmem_kept(v, buf))
        return cm_error_set(err, ENOTSUP,
                            "memory.%s: this kernel does not enforce kernel memory limits "
                            "(it accepted %" PRId64 " in '%s/%s' but reads back %s)",
                            what, v, h->dir, file, buf);
    return 0;
}

static int
v1_memory(struct rt_cgroup *cg, const struct rt_memory *m, struct cm_error **err)
{
    struct cg_hier *h = need(cg, CG_MEMORY, "memory", err);
    if (!h)
        return -1;
    bool has_memsw = cg_exists(h, "memory.memsw.limit_in_bytes");
    bool set_limit = m->has_limit && m->limit != 0;
    bool set_swap = m->has_swap && m->swap != 0; /* 0 = unset, like runc */
    int64_t swap = m->swap;

    if (m->has_swappiness && m->swappiness > 100)
        return cm_error_set(err, 0, "memory.swappiness %" PRIu64 " is out of range 0-100",
                            m->swappiness);
    if (set_limit && m->limit < -1)
        return cm_error_set(err, 0, "memory.limit %" PRId64 " is invalid", m->limit);
    if (set_swap && swap < -1)
        return cm_error_set(err, 0, "memory.swap %" PRId64 " is invalid", swap);
    if (set_limit && set_swap && m->limit > 0 && swap > 0 && swap < m->limit)
        return cm_error_set(err, 0,
                            "memory.swap (%" PRId64 ") is lower than memory.limit (%" PRId64
                            "): v1 swap is memory+swap",
                            swap, m->limit);
    /* "unlimited memory" with no swap given means unlimited swap too (runc) */
    if (set_limit && m->limit == -1 && !set_swap && has_memsw) {
        set_swap = true;
        swap = -1;
    }
    if (set_swap && !has_memsw) {
        /* Swap accounting is off (no memory.memsw.*): a limit equal to the
         * memory limit or "unlimited" asks for nothing we could enforce. */
        if (swap == -1 || (set_limit && swap == m->limit)) {
            cm_log_debug("cgroup: no swap accounting in '%s', swap %" PRId64 " ignored", h->dir,
                         swap);
            set_swap = false;
        } else {
            return cm_error_set(err, ENOTSUP,
                                "memory.swap: swap accounting is disabled on this host "
                                "('%s/memory.memsw.limit_in_bytes' is missing)",
                                h->dir);
        }
    }
    if (m->has_check_before_update && m->check_before_update && set_limit && m->limit > 0) {
        char buf[64];
        if (cg_read(h, "memory.usage_in_bytes", buf, sizeof(buf), err) < 0)
            return -1;
        if (strtoll(buf, NULL, 10) > m->limit)
            return cm_error_set(err, EBUSY,
                                "memory.limit %" PRId64 " is below the current usage %s", m->limit,
                                buf);
    }
    if (set_limit && set_swap) {
        /* The kernel keeps limit <= memsw at every step: raise memsw first
         * when it grows, lower the limit first when it shrinks. */
        char buf[64];
        if (cg_read(h, "memory.limit_in_bytes", buf, sizeof(buf), err) < 0)
            return -1;
        unsigned long long cur = strtoull(buf, NULL, 10);
        if (swap == -1 || cur < (unsigned long long)swap) {
            if (write_i64(h, "memory.memsw.limit_in_bytes", swap, err) < 0 ||
                write_i64(h, "memory.limit_in_bytes", m->limit, err) < 0)
                return -1;
        } else {
            if (write_i64(h, "memory.limit_in_bytes", m->limit, err) < 0 ||
                write_i64(h, "memory.memsw.limit_in_bytes", swap, err) < 0)
                return -1;
        }
    } else if (set_limit) {
        if (write_i64(h, "memory.limit_in_bytes", m->limit, err) < 0)
            return -1;
    } else if (set_swap) {
        if (write_i64(h, "memory.memsw.limit_in_bytes", swap, err) < 0)
            return -1;
    }
    if (m->has_reservation && write_i64(h, "memory.soft_limit_in_bytes", m->reservation, err) < 0)
        return -1;
    if (m->has_kernel && v1_kmem(h, "memory.kmem.limit_in_bytes", "kernel", m->kernel, err) < 0)
        return -1;
    if (m->has_kernel_tcp &&
        v1_kmem(h, "memory.kmem.tcp.limit_in_bytes", "kernelTCP", m->kernel_tcp, err) < 0)
        return -1;
    if (m->has_swappiness && cg_writef(h, "memory.swappiness", err, "%" PRIu64, m->swappiness) < 0)
        return -1;
    if (m->has_disable_oom_killer &&
        cg_write(h, "memory.oom_control", m->disable_oom_killer ? "1" : "0", err) < 0)
        return -1;
    if (m->has_use_hierarchy) {
        /* Kernels since 5.x always use the hierarchy and refuse "0". */
        cleanup_error struct cm_error *tmp = NULL;
        if (cg_write(h, "memory.use_hierarchy", m->use_hierarchy ? "1" : "0", &tmp) < 0) {
            if (m->use_hierarchy || tmp->code != EINVAL) {
                *err = TAKE_PTR(tmp);
                return -1;
            }
            cm_log_debug("cgroup: %s, ignoring", tmp->msg);
        }
    }
    return 0;
}

/* A new cgroup gets no realtime budget, and a child cannot have more than
 * its parent: when the leaf refuses, give each ancestor below the root at
 * least the wanted runtime, top-down (runc and crun do the same), then retry. */
static int
v1_rt_runtime(struct rt_cgroup *cg, struct cg_hier *h, int64_t runtime, struct cm_error **err)
{
    cleanup_error struct cm_error *first = NULL;
    if (write_i64(h, "cpu.rt_runtime_us", runtime, &first) == 0)
        return 0;
    if (first->code != EINVAL || runtime <= 0) {
        *err = TAKE_PTR(first);
        return -1;
    }
    cleanup_close int fd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *p = xstrdup(cg->path);
    char *save = NULL;
    if (fd < 0)
        return cm_error_errno(err, "open '%s'", h->mountpoint);
    for (char *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!save || !*save)
            break; /* the leaf itself comes last, below */
        int nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (nfd < 0)
            return cm_error_errno(err, "open '%s' below '%s'", c, h->mountpoint);
        close(fd);
        fd = nfd;
        char cur[32], val[32];
        if (cg_read_at(fd, h->mountpoint, "cpu.rt_runtime_us", cur, sizeof(cur), err) < 0)
            return -1;
        if (strtoll(cur, NULL, 10) >= runtime)
            continue;
        snprintf(val, sizeof(val), "%" PRId64, runtime);
        if (cg_write_raw(fd, "cpu.rt_runtime_us", val) < 0)
            return cm_error_errno(err, "give ancestor '%s' of '%s' a realtime runtime of %s", c,
                                  h->dir, val);
    }
    return write_i64(h, "cpu.rt_runtime_us", runtime, err);
}

static void
pause_us(long us)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000L};
    nanosleep(&ts, NULL);
}

/* Hands back the realtime budget v1_rt_runtime gave the ancestors below our
 * own parent /skiff (the budget is global: left there it would starve the
 * next container elsewhere). Bottom-up; the kernel refuses (and we stop)
 * while another container below still uses it. Ancestors outside /skiff
 * belong to someone else and are left alone. */
static void
v1_removed(struct rt_cgroup *cg)
{
    struct cg_hier *h = NULL;
    for (size_t i = 0; i < cg->n; i++)
        if (!cg->h[i].v2 && (cg->h[i].mask & CG_CPU))
            h = &cg->h[i];
    if (!h || strncmp(cg->path, "/skiff/", 7) != 0)
        return;
    cleanup_free char *p = xstrdup(cg->path);
    for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
        *slash = '\0';
        cleanup_free char *dir = xasprintf("%s%s", h->mountpoint, p);
        cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char cur[32];
        if (fd < 0 || cg_read_at(fd, dir, "cpu.rt_runtime_us", cur, sizeof(cur), NULL) < 0 ||
            !strcmp(cur, "0"))
            return;
        /* the removed child's budget is freed when its css goes offline,
         * shortly after rmdir: retry for up to ~0.1 s */
        int r = -1;
        for (long wait = 500; wait <= 64000 && r < 0; wait *= 2) {
            r = cg_write_raw(fd, "cpu.rt_runtime_us", "0");
            if (r < 0 && errno != EINVAL && errno != EBUSY)
                break;
            if (r < 0)
                pause_us(wait);
        }
        if (r < 0) {
            cm_log_debug("cgroup: keep realtime budget of '%s': %s", dir, strerror(errno));
            return;
        }
    }
}

static int
v1_cpu(struct rt_cgroup *cg, const struct rt_cpu *c, struct cm_error **err)
{
    bool any = c->has_shares || c->has_quota || c->has_period || c->has_burst ||
               c->has_realtime_period || c->has_realtime_runtime || c->has_idle;
    if (any) {
        struct cg_hier *h = need(cg, CG_CPU, "cpu", err);
        if (!h)
            return -1;
        if (c->has_shares && c->shares != 0 &&
            cg_writef(h, "cpu.shares", err, "%" PRIu64, c->shares) < 0)
            return -1;
        /* rt period first: the runtime must fit into it */
        if (c->has_realtime_period && c->realtime_period != 0 &&
            cg_writef(h, "cpu.rt_period_us", err, "%" PRIu64, c->realtime_period) < 0)
            return -1;
        if (c->has_realtime_runtime && v1_rt_runtime(cg, h, c->realtime_runtime, err) < 0)
            return -1;
        if (c->has_period && c->period != 0) {
            /* A new period may not fit the old quota (or the burst):
             * write the quota first then retry. */
            cleanup_error struct cm_error *tmp = NULL;
            if (cg_writef(h, "cpu.cfs_period_us", &tmp, "%" PRIu64, c->period) < 0) {
                if (tmp->code != EINVAL || !c->has_quota) {
                    *err = TAKE_PTR(tmp);
                    return -1;
                }
                if (write_i64(h, "cpu.cfs_quota_us", c->quota, err) < 0 ||
                    cg_writef(h, "cpu.cfs_period_us", err, "%" PRIu64, c->period) < 0)
                    return -1;
            }
        }
        if (c->has_quota && c->quota != 0 &&
            write_i64(h, "cpu.cfs_quota_us", c->quota > 0 ? c->quota : -1, err) < 0)
            return -1;
        if (c->has_burst && cg_writef(h, "cpu.cfs_burst_us", err, "%" PRIu64, c->burst) < 0)
            return -1;
        if (c->has_idle && write_i64(h, "cpu.idle", c->idle, err) < 0)
            return -1;
    }
    if (c->cpus || c->mems) {
        struct cg_hier *h = need(cg, CG_CPUSET, "cpuset", err);
        if (!h)
            return -1;
        if (c->cpus && cg_write(h, "cpuset.cpus", c->cpus, err) < 0)
            return -1;
        if (c->mems && cg_write(h, "cpuset.mems", c->mems, err) < 0)
            return -1;
    }
    return 0;
}

static int
v1_throttle(struct cg_hier *h, const char *file, const struct rt_blkio_throttle *t, size_t n,
            struct cm_error **err)
{
    for (size_t i = 0; i < n; i++)
        if (cg_writef(h, file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, t[i].major, t[i].minor,
                      t[i].rate) < 0)
            return -1;
    return 0;
}

static int
v1_blkio(struct rt_cgroup *cg, const struct rt_blkio *b, struct cm_error **err)
{
    struct cg_hier *h = need(cg, CG_BLKIO, "blkio", err);
    if (!h)
        return -1;
    /* CFQ's blkio.weight is gone with the legacy block layer; BFQ offers
     * blkio.bfq.weight instead when it is the scheduler. */
    bool bfq = !cg_exists(h, "blkio.weight") && cg_exists(h, "blkio.bfq.weight");
    const char *weight = bfq ? "blkio.bfq.weight" : "blkio.weight";
    const char *weight_dev = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";

    bool any_weight = b->has_weight, any_leaf = b->has_leaf_weight;
    for (size_t i = 0; i < b->n_weight_device; i++) {
        any_weight |= b->weight_device[i].has_weight;
        any_leaf |= b->weight_device[i].has_leaf_weight;
    }
    /* Name what is missing instead of failing on a write ENOENT. */
    if (any_weight && !cg_exists(h, weight))
        return cm_error_set(err, ENOTSUP,
                            "blockIO.weight: '%s' has neither blkio.weight nor blkio.bfq.weight "
                            "(no proportional-weight I/O scheduler on this host)",
                            h->dir);
    if (any_leaf && !cg_exists(h, "blkio.leaf_weight"))
        return cm_error_set(err, ENOTSUP,
                            "blockIO.leafWeight: this kernel has no blkio.leaf_weight in '%s' "
                            "(leaf weights were CFQ's, removed with the legacy block layer in "
                            "Linux 5.0)",
                            h->dir);
    if (b->has_weight && cg_writef(h, weight, err, "%u", b->weight) < 0)
        return -1;
    if (b->has_leaf_weight && cg_writef(h, "blkio.leaf_weight", err, "%u", b->leaf_weight) < 0)
        return -1;
    for (size_t i = 0; i < b->n_weight_device; i++) {
        const struct rt_blkio_device *d = &b->weight_device[i];
        if (d->has_weight && cg_writef(h, weight_dev, err, "%" PRId64 ":%" PRId64 " %u", d->major,
                                       d->minor, d->weight) < 0)
            return -1;
        if (d->has_leaf_weight &&
            cg_writef(h, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %u", d->major,
                      d->minor, d->leaf_weight) < 0)
            return -1;
    }
    if (v1_throttle(h, "blkio.throttle.read_bps_device", b->throttle_read_bps,
                    b->n_throttle_read_bps, err) < 0 ||
        v1_throttle(h, "blkio.throttle.write_bps_device", b->throttle_write_bps,
                    b->n_throttle_write_bps, err) < 0 ||
        v1_throttle(h, "blkio.throttle.read_iops_device", b->throttle_read_iops,
                    b->n_throttle_read_iops, err) < 0 ||
        v1_throttle(h, "blkio.throttle.write_iops_device", b->throttle_write_iops,
                    b->n_throttle_write_iops, err) < 0)
        return -1;
    return 0;
}

static int
v1_hugetlb(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    struct cg_hier *h = cg_v1_find(cg, CG_HUGETLB);
    if (!h) {
        /* hybrid hosts: the unified hierarchy owns hugetlb */
        struct cg_hier *u = cg_v2_find(cg);
        if (u && (u->mask & CG_HUGETLB))
            return cg_v2_apply_hugetlb(cg, u, res, err);
        return cm_error_set(err, ENOTSUP,
                            "hugepage limits requested but no hugetlb controller is available");
    }
    for (size_t i = 0; i < res->n_hugepage_limits; i++) {
        const struct rt_hugepage_limit *l = &res->hugepage_limits[i];
        char file[96];
        if (cg_check_page_size(l->page_size, err) < 0)
            return -1;
        snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", l->page_size);
        if (cg_writef(h, file, err, "%" PRIu64, l->limit) < 0)
            return -1;
    }
    return 0;
}

/* net_cls and net_prio are often compiled in but not mounted (systemd hosts
 * stopped mounting them); a class id or priority we cannot write would be a
 * limit silently not enforced, so it is an error naming the controller.
 * classID 0 is the kernel's default ("no class") and asks for nothing. */
static int
v1_network(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    if (res->has_class_id && res->class_id != 0) {
        struct cg_hier *h = cg_v1_find(cg, CG_NET_CLS);
        if (!h)
            return cm_error_set(err, ENOTSUP,
                                "linux.resources.network.classID: the net_cls controller is not "
                                "mounted on this host");
        if (cg_writef(h, "net_cls.classid", err, "%" PRIu32, res->class_id) < 0)
            return -1;
    }
    if (res->n_priorities > 0) {
        for (size_t i = 0; i < res->n_priorities; i++) {
            const struct rt_net_prio *p = &res->priorities[i];
            if (!p->name || !*p->name || strpbrk(p->name, " \n/"))
                return cm_error_set(err, 0, "network.priorities[%zu]: invalid interface name", i);
        }
        struct cg_hier *h = cg_v1_find(cg, CG_NET_PRIO);
        if (!h)
            return cm_error_set(
                err, ENOTSUP,
                "linux.resources.network.priorities: the net_prio controller is not "
                "mounted on this host");
        for (size_t i = 0; i < res->n_priorities; i++) {
            const struct rt_net_prio *p = &res->priorities[i];
            if (cg_writef(h, "net_prio.ifpriomap", err, "%s %" PRIu32, p->name, p->priority) < 0)
                return -1;
        }
    }
    return 0;
}

/* "c 1:3 rwm", "a *:* rwm" */
int
cg_device_rule_line(const struct rt_device_rule *d, char *buf, size_t size, struct cm_error **err)
{
    char type = d->type ? d->type : 'a';
    char maj[24], min[24];
    const char *access = d->access[0] ? d->access : "rwm";

    if (type != 'a' && type != 'c' && type != 'b')
        return cm_error_set(err, 0, "devices: invalid type '%c'", type);
    for (const char *a = access; *a; a++)
        if (*a != 'r' && *a != 'w' && *a != 'm')
            return cm_error_set(err, 0, "devices: invalid access '%s'", access);
    if (d->major < 0)
        strcpy(maj, "*");
    else
        snprintf(maj, sizeof(maj), "%" PRId64, d->major);
    if (d->minor < 0)
        strcpy(min, "*");
    else
        snprintf(min, sizeof(min), "%" PRId64, d->minor);
    snprintf(buf, size, "%c %s:%s %s", type, maj, min, access);
    return 0;
}

static int
v1_devices(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    struct cg_hier *h = need(cg, CG_DEVICES, "devices", err);
    size_t n = 0;
    if (!h)
        return -1;
    cleanup_free struct rt_device_rule *rules = cg_effective_device_rules(res, &n);
    for (size_t i = 0; i < n; i++) {
        char line[80];
        if (cg_device_rule_line(&rules[i], line, sizeof(line), err) < 0)
            return cm_error_wrap(err, "devices[%zu]", i);
    }
    /* Each write is one rule to the kernel: the two files are opened once
     * (a dozen rules per container). A fake tree's plain files would append,
     * so there each write opens (and truncates) its file as before. */
    cleanup_close int deny_fd = -1;
    cleanup_close int allow_fd = -1;
    int *fds[2] = {&deny_fd, &allow_fd};
    static const char *const files[2] = {"devices.deny", "devices.allow"};
    for (size_t i = 0; i < n; i++) {
        char line[80];
        int k = rules[i].allow ? 1 : 0;
        cg_device_rule_line(&rules[i], line, sizeof(line), NULL);
        if (cg_fake_kernel) {
            if (cg_write(h, files[k], line, err) < 0)
                return -1;
            continue;
        }
        if (*fds[k] < 0 &&
            (*fds[k] = openat(h->fd, files[k], O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
            return cm_error_errno(err, "open '%s/%s'", h->dir, files[k]);
        size_t len = strlen(line);
        ssize_t w;
        do
            w = write(*fds[k], line, len);
        while (w < 0 && errno == EINTR);
        if (w != (ssize_t)len)
            return cm_error_errno(err, "write '%s' to '%s/%s'", line, h->dir, files[k]);
    }
    return 0;
}

static int
v1_apply(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    if (res->has_cpu && v1_cpu(cg, &res->cpu, err) < 0)
        return -1;
    if (res->has_memory && v1_memory(cg, &res->memory, err) < 0)
        return -1;
    if (res->has_pids) {
        struct cg_hier *h = need(cg, CG_PIDS, "pids", err);
        if (!h)
            return -1;
        if (res->pids_limit > 0 ? write_i64(h, "pids.max", res->pids_limit, err) < 0
                                : cg_write(h, "pids.max", "max", err) < 0)
            return -1;
    }
    if (res->has_blkio && v1_blkio(cg, &res->blkio, err) < 0)
        return -1;
    if (res->n_hugepage_limits > 0 && v1_hugetlb(cg, res, err) < 0)
        return -1;
    if (res->has_network && v1_network(cg, res, err) < 0)
        return -1;
    if (res->n_devices > 0 && v1_devices(cg, res, err) < 0)
        return -1;
    if (res->n_unified > 0) {
        struct cg_hier *u = cg_v2_find(cg);
        if (!u)
            return cm_error_set(err, ENOTSUP,
                                "unified: cgroup v2 key/values need a cgroup2 hierarchy");
        if (cg_v2_apply_unified(u, res, err) < 0)
            return -1;
    }
    return 0;
}

/* The v1 freezer hierarchy when the container has no directory there yet. */
static struct cg_hier *
freezer_hier(struct rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++)
        if (!cg->h[i].v2 && (cg->h[i].mask & CG_FREEZER) && cg->h[i].fd < 0)
            return &cg->h[i];
    return NULL;
}

static int
v1_freeze(struct rt_cgroup *cg, bool frozen, struct cm_error **err)
{
    struct cg_hier *h = cg_v1_find(cg, CG_FREEZER);
    struct cg_hier *lazy = h ? NULL : freezer_hier(cg);
    if (lazy) {
        /* not made at create (see wanted_controllers): nothing is frozen yet */
        if (!frozen)
            return 0;
        if (cg_adopt_freezer(cg, lazy, err) < 0)
            return -1;
        h = lazy;
    }
    if (!h) {
        struct cg_hier *u = cg_v2_find(cg);
        if (u && cg_exists(u, "cgroup.freeze"))
            return cg_v2_freeze_hier(u, frozen, err);
        return cm_error_set(err, ENOTSUP, "no freezer hierarchy is mounted");
    }
    if (!frozen)
        return cg_write(h, "freezer.state", "THAWED", err);
    /* FREEZING can last while tasks sit in uninterruptible sleep: write
     * again and poll (runc does the same) for up to ~2 s. */
    long waited = 0, step = 50;
    for (;;) {
        char state[32];
        if (cg_write(h, "freezer.state", "FROZEN", err) < 0 ||
            cg_read(h, "freezer.state", state, sizeof(state), err) < 0)
            return -1;
        if (!strcmp(state, "FROZEN"))
            return 0;
        if (waited >= 2000000)
            break;
        pause_us(step);
        waited += step;
        if (step < 10000)
            step *= 2;
    }
    cleanup_error struct cm_error *tmp = NULL;
    if (cg_write(h, "freezer.state", "THAWED", &tmp) < 0)
        cm_log_debug("cgroup: %s, ignoring", tmp->msg);
    return cm_error_set(err, EBUSY, "'%s' did not reach FROZEN", h->dir);
}

static int
v1_is_frozen(struct rt_cgroup *cg, bool *ret, struct cm_error **err)
{
    struct cg_hier *h = cg_v1_find(cg, CG_FREEZER);
    char state[32];
    if (!h && freezer_hier(cg)) {
        *ret = false; /* no directory there yet: never frozen */
        return 0;
    }
    if (!h) {
        struct cg_hier *u = cg_v2_find(cg);
        if (u && cg_exists(u, "cgroup.freeze"))
            return cg_v2_is_frozen_hier(u, ret, err);
        return cm_error_set(err, ENOTSUP, "no freezer hierarchy is mounted");
    }
    if (cg_read(h, "freezer.state", state, sizeof(state), err) < 0)
        return -1;
    *ret = !strcmp(state, "FROZEN");
    return 0;
}

static int
v1_stats(struct rt_cgroup *cg, struct rt_cgroup_stats *st, struct cm_error **err)
{
    struct cg_hier *h;
    if ((h = cg_v1_find(cg, CG_MEMORY))) {
        if (cg_read_u64(h, "memory.usage_in_bytes", NULL, &st->memory_usage, err) < 0 ||
            cg_read_u64(h, "memory.limit_in_bytes", NULL, &st->memory_limit, err) < 0 ||
            cg_read_u64(h, "memory.max_usage_in_bytes", NULL, &st->memory_max_usage, err) < 0)
            return -1;
        st->has_memory = true;
        /* oom_kill in oom_control arrived with 4.13 */
        cleanup_error struct cm_error *tmp = NULL;
        st->has_oom = cg_read_u64(h, "memory.oom_control", "oom_kill", &st->oom_kills, &tmp) == 0;
    }
    if ((h = cg_v1_find(cg, CG_PIDS))) {
        if (cg_read_u64(h, "pids.current", NULL, &st->pids_current, err) < 0 ||
            cg_read_u64(h, "pids.max", NULL, &st->pids_limit, err) < 0)
            return -1;
        st->has_pids = true;
    }
    if ((h = cg_v1_find(cg, CG_CPUACCT))) {
        if (cg_read_u64(h, "cpuacct.usage", NULL, &st->cpu_usage_ns, err) < 0)
            return -1;
        cleanup_error struct cm_error *tmp = NULL;
        if (cg_read_u64(h, "cpuacct.usage_user", NULL, &st->cpu_user_ns, &tmp) < 0 ||
            cg_read_u64(h, "cpuacct.usage_sys", NULL, &st->cpu_system_ns, &tmp) < 0)
            st->cpu_user_ns = st->cpu_system_ns = 0; /* older kernels: total only */
        st->has_cpu = true;
    }
    return 0;
}

const struct cg_ops cg_v1_ops = {
    .name = "v1",
    .init_dir = v1_init_dir,
    .prepare = NULL,
    .apply = v1_apply,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
    .stats = v1_stats,
    .removed = v1_removed,
    .kill = NULL,
};
