/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: skiff-runtime's config.json, process.json (exec --process)
 * and linux.resources (update --resources) parsers on the same input. A
 * bundle's config is the container author's text: any input must be parsed or
 * refused with an error; never crash, leak or read out of bounds.
 * Run: scripts/fuzz rt_config [SECONDS]
 * fuzz-sources: runtime/config.c runtime/config_names.c runtime/seccomp_profile.c common/error.c
 * common/file.c common/json.c common/log.c common/xalloc.c fuzz-pkgs: libseccomp
 */
#include <stddef.h>
#include <stdint.h>

#include "cm/error.h"
#include "rt/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_error *err = NULL;
    struct rt_config *c = NULL;
    const char *buf = (const char *)data;

    if (rt_config_parse(buf, size, "config.json", &c, &err) == 0)
        rt_config_free(c);
    cm_error_free(&err);

    struct rt_process p = {0};
    if (rt_process_parse(buf, size, "process.json", &p, &err) == 0)
        rt_process_done(&p);
    cm_error_free(&err);

    struct rt_resources r = {0};
    if (rt_resources_parse(buf, size, "resources.json", &r, &err) == 0)
        rt_resources_done(&r);
    cm_error_free(&err);
    return 0;
}
