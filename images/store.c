/* SPDX-License-Identifier: Apache-2.0 */
/* Content-addressable store: blobs by digest, snapshots by diff_id, an index of
 * references. Concurrency is by flock: one lock file per layer (two pulls of the
 * same layer do the work once), one for the index, one "gc" lock that pulls
 * hold shared and prune holds exclusive. */
#include "img/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/json.h"
#include "cm/xalloc.h"
#include "img/digest.h"
#include "img/reference.h"
#include "img/unpack.h"
#include "store_private.h"

#define INDEX_MAX (64u << 20)

/* Snapshots are built in tmp/. Marked as a top of directory hierarchies
 * (FS_TOPDIR_FL), each snapshot directory made there is placed by ext4's Orlov
 * allocator in a block group with room to spare, its files next to it, rather
 * than beside the store, where the inodes of recently deleted trees (a prune,
 * other programs' temp files) lie: ext4 without a journal skips inodes freed in
 * the last minutes one buffer lookup at a time, which cost seconds of system
 * time per big image. Filesystems without the flag ignore it. */
static void
mark_topdir(int root_fd, const char *name)
{
    cleanup_close int fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int flags;

    if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
        flags |= FS_TOPDIR_FL;
        if (ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0) {
            /* Only a placement hint. */
        }
    }
}

int
img_store_open(const char *root, struct img_store **ret, struct cm_error **err)
{
    static const char *const subdirs[] = {"blobs/sha256",     "blobs/sha512", "snapshots/sha256",
                                          "snapshots/sha512", "locks",        "tmp"};
    struct img_store *s;

    root = root ? root : IMG_STORE_DEFAULT;
    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        cleanup_free char *p = xasprintf("%s/%s", root, subdirs[i]);
        if (cm_mkdir_p(p, 0700, err) < 0)
            return cm_error_wrap(err, "image store '%s'", root);
    }
    s = xcalloc(1, sizeof(*s));
    s->root = xstrdup(root);
    s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) {
        img_store_free(s);
        return cm_error_errno(err, "open image store '%s'", root);
    }
    mark_topdir(s->root_fd, "tmp");
    *ret = s;
    return 0;
}

struct img_store *
img_store_free(struct img_store *s)
{
    if (!s)
        return NULL;
    if (s->root_fd >= 0)
        close(s->root_fd);
    free(s->root);
    free(s);
    return NULL;
}

const char *
img_store_root(const struct img_store *s)
{
    return s->root;
}

/* "sha256:HEX" -> "sha256/HEX" (digests are validated before they get here). */
char *
img_store_digest_rel(const char *kind, const char *digest)
{
    const char *colon = strchr(digest, ':');
    return xasprintf("%s/%.*s/%s", kind, (int)(colon - digest), digest, colon + 1);
}

char *
img_store_snapshot_path(const struct img_store *s, const char *diff_id)
{
    cleanup_free char *rel = img_store_digest_rel("snapshots", diff_id);
    return xasprintf("%s/%s", s->root, rel);
}

