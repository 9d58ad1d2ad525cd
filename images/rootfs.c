/* SPDX-License-Identifier: Apache-2.0 */
/* Rootfs assembly: overlay mounts of snapshots, and the plain-copy merge that
 * applies snapshots in order (whiteout devices remove, opaque dirs reset). */
#include "img/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/xalloc.h"
#include "img/unpack.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define XATTR_LIST_MAX_BYTES 65536

struct inomap {
    dev_t dev;
    ino_t ino;
    char *path; /* relative to dest */
};

#define COPY_QUEUE 64

/* A file whose data and metadata a worker copies while the tree walk goes on. */
struct copy_job {
    int in, out;
    struct stat st;
    char *path;
};

struct merge {
    struct inomap *links;
    size_t n_links, cap_links;
    /* One copy worker: the walk creates the files (so hard links to them work
     * at once), the worker fills them; both cores are busy. */
    pthread_t worker;
    bool has_worker, done;
    pthread_mutex_t mu;
    pthread_cond_t can_put, can_get;
    struct copy_job q[COPY_QUEUE];
    size_t head, count;
    struct cm_error *copy_err; /* the worker's first error */
    char buf[256 * 1024];
};

static int
copy_xattrs(int src, int dst, struct cm_error **err)
{
    char list[XATTR_LIST_MAX_BYTES];
    ssize_t n = flistxattr(src, list, sizeof(list));

    if (n < 0)
        return errno == ENOTSUP ? 0 : cm_error_errno(err, "list xattrs");
    for (char *k = list; k < list + n; k += strlen(k) + 1) {
        char val[XATTR_LIST_MAX_BYTES];
        ssize_t v;
        if (strncmp(k, "user.", 5) && strcmp(k, "security.capability"))
            continue;
        v = fgetxattr(src, k, val, sizeof(val));
        if (v < 0)
            continue;
        if (fsetxattr(dst, k, val, (size_t)v, 0) < 0 && errno != ENOTSUP)
            return cm_error_errno(err, "set xattr '%s'", k);
    }
    return 0;
}

static int
copy_meta_fd(int src, int dst, const struct stat *st, struct cm_error **err)
{
    struct timespec ts[2] = {st->st_atim, st->st_mtim};
    if (fchown(dst, st->st_uid, st->st_gid) < 0)
        return cm_error_errno(err, "chown");
    if (fchmod(dst, st->st_mode & 07777) < 0)
        return cm_error_errno(err, "chmod");
    if (copy_xattrs(src, dst, err) < 0)
        return -1;
    if (futimens(dst, ts) < 0)
        return cm_error_errno(err, "set times");
    return 0;
}

static int
copy_data(struct merge *mg, int in, int out, const struct stat *st, struct cm_error **err)
{
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
            n = read(in, mg->buf, sizeof(mg->buf));
            if (n > 0) {
                char *p = mg->buf;
                ssize_t left = n;
                while (left > 0) {
                    ssize_t w = write(out, p, (size_t)left);
                    if (w < 0)
                        return cm_error_errno(err, "write");
                    p += w;
                    left -= w;
                }
            }
        }
        if (n < 0)
            return cm_error_errno(err, "copy");
        if (n == 0)
            break;
    }
    return copy_meta_fd(in, out, st, err);
}

static void *
copy_worker(void *ud)
{
    struct merge *mg = ud;
    for (;;) {
        struct copy_job j;
        struct cm_error *e = NULL;
        bool skip;
        pthread_mutex_lock(&mg->mu);
        while (mg->count == 0 && !mg->done)
            pthread_cond_wait(&mg->can_get, &mg->mu);
        if (mg->count == 0) {
            pthread_mutex_unlock(&mg->mu);
            return NULL;
        }
        j = mg->q[(mg->head + COPY_QUEUE - mg->count) % COPY_QUEUE];
        mg->count--;
        skip = mg->copy_err != NULL;
        pthread_cond_signal(&mg->can_put);
        pthread_mutex_unlock(&mg->mu);
        if (!skip && copy_data(mg, j.in, j.out, &j.st, &e) < 0) {
            cm_error_wrap(&e, "'%s'", j.path);
            pthread_mutex_lock(&mg->mu);
            if (!mg->copy_err)
                mg->copy_err = TAKE_PTR(e);
            pthread_mutex_unlock(&mg->mu);
            cm_error_free(&e);
        }
        close(j.in);
        close(j.out);
        free(j.path);
    }
}

