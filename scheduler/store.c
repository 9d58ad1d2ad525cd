/* SPDX-License-Identifier: Apache-2.0 */
/* The store interface and its embedded SQLite backend: one file, WAL with
 * synchronous=FULL so that a committed batch survives kill -9 and power loss. */
#include "sched/store.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cm/xalloc.h"

/* Checkpoints (copying the WAL back into the database file) run on a thread of
 * their own with its own connection: a commit is durable once its WAL frames are
 * synced, so the copy need not delay the next batch. */
struct checkpointer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    sqlite3 *db;
    bool started, pending, stop;
};

struct sqlite_store {
    struct sched_store base;
    struct checkpointer cp;
    sqlite3 *db;
    sqlite3_stmt *put, *del, *begin, *commit, *rollback, *tput, *tdel, *sput;
    bool in_txn;
};

static int
db_error(struct sqlite_store *s, struct cm_error **err, const char *what)
{
    return cm_error_set(err, EIO, "sqlite %s: %s", what, sqlite3_errmsg(s->db));
}

static int
step_reset(struct sqlite_store *s, sqlite3_stmt *st, const char *what, struct cm_error **err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_error(s, err, what);
    return 0;
}

static int
sq_begin(struct sched_store *b, struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (s->in_txn)
        return 0;
    if (step_reset(s, s->begin, "begin", err) < 0)
        return -1;
    s->in_txn = true;
    return 0;
}

static int
sq_put(struct sched_store *b, const char *kind, const char *key, const char *value,
       struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_bind_text(s->put, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->put, 3, value, -1, SQLITE_STATIC);
    return step_reset(s, s->put, "put", err);
}

static int
sq_del(struct sched_store *b, const char *kind, const char *key, struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_bind_text(s->del, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->del, 2, key, -1, SQLITE_STATIC);
    return step_reset(s, s->del, "delete", err);
}

static int
sq_task_put(struct sched_store *b, int64_t seq, const void *data, size_t len, struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_bind_int64(s->tput, 1, seq);
    sqlite3_bind_blob(s->tput, 2, data, (int)len, SQLITE_STATIC);
    return step_reset(s, s->tput, "task put", err);
}

static int
sq_task_del(struct sched_store *b, int64_t seq, struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_bind_int64(s->tdel, 1, seq);
    return step_reset(s, s->tdel, "task delete", err);
}

static int64_t
sq_task_count(struct sched_store *b)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM tasks", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int
sq_load_tasks(struct sched_store *b, sched_store_task_fn fn, void *userdata, struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT seq, data FROM tasks ORDER BY seq", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_error(s, err, "prepare task load");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *data = sqlite3_column_blob(st, 1);
        int len = sqlite3_column_bytes(st, 1);
        if (fn(userdata, sqlite3_column_int64(st, 0), data, (size_t)(len > 0 ? len : 0), err) < 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(s, err, "task load");
    return 0;
}

static int
sq_string_put(struct sched_store *b, int64_t id, const char *text, struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_bind_int64(s->sput, 1, id);
    sqlite3_bind_text(s->sput, 2, text, -1, SQLITE_STATIC);
    return step_reset(s, s->sput, "string put", err);
}

static int
sq_load_strings(struct sched_store *b, sched_store_string_fn fn, void *userdata,
                struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT id, text FROM strings ORDER BY id", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_error(s, err, "prepare string load");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 1);
        if (fn(userdata, sqlite3_column_int64(st, 0), text ? text : "", err) < 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(s, err, "string load");
    return 0;
}

static void *
checkpoint_main(void *arg)
{
    struct checkpointer *cp = arg;
    pthread_mutex_lock(&cp->lock);
    for (;;) {
        while (!cp->pending && !cp->stop)
            pthread_cond_wait(&cp->wake, &cp->lock);
        if (cp->stop)
            break;
        cp->pending = false;
        pthread_mutex_unlock(&cp->lock);
        /* PASSIVE: never blocks the writer; what it cannot copy now, the next one does. */
        sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&cp->lock);
    }
    pthread_mutex_unlock(&cp->lock);
    return NULL;
}

static void
checkpoint_kick(struct checkpointer *cp)
{
    if (!cp->started)
        return;
    pthread_mutex_lock(&cp->lock);
    cp->pending = true;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->lock);
}

static void
checkpoint_start(struct checkpointer *cp, const char *path)
{
    if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(cp->db, "PRAGMA busy_timeout=5000", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(cp->db);
        cp->db = NULL;
        return; /* the writer's connection checkpoints by itself then */
    }
    pthread_mutex_init(&cp->lock, NULL);
    pthread_cond_init(&cp->wake, NULL);
    if (pthread_create(&cp->thread, NULL, checkpoint_main, cp) != 0) {
        pthread_mutex_destroy(&cp->lock);
        pthread_cond_destroy(&cp->wake);
        sqlite3_close(cp->db);
        cp->db = NULL;
        return;
    }
    cp->started = true;
}

static void
checkpoint_stop(struct checkpointer *cp)
{
    if (!cp->started)
        return;
    pthread_mutex_lock(&cp->lock);
    cp->stop = true;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->lock);
    pthread_join(cp->thread, NULL);
    pthread_mutex_destroy(&cp->lock);
    pthread_cond_destroy(&cp->wake);
    sqlite3_close(cp->db);
    cp->started = false;
}

