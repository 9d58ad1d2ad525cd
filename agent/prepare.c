/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-agent-worker's jobs: a task's preparation (netns + CNI, task cgroup,
 * per container: pull, overlay rootfs, config.json) and image garbage
 * collection. See include/agent/prepare.h for the request/answer format. */
#include "agent/prepare.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "agent/bundle.h"
#include "agent/cni.h"
#include "agent/taskdef.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "img/rootfs.h"
#include "img/store.h"
#include "rt/cgroup.h"

#define MAX_INSECURE 64

static void
store_close(struct img_store *s)
{
    img_store_free(s);
}
CM_DEFINE_CLEANUP(struct img_store *, store_close)
#define cleanup_img_store __attribute__((cleanup(store_closep)))

/* The part of the agent's configuration a job needs (strings borrowed from
 * the request). */
struct wcfg {
    const char *state_dir, *image_store, *default_registry, *netns_dir, *cgroup_root, *init_path;
    const char *insecure[MAX_INSECURE + 1];
    int64_t pids_limit;
    struct agent_cni_config cni;
    char *ipam, *cache, *store_dir;
};

static void
wcfg_done(struct wcfg *w)
{
    free(w->ipam);
    free(w->cache);
    free(w->store_dir);
}

static const char *
str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int
wcfg_from_json(json_t *j, struct wcfg *w, struct cm_error **err)
{
    json_t *ins = json_object_get(j, "insecureRegistries");
    size_t i;
    json_t *v;

    *w = (struct wcfg){.state_dir = str(j, "stateDir"),
                       .image_store = str(j, "imageStore"),
                       .default_registry = str(j, "defaultRegistry"),
                       .netns_dir = str(j, "netnsDir"),
                       .cgroup_root = str(j, "cgroupRoot"),
                       .init_path = str(j, "initPath"),
                       .pids_limit = json_integer_value(json_object_get(j, "pidsLimit"))};
    if (!w->state_dir || w->state_dir[0] != '/' || !w->netns_dir || !w->cgroup_root)
        return cm_error_set(err, 0, "worker: request without stateDir/netnsDir/cgroupRoot");
    if (json_array_size(ins) > MAX_INSECURE)
        return cm_error_set(err, 0, "worker: more than %d insecure registries", MAX_INSECURE);
    json_array_foreach (ins, i, v)
        w->insecure[i] = json_string_value(v) ? json_string_value(v) : "";
    w->ipam = xasprintf("%s/cni/ipam", w->state_dir);
    w->cache = xasprintf("%s/cni/cache", w->state_dir);
    w->store_dir = w->image_store ? xstrdup(w->image_store) : xasprintf("%s/images", w->state_dir);
    w->cni = (struct agent_cni_config){.plugin_dir = str(j, "cniPluginDir"),
                                       .network = "skiff",
                                       .bridge = str(j, "bridge"),
                                       .subnet = str(j, "subnet"),
                                       .ipam_dir = w->ipam,
                                       .cache_dir = w->cache,
                                       /* Requests without it come from an agent that
                                        * always used portmap. */
                                       .portmap = !str(j, "portMapper") ||
                                                  strcmp(str(j, "portMapper"), "cni") == 0};
    return 0;
}

/* ---- signals by name (image StopSignal) ---- */

static int
signal_from_name(const char *s)
{
    static const struct {
        const char *n;
        int sig;
    } names[] = {{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"QUIT", SIGQUIT},
                 {"HUP", SIGHUP},   {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH},
                 {"STOP", SIGSTOP}, {"PWR", SIGPWR}};
    char *end;
    long v;

    if (!s || !*s)
        return SIGTERM;
    v = strtol(s, &end, 10);
    if (!*end && v > 0 && v < 65)
        return (int)v;
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i].n) == 0)
            return names[i].sig;
    return SIGTERM;
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
agent_task_cgroup_setup(const char *cgroupfs, const char *path, uint32_t task_cpu,
                        uint64_t task_memory_mib, struct cm_error **err)
{
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    struct rt_resources res = {0};
    int64_t quota, mem;
    uint64_t period;

    agent_task_cgroup_limits(task_cpu, task_memory_mib, &quota, &period, &mem);
    if (quota > 0) {
        res.has_cpu = true;
        res.cpu = (struct rt_cpu){
            .has_quota = true, .quota = quota, .has_period = true, .period = period};
    }
    if (mem > 0) {
        res.has_memory = true;
        res.memory = (struct rt_memory){.has_limit = true, .limit = mem};
    }
    return rt_cgroup_create(cgroupfs, path, NULL, &res, &cg, err);
}

