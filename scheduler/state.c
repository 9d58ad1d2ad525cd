/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd's object tables: everything lives in memory for scheduling, and each
 * change is written through the store before the change is acknowledged. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "sched/store.h"
#include "skiffd.h"

static const char *const kind_names[SCHED_K_MAX] = {
    [SCHED_K_CLUSTER] = "cluster",   [SCHED_K_TASKDEF] = "taskdef", [SCHED_K_FAMILY] = "family",
    [SCHED_K_INSTANCE] = "instance", [SCHED_K_SERVICE] = "service", [SCHED_K_TASK] = "task",
    [SCHED_K_TOKEN] = "token",       [SCHED_K_META] = "meta",
};

const char *
sched_kind_name(enum sched_kind k)
{
    return kind_names[k];
}

json_t *
sched_get(struct sched_daemon *d, enum sched_kind k, const char *key)
{
    return json_object_get(d->tables[k], key);
}

void
sched_touch(struct sched_daemon *d, enum sched_kind k, const char *key)
{
    json_object_set_new(d->dirty[k], key, json_true());
}

void
sched_put(struct sched_daemon *d, enum sched_kind k, const char *key, json_t *doc)
{
    json_object_set_new(d->tables[k], key, doc);
    sched_touch(d, k, key);
}

void
sched_del(struct sched_daemon *d, enum sched_kind k, const char *key)
{
    json_object_del(d->tables[k], key);
    sched_touch(d, k, key);
}

bool
sched_has_dirty(const struct sched_daemon *d)
{
    if (d->strings.n > 1 && d->strings.n_stored < d->strings.n)
        return true;
    if (d->tasks.n_dirty > 0 || d->tasks.n_deleted > 0)
        return true;
    for (int k = 0; k < SCHED_K_MAX; k++)
        if (json_object_size(d->dirty[k]) > 0)
            return true;
    return false;
}

