/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for WWW-Authenticate parsing, base64 and auth-file lookup. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "../tmpdir_suite.h"
#include "cm/cleanup.h"
#include "cm/file.h"
#include "img/auth.h"

TMPDIR_SUITE(img_auth, dir, "/tmp/img-auth-XXXXXX");

Test(img_auth, bearer_challenge)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_challenge c;

    cr_assert_eq(img_auth_parse_challenge(
                     "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\""
                     ",scope=\"repository:library/busybox:pull\"",
                     &c, &err),
                 0);
    cr_assert_str_eq(c.scheme, "bearer");
    cr_assert_str_eq(c.realm, "https://auth.docker.io/token");
    cr_assert_str_eq(c.service, "registry.docker.io");
    cr_assert_str_eq(c.scope, "repository:library/busybox:pull");
    img_challenge_done(&c);
}

Test(img_auth, basic_and_quirks)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_challenge c;

    cr_assert_eq(img_auth_parse_challenge("Basic realm=\"Registry Realm\"", &c, &err), 0);
    cr_assert_str_eq(c.scheme, "basic");
    cr_assert_str_eq(c.realm, "Registry Realm");
    img_challenge_done(&c);
    cr_assert_eq(
        img_auth_parse_challenge("BEARER realm=http://x/t , service=s, error=\"a\\\"b\"", &c, &err),
        0);
    cr_assert_str_eq(c.scheme, "bearer");
    cr_assert_str_eq(c.realm, "http://x/t");
    cr_assert_str_eq(c.service, "s");
    img_challenge_done(&c);
}

Test(img_auth, bad_challenges)
{
    static const char *bad[] = {"", "Bearer service=x", "Bearer realm=\"unterminated",
                                "Bearer realm"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cleanup_error struct cm_error *err = NULL;
        struct img_challenge c;
        cr_assert_eq(img_auth_parse_challenge(bad[i], &c, &err), -1, "accepted '%s'", bad[i]);
    }
}

Test(img_auth, base64_roundtrip)
{
    cleanup_error struct cm_error *err = NULL;
    const char *in[] = {"", "a", "ab", "abc", "user:pass word"};
    for (size_t i = 0; i < 5; i++) {
        cleanup_free char *e = img_base64_encode(in[i], strlen(in[i]));
        cleanup_free char *d = NULL;
        cr_assert_eq(img_base64_decode(e, &d, NULL, &err), 0);
        cr_assert_str_eq(d, in[i]);
    }
    cleanup_free char *x = NULL;
    cr_assert_eq(img_base64_decode("a$==", &x, NULL, &err), -1);
}

Test(img_auth, lookup_auth_file)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *path = NULL;
    char *u = NULL, *p = NULL;
    const char *j = "{\"auths\":{\"https://127.0.0.1:5443/v2/\":{\"auth\":\"dTpwOnc=\"},"
                    "\"https://index.docker.io/v1/\":{\"username\":\"hub\",\"password\":\"pw\"}}}";

    cr_assert(asprintf(&path, "%s/config.json", dir) > 0);
    cr_assert_eq(cm_write_file_atomic_at(AT_FDCWD, path, j, strlen(j), 0600, &err), 0);
    cr_assert_eq(img_auth_lookup(path, "127.0.0.1:5443", &u, &p, &err), 1);
    cr_assert_str_eq(u, "u");
    cr_assert_str_eq(p, "p:w");
    free(u);
    free(p);
    cr_assert_eq(img_auth_lookup(path, "docker.io", &u, &p, &err), 1);
    cr_assert_str_eq(u, "hub");
    free(u);
    free(p);
    cr_assert_eq(img_auth_lookup(path, "other:1", &u, &p, &err), 0);
    cr_assert_eq(img_auth_lookup("/nonexistent/x.json", "other:1", &u, &p, &err), 0);
}

Test(img_auth, malformed_auth_file)
{
    cleanup_error struct cm_error *err = NULL;
    cleanup_free char *path = NULL;
    char *u = NULL, *p = NULL;

    cr_assert(asprintf(&path, "%s/bad.json", dir) > 0);
    cr_assert_eq(cm_write_file_atomic_at(AT_FDCWD, path, "{\"auths\":", 9, 0600, &err), 0);
    cr_assert_eq(img_auth_lookup(path, "x", &u, &p, &err), -1);
    cr_assert_not_null(err);
}
