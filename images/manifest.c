/* SPDX-License-Identifier: Apache-2.0 */
/* Manifest, index and image config parsing: unknown keys are ignored, invalid
 * values and oversized documents are refused with the field named. */
#include "img/manifest.h"

#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "cm/cleanup.h"
#include "cm/json.h"
#include "cm/xalloc.h"
#include "img/digest.h"

#define STRV_MAX 4096

void
img_platform_done(struct img_platform *p)
{
    free(p->os);
    free(p->arch);
    free(p->variant);
    memset(p, 0, sizeof(*p));
}

static void
descriptor_done(struct img_descriptor *d)
{
    free(d->media_type);
    free(d->digest);
    img_platform_done(&d->platform);
}

struct img_manifest *
img_manifest_free(struct img_manifest *m)
{
    if (!m)
        return NULL;
    free(m->media_type);
    descriptor_done(&m->config);
    for (size_t i = 0; i < m->n_layers; i++)
        descriptor_done(&m->layers[i]);
    free(m->layers);
    for (size_t i = 0; i < m->n_manifests; i++)
        descriptor_done(&m->manifests[i]);
    free(m->manifests);
    free(m);
    return NULL;
}

static int
parse_descriptor(json_t *j, const char *path, struct img_descriptor *d, struct cm_error **err)
{
    json_t *plat = NULL, *ann = NULL;

    if (!json_is_object(j))
        return cm_error_set(err, 0, "%s: expected object", path);
    if (cm_json_dup_string(j, path, "mediaType", false, &d->media_type, err) < 0 ||
        cm_json_dup_string(j, path, "digest", true, &d->digest, err) < 0 ||
        cm_json_get_int64(j, path, "size", true, &d->size, err) < 0)
        return -1;
    if (d->size < 0)
        return cm_error_set(err, 0, "%s.size: negative", path);
    if (img_digest_validate(d->digest, err) < 0)
        return cm_error_wrap(err, "%s.digest", path);
    if (cm_json_get_object(j, path, "platform", false, &plat, err) < 0 ||
        cm_json_get_object(j, path, "annotations", false, &ann, err) < 0)
        return -1;
    if (plat) {
        cleanup_free char *ppath = xasprintf("%s.platform", path);
        d->has_platform = true;
        if (cm_json_dup_string(plat, ppath, "os", true, &d->platform.os, err) < 0 ||
            cm_json_dup_string(plat, ppath, "architecture", true, &d->platform.arch, err) < 0 ||
            cm_json_dup_string(plat, ppath, "variant", false, &d->platform.variant, err) < 0)
            return -1;
        if (!strcmp(d->platform.os, "unknown") && !strcmp(d->platform.arch, "unknown"))
            d->attestation = true;
    }
    if (ann) {
        json_t *t = json_object_get(ann, "vnd.docker.reference.type");
        if (json_is_string(t) && !strcmp(json_string_value(t), "attestation-manifest"))
            d->attestation = true;
    }
    return 0;
}

static int
parse_descriptors(json_t *arr, const char *path, size_t max, struct img_descriptor **ret,
                  size_t *ret_n, struct cm_error **err)
{
    size_t n = json_array_size(arr);
    if (n > max)
        return cm_error_set(err, 0, "%s: %zu entries, at most %zu allowed", path, n, max);
    *ret = xcalloc(n ? n : 1, sizeof(**ret));
    *ret_n = n;
    for (size_t i = 0; i < n; i++) {
        cleanup_free char *p = xasprintf("%s[%zu]", path, i);
        if (parse_descriptor(json_array_get(arr, i), p, &(*ret)[i], err) < 0)
            return -1;
    }
    return 0;
}

int
img_manifest_parse(const char *buf, size_t len, const char *content_type, struct img_manifest **ret,
                   struct cm_error **err)
{
    json_auto_t *root = NULL;
    cleanup_img_manifest struct img_manifest *m = NULL;
    json_t *manifests = NULL, *layers = NULL, *config = NULL;
    const char *mt = NULL;
    int64_t schema = 0;

