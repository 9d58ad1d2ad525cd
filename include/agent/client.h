/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's HTTP client for skiffd's /agent/v1/ API (libcurl): blocking
 * calls for register/report, and the desired-state long poll as a transfer
 * of a curl multi handle that the agent's loop drives together with its own
 * file descriptors. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "cm/error.h"

#define AGENT_CLIENT_MAX_BODY (16u << 20)

struct agent_client;

/* endpoint: "http://127.0.0.1:8080" or "https://..." (no trailing path);
 * token: the join token; ca_file: PEM CA certificates to verify an https
 * endpoint with (NULL: the system's). Only the endpoint's scheme is spoken and
 * certificates are always verified: a failure is an error saying so (code
 * EKEYREJECTED), never a fallback. */
struct agent_client *agent_client_new(const char *endpoint, const char *token, const char *ca_file);
struct agent_client *agent_client_free(struct agent_client *c);

/* POSTs body to ENDPOINT/agent/v1/PATH and waits (at most timeout_ms). A
 * non-2xx answer is an error carrying skiffd's {"error","message"}, with code
 * ENOENT for 404, EACCES for 401/403; *ret_status gets the HTTP status. */
int agent_client_call(struct agent_client *c, const char *path, json_t *body, long timeout_ms,
                      json_t **ret, long *ret_status, struct cm_error **err);

/* Starts the long poll (one at a time). */
int agent_client_poll_start(struct agent_client *c, json_t *body, long timeout_ms,
                            struct cm_error **err);
bool agent_client_poll_active(const struct agent_client *c);
/* Waits for network activity or extra_fd (-1: none) readable, at most
 * timeout_ms; then advances the transfers. */
int agent_client_wait(struct agent_client *c, int extra_fd, int timeout_ms, struct cm_error **err);
/* When the poll has finished: 1 with *ret (the answer) or an error (-1),
 * 0 while it is still running. */
int agent_client_poll_result(struct agent_client *c, json_t **ret, long *ret_status,
                             struct cm_error **err);