static int
copy_file(struct merge *mg, int sdir, int ddir, const char *name, const char *path,
          const struct stat *st, struct cm_error **err)
{
    cleanup_close int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    cleanup_close int out = -1;

    if (in < 0)
        return cm_error_errno(err, "open");
    out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        return cm_error_errno(err, "create");
    if (!mg->has_worker)
        return copy_data(mg, in, out, st, err);
    pthread_mutex_lock(&mg->mu);
    while (mg->count == COPY_QUEUE)
        pthread_cond_wait(&mg->can_put, &mg->mu);
    mg->q[mg->head] = (struct copy_job){TAKE_FD(in), TAKE_FD(out), *st, xstrdup(path)};
    mg->head = (mg->head + 1) % COPY_QUEUE;
    mg->count++;
    pthread_cond_signal(&mg->can_get);
    pthread_mutex_unlock(&mg->mu);
    return 0;
}

static int apply_dir(struct merge *mg, int sdir, int ddir, const char *rel, struct cm_error **err);

static int
apply_entry(struct merge *mg, int sdir, int ddir, const char *rel, const char *name,
            struct cm_error **err)
{
    struct stat st, dst;
    bool exists = fstatat(ddir, name, &dst, AT_SYMLINK_NOFOLLOW) == 0;
    cleanup_free char *path = *rel ? xasprintf("%s/%s", rel, name) : xstrdup(name);

    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return cm_error_errno(err, "stat '%s'", path);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
        /* whiteout */
        return exists ? cm_rm_rf_at(ddir, name, err) : 0;
    }
    if (S_ISDIR(st.st_mode)) {
        cleanup_close int s = -1;
        cleanup_close int d = -1;
        char v[4];
        ssize_t ov;
        s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0)
            return cm_error_errno(err, "open '%s'", path);
        ov = fgetxattr(s, OPAQUE_XATTR, v, sizeof(v));
        if (exists && (!S_ISDIR(dst.st_mode) || (ov == 1 && v[0] == 'y'))) {
            if (cm_rm_rf_at(ddir, name, err) < 0)
                return cm_error_wrap(err, "'%s'", path);
            exists = false;
        }
        if (!exists && mkdirat(ddir, name, 0700) < 0)
            return cm_error_errno(err, "mkdir '%s'", path);
        d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
            return cm_error_errno(err, "open '%s'", path);
        if (apply_dir(mg, s, d, path, err) < 0)
            return -1;
        if (copy_meta_fd(s, d, &st, err) < 0)
            return cm_error_wrap(err, "'%s'", path);
        return 0;
    }
    if (exists && cm_rm_rf_at(ddir, name, err) < 0)
        return cm_error_wrap(err, "'%s'", path);
    if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
        for (size_t i = 0; i < mg->n_links; i++)
            if (mg->links[i].dev == st.st_dev && mg->links[i].ino == st.st_ino) {
                /* Hard link within this snapshot: link to the first copy. */
                if (linkat(AT_FDCWD, mg->links[i].path, ddir, name, 0) == 0)
                    return 0;
                break;
            }
    }
    if (S_ISREG(st.st_mode)) {
        if (copy_file(mg, sdir, ddir, name, path, &st, err) < 0)
            return cm_error_wrap(err, "'%s'", path);
        if (st.st_nlink > 1) {
            char fdpath[64];
            cleanup_free char *abs = NULL;
            snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", ddir);
            abs = realpath(fdpath, NULL);
            mg->links =
                xreallocarray_grow(mg->links, &mg->cap_links, mg->n_links + 1, sizeof(*mg->links));
            mg->links[mg->n_links++] =
                (struct inomap){st.st_dev, st.st_ino, xasprintf("%s/%s", abs ? abs : ".", name)};
        }
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        if (n < 0)
            return cm_error_errno(err, "readlink '%s'", path);
        target[n] = '\0';
        if (symlinkat(target, ddir, name) < 0 ||
            fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return cm_error_errno(err, "symlink '%s'", path);
        return 0;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0 ||
            fchownat(ddir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(ddir, name, st.st_mode & 07777, 0) < 0 ||
            utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
            return cm_error_errno(err, "mknod '%s'", path);
        return 0;
    }
    return 0; /* sockets: nothing to copy */
}

static int
apply_dir(struct merge *mg, int sdir, int ddir, const char *rel, struct cm_error **err)
{
    int fd = fcntl(sdir, F_DUPFD_CLOEXEC, 0);
    cleanup_dir DIR *d = NULL;
    struct dirent *de;

    if (fd < 0)
        return cm_error_errno(err, "dup");
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return cm_error_errno(err, "opendir");
    }
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (apply_entry(mg, sdir, ddir, rel, de->d_name, err) < 0)
            return -1;
    }
    return 0;
}

