/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP server on libmicrohttpd, driven by the cm_loop (MHD_USE_EPOLL, no
 * internal thread): bodies are collected up to a limit and handed to one
 * handler; a handler answers at once or suspends the request (long polls)
 * and answers later from any loop callback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"

/* GnuTLS priorities of an HTTPS server: TLS 1.2 and 1.3, GnuTLS's default ciphers. */
#define CM_HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct cm_loop;
struct cm_http_server;
struct cm_http_request;

/* Called once per request with its whole body (or too_large set). The
 * handler must call cm_http_respond() or cm_http_suspend() before returning. */
typedef void (*cm_http_handler_fn)(struct cm_http_request *req, void *userdata);

struct cm_http_config {
    const char *listen; /* "HOST:PORT", IPv4; port 0 picks a free one */
    size_t max_body;    /* bytes; larger bodies are drained and flagged */
    unsigned conn_timeout_s;
    cm_http_handler_fn handler;
    void *userdata;
    /* Both NULL: plain HTTP. Both set: HTTPS (GnuTLS through libmicrohttpd)
     * with this PEM certificate (chain, leaf first) and PEM private key; the
     * server keeps copies. Check them first (sched_tls_load()): MHD only logs
     * why it refuses them. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
};

struct cm_http_server *cm_http_server_new(struct cm_loop *loop, const struct cm_http_config *cfg,
                                          struct cm_error **err);
/* Answers suspended requests with 503, stops the daemon; accepts NULL, returns NULL. */
struct cm_http_server *cm_http_server_free(struct cm_http_server *srv);
uint16_t cm_http_server_port(const struct cm_http_server *srv);

const char *cm_http_request_method(const struct cm_http_request *req);
/* The path without the query string. */
const char *cm_http_request_path(const struct cm_http_request *req);
/* Case-insensitive header lookup (first occurrence); borrowed, NULL if absent. */
const char *cm_http_request_header(const struct cm_http_request *req, const char *name);
/* Decoded query argument; borrowed, NULL if absent. */
const char *cm_http_request_query(const struct cm_http_request *req, const char *name);
/* The body, NUL-terminated (borrowed); *ret_len excludes the NUL. */
const char *cm_http_request_body(const struct cm_http_request *req, size_t *ret_len);
/* True when the body exceeded cfg.max_body (the body is then empty). */
bool cm_http_request_too_large(const struct cm_http_request *req);

/* Per-request application data; free_fn (may be NULL) runs when the request
 * ends, whether answered or the client went away. */
void cm_http_request_set_data(struct cm_http_request *req, void *data, void (*free_fn)(void *));
void *cm_http_request_get_data(const struct cm_http_request *req);

/* Queues the response (body copied). headers: NULL or a NULL-terminated list of
 * name, value pairs. Valid once per request; for a suspended request it also
 * resumes it. Returns -1 if the request was already answered. */
int cm_http_respond(struct cm_http_request *req, unsigned status, const char *content_type,
                    const char *body, size_t len, const char *const *headers);
/* Keeps the request open after the handler returns (answer later with cm_http_respond). */
void cm_http_suspend(struct cm_http_request *req);
