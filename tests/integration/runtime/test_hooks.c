/* SPDX-License-Identifier: Apache-2.0 */
/* Hooks get the state JSON on stdin, run in order at their lifecycle points. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm/file.h"
#include "harness.h"

TestSuite(rt_hooks, .init = h_setup, .fini = h_teardown, .timeout = 60);

Test(rt_hooks, all_kinds_in_order_with_state)
{
    char script[512], log[256];
    char *buf = NULL;
    size_t len = 0;
    const char *kinds[] = {"prestart",       "createRuntime", "createContainer",
                           "startContainer", "poststart",     "poststop"};
    const char *id = h_id("hooks");

    snprintf(log, sizeof(log), "%s/hooks.log", H.dir);
    for (size_t i = 0; i < 6; i++) {
        /* startContainer runs in the container: only the rootfs is visible. */
        if (!strcmp(kinds[i], "createContainer") || !strcmp(kinds[i], "startContainer"))
            continue;
        snprintf(script, sizeof(script), "echo %s $(cat) >> %s", kinds[i], log);
        h_add_hook(kinds[i], script, 5);
    }
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, id, NULL), 0, "%s", h_err);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, log, 1 << 16, &buf, &len, NULL), 0);
    char *p1 = strstr(buf, "prestart {"), *p2 = strstr(buf, "createRuntime {"),
         *p3 = strstr(buf, "poststart {"), *p4 = strstr(buf, "poststop {");
    cr_assert(p1 && p2 && p3 && p4, "%s", buf);
    cr_assert(p1 < p2 && p2 < p3 && p3 < p4, "%s", buf);
    cr_assert_not_null(strstr(buf, id), "%s", buf);
    cr_assert_not_null(strstr(p4, "\"status\":\"stopped\""), "%s", buf);
    cr_assert_not_null(strstr(p3, "\"status\":\"running\""), "%s", buf);
    free(buf);
}

Test(rt_hooks, failing_poststart_only_warns)
{
    h_add_hook("poststart", "exit 1", 0);
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, h_id("postfail"), NULL), 0, "%s", h_err);
}

Test(rt_hooks, create_container_and_start_container)
{
    char script[512], out[256];
    char *buf = NULL;
    size_t len = 0;
    json_t *hooks;

    /* createContainer runs in the container's namespaces before pivot_root:
     * host paths still resolve. */
    snprintf(out, sizeof(out), "%s/cc.json", H.dir);
    snprintf(script, sizeof(script), "cat > %s", out);
    h_add_hook("createContainer", script, 5);
    h_write_config();
    cr_assert_eq(h_rt("run", "--bundle", H.bundle, h_id("cc"), NULL), 0, "%s", h_err);
    cr_assert_eq(cm_read_file_at(AT_FDCWD, out, 1 << 16, &buf, &len, NULL), 0);
    cr_assert_not_null(strstr(buf, "\"status\":\"creating\""), "%s", buf);
    free(buf);

    /* startContainer resolves in the container: the helper, failing, stops
     * the user's program from running. */
    hooks = json_object();
    json_object_set_new(
        hooks, "startContainer",
        json_pack("[{s:s, s:[sss]}]", "path", "/init", "args", "init", "exit", "3"));
    json_object_set_new(H.config, "hooks", hooks);
    h_write_config();
    cr_assert_neq(h_rt("run", "--bundle", H.bundle, h_id("sc"), NULL), 0);
    cr_assert_not_null(strstr(h_err, "startContainer"), "%s", h_err);
    cr_assert_null(strstr(h_out, "pid=1"), "the user's program ran: %s", h_out);
}
