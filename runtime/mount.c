/* SPDX-License-Identifier: Apache-2.0 */
/* The container's root filesystem: propagation, config mounts resolved inside
 * the rootfs without following symlinks out of it (CVE-2021-30465: openat2
 * RESOLVE_IN_ROOT, then mount on /proc/self/fd/N), devices, pivot_root with
 * the MS_MOVE + chroot fallback, masked and read-only paths, sysctl. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/mount.h>
#include <linux/openat2.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "rt/cgroup.h"

static int
openat2_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    int fd;
    while (*path == '/')
        path++;
    if (!*path)
        path = ".";
    do
        fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    while (fd < 0 && errno == EAGAIN);
    return fd;
}

int
rt_open_in_root(int rootfd, const char *path, bool create, bool file, struct cm_error **err)
{
    char buf[PATH_MAX];
    cleanup_close int parent = -1;
    int fd;
    size_t len;
    char *p;

    fd = openat2_in_root(rootfd, path, O_PATH);
    if (fd >= 0 || errno != ENOENT || !create) {
        if (fd < 0)
            return cm_error_errno(err, "open '%s' in rootfs", path);
        return fd;
    }
    len = strlen(path);
    if (len >= sizeof(buf))
        return cm_error_set(err, ENAMETOOLONG, "path '%.64s...' too long", path);
    memcpy(buf, path, len + 1);
    /* Usually only the last component is missing (/dev/pts in a fresh
     * /dev): make it in its parent, else walk from the root below. */
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    p = strrchr(buf, '/');
    if (p && p > buf && p[1]) {
        *p = '\0';
        parent = openat2_in_root(rootfd, buf, O_PATH | O_DIRECTORY);
        *p = '/';
        if (parent >= 0) {
            if (file) {
                int c = openat(parent, p + 1, O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
                               0644);
                if (c < 0 && errno != EEXIST)
                    return cm_error_errno(err, "create '%s' in rootfs", buf);
                if (c >= 0)
                    close(c);
            } else if (mkdirat(parent, p + 1, 0755) < 0 && errno != EEXIST) {
                return cm_error_errno(err, "mkdir '%s' in rootfs", buf);
            }
            fd = openat2_in_root(rootfd, buf, O_PATH);
            if (fd < 0)
                return cm_error_errno(err, "open '%s' in rootfs", buf);
            return fd;
        }
        memcpy(buf, path, strlen(path) + 1);
    }
    parent = openat2_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
    if (parent < 0)
        return cm_error_errno(err, "open rootfs");
    p = buf;
    while (*p) {
        char *end, save;
        bool last;
        int next;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        end = p;
        while (*end && *end != '/')
            end++;
        save = *end;
        *end = 0;
        last = true;
        for (char *q = end + (save ? 1 : 0); save && *q; q++)
            if (*q != '/') {
                last = false;
                break;
            }
        next = openat2_in_root(rootfd, buf, O_PATH);
        if (next < 0 && errno == ENOENT) {
            if (last && file) {
                int c =
                    openat(parent, p, O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (c < 0 && errno != EEXIST)
                    return cm_error_errno(err, "create '%s' in rootfs", buf);
                if (c >= 0)
                    close(c);
            } else if (mkdirat(parent, p, 0755) < 0 && errno != EEXIST) {
                return cm_error_errno(err, "mkdir '%s' in rootfs", buf);
            }
            next = openat2_in_root(rootfd, buf, O_PATH);
        }
        if (next < 0)
            return cm_error_errno(err, "open '%s' in rootfs", buf);
        close(parent);
        parent = next;
        *end = save;
        p = end;
    }
    return TAKE_FD(parent);
}

static unsigned long
propagation_flags(enum rt_rootfs_propagation p)
{
    switch (p) {
    case RT_PROPAGATION_DEFAULT:
        return 0;
    case RT_PROPAGATION_PRIVATE:
        return MS_PRIVATE;
    case RT_PROPAGATION_RPRIVATE:
        return MS_PRIVATE | MS_REC;
    case RT_PROPAGATION_SLAVE:
        return MS_SLAVE;
    case RT_PROPAGATION_RSLAVE:
        return MS_SLAVE | MS_REC;
    case RT_PROPAGATION_SHARED:
        return MS_SHARED;
    case RT_PROPAGATION_RSHARED:
        return MS_SHARED | MS_REC;
    case RT_PROPAGATION_UNBINDABLE:
        return MS_UNBINDABLE;
    case RT_PROPAGATION_RUNBINDABLE:
        return MS_UNBINDABLE | MS_REC;
    }
    return 0;
}