static int
by_seq(const void *a, const void *b, void *ctx)
{
    int64_t x = sched_task_at(ctx, *(const uint32_t *)a)->seq;
    int64_t y = sched_task_at(ctx, *(const uint32_t *)b)->seq;
    return x < y ? -1 : x > y;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* A batch that did not become durable must not stay applied: drop everything the
 * store backs and load the last committed state again. */
static int
flush_failed(struct sched_daemon *d)
{
    sched_store_rollback(d->store);
    cleanup_error struct cm_error *e = NULL;
    if (sched_state_reload(d, &e) < 0) {
        cm_log_error("store: reloading the committed state failed: %s", e->msg);
        d->state_stale = true;
    }
    return -1;
}

int
sched_state_reload(struct sched_daemon *d, struct cm_error **err)
{
    for (int k = 0; k < SCHED_K_MAX; k++) {
        json_object_clear(d->tables[k]);
        json_object_clear(d->dirty[k]);
    }
    sched_tasktab_done(d);
    free(d->bumped);
    d->bumped = NULL;
    d->n_bumped = 0;
    d->flush_epoch++;
    if (sched_load(d, err) < 0)
        return -1;
    sched_index_rebuild(d);
    d->state_stale = false;
    d->kick = true;
    return 0;
}

int
sched_flush(struct sched_daemon *d, struct cm_error **err)
{
    if (d->state_stale && sched_state_reload(d, err) < 0)
        return cm_error_wrap(err, "the in-memory state is not the committed one");
    if (!sched_has_dirty(d))
        return 0;
    if (sched_store_begin(d->store, err) < 0)
        return flush_failed(d);
    for (int k = 0; k < SCHED_K_MAX; k++) {
        const char *key;
        json_t *v;
        json_object_foreach (d->dirty[k], key, v) {
            json_t *doc = json_object_get(d->tables[k], key);
            int r;
            if (doc) {
                cleanup_free char *text = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
                r = sched_store_put(d->store, kind_names[k], key, text, err);
            } else {
                r = sched_store_del(d->store, kind_names[k], key, err);
            }
            if (r < 0) {
                return flush_failed(d);
            }
        }
    }
    /* New strings first: task rows refer to them by number. */
    for (size_t i = d->strings.n_stored ? d->strings.n_stored : 1; i < d->strings.n; i++) {
        if (sched_store_string_put(d->store, (int64_t)i, d->strings.strs[i], err) < 0) {
            return flush_failed(d);
        }
    }
    struct sched_tasktab *tt = &d->tasks;
    /* Rows in key order: each B-tree page is then read and written once per
     * batch instead of once per row (a pass touches rows all over the table). */
    bool sorted = true;
    for (size_t i = 1; i < tt->n_dirty && sorted; i++)
        sorted = sched_task_at(d, tt->dirty[i - 1])->seq < sched_task_at(d, tt->dirty[i])->seq;
    if (!sorted)
        qsort_r(tt->dirty, tt->n_dirty, sizeof(*tt->dirty), by_seq, d);
    if (tt->n_deleted > 1)
        qsort(tt->deleted, tt->n_deleted, sizeof(*tt->deleted), cmp_i64);
    for (size_t i = 0; i < tt->n_dirty; i++) {
        const struct sched_task_rec *t = sched_task_at(d, tt->dirty[i]);
        if (!(t->flags & SCHED_TF_USED) || !(t->flags & SCHED_TF_DIRTY))
            continue; /* forgotten since: its row is on the deleted list */
        size_t len = 0;
        cleanup_free void *row = sched_task_encode(d, t, &len);
        if (sched_store_task_put(d->store, t->seq, row, len, err) < 0) {
            return flush_failed(d);
        }
    }
    for (size_t i = 0; i < tt->n_deleted; i++) {
        if (sched_store_task_del(d->store, tt->deleted[i], err) < 0) {
            return flush_failed(d);
        }
    }
    if (sched_store_commit(d->store, err) < 0)
        return flush_failed(d);
    for (int k = 0; k < SCHED_K_MAX; k++)
        json_object_clear(d->dirty[k]);
    for (size_t i = 0; i < tt->n_dirty; i++) {
        struct sched_task_rec *t = sched_task_at(d, tt->dirty[i]);
        t->flags &= (uint16_t)~SCHED_TF_DIRTY;
    }
    tt->n_dirty = 0;
    tt->n_deleted = 0;
    d->strings.n_stored = d->strings.n;
    d->flush_epoch++;
    /* Forgotten slots may be reused now that no list refers to them. */
    for (size_t i = 0; i < tt->n_limbo; i++) {
        tt->free_list = xreallocarray_grow(tt->free_list, &tt->cap_free, tt->n_free + 1,
                                           sizeof(*tt->free_list));
        tt->free_list[tt->n_free++] = tt->limbo[i];
    }
    tt->n_limbo = 0;
    return 0;
}

static int
load_one(void *userdata, const char *kind, const char *key, const char *value,
         struct cm_error **err)
{
    struct sched_daemon *d = userdata;
    for (int k = 0; k < SCHED_K_MAX; k++) {
        /* Tasks stored as documents (before the tasks table) wait in tables[TASK]
         * until the strings and task rows are in; sched_load converts them. */
        if (strcmp(kind_names[k], kind) != 0)
            continue;
        json_error_t jerr;
        json_t *doc = json_loads(value, JSON_DECODE_ANY, &jerr);
        if (!doc)
            return cm_error_set(err, EINVAL, "stored %s '%s': %s", kind, key, jerr.text);
        json_object_set_new(d->tables[k], key, doc);
        return 0;
    }
    /* Records of a newer version: keep going, they stay in the store. */
    return 0;
}

static int
load_task(void *userdata, int64_t seq, const void *data, size_t len, struct cm_error **err)
{
    return sched_task_decode(userdata, seq, data, len, err);
}

static int
load_string(void *userdata, int64_t id, const char *text, struct cm_error **err)
{
    return sched_intern_load(userdata, id, text, err);
}

int
sched_load(struct sched_daemon *d, struct cm_error **err)
{
    if (sched_store_load(d->store, load_one, d, err) < 0 ||
        sched_store_load_strings(d->store, load_string, d, err) < 0)
        return -1;
    int64_t n = sched_store_task_count(d->store);
    if (n > 0)
        sched_tasktab_reserve(d, (size_t)n);
    if (sched_store_load_tasks(d->store, load_task, d, err) < 0)
        return -1;
    /* Each legacy document becomes a record (written as a row at the next flush) and its
     * old row is deleted in the same batch. */
    const char *key;
    json_t *doc;
    void *tmp;
    json_object_foreach_safe(d->tables[SCHED_K_TASK], tmp, key, doc)
    {
        if (sched_task_from_document(d, key, doc, err) < 0)
            return cm_error_wrap(err, "stored task document '%s'", key);
        sched_touch(d, SCHED_K_TASK, key);
        json_object_del(d->tables[SCHED_K_TASK], key);
    }
    return 0;
}

double
sched_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
}

