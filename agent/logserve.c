/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's log endpoint that skiffd proxies `skiff logs` to (see
 * include/agent/logserve.h): the query over the shims' log files, and a
 * small HTTP server on its own loop and thread. The thread only reads files
 * below STATE/tasks, so the daemon's single-threaded loop stays as it is. */
#include "agent/logserve.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/logfile.h"
#include "agent/shim.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/http.h"
#include "cm/log.h"
#include "cm/loop.h"
#include "cm/xalloc.h"

#define EXIT_NAME "exit.json"
#define WAIT_TICK_MS 200
#define ID_MAX 128
#define NAME_MAX_LEN 255

/* ---- addresses and the secret ---- */

int
agent_logserve_check_address(const char *what, const char *addr, bool port0_ok,
                             struct cm_error **err)
{
    const char *colon = strrchr(addr, ':');
    char host[INET_ADDRSTRLEN];
    struct in_addr ia;
    char *end;
    unsigned long port;

    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return cm_error_set(err, 0, "%s: '%s' is not IPV4:PORT", what, addr);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (inet_pton(AF_INET, host, &ia) != 1 || errno || *end || end == colon + 1 || port > 65535 ||
        (port == 0 && !port0_ok))
        return cm_error_set(err, 0, "%s: '%s' is not IPV4:PORT", what, addr);
    return 0;
}

int
agent_logserve_secret(const char *state_dir, char **ret, struct cm_error **err)
{
    cleanup_close int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *buf = NULL;
    size_t len = 0;
    unsigned char raw[24];
    char hex[sizeof raw * 2 + 1];

    if (dfd < 0)
        return cm_error_errno(err, "open state '%s'", state_dir);
    if (cm_read_file_at(dfd, AGENT_LOGS_SECRET_FILE, 256, &buf, &len, NULL) == 0 && len >= 32 &&
        strspn(buf, "0123456789abcdef") == len) {
        *ret = TAKE_PTR(buf);
        return 0;
    }
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return cm_error_errno(err, "getrandom");
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    if (cm_write_file_atomic_at(dfd, AGENT_LOGS_SECRET_FILE, hex, strlen(hex), 0600, err) < 0)
        return cm_error_wrap(err, "log secret");
    *ret = xstrdup(hex);
    return 0;
}

/* ---- cursors ---- */

int
agent_logs_token_parse(const char *s, struct timespec *ret, unsigned *ret_skip)
{
    unsigned long long sec, nsec, skip;
    int n = 0;

    if (!s || strlen(s) > 64 || sscanf(s, "%llu.%llu:%llu%n", &sec, &nsec, &skip, &n) != 3 ||
        s[n] != '\0' || s[0] < '0' || s[0] > '9' || nsec >= 1000000000ull ||
        sec > (unsigned long long)INT64_MAX / 2 || skip > 1000000)
        return -1;
    ret->tv_sec = (time_t)sec;
    ret->tv_nsec = (long)nsec;
    *ret_skip = (unsigned)skip;
    return 0;
}

char *
agent_logs_token_format(const struct timespec *t, unsigned skip)
{
    return xasprintf("%lld.%09ld:%u", (long long)t->tv_sec, t->tv_nsec, skip);
}

/* ---- the query ---- */

struct ev {
    size_t c;   /* container index */
    size_t idx; /* position in its file set */
    struct agent_log_record *r;
};

static int
ts_cmp(const struct timespec *a, const struct timespec *b)
{
    if (a->tv_sec != b->tv_sec)
        return a->tv_sec < b->tv_sec ? -1 : 1;
    if (a->tv_nsec != b->tv_nsec)
        return a->tv_nsec < b->tv_nsec ? -1 : 1;
    return 0;
}