static int
fd_path(int fd, char *buf, size_t n)
{
    return snprintf(buf, n, "/proc/self/fd/%d", fd);
}

/* The init's working directory while it builds the rootfs: the bundle, which
 * relative bind-mount sources are taken from (rt_rootfs_prepare). */
static int bundle_fd = -1;

/* mount(2) on what the fd opened. A directory is entered and mounted on as
 * "." (the kernel then walks nothing), then we go back to the bundle;
 * /proc/self/fd/N would cost a procfs lookup and a new inode per fd number.
 * Files, and bind sources relative to the bundle, take the magic link. */
static int
mount_on(int fd, const char *src, const char *type, unsigned long flags, const void *data)
{
    char tp[64];
    bool relative = (flags & MS_BIND) && !(flags & MS_REMOUNT) && src && src[0] != '/';

    if (!relative && bundle_fd >= 0 && fchdir(fd) == 0) {
        int r = mount(src, ".", type, flags, data);
        int saved = errno;
        if (fchdir(bundle_fd) < 0)
            return -1; /* relative sources would go wrong from here: fail */
        errno = saved;
        return r;
    }
    fd_path(fd, tp, sizeof(tp));
    return mount(src, tp, type, flags, data);
}

static unsigned long
locked_from(const struct statvfs *sv)
{
    unsigned long f = 0;
    if (sv->f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (sv->f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (sv->f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (sv->f_flag & ST_RDONLY)
        f |= MS_RDONLY;
    return f;
}

/* The flags that a bind remount of the mount fd is on must keep (locked in
 * user namespaces). */
static unsigned long
locked_flags_fd(int fd)
{
    struct statvfs sv;
    return fstatvfs(fd, &sv) < 0 ? 0 : locked_from(&sv);
}

#define REMOUNT_FLAGS                                                                              \
    (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |     \
     MS_STRICTATIME)

/* A `cgroup` mount: on v1/hybrid a tmpfs with one entry per hierarchy (the
 * container's own cgroup bound, or a fresh cgroup mount inside a cgroup
 * namespace); on pure v2 the cgroup2 tree itself. */
static int
mount_cgroup(struct rt_init_ctx *ctx, int rootfd, const struct rt_mount *m, int target,
             struct cm_error **err)
{
    struct rt_cgroup_mount *cm = NULL;
    size_t n = 0;
    bool cgns = rt_config_namespace(ctx->cfg, RT_NS_CGROUP) != NULL;
    unsigned long ro = m->flags & MS_RDONLY;
    unsigned long fl =
        (m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)) | MS_NOSUID | MS_NODEV | MS_NOEXEC;
    cleanup_close int dir = -1;
    int r = 0;

    if (!ctx->cg)
        return cm_error_set(err, ENOENT, "mount '%s': no cgroup", m->destination);
    /* the parent may still be making the directories bound here */
    if (!rt_init_wait_cgroup(ctx))
        return cm_error_set(err, EIO, "mount '%s': the runtime went away", m->destination);
    if (rt_cgroup_mounts(ctx->cg, &cm, &n, err) < 0)
        return -1;
    if (n == 1 && !*cm[0].name) {
        if (cgns)
            r = mount_on(target, "cgroup2", "cgroup2", fl | ro, NULL);
        else if ((r = mount_on(target, cm[0].host_path, NULL, MS_BIND | MS_REC, NULL)) == 0) {
            cleanup_close int t2 = rt_open_in_root(rootfd, m->destination, false, false, NULL);
            r = t2 < 0 ? -1 : mount_on(t2, NULL, NULL, MS_BIND | MS_REMOUNT | ro | fl, NULL);
        }
        rt_cgroup_mounts_free(cm, n);
        return r < 0 ? cm_error_errno(err, "mount cgroup2 on '%s'", m->destination) : 0;
    }
    if (mount_on(target, "tmpfs", "tmpfs", fl, "mode=755") < 0) {
        rt_cgroup_mounts_free(cm, n);
        return cm_error_errno(err, "mount tmpfs on '%s'", m->destination);
    }
    dir = rt_open_in_root(rootfd, m->destination, false, false, err);
    for (size_t i = 0; dir >= 0 && i < n && r == 0; i++) {
        cleanup_close int sub = -1;

        if (mkdirat(dir, cm[i].name, 0755) < 0 ||
            (sub = openat(dir, cm[i].name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            r = cm_error_errno(err, "mkdir cgroup '%s'", cm[i].name);
            break;
        }
        if (cgns) {
            if (mount_on(sub, "cgroup", cm[i].fstype, fl | ro, cm[i].data) < 0)
                r = cm_error_errno(err, "mount cgroup '%s'", cm[i].name);
        } else if (mount_on(sub, cm[i].host_path, NULL, MS_BIND | MS_REC, NULL) < 0) {
            r = cm_error_errno(err, "bind cgroup '%s'", cm[i].host_path);
        }
        for (char **l = cm[i].symlinks; r == 0 && l && *l; l++)
            if (symlinkat(cm[i].name, dir, *l) < 0 && errno != EEXIST)
                r = cm_error_errno(err, "symlink cgroup '%s'", *l);
    }
    rt_cgroup_mounts_free(cm, n);
    if (dir < 0 || r < 0)
        return -1;
    {
        /* One call for the tmpfs and every hierarchy under it, instead of a
         * bind remount each. */
        struct mount_attr attr = {
            .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                        (ro ? MOUNT_ATTR_RDONLY : 0),
        };
        cleanup_close int top = rt_open_in_root(rootfd, m->destination, false, false, err);
        if (top < 0)
            return -1;
        if (syscall(SYS_mount_setattr, top, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) <
            0)
            return cm_error_errno(err, "make '%s' read-only", m->destination);
    }
    return 0;
}

static int
do_mount(struct rt_init_ctx *ctx, int rootfd, const struct rt_mount *m, struct cm_error **err)
{
    cleanup_close int target = -1;
    bool file = false;
    const char *type = m->type;
    bool is_cgroup = type && (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2"));
    unsigned long flags = m->flags & ~(MS_BIND | MS_REC);

    if (m->bind) {
        struct stat st;
        if (!m->source)
            return cm_error_set(err, 0, "mount '%s': bind without source", m->destination);
        if (stat(m->source, &st) < 0)
            return cm_error_errno(err, "mount '%s': source '%s'", m->destination, m->source);
        file = !S_ISDIR(st.st_mode);
    }
    target = rt_open_in_root(rootfd, m->destination, true, file, err);
    if (target < 0)
        return cm_error_wrap(err, "mount '%s'", m->destination);

    if (is_cgroup) {
        if (mount_cgroup(ctx, rootfd, m, target, err) < 0)
            return -1;
    } else if (m->bind) {
        if (mount_on(target, m->source, NULL, MS_BIND | (m->recursive ? MS_REC : 0), NULL) < 0)
            return cm_error_errno(err, "bind '%s' on '%s'", m->source, m->destination);
        if (flags & REMOUNT_FLAGS) {
            cleanup_close int again = rt_open_in_root(rootfd, m->destination, false, false, err);
            if (again < 0)
                return -1;
            if (mount_on(again, NULL, NULL,
                         MS_BIND | MS_REMOUNT | (flags & REMOUNT_FLAGS) | locked_flags_fd(again),
                         NULL) < 0)
                return cm_error_errno(err, "remount '%s'", m->destination);
        }
    } else {
        if (mount_on(target, m->source ? m->source : type, type, flags, m->data) < 0)
            return cm_error_errno(err, "mount %s '%s' on '%s'", type ? type : "",
                                  m->source ? m->source : "", m->destination);
    }
    if (m->rec_attr_set || m->rec_attr_clr) {
        /* "rro", "rnosuid", ...: the whole subtree, in one call. */
        struct mount_attr attr = {.attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr};
        cleanup_close int again = rt_open_in_root(rootfd, m->destination, false, false, err);
        if (again < 0)
            return -1;
        if (syscall(SYS_mount_setattr, again, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                    sizeof(attr)) < 0)
            return cm_error_errno(err, "recursive attributes of '%s'", m->destination);
    }
    if (m->propagation) {
        cleanup_close int again = rt_open_in_root(rootfd, m->destination, false, false, err);
        if (again < 0)
            return -1;
        if (mount_on(again, NULL, NULL, m->propagation, NULL) < 0)
            return cm_error_errno(err, "set propagation of '%s'", m->destination);
    }
    return 0;
}

struct default_dev {
    const char *name;
    unsigned major, minor;
};

static const struct default_dev default_devices[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

/* The node `name` in the directory dfd. The caller runs with umask 0, so
 * mknod gives the mode asked for. */
static int
make_device_at(int dfd, const char *path, const char *name, char type, unsigned major,
               unsigned minor, mode_t mode, uid_t uid, gid_t gid, bool bind, bool chown_needed,
               struct cm_error **err)
{
    mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;

    if (bind) {
        cleanup_close int t = -1;
        char tp[64];
        t = openat(dfd, name, O_CREAT | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (t < 0)
            return cm_error_errno(err, "create '%s'", path);
        close(t);
        t = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        fd_path(t, tp, sizeof(tp));
        if (t < 0 || mount(path, tp, NULL, MS_BIND, NULL) < 0)
            return cm_error_errno(err, "bind device '%s'", path);
        return 0;
    }
    if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
        return cm_error_errno(err, "remove '%s'", path);
    if (mknodat(dfd, name, fmt | (mode & 07777), makedev(major, minor)) < 0)
        return cm_error_errno(err, "mknod '%s'", path);
    /* mknod leaves out the set-id and sticky bits on some filesystems */
    if ((mode & 07000) && fchmodat(dfd, name, mode & 07777, 0) < 0)
        return cm_error_errno(err, "set mode of '%s'", path);
    if (chown_needed && fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        return cm_error_errno(err, "set owner of '%s'", path);
    return 0;
}

/* A directory of the rootfs, created when missing. O_PATH is enough: the *at
 * calls take it as their directory (a reopen through /proc/self/fd would
 * cost a procfs lookup). */
static int
open_dir_in_root(int rootfd, const char *dir, struct cm_error **err)
{
    return rt_open_in_root(rootfd, dir, true, false, err);
}

/* Whether a node made in dfd by us needs a chown to get uid:gid: it is born
 * with our fsuid and fsgid, or the directory's group when that is set-gid. */
static bool
needs_chown(int dfd, uid_t uid, gid_t gid)
{
    struct stat st;
    if (uid != geteuid() || fstat(dfd, &st) < 0)
        return true;
    return gid != ((st.st_mode & S_ISGID) ? st.st_gid : getegid());
}

static int
make_device(int rootfd, const char *path, char type, unsigned major, unsigned minor, mode_t mode,
            uid_t uid, gid_t gid, bool bind, struct cm_error **err)
{
    cleanup_free char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *name;
    cleanup_close int dfd = -1;

    if (!slash)
        return cm_error_set(err, 0, "device path '%s' must be absolute", path);
    *slash = 0;
    name = slash + 1;
    if (!*name)
        return cm_error_set(err, 0, "invalid device path '%s'", path);
    dfd = open_dir_in_root(rootfd, *dir ? dir : "/", err);
    if (dfd < 0)
        return -1;
    return make_device_at(dfd, path, name, type, major, minor, mode, uid, gid, bind,
                          needs_chown(dfd, uid, gid), err);
}

static bool
has_mount_at(const struct rt_config *cfg, const char *dest)
{
    for (size_t i = 0; i < cfg->n_mounts; i++)
        if (!strcmp(cfg->mounts[i].destination, dest))
            return true;
    return false;
}

static int
setup_dev(const struct rt_init_ctx *ctx, int rootfd, struct cm_error **err)
{
    const struct rt_config *cfg = ctx->cfg;
    bool bind = rt_config_namespace(cfg, RT_NS_USER) != NULL;
    bool dev_bound = false;
    static const char *const links[][2] = {
        {"/proc/self/fd", "fd"},
        {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"},
    };
    cleanup_close int devfd = -1;
    bool chown_defaults;
    mode_t umask_saved;
    int r = 0;

    for (size_t i = 0; i < cfg->n_mounts; i++)
        if (!strcmp(cfg->mounts[i].destination, "/dev") && cfg->mounts[i].bind)
            dev_bound = true;
    if (dev_bound)
        return 0;
    /* One /dev fd for the default nodes and the links; umask 0 so that mknod
     * sets the modes itself (no chmod per node). */
    devfd = open_dir_in_root(rootfd, "/dev", err);
    if (devfd < 0)
        return -1;
    chown_defaults = needs_chown(devfd, 0, 0);
    umask_saved = umask(0);
    for (size_t i = 0; r == 0 && i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
        char path[32];
        bool overridden = false;
        snprintf(path, sizeof(path), "/dev/%s", default_devices[i].name);
        for (size_t j = 0; j < cfg->linux_.n_devices; j++)
            if (!strcmp(cfg->linux_.devices[j].path, path))
                overridden = true;
        if (overridden)
            continue;
        r = make_device_at(devfd, path, default_devices[i].name, 'c', default_devices[i].major,
                           default_devices[i].minor, 0666, 0, 0, bind, chown_defaults, err);
    }
    for (size_t j = 0; r == 0 && j < cfg->linux_.n_devices; j++) {
        const struct rt_device *d = &cfg->linux_.devices[j];
        r = make_device(rootfd, d->path, d->type == 'u' ? 'c' : d->type, (unsigned)d->major,
                        (unsigned)d->minor, d->has_mode ? d->mode : 0666, d->has_uid ? d->uid : 0,
                        d->has_gid ? d->gid : 0, bind, err);
    }
    umask(umask_saved);
    if (r < 0)
        return -1;
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        if (symlinkat(links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST)
            return cm_error_errno(err, "symlink /dev/%s", links[i][1]);
    if (has_mount_at(cfg, "/dev/pts")) {
        unlinkat(devfd, "ptmx", 0);
        if (symlinkat("pts/ptmx", devfd, "ptmx") < 0)
            return cm_error_errno(err, "symlink /dev/ptmx");
    }
    if (cfg->process.terminal) {
        int c = openat(devfd, "console", O_CREAT | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (c >= 0)
            close(c);
    }
    return 0;
}

int
rt_rootfs_prepare(struct rt_init_ctx *ctx, struct cm_error **err)
{
    const struct rt_config *cfg = ctx->cfg;
    cleanup_close int rootfd = -1;
    int r = 0;

    if (!rt_config_namespace(cfg, RT_NS_MOUNT))
        return 0;
    if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return cm_error_errno(err, "make / rslave");
    if (mount(ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return cm_error_errno(err, "bind rootfs '%s'", ctx->rootfs);
    rootfd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return cm_error_errno(err, "open rootfs '%s'", ctx->rootfs);
    bundle_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC); /* -1: mount_on takes the links */
    for (size_t i = 0; r == 0 && i < cfg->n_mounts; i++)
        r = do_mount(ctx, rootfd, &cfg->mounts[i], err);
    if (r == 0)
        r = setup_dev(ctx, rootfd, err);
    if (bundle_fd >= 0)
        close(bundle_fd);
    bundle_fd = -1;
    return r;
}

int
rt_rootfs_pivot(const struct rt_init_ctx *ctx, struct cm_error **err)
{
    cleanup_close int oldroot = -1;
    cleanup_close int newroot = -1;
    unsigned long prop;

    if (!rt_config_namespace(ctx->cfg, RT_NS_MOUNT)) {
        if (chroot(ctx->rootfs) < 0 || chdir("/") < 0)
            return cm_error_errno(err, "chroot '%s'", ctx->rootfs);
        return 0;
    }
    newroot = open(ctx->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (newroot < 0 || fchdir(newroot) < 0)
        return cm_error_errno(err, "enter rootfs '%s'", ctx->rootfs);
    if (!ctx->opts->no_pivot) {
        oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (oldroot < 0)
            return cm_error_errno(err, "open /");
        if (syscall(SYS_pivot_root, ".", ".") == 0) {
            if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
                umount2(".", MNT_DETACH) < 0)
                return cm_error_errno(err, "detach the old root");
            if (chdir("/") < 0)
                return cm_error_errno(err, "chdir /");
            goto propagation;
        }
        if (errno != EINVAL)
            return cm_error_errno(err, "pivot_root");
        /* A ramfs/initramfs root cannot be pivoted: move it instead. */
    }
    if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
        return cm_error_errno(err, "move rootfs to /");
    if (chroot(".") < 0 || chdir("/") < 0)
        return cm_error_errno(err, "chroot");
propagation:
    prop = propagation_flags(ctx->cfg->linux_.rootfs_propagation);
    if (prop && mount(NULL, "/", NULL, prop, NULL) < 0)
        return cm_error_errno(err, "set rootfsPropagation");
    return 0;
}

static int
mask_path(const char *path, struct cm_error **err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : cm_error_errno(err, "masked path '%s'", path);
    if (S_ISDIR(st.st_mode)) {
        if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
            return cm_error_errno(err, "mask '%s'", path);
    } else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0 && errno != ENOENT) {
        return cm_error_errno(err, "mask '%s'", path);
    }
    return 0;
}

/* Read-only on the mounts at path (and below with AT_RECURSIVE): only the
 * flag is added, the others (nosuid...) stay, with no statvfs to find them. */
static int
set_readonly(const char *path, unsigned flags)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof(attr));
}

static int
readonly_path(const char *path, struct cm_error **err)
{
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return errno == ENOENT ? 0 : cm_error_errno(err, "readonly path '%s'", path);
    if (set_readonly(path, AT_RECURSIVE) < 0)
        return cm_error_errno(err, "remount '%s' read-only", path);
    return 0;
}

int
rt_rootfs_finish(const struct rt_init_ctx *ctx, struct cm_error **err)
{
    const struct rt_linux *l = &ctx->cfg->linux_;

    for (char **p = l->masked_paths; p && *p; p++)
        if (mask_path(*p, err) < 0)
            return -1;
    for (char **p = l->readonly_paths; p && *p; p++)
        if (readonly_path(*p, err) < 0)
            return -1;
    if (ctx->cfg->root.readonly && set_readonly("/", 0) < 0)
        return cm_error_errno(err, "remount / read-only");
    return 0;
}

static bool
ipc_sysctl(const char *k)
{
    static const char *const names[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                        "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                        "kernel.shmmni", "kernel.shm_rmid_forced"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (!strcmp(k, names[i]))
            return true;
    return !strncmp(k, "fs.mqueue.", 10);
}

int
rt_sysctl_validate(const struct rt_config *cfg, struct cm_error **err)
{
    for (size_t i = 0; i < cfg->linux_.n_sysctl; i++) {
        const char *k = cfg->linux_.sysctl[i].key;
        if (!*k || strstr(k, "..") || k[0] == '.' || k[0] == '/')
            return cm_error_set(err, 0, "linux.sysctl: invalid key '%s'", k);
        if (ipc_sysctl(k)) {
            if (!rt_config_namespace(cfg, RT_NS_IPC))
                return cm_error_set(err, 0, "linux.sysctl: '%s' requires an ipc namespace", k);
        } else if (!strncmp(k, "net.", 4)) {
            if (!rt_config_namespace(cfg, RT_NS_NETWORK))
                return cm_error_set(err, 0, "linux.sysctl: '%s' requires a network namespace", k);
        } else if (!strcmp(k, "kernel.hostname") || !strcmp(k, "kernel.domainname")) {
            if (!rt_config_namespace(cfg, RT_NS_UTS))
                return cm_error_set(err, 0, "linux.sysctl: '%s' requires a uts namespace", k);
        } else {
            return cm_error_set(err, 0, "linux.sysctl: '%s' is not namespaced and not allowed", k);
        }
    }
    return 0;
}

int
rt_sysctl_apply(const struct rt_config *cfg, struct cm_error **err)
{
    for (size_t i = 0; i < cfg->linux_.n_sysctl; i++) {
        char path[PATH_MAX];
        size_t n = (size_t)snprintf(path, sizeof(path), "/proc/sys/%s", cfg->linux_.sysctl[i].key);
        for (size_t j = 10; j < n && j < sizeof(path); j++)
            if (path[j] == '.')
                path[j] = '/';
        if (cm_write_file_at(AT_FDCWD, path, cfg->linux_.sysctl[i].value, err) < 0)
            return cm_error_wrap(err, "sysctl '%s'", cfg->linux_.sysctl[i].key);
    }
    return 0;
}
