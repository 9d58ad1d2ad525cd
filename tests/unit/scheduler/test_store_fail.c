/* SPDX-License-Identifier: Apache-2.0 */
/* A store write that fails leaves nothing applied: skiffd's in-memory state goes back to
 * the last committed one (objects, tasks, interned strings, desired-state versions), and a
 * later batch commits normally. The store here is SQLite behind a wrapper that fails on
 * demand. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../../scheduler/skiffd.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "sched/store.h"

struct failing {
    struct sched_store base;
    struct sched_store *inner;
    bool fail_writes, fail_commit;
};

static struct sched_store *
inner(struct sched_store *s)
{
    return ((struct failing *)s)->inner;
}

static int
f_begin(struct sched_store *s, struct cm_error **err)
{
    return sched_store_begin(inner(s), err);
}

static int
f_put(struct sched_store *s, const char *kind, const char *key, const char *value,
      struct cm_error **err)
{
    if (((struct failing *)s)->fail_writes)
        return cm_error_set(err, EIO, "injected put failure");
    return sched_store_put(inner(s), kind, key, value, err);
}

static int
f_del(struct sched_store *s, const char *kind, const char *key, struct cm_error **err)
{
    return sched_store_del(inner(s), kind, key, err);
}

static int
f_commit(struct sched_store *s, struct cm_error **err)
{
    if (((struct failing *)s)->fail_commit)
        return cm_error_set(err, EIO, "injected commit failure");
    return sched_store_commit(inner(s), err);
}

static void
f_rollback(struct sched_store *s)
{
    sched_store_rollback(inner(s));
}

static int
f_load(struct sched_store *s, sched_store_load_fn fn, void *ud, struct cm_error **err)
{
    return sched_store_load(inner(s), fn, ud, err);
}

static int
f_task_put(struct sched_store *s, int64_t seq, const void *data, size_t len, struct cm_error **err)
{
    return sched_store_task_put(inner(s), seq, data, len, err);
}

static int
f_task_del(struct sched_store *s, int64_t seq, struct cm_error **err)
{
    return sched_store_task_del(inner(s), seq, err);
}

static int
f_load_tasks(struct sched_store *s, sched_store_task_fn fn, void *ud, struct cm_error **err)
{
    return sched_store_load_tasks(inner(s), fn, ud, err);
}

static int
f_string_put(struct sched_store *s, int64_t id, const char *text, struct cm_error **err)
{
    return sched_store_string_put(inner(s), id, text, err);
}

static int
f_load_strings(struct sched_store *s, sched_store_string_fn fn, void *ud, struct cm_error **err)
{
    return sched_store_load_strings(inner(s), fn, ud, err);
}

static void
f_free(struct sched_store *s)
{
    sched_store_free(inner(s));
    free(s);
}

static const struct sched_store_ops failing_ops = {
    .name = "failing",
    .begin = f_begin,
    .put = f_put,
    .del = f_del,
    .commit = f_commit,
    .rollback = f_rollback,
    .load = f_load,
    .task_put = f_task_put,
    .task_del = f_task_del,
    .load_tasks = f_load_tasks,
    .string_put = f_string_put,
    .load_strings = f_load_strings,
    .free = f_free,
};

static char dir[] = "/tmp/sched-store-fail-XXXXXX";
static struct sched_daemon *d;
static struct failing *fs;

static void
setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    cleanup_free char *path = xasprintf("%s/db", dir);
    d = xcalloc(1, sizeof(*d));
    d->region = xstrdup("us-east-1");
    sched_state_init(d);
    fs = xcalloc(1, sizeof(*fs));
    fs->base.ops = &failing_ops;
    fs->inner = sched_store_sqlite_open(path, NULL);
    cr_assert_not_null(fs->inner);
    d->store = &fs->base;
    cr_assert_eq(sched_load(d, NULL), 0);
}

static void
teardown(void)
{
    sched_store_free(d->store);
    sched_state_done(d);
    free(d->region);
    free(d);
    cm_rm_rf(dir, NULL);
}

TestSuite(sched_store_fail, .init = setup, .fini = teardown);

static void
op(sched_op_fn fn, const char *text)
{
    json_t *in = json_loads(text, 0, NULL);
    cr_assert_not_null(in);
    struct sched_call c = {.d = d, .op = "test", .in = in};
    json_auto_t *out = json_object();
    cr_assert_eq(fn(&c, in, out), 0, "%s: %s", text, c.err_msg ? c.err_msg : "");
    free(c.err_type);
    free(c.err_msg);
    json_decref(in);
}

static uint32_t
new_task(void)
{
    struct sched_task_spec spec = {
        .cluster = "default",
        .td = sched_get(d, SCHED_K_TASKDEF, "w:1"),
        .instance_id = "i1",
        .group = "family:w",
        .started_by = "a-new-string",
    };
    return sched_task_create(d, &spec);
}

static json_int_t
instance_version(void)
{
    return json_integer_value(json_object_get(sched_get(d, SCHED_K_INSTANCE, "i1"), "_version"));
}

Test(sched_store_fail, failed_batch_is_not_applied)
{
    op(sched_op_create_cluster, "{}");
    op(sched_op_register_task_definition,
       "{\"family\":\"w\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
       "\"memory\":64}]}");
    sched_put(d, SCHED_K_INSTANCE, "i1",
              json_pack("{s:s,s:s,s:s,s:s,s:b,s:i}", "containerInstanceArn",
                        "arn:aws:ecs:us-east-1:000000000000:container-instance/default/i1", "_id",
                        "i1", "_cluster", "default", "status", "ACTIVE", "agentConnected", true,
                        "_version", 1));
    sched_index_rebuild(d);
    uint32_t h = new_task();
    char kept[33];
    sched_task_hex(sched_task_at(d, h), kept);
    cr_assert_eq(sched_flush(d, NULL), 0);
    json_int_t v = instance_version();
    size_t strings = d->strings.n;

    /* A put fails: the new cluster, the new task, its new string and the version bump of
     * its host are all gone again; what was committed is still there. */
    fs->fail_writes = true;
    op(sched_op_create_cluster, "{\"clusterName\":\"other\"}");
    uint32_t h2 = new_task();
    char lost[33];
    sched_task_hex(sched_task_at(d, h2), lost);
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(sched_flush(d, &err), -1);
    cr_assert_str_eq(err->msg, "injected put failure");
    cr_assert_null(sched_get(d, SCHED_K_CLUSTER, "other"));
    cr_assert_not_null(sched_get(d, SCHED_K_CLUSTER, "default"));
    cr_assert_eq(sched_task_find(d, lost), SCHED_NO_TASK);
    cr_assert_neq(sched_task_find(d, kept), SCHED_NO_TASK);
    cr_assert_eq(d->tasks.count, 1);
    cr_assert_eq(instance_version(), v);
    cr_assert_eq(d->strings.n, strings, "interned strings of the failed batch are dropped");
    cr_assert_not(sched_has_dirty(d));

    /* The commit itself fails: same. */
    fs->fail_writes = false;
    fs->fail_commit = true;
    cm_error_free(&err);
    uint32_t h3 = new_task();
    sched_task_hex(sched_task_at(d, h3), lost);
    cr_assert_eq(sched_flush(d, &err), -1);
    cr_assert_eq(sched_task_find(d, lost), SCHED_NO_TASK);
    cr_assert_eq(d->tasks.count, 1);

    /* The store works again: a new batch commits and survives a reload. */
    fs->fail_commit = false;
    uint32_t h4 = new_task();
    char fresh[33];
    sched_task_hex(sched_task_at(d, h4), fresh);
    cr_assert_eq(sched_flush(d, NULL), 0);
    cr_assert_eq(sched_state_reload(d, NULL), 0);
    cr_assert_neq(sched_task_find(d, fresh), SCHED_NO_TASK);
    cr_assert_neq(sched_task_find(d, kept), SCHED_NO_TASK);
    cr_assert_eq(d->tasks.count, 2);
    json_auto_t *view = sched_task_view(d, sched_task_find(d, fresh), false);
    cr_assert_str_eq(json_string_value(json_object_get(view, "startedBy")), "a-new-string");
}

