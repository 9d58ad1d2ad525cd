#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A CI-sized bench/sched-sim run (20 services x 200 tasks on 100 hosts):
# asserts consistency (no lost or duplicate task, no host over capacity,
# nothing lost by a restart), not time.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
out=$("$ROOT/bench/sched-sim" --services 20 --tasks 200 --hosts 100 --listen 127.0.0.1:8131 \
    --timeout 300 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: sched-sim exited $rc"; exit 1; }
grep -qx 'consistency: ok' <<<"$out" || { echo "FAIL: consistency"; exit 1; }
for f in placements_durable_s detect_s replace_s deploy_s restart_s rss_max_mib; do
    grep -q "^$f: " <<<"$out" || { echo "FAIL: no $f figure"; exit 1; }
done
echo "skiffd_api_sim: ok"
