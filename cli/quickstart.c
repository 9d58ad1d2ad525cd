/* SPDX-License-Identifier: Apache-2.0 */
/* `skiff quickstart`: placeholder until the next commit. */
#include "ecs.h"

int
cli_cmd_quickstart(struct cli_ctx *ctx, const struct cli_args *a)
{
    (void)ctx;
    (void)a;
    fprintf(stderr, "skiff quickstart: not implemented yet\n");
    return 1;
}