    if (len > IMG_MANIFEST_MAX)
        return cm_error_set(err, EFBIG, "manifest is %zu bytes, the limit is %u", len,
                            IMG_MANIFEST_MAX);
    if (content_type &&
        (!strncmp(content_type, IMG_MT_DOCKER_V1, strlen(IMG_MT_DOCKER_V1)) ||
         !strncmp(content_type, IMG_MT_DOCKER_V1_SIGNED, strlen(IMG_MT_DOCKER_V1_SIGNED))))
        return cm_error_set(err, ENOTSUP,
                            "Docker schema 1 manifests are not supported (deprecated format); "
                            "re-push the image with a current client");
    if (cm_json_loadb(buf, len, "manifest", &root, err) < 0)
        return -1;
    if (!json_is_object(root))
        return cm_error_set(err, 0, "manifest: expected a JSON object");
    if (cm_json_get_int64(root, "", "schemaVersion", false, &schema, err) < 0 ||
        cm_json_get_string(root, "", "mediaType", false, &mt, err) < 0)
        return -1;
    if (schema == 1 || json_object_get(root, "fsLayers"))
        return cm_error_set(err, ENOTSUP,
                            "Docker schema 1 manifests are not supported (deprecated format); "
                            "re-push the image with a current client");
    if (schema != 2)
        return cm_error_set(err, 0, "manifest: schemaVersion %lld is not supported",
                            (long long)schema);
    if (cm_json_get_array(root, "", "manifests", false, &manifests, err) < 0 ||
        cm_json_get_array(root, "", "layers", false, &layers, err) < 0 ||
        cm_json_get_object(root, "", "config", false, &config, err) < 0)
        return -1;
    if (!mt && content_type && *content_type && strcmp(content_type, "application/json"))
        mt = content_type;
    m = xcalloc(1, sizeof(*m));
    if (manifests && !layers) {
        if (mt && strcmp(mt, IMG_MT_OCI_INDEX) && strcmp(mt, IMG_MT_DOCKER_LIST))
            return cm_error_set(err, 0, "manifest: mediaType '%s' does not describe an index", mt);
        m->kind = IMG_MANIFEST_INDEX;
        m->media_type = xstrdup(mt ? mt : IMG_MT_OCI_INDEX);
        if (parse_descriptors(manifests, "manifests", IMG_INDEX_ENTRIES_MAX, &m->manifests,
                              &m->n_manifests, err) < 0)
            return -1;
    } else if (layers && config && !manifests) {
        if (mt && strcmp(mt, IMG_MT_OCI_MANIFEST) && strcmp(mt, IMG_MT_DOCKER_MANIFEST))
            return cm_error_set(err, 0,
                                "manifest: mediaType '%s' is not an image manifest this "
                                "client understands",
                                mt);
        m->kind = IMG_MANIFEST_IMAGE;
        m->media_type = xstrdup(mt ? mt : IMG_MT_OCI_MANIFEST);
        if (parse_descriptor(config, "config", &m->config, err) < 0 ||
            parse_descriptors(layers, "layers", IMG_LAYERS_MAX, &m->layers, &m->n_layers, err) < 0)
            return -1;
        if (m->config.size > IMG_CONFIG_MAX)
            return cm_error_set(err, EFBIG, "config: %lld bytes, the limit is %u",
                                (long long)m->config.size, IMG_CONFIG_MAX);
        /* Artifacts (signatures, SBOMs) are not runnable images. */
        if (m->config.media_type &&
            strcmp(m->config.media_type, "application/vnd.oci.image.config.v1+json") &&
            strcmp(m->config.media_type, "application/vnd.docker.container.image.v1+json"))
            return cm_error_set(err, ENOTSUP,
                                "manifest: config mediaType '%s' is not an image config",
                                m->config.media_type);
    } else {
        return cm_error_set(err, 0,
                            "manifest: neither an index (manifests) nor an image manifest "
                            "(config + layers)");
    }
    *ret = TAKE_PTR(m);
    return 0;
}

int
img_platform_parse(const char *s, struct img_platform *ret, struct cm_error **err)
{
    cleanup_free char *c = xstrdup(s);
    char *a = strchr(c, '/'), *v;

    memset(ret, 0, sizeof(*ret));
    if (!a || a == c || !a[1])
        return cm_error_set(err, 0, "invalid platform '%s' (os/arch[/variant] expected)", s);
    *a++ = '\0';
    v = strchr(a, '/');
    if (v) {
        *v++ = '\0';
        if (!*v || strchr(v, '/') || !*a)
            return cm_error_set(err, 0, "invalid platform '%s' (os/arch[/variant] expected)", s);
    }
    ret->os = xstrdup(c);
    ret->arch = xstrdup(a);
    ret->variant = v ? xstrdup(v) : NULL;
    return 0;
}

