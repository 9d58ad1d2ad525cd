/* SPDX-License-Identifier: Apache-2.0 */
/* The state directory: one directory per container holding state.json (written
 * atomically) and, between create and start, the exec fifo. */
#include "rt/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/xalloc.h"
#include "rt/cgroup.h"
#include "internal.h"

int
rt_id_validate(const char *id, struct cm_error **err)
{
    size_t n;

    if (!id || !*id)
        return cm_error_set(err, 0, "container id must not be empty");
    n = strlen(id);
    if (n > RT_ID_MAX)
        return cm_error_set(err, 0, "container id is longer than %d bytes", RT_ID_MAX);
    if (!strcmp(id, ".") || !strcmp(id, ".."))
        return cm_error_set(err, 0, "invalid container id '%s'", id);
    for (const char *p = id; *p; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '+' || c == '-' || c == '.')
            continue;
        return cm_error_set(err, 0, "invalid container id '%.64s': only [A-Za-z0-9_+.-] allowed",
                            id);
    }
    return 0;
}

const char *
rt_status_name(enum rt_status s)
{
    switch (s) {
    case RT_STATUS_CREATING:
        return "creating";
    case RT_STATUS_CREATED:
        return "created";
    case RT_STATUS_RUNNING:
        return "running";
    case RT_STATUS_PAUSED:
        return "paused";
    case RT_STATUS_STOPPED:
        return "stopped";
    }
    return "unknown";
}

int
rt_proc_stat_parse(const char *buf, uint64_t *ret_start_time, char *ret_state,
                   struct cm_error **err)
{
    /* The command name may contain spaces and ')': fields start after the last ')'. */
    const char *p = strrchr(buf, ')');
    unsigned long long st = 0;
    char state = 0;
    int field = 2;

    if (!p || p[1] != ' ')
        return cm_error_set(err, EINVAL, "malformed /proc stat line");
    p += 2;
    state = *p;
    /* p is at field 3; start time is field 22. */
    for (field = 3; field < 22 && *p; p++)
        if (*p == ' ')
            field++;
    if (field != 22 || sscanf(p, "%llu", &st) != 1)
        return cm_error_set(err, EINVAL, "malformed /proc stat line");
    *ret_start_time = st;
    if (ret_state)
        *ret_state = state;
    return 0;
}

int
rt_proc_stat(pid_t pid, uint64_t *ret_start_time, bool *ret_alive, struct cm_error **err)
{
    char path[64], buf[1024];
    cleanup_close int fd = -1;
    ssize_t n;
    char state = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cm_error_set(err, ESRCH, "no process %d", (int)pid);
    n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return cm_error_set(err, ESRCH, "no process %d", (int)pid);
    buf[n] = 0;
    if (rt_proc_stat_parse(buf, ret_start_time, &state, err) < 0)
        return -1;
    if (ret_alive)
        *ret_alive = state != 'Z' && state != 'X' && state != 'x';
    return 0;
}

char *
rt_state_dir(const char *root, const char *id, struct cm_error **err)
{
    if (rt_id_validate(id, err) < 0)
        return NULL;
    return xasprintf("%s/%s", root, id);
}

char *
rt_timestamp_now(void)
{
    struct timespec ts;
    int64_t days, secs, y, m, d, era, doe, yoe, doy, mp;

    /* UTC by hand: gmtime_r would read /etc/localtime on every run. */
    clock_gettime(CLOCK_REALTIME, &ts);
    days = ts.tv_sec / 86400;
    secs = ts.tv_sec % 86400;
    /* days since 1970-01-01 -> civil date (Howard Hinnant's algorithm) */
    days += 719468;
    era = days / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    return xasprintf("%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ", (long long)y, (long long)m,
                     (long long)d, (long long)(secs / 3600), (long long)(secs / 60 % 60),
                     (long long)(secs % 60), ts.tv_nsec);
}

static json_t *
annotations_json(const struct rt_state *s)
{
    json_t *a = json_object();
    for (size_t i = 0; i < s->n_annotations; i++)
        json_object_set_new(a, s->annotations[i].key, json_string(s->annotations[i].value));
    return a;
}

static void
set_str(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, json_string(v));
}

char *
rt_state_to_json(const struct rt_state *s)
{
    json_auto_t *o = json_object();

    json_object_set_new(o, "ociVersion", json_string(RT_OCI_VERSION));
    set_str(o, "id", s->id);
    set_str(o, "bundle", s->bundle);
    set_str(o, "rootfs", s->rootfs);
    set_str(o, "created", s->created);
    set_str(o, "owner", s->owner);
    set_str(o, "cgroupPath", s->cgroup_path);
    json_object_set_new(o, "pid", json_integer(s->pid));
    json_object_set_new(o, "startTime", json_integer((json_int_t)s->start_time));
    json_object_set_new(o, "createdDone", json_boolean(s->created_done));
    if (s->systemd_cgroup)
        json_object_set_new(o, "systemdCgroup", json_true());
    if (s->n_annotations)
        json_object_set_new(o, "annotations", annotations_json(s));
    return json_dumps(o, JSON_COMPACT);
}

