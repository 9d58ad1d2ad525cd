/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for linux.cgroupsPath resolution (pure: no cgroupfs touched). */
#include <criterion/criterion.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "rt/cgroup.h"

struct good {
    const char *in;
    const char *id;
    const char *out;
};

/* Tables in one test each: Criterion re-executes the binary per test, so
 * parameterized tests cannot carry pointers to static strings. */
static const struct good good_cases[] = {
    {NULL, "c1", "/skiff/c1"},
    {"", "c1", "/skiff/c1"},
    {"rel/x", "c1", "/skiff/rel/x"},
    {"/abs", "c1", "/abs"},
    {"//a///b/", "c1", "/a/b"},
    {"/a.b/c-d_e", "c1", "/a.b/c-d_e"},
    {"machine.slice:libpod:abc123", "c1", "/machine.slice/libpod-abc123.scope"},
    {"a-b.slice:pfx:n", "c1", "/a.slice/a-b.slice/pfx-n.scope"},
    {":pfx:n", "c1", "/system.slice/pfx-n.scope"},
    {"-.slice:pfx:n", "c1", "/pfx-n.scope"},
    {"user.slice::n", "c1", "/user.slice/n.scope"},
    {"system.slice:pfx:sub.slice", "c1", "/system.slice/sub.slice"},
};

Test(rt_cgroup_path, resolves)
{
    for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const struct good *c = &good_cases[i];
        cleanup_error struct cm_error *err = NULL;
        cleanup_free char *out = NULL;
        cr_assert_eq(rt_cgroup_resolve_path(c->in, c->id, &out, &err), 0, "%s: %s",
                     c->in ? c->in : "(null)", err ? err->msg : "");
        cr_assert_str_eq(out, c->out);
    }
}

struct bad {
    const char *in;
    const char *id;
};

static const struct bad bad_cases[] = {
    {"/a/../b", "c1"},
    {"..", "c1"},
    {"/..", "c1"},
    {"a/./b", "c1"},
    {"/", "c1"},
    {"///", "c1"},
    {"/a\nb", "c1"},
    {"/a\tb", "c1"},
    {"x:y", "c1"},
    {"a:b:c:d", "c1"},
    {"bad:p:n", "c1"},
    {"a--b.slice:p:n", "c1"},
    {"s.slice:p/x:n", "c1"},
    {"s.slice:p:", "c1"},
    {NULL, "a/b"},
    {NULL, ".."},
    {NULL, ""},
    {NULL, NULL},
    {"s.slice::", "c1"},
};

Test(rt_cgroup_path, rejects)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad *c = &bad_cases[i];
        cleanup_error struct cm_error *err = NULL;
        char *out = NULL;
        cr_assert_eq(rt_cgroup_resolve_path(c->in, c->id, &out, &err), -1, "'%s' accepted as '%s'",
                     c->in ? c->in : "(null)", out ? out : "");
        cr_assert_null(out);
        cr_assert_eq(err->code, 0, "not a validation error: %s", err->msg);
        cr_assert(strlen(err->msg) > 0);
    }
}

Test(rt_cgroup_path, rejects_overlong)
{
    cleanup_error struct cm_error *err = NULL;
    char *out = NULL;
    cleanup_free char *comp = xmalloc(300);
    memset(comp, 'a', 299);
    comp[299] = '\0';
    cleanup_free char *p1 = xasprintf("/%s", comp);
    cr_assert_eq(rt_cgroup_resolve_path(p1, "x", &out, &err), -1);
    cr_assert(strstr(err->msg, "255"), "%s", err->msg);
    cm_error_free(&err);

    cleanup_free char *big = xmalloc(5000);
    for (size_t i = 0; i < 4998; i += 2) {
        big[i] = '/';
        big[i + 1] = 'a';
    }
    big[4998] = '\0';
    cr_assert_eq(rt_cgroup_resolve_path(big, "x", &out, &err), -1);
    cr_assert(strstr(err->msg, "longer"), "%s", err->msg);
    cr_assert_null(out);
}