void
img_platform_host(struct img_platform *ret)
{
    struct utsname u;
    const char *arch = "amd64", *variant = NULL;

    memset(ret, 0, sizeof(*ret));
    if (uname(&u) == 0) {
        if (!strcmp(u.machine, "x86_64"))
            arch = "amd64";
        else if (!strcmp(u.machine, "aarch64")) {
            arch = "arm64";
            variant = "v8";
        } else if (!strncmp(u.machine, "armv7", 5)) {
            arch = "arm";
            variant = "v7";
        } else if (!strncmp(u.machine, "armv6", 5)) {
            arch = "arm";
            variant = "v6";
        } else if (!strcmp(u.machine, "i686") || !strcmp(u.machine, "i386"))
            arch = "386";
        else if (!strcmp(u.machine, "ppc64le") || !strcmp(u.machine, "s390x") ||
                 !strcmp(u.machine, "riscv64"))
            arch = u.machine;
    }
    ret->os = xstrdup("linux");
    ret->arch = xstrdup(arch);
    ret->variant = variant ? xstrdup(variant) : NULL;
}

char *
img_platform_string(const struct img_platform *p)
{
    return xasprintf("%s/%s%s%s", p->os ? p->os : "?", p->arch ? p->arch : "?",
                     p->variant ? "/" : "", p->variant ? p->variant : "");
}

static bool
variant_matches(const struct img_platform *want, const struct img_platform *have)
{
    const char *w = want->variant, *h = have->variant;
    if (!w)
        return true;
    if (!strcmp(want->arch, "arm64")) {
        /* arm64 images rarely carry "v8": treat absence as v8. */
        if (!h)
            h = "v8";
    }
    return h && !strcmp(w, h);
}

const struct img_descriptor *
img_manifest_select(const struct img_manifest *index, const struct img_platform *want,
                    struct cm_error **err)
{
    const struct img_descriptor *best = NULL;
    cleanup_free char *offered = NULL;
    cleanup_free char *w = NULL;

    for (size_t i = 0; i < index->n_manifests; i++) {
        const struct img_descriptor *d = &index->manifests[i];
        if (d->attestation || !d->has_platform)
            continue;
        if (strcmp(d->platform.os, want->os) || strcmp(d->platform.arch, want->arch))
            continue;
        if (!variant_matches(want, &d->platform))
            continue;
        /* Exact variant match wins over a variant-less entry. */
        if (!best ||
            (want->variant && d->platform.variant && !strcmp(d->platform.variant, want->variant)))
            best = d;
    }
    if (best)
        return best;
    for (size_t i = 0; i < index->n_manifests; i++) {
        const struct img_descriptor *d = &index->manifests[i];
        if (d->attestation || !d->has_platform)
            continue;
        cleanup_free char *p = img_platform_string(&d->platform);
        char *n = xasprintf("%s%s%s", offered ? offered : "", offered ? ", " : "", p);
        free(offered);
        offered = n;
    }
    w = img_platform_string(want);
    return cm_error_set(err, ENOENT, "no manifest for platform %s (the index offers: %s)", w,
                        offered ? offered : "nothing"),
           NULL;
}

struct img_config *
img_config_free(struct img_config *c)
{
    if (!c)
        return NULL;
    free(c->os);
    free(c->arch);
    free(c->variant);
    cm_strv_free(c->entrypoint);
    cm_strv_free(c->cmd);
    cm_strv_free(c->env);
    free(c->workdir);
    free(c->user);
    free(c->stop_signal);
    cm_strv_free(c->exposed_ports);
    cm_strv_free(c->diff_ids);
    json_decref(c->labels);
    free(c);
    return NULL;
}

