/* SPDX-License-Identifier: Apache-2.0 */
/* features: what this runtime supports (runtime-spec features.md), as the
 * config parser describes it. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "rt/config.h"

int
cli_features(int argc, char **argv)
{
    char *s = rt_config_features_json();

    (void)argc, (void)argv;
    if (!s)
        return cli_failf("features: no document");
    printf("%s\n", s);
    free(s);
    return 0;
}
