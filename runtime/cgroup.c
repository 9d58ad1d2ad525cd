/* SPDX-License-Identifier: Apache-2.0 */
/* The container's cgroup: layout detection, path resolution, creation with
 * rollback, membership, pids, kill and removal. Resource writing is the
 * backends' (cgroup_v1.c for v1 and hybrid hosts, cgroup_v2.c).
 *
 * Why plain cgroupfs I/O and not libcgroup on the hot path: cgroup_init()
 * alone costs 0.4-0.7 ms here (a third of the whole cgroup budget of `run`),
 * it cannot be pointed at a fake tree for tests, its delete leaves parents
 * behind and its errors lose errno. We keep one directory fd per hierarchy and
 * write control files relative to it. */
#include "rt/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/xalloc.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const struct cg_fake_kernel *cg_fake_kernel;

/* Cap for a cgroup.procs read (one line per process). */
#define PROCS_MAX (16u << 20)
/* Nested cgroups the container made itself are visited this deep at most. */
#define NEST_MAX 32

static const struct {
    const char *name;
    unsigned bit;
} controller_names[] = {
    {"cpu", CG_CPU},         {"cpuacct", CG_CPUACCT},   {"cpuset", CG_CPUSET},
    {"memory", CG_MEMORY},   {"devices", CG_DEVICES},   {"freezer", CG_FREEZER},
    {"blkio", CG_BLKIO},     {"pids", CG_PIDS},         {"hugetlb", CG_HUGETLB},
    {"net_cls", CG_NET_CLS}, {"net_prio", CG_NET_PRIO}, {"perf_event", CG_PERF_EVENT},
    {"rdma", CG_RDMA},       {"misc", CG_MISC},         {"io", CG_IO},
};

unsigned
cg_controller_bit(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(controller_names) / sizeof(controller_names[0]); i++)
        if (strlen(controller_names[i].name) == len && !memcmp(controller_names[i].name, name, len))
            return controller_names[i].bit;
    return 0;
}

/* "cpu io memory" (or "+cpu +io" in a fake tree) -> bits. */
static unsigned
parse_controller_list(const char *s)
{
    unsigned mask = 0;
    while (*s) {
        while (*s == ' ' || *s == '\n' || *s == '+' || *s == ',')
            s++;
        const char *b = s;
        while (*s && *s != ' ' && *s != '\n' && *s != ',')
            s++;
        if (s > b)
            mask |= cg_controller_bit(b, (size_t)(s - b));
    }
    return mask;
}

void
cg_hiers_free(struct cg_hier *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++) {
        free(h[i].mountpoint);
        free(h[i].name);
        free(h[i].controllers);
        free(h[i].dir);
        if (h[i].fd >= 0)
            close(h[i].fd);
        if (h[i].join_fd >= 0)
            close(h[i].join_fd);
    }
    free(h);
}

/* ---- small file I/O ---- */

int
cg_write_raw(int dfd, const char *file, const char *value)
{
    /* cgroupfs takes each write whole, whatever the file's offset or size:
     * O_TRUNC would only make the kernel set attributes on the file (an
     * allocation per new file). The fake trees of the tests are plain files
     * and need it. */
    int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (cg_fake_kernel ? O_TRUNC : 0));
    if (fd < 0)
        return -1;
    size_t len = strlen(value);
    ssize_t r;
    do
        r = write(fd, value, len);
    while (r < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    if (r < 0)
        return -1;
    if ((size_t)r != len) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int
cg_write(const struct cg_hier *h, const char *file, const char *value, struct cm_error **err)
{
    if (cg_write_raw(h->fd, file, value) < 0)
        return cm_error_errno(err, "write '%s' to '%s/%s'", value, h->dir, file);
    cm_log_debug("cgroup: %s/%s = %s", h->dir, file, value);
    return 0;
}

int
cg_writef(const struct cg_hier *h, const char *file, struct cm_error **err, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return cm_error_set(err, ENAMETOOLONG, "value for '%s/%s' too long", h->dir, file);
    return cg_write(h, file, buf, err);
}

int
cg_read_at(int dfd, const char *dir, const char *file, char *buf, size_t size,
           struct cm_error **err)
{
    cleanup_close int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return cm_error_errno(err, "open '%s/%s'", dir, file);
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, size - 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return cm_error_errno(err, "read '%s/%s'", dir, file);
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == size - 1)
            return cm_error_set(err, EFBIG, "'%s/%s' is too large", dir, file);
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    buf[len] = '\0';
    return 0;
}

int
cg_read(const struct cg_hier *h, const char *file, char *buf, size_t size, struct cm_error **err)
{
    return cg_read_at(h->fd, h->dir, file, buf, size, err);
}

bool
cg_exists(const struct cg_hier *h, const char *file)
{
    return faccessat(h->fd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
cg_read_u64(const struct cg_hier *h, const char *file, const char *key, uint64_t *ret,
            struct cm_error **err)
{
    char buf[4096];
    const char *p = buf;
    if (cg_read(h, file, buf, sizeof(buf), err) < 0)
        return -1;
    if (key) {
        size_t klen = strlen(key);
        for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
            if (!strncmp(p, key, klen) && p[klen] == ' ')
                break;
        if (!p)
            return cm_error_set(err, ENOENT, "no '%s' in '%s/%s'", key, h->dir, file);
        p += klen + 1;
    }
    if (!strncmp(p, "max", 3) && (p[3] == '\0' || p[3] == '\n')) {
        *ret = UINT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || errno || (*end && *end != '\n' && *end != ' '))
        return cm_error_set(err, EINVAL, "'%s/%s': not a number", h->dir, file);
    *ret = v;
    return 0;
}

struct cg_hier *
cg_v1_find(struct rt_cgroup *cg, unsigned bit)
{
    for (size_t i = 0; i < cg->n; i++)
        if (!cg->h[i].v2 && (cg->h[i].mask & bit) && cg->h[i].fd >= 0)
            return &cg->h[i];
    return NULL;
}

struct cg_hier *
cg_v2_find(struct rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cg->h[i].v2 && cg->h[i].fd >= 0)
            return &cg->h[i];
    return NULL;
}

/* ---- discovery ---- */

/* A host with tens of thousands of mounts still fits; a larger table is refused. */
#define CG_MOUNTINFO_MAX (64u << 20)

static void
add_hier(struct cg_hier **v, size_t *n, size_t *cap, const char *mountpoint, const char *name,
         const char *controllers, bool v2, unsigned mask)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i].mountpoint, mountpoint))
            return; /* mounted twice: the first one wins */
    *v = xreallocarray_grow(*v, cap, *n + 1, sizeof(**v));
    (*v)[*n] = (struct cg_hier){
        .mountpoint = xstrdup(mountpoint),
        .name = xstrdup(name),
        .controllers = xstrdup(controllers),
        .v2 = v2,
        .mask = mask,
        .fd = -1,
        .created = -1,
        .join_fd = -1,
    };
    (*n)++;
}