static int
get_strv_limited(json_t *obj, const char *path, const char *key, char ***ret, struct cm_error **err)
{
    json_t *a = json_object_get(obj, key);
    if (a && json_is_array(a) && json_array_size(a) > STRV_MAX)
        return cm_error_set(err, 0, "%s.%s: more than %d entries", path, key, STRV_MAX);
    return cm_json_get_strv(obj, path, key, false, ret, err);
}

int
img_config_parse(const char *buf, size_t len, struct img_config **ret, struct cm_error **err)
{
    json_auto_t *root = NULL;
    cleanup_img_config struct img_config *c = NULL;
    json_t *cfg = NULL, *rootfs = NULL, *ports = NULL, *labels = NULL;

    if (len > IMG_CONFIG_MAX)
        return cm_error_set(err, EFBIG, "image config is %zu bytes, the limit is %u", len,
                            IMG_CONFIG_MAX);
    if (cm_json_loadb(buf, len, "config", &root, err) < 0)
        return -1;
    if (!json_is_object(root))
        return cm_error_set(err, 0, "config: expected a JSON object");
    c = xcalloc(1, sizeof(*c));
    if (cm_json_dup_string(root, "", "os", false, &c->os, err) < 0 ||
        cm_json_dup_string(root, "", "architecture", false, &c->arch, err) < 0 ||
        cm_json_dup_string(root, "", "variant", false, &c->variant, err) < 0 ||
        cm_json_get_object(root, "", "config", false, &cfg, err) < 0 ||
        cm_json_get_object(root, "", "rootfs", true, &rootfs, err) < 0)
        return -1;
    if (cfg) {
        if (get_strv_limited(cfg, "config", "Entrypoint", &c->entrypoint, err) < 0 ||
            get_strv_limited(cfg, "config", "Cmd", &c->cmd, err) < 0 ||
            get_strv_limited(cfg, "config", "Env", &c->env, err) < 0 ||
            cm_json_dup_string(cfg, "config", "WorkingDir", false, &c->workdir, err) < 0 ||
            cm_json_dup_string(cfg, "config", "User", false, &c->user, err) < 0 ||
            cm_json_dup_string(cfg, "config", "StopSignal", false, &c->stop_signal, err) < 0 ||
            cm_json_get_object(cfg, "config", "ExposedPorts", false, &ports, err) < 0 ||
            cm_json_get_object(cfg, "config", "Labels", false, &labels, err) < 0)
            return -1;
        /* The runtime refuses an environment entry without a name: say so here,
         * where the image is named, instead of at container start. */
        for (size_t i = 0; c->env && c->env[i]; i++)
            if (c->env[i][0] == '=' || !strchr(c->env[i], '='))
                return cm_error_set(err, 0, "config.Env[%zu]: '%.64s' is not NAME=value", i,
                                    c->env[i]);
        if (ports) {
            const char *k;
            json_t *v;
            size_t i = 0;
            if (json_object_size(ports) > STRV_MAX)
                return cm_error_set(err, 0, "config.ExposedPorts: too many entries");
            c->exposed_ports = xcalloc(json_object_size(ports) + 1, sizeof(char *));
            json_object_foreach (ports, k, v)
                c->exposed_ports[i++] = xstrdup(k);
        }
        if (labels)
            c->labels = json_incref(labels);
    }
    {
        json_t *ids = NULL;
        const char *type = NULL;
        if (cm_json_get_string(rootfs, "rootfs", "type", true, &type, err) < 0 ||
            cm_json_get_array(rootfs, "rootfs", "diff_ids", true, &ids, err) < 0)
            return -1;
        if (strcmp(type, "layers"))
            return cm_error_set(err, 0, "rootfs.type: '%s' is not 'layers'", type);
        if (json_array_size(ids) > IMG_LAYERS_MAX)
            return cm_error_set(err, 0, "rootfs.diff_ids: too many entries");
        if (cm_json_get_strv(rootfs, "rootfs", "diff_ids", true, &c->diff_ids, err) < 0)
            return -1;
        c->n_diff_ids = cm_strv_len(c->diff_ids);
        for (size_t i = 0; i < c->n_diff_ids; i++)
            if (img_digest_validate(c->diff_ids[i], err) < 0)
                return cm_error_wrap(err, "rootfs.diff_ids[%zu]", i);
    }
    *ret = TAKE_PTR(c);
    return 0;
}
