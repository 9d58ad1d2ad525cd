/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: manifest/index/config parsers, platform selection,
 * WWW-Authenticate and image reference parsing on the same input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "img/auth.h"
#include "img/manifest.h"
#include "img/reference.h"
#include "img/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_error *err = NULL;
    struct img_manifest *m = NULL;
    struct img_config *c = NULL;
    char *s = malloc(size + 1);

    memcpy(s, data, size);
    s[size] = '\0';
    if (img_manifest_parse((const char *)data, size, NULL, &m, &err) == 0) {
        struct img_platform p;
        img_platform_host(&p);
        if (m->kind == IMG_MANIFEST_INDEX)
            img_manifest_select(m, &p, &err);
        img_platform_done(&p);
        img_manifest_free(m);
    }
    cm_error_free(&err);
    if (img_config_parse((const char *)data, size, &c, &err) == 0) {
        json_t *spec = img_spec_from_config(c, -1, NULL, &err);
        json_decref(spec);
        img_config_free(c);
    }
    cm_error_free(&err);
    {
        struct img_challenge ch;
        if (img_auth_parse_challenge(s, &ch, &err) == 0)
            img_challenge_done(&ch);
        cm_error_free(&err);
    }
    {
        struct img_ref *r = NULL;
        if (img_ref_parse(s, NULL, &r, &err) == 0) {
            free(img_ref_string(r));
            img_ref_free(r);
        }
        cm_error_free(&err);
    }
    {
        uid_t u;
        gid_t g;
        gid_t *gids = NULL;
        size_t n;
        if (img_user_resolve("app", s, s, &u, &g, &gids, &n, &err) == 0)
            free(gids);
        cm_error_free(&err);
    }
    free(s);
    return 0;
}
