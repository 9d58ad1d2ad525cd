/* SPDX-License-Identifier: Apache-2.0 */
/* Test fixtures for the scheduler unit tests: small clusters with AZ attributes. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm/xalloc.h"
#include "sched/placement.h"

#define FX_MAX 64

struct fx_cluster {
    struct sched_cluster c;
    struct sched_instance inst[FX_MAX];
    char ids[FX_MAX][24];
    struct sched_attr attrs[FX_MAX][3];
};

static const char *const fx_azs[] = {"us-east-1a", "us-east-1b", "us-east-1c"};

/* N instances "i0".."iN-1" with CPU/MEM each, spread over 3 AZs round robin, type t3.large
 * for even and m5.xlarge for odd indices. */
static inline void
fx_init(struct fx_cluster *f, size_t n, int cpu, int mem)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < n; i++) {
        snprintf(f->ids[i], sizeof(f->ids[i]), "i%zu", i);
        sched_instance_init(&f->inst[i], f->ids[i], (struct sched_resources){cpu, mem});
        f->attrs[i][0] = (struct sched_attr){"ecs.availability-zone", fx_azs[i % 3]};
        f->attrs[i][1] = (struct sched_attr){"ecs.instance-type", i % 2 ? "m5.xlarge" : "t3.large"};
        f->attrs[i][2] =
            (struct sched_attr){"com.amazonaws.ecs.capability.docker-remote-api.1.30", NULL};
        f->inst[i].attrs = f->attrs[i];
        f->inst[i].n_attrs = 3;
    }
    f->c.instances = f->inst;
    f->c.n_instances = n;
}

static inline void
fx_done(struct fx_cluster *f)
{
    for (size_t i = 0; i < f->c.n_instances; i++)
        sched_instance_done(&f->inst[i]);
}

/* Counts plan placements per instance into COUNTS (FX_MAX entries). */
static inline void
fx_count(const struct sched_plan *plan, unsigned *counts)
{
    memset(counts, 0, FX_MAX * sizeof(*counts));
    for (size_t i = 0; i < plan->n_placements; i++)
        counts[plan->placements[i].instance]++;
}