int
rt_state_from_json(const char *buf, size_t len, struct rt_state *ret, struct cm_error **err)
{
    json_auto_t *o = NULL;
    json_t *ann = NULL;
    int64_t pid = 0, st = 0;
    struct rt_state s = {0};

    if (cm_json_loadb(buf, len, "state.json", &o, err) < 0)
        return -1;
    if (!json_is_object(o))
        return cm_error_set(err, 0, "state.json: not an object");
    if (cm_json_dup_string(o, "", "id", true, &s.id, err) < 0 ||
        cm_json_dup_string(o, "", "bundle", false, &s.bundle, err) < 0 ||
        cm_json_dup_string(o, "", "rootfs", false, &s.rootfs, err) < 0 ||
        cm_json_dup_string(o, "", "created", false, &s.created, err) < 0 ||
        cm_json_dup_string(o, "", "owner", false, &s.owner, err) < 0 ||
        cm_json_dup_string(o, "", "cgroupPath", false, &s.cgroup_path, err) < 0 ||
        cm_json_get_int64(o, "", "pid", false, &pid, err) < 0 ||
        cm_json_get_int64(o, "", "startTime", false, &st, err) < 0 ||
        cm_json_get_bool(o, "", "createdDone", false, &s.created_done, err) < 0 ||
        cm_json_get_bool(o, "", "systemdCgroup", false, &s.systemd_cgroup, err) < 0 ||
        cm_json_get_object(o, "", "annotations", false, &ann, err) < 0) {
        rt_state_done(&s);
        return -1;
    }
    if (pid < 0 || pid > INT32_MAX || st < 0) {
        rt_state_done(&s);
        return cm_error_set(err, 0, "state.json: invalid pid");
    }
    s.pid = (pid_t)pid;
    s.start_time = (uint64_t)st;
    if (ann) {
        const char *k;
        json_t *v;
        s.annotations = xcalloc(json_object_size(ann) + 1, sizeof(*s.annotations));
        json_object_foreach (ann, k, v) {
            s.annotations[s.n_annotations].key = xstrdup(k);
            s.annotations[s.n_annotations].value =
                xstrdup(json_is_string(v) ? json_string_value(v) : "");
            s.n_annotations++;
        }
    }
    *ret = s;
    return 0;
}

void
rt_state_done(struct rt_state *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->bundle);
    free(s->rootfs);
    free(s->created);
    free(s->owner);
    free(s->cgroup_path);
    for (size_t i = 0; i < s->n_annotations; i++) {
        free(s->annotations[i].key);
        free(s->annotations[i].value);
    }
    free(s->annotations);
    memset(s, 0, sizeof(*s));
}

