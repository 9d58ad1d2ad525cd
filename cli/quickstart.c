/* SPDX-License-Identifier: Apache-2.0 */
/* `skiff quickstart`: a whole cluster on this host in one command. It starts
 * skiffd, a local registry (Debian's docker-registry) and skiff-agent as
 * detached daemons recorded in STATE/run/NAME.pid, builds a busybox httpd image
 * with umoci, pushes it with skopeo, registers the skiff-demo task definition
 * and runs it as a bridge-mode service. Every step first checks whether its
 * result already exists, so running it twice changes nothing; `--down` undoes
 * every step in reverse order. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "ecs.h"

#define DEMO_FAMILY "skiff-demo"
#define DEMO_SERVICE "skiff-demo"
#define DEMO_CLUSTER "default"
#define DEMO_PORT 8080

struct qs {
    struct cli_ctx *ctx;
    const char *state, *logs;
    long long port, reg_port, count, timeout;
    bool no_agent;
    bool port_given;
    const char *runtime;
    const char *bridge, *subnet;
    bool agent_started; /* a pid file for the agent existed (--down) */
    int step, steps;
    char *image; /* 127.0.0.1:RPORT/skiff-demo:latest */
};

static void
step(struct qs *q, const char *what)
{
    printf("[%d/%d] %s ... ", ++q->step, q->steps, what);
    fflush(stdout);
}

static void
done(const char *how)
{
    printf("%s\n", how);
    fflush(stdout);
}

/* A binary next to this skiff (a build tree or /usr/local/bin), else PATH. */
static char *
sibling(const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        cleanup_free char *p = xasprintf("%s/%s", dirname(self), name);
        if (access(p, X_OK) == 0)
            return TAKE_PTR(p);
    }
    const char *path = getenv("PATH");
    cleanup_free char *copy = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        cleanup_free char *p = xasprintf("%s/%s", d, name);
        if (access(p, X_OK) == 0)
            return TAKE_PTR(p);
    }
    return NULL;
}

