/* SPDX-License-Identifier: Apache-2.0 */
/* The task table: tasks as compact records (a million of them must fit in a
 * few hundred MiB and be scanned in milliseconds), interned strings, the live
 * lists per service and per instance, a small binary row per task for the
 * store, and the ECS JSON view rendered only when the API asks for it. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "skiffd.h"

/* ---- interned strings ---------------------------------------------------- */

static uint64_t
hash_bytes(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static void
intern_rehash(struct sched_intern *in, size_t n_slots)
{
    free(in->slots);
    in->slots = xcalloc(n_slots, sizeof(*in->slots));
    in->n_slots = n_slots;
    for (uint32_t i = 1; i < in->n; i++) {
        size_t j = hash_bytes(in->strs[i]) & (n_slots - 1);
        while (in->slots[j])
            j = (j + 1) & (n_slots - 1);
        in->slots[j] = i;
    }
}

uint32_t
sched_intern_find(const struct sched_daemon *d, const char *s)
{
    const struct sched_intern *in = &d->strings;
    if (!s || !in->n_slots)
        return 0;
    for (size_t j = hash_bytes(s) & (in->n_slots - 1);; j = (j + 1) & (in->n_slots - 1)) {
        uint32_t i = in->slots[j];
        if (!i)
            return 0;
        if (!strcmp(in->strs[i], s))
            return i;
    }
}

uint32_t
sched_intern(struct sched_daemon *d, const char *s)
{
    struct sched_intern *in = &d->strings;
    if (!s)
        return 0;
    uint32_t i = sched_intern_find(d, s);
    if (i)
        return i;
    if (in->n == 0)
        in->n = 1; /* index 0 is "none" */
    in->strs = xreallocarray_grow(in->strs, &in->cap, in->n + 1, sizeof(*in->strs));
    i = (uint32_t)in->n++;
    in->strs[i] = xstrdup(s);
    if (in->n * 2 > in->n_slots)
        intern_rehash(in, in->n_slots ? in->n_slots * 2 : 1024);
    else {
        size_t j = hash_bytes(s) & (in->n_slots - 1);
        while (in->slots[j])
            j = (j + 1) & (in->n_slots - 1);
        in->slots[j] = i;
    }
    return i;
}

int
sched_intern_load(struct sched_daemon *d, int64_t id, const char *text, struct cm_error **err)
{
    uint32_t got = sched_intern(d, text);
    if ((int64_t)got != id)
        return cm_error_set(err, EINVAL, "stored string %lld: expected id %lld, got %u",
                            (long long)id, (long long)id, got);
    d->strings.n_stored = d->strings.n;
    return 0;
}

const char *
sched_str(const struct sched_daemon *d, uint32_t i)
{
    return i && i < d->strings.n ? d->strings.strs[i] : NULL;
}

/* ---- handles -------------------------------------------------------------- */

void
sched_handles_add(struct sched_handles *hs, uint32_t h)
{
    hs->v = xreallocarray_grow(hs->v, &hs->cap, hs->n + 1, sizeof(*hs->v));
    hs->v[hs->n++] = h;
}

void
sched_handles_done(struct sched_handles *hs)
{
    free(hs->v);
    memset(hs, 0, sizeof(*hs));
}

int64_t
sched_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the table -------------------------------------------------------------- */

static uint64_t
id_hash(const uint8_t id[16])
{
    uint64_t a;
    memcpy(&a, id, 8);
    a ^= a >> 33;
    a *= 0xff51afd7ed558ccdULL;
    return a ^ (a >> 33);
}

static void
hash_insert(struct sched_tasktab *tt, struct sched_daemon *d, uint32_t h)
{
    size_t mask = tt->n_hash - 1;
    uint64_t hv = id_hash(sched_task_at(d, h)->id);
    for (size_t j = hv & mask;; j = (j + 1) & mask) {
        if (tt->hash[j].h == SCHED_NO_TASK) {
            tt->hash[j].h = h;
            tt->hash[j].tag = (uint32_t)(hv >> 32);
            return;
        }
    }
}

static void
hash_resize(struct sched_daemon *d, size_t n)
{
    struct sched_tasktab *tt = &d->tasks;
    free(tt->hash);
    tt->hash = xmalloc(n * sizeof(*tt->hash));
    memset(tt->hash, 0xff, n * sizeof(*tt->hash));
    tt->n_hash = n;
    for (uint32_t h = 0; h < tt->n; h++)
        if (sched_task_at(d, h)->flags & SCHED_TF_USED)
            hash_insert(tt, d, h);
}

static void
hash_grow(struct sched_daemon *d)
{
    hash_resize(d, d->tasks.n_hash ? d->tasks.n_hash * 2 : 4096);
}

void
sched_tasktab_reserve(struct sched_daemon *d, size_t count)
{
    size_t n = 4096;
    while (n < count * 2 + 2)
        n *= 2;
    if (n > d->tasks.n_hash)
        hash_resize(d, n);
}

/* Backward-shift deletion keeps linear probing free of tombstones. */
static void
hash_remove(struct sched_daemon *d, uint32_t h)
{
    struct sched_tasktab *tt = &d->tasks;
    size_t mask = tt->n_hash - 1;
    size_t j = id_hash(sched_task_at(d, h)->id) & mask;
    while (tt->hash[j].h != h) {
        if (tt->hash[j].h == SCHED_NO_TASK)
            return;
        j = (j + 1) & mask;
    }
    tt->hash[j].h = SCHED_NO_TASK;
    for (size_t k = (j + 1) & mask; tt->hash[k].h != SCHED_NO_TASK; k = (k + 1) & mask) {
        size_t home = id_hash(sched_task_at(d, tt->hash[k].h)->id) & mask;
        /* Move k into the hole j unless its home lies cyclically in (j, k]. */
        bool stays = j <= k ? (home > j && home <= k) : (home > j || home <= k);
        if (!stays) {
            tt->hash[j] = tt->hash[k];
            tt->hash[k].h = SCHED_NO_TASK;
            j = k;
        }
    }
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static uint32_t
sched_task_find_id(struct sched_daemon *d, const uint8_t id[16])
{
    struct sched_tasktab *tt = &d->tasks;
    if (!tt->n_hash)
        return SCHED_NO_TASK;
    size_t mask = tt->n_hash - 1;
    uint64_t hv = id_hash(id);
    uint32_t tag = (uint32_t)(hv >> 32);
    for (size_t j = hv & mask;; j = (j + 1) & mask) {
        uint32_t h = tt->hash[j].h;
        if (h == SCHED_NO_TASK)
            return SCHED_NO_TASK;
        /* The tag spares fetching the records of the other tasks on the probe path. */
        if (tt->hash[j].tag == tag && !memcmp(sched_task_at(d, h)->id, id, 16))
            return h;
    }
}

uint32_t
sched_task_find(struct sched_daemon *d, const char *s)
{
    uint8_t id[16];
    if (!s || strlen(s) != 32)
        return SCHED_NO_TASK;
    for (int i = 0; i < 16; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return SCHED_NO_TASK;
        id[i] = (uint8_t)(hi << 4 | lo);
    }
    return sched_task_find_id(d, id);
}

void
sched_task_hex(const struct sched_task_rec *t, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[t->id[i] >> 4];
        out[2 * i + 1] = hex[t->id[i] & 15];
    }
    out[32] = 0;
}

static void
lists_grow(struct sched_daemon *d, uint32_t idx)
{
    struct sched_tasktab *tt = &d->tasks;
    if (idx < tt->n_lists)
        return;
    size_t n = tt->n_lists ? tt->n_lists : 1024;
    while (n <= idx)
        n *= 2;
    tt->svc_lists = xrealloc(tt->svc_lists, n * sizeof(*tt->svc_lists));
    tt->inst_lists = xrealloc(tt->inst_lists, n * sizeof(*tt->inst_lists));
    memset(tt->svc_lists + tt->n_lists, 0, (n - tt->n_lists) * sizeof(*tt->svc_lists));
    memset(tt->inst_lists + tt->n_lists, 0, (n - tt->n_lists) * sizeof(*tt->inst_lists));
    tt->n_lists = n;
}

static uint32_t
hvec_push(struct sched_hvec *hv, uint32_t h)
{
    if (hv->n == hv->cap) {
        hv->cap = hv->cap ? hv->cap * 2 : 8;
        hv->v = xrealloc(hv->v, hv->cap * sizeof(*hv->v));
    }
    hv->v[hv->n] = h;
    return hv->n++;
}

static void
link_task(struct sched_daemon *d, uint32_t h)
{
    struct sched_tasktab *tt = &d->tasks;
    struct sched_task_rec *t = sched_task_at(d, h);
    lists_grow(d, t->service > t->instance ? t->service : t->instance);
    if (t->service)
        t->svc_pos = hvec_push(&tt->svc_lists[t->service], h);
    if (t->instance)
        t->inst_pos = hvec_push(&tt->inst_lists[t->instance], h);
    t->flags |= SCHED_TF_LINKED;
}

static void
unlink_task(struct sched_daemon *d, uint32_t h)
{
    struct sched_tasktab *tt = &d->tasks;
    struct sched_task_rec *t = sched_task_at(d, h);
    /* Swap-remove: the last handle takes the hole. */
    if (t->service) {
        struct sched_hvec *hv = &tt->svc_lists[t->service];
        uint32_t last = hv->v[--hv->n];
        if (last != h) {
            hv->v[t->svc_pos] = last;
            sched_task_at(d, last)->svc_pos = t->svc_pos;
        }
    }
    if (t->instance) {
        struct sched_hvec *hv = &tt->inst_lists[t->instance];
        uint32_t last = hv->v[--hv->n];
        if (last != h) {
            hv->v[t->inst_pos] = last;
            sched_task_at(d, last)->inst_pos = t->inst_pos;
        }
    }
    t->flags &= (uint16_t)~SCHED_TF_LINKED;
}

/* Takes a slot (reusing a forgotten one) for a task with the given id. */
static uint32_t
slot_new(struct sched_daemon *d, const uint8_t id[16], int64_t seq)
{
    struct sched_tasktab *tt = &d->tasks;
    uint32_t h;
    if (tt->n_free > 0) {
        h = tt->free_list[--tt->n_free];
    } else {
        if (tt->n % SCHED_TASK_PAGE == 0) {
            tt->pages = xrealloc(tt->pages, (tt->n_pages + 1) * sizeof(*tt->pages));
            tt->pages[tt->n_pages++] = xcalloc(SCHED_TASK_PAGE, sizeof(struct sched_task_rec));
        }
        h = tt->n++;
    }
    struct sched_task_rec *t = sched_task_at(d, h);
    memset(t, 0, sizeof(*t));
    memcpy(t->id, id, 16);
    t->seq = seq;
    t->flags = SCHED_TF_USED;
    if ((tt->count + 1) * 2 > tt->n_hash)
        hash_grow(d);
    hash_insert(tt, d, h);
    tt->count++;
    if (seq >= tt->next_seq)
        tt->next_seq = seq + 1;
    return h;
}

uint32_t
sched_task_alloc(struct sched_daemon *d)
{
    /* Ids come from the kernel's CSPRNG, fetched a few hundred at a time: one
     * syscall per task is a noticeable share of a million placements. */
    static uint8_t pool[4096];
    static size_t left;
    uint8_t id[16];
    if (left < sizeof(id)) {
        size_t got = 0;
        while (got < sizeof(pool)) {
            ssize_t r = getrandom(pool + got, sizeof(pool) - got, 0);
            if (r < 0)
                abort();
            got += (size_t)r;
        }
        left = sizeof(pool);
    }
    memcpy(id, pool + sizeof(pool) - left, sizeof(id));
    memset(pool + sizeof(pool) - left, 0, sizeof(id));
    left -= sizeof(id);
    if (d->tasks.next_seq < 1)
        d->tasks.next_seq = 1;
    uint32_t h = slot_new(d, id, d->tasks.next_seq);
    return h;
}

void
sched_task_changed(struct sched_daemon *d, uint32_t h)
{
    struct sched_tasktab *tt = &d->tasks;
    struct sched_task_rec *t = sched_task_at(d, h);
    if (!(t->flags & SCHED_TF_DIRTY)) {
        t->flags |= SCHED_TF_DIRTY;
        tt->dirty =
            xreallocarray_grow(tt->dirty, &tt->cap_dirty, tt->n_dirty + 1, sizeof(*tt->dirty));
        tt->dirty[tt->n_dirty++] = h;
    }
    bool live = sched_task_live(t);
    if (live && !(t->flags & SCHED_TF_LINKED))
        link_task(d, h);
    else if (!live && (t->flags & SCHED_TF_LINKED))
        unlink_task(d, h);
}

void
sched_task_forget(struct sched_daemon *d, uint32_t h)
{
    struct sched_tasktab *tt = &d->tasks;
    struct sched_task_rec *t = sched_task_at(d, h);
    if (!(t->flags & SCHED_TF_USED))
        return;
    if (t->flags & SCHED_TF_LINKED)
        unlink_task(d, h);
    hash_remove(d, h);
    tt->deleted =
        xreallocarray_grow(tt->deleted, &tt->cap_deleted, tt->n_deleted + 1, sizeof(*tt->deleted));
    tt->deleted[tt->n_deleted++] = t->seq;
    json_decref(t->extra);
    t->extra = NULL;
    t->flags = 0;
    tt->count--;
    /* The slot may still be on the dirty list: it is reused only after the flush. */
    tt->limbo = xreallocarray_grow(tt->limbo, &tt->cap_limbo, tt->n_limbo + 1, sizeof(*tt->limbo));
    tt->limbo[tt->n_limbo++] = h;
}

static uint32_t *
collect(const struct sched_hvec *hv, size_t *ret_n)
{
    size_t n = hv ? hv->n : 0;
    uint32_t *out = xmalloc((n + 1) * sizeof(*out));
    if (n)
        memcpy(out, hv->v, n * sizeof(*out));
    *ret_n = n;
    return out;
}

uint32_t *
sched_tasks_of_service(struct sched_daemon *d, uint32_t svc, size_t *ret_n)
{
    struct sched_tasktab *tt = &d->tasks;
    return collect(svc && svc < tt->n_lists ? &tt->svc_lists[svc] : NULL, ret_n);
}

uint32_t *
sched_tasks_of_instance(struct sched_daemon *d, uint32_t inst, size_t *ret_n)
{
    struct sched_tasktab *tt = &d->tasks;
    return collect(inst && inst < tt->n_lists ? &tt->inst_lists[inst] : NULL, ret_n);
}

size_t
sched_n_tasks_of_service(struct sched_daemon *d, uint32_t svc)
{
    return svc && svc < d->tasks.n_lists ? d->tasks.svc_lists[svc].n : 0;
}

void
sched_tasktab_done(struct sched_daemon *d)
{
    struct sched_tasktab *tt = &d->tasks;
    for (uint32_t h = 0; h < tt->n; h++)
        json_decref(sched_task_at(d, h)->extra);
    for (size_t i = 0; i < tt->n_pages; i++)
        free(tt->pages[i]);
    free(tt->pages);
    free(tt->free_list);
    free(tt->limbo);
    free(tt->hash);
    free(tt->dirty);
    free(tt->deleted);
    for (size_t i = 0; i < tt->n_lists; i++) {
        free(tt->svc_lists[i].v);
        free(tt->inst_lists[i].v);
    }
    free(tt->svc_lists);
    free(tt->inst_lists);
    memset(tt, 0, sizeof(*tt));
    for (size_t i = 1; i < d->strings.n; i++)
        free(d->strings.strs[i]);
    free(d->strings.strs);
    free(d->strings.slots);
    memset(&d->strings, 0, sizeof(d->strings));
    for (size_t i = 0; i < d->n_td_info; i++)
        free(d->td_info[i].ports);
    free(d->td_info);
    d->td_info = NULL;
    d->n_td_info = 0;
}

/* ---- task definitions -------------------------------------------------------- */

const struct sched_td_info *
sched_td_info(struct sched_daemon *d, uint32_t td)
{
    static const struct sched_td_info none = {0};
    if (!td)
        return &none;
    if (td >= d->n_td_info) {
        size_t n = d->n_td_info ? d->n_td_info : 64;
        while (n <= td)
            n *= 2;
        d->td_info = xrealloc(d->td_info, (n) * sizeof(*d->td_info));
        memset(d->td_info + d->n_td_info, 0, (n - d->n_td_info) * sizeof(*d->td_info));
        d->n_td_info = n;
    }
    struct sched_td_info *ti = &d->td_info[td];
    if (ti->known)
        return ti;
    json_t *doc = sched_get(d, SCHED_K_TASKDEF, sched_str(d, td));
    if (!doc)
        return &none;
    json_t *ports = sched_td_host_ports(doc);
    ti->n_ports = json_array_size(ports);
    ti->ports = xcalloc(ti->n_ports + 1, sizeof(uint32_t));
    for (size_t i = 0; i < ti->n_ports; i++)
        ti->ports[i] = (uint32_t)json_integer_value(json_array_get(ports, i));
    json_decref(ports);
    size_t i;
    json_t *cd;
    /* Only essential containers' checks make the task's health (sched_task_health). */
    json_array_foreach (json_object_get(doc, "containerDefinitions"), i, cd)
        if (json_object_get(cd, "healthCheck") &&
            (!json_object_get(cd, "essential") || json_is_true(json_object_get(cd, "essential"))))
            ti->has_health_check = true;
    ti->known = true;
    return ti;
}

json_t *
sched_task_td(struct sched_daemon *d, const struct sched_task_rec *t)
{
    const char *key = sched_str(d, t->td);
    return key ? sched_get(d, SCHED_K_TASKDEF, key) : NULL;
}

json_t *
sched_task_extra(struct sched_task_rec *t)
{
    if (!t->extra)
        t->extra = json_object();
    return t->extra;
}

/* ---- the ECS view ------------------------------------------------------------ */

static const char *const status_names[] = {"PROVISIONING", "PENDING",  "ACTIVATING",     "RUNNING",
                                           "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"};

static const char *
region_of_task(struct sched_daemon *d, const struct sched_task_rec *t, char *buf, size_t len)
{
    json_t *cl = sched_get(d, SCHED_K_CLUSTER, sched_str(d, t->cluster));
    cleanup_free char *r = sched_region_of(d, json_string_value(json_object_get(cl, "clusterArn")));
    snprintf(buf, len, "%s", r);
    return buf;
}

char *
sched_task_arn(struct sched_daemon *d, const struct sched_task_rec *t)
{
    char hex[33], region[64];
    sched_task_hex(t, hex);
    return xasprintf("arn:aws:ecs:%s:%s:task/%s/%s", region_of_task(d, t, region, sizeof(region)),
                     SCHED_ACCOUNT, sched_str(d, t->cluster), hex);
}

/* A stable UUID per container of a task, derived from the task id (nothing to store). */
static void
container_uuid(const struct sched_task_rec *t, size_t idx, char out[37])
{
    uint8_t b[16];
    uint64_t x, y;
    memcpy(&x, t->id, 8);
    memcpy(&y, t->id + 8, 8);
    for (int r = 0; r < 2; r++) {
        uint64_t z = (r ? y : x) + 0x9e3779b97f4a7c15ULL * (idx + 1);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        memcpy(b + 8 * r, &z, 8);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static json_t *
ms_value(int64_t ms)
{
    return json_real((double)ms / 1000.0);
}

static json_t *
containers_view(struct sched_daemon *d, const struct sched_task_rec *t, const char *region,
                const char *task_arn)
{
    json_t *arr = json_array();
    json_t *td = sched_task_td(d, t);
    json_t *reported = t->extra ? json_object_get(t->extra, "_containers") : NULL;
    char hex[33], uuid[37];
    sched_task_hex(t, hex);
    size_t i;
    json_t *cd;
    json_array_foreach (json_object_get(td, "containerDefinitions"), i, cd) {
        container_uuid(t, i, uuid);
        cleanup_free char *carn = xasprintf("arn:aws:ecs:%s:%s:container/%s/%s/%s", region,
                                            SCHED_ACCOUNT, sched_str(d, t->cluster), hex, uuid);
        json_t *c = json_pack("{s:s,s:s,s:O,s:O,s:s,s:[],s:[],s:s}", "containerArn", carn,
                              "taskArn", task_arn, "name", json_object_get(cd, "name"), "image",
                              json_object_get(cd, "image"), "lastStatus", "PENDING",
                              "networkBindings", "networkInterfaces", "healthStatus", "UNKNOWN");
        json_object_set_new(
            c, "cpu",
            json_sprintf("%lld", (long long)json_integer_value(json_object_get(cd, "cpu"))));
        if (json_object_get(cd, "memory"))
            json_object_set_new(
                c, "memory",
                json_sprintf("%lld", (long long)json_integer_value(json_object_get(cd, "memory"))));
        if (json_object_get(cd, "memoryReservation"))
            json_object_set_new(c, "memoryReservation",
                                json_sprintf("%lld", (long long)json_integer_value(json_object_get(
                                                         cd, "memoryReservation"))));
        json_t *rep = json_object_get(reported, json_string_value(json_object_get(cd, "name")));
        if (rep)
            json_object_update(c, rep);
        if (!sched_task_live(t))
            json_object_set_new(c, "lastStatus", json_string("STOPPED"));
        json_array_append_new(arr, c);
    }
    return arr;
}

json_t *
sched_task_reported_containers(struct sched_task_rec *t)
{
    json_t *arr = json_array();
    json_t *reported = t->extra ? json_object_get(t->extra, "_containers") : NULL;
    const char *k;
    json_t *v;
    json_object_foreach (reported, k, v) {
        json_t *c = json_deep_copy(v);
        json_object_set_new(c, "name", json_string(k));
        json_array_append_new(arr, c);
    }
    return arr;
}

json_t *
sched_task_view(struct sched_daemon *d, uint32_t h, bool with_tags)
{
    struct sched_task_rec *t = sched_task_at(d, h);
    char region[64];
    region_of_task(d, t, region, sizeof(region));
    cleanup_free char *arn = sched_task_arn(d, t);
    json_t *cl = sched_get(d, SCHED_K_CLUSTER, sched_str(d, t->cluster));
    json_t *td = sched_task_td(d, t);
    json_t *inst = sched_get(d, SCHED_K_INSTANCE, sched_str(d, t->instance));
    const char *lt = sched_str(d, t->launch_type) ? sched_str(d, t->launch_type) : "EC2";
    json_t *v = json_pack("{s:s,s:O?,s:O?,s:O?,s:s,s:s,s:o,s:o,s:i,s:s,s:s,s:[],s:s}", "taskArn",
                          arn, "clusterArn", json_object_get(cl, "clusterArn"), "taskDefinitionArn",
                          json_object_get(td, "taskDefinitionArn"), "containerInstanceArn",
                          json_object_get(inst, "containerInstanceArn"), "lastStatus",
                          status_names[t->last_status < 8 ? t->last_status : 0], "desiredStatus",
                          (t->flags & SCHED_TF_DESIRED_STOP) ? "STOPPED" : "RUNNING", "containers",
                          containers_view(d, t, region, arn), "createdAt", ms_value(t->created_ms),
                          "version", (int)t->version, "launchType", lt, "group",
                          sched_str(d, t->group) ? sched_str(d, t->group) : "", "attachments",
                          "healthStatus",
                          t->health == SCHED_TH_HEALTHY     ? "HEALTHY"
                          : t->health == SCHED_TH_UNHEALTHY ? "UNHEALTHY"
                                                            : "UNKNOWN");
    json_t *ov = t->extra ? json_object_get(t->extra, "overrides") : NULL;
    json_object_set_new(
        v, "overrides",
        ov ? json_deep_copy(ov)
           : json_pack("{s:[],s:[]}", "containerOverrides", "inferenceAcceleratorOverrides"));
    if (with_tags) {
        json_t *tags = t->extra ? json_object_get(t->extra, "tags") : NULL;
        json_object_set_new(v, "tags", tags ? json_deep_copy(tags) : json_array());
    }
    json_object_set_new(v, "cpu", json_sprintf("%d", t->cpu));
    json_object_set_new(v, "memory", json_sprintf("%d", t->memory));
    const char *az = json_string_value(json_object_get(inst, "_az"));
    json_object_set_new(v, "availabilityZone", json_string(az ? az : "local"));
    if (t->started_by)
        json_object_set_new(v, "startedBy", json_string(sched_str(d, t->started_by)));
    if (!strcmp(lt, "FARGATE"))
        json_object_set_new(v, "platformVersion", json_string("1.4.0"));
    if (t->stop_code)
        json_object_set_new(v, "stopCode", json_string(sched_str(d, t->stop_code)));
    const char *reason =
        t->extra ? json_string_value(json_object_get(t->extra, "stoppedReason")) : NULL;
    if (!reason)
        reason = sched_str(d, t->stopped_reason);
    if (reason)
        json_object_set_new(v, "stoppedReason", json_string(reason));
    static const struct {
        const char *name;
        size_t off;
    } times[] = {
        {"pullStartedAt", offsetof(struct sched_task_rec, pull_started_ms)},
        {"pullStoppedAt", offsetof(struct sched_task_rec, pull_stopped_ms)},
        {"startedAt", offsetof(struct sched_task_rec, started_ms)},
        {"stoppingAt", offsetof(struct sched_task_rec, stopping_ms)},
        {"executionStoppedAt", offsetof(struct sched_task_rec, execution_stopped_ms)},
        {"stoppedAt", offsetof(struct sched_task_rec, stopped_ms)},
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        int64_t ms;
        memcpy(&ms, (const char *)t + times[i].off, sizeof(ms));
        if (ms)
            json_object_set_new(v, times[i].name, ms_value(ms));
    }
    if (t->flags & SCHED_TF_CONNECTIVITY) {
        json_object_set_new(v, "connectivity", json_string("CONNECTED"));
        json_object_set_new(v, "connectivityAt", ms_value(t->connectivity_ms));
    }
    return v;
}

/* ---- the store row --------------------------------------------------------------- */

/* Row format 2: a format byte, the id, then LEB128 varints: statuses, version, cpu and
 * memory (zig-zag), createdAt in ms (zig-zag), the other timestamps as 0 (unset) or 1 + the
 * zig-zag delta to createdAt, the ten strings as interned ids (0 = none; the store keeps the
 * string table), then the extra JSON text (may be empty). About 60 bytes a task: a pass that
 * touches tasks all over the table rewrites every page of it, so its size is the cost. */
#define ROW_FORMAT 2

struct buf {
    uint8_t *p;
    size_t n, cap;
};

static void
put_bytes(struct buf *b, const void *p, size_t n)
{
    b->p = xreallocarray_grow(b->p, &b->cap, b->n + n, 1);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void
put_uv(struct buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    put_bytes(b, tmp, n);
}

static uint64_t
zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void *
sched_task_encode(struct sched_daemon *d, const struct sched_task_rec *t, size_t *len)
{
    (void)d;
    struct buf b = {0};
    uint8_t fmt = ROW_FORMAT;
    put_bytes(&b, &fmt, 1);
    put_bytes(&b, t->id, 16);
    put_uv(&b, t->last_status);
    put_uv(&b, t->health);
    put_uv(&b, t->flags & (SCHED_TF_EVER_RUNNING | SCHED_TF_DESIRED_STOP | SCHED_TF_CONNECTIVITY));
    put_uv(&b, t->version);
    put_uv(&b, zigzag(t->cpu));
    put_uv(&b, zigzag(t->memory));
    put_uv(&b, zigzag(t->created_ms));
    const int64_t times[] = {t->pull_started_ms, t->pull_stopped_ms, t->started_ms,
                             t->connectivity_ms, t->stopping_ms,     t->execution_stopped_ms,
                             t->stopped_ms};
    for (size_t i = 0; i < 7; i++)
        put_uv(&b, times[i] ? zigzag(times[i] - t->created_ms) + 1 : 0);
    const uint32_t strs[] = {t->cluster,    t->service,       t->instance,   t->td,
                             t->deployment, t->group,         t->started_by, t->launch_type,
                             t->stop_code,  t->stopped_reason};
    for (size_t i = 0; i < 10; i++)
        put_uv(&b, strs[i]);
    if (t->extra && json_object_size(t->extra) > 0) {
        cleanup_free char *text = json_dumps(t->extra, JSON_COMPACT);
        put_bytes(&b, text, strlen(text));
    }
    *len = b.n;
    return b.p;
}

struct rd {
    const uint8_t *p;
    size_t n, off;
    bool bad;
};

static uint64_t
get_uv(struct rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->off >= r->n) {
            r->bad = true;
            return 0;
        }
        uint8_t c = r->p[r->off++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t
unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static uint32_t
get_str(struct sched_daemon *d, struct rd *r)
{
    uint64_t i = get_uv(r);
    if (i >= d->strings.n && i != 0)
        r->bad = true;
    return r->bad ? 0 : (uint32_t)i;
}

int
sched_task_decode(struct sched_daemon *d, int64_t seq, const void *data, size_t len,
                  struct cm_error **err)
{
    struct rd r = {.p = data, .n = len};
    if (len < 17 || r.p[0] != ROW_FORMAT)
        return cm_error_set(err, EINVAL, "stored task row %lld: unknown format", (long long)seq);
    r.off = 17;
    uint8_t id[16];
    memcpy(id, r.p + 1, 16);
    struct sched_task_rec tmp = {0};
    tmp.last_status = (uint8_t)get_uv(&r);
    tmp.health = (uint8_t)get_uv(&r);
    tmp.flags = (uint16_t)(get_uv(&r) &
                           (SCHED_TF_EVER_RUNNING | SCHED_TF_DESIRED_STOP | SCHED_TF_CONNECTIVITY));
    tmp.version = (uint32_t)get_uv(&r);
    tmp.cpu = (int32_t)unzigzag(get_uv(&r));
    tmp.memory = (int32_t)unzigzag(get_uv(&r));
    tmp.created_ms = unzigzag(get_uv(&r));
    int64_t *times[] = {&tmp.pull_started_ms, &tmp.pull_stopped_ms, &tmp.started_ms,
                        &tmp.connectivity_ms, &tmp.stopping_ms,     &tmp.execution_stopped_ms,
                        &tmp.stopped_ms};
    for (size_t i = 0; i < 7; i++) {
        uint64_t v = get_uv(&r);
        *times[i] = v ? tmp.created_ms + unzigzag(v - 1) : 0;
    }
    uint32_t *strs[] = {&tmp.cluster,    &tmp.service,       &tmp.instance,   &tmp.td,
                        &tmp.deployment, &tmp.group,         &tmp.started_by, &tmp.launch_type,
                        &tmp.stop_code,  &tmp.stopped_reason};
    for (size_t i = 0; i < 10; i++)
        *strs[i] = get_str(d, &r);
    if (r.bad || tmp.last_status > 7 || tmp.health > 2 || !tmp.cluster)
        return cm_error_set(err, EINVAL, "stored task row %lld: corrupt", (long long)seq);
    json_t *extra = NULL;
    if (r.off < r.n) {
        json_error_t jerr;
        extra = json_loadb((const char *)r.p + r.off, r.n - r.off, 0, &jerr);
        if (!json_is_object(extra)) {
            json_decref(extra);
            return cm_error_set(err, EINVAL, "stored task row %lld: %s", (long long)seq, jerr.text);
        }
    }
    if (sched_task_find_id(d, id) != SCHED_NO_TASK) {
        json_decref(extra);
        return cm_error_set(err, EINVAL, "stored task row %lld: duplicate task id", (long long)seq);
    }
    uint32_t h = slot_new(d, id, seq);
    struct sched_task_rec *t = sched_task_at(d, h);
    uint16_t used = t->flags;
    memcpy((uint8_t *)t + offsetof(struct sched_task_rec, cluster),
           (uint8_t *)&tmp + offsetof(struct sched_task_rec, cluster),
           sizeof(*t) - offsetof(struct sched_task_rec, cluster));
    t->flags |= used;
    t->extra = extra;
    if (sched_task_live(t))
        link_task(d, h);
    return 0;
}

/* ---- documents of the earlier format ------------------------------------------------ */

static int64_t
doc_ms(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);
    return json_is_number(v) ? (int64_t)(json_number_value(v) * 1000.0 + 0.5) : 0;
}

static uint32_t
doc_str(struct sched_daemon *d, json_t *doc, const char *key)
{
    const char *v = json_string_value(json_object_get(doc, key));
    return v ? sched_intern(d, v) : 0;
}

int
sched_task_from_document(struct sched_daemon *d, const char *id, json_t *doc, struct cm_error **err)
{
    uint8_t bin[16];
    if (!id || strlen(id) != 32 || !json_is_object(doc))
        return cm_error_set(err, EINVAL, "not a task id or document");
    for (int i = 0; i < 16; i++) {
        int hi = hexval(id[2 * i]), lo = hexval(id[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return cm_error_set(err, EINVAL, "not a task id");
        bin[i] = (uint8_t)(hi << 4 | lo);
    }
    if (sched_task_find_id(d, bin) != SCHED_NO_TASK)
        return 0; /* already a row: the row is newer */
    const char *cluster = json_string_value(json_object_get(doc, "_cluster"));
    int last = sched_status_rank(json_string_value(json_object_get(doc, "lastStatus")));
    if (!cluster || last < 0)
        return cm_error_set(err, EINVAL, "no cluster or lastStatus");
    if (d->tasks.next_seq < 1)
        d->tasks.next_seq = 1;
    uint32_t h = slot_new(d, bin, d->tasks.next_seq);
    struct sched_task_rec *t = sched_task_at(d, h);
    t->cluster = sched_intern(d, cluster);
    t->service = doc_str(d, doc, "_service");
    t->instance = doc_str(d, doc, "_instance");
    const char *tdarn = json_string_value(json_object_get(doc, "taskDefinitionArn"));
    const char *tail = tdarn ? strstr(tdarn, ":task-definition/") : NULL;
    t->td = tail ? sched_intern(d, tail + strlen(":task-definition/")) : 0;
    t->deployment = doc_str(d, doc, "_deployment");
    t->group = doc_str(d, doc, "group");
    t->started_by = doc_str(d, doc, "startedBy");
    t->launch_type = doc_str(d, doc, "launchType");
    t->stop_code = doc_str(d, doc, "stopCode");
    t->cpu = (int32_t)json_integer_value(json_object_get(doc, "_cpu"));
    t->memory = (int32_t)json_integer_value(json_object_get(doc, "_memory"));
    t->version = (uint32_t)json_integer_value(json_object_get(doc, "version"));
    t->last_status = (uint8_t)last;
    const char *hs = json_string_value(json_object_get(doc, "healthStatus"));
    t->health = hs && !strcmp(hs, "HEALTHY")     ? SCHED_TH_HEALTHY
                : hs && !strcmp(hs, "UNHEALTHY") ? SCHED_TH_UNHEALTHY
                                                 : SCHED_TH_UNKNOWN;
    const char *ds = json_string_value(json_object_get(doc, "desiredStatus"));
    if (ds && !strcmp(ds, "STOPPED"))
        t->flags |= SCHED_TF_DESIRED_STOP;
    if (json_is_true(json_object_get(doc, "_everRunning")))
        t->flags |= SCHED_TF_EVER_RUNNING;
    if (json_object_get(doc, "connectivity"))
        t->flags |= SCHED_TF_CONNECTIVITY;
    t->created_ms = doc_ms(doc, "createdAt");
    t->pull_started_ms = doc_ms(doc, "pullStartedAt");
    t->pull_stopped_ms = doc_ms(doc, "pullStoppedAt");
    t->started_ms = doc_ms(doc, "startedAt");
    t->connectivity_ms = doc_ms(doc, "connectivityAt");
    t->stopping_ms = doc_ms(doc, "stoppingAt");
    t->execution_stopped_ms = doc_ms(doc, "executionStoppedAt");
    t->stopped_ms = doc_ms(doc, "stoppedAt");
    json_t *extra = json_object();
    const char *reason = json_string_value(json_object_get(doc, "stoppedReason"));
    if (reason)
        json_object_set_new(extra, "stoppedReason", json_string(reason));
    json_t *ov = json_object_get(doc, "overrides");
    if (json_is_object(ov))
        json_object_set(extra, "overrides", ov);
    json_t *tags = json_object_get(doc, "tags");
    if (json_array_size(tags) > 0)
        json_object_set(extra, "tags", tags);
    json_t *tok = json_object_get(doc, "_clientToken");
    if (json_is_string(tok))
        json_object_set(extra, "_clientToken", tok);
    /* What agents reported per container, as the report handler keeps it now. */
    static const char *const keys[] = {
        "exitCode",     "reason",      "runtimeId",  "networkBindings",
        "healthStatus", "imageDigest", "lastStatus", NULL};
    json_t *reported = json_object();
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(doc, "containers"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (!name)
            continue;
        json_t *r = json_object();
        for (int k = 0; keys[k]; k++) {
            json_t *v = json_object_get(c, keys[k]);
            if (v && !(json_is_array(v) && json_array_size(v) == 0))
                json_object_set(r, keys[k], v);
        }
        json_object_set_new(reported, name, r);
    }
    json_object_set_new(extra, "_containers", reported);
    t->extra = extra;
    sched_task_changed(d, h);
    return 0;
}
