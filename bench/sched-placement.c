/* SPDX-License-Identifier: Apache-2.0 */
/* sched-placement: placement throughput of the pure scheduling core (feasibility, ranking,
 * sampling, plan applier) on a simulated cluster, single thread. The decision half of the
 * "C1M on two cores" budget (scheduler-anchors section 4); persistence and agents are
 * measured by bench/sched-sim.
 *
 * A second table times sched_reconcile() over the same tasks (steady state, and in the middle
 * of a 100/200 rolling deployment), since the daemon runs it for every service on every pass.
 *
 * usage: sched-placement [-t TASKS] [-i INSTANCES] [-s TASKS_PER_SERVICE] [-k LIMIT] [-r SEED] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm/error.h"
#include "cm/xalloc.h"
#include "sched/placement.h"
#include "sched/reconcile.h"

static const char *const azs[] = {"us-east-1a", "us-east-1b", "us-east-1c"};
static const char *const types[] = {"m5.large", "m5.xlarge", "c5.2xlarge", "r5.4xlarge"};
static const int32_t cpus[] = {128, 256, 512, 1024};
static const int32_t mems[] = {128, 256, 512, 1024};

struct mode {
    const char *name;
    struct sched_strategy strategies[2];
    size_t n_strategies;
    bool member_of; /* a quarter of the services carry memberOf(instance-type) */
};

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
    fprintf(stderr, "usage: sched-placement [-t TASKS] [-i INSTANCES] [-s TASKS_PER_SERVICE] "
                    "[-k LIMIT] [-r SEED]\n");
    exit(2);
}

/* Reconcile cost: one pass per service over PER_SERVICE tasks spread over the cluster. */
static void
bench_reconcile(size_t n_tasks, size_t n_inst, size_t per_service)
{
    struct sched_instance *inst = xcalloc(n_inst, sizeof(*inst));
    struct sched_task *tasks = xcalloc(per_service * 2, sizeof(*tasks));
    struct sched_deployment dep[2] = {
        {.id = "ecs-svc/2", .task_definition = "b:2", .status = SCHED_DEPLOYMENT_PRIMARY},
        {.id = "ecs-svc/1",
         .task_definition = "b:1",
         .status = SCHED_DEPLOYMENT_ACTIVE,
         .rollout = SCHED_ROLLOUT_COMPLETED},
    };
    static const char *const phase[] = {"steady state", "rolling 100/200, half done"};

    for (size_t i = 0; i < n_inst; i++)
        sched_instance_init(&inst[i], "ci", (struct sched_resources){65536, 131072});
    struct sched_cluster cl = {.instances = inst, .n_instances = n_inst};
    printf("%-40s %12s %10s %10s\n", "reconcile", "tasks/s", "us/service", "actions");
    for (int ph = 0; ph < 2; ph++) {
        size_t n = ph ? per_service * 3 / 2 : per_service, actions = 0, services = 0;
        struct sched_service svc = {.name = "bench",
                                    .desired_count = (uint32_t)per_service,
                                    .minimum_healthy_percent = 100,
                                    .maximum_percent = 200,
                                    .deployments = dep,
                                    .n_deployments = ph ? 2 : 1};
        dep[0].rollout = ph ? SCHED_ROLLOUT_IN_PROGRESS : SCHED_ROLLOUT_COMPLETED;
        for (size_t i = 0; i < n; i++)
            tasks[i] = (struct sched_task){
                .id = "t",
                .instance = (uint32_t)((i * 7919) % n_inst),
                /* Rolling: all old tasks still run, half the new ones are up. */
                .deployment = ph && i >= per_service / 2 ? 1 : 0,
                .last_status = SCHED_TASK_RUNNING,
                .ever_running = true,
            };
        double t0 = now_s();
        for (size_t done = 0; done < n_tasks; done += per_service, services++) {
            struct sched_reconcile_result res;
            if (sched_reconcile(&svc, tasks, n, &cl, 0, &res, NULL) < 0)
                exit(1);
            actions += res.start + res.n_stops;
            sched_reconcile_result_done(&res);
        }
        double t = now_s() - t0;
        printf("%-40s %12.0f %10.1f %10zu\n", phase[ph], (double)(services * n) / t,
               t * 1e6 / (double)services, actions / services);
    }
    for (size_t i = 0; i < n_inst; i++)
        sched_instance_done(&inst[i]);
    free(inst);
    free(tasks);
}

