/* SPDX-License-Identifier: Apache-2.0 */
/* The ECS JSON 1.1 endpoint: SigV4 authentication, dispatch on X-Amz-Target,
 * ECS error shapes, request ids, and the helpers every handler shares. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm/cleanup.h"
#include "cm/http.h"
#include "cm/log.h"
#include "cm/sigv4.h"
#include "cm/xalloc.h"
#include "skiffd.h"

#define JSON_CT "application/x-amz-json-1.1"

struct op_entry {
    const char *name;
    sched_op_fn fn;
};

static const struct op_entry ops[] = {
    {"CreateCluster", sched_op_create_cluster},
    {"DescribeClusters", sched_op_describe_clusters},
    {"ListClusters", sched_op_list_clusters},
    {"DeleteCluster", sched_op_delete_cluster},
    {"UpdateCluster", sched_op_update_cluster},
    {"UpdateClusterSettings", sched_op_update_cluster_settings},
    {"RegisterTaskDefinition", sched_op_register_task_definition},
    {"DescribeTaskDefinition", sched_op_describe_task_definition},
    {"DeregisterTaskDefinition", sched_op_deregister_task_definition},
    {"ListTaskDefinitions", sched_op_list_task_definitions},
    {"ListTaskDefinitionFamilies", sched_op_list_task_definition_families},
#include "api_ops.inc"
};

int
sched_fail(struct sched_call *c, const char *type, const char *fmt, ...)
{
    va_list ap;
    if (c->err_type)
        return -1;
    c->err_type = xstrdup(type);
    va_start(ap, fmt);
    c->err_msg = xvasprintf(fmt, ap);
    va_end(ap);
    return -1;
}

char *
sched_arn(struct sched_call *c, const char *fmt, ...)
{
    va_list ap;
    cleanup_free char *res = NULL;
    va_start(ap, fmt);
    res = xvasprintf(fmt, ap);
    va_end(ap);
    return xasprintf("arn:aws:ecs:%s:%s:%s", c->region ? c->region : c->d->region, SCHED_ACCOUNT,
                     res);
}

const char *
sched_arn_tail(const char *s)
{
    if (strncmp(s, "arn:", 4) != 0)
        return s;
    const char *slash = strrchr(s, '/');
    if (slash)
        return slash + 1;
    const char *colon = strrchr(s, ':');
    return colon ? colon + 1 : s;
}

int
sched_in_str(struct sched_call *c, json_t *in, const char *key, bool required, const char **ret)
{
    json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v)) {
        if (required)
            return sched_fail(c, "InvalidParameterException", "%s can not be null or empty.", key);
        return 0;
    }
    if (!json_is_string(v))
        return sched_fail(c, "InvalidParameterException", "%s must be a string.", key);
    if (required && json_string_length(v) == 0)
        return sched_fail(c, "InvalidParameterException", "%s can not be null or empty.", key);
    *ret = json_string_value(v);
    return 0;
}

int
sched_in_int(struct sched_call *c, json_t *in, const char *key, bool required, int64_t min,
             int64_t max, int64_t *ret)
{
    json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v)) {
        if (required)
            return sched_fail(c, "InvalidParameterException", "%s can not be null.", key);
        return 0;
    }
    if (!json_is_integer(v))
        return sched_fail(c, "InvalidParameterException", "%s must be an integer.", key);
    int64_t x = json_integer_value(v);
    if (x < min || x > max)
        return sched_fail(c, "InvalidParameterException",
                          "%s must be between %lld and %lld, got %lld.", key, (long long)min,
                          (long long)max, (long long)x);
    *ret = x;
    return 0;
}

int
sched_in_bool(struct sched_call *c, json_t *in, const char *key, bool *ret)
{
    json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return sched_fail(c, "InvalidParameterException", "%s must be a boolean.", key);
    *ret = json_is_true(v);
    return 0;
}

int
sched_in_array(struct sched_call *c, json_t *in, const char *key, bool required, size_t max,
               json_t **ret)
{
    json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v)) {
        if (required)
            return sched_fail(c, "InvalidParameterException", "%s can not be null or empty.", key);
        return 0;
    }
    if (!json_is_array(v))
        return sched_fail(c, "InvalidParameterException", "%s must be a list.", key);
    if (max && json_array_size(v) > max)
        return sched_fail(c, "InvalidParameterException", "%s can have at most %zu items.", key,
                          max);
    *ret = v;
    return 0;
}

int
sched_in_object(struct sched_call *c, json_t *in, const char *key, json_t **ret)
{
    json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return sched_fail(c, "InvalidParameterException", "%s must be a structure.", key);
    *ret = v;
    return 0;
}

json_t *
sched_cluster_get(struct sched_call *c, json_t *in, const char **ret_name)
{
    const char *ref = "default";
    if (sched_in_str(c, in, "cluster", false, &ref) < 0)
        return NULL;
    if (!*ref)
        ref = "default";
    const char *name = sched_arn_tail(ref);
    json_t *cl = sched_get(c->d, SCHED_K_CLUSTER, name);
    if (!cl || strcmp(json_string_value(json_object_get(cl, "status")), "ACTIVE") != 0) {
        sched_fail(c, "ClusterNotFoundException", "Cluster not found.");
        return NULL;
    }
    if (ret_name)
        *ret_name = json_string_value(json_object_get(cl, "clusterName"));
    return cl;
}

int
sched_paginate(struct sched_call *c, json_t *in, json_t *all, const char *key, json_t *out,
               int64_t max_page)
{
    int64_t max = max_page;
    const char *token = NULL;
    size_t start = 0;

    if (sched_in_int(c, in, "maxResults", false, 1, max_page, &max) < 0 ||
        sched_in_str(c, in, "nextToken", false, &token) < 0)
        return -1;
    if (token && *token) {
        char *end = NULL;
        if (strncmp(token, "skiff-", 6) != 0)
            return sched_fail(c, "InvalidParameterException", "Invalid nextToken.");
        errno = 0;
        unsigned long long v = strtoull(token + 6, &end, 10);
        if (errno || *end || end == token + 6 || v > json_array_size(all))
            return sched_fail(c, "InvalidParameterException", "Invalid nextToken.");
        start = (size_t)v;
    }
    json_t *page = json_array();
    size_t n = json_array_size(all);
    size_t i;
    for (i = start; i < n && (int64_t)(i - start) < max; i++)
        json_array_append(page, json_array_get(all, i));
    json_object_set_new(out, key, page);
    if (i < n)
        json_object_set_new(out, "nextToken", json_sprintf("skiff-%zu", i));
    return 0;
}

json_t *
sched_tags_parse(struct sched_call *c, json_t *arr)
{
    json_t *tags = json_array();
    size_t i;
    json_t *t;
    if (!arr)
        return tags;
    if (!json_is_array(arr) || json_array_size(arr) > 50) {
        json_decref(tags);
        sched_fail(c, "InvalidParameterException", "tags must be a list of at most 50 tags.");
        return NULL;
    }
    json_array_foreach (arr, i, t) {
        const char *k = NULL, *v = "";
        if (!json_is_object(t) || sched_in_str(c, t, "key", true, &k) < 0 ||
            sched_in_str(c, t, "value", false, &v) < 0 || strlen(k) > 128 || strlen(v) > 256) {
            json_decref(tags);
            sched_fail(c, "InvalidParameterException",
                       "Tag keys must be 1-128 and values 0-256 characters.");
            return NULL;
        }
        json_array_append_new(tags, json_pack("{s:s,s:s}", "key", k, "value", v));
    }
    return tags;
}

void
sched_failure_add(json_t *out, const char *arn, const char *reason, const char *detail)
{
    json_t *f = json_object_get(out, "failures");
    if (!f) {
        f = json_array();
        json_object_set_new(out, "failures", f);
    }
    json_t *e = json_pack("{s:s,s:s}", "arn", arn, "reason", reason);
    if (detail)
        json_object_set_new(e, "detail", json_string(detail));
    json_array_append_new(f, e);
}

void
sched_failure_missing(struct sched_call *c, json_t *out, const char *kind, const char *cluster,
                      const char *ref)
{
    cleanup_free char *arn = NULL;

    if (!strncmp(ref, "arn:", 4))
        arn = xstrdup(ref);
    else if (cluster)
        arn = sched_arn(c, "%s/%s/%s", kind, cluster, ref);
    else
        arn = sched_arn(c, "%s/%s", kind, ref);
    sched_failure_add(out, arn, "MISSING", NULL);
}

bool
sched_valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return false;
    return true;
}

bool
sched_include_has(json_t *in, const char *what)
{
    size_t i;
    json_t *v;

    json_array_foreach (json_object_get(in, "include"), i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), what))
            return true;
    return false;
}

/* --- request handling ----------------------------------------------------- */

