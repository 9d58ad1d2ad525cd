/* SPDX-License-Identifier: Apache-2.0 */
/* Image config to OCI runtime spec, with the Docker merge rules: an overriding
 * entrypoint drops the image's Cmd, env entries replace by key, USER names are
 * looked up in the image's own /etc/passwd and /etc/group. */
#include "img/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"

#define ETC_FILE_MAX (4u << 20)
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool
parse_id(const char *s, unsigned long *ret)
{
    char *end;
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return false;
    errno = 0;
    *ret = strtoul(s, &end, 10);
    return errno == 0 && *ret < 0xffffffffUL;
}

/* Finds line with field 0 == name (or field 2 == id when name is NULL) in a
 * colon-separated file; returns the fields (up to 7) in a copy. */
static char *
find_entry(const char *text, const char *name, const unsigned long *id, char *fields[7])
{
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = xstrndup(p, n);
        size_t k = 0;
        char *s = line;
        memset(fields, 0, 7 * sizeof(char *));
        while (k < 7) {
            fields[k++] = s;
            s = strchr(s, ':');
            if (!s)
                break;
            *s++ = '\0';
        }
        if (k >= 3 && line[0] != '#') {
            unsigned long v;
            if (name && !strcmp(fields[0], name))
                return line;
            if (!name && parse_id(fields[2], &v) && v == *id)
                return line;
        }
        free(line);
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

int
img_user_resolve(const char *user, const char *passwd, const char *group, uid_t *ret_uid,
                 gid_t *ret_gid, gid_t **ret_gids, size_t *ret_n_gids, struct cm_error **err)
{
    cleanup_free char *u = xstrdup(user && *user ? user : "0");
    char *g = strchr(u, ':');
    unsigned long uid = 0, gid = 0;
    bool have_gid = false, by_name = false;
    char *f[7];
    gid_t *gids = NULL;
    size_t n = 0;

    if (g)
        *g++ = '\0';
    if (!parse_id(u, &uid)) {
        cleanup_free char *line = passwd ? find_entry(passwd, u, NULL, f) : NULL;
        if (!line)
            return cm_error_set(err, ENOENT, "user '%s' not found in the image's /etc/passwd", u);
        if (!parse_id(f[2], &uid) || !f[3] || !parse_id(f[3], &gid))
            return cm_error_set(err, 0, "/etc/passwd: bad entry for '%s'", u);
        have_gid = true;
        by_name = true;
    } else if (passwd) {
        cleanup_free char *line = find_entry(passwd, NULL, &uid, f);
        if (line && f[3] && parse_id(f[3], &gid))
            have_gid = true;
    }
    if (g && *g) {
        if (!parse_id(g, &gid)) {
            cleanup_free char *line = group ? find_entry(group, g, NULL, f) : NULL;
            if (!line || !parse_id(f[2], &gid))
                return cm_error_set(err, ENOENT, "group '%s' not found in the image's /etc/group",
                                    g);
        }
        have_gid = true;
    }
    if (!have_gid)
        gid = 0;
    if (by_name && group && !(g && *g)) {
        /* Supplementary groups: every group listing the user as a member. */
        const char *p = group;
        while (p && *p) {
            const char *nl = strchr(p, '\n');
            cleanup_free char *line = xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
            char *save = NULL, *fl[4] = {0};
            char *s = line;
            size_t k = 0;
            while (k < 4) {
                fl[k++] = s;
                s = strchr(s, ':');
                if (!s)
                    break;
                *s++ = '\0';
            }
            unsigned long gv;
            if (k == 4 && fl[3] && parse_id(fl[2], &gv) && gv != gid) {
                for (char *m = strtok_r(fl[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
                    if (!strcmp(m, u)) {
                        gids = xrealloc(gids, (n + 1) * sizeof(*gids));
                        gids[n++] = (gid_t)gv;
                        break;
                    }
            }
            p = nl ? nl + 1 : NULL;
        }
    }
    *ret_uid = (uid_t)uid;
    *ret_gid = (gid_t)gid;
    *ret_gids = gids;
    *ret_n_gids = n;
    return 0;
}

/* Reads ETC file from the rootfs with every symlink resolved inside it. */
static char *
read_in_root(int rootfs_fd, const char *path)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    cleanup_close int fd = -1;
    char *buf = NULL;
    struct cm_error *err = NULL;

    if (rootfs_fd < 0)
        return NULL;
    fd = (int)syscall(SYS_openat2, rootfs_fd, path, &how, sizeof(how));
    if (fd < 0)
        return NULL;
    {
        /* cm_read_file_at takes a path: reopen the resolved file through its fd. */
        char p[64];
        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        if (cm_read_file_at(AT_FDCWD, p, ETC_FILE_MAX, &buf, NULL, &err) < 0) {
            cm_error_free(&err);
            return NULL;
        }
    }
    return buf;
}

static void
env_set(json_t *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
    size_t i;
    json_t *v;

    json_array_foreach (env, i, v) {
        const char *s = json_string_value(v);
        if (s && !strncmp(s, kv, klen) && (s[klen] == '=' || s[klen] == '\0')) {
            json_array_set_new(env, i, json_string(kv));
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
}

/* Docker's default capability set: what images expect root to be able to do. */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

static json_t *
caps_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
        json_array_append_new(a, json_string(default_caps[i]));
    return a;
}

static json_t *
default_mounts(void)
{
    return json_pack(
        "[{s:s,s:s,s:s,s:[s,s,s]},{s:s,s:s,s:s,s:[s,s,s,s]},{s:s,s:s,s:s,s:[s,s,s,s,s,s]},"
        "{s:s,s:s,s:s,s:[s,s,s,s]},{s:s,s:s,s:s,s:[s,s,s]},{s:s,s:s,s:s,s:[s,s,s,s]}]",
        "destination", "/proc", "type", "proc", "source", "proc", "options", "nosuid", "noexec",
        "nodev", "destination", "/dev", "type", "tmpfs", "source", "tmpfs", "options", "nosuid",
        "strictatime", "mode=755", "size=65536k", "destination", "/dev/pts", "type", "devpts",
        "source", "devpts", "options", "nosuid", "noexec", "newinstance", "ptmxmode=0666",
        "mode=0620", "gid=5", "destination", "/dev/shm", "type", "tmpfs", "source", "shm",
        "options", "nosuid", "noexec", "nodev", "mode=1777", "destination", "/dev/mqueue", "type",
        "mqueue", "source", "mqueue", "options", "nosuid", "noexec", "nodev", "destination", "/sys",
        "type", "sysfs", "source", "sysfs", "options", "nosuid", "noexec", "nodev", "ro");
}

json_t *
img_spec_from_config(const struct img_config *cfg, int rootfs_fd,
                     const struct img_spec_overrides *ov, struct cm_error **err)
{
    static const struct img_spec_overrides none = {0};
    json_auto_t *spec = NULL;
    json_t *args = json_array(), *env = json_array(), *user, *ann = json_object();
    cleanup_free char *passwd = NULL;
    cleanup_free char *group = NULL;
    cleanup_free gid_t *gids = NULL;
    char *const *ep, *const *cmd;
    const char *uspec, *cwd;
    uid_t uid;
    gid_t gid;
    size_t n_gids = 0;

    ov = ov ? ov : &none;
    ep = ov->entrypoint ? ov->entrypoint : cfg->entrypoint;
    /* Docker: a new entrypoint resets the image's Cmd. */
    cmd = ov->cmd ? ov->cmd : (ov->entrypoint ? NULL : cfg->cmd);
    for (char *const *p = ep; p && *p; p++)
        json_array_append_new(args, json_string(*p));
    for (char *const *p = cmd; p && *p; p++)
        json_array_append_new(args, json_string(*p));
    if (json_array_size(args) == 0) {
        json_decref(args);
        json_decref(env);
        json_decref(ann);
        return cm_error_set(err, 0, "image has neither Entrypoint nor Cmd and none was given"),
               NULL;
    }
    env_set(env, DEFAULT_PATH);
    for (char *const *p = cfg->env; p && *p; p++)
        env_set(env, *p);
    for (char *const *p = ov->env; p && *p; p++)
        env_set(env, *p);
    if (ov->terminal)
        env_set(env, "TERM=xterm");
    uspec = ov->user ? ov->user : cfg->user;
    passwd = read_in_root(rootfs_fd, "/etc/passwd");
    group = read_in_root(rootfs_fd, "/etc/group");
    if (img_user_resolve(uspec, passwd, group, &uid, &gid, &gids, &n_gids, err) < 0) {
        json_decref(args);
        json_decref(env);
        json_decref(ann);
        return NULL;
    }
    user = json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
    if (n_gids) {
        json_t *a = json_array();
        for (size_t i = 0; i < n_gids; i++)
            json_array_append_new(a, json_integer(gids[i]));
        json_object_set_new(user, "additionalGids", a);
    }
    cwd = ov->workdir && *ov->workdir ? ov->workdir
                                      : (cfg->workdir && *cfg->workdir ? cfg->workdir : "/");
    if (cwd[0] != '/') {
        json_decref(args);
        json_decref(env);
        json_decref(ann);
        json_decref(user);
        return cm_error_set(err, 0, "working directory '%s' is not absolute", cwd), NULL;
    }
    if (cfg->stop_signal)
        json_object_set_new(ann, "org.opencontainers.image.stopSignal",
                            json_string(cfg->stop_signal));
    if (cfg->exposed_ports) {
        cleanup_free char *ports = NULL;
        for (char *const *p = cfg->exposed_ports; *p; p++) {
            char *n = xasprintf("%s%s%s", ports ? ports : "", ports ? "," : "", *p);
            free(ports);
            ports = n;
        }
        json_object_set_new(ann, "org.opencontainers.image.exposedPorts", json_string(ports));
    }
    spec =
        json_pack("{s:s, s:{s:b, s:o, s:o, s:o, s:s, s:b}, s:{s:s, s:b}, s:s, s:o, s:{s:[{s:s},"
                  "{s:s},{s:s},{s:s},{s:s}], s:[s,s,s,s,s,s,s], s:[s,s,s,s,s,s]}, s:o}",
                  "ociVersion", "1.1.0", "process", "terminal", ov->terminal, "user", user, "args",
                  args, "env", env, "cwd", cwd, "noNewPrivileges", 1, "root", "path", "rootfs",
                  "readonly", 0, "hostname", ov->hostname ? ov->hostname : "skiff", "mounts",
                  default_mounts(), "linux", "namespaces", "type", "pid", "type", "network", "type",
                  "ipc", "type", "uts", "type", "mount", "maskedPaths", "/proc/acpi", "/proc/kcore",
                  "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/sched_debug",
                  "/sys/firmware", "readonlyPaths", "/proc/asound", "/proc/bus", "/proc/fs",
                  "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "annotations", ann);
    if (!spec)
        return cm_error_set(err, ENOMEM, "cannot build config.json"), NULL;
    json_object_set_new(json_object_get(spec, "process"), "capabilities",
                        json_pack("{s:o,s:o,s:o}", "bounding", caps_json(), "effective",
                                  caps_json(), "permitted", caps_json()));
    json_object_set_new(
        json_object_get(spec, "process"), "rlimits",
        json_pack("[{s:s,s:i,s:i}]", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024));
    return TAKE_PTR(spec);
}
