/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's log endpoint (docs/agent-protocol.md, "Logs"): skiffd reads a
 * task's container logs (the shims' JSON-lines files with their rotated
 * siblings) through it, so that `skiff logs` works from anywhere. POST
 * AGENT_LOGS_PATH with the per-agent secret as a bearer token; answers a page
 * of events and a cursor, or waits (bounded) for new lines when asked to. It
 * runs its own loop in a thread of its own, which reads files only and shares
 * nothing mutable with the daemon's loop. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cm/error.h"

#define AGENT_LOGS_PATH "/logs/v1/read"
#define AGENT_LOGS_SECRET_FILE "log-secret"
#define AGENT_LOGS_DEFAULT_LIMIT 1000
#define AGENT_LOGS_MAX_LIMIT 10000
#define AGENT_LOGS_MAX_BYTES (1u << 20) /* log text per answer */
#define AGENT_LOGS_MAX_WAIT_MS 20000
#define AGENT_LOGS_MAX_WAITING 64 /* long polls held at once */
#define AGENT_LOGS_MAX_BODY 4096
#define AGENT_LOGS_MAX_CONTAINERS 100

/* "A.B.C.D:PORT" (IPv4); port 0 only when port0_ok; what names the option in errors. */
int agent_logserve_check_address(const char *what, const char *addr, bool port0_ok,
                                 struct cm_error **err);
/* The per-agent secret skiffd presents: STATE/log-secret, created (random,
 * 0600) when missing, so that a restarted agent keeps it. */
int agent_logserve_secret(const char *state_dir, char **ret, struct cm_error **err);

/* One read. Either a cursor (after + skip: records later than after, or at
 * after past the first skip of them) or since (records at or after it). */
struct agent_logs_query {
    const char *task_id;
    const char *container; /* NULL: every container of the task, merged by time */
    struct timespec after;
    unsigned skip;
    bool has_after;
    size_t limit;     /* events, 1..AGENT_LOGS_MAX_LIMIT */
    size_t tail;      /* 0, or only the last tail events (ignored with a cursor) */
    size_t max_bytes; /* log text, 0 = AGENT_LOGS_MAX_BYTES */
};

/* Reads the logs of a task below STATE/tasks. *ret (new reference):
 * {"events": [{"container","stream","time","log"}...], "nextToken": cursor
 * after the last event (or the one given), "stopped": every selected
 * container has exited and all was returned, "more": a limit cut the page}.
 * ENOENT when the host has no such task or container. */
int agent_logs_query_run(const char *state_dir, unsigned max_files,
                         const struct agent_logs_query *q, json_t **ret, struct cm_error **err);
/* Cursors: "SECONDS.NANOSECONDS:SKIP". */
int agent_logs_token_parse(const char *s, struct timespec *ret, unsigned *ret_skip);
char *agent_logs_token_format(const struct timespec *t, unsigned skip);

struct agent_logserve;

/* Binds listen ("A.B.C.D:PORT", port 0 picks one) and serves from a new thread.
 * Call with the daemon's signals already blocked (the thread inherits the mask). */
struct agent_logserve *agent_logserve_start(const char *listen, const char *state_dir,
                                            unsigned max_files, const char *secret,
                                            struct cm_error **err);
/* "A.B.C.D:PORT" with the bound port (borrowed). */
const char *agent_logserve_address(const struct agent_logserve *ls);
/* Stops the thread and frees; NULL ok. Returns NULL. */
struct agent_logserve *agent_logserve_stop(struct agent_logserve *ls);
