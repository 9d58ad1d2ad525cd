/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the ECS client: credentials/region/endpoint resolution like
 * the aws CLI, and the error messages for ECS errors and unreachable hosts. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../cli/ecs.h"
#include "cm/cleanup.h"
#include "cm/xalloc.h"

static char tmpdir[] = "/tmp/cli-unit.XXXXXX";

static void
write_file(const char *name, const char *text)
{
    cleanup_free char *p = xasprintf("%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void
setup(void)
{
    cr_assert_not_null(mkdtemp(tmpdir));
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
        "AWS_REGION",        "AWS_DEFAULT_REGION",    "SKIFF_ENDPOINT",    "AWS_ENDPOINT_URL_ECS",
        "AWS_ENDPOINT_URL",  "SKIFF_CA_FILE",         "AWS_CA_BUNDLE",     NULL};
    for (int i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    cleanup_free char *c = xasprintf("%s/credentials", tmpdir);
    cleanup_free char *g = xasprintf("%s/config", tmpdir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", c, 1);
    setenv("AWS_CONFIG_FILE", g, 1);
    setenv("SKIFF_STATE_DIR", tmpdir, 1);
}

static void
teardown(void)
{
    cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static int
ctx_for(const char *cmdline, struct cli_ctx *ctx, struct cm_error **err)
{
    char *words[16];
    int n = 0;
    cleanup_free char *copy = xstrdup(cmdline);
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
        words[n++] = w;
    int used = 0;
    const struct cli_cmd *cmd = cli_cmd_find(n, words, &used);
    struct cli_args a = {0};
    cr_assert_eq(cli_args_parse(cmd, n - used, words + used, &a, err), 0);
    int r = cli_ctx_init(ctx, &a, true, err);
    cli_args_done(&a);
    return r;
}

TestSuite(cli_client, .init = setup, .fini = teardown);

Test(cli_client, profile_files_like_the_aws_cli)
{
    struct cli_ctx ctx;
    struct cm_error *err = NULL;
    write_file("credentials", "[default]\naws_access_key_id = AKIADEF\n"
                              "aws_secret_access_key = s1\n\n[dev]\n"
                              "aws_access_key_id=AKIADEV\naws_secret_access_key=s2\n");
    write_file("config", "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\n");
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), 0);
    cr_assert_str_eq(ctx.creds.akid, "AKIADEF");
    cr_assert_str_eq(ctx.region, "eu-west-1");
    cr_assert_str_eq(ctx.endpoint, CLI_DEFAULT_ENDPOINT);
    cli_ctx_done(&ctx);
    cr_assert_eq(ctx_for("list-clusters --profile dev --region us-west-2", &ctx, &err), 0);
    cr_assert_str_eq(ctx.creds.akid, "AKIADEV");
    cr_assert_str_eq(ctx.creds.secret, "s2");
    cr_assert_str_eq(ctx.region, "us-west-2");
    cli_ctx_done(&ctx);
    setenv("AWS_PROFILE", "dev", 1);
    setenv("SKIFF_ENDPOINT", "http://127.0.0.1:8150", 1);
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), 0);
    cr_assert_str_eq(ctx.creds.akid, "AKIADEV");
    cr_assert_str_eq(ctx.region, "ap-south-1");
    cr_assert_str_eq(ctx.endpoint, "http://127.0.0.1:8150");
    cli_ctx_done(&ctx);
}

Test(cli_client, environment_wins_then_skiffd_fallback)
{
    struct cli_ctx ctx;
    struct cm_error *err = NULL;
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "senv", 1);
    setenv("AWS_DEFAULT_REGION", "eu-north-1", 1);
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), 0);
    cr_assert_str_eq(ctx.creds.akid, "AKIAENV");
    cr_assert_str_eq(ctx.region, "eu-north-1");
    cli_ctx_done(&ctx);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_DEFAULT_REGION");
    /* No aws files: skiffd's generated admin credentials of a local cluster. */
    cleanup_free char *d = xasprintf("%s/skiffd", tmpdir);
    cr_assert_eq(mkdir(d, 0700), 0);
    write_file("skiffd/credentials", "[default]\naws_access_key_id = AKIASKIFF\n"
                                     "aws_secret_access_key = sk\nregion = us-east-1\n");
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), 0);
    cr_assert_str_eq(ctx.creds.akid, "AKIASKIFF");
    cr_assert(strstr(ctx.creds.source, "skiffd's admin credentials"));
    cr_assert_str_eq(ctx.region, "us-east-1");
    cli_ctx_done(&ctx);
}