static unsigned
read_v2_controllers(const char *dir)
{
    char buf[512];
    cleanup_error struct cm_error *e = NULL;
    cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    if (cg_read_at(fd, dir, "cgroup.controllers", buf, sizeof(buf), &e) < 0) {
        cm_log_debug("cgroup: %s, ignoring", e->msg);
        return 0;
    }
    return parse_controller_list(buf);
}

/* mountinfo escapes blanks as \040 etc.; decodes in place. */
static void
unescape_octal(char *s)
{
    char *w = s;
    for (char *r = s; *r;) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 4;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* v1 super options "rw,cpu,cpuacct" -> "cpu,cpuacct" and its bits; keeps "name=X". */
static char *
v1_controllers_from_options(const char *opts, unsigned *ret_mask)
{
    cleanup_free char *copy = xstrdup(opts);
    char *out = xcalloc(1, strlen(opts) + 1);
    char *save = NULL;
    unsigned mask = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned bit = cg_controller_bit(tok, strlen(tok));
        if (!bit && strncmp(tok, "name=", 5) != 0)
            continue; /* rw, xattr, clone_children, release_agent=... */
        mask |= bit;
        if (*out)
            strcat(out, ",");
        strcat(out, tok);
    }
    *ret_mask = mask;
    return out;
}

/* Real hosts: cgroup and cgroup2 mounts directly below root, from mountinfo.
 * Read whole in one read(): stdio's 1 KiB reads made the kernel format the
 * table again and cost about 50 us more per container here. */
static int
discover_mountinfo(const char *root, struct cg_hier **v, size_t *n, size_t *cap,
                   struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t rootlen = strlen(root);
    char *next = NULL;

    if (cm_read_file_at(AT_FDCWD, "/proc/self/mountinfo", CG_MOUNTINFO_MAX, &buf, NULL, err) < 0)
        return -1;
    for (char *line = buf; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
        char *fields[5] = {0};
        char *save = NULL, *tok = strtok_r(line, " \n", &save);
        for (int i = 0; i < 5 && tok; i++, tok = strtok_r(NULL, " \n", &save))
            fields[i] = tok;
        if (!fields[4])
            continue;
        while (tok && strcmp(tok, "-") != 0)
            tok = strtok_r(NULL, " \n", &save);
        char *fstype = tok ? strtok_r(NULL, " \n", &save) : NULL;
        char *source = fstype ? strtok_r(NULL, " \n", &save) : NULL;
        char *superopts = source ? strtok_r(NULL, " \n", &save) : NULL;
        if (!superopts)
            continue;
        bool v2 = !strcmp(fstype, "cgroup2");
        if (!v2 && strcmp(fstype, "cgroup") != 0)
            continue;
        char *mp = fields[4];
        unescape_octal(mp);
        if (strncmp(mp, root, rootlen) != 0 || mp[rootlen] != '/' || !mp[rootlen + 1] ||
            strchr(mp + rootlen + 1, '/'))
            continue;
        if (v2) {
            add_hier(v, n, cap, mp, mp + rootlen + 1, "", true, read_v2_controllers(mp));
        } else {
            unsigned mask = 0;
            cleanup_free char *ctrls = v1_controllers_from_options(superopts, &mask);
            add_hier(v, n, cap, mp, mp + rootlen + 1, ctrls, false, mask);
        }
    }
    return 0;
}

/* Fake trees (tests): every real directory below root holding cgroup.procs is
 * a hierarchy, named after its controllers ("cpu,cpuacct"; "systemd" stands
 * for name=systemd); one holding cgroup.controllers is a cgroup2 mount. */
static int
discover_scan(const char *root, struct cg_hier **v, size_t *n, size_t *cap, struct cm_error **err)
{
    cleanup_dir DIR *d = opendir(root);
    struct dirent *de;

    if (!d)
        return cm_error_errno(err, "open '%s'", root);
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISDIR(st.st_mode))
            continue;
        cleanup_free char *mp = xasprintf("%s/%s", root, de->d_name);
        cleanup_free char *procs = xasprintf("%s/cgroup.procs", mp);
        cleanup_free char *ctl = xasprintf("%s/cgroup.controllers", mp);
        if (access(procs, F_OK) < 0)
            continue;
        if (access(ctl, F_OK) == 0) {
            add_hier(v, n, cap, mp, de->d_name, "", true, read_v2_controllers(mp));
        } else if (!strcmp(de->d_name, "systemd")) {
            add_hier(v, n, cap, mp, de->d_name, "name=systemd", false, 0);
        } else {
            add_hier(v, n, cap, mp, de->d_name, de->d_name, false,
                     parse_controller_list(de->d_name));
        }
    }
    return 0;
}

static char *
normalise_root(const char *root)
{
    char *r = xstrdup(root ? root : "/sys/fs/cgroup");
    size_t len = strlen(r);
    while (len > 1 && r[len - 1] == '/')
        r[--len] = '\0';
    return r;
}

int
cg_discover(const char *root_in, enum rt_cgroup_mode *ret_mode, struct cg_hier **ret, size_t *ret_n,
            struct cm_error **err)
{
    cleanup_free char *root = normalise_root(root_in);
    cleanup_free char *ctl = xasprintf("%s/cgroup.controllers", root);
    struct cg_hier *v = NULL;
    size_t n = 0, cap = 0;
    struct statfs sfs;

    if (statfs(root, &sfs) < 0)
        return cm_error_errno(err, "cgroup root '%s'", root);
    /* a cgroup2 mount at root itself, or a fake tree shaped like one */
    if (sfs.f_type == CGROUP2_SUPER_MAGIC || access(ctl, F_OK) == 0) {
        add_hier(&v, &n, &cap, root, "", "", true, read_v2_controllers(root));
        *ret_mode = RT_CGROUP_V2;
        *ret = v;
        *ret_n = n;
        return 0;
    }
    if (sfs.f_type == TMPFS_MAGIC) {
        if (discover_mountinfo(root, &v, &n, &cap, err) < 0) {
            cg_hiers_free(v, n);
            return -1;
        }
    }
    if (n == 0 && discover_scan(root, &v, &n, &cap, err) < 0) {
        cg_hiers_free(v, n);
        return -1;
    }
    bool any_v1 = false, any_v2 = false;
    for (size_t i = 0; i < n; i++) {
        if (v[i].v2)
            any_v2 = true;
        else
            any_v1 = true;
    }
    if (!any_v1 && !any_v2) {
        cg_hiers_free(v, n);
        return cm_error_set(err, ENOENT, "no cgroup hierarchy is mounted below '%s'", root);
    }
    *ret_mode = any_v1 ? (any_v2 ? RT_CGROUP_HYBRID : RT_CGROUP_V1) : RT_CGROUP_V2;
    *ret = v;
    *ret_n = n;
    return 0;
}