int
img_snapshot_apply(int snap_fd, int dest_fd, struct cm_error **err)
{
    struct merge *mg = xcalloc(1, sizeof(*mg));
    char v[4];
    int r;

    pthread_mutex_init(&mg->mu, NULL);
    pthread_cond_init(&mg->can_put, NULL);
    pthread_cond_init(&mg->can_get, NULL);
    mg->has_worker = pthread_create(&mg->worker, NULL, copy_worker, mg) == 0;

    /* An opaque root hides everything below. */
    if (fgetxattr(snap_fd, OPAQUE_XATTR, v, sizeof(v)) == 1 && v[0] == 'y') {
        int fd = fcntl(dest_fd, F_DUPFD_CLOEXEC, 0);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                cm_rm_rf_at(dest_fd, de->d_name, NULL);
        if (d)
            closedir(d);
    }
    r = apply_dir(mg, snap_fd, dest_fd, "", err);
    /* Every file of this layer is complete before the next layer applies. */
    if (mg->has_worker) {
        pthread_mutex_lock(&mg->mu);
        mg->done = true;
        pthread_cond_broadcast(&mg->can_get);
        pthread_mutex_unlock(&mg->mu);
        pthread_join(mg->worker, NULL);
    }
    if (r == 0 && mg->copy_err) {
        *err = TAKE_PTR(mg->copy_err);
        r = -1;
    }
    cm_error_free(&mg->copy_err);
    pthread_cond_destroy(&mg->can_get);
    pthread_cond_destroy(&mg->can_put);
    pthread_mutex_destroy(&mg->mu);
    for (size_t i = 0; i < mg->n_links; i++)
        free(mg->links[i].path);
    free(mg->links);
    free(mg);
    return r;
}

int
img_rootfs_unpack(struct img_store *s, const struct img_image *img, const char *dest,
                  struct cm_error **err)
{
    cleanup_close int dfd = -1;
    cleanup_dir DIR *check = NULL;
    struct dirent *de;

    if (cm_mkdir_p(dest, 0755, err) < 0)
        return -1;
    dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return cm_error_errno(err, "open '%s'", dest);
    check = opendir(dest);
    while (check && (de = readdir(check)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            return cm_error_set(err, ENOTEMPTY, "unpack: '%s' is not empty", dest);
    for (size_t i = 0; i < img->n_layers; i++) {
        cleanup_free char *sp = img_store_snapshot_path(s, img->diff_ids[i]);
        cleanup_close int sfd = open(sp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0)
            return cm_error_errno(err, "unpack: layer %zu snapshot '%s' (pull again?)", i + 1, sp);
        if (img_snapshot_apply(sfd, dfd, err) < 0)
            return cm_error_wrap(err, "unpack: layer %zu", i + 1);
    }
    if (fchmod(dfd, 0755) < 0)
        return cm_error_errno(err, "chmod '%s'", dest);
    return 0;
}

int
img_rootfs_mount(struct img_store *s, const struct img_image *img, const char *upper,
                 const char *work, const char *target, bool *ret_copied, struct cm_error **err)
{
    cleanup_free char *lower = NULL;
    cleanup_free char *opts = NULL;
    size_t len = 0;

    if (cm_mkdir_p(upper, 0755, err) < 0 || cm_mkdir_p(work, 0700, err) < 0 ||
        cm_mkdir_p(target, 0755, err) < 0)
        return -1;
    if (ret_copied)
        *ret_copied = false;
    for (size_t i = img->n_layers; i-- > 0;) {
        cleanup_free char *sp = img_store_snapshot_path(s, img->diff_ids[i]);
        size_t n = strlen(sp);
        lower = xrealloc(lower, len + n + 2);
        if (len)
            lower[len++] = ':';
        memcpy(lower + len, sp, n + 1);
        len += n;
    }
    if (img->n_layers == 0) {
        /* overlay needs a lower dir: an empty image is just its upper dir. */
        if (mount(upper, target, NULL, MS_BIND, NULL) < 0)
            return cm_error_errno(err, "bind mount '%s'", upper);
        if (ret_copied)
            *ret_copied = true;
        return 0;
    }
    opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
    if (img->n_layers == 1 || strlen(opts) < 4000) {
        if (mount("overlay", target, "overlay", 0, opts) == 0)
            return 0;
        if (errno != ENODEV && errno != EINVAL && errno != ENOSYS)
            return cm_error_errno(err, "overlay mount at '%s'", target);
    }
    /* No overlayfs (or too many layers for one mount): copy into upper. */
    {
        cleanup_close int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ufd < 0)
            return cm_error_errno(err, "open '%s'", upper);
        for (size_t i = 0; i < img->n_layers; i++) {
            cleanup_free char *sp = img_store_snapshot_path(s, img->diff_ids[i]);
            cleanup_close int sfd = open(sp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sfd < 0)
                return cm_error_errno(err, "open snapshot '%s'", sp);
            if (img_snapshot_apply(sfd, ufd, err) < 0)
                return -1;
        }
    }
    if (mount(upper, target, NULL, MS_BIND, NULL) < 0)
        return cm_error_errno(err, "bind mount '%s'", upper);
    if (ret_copied)
        *ret_copied = true;
    return 0;
}
