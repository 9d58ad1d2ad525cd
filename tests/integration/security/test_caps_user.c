/* SPDX-License-Identifier: Apache-2.0 */
/* Capabilities, user/groups, rlimits, oomScoreAdj and no_new_privs applied
 * for real in a forked child and read back from the kernel. */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child.h"
#include "cm/error.h"
#include "rt/security.h"

#define BIT(c) (UINT64_C(1) << (c))

struct capsets {
    uint64_t eff, prm, inh, bnd, amb;
};

static uint64_t
status_hex(const char *key)
{
    char line[256];
    uint64_t v = UINT64_MAX;
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return v;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':')
            v = strtoull(line + strlen(key) + 1, NULL, 16);
    fclose(f);
    return v;
}

static struct capsets
read_capsets(void)
{
    return (struct capsets){status_hex("CapEff"), status_hex("CapPrm"), status_hex("CapInh"),
                            status_hex("CapBnd"), status_hex("CapAmb")};
}

/* The child writes what it read to a pipe; the parent compares. */
struct caps_job {
    struct rt_capabilities req;
    struct rt_user user;
    bool apply_user;
    int pipe_w;
};

static int
child_caps(void *arg)
{
    struct caps_job *j = arg;
    cleanup_error struct cm_error *err = NULL;
    if (j->apply_user && rt_user_apply(&j->user, &err) < 0) {
        fprintf(stderr, "user: %s\n", err->msg);
        return 98;
    }
    if (rt_caps_apply(&j->req, &err) < 0) {
        fprintf(stderr, "caps: %s\n", err->msg);
        return 99;
    }
    struct capsets c = read_capsets();
    CHILD_CHECK(write(j->pipe_w, &c, sizeof(c)) == sizeof(c));
    return 0;
}

static struct capsets
apply_in_child(struct caps_job *j)
{
    int p[2];
    struct capsets got = {0};
    cr_assert_eq(pipe(p), 0);
    j->pipe_w = p[1];
    int status = run_child(child_caps, j);
    close(p[1]);
    ssize_t n = read(p[0], &got, sizeof(got));
    close(p[0]);
    assert_exit0(status);
    cr_assert_eq(n, (ssize_t)sizeof(got));
    return got;
}

Test(rt_security_caps, sets_match_request_minus_unavailable, .timeout = 30)
{
    require_root();
    struct rt_caps_state st;
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(rt_caps_state_read(&st, &err), 0);
    uint64_t want = BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_KILL);
    struct caps_job j = {
        .req =
            {
                .present = true,
                /* CAP_SYS_RESOURCE may be missing from our bounding set (it is
                 * on the development host); 63 is beyond any kernel. */
                .bounding = want | BIT(CAP_SYS_RESOURCE) | BIT(63),
                .effective = want | BIT(63),
                .permitted = want | BIT(CAP_SYS_RESOURCE),
                .inheritable = BIT(CAP_NET_BIND_SERVICE),
                .ambient = BIT(CAP_NET_BIND_SERVICE),
            },
    };
    struct capsets got = apply_in_child(&j);
    uint64_t res = st.bounding & BIT(CAP_SYS_RESOURCE);
    cr_expect_eq(got.bnd, want | res, "CapBnd %#" PRIx64, got.bnd);
    cr_expect_eq(got.eff, want, "CapEff %#" PRIx64, got.eff);
    cr_expect_eq(got.prm, want | (st.permitted & res), "CapPrm %#" PRIx64, got.prm);
    cr_expect_eq(got.inh, BIT(CAP_NET_BIND_SERVICE), "CapInh %#" PRIx64, got.inh);
    cr_expect_eq(got.amb, BIT(CAP_NET_BIND_SERVICE), "CapAmb %#" PRIx64, got.amb);
}

Test(rt_security_caps, empty_sets_drop_everything, .timeout = 30)
{
    require_root();
    struct caps_job j = {.req = {.present = true}};
    struct capsets got = apply_in_child(&j);
    cr_expect_eq(got.bnd, 0);
    cr_expect_eq(got.eff, 0);
    cr_expect_eq(got.prm, 0);
    cr_expect_eq(got.amb, 0);
}

Test(rt_security_caps, absent_section_changes_nothing, .timeout = 30)
{
    require_root();
    struct caps_job j = {.req = {.present = false, .bounding = 0}};
    struct capsets before = read_capsets();
    struct capsets got = apply_in_child(&j);
    cr_expect_eq(got.bnd, before.bnd);
    cr_expect_eq(got.prm, before.prm);
}

