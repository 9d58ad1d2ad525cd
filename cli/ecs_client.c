/* SPDX-License-Identifier: Apache-2.0 */
/* The ECS JSON 1.1 client: endpoint, region and credentials resolved like the
 * aws CLI does (options, environment, ~/.aws files), with skiffd's generated
 * admin credentials as the fallback for a local cluster; SigV4-signed POSTs. */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/sigv4.h"
#include "cm/xalloc.h"
#include "ecs.h"

#define TARGET_PREFIX "AmazonEC2ContainerServiceV20141113."
#define MAX_INI (1u << 20)

static char *
trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

char *
cli_ini_get(const char *path, const char *section, const char *key)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;
    char *save = NULL;
    bool in = false;

    if (!path || cm_read_file_at(AT_FDCWD, path, MAX_INI, &buf, &len, NULL) < 0)
        return NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *l = trim(line);
        if (l[0] == '[') {
            char *end = strchr(l, ']');
            if (end) {
                *end = '\0';
                in = !strcmp(trim(l + 1), section);
            }
            continue;
        }
        if (!in || l[0] == '#' || l[0] == ';')
            continue;
        char *eq = strchr(l, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (!strcmp(trim(l), key))
            return xstrdup(trim(eq + 1));
    }
    return NULL;
}

static char *
home_file(const char *env, const char *rel)
{
    const char *v = getenv(env);
    if (v && *v)
        return xstrdup(v);
    const char *home = getenv("HOME");
    return xasprintf("%s/%s", home && *home ? home : "/root", rel);
}

static char *
env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? xstrdup(v) : NULL;
}

/* The credentials lookup order of the aws CLI (minus SSO and instance
 * metadata, which have no meaning here), then skiffd's own file. */
static int
creds_resolve(struct cli_ctx *ctx, const char *cred_file, const char *cfg_file,
              struct cm_error **err)
{
    struct cli_creds *c = &ctx->creds;
    bool explicit_profile = ctx->profile != NULL;
    const char *profile = ctx->profile ? ctx->profile : "default";
    cleanup_free char *cfg_section =
        !strcmp(profile, "default") ? xstrdup("default") : xasprintf("profile %s", profile);

    if (!explicit_profile) {
        c->akid = env_dup("AWS_ACCESS_KEY_ID");
        c->secret = env_dup("AWS_SECRET_ACCESS_KEY");
        if (c->akid && c->secret) {
            c->token = env_dup("AWS_SESSION_TOKEN");
            c->source = xstrdup("the environment (AWS_ACCESS_KEY_ID)");
            return 0;
        }
        free(c->akid);
        free(c->secret);
        c->akid = c->secret = NULL;
    }
    c->akid = cli_ini_get(cred_file, profile, "aws_access_key_id");
    c->secret = cli_ini_get(cred_file, profile, "aws_secret_access_key");
    if (c->akid && c->secret) {
        c->token = cli_ini_get(cred_file, profile, "aws_session_token");
        c->source = xasprintf("'%s' [%s]", cred_file, profile);
        return 0;
    }
    free(c->akid);
    free(c->secret);
    c->akid = cli_ini_get(cfg_file, cfg_section, "aws_access_key_id");
    c->secret = cli_ini_get(cfg_file, cfg_section, "aws_secret_access_key");
    if (c->akid && c->secret) {
        c->source = xasprintf("'%s' [%s]", cfg_file, cfg_section);
        return 0;
    }
    free(c->akid);
    free(c->secret);
    c->akid = c->secret = NULL;
    if (!explicit_profile) {
        /* A local cluster: the admin keys skiffd generated in its state dir. */
        const char *state = getenv("SKIFF_STATE_DIR");
        cleanup_free char *path =
            xasprintf("%s/skiffd/credentials", state && *state ? state : CLI_DEFAULT_STATE);
        c->akid = cli_ini_get(path, "default", "aws_access_key_id");
        c->secret = cli_ini_get(path, "default", "aws_secret_access_key");
        if (c->akid && c->secret) {
            c->source = xasprintf("skiffd's admin credentials '%s'", path);
            return 0;
        }
        free(c->akid);
        free(c->secret);
        c->akid = c->secret = NULL;
    }
    return cm_error_set(
        err, ENOKEY,
        "no credentials for profile '%s': looked at AWS_ACCESS_KEY_ID, '%s', '%s'%s; "
        "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or point "
        "AWS_SHARED_CREDENTIALS_FILE at skiffd's STATE/credentials",
        profile, cred_file, cfg_file,
        explicit_profile ? "" : " and skiffd's STATE/skiffd/credentials");
}