int
rt_cgroup_detect(const char *root, enum rt_cgroup_mode *ret_mode, struct cm_error **err)
{
    struct cg_hier *h = NULL;
    size_t n = 0;
    if (cg_discover(root, ret_mode, &h, &n, err) < 0)
        return -1;
    cg_hiers_free(h, n);
    return 0;
}

int
rt_cgroup_hierarchies(const char *root, struct rt_cgroup_hierarchy **ret, size_t *ret_n,
                      struct cm_error **err)
{
    struct cg_hier *h = NULL;
    size_t n = 0;
    enum rt_cgroup_mode mode;

    if (cg_discover(root, &mode, &h, &n, err) < 0)
        return -1;
    struct rt_cgroup_hierarchy *out = xcalloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        out[i].mountpoint = TAKE_PTR(h[i].mountpoint);
        out[i].controllers = TAKE_PTR(h[i].controllers);
        out[i].v2 = h[i].v2;
    }
    cg_hiers_free(h, n);
    *ret = out;
    *ret_n = n;
    return 0;
}

void
rt_cgroup_hierarchies_free(struct rt_cgroup_hierarchy *h, size_t n)
{
    for (size_t i = 0; h && i < n; i++) {
        free(h[i].mountpoint);
        free(h[i].controllers);
    }
    free(h);
}

/* ---- path resolution ---- */

static bool
valid_component(const char *c, size_t len)
{
    if (len == 0 || len > 255)
        return false;
    if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
            return false;
    return true;
}

/* Appends the components of p (separated by any number of '/') to out,
 * validating each; out is always "/a/b" shaped. */
static int
append_components(char *out, size_t *len, const char *p, const char *what, struct cm_error **err)
{
    while (*p) {
        while (*p == '/')
            p++;
        const char *b = p;
        while (*p && *p != '/')
            p++;
        size_t clen = (size_t)(p - b);
        if (clen == 0)
            break;
        if (!valid_component(b, clen))
            return cm_error_set(err, 0,
                                "linux.cgroupsPath: invalid component '%.*s' in %s "
                                "(no '.', '..', control characters or over 255 bytes)",
                                (int)(clen > 64 ? 64 : clen), b, what);
        if (*len + 1 + clen >= CG_PATH_MAX)
            return cm_error_set(err, 0, "linux.cgroupsPath: %s is longer than %d bytes", what,
                                CG_PATH_MAX - 1);
        out[(*len)++] = '/';
        memcpy(out + *len, b, clen);
        *len += clen;
        out[*len] = '\0';
    }
    return 0;
}

/* systemd's slice nesting: "a-b-c.slice" lives in "a.slice/a-b.slice/a-b-c.slice". */
static int
expand_slice(char *out, size_t *len, const char *slice, struct cm_error **err)
{
    size_t sl = strlen(slice);
    if (!strcmp(slice, "-.slice") || sl == 0)
        return 0; /* the root slice */
    if (sl < 7 || strcmp(slice + sl - 6, ".slice") != 0 || strchr(slice, '/'))
        return cm_error_set(err, 0, "linux.cgroupsPath: '%s' is not a systemd slice name", slice);
    size_t base = sl - 6;
    if (slice[0] == '-' || slice[base - 1] == '-' || strstr(slice, "--"))
        return cm_error_set(err, 0, "linux.cgroupsPath: invalid slice name '%s'", slice);
    for (size_t i = 0; i <= base; i++) {
        if (i < base && slice[i] != '-')
            continue;
        char comp[300];
        int k = snprintf(comp, sizeof(comp), "%.*s.slice", (int)i, slice);
        if (k < 0 || (size_t)k >= sizeof(comp))
            return cm_error_set(err, 0, "linux.cgroupsPath: slice name '%s' too long", slice);
        if (append_components(out, len, comp, "the slice", err) < 0)
            return -1;
    }
    return 0;
}

int
cg_resolve_path(const char *path, const char *id, char **ret, struct cm_error **err)
{
    char out[CG_PATH_MAX + 256];
    size_t len = 0;
    out[0] = '\0';

    if (path && strlen(path) >= CG_PATH_MAX)
        return cm_error_set(err, 0, "linux.cgroupsPath is longer than %d bytes", CG_PATH_MAX - 1);
    if (!path || !*path) {
        if (!id || !*id || strchr(id, '/'))
            return cm_error_set(err, 0, "invalid container id '%s' for a cgroup name",
                                id ? id : "");
        if (append_components(out, &len, "skiff", "the default parent", err) < 0 ||
            append_components(out, &len, id, "the container id", err) < 0)
            return -1;
    } else if (path[0] != '/' && strchr(path, ':')) {
        /* systemd form "slice:prefix:name", as podman's systemd manager passes it */
        const char *c1 = strchr(path, ':');
        const char *c2 = strchr(c1 + 1, ':');
        if (!c2 || strchr(c2 + 1, ':'))
            return cm_error_set(err, 0, "linux.cgroupsPath '%s': expected \"slice:prefix:name\"",
                                path);
        cleanup_free char *slice = xstrndup(path, (size_t)(c1 - path));
        cleanup_free char *prefix = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
        const char *name = c2 + 1;
        if (!*name)
            return cm_error_set(err, 0, "linux.cgroupsPath '%s': empty unit name", path);
        if (strchr(prefix, '/') || strchr(name, '/'))
            return cm_error_set(err, 0, "linux.cgroupsPath '%s': '/' in a unit name", path);
        if (expand_slice(out, &len, *slice ? slice : "system.slice", err) < 0)
            return -1;
        cleanup_free char *unit = NULL;
        size_t nl = strlen(name);
        if (nl > 6 && !strcmp(name + nl - 6, ".slice"))
            unit = xstrdup(name); /* a slice as the unit: runc does the same */
        else if (*prefix)
            unit = xasprintf("%s-%s.scope", prefix, name);
        else
            unit = xasprintf("%s.scope", name);
        if (append_components(out, &len, unit, "the unit name", err) < 0)
            return -1;
    } else if (path[0] == '/') {
        if (append_components(out, &len, path, "the path", err) < 0)
            return -1;
    } else {
        if (append_components(out, &len, "skiff", "the default parent", err) < 0 ||
            append_components(out, &len, path, "the path", err) < 0)
            return -1;
    }
    if (len == 0)
        return cm_error_set(err, 0, "linux.cgroupsPath '%s' names the root cgroup", path);
    *ret = xstrdup(out);
    return 0;
}