/* The bundle of one container from a resolved image: overlay rootfs and
 * config.json. */
static int
bundle_from(const struct wcfg *w, struct img_store *store, const struct img_image *img,
            const char *id, const char *netns, const struct agent_container_def *def,
            const char *dir, int *ret_signal, struct cm_error **err)
{
    cleanup_img_config struct img_config *icfg = NULL;
    cleanup_free char *bundle = xasprintf("%s/bundle", dir);
    cleanup_free char *upper = xasprintf("%s/upper", dir);
    cleanup_free char *work = xasprintf("%s/work", dir);
    cleanup_free char *rootfs = xasprintf("%s/rootfs", bundle);
    cleanup_free char *cgparent = xasprintf("%s/%s", w->cgroup_root, id);
    cleanup_close int rootfs_fd = -1;
    cleanup_close int bfd = -1;
    json_auto_t *spec = NULL;
    cleanup_free char *text = NULL;
    struct agent_bundle_params bp = {.task_id = id,
                                     .cgroup_parent = cgparent,
                                     .netns = netns,
                                     .hostname = id,
                                     .init_path = w->init_path,
                                     .pids_limit = w->pids_limit};

    if (img_store_read_config(store, img, &icfg, err) < 0)
        return cm_error_wrap(err, "image '%s'", def->image);
    if (img_rootfs_mount(store, img, upper, work, rootfs, NULL, err) < 0)
        return cm_error_wrap(err, "rootfs of '%s'", def->image);
    rootfs_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (agent_bundle_config(icfg, rootfs_fd, def, &bp, &spec, err) < 0)
        return -1;
    *ret_signal = signal_from_name(json_string_value(
        json_object_get(json_object_get(spec, "annotations"), AGENT_ANN_STOP_SIGNAL)));
    /* Compact: the shim parses it once; indenting only costs time. */
    text = json_dumps(spec, JSON_COMPACT);
    bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (bfd < 0)
        return cm_error_errno(err, "open '%s'", bundle);
    return cm_write_file_atomic_at(bfd, "config.json", text, strlen(text), 0644, err);
}

static void
unmount_all(const char *path)
{
    for (int i = 0; i < 8 && umount2(path, MNT_DETACH) == 0; i++)
        ;
}

/* A container's image pull (for a cached image: the registry check of its
 * tag), in a thread of its own started as the preparation begins: it runs
 * while the network, the cgroup and the bundle are made. */
struct pull_job {
    struct img_store *store;
    const char *ref;
    struct img_pull_opts po;
    struct img_image *local; /* the cached record, or NULL */
    struct img_image *img;   /* what the pull resolved */
    struct cm_error *err;
    pthread_t th;
    bool running;
    int64_t ms;
    int r;
};

struct pulls {
    size_t n;
    struct pull_job *j;
};

static void *
pull_main(void *ud)
{
    struct pull_job *p = ud;
    int64_t t0 = now_ms();

    p->r = img_pull(p->store, p->ref, &p->po, &p->img, &p->err);
    p->ms = now_ms() - t0;
    return NULL;
}

static void
pull_join(struct pull_job *p)
{
    if (p->running)
        pthread_join(p->th, NULL);
    p->running = false;
}

static void
pulls_start(const struct wcfg *w, struct img_store *store, const struct agent_task_def *def,
            struct pulls *ps)
{
    ps->j = xcalloc(def->n_containers + 1, sizeof *ps->j);
    ps->n = def->n_containers;
    for (size_t i = 0; i < ps->n; i++) {
        struct pull_job *p = &ps->j[i];
        *p = (struct pull_job){.store = store,
                               .ref = def->containers[i].image,
                               .po = {.registry = {.insecure = (char **)w->insecure},
                                      .default_registry = w->default_registry}};
        if (img_store_get(store, p->ref, w->default_registry, &p->local, NULL) < 0)
            p->local = NULL;
        /* Without a thread the pull happens in prepare_container. */
        p->running = pthread_create(&p->th, NULL, pull_main, p) == 0;
    }
}