/* The CA file for an https endpoint, in the aws CLI's order (ours first).
 * A plain-HTTP endpoint ignores the environment and the profile (they may be
 * set for other endpoints), but an explicit --ca-file with it is a mistake. */
static int
ca_resolve(struct cli_ctx *ctx, const struct cli_args *a, const char *cfg_file,
           struct cm_error **err)
{
    bool https = !strncmp(ctx->endpoint, "https://", 8);
    const char *profile = ctx->profile ? ctx->profile : "default";
    cleanup_free char *cfg_section =
        !strcmp(profile, "default") ? xstrdup("default") : xasprintf("profile %s", profile);
    const char *o;

    if ((o = cli_arg(a, "ca-file")) || (o = cli_arg(a, "ca-bundle"))) {
        if (!https)
            return cm_error_set(err, 0,
                                "--ca-file '%s' is for an https:// endpoint, but the endpoint is "
                                "'%s'",
                                o, ctx->endpoint);
        ctx->ca_file = xstrdup(o);
        ctx->ca_source = xstrdup(cli_arg(a, "ca-file") ? "--ca-file" : "--ca-bundle");
    } else if (!https) {
        return 0;
    } else if ((ctx->ca_file = env_dup("SKIFF_CA_FILE"))) {
        ctx->ca_source = xstrdup("SKIFF_CA_FILE");
    } else if ((ctx->ca_file = env_dup("AWS_CA_BUNDLE"))) {
        ctx->ca_source = xstrdup("AWS_CA_BUNDLE");
    } else if ((ctx->ca_file = cli_ini_get(cfg_file, cfg_section, "ca_bundle"))) {
        ctx->ca_source = xasprintf("ca_bundle in '%s' [%s]", cfg_file, cfg_section);
    } else {
        return 0;
    }
    /* Said now, rather than as curl's "error setting certificate file". */
    if (access(ctx->ca_file, R_OK) < 0)
        return cm_error_errno(err, "CA file '%s' (from %s)", ctx->ca_file, ctx->ca_source);
    return 0;
}

int
cli_ctx_init(struct cli_ctx *ctx, const struct cli_args *a, bool need_creds, struct cm_error **err)
{
    cleanup_free char *cred_file = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    cleanup_free char *cfg_file = home_file("AWS_CONFIG_FILE", ".aws/config");
    const char *o;

    *ctx = (struct cli_ctx){.out = stdout,
                            .format = isatty(STDOUT_FILENO) ? CLI_OUT_TABLE : CLI_OUT_JSON};
    if ((o = cli_arg(a, "output")) && cli_format_parse(o, &ctx->format, err) < 0)
        return -1;
    ctx->debug = cli_flag(a, "debug");
    ctx->profile = (o = cli_arg(a, "profile")) ? xstrdup(o) : env_dup("AWS_PROFILE");
    if ((o = cli_arg(a, "endpoint")))
        ctx->endpoint = xstrdup(o);
    else if (!(ctx->endpoint = env_dup("SKIFF_ENDPOINT")) &&
             !(ctx->endpoint = env_dup("AWS_ENDPOINT_URL_ECS")) &&
             !(ctx->endpoint = env_dup("AWS_ENDPOINT_URL")))
        ctx->endpoint = xstrdup(CLI_DEFAULT_ENDPOINT);
    if (strncmp(ctx->endpoint, "http://", 7) && strncmp(ctx->endpoint, "https://", 8))
        return cm_error_set(err, 0, "endpoint '%s' must start with http:// or https://",
                            ctx->endpoint);
    if (ca_resolve(ctx, a, cfg_file, err) < 0)
        return -1;
    if (!need_creds)
        return 0;
    if (creds_resolve(ctx, cred_file, cfg_file, err) < 0)
        return -1;
    const char *profile = ctx->profile ? ctx->profile : "default";
    cleanup_free char *cfg_section =
        !strcmp(profile, "default") ? xstrdup("default") : xasprintf("profile %s", profile);
    if ((o = cli_arg(a, "region")))
        ctx->region = xstrdup(o);
    else if (!(ctx->region = env_dup("AWS_REGION")) &&
             !(ctx->region = env_dup("AWS_DEFAULT_REGION")) &&
             !(ctx->region = cli_ini_get(cfg_file, cfg_section, "region")) &&
             !(ctx->region = cli_ini_get(cred_file, profile, "region")))
        ctx->region = xstrdup("us-east-1");
    return 0;
}