/* Runs argv to completion with output into LOG (appended); returns its exit status. */
static int
run(const char *log, char *const *argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The process of a pid file if it is still alive and still runs `comm`
 * (guards against a recycled pid); 0 otherwise. */
static pid_t
pid_alive(struct qs *q, const char *name, const char *exe_name)
{
    cleanup_free char *pf = xasprintf("%s/run/%s.pid", q->state, name);
    cleanup_free char *buf = NULL, *cmd = NULL;
    size_t len = 0;
    if (cm_read_file_at(AT_FDCWD, pf, 64, &buf, &len, NULL) < 0)
        return 0;
    long pid = strtol(buf, NULL, 10);
    if (pid <= 1)
        return 0;
    cleanup_free char *cl = xasprintf("/proc/%ld/cmdline", pid);
    if (cm_read_file_at(AT_FDCWD, cl, 65536, &cmd, &len, NULL) < 0 || !strstr(cmd, exe_name))
        return 0;
    return (pid_t)pid;
}

/* Starts argv detached (own session, stdin /dev/null, output to LOG) and
 * records its pid in STATE/run/NAME.pid. */
static int
spawn(struct qs *q, const char *name, char *const *argv, struct cm_error **err)
{
    cleanup_free char *log = xasprintf("%s/%s.log", q->logs, name);
    cleanup_free char *pf = xasprintf("%s/run/%s.pid", q->state, name);
    pid_t pid = fork();
    if (pid < 0)
        return cm_error_errno(err, "fork");
    if (pid == 0) {
        setsid();
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (in >= 0)
            dup2(in, STDIN_FILENO);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execv(argv[0], argv);
        fprintf(stderr, "cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    cleanup_free char *text = xasprintf("%d\n", (int)pid);
    return cm_write_file_atomic_at(AT_FDCWD, pf, text, strlen(text), 0644, err);
}

static size_t
discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

/* HTTP status of a GET (0 if nothing answers). */
static long
http_get(const char *url)
{
    CURL *c = curl_easy_init();
    long status = 0;
    if (!c)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    struct curl_slist *h =
        curl_slist_append(NULL, "Accept: application/vnd.oci.image.manifest.v1+json, "
                                "application/vnd.docker.distribution.manifest.v2+json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* Polls until fn(q) returns >0 or `secs` pass; fn < 0 stops early. */
static int
wait_until(struct qs *q, int secs, int (*fn)(struct qs *q))
{
    for (int i = 0; i < secs * 5; i++) {
        int r = fn(q);
        if (r)
            return r;
        usleep(200000);
    }
    return 0;
}

static int
skiffd_up(struct qs *q)
{
    cleanup_free char *cred = xasprintf("%s/skiffd/credentials", q->state);
    cleanup_free char *url = xasprintf("http://127.0.0.1:%lld/", q->port);
    if (access(cred, R_OK) < 0)
        return 0;
    return http_get(url) > 0 ? 1 : 0;
}

static int
registry_up(struct qs *q)
{
    cleanup_free char *url = xasprintf("http://127.0.0.1:%lld/v2/", q->reg_port);
    return http_get(url) == 200 ? 1 : 0;
}

static int
fail_step(struct qs *q, const char *what, const char *log_name, const char *hint)
{
    done("failed");
    fprintf(stderr, "skiff quickstart: %s\n", what);
    if (log_name)
        fprintf(stderr, "  log: %s/%s.log\n", q->logs, log_name);
    if (hint)
        fprintf(stderr, "  hint: %s\n", hint);
    return 1;
}

static int
start_skiffd(struct qs *q)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *bin = sibling("skiffd");
    cleanup_free char *listen = xasprintf("127.0.0.1:%lld", q->port);
    cleanup_free char *sdir = xasprintf("%s/skiffd", q->state);

    step(q, "skiffd (control plane, embedded store)");
    if (pid_alive(q, "skiffd", "skiffd") && skiffd_up(q)) {
        done("already running");
        return 0;
    }
    if (!bin)
        return fail_step(q, "skiffd not found next to skiff or in PATH", NULL,
                         "build it with 'make' or install the skiff binaries");
    char *argv[] = {bin, "--listen", listen, "--state", sdir, NULL};
    if (spawn(q, "skiffd", argv, &err) < 0)
        return fail_step(q, err->msg, NULL, NULL);
    if (!wait_until(q, 15, skiffd_up))
        return fail_step(q, "skiffd did not answer within 15s", "skiffd",
                         "is the port taken? pick another with --port");
    /* --down finds the port here. */
    cleanup_free char *pf = xasprintf("%s/run/skiffd.port", q->state);
    cleanup_free char *ps = xasprintf("%lld\n", q->port);
    if (cm_write_file_atomic_at(AT_FDCWD, pf, ps, strlen(ps), 0644, &err) < 0)
        return fail_step(q, err->msg, NULL, NULL);
    done("started");
    return 0;
}

static int
start_registry(struct qs *q)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *bin = sibling("docker-registry");
    cleanup_free char *dir = xasprintf("%s/registry", q->state);
    cleanup_free char *cfg = xasprintf("%s/config.yml", dir);
    cleanup_free char *text =
        xasprintf("version: 0.1\nlog: {level: warn, accesslog: {disabled: true}}\n"
                  "storage: {filesystem: {rootdirectory: %s/data}, delete: {enabled: true}}\n"
                  "http:\n  addr: 127.0.0.1:%lld\n  secret: skiff-quickstart\n",
                  dir, q->reg_port);

    step(q, "local registry (docker-registry on 127.0.0.1)");
    if (pid_alive(q, "registry", "docker-registry") && registry_up(q)) {
        done("already running");
        return 0;
    }
    if (!bin)
        return fail_step(q, "docker-registry not found", NULL,
                         "apt-get install docker-registry (scripts/install-deps does)");
    if (registry_up(q))
        return fail_step(q, "another registry already answers on that port", NULL,
                         "stop it or pick another port with --registry-port");
    if (cm_mkdir_p(dir, 0755, &err) < 0 ||
        cm_write_file_atomic_at(AT_FDCWD, cfg, text, strlen(text), 0644, &err) < 0)
        return fail_step(q, err->msg, NULL, NULL);
    char *argv[] = {bin, "serve", cfg, NULL};
    if (spawn(q, "registry", argv, &err) < 0)
        return fail_step(q, err->msg, NULL, NULL);
    if (!wait_until(q, 15, registry_up))
        return fail_step(q, "the registry did not answer within 15s", "registry",
                         "is the port taken? pick another with --registry-port");
    done("started");
    return 0;
}

/* The demo image: busybox (static) running its httpd on DEMO_PORT. */
static int
build_image(struct qs *q)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *dir = xasprintf("%s/demo", q->state);
    cleanup_free char *layout = xasprintf("%s/oci", dir);
    cleanup_free char *img = xasprintf("%s:demo", layout);
    cleanup_free char *bundle = xasprintf("%s/bundle", dir);
    cleanup_free char *log = xasprintf("%s/quickstart.log", q->logs);
    cleanup_free char *url =
        xasprintf("http://127.0.0.1:%lld/v2/skiff-demo/manifests/latest", q->reg_port);
    cleanup_free char *src = xasprintf("oci:%s:demo", layout);
    cleanup_free char *dst = xasprintf("docker://%s", q->image);
    static const char *const busybox_paths[] = {"/bin/busybox", "/usr/bin/busybox", NULL};
    const char *busybox = NULL;

    step(q, "demo image (busybox httpd) built and pushed");
    if (http_get(url) == 200) {
        done("already in the registry");
        return 0;
    }
    for (int i = 0; busybox_paths[i]; i++)
        if (access(busybox_paths[i], X_OK) == 0)
            busybox = busybox_paths[i];
    cleanup_free char *umoci = sibling("umoci");
    cleanup_free char *skopeo = sibling("skopeo");
    if (!busybox || !umoci || !skopeo)
        return fail_step(q, "building the image needs busybox-static, umoci and skopeo", NULL,
                         "apt-get install busybox-static umoci skopeo");
    if (cm_rm_rf(dir, &err) < 0 || cm_mkdir_p(dir, 0755, &err) < 0)
        return fail_step(q, err->msg, NULL, NULL);
    char *init[] = {umoci, "init", "--layout", layout, NULL};
    char *new[] = {umoci, "new", "--image", img, NULL};
    char *unpack[] = {umoci, "unpack", "--image", img, bundle, NULL};
    char *repack[] = {umoci, "repack", "--image", img, bundle, NULL};
    char port_s[16];
    snprintf(port_s, sizeof(port_s), "%d", DEMO_PORT);
    cleanup_free char *expose = xasprintf("%d/tcp", DEMO_PORT);
    char *config[] = {umoci,
                      "config",
                      "--image",
                      img,
                      "--config.entrypoint",
                      "/bin/busybox",
                      "--config.cmd",
                      "httpd",
                      "--config.cmd",
                      "-f",
                      "--config.cmd",
                      "-v",
                      "--config.cmd",
                      "-p",
                      "--config.cmd",
                      port_s,
                      "--config.cmd",
                      "-h",
                      "--config.cmd",
                      "/www",
                      "--config.exposedports",
                      expose,
                      "--config.workingdir",
                      "/www",
                      NULL};
    char *push[] = {skopeo, "copy", "-q", "--dest-tls-verify=false", src, dst, NULL};
    if (run(log, init) || run(log, new) || run(log, unpack))
        return fail_step(q, "umoci could not create the image", "quickstart", NULL);
    /* The rootfs: busybox, the few links httpd's CGI needs, a page and a CGI
     * that names the container, so the curl line shows which task answered. */
    cleanup_free char *root = xasprintf("%s/rootfs", bundle);
    static const char *const dirs[] = {"bin", "www", "www/cgi-bin", "tmp", "etc", NULL};
    for (int i = 0; dirs[i]; i++) {
        cleanup_free char *d = xasprintf("%s/%s", root, dirs[i]);
        if (cm_mkdir_p(d, 0755, &err) < 0)
            return fail_step(q, err->msg, NULL, NULL);
    }
    cleanup_free char *bb = xasprintf("%s/bin/busybox", root);
    char *cp[] = {"cp", (char *)busybox, bb, NULL};
    if (run(log, cp))
        return fail_step(q, "copying busybox failed", "quickstart", NULL);
    static const char *const links[] = {"sh", "hostname", "cat", "echo", NULL};
    for (int i = 0; links[i]; i++) {
        cleanup_free char *l = xasprintf("%s/bin/%s", root, links[i]);
        if (symlink("busybox", l) < 0 && errno != EEXIST)
            return fail_step(q, "symlink in the demo rootfs failed", NULL, NULL);
    }
    static const char page[] = "<h1>Hello from skiff</h1>\n"
                               "<p>Served by busybox httpd in a skiff task. "
                               "<a href=\"/cgi-bin/whoami\">Which task?</a></p>\n";
    static const char cgi[] = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\n"
                              "echo \"hello from skiff task $(hostname)\"\n";
    cleanup_free char *pp = xasprintf("%s/www/index.html", root);
    cleanup_free char *cg = xasprintf("%s/www/cgi-bin/whoami", root);
    if (cm_write_file_atomic_at(AT_FDCWD, pp, page, strlen(page), 0644, &err) < 0 ||
        cm_write_file_atomic_at(AT_FDCWD, cg, cgi, strlen(cgi), 0755, &err) < 0)
        return fail_step(q, err->msg, NULL, NULL);
    if (run(log, repack) || run(log, config))
        return fail_step(q, "umoci could not pack the image", "quickstart", NULL);
    if (run(log, push))
        return fail_step(q, "skopeo could not push the image", "quickstart", NULL);
    done("pushed");
    return 0;
}

static int
agent_up(struct qs *q)
{
    json_auto_t *in = json_pack("{s:s}", "cluster", DEMO_CLUSTER), *out = NULL;
    struct cm_error *err = NULL;
    if (cli_ecs_call(q->ctx, "ListContainerInstances", in, &out, &err) < 0) {
        cm_error_free(&err);
        return 0;
    }
    return json_array_size(json_object_get(out, "containerInstanceArns")) > 0;
}

static int
start_agent(struct qs *q)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *bin = sibling("skiff-agent");
    cleanup_free char *ep = xasprintf("http://127.0.0.1:%lld", q->port);
    cleanup_free char *tok = xasprintf("%s/skiffd/join-token", q->state);
    cleanup_free char *sdir = xasprintf("%s/agent", q->state);
    cleanup_free char *reg = xasprintf("127.0.0.1:%lld", q->reg_port);

    step(q, "skiff-agent on this host");
    if (q->no_agent) {
        done("skipped (--no-agent)");
        return 0;
    }
    if (pid_alive(q, "agent", "skiff-agent") && agent_up(q)) {
        done("already running");
        return 0;
    }
    if (!bin)
        return fail_step(q, "skiff-agent not found next to skiff or in PATH", NULL,
                         "build it with 'make', or run with --no-agent for the control plane only");
    char *argv[20] = {bin,
                      "--cluster",
                      DEMO_CLUSTER,
                      "--endpoint",
                      ep,
                      "--join-token-file",
                      tok,
                      "--state",
                      sdir,
                      "--insecure-registry",
                      reg,
                      "--bridge",
                      (char *)q->bridge,
                      NULL};
    int n = 13;
    if (q->subnet) {
        argv[n++] = "--subnet";
        argv[n++] = (char *)q->subnet;
    }
    if (q->runtime) {
        argv[n++] = "--runtime";
        argv[n++] = (char *)q->runtime;
    }
    argv[n] = NULL;
    /* --down removes this bridge. */
    cleanup_free char *bf = xasprintf("%s/run/bridge", q->state);
    if (cm_write_file_atomic_at(AT_FDCWD, bf, q->bridge, strlen(q->bridge), 0644, &err) < 0)
        return fail_step(q, err->msg, NULL, NULL);
    if (cm_mkdir_p(sdir, 0700, &err) < 0 || spawn(q, "agent", argv, &err) < 0)
        return fail_step(q, err->msg, NULL, NULL);
    if (!wait_until(q, 30, agent_up))
        return fail_step(q, "the agent did not register within 30s", "agent", NULL);
    done("registered");
    return 0;
}

/* Credentials of our skiffd, whatever the environment says: quickstart
 * talks to the cluster it just made. */
static int
use_local_creds(struct qs *q)
{
    cleanup_free char *cred = xasprintf("%s/skiffd/credentials", q->state);
    struct cli_creds *c = &q->ctx->creds;
    free(c->akid);
    free(c->secret);
    free(c->token);
    c->token = NULL;
    c->akid = cli_ini_get(cred, "default", "aws_access_key_id");
    c->secret = cli_ini_get(cred, "default", "aws_secret_access_key");
    free(q->ctx->endpoint);
    q->ctx->endpoint = xasprintf("http://127.0.0.1:%lld", q->port);
    free(q->ctx->region);
    q->ctx->region = cli_ini_get(cred, "default", "region");
    if (!q->ctx->region)
        q->ctx->region = xstrdup("us-east-1");
    return c->akid && c->secret ? 0 : -1;
}

static int
ecs_step(struct qs *q, const char *op, json_t *in, json_t **out)
{
    cleanup_error struct cm_error *err = NULL;
    if (cli_ecs_call(q->ctx, op, in, out, &err) == 0)
        return 0;
    done("failed");
    fprintf(stderr, "skiff quickstart: %s\n", err->msg);
    const char *hint = cli_error_hint(q->ctx->err_type);
    if (hint)
        fprintf(stderr, "  hint: %s\n", hint);
    return -1;
}

static int
register_demo(struct qs *q)
{
    json_auto_t *out = NULL, *d = NULL;
    json_auto_t *cl = json_pack("{s:s}", "clusterName", DEMO_CLUSTER);

    step(q, "cluster 'default' and task definition '" DEMO_FAMILY "'");
    if (ecs_step(q, "CreateCluster", cl, &out) < 0)
        return 1;
    json_auto_t *din = json_pack("{s:s}", "taskDefinition", DEMO_FAMILY);
    struct cm_error *err = NULL;
    if (cli_ecs_call(q->ctx, "DescribeTaskDefinition", din, &d, &err) == 0) {
        json_t *c0 = json_array_get(
            json_object_get(json_object_get(d, "taskDefinition"), "containerDefinitions"), 0);
        if (!strcmp(json_string_value(json_object_get(c0, "image")) ?: "", q->image) &&
            json_integer_value(json_object_get(c0, "stopTimeout")) == 2) {
            done("already registered");
            return 0;
        }
    }
    cm_error_free(&err);
    /* busybox httpd as PID 1 ignores SIGTERM: a short stopTimeout keeps
     * deployments and --down from waiting the default 30s for SIGKILL. */
    json_auto_t *td =
        json_pack("{s:s, s:s, s:[{s:s, s:s, s:b, s:i, s:i, s:[{s:i, s:i, s:s}]}]}", "family",
                  DEMO_FAMILY, "networkMode", "bridge", "containerDefinitions", "name", "web",
                  "image", q->image, "essential", 1, "memory", 32, "stopTimeout", 2, "portMappings",
                  "containerPort", DEMO_PORT, "hostPort", 0, "protocol", "tcp");
    json_auto_t *r = NULL;
    if (ecs_step(q, "RegisterTaskDefinition", td, &r) < 0)
        return 1;
    done("registered");
    return 0;
}

static int
create_demo_service(struct qs *q)
{
    json_auto_t *din = json_pack("{s:s, s:[s]}", "cluster", DEMO_CLUSTER, "services", DEMO_SERVICE);
    json_auto_t *d = NULL, *out = NULL;
    char what[96];

    snprintf(what, sizeof(what), "service '%s' with %lld tasks (bridge mode)", DEMO_SERVICE,
             q->count);
    step(q, what);
    if (ecs_step(q, "DescribeServices", din, &d) < 0)
        return 1;
    json_t *s = json_array_get(json_object_get(d, "services"), 0);
    if (s && !strcmp(json_string_value(json_object_get(s, "status")) ?: "", "ACTIVE")) {
        if (json_integer_value(json_object_get(s, "desiredCount")) == q->count) {
            done("already exists");
            return 0;
        }
        json_auto_t *up = json_pack("{s:s, s:s, s:I}", "cluster", DEMO_CLUSTER, "service",
                                    DEMO_SERVICE, "desiredCount", (json_int_t)q->count);
        if (ecs_step(q, "UpdateService", up, &out) < 0)
            return 1;
        done("scaled");
        return 0;
    }
    json_auto_t *in = json_pack("{s:s, s:s, s:s, s:I, s:s}", "cluster", DEMO_CLUSTER, "serviceName",
                                DEMO_SERVICE, "taskDefinition", DEMO_FAMILY, "desiredCount",
                                (json_int_t)q->count, "launchType", "EC2");
    if (ecs_step(q, "CreateService", in, &out) < 0)
        return 1;
    done("created");
    return 0;
}

static int
service_stable(struct qs *q)
{
    json_auto_t *din = json_pack("{s:s, s:[s]}", "cluster", DEMO_CLUSTER, "services", DEMO_SERVICE);
    json_auto_t *d = NULL;
    struct cm_error *err = NULL;
    if (cli_ecs_call(q->ctx, "DescribeServices", din, &d, &err) < 0) {
        cm_error_free(&err);
        return 0;
    }
    json_t *s = json_array_get(json_object_get(d, "services"), 0);
    return json_array_size(json_object_get(s, "deployments")) == 1 &&
           json_integer_value(json_object_get(s, "runningCount")) == q->count;
}

static int
print_endpoints(struct qs *q)
{
    json_auto_t *lin =
        json_pack("{s:s, s:s}", "cluster", DEMO_CLUSTER, "serviceName", DEMO_SERVICE);
    json_auto_t *arns = NULL, *d = NULL;
    cleanup_error struct cm_error *err = NULL;
    int n = 0;

    if (cli_ecs_list_all(q->ctx, "ListTasks", lin, "taskArns", &arns, &err) < 0) {
        fprintf(stderr, "skiff quickstart: %s\n", err->msg);
        return 1;
    }
    json_auto_t *din = json_pack("{s:s, s:O}", "cluster", DEMO_CLUSTER, "tasks", arns);
    if (json_array_size(arns) && cli_ecs_call(q->ctx, "DescribeTasks", din, &d, &err) < 0) {
        fprintf(stderr, "skiff quickstart: %s\n", err->msg);
        return 1;
    }
    printf("\nThe demo service answers on:\n");
    size_t i, j, k;
    json_t *t, *c, *b;
    long long first = 0;
    json_array_foreach (json_object_get(d, "tasks"), i, t)
        json_array_foreach (json_object_get(t, "containers"), j, c)
            json_array_foreach (json_object_get(c, "networkBindings"), k, b) {
                long long hp = json_integer_value(json_object_get(b, "hostPort"));
                printf("  http://127.0.0.1:%lld/   (task %s)\n", hp,
                       cli_arn_tail(json_string_value(json_object_get(t, "taskArn"))));
                if (!first)
                    first = hp;
                n++;
            }
    if (!n) {
        printf("  (no port bindings reported yet: 'skiff describe-tasks' shows them)\n");
        return 0;
    }
    printf("\nTry:\n  curl http://127.0.0.1:%lld/cgi-bin/whoami\n", first);
    return 0;
}

static void
print_next(struct qs *q)
{
    printf("\nNext:\n"
           "  export SKIFF_ENDPOINT=http://127.0.0.1:%lld\n"
           "  skiff describe-services --services " DEMO_SERVICE "\n"
           "  skiff update-service --service " DEMO_SERVICE " --desired-count 5\n"
           "  aws ecs list-tasks --endpoint-url http://127.0.0.1:%lld   "
           "(with AWS_SHARED_CREDENTIALS_FILE=%s/skiffd/credentials)\n"
           "  skiff quickstart --down   (removes all of it)\n",
           q->port, q->port, q->state);
}

/* Stops a recorded daemon: SIGTERM, up to 15s, then SIGKILL. */
static void
stop_daemon(struct qs *q, const char *name, const char *exe)
{
    cleanup_free char *pf = xasprintf("%s/run/%s.pid", q->state, name);
    char what[64];
    snprintf(what, sizeof(what), "stop %s", name);
    step(q, what);
    pid_t pid = pid_alive(q, name, exe);
    if (!pid) {
        unlink(pf);
        done("not running");
        return;
    }
    kill(pid, SIGTERM);
    for (int i = 0; i < 150 && kill(pid, 0) == 0; i++) {
        /* Our own child when started by this very process (tests). */
        waitpid(pid, NULL, WNOHANG);
        usleep(100000);
    }
    if (kill(pid, 0) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, WNOHANG);
    }
    unlink(pf);
    done("stopped");
}