static void
random_bytes(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)buf + got, n - got, 0);
        if (r < 0)
            abort();
        got += (size_t)r;
    }
}

void
sched_random_hex(char out[33])
{
    unsigned char b[16];
    random_bytes(b, sizeof(b));
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

void
sched_uuid(char out[37])
{
    unsigned char b[16];
    random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

json_t *
sched_public(json_t *doc)
{
    if (json_is_object(doc)) {
        json_t *o = json_object();
        const char *k;
        json_t *v;
        json_object_foreach (doc, k, v) {
            if (k[0] != '_')
                json_object_set_new(o, k, sched_public(v));
        }
        return o;
    }
    if (json_is_array(doc)) {
        json_t *a = json_array();
        size_t i;
        json_t *v;
        json_array_foreach (doc, i, v)
            json_array_append_new(a, sched_public(v));
        return a;
    }
    return json_deep_copy(doc);
}

uint64_t
sched_counter_next(struct sched_daemon *d, const char *name)
{
    json_t *m = sched_get(d, SCHED_K_META, name);
    uint64_t v = m ? (uint64_t)json_integer_value(m) + 1 : 1;
    sched_put(d, SCHED_K_META, name, json_integer((json_int_t)v));
    return v;
}

void
sched_state_init(struct sched_daemon *d)
{
    for (int k = 0; k < SCHED_K_MAX; k++) {
        d->tables[k] = json_object();
        d->dirty[k] = json_object();
    }
    d->creds = json_object();
    d->last_seen = json_object();
    d->flush_epoch = 1;
    d->idx_cluster = json_object();
    d->idx_hostname = json_object();
    d->idx_token = json_object();
}

void
sched_state_done(struct sched_daemon *d)
{
    for (int k = 0; k < SCHED_K_MAX; k++) {
        json_decref(d->tables[k]);
        json_decref(d->dirty[k]);
    }
    json_decref(d->creds);
    json_decref(d->last_seen);
    free(d->bumped);
    json_decref(d->idx_cluster);
    json_decref(d->idx_hostname);
    json_decref(d->idx_token);
    sched_tasktab_done(d);
}

static void
set_member(json_t *idx, const char *key, const char *id, bool present)
{
    json_t *set = json_object_get(idx, key);
    if (present) {
        if (!set) {
            set = json_object();
            json_object_set_new(idx, key, set);
        }
        json_object_set_new(set, id, json_true());
    } else if (set) {
        json_object_del(set, id);
        if (json_object_size(set) == 0)
            json_object_del(idx, key);
    }
}

void
sched_index_instance(struct sched_daemon *d, const char *id, json_t *inst)
{
    const char *cl = json_string_value(json_object_get(inst, "_cluster"));
    const char *host = json_string_value(json_object_get(inst, "ec2InstanceId"));
    const char *st = json_string_value(json_object_get(inst, "status"));
    if (cl)
        set_member(d->idx_cluster, cl, id, true);
    if (cl && host && (!st || strcmp(st, "INACTIVE") != 0)) {
        cleanup_free char *hk = xasprintf("%s\n%s", cl, host);
        json_object_set_new(d->idx_hostname, hk, json_string(id));
    }
}

const char *
sched_instance_by_hostname(struct sched_daemon *d, const char *cluster, const char *host)
{
    cleanup_free char *hk = xasprintf("%s\n%s", cluster, host);
    return json_string_value(json_object_get(d->idx_hostname, hk));
}

void
sched_index_rebuild(struct sched_daemon *d)
{
    const char *k;
    json_t *v;
    json_object_clear(d->idx_cluster);
    json_object_clear(d->idx_hostname);
    json_object_clear(d->idx_token);
    json_object_foreach (d->tables[SCHED_K_INSTANCE], k, v)
        sched_index_instance(d, k, v);
    for (uint32_t h = 0; h < d->tasks.n; h++) {
        struct sched_task_rec *t = sched_task_at(d, h);
        const char *tok =
            t->extra ? json_string_value(json_object_get(t->extra, "_clientToken")) : NULL;
        if (!(t->flags & SCHED_TF_USED) || !tok)
            continue;
        char hex[33];
        sched_task_hex(t, hex);
        json_t *arr = json_object_get(d->idx_token, tok);
        if (!arr) {
            arr = json_array();
            json_object_set_new(d->idx_token, tok, arr);
        }
        json_array_append_new(arr, json_string(hex));
    }
}

json_t *
sched_instances_of_cluster(struct sched_daemon *d, const char *cluster)
{
    return json_object_get(d->idx_cluster, cluster);
}