void
cli_ctx_done(struct cli_ctx *ctx)
{
    free(ctx->endpoint);
    free(ctx->ca_file);
    free(ctx->ca_source);
    free(ctx->region);
    free(ctx->profile);
    free(ctx->creds.akid);
    free(ctx->creds.secret);
    free(ctx->creds.token);
    free(ctx->creds.source);
    free(ctx->err_type);
    *ctx = (struct cli_ctx){0};
}

const char *
cli_error_hint(const char *t)
{
    static const struct {
        const char *type, *hint;
    } hints[] = {
        {"UnrecognizedClientException",
         "the access key is not one skiffd knows: use the keys from skiffd's STATE/credentials "
         "(AWS_SHARED_CREDENTIALS_FILE=STATE/credentials) or pick another --profile"},
        {"InvalidSignatureException",
         "the secret key does not match the access key, or the clock is more than 15 minutes "
         "off: check the credentials file and the system time"},
        {"MissingAuthenticationTokenException",
         "the request was not signed: configure credentials"},
        {"ClusterNotFoundException",
         "create it with 'skiff create-cluster --cluster-name NAME' or pass an existing --cluster "
         "(see 'skiff list-clusters')"},
        {"ServiceNotFoundException",
         "check the name with 'skiff describe-services' or 'skiff list-services --cluster C'"},
        {"ServiceNotActiveException", "the service was deleted; create it again"},
        {"ClientException",
         "the request was refused as invalid: the message above names the field to fix"},
        {"InvalidParameterException", "fix the parameter named in the message and retry"},
        {"ServerException",
         "skiffd failed: see its log (journalctl -u skiffd or STATE/../skiffd.log)"},
        {"tls",
         "skiffd's certificate is not trusted: pass the CA that signed it with --ca-file FILE "
         "(or set SKIFF_CA_FILE / AWS_CA_BUNDLE, or ca_bundle in the profile)"},
        {"tls-plain", "if skiffd serves HTTPS there, use an https:// endpoint (with --ca-file)"},
        {"transport",
         "is skiffd running there? start it (skiffd --listen HOST:PORT --state DIR, or 'skiff "
         "quickstart'), or point --endpoint / SKIFF_ENDPOINT at it"},
    };
    for (size_t i = 0; t && i < sizeof(hints) / sizeof(hints[0]); i++)
        if (!strcmp(hints[i].type, t))
            return hints[i].hint;
    return NULL;
}

struct body {
    char *data;
    size_t len;
    bool too_big;
};

static size_t
write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct body *b = ud;
    size_t len = size * n;
    if (b->len + len > CLI_MAX_RESPONSE) {
        b->too_big = true;
        return 0;
    }
    b->data = xrealloc(b->data, b->len + len + 1);
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* host[:port] and path of an http(s) URL. */
static void
split_url(const char *url, char **ret_host, char **ret_path)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    const char *slash = strchr(h, '/');
    *ret_host = slash ? xstrndup(h, (size_t)(slash - h)) : xstrdup(h);
    *ret_path = xstrdup(slash ? slash : "/");
}

static void
curl_easy_cleanupp(CURL **c)
{
    if (*c)
        curl_easy_cleanup(*c);
}

static void
curl_slist_freep(struct curl_slist **l)
{
    curl_slist_free_all(*l);
}