/* What the agent leaves on the host with its defaults once its tasks are
 * gone: the skiff0 bridge and the netns directory. (It removes the task
 * cgroups itself; the /skiff cgroup root is shared with other users of the
 * runtime, so it stays.) */
static void
host_cleanup(struct qs *q)
{
    cleanup_free char *bf = xasprintf("%s/run/bridge", q->state);
    cleanup_free char *br = NULL;
    size_t len = 0;
    rmdir("/run/skiff/netns");
    rmdir("/run/skiff");
    if (cm_read_file_at(AT_FDCWD, bf, 64, &br, &len, NULL) < 0 || !*br ||
        strspn(br, "abcdefghijklmnopqrstuvwxyz0123456789-_") != len)
        return;
    cleanup_free char *sys = xasprintf("/sys/class/net/%s", br);
    if (access(sys, F_OK) == 0) {
        char *ip[] = {"ip", "link", "del", br, NULL};
        run("/dev/null", ip);
    }
}

static int
quickstart_down(struct qs *q)
{
    cleanup_error struct cm_error *err = NULL;
    q->steps = 5;
    cleanup_free char *pf = xasprintf("%s/run/skiffd.port", q->state);
    cleanup_free char *ps = NULL;
    size_t len = 0;
    if (!q->port_given && cm_read_file_at(AT_FDCWD, pf, 64, &ps, &len, NULL) == 0)
        q->port = strtoll(ps, NULL, 10);
    step(q, "delete service '" DEMO_SERVICE "'");
    if (pid_alive(q, "skiffd", "skiffd") && use_local_creds(q) == 0) {
        json_auto_t *in = json_pack("{s:s, s:s, s:b}", "cluster", DEMO_CLUSTER, "service",
                                    DEMO_SERVICE, "force", 1);
        json_auto_t *out = NULL;
        if (cli_ecs_call(q->ctx, "DeleteService", in, &out, &err) < 0) {
            bool missing =
                q->ctx->err_type && (!strcmp(q->ctx->err_type, "ServiceNotFoundException") ||
                                     !strcmp(q->ctx->err_type, "ClusterNotFoundException") ||
                                     !strcmp(q->ctx->err_type, "ServiceNotActiveException"));
            done(missing ? "none" : "failed, continuing");
            if (!missing)
                fprintf(stderr, "  %s\n", err->msg);
            cm_error_free(&err);
        } else {
            /* Give the agent time to stop the tasks and remove their containers. */
            json_auto_t *din = json_pack("{s:[s]}", "clusters", DEMO_CLUSTER);
            for (int i = 0; i < 60; i++) {
                json_auto_t *cl = NULL;
                if (cli_ecs_call(q->ctx, "DescribeClusters", din, &cl, &err) < 0) {
                    cm_error_free(&err);
                    break;
                }
                json_t *c0 = json_array_get(json_object_get(cl, "clusters"), 0);
                if (!json_integer_value(json_object_get(c0, "runningTasksCount")) &&
                    !json_integer_value(json_object_get(c0, "pendingTasksCount")))
                    break;
                sleep(1);
            }
            done("deleted");
        }
    } else {
        done("skiffd not running");
    }
    cleanup_free char *agent_pf = xasprintf("%s/run/agent.pid", q->state);
    q->agent_started = access(agent_pf, F_OK) == 0;
    stop_daemon(q, "agent", "skiff-agent");
    if (q->agent_started)
        host_cleanup(q);
    stop_daemon(q, "skiffd", "skiffd");
    stop_daemon(q, "registry", "docker-registry");
    step(q, "remove state and logs");
    static const char *const sub[] = {"skiffd", "agent", "registry", "demo", "run", NULL};
    for (int i = 0; sub[i]; i++) {
        cleanup_free char *p = xasprintf("%s/%s", q->state, sub[i]);
        if (cm_rm_rf(p, &err) < 0) {
            done("failed");
            fprintf(stderr, "skiff quickstart --down: %s\n", err->msg);
            return 1;
        }
    }
    static const char *const logs[] = {"skiffd", "agent", "registry", "quickstart", NULL};
    for (int i = 0; logs[i]; i++) {
        cleanup_free char *p = xasprintf("%s/%s.log", q->logs, logs[i]);
        unlink(p);
    }
    /* Only if empty: the directories may hold things that are not ours. */
    rmdir(q->state);
    rmdir(q->logs);
    done("removed");
    return 0;
}

