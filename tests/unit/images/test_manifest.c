/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for manifest/index/config parsing and platform selection. */
#include <criterion/criterion.h>
#include <string.h>

#include "cm/cleanup.h"
#include "img/manifest.h"

#define H(c)                                                                                       \
#c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c
#define DA "sha256:" H(a)
#define DB "sha256:" H(b)
#define DC "sha256:" H(c)
#define DD "sha256:" H(d)

static const char index_json[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_INDEX "\",\"manifests\":["
    "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DA "\",\"size\":10,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DB "\",\"size\":10,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DC "\",\"size\":10,"
    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"},"
    "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}},"
    "{\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"digest\":\"" DD "\",\"size\":10,"
    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]}";

static const char manifest_json[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_DOCKER_MANIFEST "\","
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
    "\"digest\":\"" DA "\",\"size\":100},"
    "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\","
    "\"digest\":\"" DB "\",\"size\":2000,\"unknown\":1}],\"extra\":true}";

static struct img_platform
plat(const char *s)
{
    struct img_platform p;
    cr_assert_eq(img_platform_parse(s, &p, NULL), 0);
    return p;
}

Test(img_manifest, index_selects_platform_and_skips_attestation)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_img_manifest struct img_manifest *m = NULL;
    struct img_platform p;
    const struct img_descriptor *d;

    cr_assert_eq(img_manifest_parse(index_json, strlen(index_json), NULL, &m, &err), 0, "%s",
                 err ? err->msg : "");
    cr_assert_eq(m->kind, IMG_MANIFEST_INDEX);
    cr_assert_eq(m->n_manifests, 4);
    cr_assert(m->manifests[2].attestation);
    p = plat("linux/amd64");
    d = img_manifest_select(m, &p, &err);
    cr_assert_not_null(d);
    cr_assert_str_eq(d->digest, DA);
    img_platform_done(&p);
    p = plat("linux/arm64");
    d = img_manifest_select(m, &p, &err);
    cr_assert_str_eq(d->digest, DB);
    img_platform_done(&p);
    p = plat("linux/arm/v7");
    d = img_manifest_select(m, &p, &err);
    cr_assert_str_eq(d->digest, DD);
    img_platform_done(&p);
}

Test(img_manifest, no_matching_platform_lists_offers)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_img_manifest struct img_manifest *m = NULL;
    struct img_platform p = plat("linux/s390x");

    cr_assert_eq(img_manifest_parse(index_json, strlen(index_json), NULL, &m, &err), 0);
    cr_assert_null(img_manifest_select(m, &p, &err));
    cr_assert_not_null(strstr(err->msg, "linux/arm64/v8"));
    cr_assert_null(strstr(err->msg, "unknown"), "attestation offered: %s", err->msg);
    img_platform_done(&p);
}

Test(img_manifest, docker_manifest_ignores_unknown_keys)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_img_manifest struct img_manifest *m = NULL;

    cr_assert_eq(
        img_manifest_parse(manifest_json, strlen(manifest_json), IMG_MT_DOCKER_MANIFEST, &m, &err),
        0, "%s", err ? err->msg : "");
    cr_assert_eq(m->kind, IMG_MANIFEST_IMAGE);
    cr_assert_eq(m->n_layers, 1);
    cr_assert_eq(m->layers[0].size, 2000);
    cr_assert_str_eq(m->config.digest, DA);
}

Test(img_manifest, schema1_refused_clearly)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_manifest *m = NULL;
    const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}";

    cr_assert_eq(img_manifest_parse(s1, strlen(s1), NULL, &m, &err), -1);
    cr_assert_not_null(strstr(err->msg, "schema 1"));
    cm_error_free(&err);
    cr_assert_eq(img_manifest_parse(s1, strlen(s1), IMG_MT_DOCKER_V1_SIGNED, &m, &err), -1);
    cr_assert_not_null(strstr(err->msg, "schema 1"));
}

Test(img_manifest, bad_values_refused)
{
    static const char *bad[] = {
        "[]",
        "{\"schemaVersion\":2}",
        "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:12\",\"size\":1}]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" DA "\",\"size\":-1}]}",
        "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" DA "\",\"size\":\"1\"}]}",
        "{\"schemaVersion\":3,\"manifests\":[]}",
        "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"manifests\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DA "\",\"size\":1000000000,"
        "\"mediaType\":\"application/vnd.oci.image.config.v1+json\"},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"" DA "\",\"size\":1,"
        "\"mediaType\":\"application/vnd.example.sbom\"},\"layers\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cleanup_error struct cm_error *err = NULL;
        struct img_manifest *m = NULL;
        cr_assert_eq(img_manifest_parse(bad[i], strlen(bad[i]), NULL, &m, &err), -1, "accepted: %s",
                     bad[i]);
        cr_assert_not_null(err);
    }
}

Test(img_manifest, size_limit)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_manifest *m = NULL;
    size_t n = IMG_MANIFEST_MAX + 1;
    cleanup_free char *big = malloc(n);
    memset(big, ' ', n);
    cr_assert_eq(img_manifest_parse(big, n, NULL, &m, &err), -1);
    cr_assert_not_null(strstr(err->msg, "limit"));
}

Test(img_manifest, config_parse)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_img_config struct img_config *c = NULL;
    const char *j = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
                    "\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo hi\"],"
                    "\"Env\":[\"A=1\"],\"User\":\"app\",\"WorkingDir\":\"/home/app\","
                    "\"ExposedPorts\":{\"80/tcp\":{}},\"StopSignal\":\"SIGQUIT\"},"
                    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DA "\"]}}";

    cr_assert_eq(img_config_parse(j, strlen(j), &c, &err), 0, "%s", err ? err->msg : "");
    cr_assert_str_eq(c->entrypoint[1], "-c");
    cr_assert_str_eq(c->cmd[0], "echo hi");
    cr_assert_str_eq(c->user, "app");
    cr_assert_str_eq(c->exposed_ports[0], "80/tcp");
    cr_assert_str_eq(c->stop_signal, "SIGQUIT");
    cr_assert_eq(c->n_diff_ids, 1);
}

/* Found by tests/fuzz/agent_taskdef: the runtime refuses such an entry at start. */
Test(img_manifest, config_env_without_name)
{
    const char *bad[] = {"\"PATH\"", "\"=x\""};
    for (size_t i = 0; i < 2; i++) {
        cleanup_error struct cm_error *err = NULL;
        struct img_config *c = NULL;
        char *j = NULL;
        cr_assert_gt(asprintf(&j,
                              "{\"config\":{\"Env\":[\"A=1\",%s]},"
                              "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
                              bad[i]),
                     0);
        cr_assert_eq(img_config_parse(j, strlen(j), &c, &err), -1);
        cr_assert_null(c);
        cr_assert(strstr(err->msg, "config.Env[1]"), "%s", err->msg);
        free(j);
    }
}

Test(img_manifest, config_bad_diff_id)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_config *c = NULL;
    const char *j = "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:zz\"]}}";

    cr_assert_eq(img_config_parse(j, strlen(j), &c, &err), -1);
    cr_assert_not_null(strstr(err->msg, "diff_ids[0]"));
}

Test(img_manifest, platform_parse)
{
    struct img_platform p;
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(img_platform_parse("linux/arm64/v8", &p, &err), 0);
    cr_assert_str_eq(p.variant, "v8");
    img_platform_done(&p);
    cr_assert_eq(img_platform_parse("linux", &p, &err), -1);
    cm_error_free(&err);
    cr_assert_eq(img_platform_parse("linux/arm/v7/x", &p, &err), -1);
}