/* Every early return waits for the pulls still running (they use the store). */
static void
pulls_done(struct pulls *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        pull_join(&ps->j[i]);
        img_image_free(ps->j[i].local);
        img_image_free(ps->j[i].img);
        cm_error_free(&ps->j[i].err);
    }
    free(ps->j);
    *ps = (struct pulls){0};
}

static int
prepare_container(const struct wcfg *w, struct img_store *store, const char *id, const char *netns,
                  const struct agent_container_def *def, struct pull_job *pj, int *ret_signal,
                  int64_t *ret_pull_ms, struct cm_error **err)
{
    cleanup_free char *dir = xasprintf("%s/tasks/%s/c/%s", w->state_dir, id, def->name);
    cleanup_free char *rootfs = xasprintf("%s/bundle/rootfs", dir);
    cleanup_free char *upper = xasprintf("%s/upper", dir);
    cleanup_free char *work = xasprintf("%s/work", dir);

    if (cm_mkdir_p(rootfs, 0755, err) < 0 || cm_mkdir_p(upper, 0755, err) < 0 ||
        cm_mkdir_p(work, 0755, err) < 0)
        return -1;
    /* A preparation cut short by a restart may have mounted it already. */
    unmount_all(rootfs);
    if (pj->local && pj->running) {
        /* A cached image: the bundle is built from it while the registry
         * says what the tag stands for now (ECS's default pull behaviour).
         * Only a tag that moved, or a cache that could not be used, costs a
         * second build from the pulled image. */
        cleanup_error struct cm_error *e = NULL;
        int r = bundle_from(w, store, pj->local, id, netns, def, dir, ret_signal, &e);

        pull_join(pj);
        if (pj->r == 0 && r == 0 && strcmp(pj->img->manifest, pj->local->manifest) == 0 &&
            strcmp(pj->img->config, pj->local->config) == 0) {
            *ret_pull_ms += pj->ms;
            return 0;
        }
        unmount_all(rootfs);
    } else if (!pj->running) {
        int64_t t0 = now_ms();
        pj->r = img_pull(store, def->image, &pj->po, &pj->img, &pj->err);
        pj->ms = now_ms() - t0;
    }
    pull_join(pj);
    *ret_pull_ms += pj->ms;
    if (pj->r < 0) {
        *err = TAKE_PTR(pj->err);
        return cm_error_wrap(err, "CannotPullContainerError: pull '%s'", def->image);
    }
    return bundle_from(w, store, pj->img, id, netns, def, dir, ret_signal, err);
}

/* The host ports the agent resolved, per container, in def's order. */
static int
ports_from_json(json_t *ports, const struct agent_container_def *def, struct agent_port_mapping *pm,
                size_t *n, struct cm_error **err)
{
    json_t *a = json_object_get(ports, def->name);

    *n = 0;
    if (json_array_size(a) != def->n_port_mappings)
        return cm_error_set(err, 0, "worker: container '%s': %zu resolved ports for %zu mappings",
                            def->name, json_array_size(a), def->n_port_mappings);
    for (size_t k = 0; k < def->n_port_mappings; k++) {
        json_int_t cp = json_integer_value(json_array_get(json_array_get(a, k), 0));
        json_int_t hp = json_integer_value(json_array_get(json_array_get(a, k), 1));
        if (cp <= 0 || cp > 65535 || hp <= 0 || hp > 65535)
            return cm_error_set(err, 0, "worker: container '%s': port mapping %zu is invalid",
                                def->name, k);
        pm[(*n)++] = (struct agent_port_mapping){
            (uint16_t)cp, (uint16_t)hp, json_is_true(json_array_get(json_array_get(a, k), 2))};
    }
    return 0;
}

/* All the task's resolved host ports in one array (CNI's portmap takes them
 * together); *ret belongs to the caller. */