int
cli_ecs_call(struct cli_ctx *ctx, const char *op, json_t *in, json_t **ret, struct cm_error **err)
{
    __attribute__((cleanup(curl_easy_cleanupp))) CURL *curl = NULL;
    __attribute__((cleanup(curl_slist_freep))) struct curl_slist *hdrs = NULL;
    cleanup_free char *body = json_dumps(in, JSON_COMPACT);
    cleanup_free char *host = NULL, *path = NULL, *target = NULL, *auth = NULL;
    cleanup_free char *resp_data = NULL;
    struct body resp = {0};
    char amz_date[17], errbuf[CURL_ERROR_SIZE] = "";
    long status = 0;

    free(ctx->err_type);
    ctx->err_type = NULL;
    ctx->http_status = 0;
    split_url(ctx->endpoint, &host, &path);
    target = xasprintf(TARGET_PREFIX "%s", op);
    cm_sigv4_amz_date(time(NULL), amz_date);
    struct cm_sigv4_header sh[5] = {
        {"content-type", "application/x-amz-json-1.1"},
        {"host", host},
        {"x-amz-date", amz_date},
        {"x-amz-target", target},
        {"x-amz-security-token", ctx->creds.token},
    };
    struct cm_sigv4_sign_input si = {
        .method = "POST",
        .path = path,
        .headers = sh,
        .n_headers = ctx->creds.token ? 5 : 4,
        .body = body,
        .body_len = strlen(body),
        .akid = ctx->creds.akid,
        .secret = ctx->creds.secret,
        .region = ctx->region,
        .service = "ecs",
        .amz_date = amz_date,
    };
    auth = cm_sigv4_sign(&si, err);
    if (!auth)
        return cm_error_wrap(err, "%s: signing", op);

    curl = curl_easy_init();
    if (!curl)
        return cm_error_set(err, ENOMEM, "%s: curl_easy_init failed", op);
    for (size_t i = 0; i < si.n_headers; i++) {
        if (!strcmp(sh[i].name, "host"))
            continue; /* curl sends the same Host itself */
        cleanup_free char *h = xasprintf("%s: %s", sh[i].name, sh[i].value);
        hdrs = curl_slist_append(hdrs, h);
    }
    cleanup_free char *ah = xasprintf("Authorization: %s", auth);
    hdrs = curl_slist_append(hdrs, ah);
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, ctx->endpoint);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    /* The endpoint's scheme only, verification on (curl's default, said here). */
    bool https = !strncmp(ctx->endpoint, "https://", 8);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
    if (https) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
        if (ctx->ca_file)
            curl_easy_setopt(curl, CURLOPT_CAINFO, ctx->ca_file);
    }
    if (ctx->debug)
        fprintf(stderr, "skiff: POST %s %s %s\n", ctx->endpoint, target, body);
    CURLcode cr = curl_easy_perform(curl);
    resp_data = resp.data;
    if (resp.too_big)
        return cm_error_set(err, EFBIG, "%s: response from '%s' larger than %u bytes", op,
                            ctx->endpoint, CLI_MAX_RESPONSE);
    if (cr == CURLE_SSL_CACERT_BADFILE) {
        ctx->err_type = xstrdup("tls");
        return cm_error_set(err, EKEYREJECTED, "%s: cannot use the CA file '%s' (from %s): %s", op,
                            ctx->ca_file ? ctx->ca_file : "(system default)",
                            ctx->ca_source ? ctx->ca_source : "libcurl",
                            *errbuf ? errbuf : curl_easy_strerror(cr));
    }
    if (cr == CURLE_PEER_FAILED_VERIFICATION) {
        ctx->err_type = xstrdup("tls");
        return cm_error_set(
            err, EKEYREJECTED,
            "%s: TLS certificate verification failed for '%s': %s (trusting %s%s%s)", op,
            ctx->endpoint, *errbuf ? errbuf : curl_easy_strerror(cr),
            ctx->ca_file ? ctx->ca_file : "the system's CA certificates",
            ctx->ca_file ? " from " : "", ctx->ca_file ? ctx->ca_source : "");
    }
    if (cr == CURLE_GOT_NOTHING && !https) {
        ctx->err_type = xstrdup("tls-plain");
        return cm_error_set(err, EIO, "%s: '%s' closed the connection without an answer", op,
                            ctx->endpoint);
    }
    if (cr != CURLE_OK) {
        ctx->err_type = xstrdup("transport");
        return cm_error_set(err, EIO, "%s: cannot reach '%s': %s", op, ctx->endpoint,
                            *errbuf ? errbuf : curl_easy_strerror(cr));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    ctx->http_status = (int)status;
    if (ctx->debug)
        fprintf(stderr, "skiff: HTTP %ld %s\n", status, resp_data ? resp_data : "");
    json_auto_t *out = NULL;
    json_error_t jerr;
    if (resp.len)
        out = json_loadb(resp_data, resp.len, 0, &jerr);
    if (status >= 400) {
        const char *type = json_string_value(json_object_get(out, "__type"));
        const char *msg = json_string_value(json_object_get(out, "message"));
        if (!msg)
            msg = json_string_value(json_object_get(out, "Message"));
        if (type && strchr(type, '#'))
            type = strchr(type, '#') + 1;
        ctx->err_type = xstrdup(type ? type : "HTTPError");
        return cm_error_set(err, status == 404 ? ENOENT : EPROTO, "%s failed: %s (HTTP %ld): %s",
                            op, ctx->err_type, status, msg ? msg : "no message");
    }
    if (!out || !json_is_object(out))
        return cm_error_set(err, EPROTO, "%s: '%s' answered HTTP %ld with no JSON object", op,
                            ctx->endpoint, status);
    *ret = TAKE_PTR(out);
    return 0;
}

