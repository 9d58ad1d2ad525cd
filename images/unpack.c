/* SPDX-License-Identifier: Apache-2.0 */
/* Layer extraction with libarchive. Hostile layers are the normal case: every
 * member name is cleaned, parents are walked one component at a time with
 * O_NOFOLLOW (a symlink in a parent, even one made earlier in the same layer,
 * refuses the layer), leaves are created with O_EXCL/O_NOFOLLOW, hard links must
 * point inside the snapshot, and the uncompressed size is capped. */
#include "img/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/xalloc.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define DCACHE_SIZE 64
#define SPARSE_BLOCK 4096

static void
archive_freep(struct archive **a)
{
    if (*a)
        archive_read_free(*a);
}
#define cleanup_archive __attribute__((cleanup(archive_freep)))

int
img_member_path_clean(const char *name, char **ret, struct cm_error **err)
{
    size_t n = strlen(name);
    char *out, *o;
    const char *p = name;

    if (n == 0)
        return cm_error_set(err, 0, "empty member name");
    if (n >= PATH_MAX)
        return cm_error_set(err, ENAMETOOLONG, "member name longer than %d bytes", PATH_MAX);
    if (name[0] == '/')
        return cm_error_set(err, 0, "absolute member name '%s'", name);
    out = o = xmalloc(n + 1);
    while (*p) {
        const char *s = p;
        size_t len;
        while (*p && *p != '/')
            p++;
        len = (size_t)(p - s);
        while (*p == '/')
            p++;
        if (len == 0 || (len == 1 && s[0] == '.'))
            continue;
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            free(out);
            return cm_error_set(err, 0, "member name '%s' contains '..'", name);
        }
        if (o != out)
            *o++ = '/';
        memcpy(o, s, len);
        o += len;
    }
    *o = '\0';
    *ret = out;
    return 0;
}

int
img_whiteout_parse(const char *clean_path, enum img_whiteout *ret, char **ret_target,
                   struct cm_error **err)
{
    const char *slash = strrchr(clean_path, '/');
    const char *base = slash ? slash + 1 : clean_path;
    size_t dirlen = slash ? (size_t)(slash - clean_path) : 0;

    *ret = IMG_WHITEOUT_NONE;
    if (strncmp(base, ".wh.", 4))
        return 0;
    if (!strcmp(base, ".wh..wh..opq")) {
        *ret = IMG_WHITEOUT_OPAQUE;
        *ret_target = xstrndup(clean_path, dirlen);
        return 0;
    }
    if (!strncmp(base, ".wh..wh.", 8)) {
        *ret = IMG_WHITEOUT_META;
        return 0;
    }
    base += 4;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return cm_error_set(err, 0, "malformed whiteout '%s'", clean_path);
    *ret = IMG_WHITEOUT_FILE;
    *ret_target = slash ? xasprintf("%.*s/%s", (int)dirlen, clean_path, base) : xstrdup(base);
    return 0;
}

/* --- extraction state ----------------------------------------------------- */

struct dirtime {
    char *path;
    struct timespec ts[2];
};

struct extractor {
    int root_fd;
    const struct img_unpack_opts *o;
    struct img_layer_stream *in; /* the uncompressed stream (decompression thread) */
    struct cm_error *in_err;
    /* Recently opened parent directories (tar streams visit a few at a time). */
    struct dcache_ent {
        char *path;
        uint32_t hash;
        int fd;
    } dcache[DCACHE_SIZE];
    size_t dcache_next;
    struct dirtime *dirtimes;
    size_t n_dirtimes, cap_dirtimes;
};

static la_ssize_t
tar_read_cb(struct archive *a, void *ud, const void **buf)
{
    struct extractor *x = ud;
    ssize_t n;

    cm_error_free(&x->in_err);
    n = img_layer_stream_read(x->in, buf, &x->in_err);
    if (n < 0) {
        archive_set_error(a, EIO, "%s", x->in_err->msg);
        return -1;
    }
    return n;
}