Test(cli_client, missing_credentials_say_where_we_looked)
{
    struct cli_ctx ctx;
    struct cm_error *err = NULL;
    cr_assert_eq(ctx_for("list-clusters --profile nope", &ctx, &err), -1);
    cr_assert(strstr(err->msg, "no credentials for profile 'nope'"), "%s", err->msg);
    cr_assert(strstr(err->msg, "AWS_SHARED_CREDENTIALS_FILE"), "%s", err->msg);
    cm_error_free(&err);
    cli_ctx_done(&ctx);
    cr_assert_eq(ctx_for("list-clusters --endpoint ftp://x", &ctx, &err), -1);
    cr_assert_str_eq(err->msg, "endpoint 'ftp://x' must start with http:// or https://");
    cm_error_free(&err);
    cli_ctx_done(&ctx);
}

/* A one-shot HTTP server on 127.0.0.1:8179 answering with a canned response. */
struct fake {
    int fd;
    const char *response;
    char request[8192];
};

static void *
serve(void *arg)
{
    struct fake *f = arg;
    int c = accept(f->fd, NULL, NULL);
    if (c < 0)
        return NULL;
    size_t got = 0;
    ssize_t n;
    /* Headers and the small JSON body arrive quickly; stop at the body's end. */
    while (got < sizeof(f->request) - 1 &&
           (n = read(c, f->request + got, sizeof(f->request) - 1 - got)) > 0) {
        got += (size_t)n;
        f->request[got] = '\0';
        if (strstr(f->request, "\r\n\r\n") && f->request[got - 1] == '}')
            break;
    }
    if (write(c, f->response, strlen(f->response)) < 0)
        f->request[0] = '\0';
    close(c);
    return NULL;
}

static int
fake_start(struct fake *f, pthread_t *th)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8179)};
    int one = 1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->fd, 1) < 0)
        return -1;
    return pthread_create(th, NULL, serve, f);
}

Test(cli_client, ecs_error_code_message_and_hint)
{
    static const char body[] = "{\"__type\":\"ClusterNotFoundException\",\"message\":"
                               "\"Cluster not found.\"}";
    cleanup_free char *resp = xasprintf("HTTP/1.1 400 Bad Request\r\nContent-Type: "
                                        "application/x-amz-json-1.1\r\nContent-Length: %zu\r\n"
                                        "Connection: close\r\n\r\n%s",
                                        strlen(body), body);
    struct fake f = {.response = resp};
    pthread_t th;
    struct cli_ctx ctx;
    struct cm_error *err = NULL;
    json_t *out = NULL;
    write_file("credentials", "[default]\naws_access_key_id = AKIAT\naws_secret_access_key = s\n");
    cr_assert_eq(fake_start(&f, &th), 0, "port 8179 busy");
    cr_assert_eq(ctx_for("list-clusters --endpoint http://127.0.0.1:8179", &ctx, &err), 0);
    json_auto_t *in = json_pack("{s:s}", "cluster", "nope");
    cr_assert_eq(cli_ecs_call(&ctx, "ListServices", in, &out, &err), -1);
    pthread_join(th, NULL);
    close(f.fd);
    cr_assert_str_eq(err->msg, "ListServices failed: ClusterNotFoundException (HTTP 400): "
                               "Cluster not found.");
    cr_assert_str_eq(ctx.err_type, "ClusterNotFoundException");
    cr_assert(strstr(cli_error_hint(ctx.err_type), "skiff create-cluster"));
    /* The request was signed for ecs with the target header. */
    cr_assert(
        strstr(f.request, "X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListServices") ||
            strstr(f.request, "x-amz-target: AmazonEC2ContainerServiceV20141113.ListServices"),
        "%s", f.request);
    cr_assert(strstr(f.request, "Credential=AKIAT/"), "%s", f.request);
    cr_assert(strstr(f.request, "/us-east-1/ecs/aws4_request"), "%s", f.request);
    cm_error_free(&err);
    cli_ctx_done(&ctx);
}

Test(cli_client, unreachable_endpoint_explains)
{
    struct cli_ctx ctx;
    struct cm_error *err = NULL;
    json_t *out = NULL;
    write_file("credentials", "[default]\naws_access_key_id = AKIAT\naws_secret_access_key = s\n");
    /* 8178 is in our port range and nothing listens there in unit tests. */
    cr_assert_eq(ctx_for("list-clusters --endpoint http://127.0.0.1:8178", &ctx, &err), 0);
    json_auto_t *in = json_object();
    cr_assert_eq(cli_ecs_call(&ctx, "ListClusters", in, &out, &err), -1);
    cr_assert(strstr(err->msg, "ListClusters: cannot reach 'http://127.0.0.1:8178'"), "%s",
              err->msg);
    cr_assert(strstr(cli_error_hint(ctx.err_type), "is skiffd running"));
    cm_error_free(&err);
    cli_ctx_done(&ctx);
}