int
img_store_lock(struct img_store *s, const char *name, int op, struct cm_error **err)
{
    cleanup_free char *p = xasprintf("locks/%s", name);
    int fd = openat(s->root_fd, p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return cm_error_errno(err, "lock '%s'", p);
    while (flock(fd, op) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        errno = e;
        if (e == EWOULDBLOCK)
            return -2;
        return cm_error_errno(err, "flock '%s'", p);
    }
    return fd;
}

bool
img_store_has(struct img_store *s, const char *kind, const char *digest)
{
    cleanup_free char *rel = img_store_digest_rel(kind, digest);
    return faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int
img_store_put_blob(struct img_store *s, const char *digest, const char *buf, size_t len,
                   struct cm_error **err)
{
    cleanup_free char *rel = img_store_digest_rel("blobs", digest);
    cleanup_free char *tmp = NULL;

    if (faccessat(s->root_fd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    /* Written (and fsynced) in tmp/, then renamed: blobs/ only ever holds
     * complete blobs under their digest, whatever kills us. */
    tmp = xasprintf("tmp/put-%d-%s", (int)getpid(), img_digest_hex(digest));
    if (cm_write_file_atomic_at(s->root_fd, tmp, buf, len, 0644, err) < 0)
        return -1;
    if (renameat(s->root_fd, tmp, s->root_fd, rel) < 0) {
        cm_error_errno(err, "store blob '%s'", digest);
        unlinkat(s->root_fd, tmp, 0);
        return -1;
    }
    return 0;
}

int
img_store_read_blob(struct img_store *s, const char *digest, size_t max, char **ret,
                    size_t *ret_len, struct cm_error **err)
{
    cleanup_free char *rel = NULL;
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (img_digest_validate(digest, err) < 0)
        return -1;
    rel = img_store_digest_rel("blobs", digest);
    if (cm_read_file_at(s->root_fd, rel, max, &buf, &len, err) < 0)
        return -1;
    if (img_digest_verify(buf, len, digest, "stored blob", err) < 0)
        return -1;
    *ret = TAKE_PTR(buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

int
img_store_read_config(struct img_store *s, const struct img_image *img, struct img_config **ret,
                      struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;

    if (img_store_read_blob(s, img->config, IMG_CONFIG_MAX, &buf, &len, err) < 0)
        return -1;
    return img_config_parse(buf, len, ret, err);
}

/* --- image records ------------------------------------------------------------ */

struct img_image *
img_image_free(struct img_image *i)
{
    if (!i)
        return NULL;
    free(i->name);
    free(i->digest);
    free(i->manifest);
    free(i->config);
    free(i->platform);
    cm_strv_free(i->layers);
    cm_strv_free(i->diff_ids);
    free(i);
    return NULL;
}

void
img_image_list_free(struct img_image **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        img_image_free(v[i]);
    free(v);
}

json_t *
img_image_to_json(const struct img_image *i)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I}", "name", i->name, "digest",
                     i->digest, "manifest", i->manifest, "config", i->config, "platform",
                     i->platform ? i->platform : "", "layers", cm_json_array_from_strv(i->layers),
                     "diff_ids", cm_json_array_from_strv(i->diff_ids), "size", (json_int_t)i->size,
                     "pulled", (json_int_t)i->pulled);
}

static int
image_from_json(const char *name, json_t *j, struct img_image **ret, struct cm_error **err)
{
    struct img_image *i = xcalloc(1, sizeof(*i));
    cleanup_free char *path = xasprintf("images['%s']", name);

    i->name = xstrdup(name);
    if (!json_is_object(j) || cm_json_dup_string(j, path, "digest", true, &i->digest, err) < 0 ||
        cm_json_dup_string(j, path, "manifest", true, &i->manifest, err) < 0 ||
        cm_json_dup_string(j, path, "config", true, &i->config, err) < 0 ||
        cm_json_dup_string(j, path, "platform", false, &i->platform, err) < 0 ||
        cm_json_get_strv(j, path, "layers", true, &i->layers, err) < 0 ||
        cm_json_get_strv(j, path, "diff_ids", true, &i->diff_ids, err) < 0 ||
        cm_json_get_int64(j, path, "size", false, &i->size, err) < 0 ||
        cm_json_get_int64(j, path, "pulled", false, &i->pulled, err) < 0) {
        if (!json_is_object(j))
            cm_error_set(err, 0, "%s: expected object", path);
        img_image_free(i);
        return -1;
    }
    i->n_layers = cm_strv_len(i->diff_ids);
    if (cm_strv_len(i->layers) != i->n_layers || img_digest_validate(i->config, err) < 0 ||
        img_digest_validate(i->manifest, err) < 0) {
        img_image_free(i);
        return cm_error_set(err, 0, "%s: inconsistent record", path);
    }
    for (size_t k = 0; k < i->n_layers; k++)
        if (img_digest_validate(i->layers[k], err) < 0 ||
            img_digest_validate(i->diff_ids[k], err) < 0) {
            img_image_free(i);
            return cm_error_wrap(err, "%s", path);
        }
    *ret = i;
    return 0;
}

/* Loads index.json (an empty index when missing); caller holds the index lock. */
static int
index_load(struct img_store *s, json_t **ret, struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    size_t len = 0;
    json_t *j = NULL;
    cleanup_error struct cm_error *tmp = NULL;

    if (cm_read_file_at(s->root_fd, "index.json", INDEX_MAX, &buf, &len, &tmp) < 0) {
        if (tmp->code != ENOENT) {
            *err = TAKE_PTR(tmp);
            return -1;
        }
        *ret = json_pack("{s:{}}", "images");
        return 0;
    }
    if (cm_json_loadb(buf, len, "index.json", &j, err) < 0)
        return -1;
    if (!json_is_object(json_object_get(j, "images"))) {
        json_decref(j);
        return cm_error_set(err, 0, "index.json: 'images' missing");
    }
    *ret = j;
    return 0;
}

static int
index_save(struct img_store *s, json_t *j, struct cm_error **err)
{
    cleanup_free char *buf = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!buf)
        return cm_error_set(err, ENOMEM, "index.json: cannot serialise");
    return cm_write_file_atomic_at(s->root_fd, "index.json", buf, strlen(buf), 0644, err);
}

int
img_store_index_put(struct img_store *s, const struct img_image *img, struct cm_error **err)
{
    cleanup_close int lk = img_store_lock(s, "index.lock", LOCK_EX, err);
    json_auto_t *j = NULL;
    json_t *rec, *old;

    if (lk < 0)
        return -1;
    if (index_load(s, &j, err) < 0)
        return -1;
    rec = img_image_to_json(img);
    old = json_object_get(json_object_get(j, "images"), img->name);
    if (json_is_object(old)) {
        /* A re-pull of an unchanged tag (every task start checks its image)
         * rewrites nothing unless the pull time is over an hour old: the
         * record's fsync + rename cost the start of each task milliseconds. */
        json_int_t was = json_integer_value(json_object_get(old, "pulled"));
        json_auto_t *cmp = json_deep_copy(old);
        json_object_set(cmp, "pulled", json_object_get(rec, "pulled"));
        if (json_equal(cmp, rec) && was <= img->pulled && img->pulled - was < 3600) {
            json_decref(rec);
            return 0;
        }
    }
    json_object_set_new(json_object_get(j, "images"), img->name, rec);
    return index_save(s, j, err);
}

static char *
normalise(const char *ref, const char *default_registry)
{
    struct img_ref *r = NULL;
    struct cm_error *e = NULL;
    char *s;

    if (img_ref_parse(ref, default_registry, &r, &e) < 0) {
        cm_error_free(&e);
        return xstrdup(ref);
    }
    s = img_ref_string(r);
    img_ref_free(r);
    return s;
}

int
img_store_get(struct img_store *s, const char *ref, const char *default_registry,
              struct img_image **ret, struct cm_error **err)
{
    cleanup_close int lk = img_store_lock(s, "index.lock", LOCK_SH, err);
    json_auto_t *j = NULL;
    cleanup_free char *name = NULL;
    json_t *images, *v;
    const char *k;

    if (lk < 0 || index_load(s, &j, err) < 0)
        return -1;
    images = json_object_get(j, "images");
    name = normalise(ref, default_registry);
    v = json_object_get(images, name);
    if (v)
        return image_from_json(name, v, ret, err);
    /* By digest (or a unique prefix of its hex of at least 12 characters). */
    json_object_foreach (images, k, v) {
        const char *d = json_string_value(json_object_get(v, "digest"));
        const char *c = json_string_value(json_object_get(v, "config"));
        if ((d && (!strcmp(d, ref) ||
                   (strlen(ref) >= 12 && !strncmp(img_digest_hex(d), ref, strlen(ref))))) ||
            (c && strlen(ref) >= 12 && !strncmp(img_digest_hex(c), ref, strlen(ref))))
            return image_from_json(k, v, ret, err);
    }
    return cm_error_set(err, ENOENT, "image '%s' is not in the store", ref);
}

int
img_store_list(struct img_store *s, struct img_image ***ret, size_t *ret_n, struct cm_error **err)
{
    cleanup_close int lk = img_store_lock(s, "index.lock", LOCK_SH, err);
    json_auto_t *j = NULL;
    json_t *images, *v;
    const char *k;
    struct img_image **out = NULL;
    size_t n = 0;

    if (lk < 0 || index_load(s, &j, err) < 0)
        return -1;
    images = json_object_get(j, "images");
    out = xcalloc(json_object_size(images) + 1, sizeof(*out));
    json_object_foreach (images, k, v) {
        if (image_from_json(k, v, &out[n], err) < 0) {
            img_image_list_free(out, n);
            return -1;
        }
        n++;
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

int
img_store_remove(struct img_store *s, const char *ref, const char *default_registry,
                 struct cm_error **err)
{
    cleanup_img_image struct img_image *img = NULL;
    cleanup_close int lk = -1;
    json_auto_t *j = NULL;

    if (img_store_get(s, ref, default_registry, &img, err) < 0)
        return -1;
    lk = img_store_lock(s, "index.lock", LOCK_EX, err);
    if (lk < 0 || index_load(s, &j, err) < 0)
        return -1;
    json_object_del(json_object_get(j, "images"), img->name);
    return index_save(s, j, err);
}

static bool
strv_has(char **v, const char *s)
{
    for (; v && *v; v++)
        if (!strcmp(*v, s))
            return true;
    return false;
}

static char **
strv_push(char **v, size_t *n, const char *s)
{
    v = xrealloc(v, (*n + 2) * sizeof(char *));
    v[(*n)++] = xstrdup(s);
    v[*n] = NULL;
    return v;
}

static int
prune_dir(struct img_store *s, const char *kind, const char *algo, char **keep, uint64_t *removed,
          struct cm_error **err)
{
    cleanup_free char *rel = xasprintf("%s/%s", kind, algo);
    int fd = openat(s->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_dir DIR *d = NULL;
    struct dirent *de;

    if (fd < 0)
        return errno == ENOENT ? 0 : cm_error_errno(err, "open '%s'", rel);
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return cm_error_errno(err, "opendir '%s'", rel);
    }
    while ((de = readdir(d))) {
        cleanup_free char *dg = NULL;
        if (de->d_name[0] == '.')
            continue;
        dg = xasprintf("%s:%s", algo, de->d_name);
        if (strv_has(keep, dg))
            continue;
        if (cm_rm_rf_at(dirfd(d), de->d_name, err) < 0)
            return cm_error_wrap(err, "prune '%s'", dg);
        (*removed)++;
    }
    return 0;
}

int
img_store_prune(struct img_store *s, char *const *keep_diff_ids, uint64_t *ret_removed,
                struct cm_error **err)
{
    cleanup_close int gc = img_store_lock(s, "gc.lock", LOCK_EX, err);
    struct img_image **imgs = NULL;
    size_t n = 0, nb = 0, ns = 0;
    cleanup_strv char **blobs = NULL;
    cleanup_strv char **snaps = NULL;
    uint64_t removed = 0;
    int r = -1;

    if (gc < 0)
        return -1;
    if (img_store_list(s, &imgs, &n, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        blobs = strv_push(blobs, &nb, imgs[i]->digest);
        blobs = strv_push(blobs, &nb, imgs[i]->manifest);
        blobs = strv_push(blobs, &nb, imgs[i]->config);
        for (size_t k = 0; k < imgs[i]->n_layers; k++) {
            blobs = strv_push(blobs, &nb, imgs[i]->layers[k]);
            snaps = strv_push(snaps, &ns, imgs[i]->diff_ids[k]);
        }
    }
    for (char *const *p = keep_diff_ids; p && *p; p++)
        snaps = strv_push(snaps, &ns, *p);
    if (prune_dir(s, "blobs", "sha256", blobs, &removed, err) < 0 ||
        prune_dir(s, "blobs", "sha512", blobs, &removed, err) < 0 ||
        prune_dir(s, "snapshots", "sha256", snaps, &removed, err) < 0 ||
        prune_dir(s, "snapshots", "sha512", snaps, &removed, err) < 0)
        goto out;
    /* Nothing pulls while we hold the gc lock: every temp is stale. */
    if (cm_rm_rf_at(s->root_fd, "tmp", err) < 0 || mkdirat(s->root_fd, "tmp", 0700) < 0) {
        if (err && !*err)
            cm_error_errno(err, "recreate tmp");
        goto out;
    }
    mark_topdir(s->root_fd, "tmp");
    if (ret_removed)
        *ret_removed = removed;
    r = 0;
out:
    img_image_list_free(imgs, n);
    return r;
}
