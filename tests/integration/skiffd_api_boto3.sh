#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiffd with boto3 and hand-signed raw requests (see skiffd-api/boto3_test.py).
. "$(dirname "$0")/skiffd-api/lib.sh"
set -e
python3 -c 'import boto3' 2>/dev/null || { echo "boto3 missing"; exit 77; }
start_skiffd 8105 --heartbeat-grace 2000 --task-grace 1000 --poll-timeout 500 --tick 300 \
    --stopped-retention 8000
ecs create-cluster >/dev/null
start_agent b3-host-a 2048 4096 zone-a
start_agent b3-host-b 2048 4096 zone-b
python3 "$ROOT/tests/integration/skiffd-api/boto3_test.py" "$ENDPOINT" "$TMP/state/credentials" ||
    fail "boto3 test"
kill -0 "$SKIFFD_PID" || fail "skiffd died"
echo "skiffd_api_boto3: ok"