int
cli_ecs_list_all(struct cli_ctx *ctx, const char *op, json_t *in, const char *key, json_t **ret,
                 struct cm_error **err)
{
    json_auto_t *all = json_array();
    json_auto_t *req = json_deep_copy(in);

    /* Bounded: a server handing out nextTokens forever must not hang us. */
    for (int page = 0; page < 10000; page++) {
        json_auto_t *out = NULL;
        if (cli_ecs_call(ctx, op, req, &out, err) < 0)
            return -1;
        json_t *arr = json_object_get(out, key);
        if (arr && !json_is_array(arr))
            return cm_error_set(err, EPROTO, "%s: '%s' in the response is not an array", op, key);
        json_array_extend(all, arr ? arr : json_array());
        json_t *next = json_object_get(out, "nextToken");
        if (!json_is_string(next) || !*json_string_value(next)) {
            *ret = TAKE_PTR(all);
            return 0;
        }
        json_object_set(req, "nextToken", next);
    }
    return cm_error_set(err, EPROTO, "%s: more than 10000 pages", op);
}

int
cli_ecs_describe_all(struct cli_ctx *ctx, const char *op, json_t *in, const char *key, json_t *arns,
                     json_t **ret, struct cm_error **err)
{
    json_auto_t *all = json_array();

    for (size_t off = 0; off < json_array_size(arns); off += 100) {
        json_auto_t *req = json_deep_copy(in), *ids = json_array(), *out = NULL;
        for (size_t i = off; i < off + 100 && i < json_array_size(arns); i++)
            json_array_append(ids, json_array_get(arns, i));
        json_object_set(req, key, ids);
        if (cli_ecs_call(ctx, op, req, &out, err) < 0)
            return -1;
        json_array_extend(all, json_object_get(out, key));
    }
    *ret = TAKE_PTR(all);
    return 0;
}

int
cli_input_json(const char *arg, json_t **ret, struct cm_error **err)
{
    json_auto_t *v = NULL;

    if (!strncmp(arg, "file://", 7)) {
        if (cm_json_load_file(arg + 7, CLI_MAX_RESPONSE, &v, err) < 0)
            return -1;
    } else if (cm_json_loadb(arg, strlen(arg), "--cli-input-json", &v, err) < 0) {
        return cm_error_wrap(err, "--cli-input-json is neither file://PATH nor valid JSON");
    }
    if (!json_is_object(v))
        return cm_error_set(err, 0, "--cli-input-json: expected a JSON object");
    *ret = TAKE_PTR(v);
    return 0;
}
