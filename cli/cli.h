/* SPDX-License-Identifier: Apache-2.0 */
/* Command groups of the skiff CLI (one file each). */
#pragma once

/* `skiff image SUBCOMMAND ...`; argv[0] is "image". Returns the exit status. */
int cli_image(int argc, char **argv);