int
main(int argc, char **argv)
{
    size_t n_tasks = 10000, n_inst = 1000, per_service = 100;
    uint32_t limit = 0;
    uint64_t seed = 1;
    int c;
    struct cm_error *err = NULL;
    static struct mode modes[] = {
        {"binpack(memory)",
         {{.type = SCHED_STRATEGY_BINPACK, .field = SCHED_FIELD_MEMORY}},
         1,
         false},
        {"spread(az)+binpack(memory)",
         {{.type = SCHED_STRATEGY_SPREAD,
           .field = SCHED_FIELD_ATTRIBUTE,
           .attribute = "ecs.availability-zone"},
          {.type = SCHED_STRATEGY_BINPACK, .field = SCHED_FIELD_MEMORY}},
         2,
         false},
        {"default: spread(az)+spread(instanceId)", {{0}}, 0, false},
        {"random", {{.type = SCHED_STRATEGY_RANDOM}}, 1, false},
        {"binpack(cpu) + 25% memberOf",
         {{.type = SCHED_STRATEGY_BINPACK, .field = SCHED_FIELD_CPU}},
         1,
         true},
    };

    while ((c = getopt(argc, argv, "t:i:s:k:r:h")) != -1) {
        switch (c) {
        case 't':
            n_tasks = strtoul(optarg, NULL, 10);
            break;
        case 'i':
            n_inst = strtoul(optarg, NULL, 10);
            break;
        case 's':
            per_service = strtoul(optarg, NULL, 10);
            break;
        case 'k':
            limit = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            seed = strtoull(optarg, NULL, 10);
            break;
        default:
            usage();
        }
    }
    if (n_tasks == 0 || n_inst == 0 || per_service == 0)
        usage();

    struct sched_query *q = sched_query_parse(
        "attribute:ecs.instance-type in [m5.xlarge, c5.2xlarge] or attribute:ecs.instance-type "
        "=~ r5.*",
        &err);
    if (!q) {
        fprintf(stderr, "query: %s\n", err->msg);
        return 1;
    }
    printf("# sched-placement: %zu tasks in services of %zu over %zu instances (64 vCPU, "
           "128 GiB), limit %s, 1 thread\n",
           n_tasks, per_service, n_inst, limit ? "fixed" : "default");
    printf("%-40s %12s %10s %10s %10s %9s\n", "strategy", "placements/s", "ns/place", "examined",
           "unplaced", "cpu used");

    struct sched_instance *inst = xcalloc(n_inst, sizeof(*inst));
    struct sched_attr(*attrs)[2] = xcalloc(n_inst, sizeof(*attrs));
    char(*ids)[24] = xcalloc(n_inst, sizeof(*ids));
    struct sched_task_needs needs[16];
    for (size_t i = 0; i < 16; i++)
        needs[i] = (struct sched_task_needs){.res = {cpus[i % 4], mems[i / 4]}};

    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        struct sched_cluster cl = {.instances = inst, .n_instances = n_inst};
        struct sched_plan plan;
        uint64_t examined = 0, unplaced = 0, placed = 0;
        int64_t cpu_total = 0, cpu_left = 0;
        double t0, t1;

        for (size_t i = 0; i < n_inst; i++) {
            snprintf(ids[i], sizeof(ids[i]), "ci-%06zu", i);
            sched_instance_init(&inst[i], ids[i], (struct sched_resources){65536, 131072});
            attrs[i][0] = (struct sched_attr){"ecs.availability-zone", azs[i % 3]};
            attrs[i][1] = (struct sched_attr){"ecs.instance-type", types[(i / 3) % 4]};
            inst[i].attrs = attrs[i];
            inst[i].n_attrs = 2;
        }
        sched_plan_init(&plan);
        t0 = now_s();
        for (size_t s = 0, done = 0; done < n_tasks; s++) {
            size_t count = n_tasks - done < per_service ? n_tasks - done : per_service;
            struct sched_constraint k = {.type = SCHED_CONSTRAINT_MEMBER_OF, .query = q};
            struct sched_place_request req = {
                .group = "service:bench",
                .service_name = "bench",
                .needs = &needs[s % 16],
                .constraints = &k,
                .n_constraints = modes[m].member_of && s % 4 == 0,
                .strategies = modes[m].strategies,
                .n_strategies = modes[m].n_strategies,
                .count = (uint32_t)count,
                .seed = seed * 1000003 + s,
                .limit = limit,
            };
            struct sched_place_result res;
            struct sched_plan_result applied;

            sched_plan_reset(&plan);
            if (sched_place(&cl, &req, (uint32_t)s, &plan, &res, &err) < 0) {
                fprintf(stderr, "place: %s\n", err->msg);
                return 1;
            }
            sched_plan_apply(&cl, &plan, &applied);
            if (applied.n_rejected) {
                fprintf(stderr, "plan applier rejected %zu placements on fresh state\n",
                        applied.n_rejected);
                return 1;
            }
            examined += res.examined;
            unplaced += res.unplaced;
            placed += applied.n_accepted;
            sched_plan_result_done(&applied);
            sched_place_result_done(&res);
            done += count;
        }
        t1 = now_s();
        for (size_t i = 0; i < n_inst; i++) {
            cpu_total += inst[i].registered.cpu;
            cpu_left += inst[i].remaining.cpu;
            if (inst[i].remaining.cpu < 0 || inst[i].remaining.memory < 0) {
                fprintf(stderr, "instance %zu over capacity\n", i);
                return 1;
            }
            sched_instance_done(&inst[i]);
        }
        printf("%-40s %12.0f %10.0f %10.1f %10lu %8.1f%%\n", modes[m].name,
               (double)placed / (t1 - t0), (t1 - t0) * 1e9 / (double)(placed + unplaced),
               (double)examined / (double)(placed + unplaced), (unsigned long)unplaced,
               100.0 * (double)(cpu_total - cpu_left) / (double)cpu_total);
        sched_plan_done(&plan);
    }
    sched_query_free(q);
    free(inst);
    free(attrs);
    free(ids);
    bench_reconcile(n_tasks, n_inst, per_service);
    return 0;
}