static void
cache_drop(struct extractor *x)
{
    for (size_t i = 0; i < DCACHE_SIZE; i++) {
        if (x->dcache[i].path) {
            close(x->dcache[i].fd);
            free(x->dcache[i].path);
        }
        x->dcache[i].path = NULL;
        x->dcache[i].fd = -1;
    }
}

static uint32_t
path_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int
cache_lookup(struct extractor *x, const char *path, size_t n)
{
    uint32_t h = path_hash(path, n);
    for (size_t i = 0; i < DCACHE_SIZE; i++) {
        struct dcache_ent *e = &x->dcache[i];
        if (e->path && e->hash == h && strlen(e->path) == n && !memcmp(e->path, path, n))
            return e->fd;
    }
    return -1;
}

static void
cache_insert(struct extractor *x, const char *path, int fd)
{
    struct dcache_ent *e = &x->dcache[x->dcache_next++ % DCACHE_SIZE];
    if (e->path) {
        close(e->fd);
        free(e->path);
    }
    e->path = xstrdup(path);
    e->hash = path_hash(path, strlen(path));
    e->fd = fd;
}

/* Opens (creating as 0755 root dirs when missing) the directory `dir` below the
 * root without following any symlink. The fd is borrowed from a small cache and
 * stays valid until the next open_parent() or cache_drop(). */
static int
open_parent(struct extractor *x, const char *dir, bool create, struct cm_error **err)
{
    size_t n = strlen(dir), start = 0;
    int cur = x->root_fd, base;
    cleanup_free char *copy = NULL;
    char *p, *save = NULL;

    if (n == 0)
        return x->root_fd;
    if ((cur = cache_lookup(x, dir, n)) >= 0)
        return cur;
    cur = x->root_fd;
    /* Start from the nearest cached ancestor. */
    for (size_t k = n; k-- > 0;) {
        if (dir[k] != '/')
            continue;
        int fd = cache_lookup(x, dir, k);
        if (fd >= 0) {
            cur = fd;
            start = k + 1;
            break;
        }
    }
    base = cur;
    copy = xstrdup(dir + start);
    for (p = strtok_r(copy, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
        /* Each directory opened on the way is cached too (siblings follow). */
        if (cur != base) {
            char *prefix = xstrndup(dir, start + (size_t)(p - copy) - 1);
            cache_insert(x, prefix, cur);
            free(prefix);
            base = cur;
        }
        int next = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(cur, p, 0755) < 0 && errno != EEXIST) {
                int e = errno;
                if (cur != base)
                    close(cur);
                errno = e;
                return cm_error_errno(err, "mkdir '%s'", p);
            }
            next = openat(cur, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            int e = errno;
            struct stat st;
            bool is_link = fstatat(cur, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
            if (cur != base)
                close(cur);
            if (is_link || e == ELOOP)
                return cm_error_set(err, ELOOP, "parent '%s' is a symlink", p);
            errno = e;
            return cm_error_errno(err, "parent '%s'", p);
        }
        if (cur != base)
            close(cur);
        cur = next;
    }
    cache_insert(x, dir, cur);
    return cur;
}

static void
split_path(const char *path, char **ret_dir, const char **ret_base)
{
    const char *slash = strrchr(path, '/');
    *ret_dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
    *ret_base = slash ? slash + 1 : path;
}

/* Removes whatever is at pfd/base unless both old and new are directories. */
static int
clear_slot(struct extractor *x, int pfd, const char *base, bool new_is_dir, bool *ret_keep_dir,
           struct cm_error **err)
{
    struct stat st;

    *ret_keep_dir = false;
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return cm_error_errno(err, "stat");
    }
    if (S_ISDIR(st.st_mode) && new_is_dir) {
        *ret_keep_dir = true;
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        /* The cached parent may live below the tree about to go: keep pfd valid
         * by re-opening later. */
        int dup = fcntl(pfd, F_DUPFD_CLOEXEC, 0);
        int r;
        if (dup < 0)
            return cm_error_errno(err, "dup");
        cache_drop(x);
        r = cm_rm_rf_at(dup, base, err);
        close(dup);
        return r;
    }
    return cm_rm_rf_at(pfd, base, err);
}