static int
ev_cmp(const void *pa, const void *pb)
{
    const struct ev *a = pa, *b = pb;
    int t = ts_cmp(&a->r->time, &b->r->time);
    if (t)
        return t;
    if (a->c != b->c)
        return a->c < b->c ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
plain_name(const char *s, size_t max)
{
    return s && *s && s[0] != '.' && !strchr(s, '/') && strlen(s) <= max;
}

/* The container names of a task directory, sorted (a stable merge order). */
static int
list_containers(const char *cdir, const struct agent_logs_query *q, char ***ret,
                struct cm_error **err)
{
    cleanup_strv char **names = xcalloc(1, sizeof(char *));
    size_t n = 0;
    struct stat st;

    if (q->container) {
        cleanup_free char *p = xasprintf("%s/%s", cdir, q->container);
        if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
            return cm_error_set(err, ENOENT, "task '%s' has no container '%s' on this host",
                                q->task_id, q->container);
        names = xrealloc(names, 2 * sizeof(char *));
        names[0] = xstrdup(q->container);
        names[1] = NULL;
        *ret = TAKE_PTR(names);
        return 0;
    }
    cleanup_dir DIR *d = opendir(cdir);
    struct dirent *de;
    if (!d)
        return cm_error_set(err, ENOENT, "no logs of task '%s' on this host", q->task_id);
    while ((de = readdir(d)) != NULL && n < AGENT_LOGS_MAX_CONTAINERS) {
        if (!plain_name(de->d_name, NAME_MAX_LEN))
            continue;
        names = xrealloc(names, (n + 2) * sizeof(char *));
        names[n++] = xstrdup(de->d_name);
        names[n] = NULL;
    }
    qsort(names, n, sizeof(char *), name_cmp);
    *ret = TAKE_PTR(names);
    return 0;
}

/* One page of the merged events from the query's position. */
static json_t *
page(const struct agent_logs_query *q, char **names, struct ev *evs, size_t total, bool stopped)
{
    size_t limit = q->limit ? q->limit : AGENT_LOGS_DEFAULT_LIMIT;
    size_t max_bytes = q->max_bytes ? q->max_bytes : AGENT_LOGS_MAX_BYTES;
    cleanup_free char *token = NULL;

    if (limit > AGENT_LOGS_MAX_LIMIT)
        limit = AGENT_LOGS_MAX_LIMIT;
    if (total)
        qsort(evs, total, sizeof *evs, ev_cmp);

    /* Where to start: past the records of the cursor's instant already seen,
     * or only the last tail of them. */
    size_t pos = 0;
    if (q->has_after && q->skip)
        while (pos < total && pos < q->skip && ts_cmp(&evs[pos].r->time, &q->after) == 0)
            pos++;
    if (!q->skip && q->tail && total - pos > q->tail)
        pos = total - q->tail;
    json_t *events = json_array();
    size_t bytes = 0, end = pos;
    for (; end < total && end - pos < limit; end++) {
        size_t len = strlen(evs[end].r->log);
        if (end > pos && bytes + len > max_bytes)
            break;
        bytes += len;
        char tbuf[40];
        agent_log_format_time(&evs[end].r->time, tbuf, sizeof tbuf);
        json_array_append_new(
            events, json_pack("{s:s,s:s,s:s,s:s}", "container", names[evs[end].c], "stream",
                              evs[end].r->stream == AGENT_LOG_STDERR ? "stderr" : "stdout", "time",
                              tbuf, "log", evs[end].r->log));
    }
    if (end > pos) {
        /* The cursor: the last event's instant and how many at that instant were given. */
        const struct timespec *last = &evs[end - 1].r->time;
        unsigned same = 0;
        for (size_t k = end; k-- > 0 && ts_cmp(&evs[k].r->time, last) == 0;)
            same++;
        token = agent_logs_token_format(last, same);
    } else if (q->has_after) {
        token = agent_logs_token_format(&q->after, q->skip);
    } else {
        struct timespec zero = {0};
        token = agent_logs_token_format(&zero, 0);
    }
    return json_pack("{s:o,s:s,s:b,s:b}", "events", events, "nextToken", token, "stopped",
                     stopped && end == total, "more", end < total);
}

int
agent_logs_query_run(const char *state_dir, unsigned max_files, const struct agent_logs_query *q,
                     json_t **ret, struct cm_error **err)
{
    cleanup_free char *cdir = NULL;
    cleanup_strv char **names = NULL;
    size_t nc, total = 0, cap = 0;
    struct agent_log_record **recs = NULL;
    size_t *nrec = NULL;
    struct ev *evs = NULL;
    bool stopped = true;
    int r = 0;

    if (!plain_name(q->task_id, ID_MAX) ||
        (q->container && !plain_name(q->container, NAME_MAX_LEN)))
        return cm_error_set(err, 0, "task id and container name must be plain names");
    cdir = xasprintf("%s/tasks/%s/c", state_dir, q->task_id);
    if (list_containers(cdir, q, &names, err) < 0)
        return -1;
    nc = cm_strv_len(names);
    recs = xcalloc(nc + 1, sizeof *recs);
    nrec = xcalloc(nc + 1, sizeof *nrec);
    for (size_t i = 0; i < nc; i++) {
        cleanup_free char *log = xasprintf("%s/%s/%s", cdir, names[i], AGENT_SHIM_LOG_NAME);
        cleanup_free char *ex = xasprintf("%s/%s/%s", cdir, names[i], EXIT_NAME);
        if (access(ex, F_OK) != 0)
            stopped = false;
        r = agent_log_read(log, max_files, q->has_after ? &q->after : NULL, 0, &recs[i], &nrec[i],
                           err);
        if (r < 0)
            break;
        for (size_t k = 0; k < nrec[i]; k++) {
            evs = xreallocarray_grow(evs, &cap, total + 1, sizeof *evs);
            evs[total++] = (struct ev){.c = i, .idx = k, .r = &recs[i][k]};
        }
    }
    if (r == 0)
        *ret = page(q, names, evs, total, stopped);
    for (size_t i = 0; i < nc; i++)
        agent_log_records_free(recs[i], nrec[i]);
    free(recs);
    free(nrec);
    free(evs);
    return r;
}

/* What a waiting read watches: sizes and times of the log files and exit records. */
static uint64_t
signature(const char *state_dir, const struct agent_logs_query *q)
{
    cleanup_free char *cdir = xasprintf("%s/tasks/%s/c", state_dir, q->task_id);
    cleanup_strv char **names = NULL;
    uint64_t h = 1469598103934665603ull;
    struct stat st;

    if (list_containers(cdir, q, &names, NULL) < 0)
        return 0;
    for (char **n = names; *n; n++) {
        const char *files[] = {AGENT_SHIM_LOG_NAME, EXIT_NAME};
        for (size_t i = 0; i < 2; i++) {
            cleanup_free char *p = xasprintf("%s/%s/%s", cdir, *n, files[i]);
            uint64_t v[3] = {0, 0, 0};
            if (stat(p, &st) == 0) {
                v[0] = (uint64_t)st.st_size;
                v[1] = (uint64_t)st.st_mtim.tv_nsec;
                v[2] = (uint64_t)st.st_ino;
            }
            for (size_t k = 0; k < 3; k++)
                h = (h ^ v[k]) * 1099511628211ull;
        }
    }
    return h;
}

/* ---- the server ---- */

struct waiter {
    struct waiter *prev, *next;
    struct agent_logserve *ls;
    struct cm_http_request *req;
    char *task_id, *container;
    struct agent_logs_query q;
    uint64_t deadline_ms, sig;
    bool answered;
};

struct agent_logserve {
    struct cm_loop *loop;
    struct cm_http_server *http;
    struct cm_loop_source *tick, *stop_src;
    int stop_fd;
    pthread_t thread;
    bool running;
    char *state_dir, *secret, *address;
    unsigned max_files;
    struct waiter *waiting;
    size_t n_waiting;
};

static void
respond_json(struct cm_http_request *req, unsigned status, json_t *body)
{
    cleanup_free char *text = json_dumps(body, JSON_COMPACT);
    cm_http_respond(req, status, "application/json", text, strlen(text), NULL);
}

static void
respond_err(struct cm_http_request *req, unsigned status, const char *code, const char *msg)
{
    json_auto_t *b = json_pack("{s:s,s:s}", "error", code, "message", msg);
    respond_json(req, status, b);
}

static void
waiter_free(void *p)
{
    struct waiter *w = p;
    if (w->prev)
        w->prev->next = w->next;
    else if (w->ls->waiting == w)
        w->ls->waiting = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->ls->n_waiting--;
    free(w->task_id);
    free(w->container);
    free(w);
}

static bool
secret_ok(const char *given, const char *secret)
{
    size_t n = strlen(secret);
    unsigned char diff = 0;
    if (!given || strlen(given) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(given[i] ^ secret[i]);
    return diff == 0;
}

/* Parses the request body into q (strings borrowed from body); a message on error. */
static const char *
parse_query(json_t *body, struct agent_logs_query *q, int64_t *ret_wait, char *buf, size_t size)
{
    const char *k;
    json_t *v;
    static const char *const known[] = {"taskId", "container", "since",  "nextToken",
                                        "limit",  "tail",      "waitMs", NULL};

    if (!json_is_object(body))
        return "the body must be a JSON object";
    json_object_foreach (body, k, v) {
        size_t i;
        for (i = 0; known[i] && strcmp(known[i], k); i++)
            ;
        if (!known[i]) {
            snprintf(buf, size, "unknown member '%.64s' in the request", k);
            return buf;
        }
    }
    q->task_id = json_string_value(json_object_get(body, "taskId"));
    if (!plain_name(q->task_id, ID_MAX))
        return "taskId: a task id is required";
    v = json_object_get(body, "container");
    if (v && !json_is_null(v)) {
        q->container = json_string_value(v);
        if (!plain_name(q->container, NAME_MAX_LEN))
            return "container: not a container name";
    }
    v = json_object_get(body, "nextToken");
    if (v && !json_is_null(v)) {
        if (agent_logs_token_parse(json_string_value(v), &q->after, &q->skip) < 0)
            return "nextToken: not a token of this endpoint";
        q->has_after = true;
    } else if ((v = json_object_get(body, "since")) && !json_is_null(v)) {
        if (!json_is_string(v) || agent_log_parse_time(json_string_value(v), &q->after) < 0)
            return "since: not an RFC 3339 UTC time";
        q->has_after = true;
    }
    struct {
        const char *key;
        int64_t max;
        int64_t *out;
    } nums[3];
    int64_t limit = AGENT_LOGS_DEFAULT_LIMIT, tail = 0;
    *ret_wait = 0;
    nums[0] = (typeof(nums[0])){"limit", AGENT_LOGS_MAX_LIMIT, &limit};
    nums[1] = (typeof(nums[0])){"tail", 1000000, &tail};
    nums[2] = (typeof(nums[0])){"waitMs", AGENT_LOGS_MAX_WAIT_MS, ret_wait};
    for (size_t i = 0; i < 3; i++) {
        v = json_object_get(body, nums[i].key);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > nums[i].max)
            return "limit (1-10000), tail and waitMs (0-20000) must be integers in range";
        *nums[i].out = json_integer_value(v);
    }
    if (limit == 0)
        limit = AGENT_LOGS_DEFAULT_LIMIT;
    q->limit = (size_t)limit;
    q->tail = (size_t)tail;
    return NULL;
}

static void
handle(struct cm_http_request *req, void *userdata)
{
    struct agent_logserve *ls = userdata;
    const char *auth = cm_http_request_header(req, "Authorization");
    size_t len = 0;
    const char *body = cm_http_request_body(req, &len);
    struct agent_logs_query q = {0};
    int64_t wait_ms = 0;
    json_error_t jerr;
    json_auto_t *in = NULL, *res = NULL;
    cleanup_error struct cm_error *err = NULL;
    const char *msg;
    char mbuf[128];

    if (strcmp(cm_http_request_path(req), AGENT_LOGS_PATH) != 0) {
        respond_err(req, 404, "NotFound", "unknown path");
        return;
    }
    if (strcmp(cm_http_request_method(req), "POST") != 0) {
        respond_err(req, 405, "MethodNotAllowed", "use POST");
        return;
    }
    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !secret_ok(auth + 7, ls->secret)) {
        respond_err(req, 401, "Unauthorized", "missing or wrong log secret");
        return;
    }
    if (cm_http_request_too_large(req)) {
        respond_err(req, 413, "TooLarge", "request body too large");
        return;
    }
    in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!in) {
        respond_err(req, 400, "BadRequest", jerr.text);
        return;
    }
    if ((msg = parse_query(in, &q, &wait_ms, mbuf, sizeof mbuf)) != NULL) {
        respond_err(req, 400, "BadRequest", msg);
        return;
    }
    if (agent_logs_query_run(ls->state_dir, ls->max_files, &q, &res, &err) < 0) {
        respond_err(req,
                    err->code == ENOENT ? 404
                    : err->code         ? 500
                                        : 400,
                    err->code == ENOENT ? "NotFound" : "Failed", err->msg);
        return;
    }
    if (wait_ms == 0 || json_array_size(json_object_get(res, "events")) > 0 ||
        json_is_true(json_object_get(res, "stopped")) || ls->n_waiting >= AGENT_LOGS_MAX_WAITING) {
        respond_json(req, 200, res);
        return;
    }
    /* Nothing new yet: hold the request until the files change or the wait ends. */
    struct waiter *w = xcalloc(1, sizeof *w);
    w->ls = ls;
    w->req = req;
    w->task_id = xstrdup(q.task_id);
    w->container = q.container ? xstrdup(q.container) : NULL;
    w->q = q;
    w->q.task_id = w->task_id;
    w->q.container = w->container;
    /* Resume after what this answer would have said. */
    agent_logs_token_parse(json_string_value(json_object_get(res, "nextToken")), &w->q.after,
                           &w->q.skip);
    w->q.has_after = true;
    w->deadline_ms = cm_loop_now_ms() + (uint64_t)wait_ms;
    w->sig = signature(ls->state_dir, &w->q);
    w->next = ls->waiting;
    if (w->next)
        w->next->prev = w;
    ls->waiting = w;
    ls->n_waiting++;
    cm_http_request_set_data(req, w, waiter_free);
    cm_http_suspend(req);
}