int
rt_cgroup_resolve_path(const char *path, const char *id, char **ret, struct cm_error **err)
{
    return cg_resolve_path(path, id, ret, err);
}

/* ---- handle ---- */

void
rt_cgroup_free(struct rt_cgroup *cg)
{
    if (!cg)
        return;
    cg_hiers_free(cg->h, cg->n);
    free(cg->root);
    free(cg->path);
    free(cg);
}

const char *
rt_cgroup_path(const struct rt_cgroup *cg)
{
    return cg->path;
}

enum rt_cgroup_mode
rt_cgroup_get_mode(const struct rt_cgroup *cg)
{
    return cg->mode;
}

int
rt_cgroup_v2_fd(const struct rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cg->h[i].v2)
            return cg->h[i].fd;
    return -1;
}

static int
new_handle(const char *root, const char *resolved, struct rt_cgroup **ret, struct cm_error **err)
{
    struct rt_cgroup *cg = xcalloc(1, sizeof(*cg));
    cg->root = normalise_root(root);
    cg->path = xstrdup(resolved);
    if (cg_discover(cg->root, &cg->mode, &cg->h, &cg->n, err) < 0) {
        rt_cgroup_free(cg);
        return -1;
    }
    cg->ops = cg->mode == RT_CGROUP_V2 ? &cg_v2_ops : &cg_v1_ops;
    for (size_t i = 0; i < cg->n; i++)
        cg->h[i].dir = xasprintf("%s%s", cg->h[i].mountpoint, cg->path);
    *ret = cg;
    return 0;
}

static int
remove_dir_at(int parent, const char *name)
{
    if (cg_fake_kernel) {
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            cg_fake_kernel->depopulate(fd);
            close(fd);
        }
    }
    return unlinkat(parent, name, AT_REMOVEDIR);
}

/* Removes the directories this handle created in h, deepest first. */
static void
rollback_hier(struct cg_hier *h, const char *path)
{
    if (h->created < 0)
        return;
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    cleanup_free char *p = xstrdup(path);
    int ncomp = 0;
    for (char *s = p; *s; s++)
        if (*s == '/')
            ncomp++;
    for (int k = ncomp; k > h->created; k--) {
        char *slash = strrchr(p, '/');
        cleanup_close int mfd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mfd < 0 || remove_dir_at(mfd, p + 1) < 0)
            cm_log_debug("cgroup: rollback rmdir '%s%s': %s, ignoring", h->mountpoint, p,
                         strerror(errno));
        *slash = '\0';
    }
    h->created = -1;
}

/* mkdir -p of path below the hierarchy, remembering what was new. The first
 * level is reached by its full path: the mount point itself is opened only
 * when something needs it (the fake kernel; init_dir opens it on its own). */
