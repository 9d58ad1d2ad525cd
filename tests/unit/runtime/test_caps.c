/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the capability helpers: mask <-> libcap conversion and the
 * rules that leave out capabilities we cannot grant. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>

#include "cm/error.h"
#include "rt/security.h"

#define BIT(c) (UINT64_C(1) << (c))

struct mask_case {
    uint64_t eff, prm, inh;
};

ParameterizedTestParameters(rt_caps, libcap_round_trip)
{
    static struct mask_case cases[] = {
        {0, 0, 0},
        {BIT(CAP_CHOWN), BIT(CAP_CHOWN), 0},
        {BIT(CAP_SYS_ADMIN), BIT(CAP_SYS_ADMIN) | BIT(CAP_NET_RAW), BIT(CAP_NET_BIND_SERVICE)},
        {0, BIT(CAP_CHECKPOINT_RESTORE) | BIT(CAP_BPF), BIT(CAP_PERFMON)},
        {BIT(0) | BIT(31) | BIT(32), BIT(0) | BIT(31) | BIT(32) | BIT(40), BIT(33)},
    };
    return cr_make_param_array(struct mask_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct mask_case *c, rt_caps, libcap_round_trip)
{
    cap_t caps = rt_caps_to_libcap(c->eff, c->prm, c->inh);
    cr_assert_not_null(caps);
    cr_expect_eq(rt_caps_from_libcap(caps, CAP_EFFECTIVE), c->eff);
    cr_expect_eq(rt_caps_from_libcap(caps, CAP_PERMITTED), c->prm);
    cr_expect_eq(rt_caps_from_libcap(caps, CAP_INHERITABLE), c->inh);
    cap_free(caps);
}

Test(rt_caps, libcap_text_agrees)
{
    /* libcap's own parser and our masks describe the same sets. */
    cap_t parsed = cap_from_text("cap_chown,cap_kill=ep cap_net_bind_service=i");
    cr_assert_not_null(parsed);
    cr_expect_eq(rt_caps_from_libcap(parsed, CAP_EFFECTIVE), BIT(CAP_CHOWN) | BIT(CAP_KILL));
    cr_expect_eq(rt_caps_from_libcap(parsed, CAP_PERMITTED), BIT(CAP_CHOWN) | BIT(CAP_KILL));
    cr_expect_eq(rt_caps_from_libcap(parsed, CAP_INHERITABLE), BIT(CAP_NET_BIND_SERVICE));
    cap_t ours = rt_caps_to_libcap(BIT(CAP_CHOWN) | BIT(CAP_KILL), BIT(CAP_CHOWN) | BIT(CAP_KILL),
                                   BIT(CAP_NET_BIND_SERVICE));
    cr_expect_eq(cap_compare(parsed, ours), 0);
    cap_free(parsed);
    cap_free(ours);
}

/* A host like ours: everything up to 40 except CAP_SYS_RESOURCE. */
static struct rt_caps_state
host_without_sys_resource(void)
{
    uint64_t all = BIT(41) - 1;
    return (struct rt_caps_state){
        .last_cap = 40,
        .bounding = all & ~BIT(CAP_SYS_RESOURCE),
        .permitted = all & ~BIT(CAP_SYS_RESOURCE),
        .inheritable = 0,
    };
}

Test(rt_caps, plan_skips_caps_missing_from_our_bounding_set)
{
    struct rt_caps_state st = host_without_sys_resource();
    uint64_t want = BIT(CAP_CHOWN) | BIT(CAP_SYS_RESOURCE) | BIT(CAP_KILL);
    struct rt_capabilities req = {.present = true,
                                  .bounding = want,
                                  .effective = want,
                                  .permitted = want,
                                  .inheritable = want,
                                  .ambient = want};
    struct rt_capabilities got;
    uint64_t skipped = 0;

    rt_caps_plan(&req, &st, &got, &skipped);
    uint64_t ok = BIT(CAP_CHOWN) | BIT(CAP_KILL);
    cr_expect_eq(got.bounding, ok);
    cr_expect_eq(got.effective, ok);
    cr_expect_eq(got.permitted, ok);
    cr_expect_eq(got.inheritable, ok);
    cr_expect_eq(got.ambient, ok);
    cr_expect_eq(skipped, BIT(CAP_SYS_RESOURCE));
    cr_expect(got.present);
}

Test(rt_caps, plan_skips_caps_beyond_the_kernel)
{
    struct rt_caps_state st = host_without_sys_resource();
    st.last_cap = 37; /* an older kernel: no PERFMON (38), BPF (39), CHECKPOINT_RESTORE (40) */
    st.bounding &= BIT(38) - 1;
    st.permitted &= BIT(38) - 1;
    struct rt_capabilities req = {.present = true,
                                  .bounding = BIT(CAP_BPF) | BIT(CAP_CHOWN) | BIT(63),
                                  .permitted = BIT(CAP_BPF) | BIT(63)};
    struct rt_capabilities got;
    uint64_t skipped = 0;

    rt_caps_plan(&req, &st, &got, &skipped);
    cr_expect_eq(got.bounding, BIT(CAP_CHOWN));
    cr_expect_eq(got.permitted, 0);
    cr_expect_eq(skipped, BIT(CAP_BPF) | BIT(63));
}

Test(rt_caps, plan_effective_within_permitted_ambient_within_both)
{
    struct rt_caps_state st = host_without_sys_resource();
    struct rt_capabilities req = {
        .present = true,
        .bounding = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_RAW),
        .permitted = BIT(CAP_CHOWN) | BIT(CAP_NET_RAW),
        .effective = BIT(CAP_CHOWN) | BIT(CAP_KILL),
        .inheritable = BIT(CAP_KILL) | BIT(CAP_NET_RAW),
        .ambient = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_RAW),
    };
    struct rt_capabilities got;
    uint64_t skipped = 0;

    rt_caps_plan(&req, &st, &got, &skipped);
    cr_expect_eq(got.effective, BIT(CAP_CHOWN), "effective must stay within permitted");
    cr_expect_eq(got.ambient, BIT(CAP_NET_RAW), "ambient needs permitted and inheritable");
    cr_expect_eq(skipped, BIT(CAP_KILL) | BIT(CAP_CHOWN));
}