static int
apply_xattrs(struct archive_entry *e, int fd, const char *member, struct cm_error **err)
{
    const char *name;
    const void *value;
    size_t size;

    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
        /* trusted.* would let a layer forge overlay metadata; other namespaces
         * (selinux labels, ACLs) belong to the host policy, not the image. */
        if (strncmp(name, "user.", 5) && strcmp(name, "security.capability")) {
            cm_log_debug("member '%s': xattr '%s' not applied, ignoring", member, name);
            continue;
        }
        if (fsetxattr(fd, name, value, size, 0) < 0) {
            if (errno == ENOTSUP)
                continue;
            return cm_error_errno(err, "set xattr '%s'", name);
        }
    }
    return 0;
}

static int
set_owner_mode(int fd, struct archive_entry *e, struct cm_error **err)
{
    if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
        return cm_error_errno(err, "chown");
    if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
        return cm_error_errno(err, "chmod");
    return 0;
}

static void
entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    } else {
        ts[0] = ts[1];
    }
}

static bool
is_zero(const char *p, size_t n)
{
    /* p[0] == 0 and every byte equals its successor (libarchive buffers have
     * no alignment guarantee, so no word loads). */
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

static int
write_at(int fd, const char *p, size_t len, la_int64_t off, la_int64_t *written)
{
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
        off += w;
    }
    *written = off;
    return 0;
}

/* Creates base below pfd with the member's data and metadata; returns 1
 * (without error) when the name already exists. */
static int
write_file(struct extractor *x, struct archive *a, struct archive_entry *e, int pfd,
           const char *base, struct cm_error **err)
{
    cleanup_close int fd = -1;
    const void *buf;
    size_t size;
    la_int64_t off, end = 0, written = 0;
    struct timespec ts[2];
    int r;

    (void)x;
    fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return 1; /* the caller clears the slot and calls again */
    if (fd < 0)
        return cm_error_errno(err, "create");
    while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
        const char *p = buf, *run = buf;
        la_int64_t run_off = off;
        end = off + (la_int64_t)size;
        /* Whole zero blocks (aligned in the file) become holes: same content for
         * readers, nothing allocated or written. The rest goes out in as few
         * writes as the holes allow. */
        while (size > 0) {
            size_t chunk = SPARSE_BLOCK - (size_t)(off % SPARSE_BLOCK);
            if (chunk > size)
                chunk = size;
            if (chunk == SPARSE_BLOCK && is_zero(p, chunk)) {
                if (p > run && write_at(fd, run, (size_t)(p - run), run_off, &written) < 0)
                    return cm_error_errno(err, "write");
                run = p + chunk;
                run_off = off + (la_int64_t)chunk;
            }
            p += chunk;
            size -= chunk;
            off += (la_int64_t)chunk;
        }
        if (p > run && write_at(fd, run, (size_t)(p - run), run_off, &written) < 0)
            return cm_error_errno(err, "write");
    }
    if (r != ARCHIVE_EOF)
        return cm_error_set(err, EIO, "read data: %s",
                            archive_error_string(a) ? archive_error_string(a) : "failed");
    if (archive_entry_size(e) > end)
        end = archive_entry_size(e);
    if (end > written && ftruncate(fd, end) < 0)
        return cm_error_errno(err, "truncate");
    if (set_owner_mode(fd, e, err) < 0 || apply_xattrs(e, fd, archive_entry_pathname(e), err) < 0)
        return -1;
    entry_times(e, ts);
    if (futimens(fd, ts) < 0)
        return cm_error_errno(err, "set times");
    return 0;
}

