#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The runtime tests (it-runtime) and podman.sh again, against the release binary: it is
# linked differently (static, and with its own start-up routine,
# runtime/cli/static_start.c) from the debug build the other tests use.
# Exit 77 (skip) without root or without a release build.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "requires root"; exit 77; }
REL=$PWD/build/release/bin/skiff-runtime
IT=${OUT:-build}/tests/it-runtime
[ -x "$REL" ] || { echo "no release build ($REL): make release"; exit 77; }
[ -x "$IT" ] || { echo "no $IT"; exit 77; }
# It starts and answers before anything else.
"$REL" --version | grep -q "^skiff-runtime version" || { echo "FAIL: --version"; exit 1; }
SKIFF_RUNTIME=$REL "$IT" -j1 --verbose=0 || exit 1
# podman.sh takes the runtime from $OUT/bin (exit 77 there: no podman).
OUT=build/release bash tests/integration/podman.sh
r=$?
[ "$r" = 0 ] || [ "$r" = 77 ] || exit 1
