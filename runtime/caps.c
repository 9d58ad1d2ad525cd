/* SPDX-License-Identifier: Apache-2.0 */
/* process.capabilities: bounding-set drop, effective/permitted/inheritable
 * through libcap, ambient through prctl; capabilities we cannot grant are
 * skipped rather than failing the container. */
#include "rt/security.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cm/cleanup.h"
#include "cm/log.h"

#define BIT(c) (UINT64_C(1) << (c))

static uint64_t
mask_upto(int last)
{
    if (last >= 63)
        return UINT64_MAX;
    return BIT(last + 1) - 1;
}

/* The kernel answers PR_CAPBSET_READ with EINVAL beyond its last
 * capability: a binary search finds it in six calls, with no /proc (which a
 * container may not have mounted, and whose sysctl files are slow to open
 * the first time in a new proc mount). */
int
rt_caps_kernel_last_cap(void)
{
    static int cached = -1;
    int lo = 0, hi = 63;

    if (cached >= 0)
        return cached;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (prctl(PR_CAPBSET_READ, (unsigned long)mid, 0, 0, 0) >= 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    cached = lo;
    return cached;
}

cap_t
rt_caps_to_libcap(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
    cap_t c = cap_init();
    if (!c)
        return NULL;
    const struct {
        cap_flag_t flag;
        uint64_t mask;
    } sets[] = {
        {CAP_EFFECTIVE, effective}, {CAP_PERMITTED, permitted}, {CAP_INHERITABLE, inheritable}};
    for (size_t s = 0; s < 3; s++)
        for (int bit = 0; bit < 64; bit++) {
            cap_value_t v = bit;
            if (!(sets[s].mask & BIT(bit)))
                continue;
            if (cap_set_flag(c, sets[s].flag, 1, &v, CAP_SET) < 0) {
                cap_free(c);
                return NULL;
            }
        }
    return c;
}

uint64_t
rt_caps_from_libcap(cap_t c, cap_flag_t flag)
{
    uint64_t mask = 0;
    for (int bit = 0; bit < 64; bit++) {
        cap_flag_value_t v = CAP_CLEAR;
        if (cap_get_flag(c, bit, flag, &v) == 0 && v == CAP_SET)
            mask |= BIT(bit);
    }
    return mask;
}

int
rt_caps_state_read(struct rt_caps_state *ret, struct cm_error **err)
{
    struct rt_caps_state st = {.last_cap = rt_caps_kernel_last_cap()};
    cap_t c;

    for (int bit = 0; bit <= st.last_cap; bit++) {
        int r = prctl(PR_CAPBSET_READ, (unsigned long)bit, 0, 0, 0);
        if (r < 0)
            return cm_error_errno(err, "reading bounding capability %d", bit);
        if (r == 1)
            st.bounding |= BIT(bit);
    }
    c = cap_get_proc();
    if (!c)
        return cm_error_errno(err, "cap_get_proc");
    st.permitted = rt_caps_from_libcap(c, CAP_PERMITTED);
    st.inheritable = rt_caps_from_libcap(c, CAP_INHERITABLE);
    cap_free(c);
    *ret = st;
    return 0;
}

/* The kernel's rules (capset(2), commoncap.c) decide what is reachable:
 *   bounding:    can only shrink, so asking for a cap outside ours means
 *                "already gone" (this host lacks CAP_SYS_RESOURCE there);
 *   permitted:   must stay within our permitted set;
 *   effective:   must stay within the new permitted set;
 *   inheritable: within old inheritable + new bounding, and without
 *                CAP_SETPCAP also within old inheritable + old permitted;
 *   ambient:     each cap must be permitted and inheritable.
 * Failing the container over a capability the runtime itself does not hold
 * would make every default config unusable on such hosts (and in user
 * namespaces, or when we run with reduced privileges); the process ends up
 * with less privilege than asked, never more, so we skip and log at debug. */
void
rt_caps_plan(const struct rt_capabilities *req, const struct rt_caps_state *st,
             struct rt_capabilities *ret, uint64_t *ret_skipped)
{
    uint64_t valid = mask_upto(st->last_cap);
    struct rt_capabilities p = {.present = req->present};
    uint64_t inh_allowed;

    p.bounding = req->bounding & st->bounding & valid;
    p.permitted = req->permitted & st->permitted & valid;
    p.effective = req->effective & p.permitted;
    inh_allowed = st->inheritable | p.bounding;
    if (!(st->permitted & BIT(CAP_SETPCAP)))
        inh_allowed &= st->inheritable | st->permitted;
    p.inheritable = req->inheritable & inh_allowed & valid;
    p.ambient = req->ambient & p.permitted & p.inheritable;
    if (ret_skipped)
        *ret_skipped = (req->bounding & ~p.bounding) | (req->permitted & ~p.permitted) |
                       (req->effective & ~p.effective) | (req->inheritable & ~p.inheritable) |
                       (req->ambient & ~p.ambient);
    *ret = p;
}

static void
log_skipped(uint64_t skipped)
{
    if (!skipped || cm_log_get_level() < CM_LOG_DEBUG)
        return;
    for (int bit = 0; bit < 64; bit++) {
        if (!(skipped & BIT(bit)))
            continue;
        char *name = cap_to_name(bit);
        cm_log_debug("capability '%s' not available to the runtime, skipping", name ? name : "?");
        cap_free(name);
    }
}

static int
set_proc(uint64_t effective, uint64_t permitted, uint64_t inheritable, const char *what,
         struct cm_error **err)
{
    cap_t c = rt_caps_to_libcap(effective, permitted, inheritable);
    if (!c)
        return cm_error_errno(err, "building capability sets");
    int r = cap_set_proc(c);
    cap_free(c);
    if (r < 0)
        return cm_error_errno(err, "%s (effective 0x%llx permitted 0x%llx inheritable 0x%llx)",
                              what, (unsigned long long)effective, (unsigned long long)permitted,
                              (unsigned long long)inheritable);
    return 0;
}

int
rt_caps_apply(const struct rt_capabilities *c, struct cm_error **err)
{
    struct rt_caps_state st;
    struct rt_capabilities p;
    uint64_t skipped;

    /* No capabilities section: leave the sets alone (runc). execve then
     * recomputes them from the uid: all for root, none for others. */
    if (!c || !c->present)
        return 0;
    if (rt_caps_state_read(&st, err) < 0)
        return -1;
    rt_caps_plan(c, &st, &p, &skipped);
    log_skipped(skipped);

    /* After a uid change (PR_SET_KEEPCAPS) the effective set is empty:
     * raise it to what we hold so that CAP_SETPCAP works for the drop. */
    if (set_proc(st.permitted, st.permitted, st.inheritable, "raising effective capabilities",
                 err) < 0)
        return -1;
    for (int bit = 0; bit <= st.last_cap; bit++) {
        if (!(st.bounding & BIT(bit)) || (p.bounding & BIT(bit)))
            continue;
        if (prctl(PR_CAPBSET_DROP, (unsigned long)bit, 0, 0, 0) < 0)
            return cm_error_errno(err, "dropping capability %d from the bounding set", bit);
    }
    if (set_proc(p.effective, p.permitted, p.inheritable, "setting capabilities", err) < 0)
        return -1;

    /* Ambient: start from nothing so that only the config's caps remain. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
        if (errno == EINVAL && !p.ambient)
            return 0; /* kernel without ambient capabilities (< 4.3) */
        return cm_error_errno(err, "clearing ambient capabilities");
    }
    for (int bit = 0; bit <= st.last_cap; bit++) {
        if (!(p.ambient & BIT(bit)))
            continue;
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)bit, 0, 0) < 0)
            return cm_error_errno(err, "raising ambient capability %d", bit);
    }
    return 0;
}