static int
make_path_once(struct rt_cgroup *cg, struct cg_hier *h, struct cm_error **err)
{
    cleanup_close int fd = -1;
    cleanup_free char *p = xstrdup(cg->path);
    int depth = 0;

    if (cg_fake_kernel && (fd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return cm_error_errno(err, "open '%s'", h->mountpoint);
    char *save = NULL;
    for (char *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save), depth++) {
        bool is_new = false;
        cleanup_free char *first = fd < 0 ? xasprintf("%s/%s", h->mountpoint, c) : NULL;
        int at = fd < 0 ? AT_FDCWD : fd;
        const char *name = first ? first : c;
        if (mkdirat(at, name, 0755) == 0) {
            is_new = true;
            if (h->created < 0)
                h->created = depth;
        } else if (errno != EEXIST) {
            return cm_error_errno(err, "mkdir '%s%s'", h->mountpoint, cg->path);
        }
        int nfd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (nfd < 0)
            return cm_error_errno(err, "open '%s%s'", h->mountpoint, cg->path);
        if (is_new && cg_fake_kernel)
            cg_fake_kernel->populate(fd, nfd);
        /* existing levels too: a cpuset left empty by someone else would
         * make the later join fail with ENOSPC */
        if (cg->ops->init_dir && cg->ops->init_dir(cg, h, fd, nfd, is_new, h->dir, err) < 0) {
            close(nfd);
            return -1;
        }
        if (fd >= 0)
            close(fd);
        fd = nfd;
    }
    if (fd < 0 && (fd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return cm_error_errno(err, "open '%s'", h->mountpoint); /* path "/" */
    h->fd = TAKE_FD(fd);
    return 0;
}

/* A parent level removed by the delete of its last other container
 * (remove_empty_parents) between our mkdir and our use of it fails with
 * ENOENT: start again from the mount point, a few times. */
static int
make_path(struct rt_cgroup *cg, struct cg_hier *h, struct cm_error **err)
{
    for (int attempt = 0;; attempt++) {
        cleanup_error struct cm_error *tmp = NULL;
        if (make_path_once(cg, h, &tmp) == 0)
            return 0;
        if (tmp->code != ENOENT || attempt >= 3) {
            *err = TAKE_PTR(tmp);
            return -1;
        }
    }
}

/* The controllers a container's cgroup is made in. Always those that the
 * device policy (devices) and the stats (cpu, cpuacct, memory, pids) use;
 * the others only when the config sets their resources (update adds a
 * hierarchy later: rt_cgroup_apply). Each hierarchy costs a mkdir, a join, a
 * bind mount and an rmdir per container (about 60-100 us of CPU on this
 * host). A v1 freezer is made when first needed, by pause or kill --all
 * (cg_adopt_freezer): most containers are never paused. */
static unsigned
wanted_controllers(const struct rt_resources *res)
{
    unsigned want = CG_CPU | CG_CPUACCT | CG_MEMORY | CG_PIDS | CG_DEVICES;
    if (!res)
        return want;
    if (res->has_cpu && (res->cpu.cpus || res->cpu.mems))
        want |= CG_CPUSET;
    if (res->has_blkio)
        want |= CG_BLKIO | CG_IO;
    if (res->n_hugepage_limits)
        want |= CG_HUGETLB;
    if (res->has_network)
        want |= CG_NET_CLS | CG_NET_PRIO;
    if (res->n_rdma)
        want |= CG_RDMA;
    return want;
}

/* Whether the container gets a directory in h. A pure v2 host has one
 * hierarchy: always. On v1 and hybrid hosts a hierarchy is skipped when it
 * holds none of the wanted controllers: named ones (name=systemd) and, on
 * hybrid, the cgroup2 mount unless it holds a wanted controller (hugetlb
 * here) or the config has linux.resources.unified keys. */
static bool
hier_wanted(const struct rt_cgroup *cg, const struct cg_hier *h, unsigned want,
            const struct rt_resources *res)
{
    if (cg->mode == RT_CGROUP_V2)
        return true;
    if (h->v2 && res && res->n_unified)
        return true;
    return (h->mask & want) != 0;
}

int
rt_cgroup_plan(const char *root, const char *path, const char *id, const struct rt_resources *res,
               struct rt_cgroup **ret, struct cm_error **err)
{
    cleanup_free char *resolved = NULL;
    struct rt_cgroup *cg = NULL;

    if (cg_resolve_path(path, id, &resolved, err) < 0)
        return -1;
    if (new_handle(root, resolved, &cg, err) < 0)
        return -1;
    unsigned want = wanted_controllers(res);
    for (size_t i = 0; i < cg->n; i++)
        cg->h[i].wanted = hier_wanted(cg, &cg->h[i], want, res);
    *ret = cg;
    return 0;
}

bool
rt_cgroup_plan_needs_v2(const struct rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cg->h[i].v2 && cg->h[i].wanted)
            return true;
    return false;
}

int
rt_cgroup_realize(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    int r = 0;

    for (size_t i = 0; i < cg->n && r == 0; i++)
        if (cg->h[i].wanted)
            r = make_path(cg, &cg->h[i], err);
    for (size_t i = 0; i < cg->n && r == 0; i++)
        if (cg->ops->prepare && cg->h[i].fd >= 0)
            r = cg->ops->prepare(cg, &cg->h[i], err);
    if (r == 0 && res)
        r = cg->ops->apply(cg, res, err);
    if (r < 0) {
        for (size_t i = 0; i < cg->n; i++)
            rollback_hier(&cg->h[i], cg->path);
        return cm_error_wrap(err, "cgroup '%s'", cg->path);
    }
    for (size_t i = 0; i < cg->n; i++)
        cg->h[i].created = -1; /* from now on destroy owns the removal */
    return 0;
}

int
rt_cgroup_create(const char *root, const char *path, const char *id, const struct rt_resources *res,
                 struct rt_cgroup **ret, struct cm_error **err)
{
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;

    if (rt_cgroup_plan(root, path, id, res, &cg, err) < 0 || rt_cgroup_realize(cg, res, err) < 0)
        return -1;
    *ret = TAKE_PTR(cg);
    return 0;
}

int
rt_cgroup_open(const char *root, const char *path, struct rt_cgroup **ret, struct cm_error **err)
{
    cleanup_free char *resolved = NULL;
    cleanup_rt_cgroup struct rt_cgroup *cg = NULL;
    size_t found = 0;

    if (!path || path[0] != '/')
        return cm_error_set(err, 0, "cgroup path '%s' is not absolute", path ? path : "");
    if (cg_resolve_path(path, NULL, &resolved, err) < 0)
        return -1;
    if (new_handle(root, resolved, &cg, err) < 0)
        return -1;
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        cleanup_close int mfd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (mfd < 0)
            return cm_error_errno(err, "open '%s'", h->mountpoint);
        h->fd = openat(mfd, cg->path + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (h->fd < 0 && errno != ENOENT)
            return cm_error_errno(err, "open '%s'", h->dir);
        if (h->fd >= 0)
            found++;
        h->wanted = h->fd >= 0;
    }
    if (found == 0)
        return cm_error_set(err, ENOENT, "cgroup '%s' does not exist below '%s'", cg->path,
                            cg->root);
    *ret = TAKE_PTR(cg);
    return 0;
}

int
rt_cgroup_enter(struct rt_cgroup *cg, pid_t pid, struct cm_error **err)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    for (size_t i = 0; i < cg->n; i++) {
        if (cg->h[i].fd < 0 || cg->h[i].joined)
            continue;
        if (cg_write(&cg->h[i], "cgroup.procs", buf, err) < 0)
            return cm_error_wrap(err, "move pid %d into cgroup '%s'", (int)pid, cg->path);
    }
    return 0;
}

/* Why the init joins by itself: a cgroup v1 migration of another process
 * (or of a whole thread group through cgroup.procs) write-locks the kernel's
 * cgroup_threadgroup_rwsem, which waits for an RCU grace period when it was
 * idle: 5-20 ms here. A single thread moving itself ("0" to `tasks`) takes no
 * such lock (kernel >= 5.19). The files are opened here, by the parent: the
 * kernel checks the opener's credentials, so the write also works from a new
 * user namespace. */
int
rt_cgroup_join_prepare(struct rt_cgroup *cg, struct cm_error **err)
{
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        if (h->v2 || h->fd < 0 || h->join_fd >= 0)
            continue;
        h->join_fd = openat(h->fd, "tasks", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (h->join_fd < 0 && errno != ENOENT)
            return cm_error_errno(err, "open '%s/tasks'", h->dir);
        /* ENOENT (a fake tree): the parent moves the pid as before */
    }
    return 0;
}

int
rt_cgroup_join_self(struct rt_cgroup *cg, struct cm_error **err)
{
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        if (h->join_fd < 0)
            continue;
        ssize_t r;
        do
            r = write(h->join_fd, "0", 1);
        while (r < 0 && errno == EINTR);
        if (r != 1)
            return cm_error_errno(err, "join cgroup '%s'", h->dir);
        close(h->join_fd);
        h->join_fd = -1;
    }
    return 0;
}

int
rt_cgroup_join_planned(struct rt_cgroup *cg, struct cm_error **err)
{
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        if (!h->wanted || h->v2)
            continue;
        cleanup_free char *tasks = xasprintf("%s/tasks", h->dir);
        if (cg_write_raw(AT_FDCWD, tasks, "0") < 0)
            return cm_error_errno(err, "join cgroup '%s'", h->dir);
    }
    return 0;
}

void
rt_cgroup_mark_joined(struct rt_cgroup *cg)
{
    for (size_t i = 0; i < cg->n; i++)
        if (cg->h[i].wanted && !cg->h[i].v2)
            cg->h[i].joined = true;
}

void
rt_cgroup_join_done(struct rt_cgroup *cg, bool v2_joined)
{
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        if (h->join_fd >= 0) {
            close(h->join_fd);
            h->join_fd = -1;
            h->joined = true;
        } else if (h->v2 && h->fd >= 0 && v2_joined) {
            h->joined = true;
        }
    }
}

