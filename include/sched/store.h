/* SPDX-License-Identifier: Apache-2.0 */
/* The durable store behind skiffd: an interface of kind/key -> JSON text
 * records written in transactions, so that a backend (SQLite now, etcd
 * later) only has to provide atomic batches and a full load. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"

struct sched_store;

/* Called once per stored task row by load_tasks; a negative return aborts the load. */
typedef int (*sched_store_task_fn)(void *userdata, int64_t seq, const void *data, size_t len,
                                   struct cm_error **err);

/* Called once per stored string by load_strings, in id order. */
typedef int (*sched_store_string_fn)(void *userdata, int64_t id, const char *text,
                                     struct cm_error **err);

/* Called once per stored record by load; a negative return aborts the load. */
typedef int (*sched_store_load_fn)(void *userdata, const char *kind, const char *key,
                                   const char *value, struct cm_error **err);

struct sched_store_ops {
    const char *name;
    int (*begin)(struct sched_store *s, struct cm_error **err);
    int (*put)(struct sched_store *s, const char *kind, const char *key, const char *value,
               struct cm_error **err);
    int (*del)(struct sched_store *s, const char *kind, const char *key, struct cm_error **err);
    /* Returns only once the batch is durable. */
    int (*commit)(struct sched_store *s, struct cm_error **err);
    void (*rollback)(struct sched_store *s);
    int (*load)(struct sched_store *s, sched_store_load_fn fn, void *userdata,
                struct cm_error **err);
    /* Tasks have their own rows (there are a million of them): a sequence number and a
     * small opaque encoding, written in the same batch as the records. */
    int (*task_put)(struct sched_store *s, int64_t seq, const void *data, size_t len,
                    struct cm_error **err);
    int (*task_del)(struct sched_store *s, int64_t seq, struct cm_error **err);
    int (*load_tasks)(struct sched_store *s, sched_store_task_fn fn, void *userdata,
                      struct cm_error **err);
    /* How many task rows there are (so that a load can size its tables once); -1: unknown. */
    int64_t (*task_count)(struct sched_store *s);
    /* The strings task rows refer to by number (never deleted, ids from 1 up). */
    int (*string_put)(struct sched_store *s, int64_t id, const char *text, struct cm_error **err);
    int (*load_strings)(struct sched_store *s, sched_store_string_fn fn, void *userdata,
                        struct cm_error **err);
    void (*free)(struct sched_store *s);
};

struct sched_store {
    const struct sched_store_ops *ops;
};

/* Opens (creating) the SQLite store at path: WAL, synchronous=FULL. */
struct sched_store *sched_store_sqlite_open(const char *path, struct cm_error **err);

/* Accepts NULL; returns NULL. */
struct sched_store *sched_store_free(struct sched_store *s);
int sched_store_begin(struct sched_store *s, struct cm_error **err);
int sched_store_put(struct sched_store *s, const char *kind, const char *key, const char *value,
                    struct cm_error **err);
int sched_store_del(struct sched_store *s, const char *kind, const char *key,
                    struct cm_error **err);
int sched_store_commit(struct sched_store *s, struct cm_error **err);
void sched_store_rollback(struct sched_store *s);
int sched_store_load(struct sched_store *s, sched_store_load_fn fn, void *userdata,
                     struct cm_error **err);
int sched_store_task_put(struct sched_store *s, int64_t seq, const void *data, size_t len,
                         struct cm_error **err);
int sched_store_task_del(struct sched_store *s, int64_t seq, struct cm_error **err);
/* -1 when the backend cannot tell. */
int64_t sched_store_task_count(struct sched_store *s);
int sched_store_load_tasks(struct sched_store *s, sched_store_task_fn fn, void *userdata,
                           struct cm_error **err);
int sched_store_string_put(struct sched_store *s, int64_t id, const char *text,
                           struct cm_error **err);
int sched_store_load_strings(struct sched_store *s, sched_store_string_fn fn, void *userdata,
                             struct cm_error **err);
