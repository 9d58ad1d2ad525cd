# SPDX-License-Identifier: Apache-2.0
# Shared by the skiffd-api integration scripts: start a real skiffd on a
# loopback port with a temp state dir, talk to it with the real aws CLI, and
# clean up (process, dir) on any exit.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SKIFFD=${SKIFFD:-$ROOT/${OUT:-build}/bin/skiffd}
[ -x "$SKIFFD" ] || { echo "no $SKIFFD"; exit 1; }
command -v aws >/dev/null || { echo "aws CLI missing"; exit 77; }
TMP=$(mktemp -d /tmp/skiffd-api-it.XXXXXX)
SKIFFD_PID=
AGENT_PIDS=
PORT=
cleanup() {
    set +e
    for p in $AGENT_PIDS $SKIFFD_PID; do kill "$p" 2>/dev/null; done
    # A killed agent reaps as 143; under set -e that must not fail the test.
    for p in $AGENT_PIDS $SKIFFD_PID; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "$0: killed by a signal (SIGINT/SIGTERM)"; exit 1' INT TERM

export AWS_CONFIG_FILE=$TMP/aws-config
export AWS_SHARED_CREDENTIALS_FILE=$TMP/state/credentials
export AWS_DEFAULT_REGION=us-east-1
export AWS_MAX_ATTEMPTS=1
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
printf '[default]\nregion = us-east-1\n' >"$AWS_CONFIG_FILE"

# start_skiffd PORT [extra args...]: starts skiffd on PORT, or (first start
# only) on PORT+10, ..., +40 when PORT is taken (e.g. the same test running
# from another checkout).
start_skiffd() {
    local want=$1 port ports lines
    shift
    ports="$want $((want + 10)) $((want + 20)) $((want + 30)) $((want + 40))"
    [ -n "$PORT" ] && ports=$PORT
    for port in $ports; do
        touch "$TMP/skiffd.log"
        lines=$(wc -l <"$TMP/skiffd.log")
        "$SKIFFD" --listen 127.0.0.1:"$port" --state "$TMP/state" "$@" >>"$TMP/skiffd.log" 2>&1 &
        SKIFFD_PID=$!
        for _ in $(seq 1 100); do
            if tail -n +"$((lines + 1))" "$TMP/skiffd.log" | grep -q "listening on 127.0.0.1:$port "; then
                PORT=$port
                ENDPOINT=http://127.0.0.1:$PORT
                return 0
            fi
            kill -0 "$SKIFFD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$SKIFFD_PID" 2>/dev/null || true
        wait "$SKIFFD_PID" 2>/dev/null || true
        SKIFFD_PID=
    done
    echo "skiffd did not start"; cat "$TMP/skiffd.log"; exit 1
}

stop_skiffd() {
    kill "$SKIFFD_PID"; wait "$SKIFFD_PID" 2>/dev/null || true; SKIFFD_PID=
}

kill9_skiffd() {
    kill -9 "$SKIFFD_PID"; wait "$SKIFFD_PID" 2>/dev/null || true; SKIFFD_PID=
}

ecs() { aws ecs "$@" --endpoint-url "$ENDPOINT" --region us-east-1 --output json; }

fail() { echo "FAIL: $*"; echo "--- skiffd log"; tail -n 50 "$TMP/skiffd.log"; exit 1; }

# expect_error CODE cmd... : the command fails and prints the AWS error code.
expect_error() {
    local code=$1 out
    shift
    if out=$("$@" 2>&1); then fail "expected $code from: $* (got success: $out)"; fi
    case $out in *"($code)"*) ;; *) fail "expected $code from: $*, got: $out" ;; esac
}

jqr() { jq -r "$@"; }

# start_agent HOST [CPU MEM AZ]: a simulated agent for the default cluster.
start_agent() {
    python3 "$ROOT/tests/integration/skiffd-api/sim_agent.py" "$ENDPOINT" "$TMP/state/join-token" \
        default "$@" >>"$TMP/agent-$1.log" 2>&1 &
    AGENT_PIDS="$AGENT_PIDS $!"
    LAST_AGENT=$!
}

# wait_for SECONDS CMD...: retries CMD until it succeeds.
wait_for() {
    local n=$(($1 * 5))
    shift
    for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    return 1
}