static int
task_ports_from_json(json_t *ports, const struct agent_task_def *def,
                     struct agent_port_mapping **ret, size_t *ret_n, struct cm_error **err)
{
    cleanup_free struct agent_port_mapping *all =
        xcalloc(AGENT_MAX_CONTAINERS * (AGENT_MAX_PORT_MAPPINGS + 1), sizeof *all);
    size_t n_all = 0;

    for (size_t i = 0; i < def->n_containers; i++) {
        size_t n = 0;
        if (def->containers[i].n_port_mappings > AGENT_MAX_PORT_MAPPINGS)
            return cm_error_set(err, 0, "worker: too many port mappings");
        if (ports_from_json(ports, &def->containers[i], all + n_all, &n, err) < 0)
            return -1;
        n_all += n;
    }
    *ret = TAKE_PTR(all);
    *ret_n = n_all;
    return 0;
}

static json_t *
prepare(const struct wcfg *w, json_t *req, struct cm_error **err)
{
    json_t *desc = json_object_get(req, "task");
    json_t *pool = json_object_get(req, "pool");
    const char *id = str(desc, "taskId");
    cleanup_agent_task_def struct agent_task_def *def = NULL;
    cleanup_img_store struct img_store *store = NULL;
    /* Declared after the store: joined before it is closed. */
    struct pulls pulls __attribute__((cleanup(pulls_done))) = {0};
    cleanup_free char *netns = NULL;
    cleanup_free char *ip = NULL;
    cleanup_free struct agent_port_mapping *all = NULL;
    size_t n_all = 0;
    json_t *sigs;
    int64_t net_ms = now_ms(), pull_ms = 0;

    if (!id || !*id || strlen(id) > 64 || strchr(id, '/') || id[0] == '.')
        return cm_error_set(err, 0, "worker: task without a valid taskId"), NULL;
    if (agent_task_def_from_json(json_object_get(desc, "taskDefinition"), &def, err) < 0)
        return cm_error_wrap(err, "task '%s'", id), NULL;
    /* Only bridge mode maps host ports (through CNI's portmap, or the agent's
     * own nftables map once the task has its address: portMapper "nft"). */
    if (def->network_mode == AGENT_NET_BRIDGE &&
        task_ports_from_json(json_object_get(req, "ports"), def, &all, &n_all, err) < 0)
        return NULL;
    if (img_store_open(w->store_dir, &store, err) < 0)
        return NULL;
    pulls_start(w, store, def, &pulls);
    net_ms = now_ms();
    if (pool && agent_net_mode_has_netns(def->network_mode) &&
        def->network_mode != AGENT_NET_NONE) {
        /* A netns attached ahead of time: only the host ports are left. */
        const char *pid_ = str(pool, "id"), *pns = str(pool, "netns"), *pip = str(pool, "ip");
        if (!pid_ || !pns)
            return cm_error_set(err, 0, "worker: pool entry without id/netns"), NULL;
        netns = xstrdup(pns);
        ip = pip ? xstrdup(pip) : NULL;
        if (def->network_mode == AGENT_NET_BRIDGE &&
            !json_is_true(json_object_get(pool, "noPorts")) &&
            agent_cni_add_ports(&w->cni, pid_, netns, all, n_all, err) < 0)
            return cm_error_wrap(err, "task '%s'", id), NULL;
    } else if (agent_net_mode_has_netns(def->network_mode)) {
        cleanup_free char *path = xasprintf("%s/%s", w->netns_dir, id);
        struct stat st;

        /* A restart during preparation may have left a half-attached netns:
         * detach (DEL is idempotent) and start over with a fresh one. */
        if (stat(path, &st) == 0) {
            agent_cni_del(&w->cni, def->network_mode, id, path, NULL);
            agent_netns_delete(path, NULL);
        }
        if (agent_netns_create(w->netns_dir, id, &netns, err) < 0)
            return NULL;
        if (agent_cni_add(&w->cni, def->network_mode, id, netns, all, n_all, &ip, err) < 0)
            return NULL;
    }
    net_ms = now_ms() - net_ms;
    {
        cleanup_free char *cgpath = xasprintf("%s/%s", w->cgroup_root, id);
        if (agent_task_cgroup_setup("/sys/fs/cgroup", cgpath, def->cpu, def->memory, err) < 0)
            return cm_error_wrap(err, "task cgroup"), NULL;
    }
    sigs = json_object();
    for (size_t i = 0; i < def->n_containers; i++) {
        int sig = SIGTERM;
        if (prepare_container(w, store, id, netns, &def->containers[i], &pulls.j[i], &sig, &pull_ms,
                              err) < 0) {
            json_decref(sigs);
            return cm_error_wrap(err, "container '%s'", def->containers[i].name), NULL;
        }
        json_object_set_new(sigs, def->containers[i].name, json_integer(sig));
    }
    return json_pack("{s:b, s:s?, s:s?, s:I, s:I, s:o}", "ok", 1, "netns", netns, "ip", ip, "netMs",
                     (json_int_t)net_ms, "pullMs", (json_int_t)pull_ms, "stopSignals", sigs);
}

