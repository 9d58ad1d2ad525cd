/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the agent's task definition parser and the bundle
 * generator behind it (image config + container definition -> config.json).
 * The input is a task definition, or {"taskDefinition": ..., "imageConfig":
 * ...} to vary the image config too. Both come from outside the host (skiffd's
 * users, third-party images): anything must be parsed or refused, and every
 * config.json the agent builds must be one skiff-runtime accepts (else the
 * task would fail later, on the host, with a worse error).
 * Run: scripts/fuzz agent_taskdef [SECONDS]
 * fuzz-sources: agent/taskdef.c agent/bundle.c agent/cni.c images/spec.c images/manifest.c
 * images/digest.c runtime/config.c runtime/config_names.c runtime/seccomp_profile.c
 * runtime/caps.c common/error.c common/file.c common/json.c common/log.c common/xalloc.c
 * fuzz-pkgs: libseccomp libcap libcrypto
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bundle.h"
#include "agent/taskdef.h"
#include "cm/error.h"
#include "img/manifest.h"
#include "rt/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char default_image[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/bin:/bin\"],"
    "\"Entrypoint\":[\"/bin/ep\"],\"Cmd\":[\"default\"],\"WorkingDir\":\"/w\",\"User\":\"1:2\","
    "\"StopSignal\":\"SIGQUIT\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";

static const struct agent_bundle_params params = {
    .task_id = "t1",
    .cgroup_parent = "/skiff/t1",
    .netns = "/run/skiff/netns/t1",
    .hostname = "t1-host",
    .init_path = "/usr/libexec/skiff/skiff-init",
    .resolv_conf = "/run/skiff/t1/resolv.conf",
};

static void
build_all(const struct agent_task_def *t, const struct img_config *img)
{
    for (size_t i = 0; i < t->n_containers; i++) {
        struct cm_error *err = NULL;
        json_t *cfg = NULL;
        if (agent_bundle_config(img, -1, &t->containers[i], &params, &cfg, &err) < 0) {
            cm_error_free(&err);
            continue;
        }
        char *text = json_dumps(cfg, JSON_COMPACT);
        json_decref(cfg);
        if (!text)
            abort();
        struct rt_config *c = NULL;
        if (rt_config_parse(text, strlen(text), "config.json", &c, &err) < 0) {
            fprintf(stderr, "the runtime refuses the agent's config: %s\n%s\n", err->msg, text);
            abort();
        }
        rt_config_free(c);
        free(text);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_error *err = NULL;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!j)
        return 0;

    json_t *td = json_object_get(j, "taskDefinition");
    json_t *ic = json_object_get(j, "imageConfig");
    char *img_text = ic ? json_dumps(ic, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    struct img_config *img = NULL;
    if (img_text ? img_config_parse(img_text, strlen(img_text), &img, &err)
                 : img_config_parse(default_image, sizeof default_image - 1, &img, &err))
        cm_error_free(&err);
    free(img_text);

    struct agent_task_def *t = NULL;
    if (img && agent_task_def_from_json(td ? td : j, &t, &err) == 0) {
        build_all(t, img);
        agent_task_def_free(t);
    }
    cm_error_free(&err);
    img_config_free(img);
    json_decref(j);
    return 0;
}