static int
sq_commit(struct sched_store *b, struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (!s->in_txn)
        return 0;
    if (step_reset(s, s->commit, "commit", err) < 0)
        return -1;
    s->in_txn = false;
    checkpoint_kick(&s->cp);
    return 0;
}

static void
sq_rollback(struct sched_store *b)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (!s->in_txn)
        return;
    step_reset(s, s->rollback, "rollback", NULL);
    s->in_txn = false;
}

static int
sq_load(struct sched_store *b, sched_store_load_fn fn, void *userdata, struct cm_error **err)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT kind, key, value FROM objects ORDER BY rowid", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return db_error(s, err, "prepare load");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 0);
        const char *key = (const char *)sqlite3_column_text(st, 1);
        const char *value = (const char *)sqlite3_column_text(st, 2);
        if (fn(userdata, kind ? kind : "", key ? key : "", value ? value : "", err) < 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_error(s, err, "load");
    return 0;
}

static void
sq_free(struct sched_store *b)
{
    struct sqlite_store *s = (struct sqlite_store *)b;
    checkpoint_stop(&s->cp);
    sq_rollback(b);
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    sqlite3_finalize(s->tput);
    sqlite3_finalize(s->tdel);
    sqlite3_finalize(s->sput);
    sqlite3_close(s->db);
    free(s);
}

static const struct sched_store_ops sqlite_ops = {
    .name = "sqlite",
    .begin = sq_begin,
    .put = sq_put,
    .del = sq_del,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .load = sq_load,
    .task_put = sq_task_put,
    .task_del = sq_task_del,
    .load_tasks = sq_load_tasks,
    .task_count = sq_task_count,
    .string_put = sq_string_put,
    .load_strings = sq_load_strings,
    .free = sq_free,
};

struct sched_store *
sched_store_sqlite_open(const char *path, struct cm_error **err)
{
    struct sqlite_store *s = xcalloc(1, sizeof(*s));
    s->base.ops = &sqlite_ops;
    static const char *const setup[] = {
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA busy_timeout=5000",
        ("CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, key TEXT NOT NULL, "
         "value TEXT NOT NULL, PRIMARY KEY (kind, key))"),
        "CREATE TABLE IF NOT EXISTS tasks (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)",
        "CREATE TABLE IF NOT EXISTS strings (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
    };

    /* One thread uses this connection (the checkpointer has its own): no mutexes. */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        cm_error_set(err, EIO, "sqlite open '%s': %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sq_free(&s->base);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
        char *msg = NULL;
        if (sqlite3_exec(s->db, setup[i], NULL, NULL, &msg) != SQLITE_OK) {
            cm_error_set(err, EIO, "sqlite '%s': %s", path, msg ? msg : "?");
            sqlite3_free(msg);
            sq_free(&s->base);
            return NULL;
        }
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO objects (kind, key, value) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                           -1, &s->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM objects WHERE kind = ?1 AND key = ?2", -1, &s->del,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "BEGIN IMMEDIATE", -1, &s->begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "COMMIT", -1, &s->commit, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "ROLLBACK", -1, &s->rollback, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO tasks (seq, data) VALUES (?1, ?2)", -1,
                           &s->tput, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "DELETE FROM tasks WHERE seq = ?1", -1, &s->tdel, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO strings (id, text) VALUES (?1, ?2)", -1,
                           &s->sput, NULL) != SQLITE_OK) {
        db_error(s, err, "prepare");
        sq_free(&s->base);
        return NULL;
    }
    checkpoint_start(&s->cp, path);
    if (s->cp.started)
        sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
    return &s->base;
}

struct sched_store *
sched_store_free(struct sched_store *s)
{
    if (s)
        s->ops->free(s);
    return NULL;
}

int
sched_store_begin(struct sched_store *s, struct cm_error **err)
{
    return s->ops->begin(s, err);
}

int
sched_store_put(struct sched_store *s, const char *kind, const char *key, const char *value,
                struct cm_error **err)
{
    return s->ops->put(s, kind, key, value, err);
}

int
sched_store_del(struct sched_store *s, const char *kind, const char *key, struct cm_error **err)
{
    return s->ops->del(s, kind, key, err);
}

int
sched_store_commit(struct sched_store *s, struct cm_error **err)
{
    return s->ops->commit(s, err);
}

void
sched_store_rollback(struct sched_store *s)
{
    s->ops->rollback(s);
}

int
sched_store_load(struct sched_store *s, sched_store_load_fn fn, void *userdata,
                 struct cm_error **err)
{
    return s->ops->load(s, fn, userdata, err);
}

int
sched_store_task_put(struct sched_store *s, int64_t seq, const void *data, size_t len,
                     struct cm_error **err)
{
    return s->ops->task_put(s, seq, data, len, err);
}

int
sched_store_task_del(struct sched_store *s, int64_t seq, struct cm_error **err)
{
    return s->ops->task_del(s, seq, err);
}

int
sched_store_load_tasks(struct sched_store *s, sched_store_task_fn fn, void *userdata,
                       struct cm_error **err)
{
    return s->ops->load_tasks(s, fn, userdata, err);
}

int
sched_store_string_put(struct sched_store *s, int64_t id, const char *text, struct cm_error **err)
{
    return s->ops->string_put(s, id, text, err);
}

int
sched_store_load_strings(struct sched_store *s, sched_store_string_fn fn, void *userdata,
                         struct cm_error **err)
{
    return s->ops->load_strings(s, fn, userdata, err);
}

int64_t
sched_store_task_count(struct sched_store *s)
{
    return s->ops->task_count ? s->ops->task_count(s) : -1;
}
