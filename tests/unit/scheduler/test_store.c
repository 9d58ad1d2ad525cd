/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite store: committed batches survive reopening, rolled back ones do not. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "sched/store.h"

static char dir[] = "/tmp/sched-store-XXXXXX";
static char *dbpath;

static void
setup(void)
{
    cr_assert_not_null(mkdtemp(dir));
    dbpath = xasprintf("%s/db", dir);
}

static void
teardown(void)
{
    cm_rm_rf(dir, NULL);
    free(dbpath);
}

TestSuite(sched_store, .init = setup, .fini = teardown);

struct seen {
    int n;
    char last[256];
};

static int
collect(void *ud, const char *kind, const char *key, const char *value, struct cm_error **err)
{
    struct seen *s = ud;
    (void)err;
    s->n++;
    snprintf(s->last, sizeof(s->last), "%s/%s=%s", kind, key, value);
    return 0;
}

static int
abort_load(void *ud, const char *kind, const char *key, const char *value, struct cm_error **err)
{
    (void)ud;
    (void)kind;
    (void)key;
    (void)value;
    return cm_error_set(err, 0, "stop");
}

Test(sched_store, commit_survives_reopen)
{
    cleanup_error struct cm_error *err = NULL;
    struct sched_store *s = sched_store_sqlite_open(dbpath, &err);
    cr_assert_not_null(s);
    cr_assert_eq(sched_store_begin(s, &err), 0);
    cr_assert_eq(sched_store_put(s, "task", "a", "{\"x\":1}", &err), 0);
    cr_assert_eq(sched_store_put(s, "task", "b", "{\"x\":2}", &err), 0);
    cr_assert_eq(sched_store_put(s, "task", "a", "{\"x\":3}", &err), 0);
    cr_assert_eq(sched_store_del(s, "task", "b", &err), 0);
    cr_assert_eq(sched_store_commit(s, &err), 0);
    sched_store_free(s);

    s = sched_store_sqlite_open(dbpath, &err);
    cr_assert_not_null(s);
    struct seen seen = {0};
    cr_assert_eq(sched_store_load(s, collect, &seen, &err), 0);
    cr_assert_eq(seen.n, 1);
    cr_assert_str_eq(seen.last, "task/a={\"x\":3}");
    sched_store_free(s);
}

Test(sched_store, rollback_discards)
{
    cleanup_error struct cm_error *err = NULL;
    struct sched_store *s = sched_store_sqlite_open(dbpath, &err);
    cr_assert_eq(sched_store_begin(s, &err), 0);
    cr_assert_eq(sched_store_put(s, "cluster", "x", "{}", &err), 0);
    sched_store_rollback(s);
    struct seen seen = {0};
    cr_assert_eq(sched_store_load(s, collect, &seen, &err), 0);
    cr_assert_eq(seen.n, 0);
    sched_store_free(s);
}

Test(sched_store, load_callback_error_propagates)
{
    cleanup_error struct cm_error *err = NULL;
    struct sched_store *s = sched_store_sqlite_open(dbpath, &err);
    sched_store_begin(s, &err);
    sched_store_put(s, "cluster", "x", "{}", &err);
    sched_store_commit(s, &err);
    cr_assert_eq(sched_store_load(s, abort_load, NULL, &err), -1);
    cr_assert_str_eq(err->msg, "stop");
    sched_store_free(s);
}

Test(sched_store, unopenable_path_is_an_error)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *p = xasprintf("%s/missing/dir/db", dir);
    cr_assert_null(sched_store_sqlite_open(p, &err));
    cr_assert(strstr(err->msg, "sqlite open"));
}
