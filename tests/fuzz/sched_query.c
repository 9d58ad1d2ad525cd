/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the cluster query language (memberOf expressions arrive in CreateService,
 * RunTask and ListContainerInstances bodies). Any input must either parse and evaluate, or
 * fail with a validation error; never crash, leak or read out of bounds.
 * Run: scripts/fuzz sched_query [SECONDS]
 * fuzz-sources: scheduler/query.c scheduler/plan.c common/error.c common/xalloc.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm/error.h"
#include "sched/placement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
has_group(void *userdata, uint32_t instance, const char *group)
{
    (void)userdata;
    return instance == 0 && strcmp(group, "service:db") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sched_attr attrs[] = {
        {"ecs.availability-zone", "us-east-1a"},
        {"ecs.instance-type", "t3.large"},
        {"com.amazonaws.ecs.capability.docker-remote-api.1.30", NULL},
    };
    struct sched_instance inst[2];
    struct sched_cluster c = {.instances = inst, .n_instances = 2};
    struct sched_query_ctx ctx = {.instance_has_group = has_group};
    struct cm_error *err = NULL;
    char *expr = strndup((const char *)data, size);
    struct sched_query *q;

    if (!expr)
        return 0;
    sched_instance_init(&inst[0], "i0", (struct sched_resources){1024, 1024});
    sched_instance_init(&inst[1], "i1", (struct sched_resources){1024, 1024});
    inst[0].attrs = attrs;
    inst[0].n_attrs = 3;
    inst[1].agent_connected = false;
    q = sched_query_parse(expr, &err);
    if (q) {
        (void)sched_query_eval(q, &c, 0, &ctx);
        (void)sched_query_eval(q, &c, 1, &ctx);
        sched_query_free(q);
    } else if (!err || err->code != 0) {
        abort(); /* a failed parse must say why, as a validation error */
    }
    cm_error_free(&err);
    free(expr);
    return 0;
}