static int
make_dir(struct extractor *x, struct archive_entry *e, const char *path, int pfd, const char *base,
         bool keep, struct cm_error **err)
{
    cleanup_close int fd = -1;

    if (!keep && mkdirat(pfd, base, 0700) < 0)
        return cm_error_errno(err, "mkdir");
    fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return cm_error_errno(err, "open dir");
    if (set_owner_mode(fd, e, err) < 0 || apply_xattrs(e, fd, path, err) < 0)
        return -1;
    /* Directory times are set at the end: creating children changes them. */
    x->dirtimes =
        xreallocarray_grow(x->dirtimes, &x->cap_dirtimes, x->n_dirtimes + 1, sizeof(*x->dirtimes));
    x->dirtimes[x->n_dirtimes].path = xstrdup(path);
    entry_times(e, x->dirtimes[x->n_dirtimes].ts);
    x->n_dirtimes++;
    return 0;
}

static int
make_special(struct archive_entry *e, int pfd, const char *base, struct cm_error **err)
{
    mode_t type = archive_entry_filetype(e);
    dev_t dev = 0;
    struct timespec ts[2];

    if (type == AE_IFCHR || type == AE_IFBLK)
        dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    if (mknodat(pfd, base,
                (type == AE_IFIFO   ? S_IFIFO
                 : type == AE_IFCHR ? S_IFCHR
                                    : S_IFBLK) |
                    0600,
                dev) < 0)
        return cm_error_errno(err, "mknod");
    if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                 AT_SYMLINK_NOFOLLOW) < 0)
        return cm_error_errno(err, "chown");
    /* fchmodat never follows here: base was just created as a non-symlink. */
    if (fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) < 0)
        return cm_error_errno(err, "chmod");
    entry_times(e, ts);
    if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return cm_error_errno(err, "set times");
    return 0;
}

static int
make_symlink(struct archive_entry *e, int pfd, const char *base, struct cm_error **err)
{
    const char *target = archive_entry_symlink_utf8(e);
    struct timespec ts[2];

    if (!target)
        target = archive_entry_symlink(e);
    if (!target || !*target)
        return cm_error_set(err, 0, "symlink without target");
    /* The target is stored verbatim: nothing here ever follows a symlink. */
    if (symlinkat(target, pfd, base) < 0)
        return cm_error_errno(err, "symlink");
    if (fchownat(pfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                 AT_SYMLINK_NOFOLLOW) < 0)
        return cm_error_errno(err, "chown");
    entry_times(e, ts);
    if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return cm_error_errno(err, "set times");
    return 0;
}

static int
make_hardlink(struct extractor *x, struct archive_entry *e, const char *path, struct cm_error **err)
{
    const char *raw = archive_entry_hardlink_utf8(e);
    cleanup_free char *target = NULL;
    cleanup_free char *tdir = NULL;
    cleanup_free char *dir = NULL;
    const char *tbase, *base;
    cleanup_close int tfd = -1;
    int pfd;
    bool keep;
    struct stat st;

    if (!raw)
        raw = archive_entry_hardlink(e);
    if (img_member_path_clean(raw, &target, err) < 0)
        return cm_error_wrap(err, "hard link target");
    if (!*target)
        return cm_error_set(err, 0, "hard link to the root directory");
    split_path(target, &tdir, &tbase);
    pfd = open_parent(x, tdir, false, err);
    if (pfd < 0)
        return cm_error_wrap(err, "hard link target '%s'", raw);
    tfd = fcntl(pfd, F_DUPFD_CLOEXEC, 0);
    if (tfd < 0)
        return cm_error_errno(err, "dup");
    if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return cm_error_set(err, ENOENT, "hard link target '%s' is not in this layer", raw);
    if (S_ISDIR(st.st_mode))
        return cm_error_set(err, 0, "hard link to directory '%s'", raw);
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
        return cm_error_set(err, ENOENT, "hard link target '%s' is whited out", raw);
    split_path(path, &dir, &base);
    pfd = open_parent(x, dir, true, err);
    if (pfd < 0)
        return -1;
    if (!strcmp(target, path))
        return 0;
    if (clear_slot(x, pfd, base, false, &keep, err) < 0)
        return -1;
    pfd = open_parent(x, dir, true, err); /* clear_slot may have dropped it */
    if (pfd < 0)
        return -1;
    if (linkat(tfd, tbase, pfd, base, 0) < 0)
        return cm_error_errno(err, "link");
    return 0;
}