/* A network namespace attached ahead of time (awsvpc: bridge + IP). */
static json_t *
warm(const struct wcfg *w, json_t *req, struct cm_error **err)
{
    const char *id = str(req, "id");
    cleanup_free char *path = NULL;
    cleanup_free char *netns = NULL;
    cleanup_free char *ip = NULL;

    if (!id || strncmp(id, "warm-", 5) != 0 || strlen(id) > 64 || strchr(id, '/'))
        return cm_error_set(err, 0, "worker: bad pool id"), NULL;
    path = xasprintf("%s/%s", w->netns_dir, id);
    if (access(path, F_OK) == 0) {
        agent_cni_del(&w->cni, AGENT_NET_AWSVPC, id, path, NULL);
        agent_netns_delete(path, NULL);
    }
    if (agent_netns_create(w->netns_dir, id, &netns, err) < 0)
        return NULL;
    if (agent_cni_add(&w->cni, AGENT_NET_AWSVPC, id, netns, NULL, 0, &ip, err) < 0) {
        agent_netns_delete(netns, NULL);
        return NULL;
    }
    return json_pack("{s:b, s:s, s:s?}", "ok", 1, "netns", netns, "ip", ip);
}

/* The host ports of a bridge task on a pre-warmed netns. */
static json_t *
ports(const struct wcfg *w, json_t *req, struct cm_error **err)
{
    const char *id = str(req, "id");
    const char *netns = str(req, "netns");
    cleanup_agent_task_def struct agent_task_def *def = NULL;
    cleanup_free struct agent_port_mapping *all = NULL;
    size_t n_all = 0;

    if (!id || !netns || strncmp(id, "warm-", 5) != 0)
        return cm_error_set(err, 0, "worker: ports without a pool id/netns"), NULL;
    if (agent_task_def_from_json(json_object_get(json_object_get(req, "task"), "taskDefinition"),
                                 &def, err) < 0)
        return NULL;
    if (task_ports_from_json(json_object_get(req, "ports"), def, &all, &n_all, err) < 0)
        return NULL;
    if (agent_cni_add_ports(&w->cni, id, netns, all, n_all, err) < 0)
        return NULL;
    return json_pack("{s:b}", "ok", 1);
}

/* Detaches a stopped task's network and removes its netns. */
static json_t *
release(const struct wcfg *w, json_t *req, struct cm_error **err)
{
    const char *id = str(req, "id");
    const char *netns = str(req, "netns");
    const char *mode = str(req, "mode");
    int m = mode ? agent_net_mode_from_name(mode) : -1;
    size_t dl = strlen(w->netns_dir);
    cleanup_error struct cm_error *e = NULL;

    if (!id || !*id || strlen(id) > 64 || strchr(id, '/') || m < 0 || !netns ||
        strncmp(netns, w->netns_dir, dl) != 0 || netns[dl] != '/' || strchr(netns + dl + 1, '/') ||
        netns[dl + 1] == '.')
        return cm_error_set(err, 0, "worker: release needs an id, a mode and a netns in netnsDir"),
               NULL;
    /* DEL runs every plugin; a failure is reported, the netns goes anyway. */
    agent_cni_del(&w->cni, (enum agent_net_mode)m, id, netns, &e);
    if (agent_netns_delete(netns, err) < 0)
        return NULL;
    if (e)
        return cm_error_set(err, e->code, "%s", e->msg), NULL;
    return json_pack("{s:b}", "ok", 1);
}