void
sched_respond_json(struct cm_http_request *req, unsigned status, json_t *body)
{
    char rid[37];
    sched_uuid(rid);
    cleanup_free char *text = json_dumps(body, JSON_COMPACT);
    const char *hdrs[] = {"x-amzn-RequestId", rid, NULL};
    cm_http_respond(req, status, JSON_CT, text, strlen(text), hdrs);
}

void
sched_respond_error(struct cm_http_request *req, unsigned status, const char *type, const char *msg)
{
    json_auto_t *b = json_pack("{s:s,s:s}", "__type", type, "message", msg);
    sched_respond_json(req, status, b);
}

static const char *
header_lookup(void *ud, const char *lname)
{
    return cm_http_request_header(ud, lname);
}

static const char *
secret_lookup(void *ud, const char *akid)
{
    struct sched_daemon *d = ud;
    return json_string_value(json_object_get(d->creds, akid));
}

void
sched_http_handler(struct cm_http_request *req, void *userdata)
{
    struct sched_daemon *d = userdata;
    const char *path = cm_http_request_path(req);
    size_t len = 0;
    const char *body = cm_http_request_body(req, &len);

    if (!strncmp(path, "/agent/", 7)) {
        sched_agent_http(d, req);
        return;
    }
    if (cm_http_request_too_large(req)) {
        cleanup_free char *m =
            xasprintf("Request body exceeds the limit of %d bytes.", SCHED_MAX_BODY);
        sched_respond_error(req, 413, "RequestEntityTooLargeException", m);
        return;
    }
    if (strcmp(cm_http_request_method(req), "POST") != 0 || strcmp(path, "/") != 0) {
        sched_respond_error(req, 404, "UnknownOperationException", "Only POST / is served.");
        return;
    }

    struct cm_sigv4_verify_input vin = {
        .method = "POST",
        .path = path,
        .query = NULL,
        .get_header = header_lookup,
        .hdr_ud = req,
        .body = body,
        .body_len = len,
        .service = "ecs",
        .now = time(NULL),
        .get_secret = secret_lookup,
        .secret_ud = d,
    };
    cleanup_free char *akid = NULL, *region = NULL, *amsg = NULL;
    enum cm_sigv4_status st = cm_sigv4_verify(&vin, &akid, &region, &amsg);
    if (st != CM_SIGV4_OK) {
        cm_log_info("request refused: %s: %s", cm_sigv4_status_code(st), amsg);
        sched_respond_error(req, 403, cm_sigv4_status_code(st), amsg);
        return;
    }

    const char *target = cm_http_request_header(req, "X-Amz-Target");
    size_t plen = strlen(SCHED_ECS_TARGET_PREFIX);
    const struct op_entry *op = NULL;
    if (target && !strncmp(target, SCHED_ECS_TARGET_PREFIX, plen)) {
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            if (!strcmp(ops[i].name, target + plen))
                op = &ops[i];
    }
    if (!op) {
        cleanup_free char *m =
            xasprintf("Operation '%s' is not supported.", target ? target : "(no X-Amz-Target)");
        sched_respond_error(req, 400, "UnknownOperationException", m);
        return;
    }

    json_auto_t *in = NULL;
    if (len == 0) {
        in = json_object();
    } else {
        json_error_t jerr;
        in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!in || !json_is_object(in)) {
            cleanup_free char *m = in ? xstrdup("The request body must be a JSON object.")
                                      : xasprintf("Malformed JSON at line %d column %d: %s",
                                                  jerr.line, jerr.column, jerr.text);
            sched_respond_error(req, 400, "SerializationException", m);
            return;
        }
    }

    struct sched_call c = {.d = d, .op = op->name, .region = region, .in = in, .req = req};
    json_auto_t *out = json_object();
    int r = op->fn(&c, in, out);
    cleanup_error struct cm_error *err = NULL;
    /* Nothing is acknowledged before it is durable. */
    if (sched_flush(d, &err) < 0) {
        cm_log_error("%s: store write failed: %s", op->name, err->msg);
        sched_respond_error(req, 500, "ServerException", "The state store failed; retry.");
    } else if (r < 0) {
        const char *type = c.err_type ? c.err_type : "ServerException";
        sched_respond_error(req, strcmp(type, "ServerException") ? 400 : 500, type,
                            c.err_msg ? c.err_msg : "internal error");
    } else if (!c.deferred) { /* a deferred operation answers req itself (api_logs.c) */
        sched_respond_json(req, 200, out);
    }
    if (r >= 0)
        d->kick = true;
    free(c.err_type);
    free(c.err_msg);
}
