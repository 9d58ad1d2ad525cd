/* SPDX-License-Identifier: Apache-2.0 */
/* Pulling: manifest -> config -> layers. Each layer streams once: the download
 * thread hashes the compressed bytes, appends them to a partial blob (kept for
 * resuming) and feeds a pipe; an extraction thread decompresses, hashes the tar
 * stream (diff_id) and unpacks into a temp snapshot. Both digests must match
 * before the blob and the snapshot are renamed into place. */
#include "img/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/file.h"
#include "cm/log.h"
#include "cm/xalloc.h"
#include "img/digest.h"
#include "img/reference.h"
#include "img/unpack.h"
#include "store_private.h"

#define COPY_CHUNK (256 * 1024)

struct pull {
    struct img_store *s;
    struct img_registry *reg;
    const struct img_ref *ref;
    const struct img_pull_opts *o;
    const struct img_manifest *m;
    const struct img_config *cfg;
    pthread_mutex_t lock;
    size_t next;
    size_t *order;          /* layer indexes, largest blob first */
    struct cm_error **errs; /* one per layer */
};

struct layer_job {
    struct pull *p;
    size_t index;
    const struct img_descriptor *d;
    const char *diff_id;
    /* streaming state */
    struct img_hasher blob_hash;
    int partial_fd;
    int pipe_w;
    uint64_t done;
    atomic_bool extract_failed;
    /* extractor thread */
    int pipe_r;
    int snap_fd;
    char got_diff[IMG_DIGEST_MAX];
    struct cm_error *extract_err;
};

static void
progress(struct layer_job *j, enum img_layer_state st)
{
    struct img_progress pr = {.layer = j->index,
                              .n_layers = j->p->m->n_layers,
                              .digest = j->d->digest,
                              .done = j->done,
                              .total = j->d->size,
                              .state = st};
    if (j->p->o->progress)
        j->p->o->progress(j->p->o->progress_userdata, &pr);
}

static int
write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Bytes of the blob, in order, whether read back from the partial file or
 * downloaded: hash, keep, extract. */
static int
feed(struct layer_job *j, const void *data, size_t len, bool keep, struct cm_error **err)
{
    if (atomic_load(&j->extract_failed))
        return cm_error_set(err, ECANCELED, "extraction failed");
    if (j->d->size >= 0 && j->done + len > (uint64_t)j->d->size)
        return cm_error_set(err, EFBIG, "more bytes than the %lld the manifest announces",
                            (long long)j->d->size);
    img_hasher_update(&j->blob_hash, data, len);
    if (keep && write_all(j->partial_fd, data, len) < 0)
        return cm_error_errno(err, "write partial blob");
    if (write_all(j->pipe_w, data, len) < 0)
        return cm_error_errno(err, "feed extractor");
    j->done += len;
    return 0;
}

static int
sink(void *ud, const void *data, size_t len, struct cm_error **err)
{
    struct layer_job *j = ud;
    uint64_t before = j->done;
    if (feed(j, data, len, true, err) < 0)
        return -1;
    /* Progress about every MiB keeps terminal redraws cheap. */
    if ((before >> 20) != (j->done >> 20))
        progress(j, IMG_LAYER_DOWNLOADING);
    return 0;
}

static void *
extract_main(void *ud)
{
    struct layer_job *j = ud;
    struct img_unpack_opts uo = {.max_bytes = j->p->o->max_layer_bytes,
                                 .allow_devices = j->p->o->allow_devices};
    if (img_layer_extract(j->pipe_r, j->snap_fd, &uo, j->got_diff, &j->extract_err) < 0)
        atomic_store(&j->extract_failed, true);
    return NULL;
}

