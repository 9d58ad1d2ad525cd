/* SPDX-License-Identifier: Apache-2.0 */
/* skiffd as a library: configure, start (load state, listen), run the loop. */
#pragma once

#include <stdint.h>

#include "cm/error.h"

struct sched_daemon;

struct sched_daemon_config {
    const char *listen;            /* HOST:PORT */
    const char *state_dir;         /* created if missing */
    const char *region;            /* default "us-east-1" */
    uint64_t heartbeat_grace_ms;   /* agent silent this long -> DISCONNECTED */
    uint64_t task_grace_ms;        /* then its tasks are replaced after this long */
    uint64_t poll_timeout_ms;      /* agent long-poll answer at the latest after this */
    uint64_t stopped_retention_ms; /* STOPPED tasks stay describable this long (1 h) */
    uint64_t tick_ms;              /* periodic scheduling pass */
    const char *tls_cert;          /* PEM certificate file: serve HTTPS (with tls_key) */
    const char *tls_key;           /* PEM private key file; both NULL: plain HTTP */
};

struct sched_daemon *sched_daemon_new(const struct sched_daemon_config *cfg, struct cm_error **err);
/* Runs until SIGTERM/SIGINT; returns the exit code. */
int sched_daemon_run(struct sched_daemon *d);
/* Accepts NULL; returns NULL. */
struct sched_daemon *sched_daemon_free(struct sched_daemon *d);