Test(rt_security_caps, kept_across_uid_change, .timeout = 30)
{
    require_root();
    uint64_t want = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW);
    struct caps_job j = {
        .req = {.present = true,
                .bounding = want,
                .effective = want,
                .permitted = want,
                .inheritable = want,
                .ambient = BIT(CAP_NET_BIND_SERVICE)},
        .user = {.uid = 1000, .gid = 1000},
        .apply_user = true,
    };
    struct capsets got = apply_in_child(&j);
    cr_expect_eq(got.eff, want, "CapEff %#" PRIx64, got.eff);
    cr_expect_eq(got.prm, want, "CapPrm %#" PRIx64, got.prm);
    cr_expect_eq(got.bnd, want);
    cr_expect_eq(got.amb, BIT(CAP_NET_BIND_SERVICE));
}

/* ---- user ---- */

static int
child_user(void *arg)
{
    (void)arg;
    gid_t groups[] = {2000, 3000};
    struct rt_user u = {.uid = 1000,
                        .gid = 1001,
                        .additional_gids = groups,
                        .n_additional_gids = 2,
                        .has_umask = true,
                        .umask = 027};
    cleanup_error struct cm_error *err = NULL;
    uid_t r, e, s;
    gid_t gr, ge, gs, got[8];

    CHILD_CHECK(rt_user_apply(&u, &err) == 0);
    CHILD_CHECK(getresuid(&r, &e, &s) == 0 && r == 1000 && e == 1000 && s == 1000);
    CHILD_CHECK(getresgid(&gr, &ge, &gs) == 0 && gr == 1001 && ge == 1001 && gs == 1001);
    CHILD_CHECK(getgroups(8, got) == 2 && got[0] == 2000 && got[1] == 3000);
    CHILD_CHECK(umask(0) == 027);
    /* A non-root uid without capabilities: cannot go back. */
    CHILD_CHECK(setuid(0) < 0);
    return 0;
}

Test(rt_security_user, uid_gid_groups_umask, .timeout = 30)
{
    require_root();
    assert_exit0(run_child(child_user, NULL));
}

static int
child_user_no_groups(void *arg)
{
    (void)arg;
    struct rt_user u = {.uid = 0, .gid = 0};
    cleanup_error struct cm_error *err = NULL;
    gid_t got[8];
    mode_t before = umask(022);
    (void)before;
    CHILD_CHECK(setgroups(1, (gid_t[]){4242}) == 0);
    CHILD_CHECK(rt_user_apply(&u, &err) == 0);
    CHILD_CHECK(getgroups(8, got) == 0);
    CHILD_CHECK(umask(0) == 022); /* no umask given: untouched */
    return 0;
}

Test(rt_security_user, empty_groups_clear_inherited, .timeout = 30)
{
    require_root();
    assert_exit0(run_child(child_user_no_groups, NULL));
}

static int
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -1;
    int r = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) < 0 ? -1 : r;
}

/* An unprivileged-style user namespace: setgroups is denied. Changing the
 * groups is then skipped when none are asked for, an error otherwise. */
static int
child_setgroups_denied(void *arg)
{
    (void)arg;
    char map[32];
    struct rt_user u = {.uid = 0, .gid = 0};
    cleanup_error struct cm_error *err = NULL;
    uid_t uid = getuid();
    gid_t gid = getgid();

    CHILD_CHECK(unshare(CLONE_NEWUSER) == 0);
    CHILD_CHECK(write_file("/proc/self/setgroups", "deny") == 0);
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
    CHILD_CHECK(write_file("/proc/self/uid_map", map) == 0);
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
    CHILD_CHECK(write_file("/proc/self/gid_map", map) == 0);
    CHILD_CHECK(rt_user_apply(&u, &err) == 0);
    gid_t g = 0;
    u.additional_gids = &g;
    u.n_additional_gids = 1;
    CHILD_CHECK(rt_user_apply(&u, &err) == -1);
    CHILD_CHECK(strstr(err->msg, "additionalGids") && strstr(err->msg, "denied"));
    return 0;
}

Test(rt_security_user, setgroups_denied_in_user_namespace, .timeout = 30)
{
    require_root();
    assert_exit0(run_child(child_setgroups_denied, NULL));
}

Test(rt_security_user, bad_umask_rejected_before_any_change)
{
    struct rt_user u = {.uid = 12345, .gid = 12345, .has_umask = true, .umask = 01777};
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(rt_user_apply(&u, &err), -1);
    cr_expect(strstr(err->msg, "umask"));
    cr_expect_neq(getuid(), 12345);
}

/* ---- rlimits ---- */