static void
on_tick(struct cm_loop *loop, struct cm_loop_source *t, void *userdata)
{
    struct agent_logserve *ls = userdata;
    uint64_t now = cm_loop_now_ms();
    (void)loop;
    (void)t;

    for (struct waiter *w = ls->waiting; w; w = w->next) {
        if (w->answered)
            continue;
        uint64_t sig = signature(ls->state_dir, &w->q);
        if (sig == w->sig && now < w->deadline_ms)
            continue;
        w->sig = sig;
        json_auto_t *res = NULL;
        cleanup_error struct cm_error *err = NULL;
        if (agent_logs_query_run(ls->state_dir, ls->max_files, &w->q, &res, &err) < 0) {
            w->answered = true;
            respond_err(w->req, err->code == ENOENT ? 404 : 500,
                        err->code == ENOENT ? "NotFound" : "Failed", err->msg);
            continue;
        }
        if (now < w->deadline_ms && json_array_size(json_object_get(res, "events")) == 0 &&
            !json_is_true(json_object_get(res, "stopped")))
            continue;
        w->answered = true;
        respond_json(w->req, 200, res);
    }
}

static void
on_stop(struct cm_loop *loop, int fd, uint32_t events, void *userdata)
{
    uint64_t v;
    (void)events;
    (void)userdata;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        cm_log_debug("log endpoint: read stop event: %m");
    cm_loop_quit(loop, 0);
}