Test(cli_client, ini_reader)
{
    write_file("x.ini", "# c\n[a]\nk = 1\n[ b ]\nk=2\n  other = x = y  \n[a]\nz=3\n");
    cleanup_free char *p = xasprintf("%s/x.ini", tmpdir);
    cleanup_free char *k1 = cli_ini_get(p, "a", "k");
    cleanup_free char *k2 = cli_ini_get(p, "b", "k");
    cleanup_free char *o = cli_ini_get(p, "b", "other");
    cleanup_free char *z = cli_ini_get(p, "a", "z");
    cr_assert_str_eq(k1, "1");
    cr_assert_str_eq(k2, "2");
    cr_assert_str_eq(o, "x = y");
    cr_assert_str_eq(z, "3");
    cr_assert_null(cli_ini_get(p, "c", "k"));
    cr_assert_null(cli_ini_get("/nonexistent/x", "a", "k"));
}

Test(cli_client, input_json)
{
    json_t *v = NULL;
    struct cm_error *err = NULL;
    write_file("td.json", "{\"family\": \"web\",\n \"x\": [1,\n}");
    cleanup_free char *arg = xasprintf("file://%s/td.json", tmpdir);
    cr_assert_eq(cli_input_json(arg, &v, &err), -1);
    cr_assert(strstr(err->msg, "td.json:3:"), "%s", err->msg);
    cm_error_free(&err);
    cr_assert_eq(cli_input_json("[1]", &v, &err), -1);
    cr_assert_str_eq(err->msg, "--cli-input-json: expected a JSON object");
    cm_error_free(&err);
    cr_assert_eq(cli_input_json("{\"family\":\"a\"}", &v, &err), 0);
    cr_assert_str_eq(json_string_value(json_object_get(v, "family")), "a");
    json_decref(v);
}

/* The CA file for https: --ca-file/--ca-bundle, SKIFF_CA_FILE, AWS_CA_BUNDLE,
 * the profile's ca_bundle; ignored for http unless given explicitly. */
Test(cli_client, ca_file_like_the_aws_cli)
{
    struct cli_ctx ctx;
    struct cm_error *err = NULL;
    write_file("credentials",
               "[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = s\n");
    write_file("a.pem", "x");
    write_file("b.pem", "x");
    write_file("c.pem", "x");
    cleanup_free char *a = xasprintf("%s/a.pem", tmpdir);
    cleanup_free char *b = xasprintf("%s/b.pem", tmpdir);
    cleanup_free char *c = xasprintf("%s/c.pem", tmpdir);
    cleanup_free char *cfg = xasprintf("[default]\nregion = us-east-1\nca_bundle = %s\n", c);
    write_file("config", cfg);

    /* http: the environment and the profile do not apply. */
    setenv("AWS_CA_BUNDLE", b, 1);
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), 0, "%s", err ? err->msg : "");
    cr_assert_null(ctx.ca_file);
    cli_ctx_done(&ctx);
    unsetenv("AWS_CA_BUNDLE");

    setenv("SKIFF_ENDPOINT", "https://127.0.0.1:8262", 1);
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(ctx.ca_file, c, "the profile's ca_bundle");
    cli_ctx_done(&ctx);
    setenv("AWS_CA_BUNDLE", b, 1);
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(ctx.ca_file, b, "AWS_CA_BUNDLE beats the profile");
    cli_ctx_done(&ctx);
    setenv("SKIFF_CA_FILE", a, 1);
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(ctx.ca_file, a, "SKIFF_CA_FILE beats AWS_CA_BUNDLE");
    cli_ctx_done(&ctx);
    cleanup_free char *line = xasprintf("list-clusters --ca-bundle %s", c);
    cr_assert_eq(ctx_for(line, &ctx, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(ctx.ca_file, c, "the option beats the environment");
    cr_assert_str_eq(ctx.ca_source, "--ca-bundle");
    cli_ctx_done(&ctx);

    /* A missing file is named with where it came from. */
    setenv("SKIFF_CA_FILE", "/nonexistent/ca.pem", 1);
    cr_assert_eq(ctx_for("list-clusters", &ctx, &err), -1);
    cr_assert(strstr(err->msg, "/nonexistent/ca.pem") && strstr(err->msg, "SKIFF_CA_FILE"), "%s",
              err->msg);
    cm_error_free(&err);
    cli_ctx_done(&ctx);

    /* An explicit CA with a plain-HTTP endpoint is a mistake, said so. */
    cleanup_free char *line2 =
        xasprintf("list-clusters --endpoint http://127.0.0.1:1 --ca-file %s", a);
    cr_assert_eq(ctx_for(line2, &ctx, &err), -1);
    cr_assert(strstr(err->msg, "https://"), "%s", err->msg);
    cm_error_free(&err);
    cli_ctx_done(&ctx);
}