/* Replays a partial blob left by an interrupted pull. */
static int
replay_partial(struct layer_job *j, struct cm_error **err)
{
    char *buf = xmalloc(COPY_CHUNK);
    int r = 0;
    if (lseek(j->partial_fd, 0, SEEK_SET) < 0) {
        free(buf);
        return cm_error_errno(err, "seek partial blob");
    }
    for (;;) {
        ssize_t n = read(j->partial_fd, buf, COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = cm_error_errno(err, "read partial blob");
            break;
        }
        if (n == 0)
            break;
        if (j->d->size >= 0 && j->done + (uint64_t)n > (uint64_t)j->d->size) {
            /* Longer than the blob: it cannot be ours, start over. */
            j->done = 0;
            r = 1;
            break;
        }
        if (feed(j, buf, (size_t)n, false, err) < 0) {
            r = -1;
            break;
        }
    }
    free(buf);
    return r;
}

static int
pull_layer_locked(struct layer_job *j, struct cm_error **err)
{
    struct pull *p = j->p;
    const char *hex = img_digest_hex(j->diff_id);
    const char *bhex = img_digest_hex(j->d->digest);
    cleanup_free char *snap_tmp = xasprintf("tmp/snap-%s", hex);
    cleanup_free char *partial = xasprintf("tmp/blob-%s.partial", bhex);
    cleanup_free char *snap_final = img_store_digest_rel("snapshots", j->diff_id);
    cleanup_free char *blob_final = img_store_digest_rel("blobs", j->d->digest);
    cleanup_close int blob_fd = -1;
    int pipefd[2] = {-1, -1};
    pthread_t th;
    char got[IMG_DIGEST_MAX];
    int r = 0;
    bool from_store, digest_bad = false;

    if (img_store_has(p->s, "snapshots", j->diff_id)) {
        progress(j, IMG_LAYER_EXISTS);
        return 0;
    }
    /* A stale temp snapshot is from a killed pull: we own the lock now. */
    if (cm_rm_rf_at(p->s->root_fd, snap_tmp, err) < 0)
        return -1;
    if (mkdirat(p->s->root_fd, snap_tmp, 0755) < 0)
        return cm_error_errno(err, "mkdir '%s'", snap_tmp);
    j->snap_fd = openat(p->s->root_fd, snap_tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->snap_fd < 0)
        return cm_error_errno(err, "open '%s'", snap_tmp);
    /* The compressed blob may be stored already (snapshot pruned, or shared). */
    blob_fd = openat(p->s->root_fd, blob_final, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    from_store = blob_fd >= 0;
    j->partial_fd = from_store ? TAKE_FD(blob_fd)
                               : openat(p->s->root_fd, partial,
                                        O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (j->partial_fd < 0)
        return cm_error_errno(err, "open '%s'", partial);
    if (img_hasher_init(&j->blob_hash, j->d->digest, err) < 0)
        return -1;
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return cm_error_errno(err, "pipe");
    fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 20);
    j->pipe_r = pipefd[0];
    j->pipe_w = pipefd[1];
    if (pthread_create(&th, NULL, extract_main, j) != 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return cm_error_set(err, EAGAIN, "cannot start the extraction thread");
    }
    progress(j, IMG_LAYER_DOWNLOADING);
    r = replay_partial(j, err);
    if (r == 1) {
        /* Unusable partial: the extractor already saw its bytes, so fail this
         * attempt after truncating; the retry starts clean. */
        if (ftruncate(j->partial_fd, 0) < 0) {
        }
        r = cm_error_set(err, EIO, "partial blob longer than the blob, discarded; retry");
    }
    if (r == 0 && !from_store) {
        if (lseek(j->partial_fd, 0, SEEK_END) < 0)
            r = cm_error_errno(err, "seek partial blob");
        else
            r = img_registry_get_blob(p->reg, p->ref->registry, p->ref->repository, j->d->digest,
                                      j->d->size, j->done, sink, j, err);
    }
    close(j->pipe_w);
    j->pipe_w = -1;
    pthread_join(th, NULL);
    close(j->pipe_r);
    if (r == 0) {
        img_hasher_final(&j->blob_hash, got);
        if (strcmp(got, j->d->digest)) {
            /* Corrupt bytes are useless for resuming too. */
            unlinkat(p->s->root_fd, partial, 0);
            digest_bad = true;
            r = cm_error_set(err, EBADMSG, "blob %s: digest mismatch: got %s", j->d->digest, got);
        }
    }
    if (r == 0 && j->extract_err) {
        unlinkat(p->s->root_fd, partial, 0);
        *err = TAKE_PTR(j->extract_err);
        r = -1;
    }
    if (r == 0 && strcmp(j->got_diff, j->diff_id)) {
        unlinkat(p->s->root_fd, partial, 0);
        r = cm_error_set(err, EBADMSG, "layer %s: diff_id mismatch: config says %s, content is %s",
                         j->d->digest, j->diff_id, j->got_diff);
    }
    if (r < 0 && j->extract_err && !digest_bad) {
        /* The extractor's reason (a refused member) beats "extraction failed";
         * a bad digest explains any extraction error and wins over it. */
        cm_error_free(err);
        *err = TAKE_PTR(j->extract_err);
        unlinkat(p->s->root_fd, partial, 0);
    }
    cm_error_free(&j->extract_err);
    if (r < 0) {
        cleanup_error struct cm_error *tmp = NULL;
        cm_rm_rf_at(p->s->root_fd, snap_tmp, &tmp);
        return -1;
    }
    if (!from_store) {
        if (fdatasync(j->partial_fd) < 0)
            return cm_error_errno(err, "sync blob");
        if (renameat(p->s->root_fd, partial, p->s->root_fd, blob_final) < 0)
            return cm_error_errno(err, "store blob");
    }
    if (renameat(p->s->root_fd, snap_tmp, p->s->root_fd, snap_final) < 0)
        return cm_error_errno(err, "store snapshot");
    progress(j, IMG_LAYER_DONE);
    return 0;
}

static int
pull_layer(struct pull *p, size_t i, struct cm_error **err)
{
    struct layer_job j = {.p = p,
                          .index = i,
                          .d = &p->m->layers[i],
                          .diff_id = p->cfg->diff_ids[i],
                          .partial_fd = -1,
                          .pipe_w = -1,
                          .pipe_r = -1,
                          .snap_fd = -1};
    cleanup_free char *lockname = xasprintf("layer-%s.lock", img_digest_hex(j.diff_id));
    cleanup_close int lk = -1;
    int r;

    if (img_store_has(p->s, "snapshots", j.diff_id)) {
        progress(&j, IMG_LAYER_EXISTS);
        return 0;
    }
    progress(&j, IMG_LAYER_WAITING);
    lk = img_store_lock(p->s, lockname, LOCK_EX, err);
    if (lk < 0)
        return -1;
    r = pull_layer_locked(&j, err);
    img_hasher_done(&j.blob_hash);
    if (j.partial_fd >= 0)
        close(j.partial_fd);
    if (j.snap_fd >= 0)
        close(j.snap_fd);
    if (r < 0)
        return cm_error_wrap(err, "layer %zu (%s)", i + 1, j.d->digest);
    return 0;
}

static void *
worker(void *ud)
{
    struct pull *p = ud;
    for (;;) {
        size_t i;
        pthread_mutex_lock(&p->lock);
        i = p->next < p->m->n_layers ? p->order[p->next++] : SIZE_MAX;
        pthread_mutex_unlock(&p->lock);
        if (i == SIZE_MAX)
            return NULL;
        pull_layer(p, i, &p->errs[i]);
    }
}

static int
fetch_manifest(struct img_registry *reg, struct img_store *s, const struct img_ref *ref,
               const char *object, char **ret_buf, size_t *ret_len, char **ret_type,
               char **ret_digest, struct cm_error **err)
{
    cleanup_free char *buf = NULL;
    cleanup_free char *type = NULL;
    cleanup_free char *hdr_digest = NULL;
    size_t len = 0;
    struct img_hasher h;
    char got[IMG_DIGEST_MAX];
    const char *want = NULL;

    if (!strncmp(object, "sha256:", 7) || !strncmp(object, "sha512:", 7))
        want = object;
    if (img_registry_get_manifest(reg, ref->registry, ref->repository, object, &buf, &len, &type,
                                  &hdr_digest, err) < 0)
        return -1;
    if (!want && hdr_digest && img_digest_validate(hdr_digest, NULL) == 0)
        want = hdr_digest;
    if (img_hasher_init(&h, want ? want : "sha256", err) < 0)
        return -1;
    img_hasher_update(&h, buf, len);
    img_hasher_final(&h, got);
    if (want && strcmp(got, want))
        return cm_error_set(err, EBADMSG, "manifest '%s': digest mismatch: expected %s, got %s",
                            object, want, got);
    if (img_store_put_blob(s, got, buf, len, err) < 0)
        return -1;
    *ret_buf = TAKE_PTR(buf);
    *ret_len = len;
    *ret_type = TAKE_PTR(type);
    *ret_digest = xstrdup(got);
    return 0;
}

int
img_pull(struct img_store *s, const char *refstr, const struct img_pull_opts *o,
         struct img_image **ret, struct cm_error **err)
{
    static const struct img_pull_opts defaults = {0};
    cleanup_img_ref struct img_ref *ref = NULL;
    struct img_registry *reg = NULL;
    cleanup_free char *buf = NULL;
    cleanup_free char *type = NULL;
    cleanup_free char *top = NULL;
    cleanup_free char *mdigest = NULL;
    cleanup_free char *dtype = NULL;
    cleanup_free char *cbuf = NULL;
    cleanup_img_manifest struct img_manifest *m = NULL;
    cleanup_img_config struct img_config *cfg = NULL;
    cleanup_img_image struct img_image *img = NULL;
    cleanup_close int gc = -1;
    struct img_platform want = {0};
    size_t len = 0, clen = 0;
    bool top_is_manifest = false;
    int r = -1;

    o = o ? o : &defaults;
    if (img_ref_parse(refstr, o->default_registry, &ref, err) < 0)
        return -1;
    if (o->platform) {
        if (img_platform_parse(o->platform, &want, err) < 0)
            return -1;
    } else {
        img_platform_host(&want);
    }
    gc = img_store_lock(s, "gc.lock", LOCK_SH, err);
    if (gc < 0)
        goto out;
    reg = img_registry_new(&o->registry);
    if (fetch_manifest(reg, s, ref, img_ref_object(ref), &buf, &len, &type, &top, err) < 0 ||
        img_manifest_parse(buf, len, type, &m, err) < 0)
        goto wrap;
    mdigest = xstrdup(top);
    top_is_manifest = m->kind == IMG_MANIFEST_IMAGE;
    if (m->kind == IMG_MANIFEST_INDEX) {
        const struct img_descriptor *d = img_manifest_select(m, &want, err);
        if (!d)
            goto wrap;
        free(mdigest);
        mdigest = xstrdup(d->digest);
        free(dtype);
        dtype = d->media_type ? xstrdup(d->media_type) : NULL;
        free(buf);
        free(type);
        buf = type = NULL;
        if (d->size > IMG_MANIFEST_MAX) {
            cm_error_set(err, EFBIG, "manifest %s: %lld bytes, the limit is %u", d->digest,
                         (long long)d->size, IMG_MANIFEST_MAX);
            goto wrap;
        }
        /* A stored platform manifest saves the second round trip. */
        if (img_store_read_blob(s, d->digest, IMG_MANIFEST_MAX, &buf, &len, NULL) < 0) {
            cleanup_free char *dg = NULL;
            if (fetch_manifest(reg, s, ref, d->digest, &buf, &len, &type, &dg, err) < 0)
                goto wrap;
        }
        img_manifest_free(m);
        m = NULL;
        if (img_manifest_parse(buf, len, type ? type : dtype, &m, err) < 0)
            goto wrap;
        if (m->kind != IMG_MANIFEST_IMAGE) {
            cm_error_set(err, 0, "manifest %s: an index inside an index is not supported", mdigest);
            goto wrap;
        }
    }
    if (img_store_read_blob(s, m->config.digest, IMG_CONFIG_MAX, &cbuf, &clen, NULL) < 0) {
        if (img_registry_get_blob_mem(reg, ref->registry, ref->repository, m->config.digest,
                                      IMG_CONFIG_MAX, &cbuf, &clen, err) < 0 ||
            img_store_put_blob(s, m->config.digest, cbuf, clen, err) < 0)
            goto wrap;
    }
    if (img_config_parse(cbuf, clen, &cfg, err) < 0)
        goto wrap;
    if (o->platform && top_is_manifest && cfg->os && cfg->arch &&
        (strcmp(cfg->os, want.os) || strcmp(cfg->arch, want.arch))) {
        /* A single-platform image cannot satisfy an explicit other platform. */
        cm_error_set(err, ENOENT, "image is %s/%s, not the requested %s", cfg->os, cfg->arch,
                     o->platform);
        goto wrap;
    }
    if (cfg->n_diff_ids != m->n_layers) {
        cm_error_set(err, 0, "config has %zu diff_ids for %zu layers", cfg->n_diff_ids,
                     m->n_layers);
        goto wrap;
    }
    {
        struct pull p = {.s = s, .reg = reg, .ref = ref, .o = o, .m = m, .cfg = cfg};
        int jobs = o->jobs > 0 ? o->jobs : 3;
        pthread_t *th = xcalloc((size_t)jobs, sizeof(*th));
        int started = 0;
        p.errs = xcalloc(m->n_layers + 1, sizeof(*p.errs));
        p.order = xcalloc(m->n_layers + 1, sizeof(*p.order));
        /* Largest first: the big layers start together and the small ones fill
         * the gaps at the end, so no core idles while one big layer finishes. */
        for (size_t i = 0; i < m->n_layers; i++) {
            size_t k = i;
            for (; k > 0 && m->layers[p.order[k - 1]].size < m->layers[i].size; k--)
                p.order[k] = p.order[k - 1];
            p.order[k] = i;
        }
        pthread_mutex_init(&p.lock, NULL);
        if ((size_t)jobs > m->n_layers)
            jobs = (int)m->n_layers;
        for (int i = 0; i < jobs; i++)
            if (pthread_create(&th[i], NULL, worker, &p) == 0)
                started++;
        if (started == 0)
            worker(&p);
        for (int i = 0; i < started; i++)
            pthread_join(th[i], NULL);
        pthread_mutex_destroy(&p.lock);
        free(th);
        free(p.order);
        r = 0;
        for (size_t i = 0; i < m->n_layers; i++) {
            if (p.errs[i] && r == 0) {
                *err = TAKE_PTR(p.errs[i]);
                r = -1;
            }
            cm_error_free(&p.errs[i]);
        }
        free(p.errs);
        if (r < 0)
            goto wrap;
    }
    img = xcalloc(1, sizeof(*img));
    img->name = img_ref_string(ref);
    img->digest = xstrdup(top);
    img->manifest = xstrdup(mdigest);
    img->config = xstrdup(m->config.digest);
    img->platform =
        xasprintf("%s/%s%s%s", cfg->os ? cfg->os : want.os, cfg->arch ? cfg->arch : want.arch,
                  cfg->variant ? "/" : "", cfg->variant ? cfg->variant : "");
    img->n_layers = m->n_layers;
    img->layers = xcalloc(m->n_layers + 1, sizeof(char *));
    img->diff_ids = xcalloc(m->n_layers + 1, sizeof(char *));
    for (size_t i = 0; i < m->n_layers; i++) {
        img->layers[i] = xstrdup(m->layers[i].digest);
        img->diff_ids[i] = xstrdup(cfg->diff_ids[i]);
        img->size += m->layers[i].size;
    }
    img->pulled = (int64_t)time(NULL);
    if (img_store_index_put(s, img, err) < 0)
        goto wrap;
    if (ret)
        *ret = TAKE_PTR(img);
    r = 0;
    goto out;
wrap:
    r = cm_error_wrap(err, "pull '%s'", refstr);
out:
    img_registry_free(reg);
    img_platform_done(&want);
    return r;
}