static int
apply_whiteout(struct extractor *x, const char *target, struct cm_error **err)
{
    cleanup_free char *dir = NULL;
    const char *base;
    struct stat st;
    int pfd;

    split_path(target, &dir, &base);
    pfd = open_parent(x, dir, true, err);
    if (pfd < 0)
        return -1;
    /* A whiteout hides lower layers only: an entry made earlier in this layer stays. */
    if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if (mknodat(pfd, base, S_IFCHR | 0000, makedev(0, 0)) < 0)
        return cm_error_errno(err, "create whiteout");
    return 0;
}

static int
apply_opaque(struct extractor *x, const char *dir, struct cm_error **err)
{
    cleanup_free char *parent = NULL;
    const char *base;
    cleanup_close int fd = -1;
    int pfd;

    if (!*dir) {
        fd = fcntl(x->root_fd, F_DUPFD_CLOEXEC, 0);
    } else {
        struct stat st;
        split_path(dir, &parent, &base);
        pfd = open_parent(x, parent, true, err);
        if (pfd < 0)
            return -1;
        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (mkdirat(pfd, base, 0755) < 0)
                return cm_error_errno(err, "mkdir");
        } else if (!S_ISDIR(st.st_mode)) {
            return cm_error_set(err, ENOTDIR, "opaque marker in a non-directory");
        }
        fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return cm_error_errno(err, "open dir");
    if (fsetxattr(fd, OPAQUE_XATTR, "y", 1, 0) < 0)
        return cm_error_errno(err, "set opaque xattr");
    return 0;
}

static int
extract_entry(struct extractor *x, struct archive *a, struct archive_entry *e, const char *path,
              struct cm_error **err)
{
    enum img_whiteout wh;
    cleanup_free char *target = NULL;
    cleanup_free char *dir = NULL;
    const char *base;
    mode_t type = archive_entry_filetype(e);
    bool keep = false;
    int pfd;

    if (img_whiteout_parse(path, &wh, &target, err) < 0)
        return -1;
    switch (wh) {
    case IMG_WHITEOUT_FILE:
        return apply_whiteout(x, target, err);
    case IMG_WHITEOUT_OPAQUE:
        return apply_opaque(x, target, err);
    case IMG_WHITEOUT_META:
        return 0;
    case IMG_WHITEOUT_NONE:
        break;
    }
    if (archive_entry_hardlink(e) || archive_entry_hardlink_utf8(e))
        return make_hardlink(x, e, path, err);
    if (!*path) {
        /* The root entry ("./"): its metadata belongs to the container's rootfs. */
        return 0;
    }
    if ((type == AE_IFCHR || type == AE_IFBLK) && !x->o->allow_devices)
        return cm_error_set(err, EPERM, "device nodes are not allowed in layers");
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK && type != AE_IFIFO &&
        type != AE_IFCHR && type != AE_IFBLK)
        return cm_error_set(err, 0, "unsupported entry type 0%o", (unsigned)type);
    split_path(path, &dir, &base);
    pfd = open_parent(x, dir, true, err);
    if (pfd < 0)
        return -1;
    /* Files, nearly every member, try O_EXCL first: a name seen before in this
     * layer is the exception, and this saves a stat per file. */
    if (type == AE_IFREG) {
        int r = write_file(x, a, e, pfd, base, err);
        if (r <= 0)
            return r;
    }
    if (clear_slot(x, pfd, base, type == AE_IFDIR, &keep, err) < 0)
        return -1;
    pfd = open_parent(x, dir, true, err); /* clear_slot may have dropped it */
    if (pfd < 0)
        return -1;
    switch (type) {
    case AE_IFREG: {
        int r = write_file(x, a, e, pfd, base, err);
        if (r == 1)
            return cm_error_set(err, EEXIST, "create: the name exists after clearing it");
        return r;
    }
    case AE_IFDIR:
        return make_dir(x, e, path, pfd, base, keep, err);
    case AE_IFLNK:
        return make_symlink(e, pfd, base, err);
    default:
        return make_special(e, pfd, base, err);
    }
}