/* A task stored as a JSON document by an earlier skiffd (objects table, kind "task") is
 * loaded as a record, keeps its identity and state, and moves to the tasks table at the
 * next flush. */
Test(sched_store_fail, task_documents_of_the_earlier_format_are_converted)
{
    static const char id[] = "0123456789abcdef0123456789abcdef";
    static const char doc[] =
        "{\"taskArn\":\"arn:aws:ecs:us-east-1:000000000000:task/default/"
        "0123456789abcdef0123456789abcdef\",\"taskDefinitionArn\":\"arn:aws:ecs:us-east-1:"
        "000000000000:task-definition/w:1\",\"lastStatus\":\"RUNNING\",\"desiredStatus\":"
        "\"RUNNING\",\"version\":3,\"group\":\"family:w\",\"launchType\":\"EC2\","
        "\"createdAt\":1700000000.5,\"startedAt\":1700000001.25,\"healthStatus\":\"HEALTHY\","
        "\"containers\":[{\"name\":\"a\",\"lastStatus\":\"RUNNING\",\"exitCode\":0}],"
        "\"tags\":[{\"key\":\"k\",\"value\":\"v\"}],\"_cluster\":\"default\",\"_instance\":"
        "\"i1\",\"_cpu\":128,\"_memory\":64,\"_everRunning\":true}";
    op(sched_op_create_cluster, "{}");
    op(sched_op_register_task_definition,
       "{\"family\":\"w\",\"containerDefinitions\":[{\"name\":\"a\",\"image\":\"i\","
       "\"memory\":64}]}");
    cr_assert_eq(sched_flush(d, NULL), 0);
    cr_assert_eq(sched_store_begin(d->store, NULL), 0);
    cr_assert_eq(sched_store_put(d->store, "task", id, doc, NULL), 0);
    cr_assert_eq(sched_store_commit(d->store, NULL), 0);

    cr_assert_eq(sched_state_reload(d, NULL), 0);
    uint32_t h = sched_task_find(d, id);
    cr_assert_neq(h, SCHED_NO_TASK);
    const struct sched_task_rec *t = sched_task_at(d, h);
    cr_assert_eq(t->last_status, 3);
    cr_assert_eq(t->version, 3);
    cr_assert_eq(t->cpu, 128);
    cr_assert_eq(t->created_ms, 1700000000500);
    cr_assert_eq(t->started_ms, 1700000001250);
    cr_assert(t->flags & SCHED_TF_EVER_RUNNING);
    cr_assert_eq(t->health, SCHED_TH_HEALTHY);
    json_auto_t *v = sched_task_view(d, h, true);
    cr_assert_str_eq(json_string_value(json_object_get(v, "taskArn")),
                     "arn:aws:ecs:us-east-1:000000000000:task/default/"
                     "0123456789abcdef0123456789abcdef");
    cr_assert_str_eq(json_string_value(json_object_get(v, "group")), "family:w");
    cr_assert_str_eq(json_string_value(json_object_get(v, "taskDefinitionArn")),
                     "arn:aws:ecs:us-east-1:000000000000:task-definition/w:1");
    cr_assert(json_is_null(json_object_get(v, "containerInstanceArn")), "i1 is not registered");
    json_t *c0 = json_array_get(json_object_get(v, "containers"), 0);
    cr_assert_eq(json_integer_value(json_object_get(c0, "exitCode")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(c0, "lastStatus")), "RUNNING");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(v, "tags"), 0), "key")),
        "k");

    /* The flush moves it: after another reload it comes from the tasks table alone. */
    cr_assert_eq(sched_flush(d, NULL), 0);
    cr_assert_eq(sched_state_reload(d, NULL), 0);
    cr_assert_eq(d->tasks.count, 1);
    cr_assert_eq(sched_task_at(d, sched_task_find(d, id))->version, 3);
    cr_assert_not(sched_has_dirty(d), "nothing left to convert");
}
