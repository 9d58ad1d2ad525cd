/* SPDX-License-Identifier: Apache-2.0 */
/* The agent protocol endpoint (placeholder until the protocol lands). */
#include <string.h>

#include "cm/http.h"
#include "skiffd.h"

void sched_agent_http(struct sched_daemon *d, struct cm_http_request *req);
void sched_agent_check(struct sched_daemon *d);
void sched_agent_wake(struct sched_daemon *d);
void sched_agent_free_waiters(struct sched_daemon *d);

void
sched_agent_http(struct sched_daemon *d, struct cm_http_request *req)
{
    (void)d;
    static const char msg[] = "{\"message\":\"not found\"}";
    cm_http_respond(req, 404, "application/json", msg, strlen(msg), NULL);
}

void
sched_agent_check(struct sched_daemon *d)
{
    (void)d;
}

void
sched_agent_wake(struct sched_daemon *d)
{
    (void)d;
}

void
sched_agent_free_waiters(struct sched_daemon *d)
{
    (void)d;
}
