/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of sysctl validation: only namespaced keys, and only with the
 * namespace that isolates them. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../../runtime/internal.h"

static struct rt_namespace ns_ipc = {.type = RT_NS_IPC};
static struct rt_namespace ns_net = {.type = RT_NS_NETWORK};

static int
check(const char *key, struct rt_namespace *ns, size_t n_ns, struct cm_error **err)
{
    struct rt_sysctl s = {.key = (char *)key, .value = "1"};
    struct rt_config cfg = {0};
    cfg.linux_.sysctl = &s;
    cfg.linux_.n_sysctl = 1;
    cfg.linux_.namespaces = ns;
    cfg.linux_.n_namespaces = n_ns;
    return rt_sysctl_validate(&cfg, err);
}

TestSuite(rt_sysctl);

Test(rt_sysctl, ipc_keys_need_ipc_namespace)
{
    cr_assert_eq(check("kernel.shmmax", &ns_ipc, 1, NULL), 0);
    cr_assert_eq(check("fs.mqueue.msg_max", &ns_ipc, 1, NULL), 0);
    cr_assert_eq(check("kernel.shmmax", &ns_net, 1, NULL), -1);
}

Test(rt_sysctl, net_keys_need_network_namespace)
{
    cr_assert_eq(check("net.ipv4.ip_forward", &ns_net, 1, NULL), 0);
    cr_assert_eq(check("net.ipv4.ip_forward", &ns_ipc, 1, NULL), -1);
}

Test(rt_sysctl, host_wide_and_malformed_keys_rejected)
{
    struct cm_error *e = NULL;
    cr_assert_eq(check("kernel.panic", &ns_ipc, 1, &e), -1);
    cr_assert_not_null(strstr(e->msg, "kernel.panic"));
    cm_error_free(&e);
    cr_assert_eq(check("net/../../x", &ns_net, 1, NULL), -1);
    cr_assert_eq(check("", &ns_net, 1, NULL), -1);
    cr_assert_eq(check(".net.x", &ns_net, 1, NULL), -1);
}
