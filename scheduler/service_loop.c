/* SPDX-License-Identifier: Apache-2.0 */
/* The service scheduler pass (placeholder). */
#include "skiffd.h"

void sched_service_pass(struct sched_daemon *d);

void
sched_service_pass(struct sched_daemon *d)
{
    (void)d;
}
