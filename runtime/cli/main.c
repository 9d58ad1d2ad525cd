/* SPDX-License-Identifier: Apache-2.0 */
/* skiff-runtime: an OCI runtime with runc's command line (placeholder entry point). */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("skiff-runtime version 0.1.0\nspec: 1.1.0\n");
        return 0;
    }
    fprintf(stderr, "skiff-runtime: not implemented yet\n");
    return 1;
}
