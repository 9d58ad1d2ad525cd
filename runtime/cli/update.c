/* SPDX-License-Identifier: Apache-2.0 */
/* update: new resource limits for a running container, from flags or from a
 * linux.resources JSON document (-r FILE, "-" = stdin). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "rt/container.h"

enum {
    O_RES,
    O_MEM,
    O_SWAP,
    O_RESERV,
    O_KMEM,
    O_KTCP,
    O_SHARES,
    O_QUOTA,
    O_PERIOD,
    O_RTPERIOD,
    O_RTRUNTIME,
    O_CPUS,
    O_MEMS,
    O_PIDS,
    O_BLKIO
};

static const struct rt_opt update_opts[] = {
    {"resources", 'r', true, O_RES},        {"memory", 0, true, O_MEM},
    {"memory-swap", 0, true, O_SWAP},       {"memory-reservation", 0, true, O_RESERV},
    {"kernel-memory", 0, true, O_KMEM},     {"kernel-memory-tcp", 0, true, O_KTCP},
    {"cpu-share", 0, true, O_SHARES},       {"cpu-shares", 0, true, O_SHARES},
    {"cpu-quota", 0, true, O_QUOTA},        {"cpu-period", 0, true, O_PERIOD},
    {"cpu-rt-period", 0, true, O_RTPERIOD}, {"cpu-rt-runtime", 0, true, O_RTRUNTIME},
    {"cpuset-cpus", 0, true, O_CPUS},       {"cpuset-mems", 0, true, O_MEMS},
    {"pids-limit", 0, true, O_PIDS},        {"blkio-weight", 0, true, O_BLKIO},
};

/* "64m", "1G", "-1" (unlimited), plain bytes. */
static int
parse_size(const char *s, int64_t *ret)
{
    char *end;
    double v;
    int64_t mul = 1;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s)
        return -1;
    while (*end == ' ')
        end++;
    switch (tolower((unsigned char)*end)) {
    case 0:
        break;
    case 'b':
        break;
    case 'k':
        mul = 1024;
        break;
    case 'm':
        mul = 1024 * 1024;
        break;
    case 'g':
        mul = 1024LL * 1024 * 1024;
        break;
    case 't':
        mul = 1024LL * 1024 * 1024 * 1024;
        break;
    default:
        return -1;
    }
    *ret = (int64_t)(v * (double)mul);
    return 0;
}

struct update_args {
    const char *file;
    struct rt_resources res;
};

static int
on_opt(int id, const char *arg, void *ud, struct cm_error **err)
{
    struct update_args *a = ud;
    struct rt_resources *r = &a->res;
    int64_t v = 0;

    if (id == O_RES) {
        a->file = arg;
        return 0;
    }
    if (id == O_CPUS || id == O_MEMS) {
        r->has_cpu = true;
        if (id == O_CPUS)
            r->cpu.cpus = (char *)arg;
        else
            r->cpu.mems = (char *)arg;
        return 0;
    }
    if (parse_size(arg, &v) < 0)
        return cm_error_set(err, 0, "invalid value '%s'", arg);
    switch (id) {
    case O_MEM:
        r->has_memory = r->memory.has_limit = true;
        r->memory.limit = v;
        break;
    case O_SWAP:
        r->has_memory = r->memory.has_swap = true;
        r->memory.swap = v;
        break;
    case O_RESERV:
        r->has_memory = r->memory.has_reservation = true;
        r->memory.reservation = v;
        break;
    case O_KMEM:
        r->has_memory = r->memory.has_kernel = true;
        r->memory.kernel = v;
        break;
    case O_KTCP:
        r->has_memory = r->memory.has_kernel_tcp = true;
        r->memory.kernel_tcp = v;
        break;
    case O_SHARES:
        r->has_cpu = r->cpu.has_shares = true;
        r->cpu.shares = (uint64_t)v;
        break;
    case O_QUOTA:
        r->has_cpu = r->cpu.has_quota = true;
        r->cpu.quota = v;
        break;
    case O_PERIOD:
        r->has_cpu = r->cpu.has_period = true;
        r->cpu.period = (uint64_t)v;
        break;
    case O_RTPERIOD:
        r->has_cpu = r->cpu.has_realtime_period = true;
        r->cpu.realtime_period = (uint64_t)v;
        break;
    case O_RTRUNTIME:
        r->has_cpu = r->cpu.has_realtime_runtime = true;
        r->cpu.realtime_runtime = v;
        break;
    case O_PIDS:
        r->has_pids = true;
        r->pids_limit = v;
        break;
    case O_BLKIO:
        r->has_blkio = r->blkio.has_weight = true;
        r->blkio.weight = (uint16_t)v;
        break;
    default:
        break;
    }
    return 0;
}

int
cli_update(int argc, char **argv)
{
    struct update_args a = {0};
    struct cm_error *err = NULL;
    cleanup_rt_config struct rt_config *cfg = NULL;
    const struct rt_resources *res = &a.res;
    int ind = cli_parse(argc, argv, update_opts, sizeof(update_opts) / sizeof(update_opts[0]),
                        on_opt, &a);

    if (ind < 0 || cli_need_args(argc, ind, 1, false, "update", "update [options] ID"))
        return 1;
    if (a.file) {
        cleanup_free char *buf = NULL;
        cleanup_free char *doc = NULL;
        size_t len = 0;
        const char *path = !strcmp(a.file, "-") ? "/dev/stdin" : a.file;
        if (cm_read_file_at(AT_FDCWD, path, RT_CONFIG_MAX_BYTES, &buf, &len, &err) < 0)
            return cli_fail(&err);
        /* Parsed by the config parser as linux.resources of a minimal config. */
        doc = xasprintf("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"rootfs\"},"
                        "\"linux\":{\"resources\":%s}}",
                        buf);
        if (rt_config_parse(doc, strlen(doc), a.file, &cfg, &err) < 0)
            return cli_fail(&err);
        res = &cfg->linux_.resources;
    }
    return rt_container_update(arg_globals.root, argv[ind], res, &err) < 0 ? cli_fail(&err) : 0;
}