/* Detaches and removes a netns (pool entries nobody took). */
static json_t *
unwarm(const struct wcfg *w, json_t *req, struct cm_error **err)
{
    const char *id = str(req, "id");
    const char *mode = str(req, "mode");
    int m = mode ? agent_net_mode_from_name(mode) : AGENT_NET_AWSVPC;
    cleanup_free char *path = NULL;

    if (!id || strncmp(id, "warm-", 5) != 0 || strlen(id) > 64 || strchr(id, '/') || m < 0)
        return cm_error_set(err, 0, "worker: bad pool id or mode"), NULL;
    path = xasprintf("%s/%s", w->netns_dir, id);
    agent_cni_del(&w->cni, (enum agent_net_mode)m, id, path, NULL);
    if (agent_netns_delete(path, err) < 0)
        return NULL;
    return json_pack("{s:b}", "ok", 1);
}

/* When the store's filesystem is fuller than the threshold, images no
 * unstopped task uses are forgotten and their blobs and snapshots pruned. */
static json_t *
gc(const struct wcfg *w, json_t *req, struct cm_error **err)
{
    cleanup_img_store struct img_store *store = NULL;
    json_t *in_use = json_object_get(req, "inUse");
    json_int_t percent = json_integer_value(json_object_get(req, "percent"));
    struct img_image **imgs = NULL;
    size_t n = 0;
    uint64_t freed = 0;
    struct statvfs vfs;
    unsigned used;
    json_t *removed = json_array();
    cleanup_error struct cm_error *e = NULL;

    if (img_store_open(w->store_dir, &store, err) < 0) {
        json_decref(removed);
        return NULL;
    }
    if (statvfs(img_store_root(store), &vfs) < 0 || vfs.f_blocks == 0)
        return json_pack("{s:b, s:o}", "ok", 1, "removed", removed);
    used = (unsigned)(100 - (uint64_t)vfs.f_bavail * 100 / vfs.f_blocks);
    if ((json_int_t)used < percent || img_store_list(store, &imgs, &n, &e) < 0)
        return json_pack("{s:b, s:o}", "ok", 1, "removed", removed);
    for (size_t i = 0; i < n; i++) {
        bool used_here = false;
        size_t k;
        json_t *ref;
        json_array_foreach (in_use, k, ref) {
            cleanup_img_image struct img_image *mine = NULL;
            if (json_string_value(ref) &&
                img_store_get(store, json_string_value(ref), w->default_registry, &mine, NULL) ==
                    0 &&
                strcmp(mine->name, imgs[i]->name) == 0) {
                used_here = true;
                break;
            }
        }
        if (!used_here && img_store_remove(store, imgs[i]->name, NULL, NULL) == 0)
            json_array_append_new(removed, json_string(imgs[i]->name));
    }
    img_image_list_free(imgs, n);
    if (img_store_prune(store, NULL, &freed, err) < 0) {
        json_decref(removed);
        return NULL;
    }
    return json_pack("{s:b, s:o}", "ok", 1, "removed", removed);
}

json_t *
agent_worker_handle(json_t *request)
{
    cleanup_error struct cm_error *err = NULL;
    struct wcfg w;
    const char *op = str(request, "op");
    json_t *ans = NULL;

    if (wcfg_from_json(json_object_get(request, "cfg"), &w, &err) == 0) {
        if (op && strcmp(op, "prepare") == 0)
            ans = prepare(&w, request, &err);
        else if (op && strcmp(op, "gc") == 0)
            ans = gc(&w, request, &err);
        else if (op && strcmp(op, "warm") == 0)
            ans = warm(&w, request, &err);
        else if (op && strcmp(op, "release") == 0)
            ans = release(&w, request, &err);
        else if (op && strcmp(op, "ports") == 0)
            ans = ports(&w, request, &err);
        else if (op && strcmp(op, "unwarm") == 0)
            ans = unwarm(&w, request, &err);
        else
            cm_error_set(&err, 0, "worker: unknown op '%s'", op ? op : "");
    }
    wcfg_done(&w);
    if (ans)
        return ans;
    return json_pack("{s:b, s:s}", "ok", 0, "error", err ? err->msg : "worker: failed");
}