static void
apply_dirtimes(struct extractor *x)
{
    for (size_t i = x->n_dirtimes; i-- > 0;) {
        struct dirtime *d = &x->dirtimes[i];
        cleanup_free char *dir = NULL;
        const char *base;
        struct cm_error *err = NULL;
        split_path(d->path, &dir, &base);
        int pfd = open_parent(x, dir, false, &err);
        if (pfd >= 0)
            utimensat(pfd, base, d->ts, AT_SYMLINK_NOFOLLOW);
        cm_error_free(&err);
    }
}

static void
extractor_done(struct extractor *x)
{
    cache_drop(x);
    for (size_t i = 0; i < x->n_dirtimes; i++)
        free(x->dirtimes[i].path);
    free(x->dirtimes);
    cm_error_free(&x->in_err);
}

static int
run(struct extractor *x, char ret_diff_id[IMG_DIGEST_MAX], struct cm_error **err)
{
    cleanup_archive struct archive *tar = archive_read_new();
    struct archive_entry *e;
    uint64_t entries = 0;
    int r;

    if (!tar)
        return cm_error_set(err, ENOMEM, "libarchive");
    archive_read_support_format_tar(tar);
    if (archive_read_open(tar, x, NULL, tar_read_cb, NULL) != ARCHIVE_OK)
        goto tar_error;
    while ((r = archive_read_next_header(tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *name = archive_entry_pathname_utf8(e);
        cleanup_free char *path = NULL;
        if (!name)
            name = archive_entry_pathname(e);
        if (!name)
            return cm_error_set(err, 0, "layer: member #%llu has no name",
                                (unsigned long long)entries);
        if (++entries > IMG_LAYER_ENTRIES_MAX)
            return cm_error_set(err, EFBIG, "layer: more than %d members", IMG_LAYER_ENTRIES_MAX);
        if (img_member_path_clean(name, &path, err) < 0 ||
            extract_entry(x, tar, e, path, err) < 0) {
            if (x->in_err) {
                /* The stream broke under the member: that is the cause. */
                cm_error_free(err);
                *err = TAKE_PTR(x->in_err);
                return cm_error_wrap(err, "layer");
            }
            return cm_error_wrap(err, "layer: member '%s'", name);
        }
    }
    if (r != ARCHIVE_EOF)
        goto tar_error;
    if (img_layer_stream_finish(x->in, ret_diff_id, err) < 0)
        return cm_error_wrap(err, "layer");
    apply_dirtimes(x);
    return 0;

tar_error:
    if (x->in_err) {
        *err = TAKE_PTR(x->in_err);
        return cm_error_wrap(err, "layer");
    }
    return cm_error_set(err, EIO, "layer: %s",
                        archive_error_string(tar) ? archive_error_string(tar) : "bad tar stream");
}

int
img_layer_extract(int in_fd, int root_fd, const struct img_unpack_opts *o,
                  char ret_diff_id[IMG_DIGEST_MAX], struct cm_error **err)
{
    static const struct img_unpack_opts defaults = {0};
    struct extractor *x = xcalloc(1, sizeof(*x));
    int r;

    x->o = o ? o : &defaults;
    x->root_fd = root_fd;
    for (size_t i = 0; i < DCACHE_SIZE; i++)
        x->dcache[i].fd = -1;
    x->in = img_layer_stream_start(in_fd, x->o->max_bytes, err);
    if (!x->in) {
        /* Whoever feeds in_fd (a download thread) must never block on a full pipe. */
        char buf[4096];
        ssize_t n;
        while ((n = read(in_fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
        }
        free(x);
        return -1;
    }
    r = run(x, ret_diff_id, err);
    img_layer_stream_free(x->in);
    extractor_done(x);
    free(x);
    return r;
}
