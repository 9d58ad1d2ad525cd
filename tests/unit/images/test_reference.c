/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for image reference parsing. */
#include <criterion/criterion.h>
#include <string.h>

#include "cm/cleanup.h"
#include "img/reference.h"

struct ref_case {
    const char *in, *registry, *repo, *tag, *digest;
};

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct ref_case valid_cases[] = {
    {"busybox", "docker.io", "library/busybox", "latest", NULL},
    {"busybox:1.35", "docker.io", "library/busybox", "1.35", NULL},
    {"user/app", "docker.io", "user/app", "latest", NULL},
    {"localhost/app", "localhost", "app", "latest", NULL},
    {"localhost:5000/a/b:v1", "localhost:5000", "a/b", "v1", NULL},
    {"127.0.0.1:5100/busybox:latest", "127.0.0.1:5100", "busybox", "latest", NULL},
    {"quay.io/org/img@" D64, "quay.io", "org/img", NULL, D64},
    {"reg.example.com:443/x:t@" D64, "reg.example.com:443", "x", "t", D64},
    {"[::1]:5000/app:1", "[::1]:5000", "app", "1", NULL},
    {"a/b-c.d__e/f", "docker.io", "a/b-c.d__e/f", "latest", NULL},
};

static void
check_valid(const struct ref_case *c)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_ref *r = NULL;

    cr_assert_eq(img_ref_parse(c->in, NULL, &r, &err), 0, "%s: %s", c->in, err ? err->msg : "");
    cr_assert_str_eq(r->registry, c->registry);
    cr_assert_str_eq(r->repository, c->repo);
    if (c->tag)
        cr_assert_str_eq(r->tag, c->tag);
    else
        cr_assert_null(r->tag);
    if (c->digest)
        cr_assert_str_eq(r->digest, c->digest);
    else
        cr_assert_null(r->digest);
    img_ref_free(r);
}

Test(img_reference, valid)
{
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++)
        check_valid(&valid_cases[i]);
}

Test(img_reference, invalid)
{
    static const char *cases[] = {
        "",
        "UPPER",
        "busybox:",
        "busybox:-bad",
        "bad..name",
        "host:5000/",
        "busybox@sha256:abc",
        "busybox@md5:0123456789abcdef0123456789abcdef",
        "host:99999/app",
        "a//b",
        "name_",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cleanup_error struct cm_error *err = NULL;
        struct img_ref *r = NULL;
        cr_assert_eq(img_ref_parse(cases[i], NULL, &r, &err), -1, "'%s' accepted", cases[i]);
        cr_assert_not_null(err);
        cr_assert_null(r);
    }
}

Test(img_reference, default_registry_and_string)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_ref *r = NULL;
    cleanup_free char *s = NULL;

    cr_assert_eq(img_ref_parse("team/app:2", "127.0.0.1:5100", &r, &err), 0);
    cr_assert_str_eq(r->registry, "127.0.0.1:5100");
    cr_assert_str_eq(r->repository, "team/app");
    s = img_ref_string(r);
    cr_assert_str_eq(s, "127.0.0.1:5100/team/app:2");
    cr_assert_str_eq(img_ref_object(r), "2");
    img_ref_free(r);
}

Test(img_reference, digest_wins_as_object)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_ref *r = NULL;

    cr_assert_eq(img_ref_parse("x:t@" D64, NULL, &r, &err), 0);
    cr_assert_str_eq(img_ref_object(r), D64);
    img_ref_free(r);
}
