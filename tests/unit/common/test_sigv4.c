/* SPDX-License-Identifier: Apache-2.0 */
/* SigV4 against AWS's documented vectors and a request captured from the aws CLI. */
#include <criterion/criterion.h>
#include <string.h>
#include <strings.h>

#include "cm/cleanup.h"
#include "cm/sigv4.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/* The aws CLI's ListClusters request (aws-api-compat.md 6.2). */
static const struct cm_sigv4_header cli_headers[] = {
    {"Host", "127.0.0.1:18999"},
    {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
    {"Content-Type", "application/x-amz-json-1.1"},
    {"X-Amz-Date", "20261127T092905Z"},
    {"Authorization",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/ecs/aws4_request, "
     "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
     "Signature=d649cc30d081817b2d087b131043a8cfe78b5842db7a3373af89fba8c4572556"},
};

struct hdrs {
    const struct cm_sigv4_header *h;
    size_t n;
    const char *override_name, *override_value;
};

static const char *
lookup(void *ud, const char *lname)
{
    struct hdrs *s = ud;
    if (s->override_name && !strcasecmp(s->override_name, lname))
        return s->override_value;
    for (size_t i = 0; i < s->n; i++)
        if (!strcasecmp(s->h[i].name, lname))
            return s->h[i].value;
    return NULL;
}

static const char *
secret_of(void *ud, const char *akid)
{
    (void)ud;
    return !strcmp(akid, "AKIDEXAMPLE") ? SECRET : NULL;
}

static time_t
cli_time(void)
{
    return 1795771745; /* 2026-11-27T09:29:05Z */
}

static enum cm_sigv4_status
verify_cli(struct hdrs *h, const char *body, time_t now, char **msg)
{
    struct cm_sigv4_verify_input in = {
        .method = "POST",
        .path = "/",
        .get_header = lookup,
        .hdr_ud = h,
        .body = body,
        .body_len = strlen(body),
        .service = "ecs",
        .now = now,
        .get_secret = secret_of,
    };
    cleanup_free char *akid = NULL, *region = NULL;
    enum cm_sigv4_status st = cm_sigv4_verify(&in, &akid, &region, msg);
    if (st == CM_SIGV4_OK) {
        cr_assert_str_eq(akid, "AKIDEXAMPLE");
        cr_assert_str_eq(region, "us-east-1");
    }
    return st;
}

TestSuite(cm_sigv4);

Test(cm_sigv4, sha256_empty)
{
    char out[65];
    cm_sha256_hex("", 0, out);
    cr_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(cm_sigv4, canonical_request_of_cli_capture)
{
    struct hdrs h = {cli_headers, 5, NULL, NULL};
    char payload[65], hash[65];
    cm_sha256_hex("{}", 2, payload);
    cleanup_free char *creq = cm_sigv4_canonical_request(
        "POST", "/", NULL, "content-type;host;x-amz-date;x-amz-target", lookup, &h, payload);
    cr_assert_str_eq(creq, "POST\n/\n\ncontent-type:application/x-amz-json-1.1\n"
                           "host:127.0.0.1:18999\nx-amz-date:20261127T092905Z\n"
                           "x-amz-target:AmazonEC2ContainerServiceV20141113.ListClusters\n\n"
                           "content-type;host;x-amz-date;x-amz-target\n"
                           "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    cm_sha256_hex(creq, strlen(creq), hash);
    cr_assert_eq(strlen(hash), 64);
}

Test(cm_sigv4, verify_good_cli_request)
{
    struct hdrs h = {cli_headers, 5, NULL, NULL};
    cleanup_free char *msg = NULL;
    cr_assert_eq(verify_cli(&h, "{}", cli_time() + 60, &msg), CM_SIGV4_OK, "%s", msg);
}

Test(cm_sigv4, wrong_body_is_bad_signature)
{
    struct hdrs h = {cli_headers, 5, NULL, NULL};
    cleanup_free char *msg = NULL;
    cr_assert_eq(verify_cli(&h, "{ }", cli_time(), &msg), CM_SIGV4_BAD_SIGNATURE);
    cr_assert_str_eq(cm_sigv4_status_code(CM_SIGV4_BAD_SIGNATURE), "InvalidSignatureException");
}

Test(cm_sigv4, wrong_signature)
{
    struct hdrs h = {cli_headers, 5, "authorization",
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/ecs/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                     "Signature=0000cc30d081817b2d087b131043a8cfe78b5842db7a3373af89fba8c4572556"};
    cleanup_free char *msg = NULL;
    cr_assert_eq(verify_cli(&h, "{}", cli_time(), &msg), CM_SIGV4_BAD_SIGNATURE);
}

Test(cm_sigv4, unknown_key)
{
    struct hdrs h = {cli_headers, 5, "authorization",
                     "AWS4-HMAC-SHA256 Credential=AKIDOTHER/20261127/us-east-1/ecs/aws4_request, "
                     "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
                     "Signature=d649cc30d081817b2d087b131043a8cfe78b5842db7a3373af89fba8c4572556"};
    cleanup_free char *msg = NULL;
    cr_assert_eq(verify_cli(&h, "{}", cli_time(), &msg), CM_SIGV4_UNKNOWN_KEY);
    cr_assert_str_eq(cm_sigv4_status_code(CM_SIGV4_UNKNOWN_KEY), "UnrecognizedClientException");
}

Test(cm_sigv4, stale_date)
{
    struct hdrs h = {cli_headers, 5, NULL, NULL};
    cleanup_free char *msg = NULL;
    cr_assert_eq(verify_cli(&h, "{}", cli_time() + 16 * 60, &msg), CM_SIGV4_EXPIRED);
    cr_assert(strstr(msg, "Signature expired"));
}

Test(cm_sigv4, missing_and_malformed)
{
    struct hdrs h = {cli_headers, 4, NULL, NULL}; /* without Authorization */
    cleanup_free char *m1 = NULL, *m2 = NULL, *m3 = NULL;
    cr_assert_eq(verify_cli(&h, "{}", cli_time(), &m1), CM_SIGV4_MISSING);
    cr_assert_str_eq(cm_sigv4_status_code(CM_SIGV4_MISSING), "MissingAuthenticationTokenException");
    struct hdrs h2 = {cli_headers, 5, "authorization", "AWS4-HMAC-SHA256 Credential=x"};
    cr_assert_eq(verify_cli(&h2, "{}", cli_time(), &m2), CM_SIGV4_INCOMPLETE);
    struct hdrs h3 = {cli_headers, 5, "authorization", "Basic Zm9vOmJhcg=="};
    cr_assert_eq(verify_cli(&h3, "{}", cli_time(), &m3), CM_SIGV4_INCOMPLETE);
}

/* A request of the AWS SigV4 test suite (botocore tests/unit/auth/aws4_testsuite):
 * GET / of example.amazonaws.com at 20150830T123600Z, with query (or none),
 * signed; the Authorization header. */
static char *
aws_suite_sign(const char *query)
{
    const struct cm_sigv4_header hs[] = {
        {"Host", "example.amazonaws.com"},
        {"X-Amz-Date", "20150830T123600Z"},
    };
    struct cm_sigv4_sign_input in = {
        .method = "GET",
        .path = "/",
        .query = query,
        .headers = hs,
        .n_headers = 2,
        .akid = "AKIDEXAMPLE",
        .secret = SECRET,
        .region = "us-east-1",
        .service = "service",
        .amz_date = "20150830T123600Z",
    };
    cleanup_error struct cm_error *err = NULL;
    char *auth = cm_sigv4_sign(&in, &err);
    cr_assert_not_null(auth, "%s", err ? err->msg : "");
    return auth;
}

/* AWS suite "get-vanilla". */
Test(cm_sigv4, aws_suite_get_vanilla)
{
    cleanup_free char *auth = aws_suite_sign(NULL);
    cr_assert_str_eq(auth,
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                     "aws4_request, SignedHeaders=host;x-amz-date, "
                     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

/* AWS suite "get-vanilla-query-order-key-case": query sorting. */
Test(cm_sigv4, aws_suite_query_order)
{
    cleanup_free char *auth = aws_suite_sign("Param2=value2&Param1=value1");
    cr_assert(
        strstr(auth, "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        "%s", auth);
}

Test(cm_sigv4, sign_then_verify_roundtrip)
{
    const struct cm_sigv4_header hs[] = {
        {"Host", "127.0.0.1:18999"},
        {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"},
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Date", "20261127T092905Z"},
    };
    struct cm_sigv4_sign_input in = {
        .method = "POST",
        .path = "/",
        .headers = hs,
        .n_headers = 4,
        .body = "{}",
        .body_len = 2,
        .akid = "AKIDEXAMPLE",
        .secret = SECRET,
        .region = "us-east-1",
        .service = "ecs",
        .amz_date = "20261127T092905Z",
    };
    cleanup_free char *auth = cm_sigv4_sign(&in, NULL);
    /* Same input as the CLI capture: same Authorization header. */
    cr_assert_str_eq(auth, cli_headers[4].value);
}

Test(cm_sigv4, canonical_uri_double_encodes)
{
    struct hdrs h = {cli_headers, 5, NULL, NULL};
    cleanup_free char *creq = cm_sigv4_canonical_request(
        "POST", "/2015-03-31/functions/arn%3Aaws%3Alambda/./x/../invocations",
        "Qualifier=%24LATEST", "host", lookup, &h, "e3");
    cr_assert(strstr(creq, "\n/2015-03-31/functions/arn%253Aaws%253Alambda/invocations\n"
                           "Qualifier=%24LATEST\n"),
              "%s", creq);
}