char *
rt_state_spec_json(const struct rt_state *s, enum rt_status status, bool pretty)
{
    json_auto_t *o = json_object();

    json_object_set_new(o, "ociVersion", json_string(RT_OCI_VERSION));
    json_object_set_new(o, "id", json_string(s->id ? s->id : ""));
    json_object_set_new(o, "pid", json_integer(status == RT_STATUS_STOPPED ? 0 : s->pid));
    json_object_set_new(o, "status", json_string(rt_status_name(status)));
    json_object_set_new(o, "bundle", json_string(s->bundle ? s->bundle : ""));
    json_object_set_new(o, "rootfs", json_string(s->rootfs ? s->rootfs : ""));
    json_object_set_new(o, "created", json_string(s->created ? s->created : ""));
    json_object_set_new(o, "owner", json_string(s->owner ? s->owner : ""));
    if (s->n_annotations)
        json_object_set_new(o, "annotations", annotations_json(s));
    return json_dumps(o, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER
                                : JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* The default root belongs in memory, like /run on most hosts. Where /run is
 * a disk filesystem (with online discard every deleted state file costs a
 * synchronous device round trip), an empty default root gets its own tmpfs. */
static void
ensure_memory_root(const char *root)
{
    struct statfs sf;
    cleanup_dir DIR *d = NULL;
    struct dirent *de;

    if (strcmp(root, RT_DEFAULT_ROOT) || statfs(root, &sf) < 0 || sf.f_type == TMPFS_MAGIC ||
        sf.f_type == RAMFS_MAGIC)
        return;
    d = opendir(root);
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            return; /* never hide existing containers */
    if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=64m") < 0)
        return; /* not fatal: the disk works, only slower */
}

int
rt_state_dir_create(const char *root, const char *id, struct cm_error **err)
{
    cleanup_free char *dir = rt_state_dir(root, id, err);

    if (!dir)
        return -1;
    if (mkdir(root, 0700) < 0 && errno != EEXIST) {
        if (errno != ENOENT)
            return cm_error_errno(err, "create state root '%s'", root);
        if (cm_mkdir_p(root, 0700, err) < 0)
            return -1;
    }
    ensure_memory_root(root);
    if (mkdir(dir, 0700) < 0) {
        if (errno == EEXIST)
            return cm_error_set(err, EEXIST, "container '%s' already exists", id);
        return cm_error_errno(err, "create state directory '%s'", dir);
    }
    return 0;
}

int
rt_write_atomic_nosync(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                       struct cm_error **err)
{
    char tmp[PATH_MAX];
    cleanup_close int fd = -1;
    const char *p = data;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", name, (int)getpid());
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return cm_error_errno(err, "create '%s'", tmp);
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            cm_error_errno(err, "write '%s'", tmp);
            unlinkat(dirfd, tmp, 0);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (renameat(dirfd, tmp, dirfd, name) < 0) {
        cm_error_errno(err, "rename '%s'", tmp);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    return 0;
}

int
rt_state_save(const char *root, const struct rt_state *s, struct cm_error **err)
{
    cleanup_free char *dir = rt_state_dir(root, s->id, err);
    cleanup_free char *json = NULL;
    cleanup_close int dfd = -1;

    if (!dir)
        return -1;
    dfd = open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);
    if (dfd < 0)
        return cm_error_errno(err, "open state directory '%s'", dir);
    json = rt_state_to_json(s);
    if (rt_write_atomic_nosync(dfd, "state.json", json, strlen(json), 0600, err) < 0)
        return cm_error_wrap(err, "save state of '%s'", s->id);
    return 0;
}

int
rt_state_load(const char *root, const char *id, struct rt_state *ret, struct cm_error **err)
{
    cleanup_free char *dir = rt_state_dir(root, id, err);
    cleanup_free char *path = NULL;
    cleanup_free char *buf = NULL;
    size_t len = 0;
    struct stat st;
    struct cm_error *tmp = NULL;

    if (!dir)
        return -1;
    if (stat(dir, &st) < 0)
        return cm_error_set(err, ENOENT, "container '%s' does not exist", id);
    path = xasprintf("%s/state.json", dir);
    if (cm_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, &tmp) < 0) {
        if (tmp->code != ENOENT) {
            *err = tmp;
            return cm_error_wrap(err, "container '%s'", id);
        }
        cm_error_free(&tmp);
        /* A crash between mkdir and the first save: nothing else exists yet. */
        memset(ret, 0, sizeof(*ret));
        ret->id = xstrdup(id);
        return 0;
    }
    if (rt_state_from_json(buf, len, ret, err) < 0)
        return cm_error_wrap(err, "container '%s'", id);
    return 0;
}

enum rt_status
rt_state_status(const char *root, const struct rt_state *s)
{
    uint64_t st = 0;
    bool alive = false;
    char fifo[PATH_MAX];
    struct cm_error *tmp = NULL;

    if (s->pid <= 0)
        return s->created_done ? RT_STATUS_STOPPED : RT_STATUS_STOPPED;
    if (rt_proc_stat(s->pid, &st, &alive, &tmp) < 0) {
        cm_error_free(&tmp);
        return RT_STATUS_STOPPED;
    }
    if (!alive || st != s->start_time)
        return RT_STATUS_STOPPED;
    if (!s->created_done)
        return RT_STATUS_CREATING;
    snprintf(fifo, sizeof(fifo), "%s/%s/" RT_EXEC_FIFO, root, s->id);
    if (access(fifo, F_OK) == 0)
        return RT_STATUS_CREATED;
    if (s->cgroup_path) {
        cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
        bool frozen = false;
        if (rt_cgroup_open(RT_CGROUP_ROOT, s->cgroup_path, &cg, &tmp) == 0 &&
            rt_cgroup_is_frozen(cg, &frozen, &tmp) == 0 && frozen)
            return RT_STATUS_PAUSED;
        cm_error_free(&tmp);
    }
    return RT_STATUS_RUNNING;
}

int
rt_state_remove(const char *root, const char *id, struct cm_error **err)
{
    cleanup_free char *dir = rt_state_dir(root, id, err);

    if (!dir)
        return -1;
    /* The usual directory holds just these two: unlink them and rmdir; the
     * full walk is for anything else left there (or a dir that is gone). */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd >= 0) {
        (void)unlinkat(dfd, "state.json", 0);
        (void)unlinkat(dfd, "config.json", 0);
        close(dfd);
        if (rmdir(dir) == 0)
            return 0;
    }
    return cm_rm_rf(dir, err);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
rt_state_list(const char *root, char ***ret, struct cm_error **err)
{
    cleanup_dir DIR *d = opendir(root);
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;

    if (!d) {
        if (errno != ENOENT)
            return cm_error_errno(err, "open state root '%s'", root);
        *ret = xcalloc(1, sizeof(char *));
        return 0;
    }
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || rt_id_validate(de->d_name, NULL) < 0)
            continue;
        v = xreallocarray_grow(v, &cap, n + 2, sizeof(char *));
        v[n++] = xstrdup(de->d_name);
    }
    if (!v)
        v = xcalloc(1, sizeof(char *));
    v[n] = NULL;
    qsort(v, n, sizeof(char *), cmp_str);
    *ret = v;
    return 0;
}