static void *
thread_main(void *p)
{
    struct agent_logserve *ls = p;
    cm_loop_run(ls->loop);
    return NULL;
}

static void
teardown(struct agent_logserve *ls)
{
    /* The server first: it answers held requests, whose data frees the waiters. */
    cm_http_server_free(ls->http);
    cm_loop_free(ls->loop);
    if (ls->stop_fd >= 0)
        close(ls->stop_fd);
    free(ls->state_dir);
    free(ls->secret);
    free(ls->address);
    free(ls);
}

struct agent_logserve *
agent_logserve_start(const char *listen, const char *state_dir, unsigned max_files,
                     const char *secret, struct cm_error **err)
{
    struct agent_logserve *ls = NULL;
    struct cm_http_config hc = {.listen = listen,
                                .max_body = AGENT_LOGS_MAX_BODY,
                                .conn_timeout_s = AGENT_LOGS_MAX_WAIT_MS / 1000 + 30,
                                .handler = handle};

    if (agent_logserve_check_address("log listen address", listen, true, err) < 0)
        return NULL;
    ls = xcalloc(1, sizeof *ls);
    ls->stop_fd = -1;
    ls->state_dir = xstrdup(state_dir);
    ls->secret = xstrdup(secret);
    ls->max_files = max_files;
    hc.userdata = ls;
    ls->loop = cm_loop_new(err);
    if (!ls->loop)
        goto fail;
    ls->http = cm_http_server_new(ls->loop, &hc, err);
    if (!ls->http) {
        cm_error_wrap(err, "log endpoint");
        goto fail;
    }
    ls->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ls->stop_fd < 0) {
        cm_error_errno(err, "eventfd");
        goto fail;
    }
    ls->stop_src = cm_loop_add_fd(ls->loop, ls->stop_fd, EPOLLIN, on_stop, ls, err);
    ls->tick = ls->stop_src
                   ? cm_loop_add_timer(ls->loop, WAIT_TICK_MS, WAIT_TICK_MS, on_tick, ls, err)
                   : NULL;
    if (!ls->tick)
        goto fail;
    {
        cleanup_free char *host = xstrndup(listen, (size_t)(strrchr(listen, ':') - listen));
        ls->address = xasprintf("%s:%u", host, cm_http_server_port(ls->http));
    }
    if ((errno = pthread_create(&ls->thread, NULL, thread_main, ls)) != 0) {
        cm_error_errno(err, "log endpoint thread");
        goto fail;
    }
    ls->running = true;
    return ls;
fail:
    teardown(ls);
    return NULL;
}

const char *
agent_logserve_address(const struct agent_logserve *ls)
{
    return ls->address;
}

struct agent_logserve *
agent_logserve_stop(struct agent_logserve *ls)
{
    uint64_t one = 1;
    if (!ls)
        return NULL;
    if (ls->running) {
        if (write(ls->stop_fd, &one, sizeof one) < 0)
            cm_log_warn("log endpoint: stop: %m, ignoring");
        pthread_join(ls->thread, NULL);
    }
    teardown(ls);
    return NULL;
}
