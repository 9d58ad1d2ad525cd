/* SPDX-License-Identifier: Apache-2.0 */
/* The runtime config built from an image config is accepted by the runtime's
 * own config.json parser (the agent writes one and hands it to skiff-runtime). */
#include <criterion/criterion.h>
#include <string.h>

#include "cm/cleanup.h"
#include "cm/xalloc.h"
#include "img/spec.h"
#include "rt/config.h"

Test(img_spec_runtime, runtime_parses_generated_config, .timeout = 30)
{
    cleanup_error struct cm_error *err = NULL;
    struct img_config c = {0};
    char *ep[] = {"/bin/sh", "-c", NULL};
    char *cmd[] = {"echo hi", NULL};
    char *env[] = {"A=1", NULL};
    char *ports[] = {"80/tcp", NULL};
    json_auto_t *j = NULL;
    cleanup_free char *text = NULL;
    struct rt_config *rc = NULL;

    c.entrypoint = ep;
    c.cmd = cmd;
    c.env = env;
    c.exposed_ports = ports;
    c.workdir = "/srv";
    c.user = "1000:1000";
    c.stop_signal = "SIGQUIT";
    j = img_spec_from_config(&c, -1, NULL, &err);
    cr_assert_not_null(j, "%s", err ? err->msg : "");
    text = json_dumps(j, JSON_COMPACT);
    cr_assert_eq(rt_config_parse(text, strlen(text), "config.json", &rc, &err), 0, "%s",
                 err ? err->msg : "");
    rt_config_free(rc);
}