static int
child_rlimits(void *arg)
{
    (void)arg;
    struct rt_rlimit rl[] = {
        {.resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 100, .hard = 200},
        {.resource = RLIMIT_CORE, .type = NULL, .soft = 0, .hard = 0},
    };
    cleanup_error struct cm_error *err = NULL;
    struct rlimit r;
    CHILD_CHECK(rt_rlimits_apply(rl, 2, &err) == 0);
    CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur == 100 && r.rlim_max == 200);
    CHILD_CHECK(getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_cur == 0 && r.rlim_max == 0);
    return 0;
}

Test(rt_security_rlimits, nofile_lowered_and_read_back, .timeout = 30)
{
    assert_exit0(run_child(child_rlimits, NULL));
}

Test(rt_security_rlimits, soft_above_hard)
{
    struct rt_rlimit rl = {
        .resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 9, .hard = 8};
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(rt_rlimits_apply(&rl, 1, &err), -1);
    cr_expect(strstr(err->msg, "RLIMIT_NOFILE"), "%s", err->msg);
    cr_expect(strstr(err->msg, "soft"), "%s", err->msg);
}

static int
child_raise_hard(void *arg)
{
    (void)arg;
    cleanup_error struct cm_error *err = NULL;
    /* Make sure we lack CAP_SYS_RESOURCE whatever the host gives us. */
    cap_t c = cap_get_proc();
    cap_value_t v = CAP_SYS_RESOURCE;
    CHILD_CHECK(c && cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) == 0);
    CHILD_CHECK(cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_CLEAR) == 0);
    CHILD_CHECK(cap_set_proc(c) == 0);
    cap_free(c);
    struct rt_rlimit low = {.resource = RLIMIT_NOFILE, .soft = 50, .hard = 100};
    struct rt_rlimit high = {.resource = RLIMIT_NOFILE, .soft = 50, .hard = 200};
    CHILD_CHECK(rt_rlimits_apply(&low, 1, &err) == 0);
    CHILD_CHECK(rt_rlimits_apply(&high, 1, &err) == -1);
    fprintf(stderr, "expected error: %s\n", err->msg);
    CHILD_CHECK(strstr(err->msg, "RLIMIT_NOFILE") && strstr(err->msg, "CAP_SYS_RESOURCE"));
    CHILD_CHECK(err->code == EPERM);
    return 0;
}

Test(rt_security_rlimits, raising_hard_needs_sys_resource, .timeout = 30)
{
    assert_exit0(run_child(child_raise_hard, NULL));
}

/* ---- oom_score_adj, no_new_privs ---- */

static int
child_oom(void *arg)
{
    (void)arg;
    struct rt_process p = {.has_oom_score_adj = true, .oom_score_adj = 500};
    cleanup_error struct cm_error *err = NULL;
    char buf[16] = {0};
    CHILD_CHECK(rt_oom_score_adj_apply(&p, &err) == 0);
    FILE *f = fopen("/proc/self/oom_score_adj", "re");
    CHILD_CHECK(f && fgets(buf, sizeof(buf), f));
    fclose(f);
    CHILD_CHECK(atoi(buf) == 500);
    p.oom_score_adj = 1001;
    CHILD_CHECK(rt_oom_score_adj_apply(&p, &err) == -1 && strstr(err->msg, "oomScoreAdj"));
    cm_error_free(&err);
    /* Lowering needs CAP_SYS_RESOURCE: make sure we do not have it. */
    cap_t c = cap_get_proc();
    cap_value_t v = CAP_SYS_RESOURCE;
    CHILD_CHECK(c && cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) == 0);
    CHILD_CHECK(cap_set_proc(c) == 0);
    cap_free(c);
    p.oom_score_adj = -500;
    CHILD_CHECK(rt_oom_score_adj_apply(&p, &err) == -1);
    CHILD_CHECK(strstr(err->msg, "CAP_SYS_RESOURCE") && err->code == EACCES);
    return 0;
}

Test(rt_security_process, oom_score_adj, .timeout = 30)
{
    assert_exit0(run_child(child_oom, NULL));
}

static int
child_nnp(void *arg)
{
    (void)arg;
    struct rt_process p = {.no_new_privileges = false};
    cleanup_error struct cm_error *err = NULL;
    CHILD_CHECK(rt_no_new_privs_apply(&p, &err) == 0);
    CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
    p.no_new_privileges = true;
    CHILD_CHECK(rt_no_new_privs_apply(&p, &err) == 0);
    CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
    return 0;
}

Test(rt_security_process, no_new_privs, .timeout = 30)
{
    assert_exit0(run_child(child_nnp, NULL));
}