int
rt_cgroup_enter_self(struct rt_cgroup *cg, struct cm_error **err)
{
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        if (h->fd < 0)
            continue;
        /* v2 has no per-thread move across domains: cgroup.procs */
        if (cg_write_raw(h->fd, h->v2 ? "cgroup.procs" : "tasks", "0") < 0 &&
            (h->v2 || errno != ENOENT || cg_write_raw(h->fd, "cgroup.procs", "0") < 0))
            return cm_error_errno(err, "join cgroup '%s'", h->dir);
    }
    /* The v1 freezer is made by the first pause (cg_adopt_freezer), which
     * moves in what the other hierarchies list. Looking for it only after
     * joining those closes the race with a pause running now: either its
     * directory exists by now and we join it, or its next listing shows us.
     * (exec calls this before setns: h->dir is the host's path.) */
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        if (h->fd >= 0 || h->v2 || !(h->mask & CG_FREEZER))
            continue;
        cleanup_close int fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            return cm_error_errno(err, "open '%s'", h->dir);
        }
        if (cg_write_raw(fd, "tasks", "0") < 0 &&
            (errno != ENOENT || cg_write_raw(fd, "cgroup.procs", "0") < 0))
            return cm_error_errno(err, "join cgroup '%s'", h->dir);
    }
    return 0;
}

/* update of a resource whose hierarchy the container was not created in
 * (hier_wanted): make the directory there and move the container's
 * processes in, frozen meanwhile so that no fork is missed. */
static int
extend(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    unsigned want = wanted_controllers(res);
    cleanup_free pid_t *pids = NULL;
    cleanup_error struct cm_error *tmp = NULL;
    size_t n = 0, added = 0;
    bool was_frozen = false, froze = false;
    int r = 0;

    for (size_t i = 0; i < cg->n; i++)
        if (cg->h[i].fd < 0 && hier_wanted(cg, &cg->h[i], want, res))
            added++;
    if (added == 0)
        return 0;
    if (cg->ops->is_frozen(cg, &was_frozen, &tmp) == 0 && !was_frozen &&
        cg->ops->freeze(cg, true, &tmp) == 0)
        froze = true;
    if (tmp) {
        cm_log_debug("cgroup: extend '%s' without freezing: %s", cg->path, tmp->msg);
        cm_error_free(&tmp);
    }
    r = rt_cgroup_pids(cg, &pids, &n, err);
    for (size_t i = 0; i < cg->n && r == 0; i++) {
        struct cg_hier *h = &cg->h[i];
        if (h->fd >= 0 || !hier_wanted(cg, h, want, res))
            continue;
        r = make_path(cg, h, err);
        h->wanted = r == 0;
        if (r == 0 && cg->ops->prepare)
            r = cg->ops->prepare(cg, h, err);
        for (size_t k = 0; k < n && r == 0; k++) {
            char buf[32];
            snprintf(buf, sizeof(buf), "%d", (int)pids[k]);
            if (cg_write_raw(h->fd, "cgroup.procs", buf) < 0 && errno != ESRCH)
                r = cm_error_errno(err, "move pid %d into '%s'", (int)pids[k], h->dir);
        }
        if (r < 0)
            rollback_hier(h, cg->path);
        h->created = -1;
    }
    if (froze && cg->ops->freeze(cg, false, r < 0 ? &tmp : err) < 0 && r == 0)
        r = -1;
    return r;
}

int
rt_cgroup_apply(struct rt_cgroup *cg, const struct rt_resources *res, struct cm_error **err)
{
    if (!res)
        return 0;
    if (extend(cg, res, err) < 0 || cg->ops->apply(cg, res, err) < 0)
        return cm_error_wrap(err, "cgroup '%s'", cg->path);
    return 0;
}

int
rt_cgroup_freeze(struct rt_cgroup *cg, bool frozen, struct cm_error **err)
{
    if (cg->ops->freeze(cg, frozen, err) < 0)
        return cm_error_wrap(err, "%s cgroup '%s'", frozen ? "freeze" : "thaw", cg->path);
    return 0;
}

int
rt_cgroup_stats(struct rt_cgroup *cg, struct rt_cgroup_stats *ret, struct cm_error **err)
{
    *ret = (struct rt_cgroup_stats){0};
    if (cg->ops->stats(cg, ret, err) < 0)
        return cm_error_wrap(err, "stats of cgroup '%s'", cg->path);
    return 0;
}

int
rt_cgroup_is_frozen(struct rt_cgroup *cg, bool *ret, struct cm_error **err)
{
    return cg->ops->is_frozen(cg, ret, err);
}

/* ---- pids ---- */

struct pidset {
    pid_t *v;
    size_t n, cap;
};

static void
pidset_add(struct pidset *s, pid_t p)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == p)
            return;
    s->v = xreallocarray_grow(s->v, &s->cap, s->n + 1, sizeof(*s->v));
    s->v[s->n++] = p;
}

/* Reads dfd/cgroup.procs and those of nested cgroups the container made. */
static int
collect_pids(int dfd, const char *dir, int depth, struct pidset *s, struct cm_error **err)
{
    cleanup_free char *buf = NULL;

    if (cm_read_file_at(dfd, "cgroup.procs", PROCS_MAX, &buf, NULL, err) < 0)
        return cm_error_wrap(err, "cgroup '%s'", dir);
    for (char *p = buf; *p;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (errno == 0 && v > 0 && v <= INT32_MAX)
            pidset_add(s, (pid_t)v);
        p = end;
        while (*p == '\n' || *p == ' ')
            p++;
    }
    if (depth >= NEST_MAX)
        return 0;
    /* cgroupfs (kernfs), like tmpfs and ext4, counts subdirectories in a
     * directory's link count: 2 means no nested cgroup, so no listing.
     * Filesystems that do not (btrfs, overlay: 1) are listed. */
    struct stat st;
    if (fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 2)
        return 0;
    int dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup_fd < 0)
        return cm_error_errno(err, "open '%s'", dir);
    cleanup_dir DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return cm_error_errno(err, "open '%s'", dir);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        cleanup_close int cfd =
            openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (cfd < 0)
            continue; /* removed meanwhile */
        cleanup_free char *sub = xasprintf("%s/%s", dir, de->d_name);
        if (collect_pids(cfd, sub, depth + 1, s, err) < 0)
            return -1;
    }
    return 0;
}

int
rt_cgroup_pids(struct rt_cgroup *cg, pid_t **ret, size_t *ret_n, struct cm_error **err)
{
    struct pidset s = {0};
    for (size_t i = 0; i < cg->n; i++) {
        if (cg->h[i].fd < 0)
            continue;
        if (collect_pids(cg->h[i].fd, cg->h[i].dir, 0, &s, err) < 0) {
            free(s.v);
            return -1;
        }
    }
    *ret = s.v;
    *ret_n = s.n;
    return 0;
}

/* The container's processes, from every hierarchy it is in but `skip`. */
static int
pids_except(struct rt_cgroup *cg, const struct cg_hier *skip, struct pidset *s,
            struct cm_error **err)
{
    for (size_t i = 0; i < cg->n; i++) {
        if (cg->h[i].fd < 0 || &cg->h[i] == skip)
            continue;
        if (collect_pids(cg->h[i].fd, cg->h[i].dir, 0, s, err) < 0)
            return -1;
    }
    return 0;
}