int
cli_cmd_quickstart(struct cli_ctx *ctx, const struct cli_args *a)
{
    cleanup_error struct cm_error *err = NULL;
    struct qs q = {.ctx = ctx, .port = 8100, .reg_port = 5000, .count = 3, .timeout = 300};
    const char *s;

    q.state = (s = cli_arg(a, "state-dir")) ? s : CLI_DEFAULT_STATE;
    q.logs = (s = cli_arg(a, "log-dir")) ? s : "/var/log/skiff";
    q.no_agent = cli_flag(a, "no-agent");
    q.port_given = cli_arg(a, "port") != NULL;
    q.runtime = cli_arg(a, "agent-runtime");
    q.bridge = (s = cli_arg(a, "bridge")) ? s : "skiff0";
    q.subnet = cli_arg(a, "subnet");
    if (strlen(q.bridge) >= 16 ||
        strspn(q.bridge, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(q.bridge)) {
        fprintf(stderr, "skiff quickstart: --bridge '%s': at most 15 of [a-z0-9-_]\n", q.bridge);
        return 2;
    }
    if (cli_arg_int(a, "port", 1, 65535, &q.port, &err) < 0 ||
        cli_arg_int(a, "registry-port", 1, 65535, &q.reg_port, &err) < 0 ||
        cli_arg_int(a, "count", 1, 100, &q.count, &err) < 0 ||
        cli_arg_int(a, "timeout", 1, 86400, &q.timeout, &err) < 0)
        return cli_fail(NULL, a, &err);
    if (q.state[0] != '/' || q.logs[0] != '/') {
        fprintf(stderr, "skiff quickstart: --state-dir and --log-dir must be absolute paths\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (cli_flag(a, "down"))
        return quickstart_down(&q);
    if (geteuid() != 0)
        fprintf(stderr, "skiff quickstart: warning: not root; the agent needs root for "
                        "namespaces, cgroups and the bridge\n");
    cleanup_free char *run_dir = xasprintf("%s/run", q.state);
    if (cm_mkdir_p(run_dir, 0755, &err) < 0 || cm_mkdir_p(q.logs, 0755, &err) < 0)
        return cli_fail(NULL, a, &err);
    q.image = xasprintf("127.0.0.1:%lld/skiff-demo:latest", q.reg_port);
    q.steps = 7;
    int r = start_skiffd(&q);
    if (!r && use_local_creds(&q) < 0)
        r = fail_step(&q, "skiffd's credentials file has no admin key", "skiffd", NULL);
    if (!r)
        r = start_registry(&q);
    if (!r)
        r = build_image(&q);
    if (!r)
        r = register_demo(&q);
    if (!r)
        r = start_agent(&q);
    if (!r)
        r = create_demo_service(&q);
    if (r) {
        free(q.image);
        fprintf(stderr,
                "  'skiff quickstart' again resumes; 'skiff quickstart --down' undoes it\n");
        return r;
    }
    step(&q, "waiting for the service to reach a steady state");
    if (q.no_agent) {
        done("skipped (no agent: the tasks stay PENDING)");
        print_next(&q);
        free(q.image);
        return 0;
    }
    if (!wait_until(&q, (int)q.timeout, service_stable)) {
        done("timed out");
        fprintf(stderr,
                "skiff quickstart: the service did not reach %lld running tasks in %llds\n"
                "  hint: 'skiff describe-services --services " DEMO_SERVICE
                "' shows the events; logs in %s\n",
                q.count, q.timeout, q.logs);
        free(q.image);
        return 1;
    }
    done("steady");
    r = print_endpoints(&q);
    print_next(&q);
    free(q.image);
    return r;
}