Test(rt_caps, plan_inheritable_without_setpcap)
{
    /* Without CAP_SETPCAP inheritable can only come from what we hold. */
    struct rt_caps_state st = {.last_cap = 40,
                               .bounding = BIT(41) - 1,
                               .permitted = BIT(CAP_CHOWN),
                               .inheritable = BIT(CAP_KILL)};
    struct rt_capabilities req = {.present = true,
                                  .bounding = BIT(41) - 1,
                                  .inheritable =
                                      BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_ADMIN)};
    struct rt_capabilities got;
    uint64_t skipped;

    rt_caps_plan(&req, &st, &got, &skipped);
    cr_expect_eq(got.inheritable, BIT(CAP_CHOWN) | BIT(CAP_KILL));
    cr_expect_eq(skipped, BIT(CAP_NET_ADMIN));

    /* With it, anything in the new bounding set. */
    st.permitted |= BIT(CAP_SETPCAP);
    rt_caps_plan(&req, &st, &got, &skipped);
    cr_expect_eq(got.inheritable, BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_ADMIN));
    cr_expect_eq(skipped, 0);
}

Test(rt_caps, plan_inheritable_outside_new_bounding_is_dropped)
{
    struct rt_caps_state st = host_without_sys_resource();
    struct rt_capabilities req = {
        .present = true, .bounding = BIT(CAP_CHOWN), .inheritable = BIT(CAP_NET_ADMIN)};
    struct rt_capabilities got;
    uint64_t skipped;

    rt_caps_plan(&req, &st, &got, &skipped);
    cr_expect_eq(got.inheritable, 0);
    cr_expect_eq(skipped, BIT(CAP_NET_ADMIN));
}

Test(rt_caps, plan_skipped_may_be_null)
{
    struct rt_caps_state st = host_without_sys_resource();
    struct rt_capabilities req = {.present = true, .bounding = BIT(CAP_SYS_RESOURCE)};
    struct rt_capabilities got;
    rt_caps_plan(&req, &st, &got, NULL);
    cr_expect_eq(got.bounding, 0);
}

Test(rt_caps, kernel_last_cap_matches_proc)
{
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int want = -1;
    if (!f)
        cr_skip_test("no /proc/sys/kernel/cap_last_cap");
    cr_assert_eq(fscanf(f, "%d", &want), 1);
    fclose(f);
    cr_expect_eq(rt_caps_kernel_last_cap(), want);
    cr_expect_geq(want, CAP_AUDIT_READ);
}

Test(rt_caps, state_read_is_consistent)
{
    struct rt_caps_state st;
    cleanup_error struct cm_error *err = NULL;
    cr_assert_eq(rt_caps_state_read(&st, &err), 0);
    uint64_t valid = st.last_cap >= 63 ? UINT64_MAX : BIT(st.last_cap + 1) - 1;
    cr_expect_eq(st.bounding & ~valid, 0);
    cr_expect_eq(st.permitted & ~valid, 0);
    cap_t c = cap_get_proc();
    cr_assert_not_null(c);
    cr_expect_eq(st.permitted, rt_caps_from_libcap(c, CAP_PERMITTED));
    cap_free(c);
}

Test(rt_caps, apply_without_section_is_a_no_op)
{
    struct rt_capabilities none = {.present = false};
    cleanup_error struct cm_error *err = NULL;
    cap_t before = cap_get_proc();
    cr_assert_eq(rt_caps_apply(&none, &err), 0);
    cr_assert_eq(rt_caps_apply(NULL, &err), 0);
    cap_t after = cap_get_proc();
    cr_expect_eq(cap_compare(before, after), 0);
    cap_free(before);
    cap_free(after);
}