static bool
pidset_has(const struct pidset *s, pid_t p)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == p)
            return true;
    return false;
}

/* Makes the container's directory in the v1 freezer hierarchy h (skipped at
 * create, see wanted_controllers) and moves every process of the container
 * into it. Race-free against forks: a process forks into the cgroup it is
 * in, so each pass moves what the other hierarchies list and the loop ends
 * when a listing of them, read before the freezer's own, holds nothing the
 * freezer lacks: every process alive at that listing is in the freezer, and
 * so is every child they forked since. A container whose processes keep
 * forking faster than we move them fails with EBUSY after ADOPT_PASSES. */
#define ADOPT_PASSES 64
int
cg_adopt_freezer(struct rt_cgroup *cg, struct cg_hier *h, struct cm_error **err)
{
    if (h->fd < 0) {
        if (make_path(cg, h, err) < 0)
            return cm_error_wrap(err, "cgroup '%s'", cg->path);
        h->created = -1; /* destroy removes it with the others */
        h->wanted = true;
    }
    for (int pass = 0; pass < ADOPT_PASSES; pass++) {
        struct pidset others = {0}, in = {0};
        size_t moved = 0;
        int r = pids_except(cg, h, &others, err);
        if (r == 0)
            r = collect_pids(h->fd, h->dir, 0, &in, err);
        for (size_t i = 0; r == 0 && i < others.n; i++) {
            char buf[32];
            if (pidset_has(&in, others.v[i]))
                continue;
            snprintf(buf, sizeof(buf), "%d", (int)others.v[i]);
            if (cg_write_raw(h->fd, "cgroup.procs", buf) < 0) {
                if (errno != ESRCH)
                    r = cm_error_errno(err, "move pid %d into '%s'", (int)others.v[i], h->dir);
                continue;
            }
            moved++;
        }
        free(others.v);
        free(in.v);
        if (r < 0)
            return -1;
        if (moved == 0)
            return 0;
    }
    return cm_error_set(err, EBUSY, "'%s': the container's processes keep forking", h->dir);
}

int
rt_cgroup_kill_all(struct rt_cgroup *cg, int sig, struct cm_error **err)
{
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    bool was_frozen = false, froze = false;
    cleanup_error struct cm_error *tmp = NULL;

    if (cg->ops->kill) {
        int r = cg->ops->kill(cg, sig, err);
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
    /* Freeze so that nothing forks past the signal; when there is no
     * freezer we still signal what we see. */
    if (cg->ops->is_frozen(cg, &was_frozen, &tmp) == 0 && !was_frozen) {
        if (cg->ops->freeze(cg, true, &tmp) == 0)
            froze = true;
    }
    if (tmp) {
        cm_log_debug("cgroup: kill '%s' without freezing: %s", cg->path, tmp->msg);
        cm_error_free(&tmp);
    }
    int r = rt_cgroup_pids(cg, &pids, &n, err);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (kill(pids[i], sig) < 0 && errno != ESRCH) {
            r = cm_error_errno(err, "kill %d", (int)pids[i]);
            break;
        }
    }
    /* Thaw what we froze; SIGKILL also needs a paused container thawed to die. */
    if (froze || (was_frozen && sig == SIGKILL)) {
        if (cg->ops->freeze(cg, false, &tmp) < 0) {
            if (r == 0) {
                *err = TAKE_PTR(tmp);
                r = -1;
            }
        }
    }
    return r < 0 ? cm_error_wrap(err, "kill cgroup '%s'", cg->path) : 0;
}

/* ---- device rules ---- */

/* What runc allows after the configured rules (libcontainer's
 * AllowedDevices): mknod of anything, the standard nodes, ptys. */
