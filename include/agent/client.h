/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's HTTP client for skiffd's /agent/v1/ API (HTTP/1.1 over
 * sockets, TLS through GnuTLS loaded only for https endpoints,
 * kept-alive connections): blocking calls with a deadline for
 * register/report, and the desired-state long poll as a non-blocking exchange
 * whose socket the agent's loop watches. The caller ignores SIGPIPE. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cm/error.h"

#define AGENT_CLIENT_MAX_BODY (16u << 20)

struct agent_client;

/* endpoint: "http://127.0.0.1:8080" or "https://..." (no trailing path);
 * token: the join token; ca_file: PEM CA certificates to verify an https
 * endpoint with (NULL: the system's). Only the endpoint's scheme is spoken,
 * TLS 1.2 or later, and the certificate is always verified (chain, and the
 * endpoint's host name or IP address): a failure is an error saying so (code
 * EKEYREJECTED), never a fallback; other TLS failures have code EPROTO. */
struct agent_client *agent_client_new(const char *endpoint, const char *token, const char *ca_file);
struct agent_client *agent_client_free(struct agent_client *c);

/* POSTs body to ENDPOINT/agent/v1/PATH and waits (at most timeout_ms). A
 * non-2xx answer is an error carrying skiffd's {"error","message"}, with code
 * ENOENT for 404, EACCES for 401/403; *ret_status gets the HTTP status. */
int agent_client_call(struct agent_client *c, const char *path, json_t *body, long timeout_ms,
                      json_t **ret, long *ret_status, struct cm_error **err);

/* The parsing halves of an exchange, pure (fuzzed by tests/fuzz/agent_proto.c): whether
 * BUF (LEN bytes, NUL at buf[len]) holds a whole answer (framed by Content-Length or
 * chunked); and the answer turned into its JSON object or an error as agent_client_call
 * gives it (a chunked body is decoded in place). https: the endpoint's scheme (for the
 * message when a plain request met a TLS port). */
bool agent_client_answer_complete(const char *buf, size_t len);
int agent_client_parse_answer(char *buf, size_t len, bool https, const char *path, json_t **ret,
                              long *ret_status, struct cm_error **err);

/* Starts the long poll (one at a time). */
int agent_client_poll_start(struct agent_client *c, json_t *body, long timeout_ms,
                            struct cm_error **err);
bool agent_client_poll_active(const struct agent_client *c);
/* The poll's socket and the events (EPOLLIN/EPOLLOUT) it waits for; -1 when
 * no poll is under way or it has finished. */
int agent_client_poll_fd(const struct agent_client *c, uint32_t *ret_events);
/* Advances the poll without blocking (call when its socket is ready). */
void agent_client_poll_io(struct agent_client *c);
/* Whether the poll has finished or passed its deadline (its socket is still
 * open: take it out of any epoll set before agent_client_poll_result). */
bool agent_client_poll_done(const struct agent_client *c);
/* When the poll has finished (or passed its deadline): 1 with *ret (the
 * answer) or an error (-1), 0 while it is still running. */
int agent_client_poll_result(struct agent_client *c, json_t **ret, long *ret_status,
                             struct cm_error **err);
