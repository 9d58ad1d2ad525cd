/* SPDX-License-Identifier: Apache-2.0 */
/* Launch back-off: tasks that stop before ever running make the service wait longer and longer
 * between attempts (ECS's service throttle logic, capped at 15 minutes) instead of retrying in
 * a tight loop. Pure: the daemon keeps the failure count and the time of the last failure. */
#include "sched/reconcile.h"

#define BACKOFF_BASE_MS 10000LL           /* after the second failure in a row */
#define BACKOFF_MAX_MS (15LL * 60 * 1000) /* ECS's ceiling */

int64_t
sched_backoff_delay(uint32_t failures, uint64_t seed)
{
    int64_t d;
    uint64_t z;

    /* One failure is noise (a bad node, a pull hiccup): retry at once. */
    if (failures <= 1)
        return 0;
    d = failures - 2 >= 7 ? BACKOFF_MAX_MS : BACKOFF_BASE_MS << (failures - 2);
    if (d > BACKOFF_MAX_MS)
        d = BACKOFF_MAX_MS;
    /* +-10% jitter, derived from the seed (splitmix64 finaliser), so that many services that
     * failed together do not retry in lockstep. */
    z = seed + failures * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    d += (int64_t)(z % (uint64_t)(d / 5 + 1)) - d / 10;
    return d > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d;
}

int64_t
sched_backoff_next_attempt(uint32_t failures, int64_t last_failure_at, uint64_t seed)
{
    return last_failure_at + sched_backoff_delay(failures, seed);
}