static const struct rt_device_rule default_device_rules[] = {
    {.allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m"},
    {.allow = true, .type = 'b', .major = -1, .minor = -1, .access = "m"},
    {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},    /* null */
    {.allow = true, .type = 'c', .major = 1, .minor = 8, .access = "rwm"},    /* random */
    {.allow = true, .type = 'c', .major = 1, .minor = 7, .access = "rwm"},    /* full */
    {.allow = true, .type = 'c', .major = 5, .minor = 0, .access = "rwm"},    /* tty */
    {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"},    /* zero */
    {.allow = true, .type = 'c', .major = 1, .minor = 9, .access = "rwm"},    /* urandom */
    {.allow = true, .type = 'c', .major = 5, .minor = 1, .access = "rwm"},    /* console */
    {.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm"}, /* pts */
    {.allow = true, .type = 'c', .major = 5, .minor = 2, .access = "rwm"},    /* ptmx */
};

struct rt_device_rule *
cg_effective_device_rules(const struct rt_resources *res, size_t *ret_n)
{
    size_t nd = sizeof(default_device_rules) / sizeof(default_device_rules[0]);
    struct rt_device_rule *v = xcalloc(res->n_devices + nd, sizeof(*v));
    size_t n = res->n_devices, last_deny = 0;
    if (n)
        memcpy(v, res->devices, n * sizeof(*v));
    for (size_t i = 0; i < n; i++)
        if (!v[i].allow)
            last_deny = i + 1;
    /* A default the caller already allows after its last deny (the container
     * passes runc's list itself) would only be written a second time. */
    for (size_t k = 0; k < nd; k++) {
        const struct rt_device_rule *d = &default_device_rules[k];
        bool dup = false;
        for (size_t i = last_deny; i < res->n_devices && !dup; i++)
            dup = v[i].allow && v[i].type == d->type && v[i].major == d->major &&
                  v[i].minor == d->minor && !strcmp(v[i].access, d->access);
        if (!dup)
            v[n++] = *d;
    }
    *ret_n = n;
    return v;
}

/* ---- removal ---- */

static void
sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* rmdir of dfd/name and the cgroups nested in it, deepest first. The rmdir
 * is tried first: a container's cgroup seldom has children, and the kernel
 * refuses (EBUSY; a plain directory: ENOTEMPTY) one that does, so the listing
 * is only paid for when it is needed. */
static int
remove_tree(int dfd, const char *name, int depth)
{
    if (remove_dir_at(dfd, name) == 0 || errno == ENOENT)
        return 0;
    if ((errno != EBUSY && errno != ENOTEMPTY) || depth >= NEST_MAX)
        return -1;
    int saved = errno;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    cleanup_dir DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    bool nested = false;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
            continue;
        nested = true;
        if (remove_tree(dirfd(d), de->d_name, depth + 1) < 0)
            return -1;
    }
    if (!nested) {
        /* busy with processes: the caller's retry loop waits for them */
        errno = saved;
        return -1;
    }
    if (remove_dir_at(dfd, name) < 0)
        return errno == ENOENT ? 0 : -1;
    return 0;
}

/* Whether anything lives in the cgroup or below. A cgroup2 directory (pure
 * v2, or hybrid where the container joined the unified hierarchy too) says
 * so in one read of cgroup.events ("populated", recursive), v1's pids
 * controller in pids.current (hierarchical); without either, the pids. */
static int
has_processes(struct rt_cgroup *cg, bool *ret, struct cm_error **err)
{
    struct cg_hier *u = cg_v2_find(cg);
    char buf[256];
    cleanup_error struct cm_error *tmp = NULL;
    if (u && cg_read(u, "cgroup.events", buf, sizeof(buf), &tmp) == 0) {
        const char *p = strstr(buf, "populated ");
        if (p) {
            *ret = p[10] == '1';
            return 0;
        }
    }
    /* v1: the pids controller counts every task below, nested cgroups too */
    struct cg_hier *p = cg_v1_find(cg, CG_PIDS);
    uint64_t current = 0;
    if (p && cg_read_u64(p, "pids.current", NULL, &current, &tmp) == 0) {
        *ret = current > 0;
        return 0;
    }
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    if (rt_cgroup_pids(cg, &pids, &n, err) < 0)
        return -1;
    *ret = n > 0;
    return 0;
}

static bool
has_subdirs(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    cleanup_dir DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return false;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            return true;
    return false;
}

/* The levels a relative cgroupsPath adds below our own parent ("testdir" of
 * /skiff/testdir/c1) are the runtime's, made by the first container that
 * needed them: they go with the last one, deepest first. rmdir refuses
 * (EBUSY) a cgroup that still has children or processes, so one still used
 * by another container stays and we stop there. /skiff itself and anything
 * outside it (an absolute cgroupsPath's parents) are never touched. A create
 * racing with this retries when its parent vanishes (make_path). */
static void
remove_empty_parents(struct rt_cgroup *cg)
{
    static const char parent[] = "/skiff/";
    if (strncmp(cg->path, parent, sizeof(parent) - 1) != 0)
        return;
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        cleanup_close int mfd = open(h->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cleanup_free char *p = xstrdup(cg->path);
        if (mfd < 0)
            continue;
        for (char *slash = strrchr(p, '/'); slash > p + sizeof(parent) - 2;
             slash = strrchr(p, '/')) {
            *slash = '\0';
            /* the fake kernel's rmdir empties a directory before removing it */
            if (cg_fake_kernel && has_subdirs(mfd, p + 1))
                break;
            if (remove_dir_at(mfd, p + 1) < 0) {
                if (errno != ENOENT)
                    cm_log_debug("cgroup: keep '%s%s': %s", h->mountpoint, p, strerror(errno));
                break;
            }
        }
    }
}

int
rt_cgroup_destroy(struct rt_cgroup *cg, bool force, struct cm_error **err)
{
    cleanup_error struct cm_error *tmp = NULL;
    int result = 0;
    struct timespec start;

    if (force) {
        if (rt_cgroup_kill_all(cg, SIGKILL, &tmp) < 0) {
            cm_log_debug("cgroup: %s, ignoring", tmp->msg);
            cm_error_free(&tmp);
        }
    } else {
        /* a live container's cgroup is left whole: removing it from some
         * hierarchies and not others would change a running container */
        bool busy = false;
        if (has_processes(cg, &busy, err) < 0)
            return -1;
        if (busy)
            return cm_error_set(err, EBUSY, "cgroup '%s' still has processes", cg->path);
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (size_t i = 0; i < cg->n; i++) {
        struct cg_hier *h = &cg->h[i];
        /* A hierarchy this handle did not create in may have gained the
         * directory since, from another process: pause (the freezer) or
         * update (a new resource; never a named hierarchy). */
        if (h->fd < 0 && (h->mask || h->v2))
            h->fd = open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (h->fd < 0)
            continue;
        close(h->fd);
        h->fd = -1;
        /* Killed processes leave their cgroups asynchronously: retry on
         * EBUSY, for 1 s in all after a kill, 0.2 s otherwise. */
        int r = -1;
        for (unsigned attempt = 0;; attempt++) {
            r = remove_tree(AT_FDCWD, h->dir, 0);
            if (r == 0 || errno != EBUSY)
                break;
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long elapsed =
                (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
            if (elapsed > (force ? 1000 : 200))
                break;
            sleep_ms(attempt < 10 ? 1 : 10);
        }
        if (r < 0 && result == 0)
            result = cm_error_errno(err, "remove cgroup '%s'", h->dir);
    }
    if (result == 0 && cg->ops->removed)
        cg->ops->removed(cg);
    if (result == 0)
        remove_empty_parents(cg);
    return result;
}

/* ---- what a `cgroup` mount inside the container needs ---- */

int
rt_cgroup_mounts(const struct rt_cgroup *cg, struct rt_cgroup_mount **ret, size_t *ret_n,
                 struct cm_error **err)
{
    (void)err;
    struct rt_cgroup_mount *out = xcalloc(cg->n ? cg->n : 1, sizeof(*out));
    size_t n = 0;
    for (size_t i = 0; i < cg->n; i++) {
        const struct cg_hier *h = &cg->h[i];
        if (!h->wanted)
            continue; /* a hierarchy the container is not in (hier_wanted) */
        struct rt_cgroup_mount *m = &out[n++];
        m->name = xstrdup(h->name);
        m->fstype = xstrdup(h->v2 ? "cgroup2" : "cgroup");
        if (h->v2)
            m->data = NULL;
        else if (!strncmp(h->controllers, "name=", 5))
            m->data = xasprintf("none,%s", h->controllers);
        else
            m->data = xstrdup(h->controllers);
        m->host_path = xstrdup(h->dir);
        /* "cpu,cpuacct" is also reached as "cpu" and "cpuacct" (runc does the same) */
        if (!h->v2 && strchr(h->controllers, ',') && strncmp(h->controllers, "name=", 5) != 0) {
            size_t k = 1;
            for (const char *s = h->controllers; *s; s++)
                k += *s == ',';
            m->symlinks = xcalloc(k + 1, sizeof(char *));
            cleanup_free char *copy = xstrdup(h->controllers);
            char *save = NULL;
            size_t j = 0;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (strcmp(t, h->name) != 0)
                    m->symlinks[j++] = xstrdup(t);
        }
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

void
rt_cgroup_mounts_free(struct rt_cgroup_mount *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++) {
        free(m[i].name);
        free(m[i].fstype);
        free(m[i].data);
        free(m[i].host_path);
        cm_strv_free(m[i].symlinks);
    }
    free(m);
}
