#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiffd over HTTPS, end to end with real clients: a throwaway CA and a server
# certificate for 127.0.0.1 made here with openssl; bad certificate/key files
# stop skiffd with an error naming the file (and leave no state); the aws CLI
# and `skiff` work with the CA (--ca-bundle/--ca-file/AWS_CA_BUNDLE/
# SKIFF_CA_FILE) and fail with a verification error without it or with
# another CA; a real skiff-agent trusting the CA registers over TLS, one
# trusting another CA logs the verification failure, keeps retrying and never
# registers. The shipped TLS examples in dist/config are used (flags override
# their paths). skiffd on 127.0.0.1:8260 (or the next free of 8261..8269).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/${OUT:-build}/bin
for t in openssl aws jq curl; do
    command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
for p in skiffd skiff skiff-agent; do
    [ -x "$BIN/$p" ] || { echo "FAIL: $BIN/$p not built"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: requires root (the agent)"; exit 77; }
TMP=$(mktemp -d /tmp/tls-it.XXXXXX)
SKIFFD_PID=
AGENT_PIDS=
cleanup() {
    set +e
    for p in $AGENT_PIDS $SKIFFD_PID; do kill "$p" 2>/dev/null; done
    for p in $AGENT_PIDS $SKIFFD_PID; do wait "$p" 2>/dev/null; done
    # The agents start no task here; should one have made a cgroup, it goes too.
    for c in /sys/fs/cgroup/*/tls-it-"$$"-* /sys/fs/cgroup/tls-it-"$$"-*; do
        [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "$0: killed by a signal"; exit 1' INT TERM
fail() {
    echo "FAIL: $*"
    for f in "$TMP"/skiffd.log "$TMP"/agent-*.log; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
    done
    exit 1
}
ok() { echo "ok   $*"; }
wait_for() { # SECS CMD...
    local end=$((SECONDS + $1))
    shift
    while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    return 1
}
busy() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# Nothing from the environment may trust or distrust for us (this machine
# sets AWS_CA_BUNDLE to the system bundle, for one).
unset AWS_CA_BUNDLE SKIFF_CA_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SKIFF_ENDPOINT \
    AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ECS AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
    AWS_SESSION_TOKEN AWS_PROFILE
export AWS_CONFIG_FILE=$TMP/aws-config AWS_SHARED_CREDENTIALS_FILE=$TMP/state/credentials
export AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 SKIFF_STATE_DIR=$TMP/nowhere
printf '[default]\nregion = us-east-1\n' >"$AWS_CONFIG_FILE"

# --- A throwaway PKI: our CA, a server certificate it signs, another CA.
pki() {
    local d=$TMP/pki
    mkdir -p "$d" && cd "$d" || return 1
    for ca in ca other-ca; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca.key \
            -out $ca.pem -days 2 -subj "/CN=skiff tls-it $ca" 2>/dev/null || return 1
    done
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
        -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null || return 1
    printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature" "extendedKeyUsage=serverAuth" >ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile ext.cnf -out server.pem 2>/dev/null || return 1
    cd - >/dev/null
}
pki || fail "openssl could not make the test PKI"
K=$TMP/pki
CA=$K/ca.pem
OTHER=$K/other-ca.pem

P=
for p in $(seq 8260 8269); do busy "$p" || { P=$p; break; }; done
[ -n "$P" ] || fail "ports 8260..8269 all taken"
URL=https://127.0.0.1:$P

# --- Bad files: skiffd refuses to start, names the file, writes no state.
refused() { # NEEDLE ARGS...
    local needle=$1 out
    shift
    out=$(timeout 20 "$BIN/skiffd" --listen 127.0.0.1:"$P" --state "$TMP/bad-state" "$@" 2>&1) &&
        fail "skiffd started with $*"
    grep -qF -- "$needle" <<<"$out" || fail "expected '$needle' for $*, got: $out"
    [ ! -e "$TMP/bad-state" ] || fail "state written despite a bad certificate ($*)"
}
refused "'$K/missing.pem'" --tls-cert "$K/missing.pem" --tls-key "$K/server.key"
refused "'$K/other-ca.key' does not belong to the certificate in '$K/server.pem'" \
    --tls-cert "$K/server.pem" --tls-key "$K/other-ca.key"
refused "certificate file '$K/server.key': no PEM certificate" \
    --tls-cert "$K/server.key" --tls-key "$K/server.key"
refused "--tls-key" --tls-cert "$K/server.pem"
printf '{"tlsKey": "%s"}\n' "$K/server.key" >"$TMP/key-only.json"
refused "--tls-cert, tlsCert" --config "$TMP/key-only.json"
ok "bad certificate/key files stop skiffd, naming the file"

# --- skiffd over HTTPS, from the shipped example (flags override its paths).
"$BIN/skiffd" --config "$ROOT/dist/config/skiffd-tls.json" --listen 127.0.0.1:"$P" \
    --state "$TMP/state" --tls-cert "$K/server.pem" --tls-key "$K/server.key" \
    --poll-timeout 1000 --heartbeat-grace 3000 >"$TMP/skiffd.log" 2>&1 &
SKIFFD_PID=$!
wait_for 10 grep -q "listening on 127.0.0.1:$P " "$TMP/skiffd.log" || fail "skiffd did not start"
grep -q "serving HTTPS with certificate '$K/server.pem' (CN=127.0.0.1" "$TMP/skiffd.log" ||
    fail "no HTTPS line in the log"
ok "skiffd serves HTTPS on $P"

# No plain HTTP on that port: a clear-text request gets no answer.
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$P/" -d '{}')
[ "$code" = 000 ] || fail "plain HTTP answered $code on the HTTPS port"
ok "no plain HTTP on the HTTPS port"

# TLS 1.2 and 1.3 only (the client is told to allow anything).
hello() { # openssl s_client's protocol flag -> the negotiated "New, ..." line
    echo | timeout 10 openssl s_client -connect 127.0.0.1:"$P" "$1" -cipher 'DEFAULT@SECLEVEL=0' \
        -CAfile "$CA" 2>&1 | grep '^New,'
}
hello -tls1_3 | grep -q 'New, TLSv1.3' || fail "no TLS 1.3: $(hello -tls1_3)"
hello -tls1_2 | grep -q 'New, TLSv1.2' || fail "no TLS 1.2: $(hello -tls1_2)"
hello -tls1_1 | grep -q 'Cipher is (NONE)' || fail "TLS 1.1 accepted: $(hello -tls1_1)"
ok "TLS 1.2 and 1.3 offered, 1.1 refused"

# --- The aws CLI.
ecs() { aws ecs "$@" --endpoint-url "$URL" --output json; }
out=$(ecs create-cluster --ca-bundle "$CA" 2>&1) || fail "aws --ca-bundle: $out"
[ "$(jq -r .cluster.clusterName <<<"$out")" = default ] || fail "create-cluster: $out"
out=$(ecs list-clusters 2>&1) && fail "aws without the CA succeeded: $out"
grep -q "CERTIFICATE_VERIFY_FAILED" <<<"$out" || fail "aws without the CA: $out"
out=$(ecs list-clusters --ca-bundle "$OTHER" 2>&1) && fail "aws with another CA succeeded: $out"
grep -q "CERTIFICATE_VERIFY_FAILED" <<<"$out" || fail "aws with another CA: $out"
out=$(AWS_CA_BUNDLE=$CA ecs list-clusters 2>&1) || fail "AWS_CA_BUNDLE: $out"
jq -e '.clusterArns | length == 1' <<<"$out" >/dev/null || fail "list-clusters: $out"
ok "aws ecs --ca-bundle / AWS_CA_BUNDLE over HTTPS; verification error without the CA"

# boto3 (verify=CA), when installed.
if python3 -c 'import boto3' 2>/dev/null; then
    b3() { python3 - "$URL" "$1" <<'PY'
import sys, boto3, botocore.exceptions
url, verify = sys.argv[1], sys.argv[2]
ecs = boto3.client("ecs", endpoint_url=url, region_name="us-east-1",
                   verify=verify if verify != "-" else None)
try:
    print(len(ecs.list_clusters()["clusterArns"]))
except botocore.exceptions.SSLError as e:
    print("SSLError", e)
PY
    }
    out=$(b3 "$CA" 2>&1); [ "$out" = 1 ] || fail "boto3 verify=CA: $out"
    out=$(b3 - 2>&1); grep -q "SSLError.*CERTIFICATE_VERIFY_FAILED" <<<"$out" || fail "boto3 without CA: $out"
    ok "boto3 with verify=CA over HTTPS; SSLError without"
fi

# --- skiff.
skiff() { "$BIN/skiff" "$@" --endpoint "$URL" --output json; }
for how in "--ca-file $CA" "--ca-bundle $CA" "env SKIFF_CA_FILE=$CA" "env AWS_CA_BUNDLE=$CA"; do
    case $how in
    env*) out=$(env "${how#env }" "$BIN/skiff" list-clusters --endpoint "$URL" --output json 2>&1) ;;
    *) out=$(skiff list-clusters $how 2>&1) ;;
    esac
    [ $? = 0 ] || fail "skiff with $how: $out"
    jq -e '.clusterArns[0] | endswith("cluster/default")' <<<"$out" >/dev/null ||
        fail "skiff with $how: $out"
done
out=$(skiff list-clusters 2>&1) && fail "skiff without the CA succeeded: $out"
grep -q "TLS certificate verification failed" <<<"$out" || fail "skiff without the CA: $out"
out=$(skiff list-clusters --ca-file "$OTHER" 2>&1) && fail "skiff with another CA succeeded: $out"
grep -q "TLS certificate verification failed" <<<"$out" || fail "skiff with another CA: $out"
ok "skiff --ca-file/--ca-bundle/SKIFF_CA_FILE/AWS_CA_BUNDLE over HTTPS; verification error without"
out=$("$BIN/skiff" list-clusters --endpoint "http://127.0.0.1:$P" 2>&1) && fail "skiff over http succeeded: $out"
grep -q "use an https:// endpoint" <<<"$out" || fail "skiff http to the HTTPS port: $out"
ok "skiff with http:// on the HTTPS port says to use https://"

# --- Agents: one trusting our CA registers; one trusting another CA does not,
# nor does one speaking plain HTTP to the HTTPS port.
start_agent() { # NAME CA-FILE|-
    # The plain one without the example (it names a CA file).
    local opts=(--config "$ROOT/dist/config/agent-tls.json" --endpoint "$URL" --ca-file "$2")
    [ "$2" = - ] && opts=(--endpoint "http://127.0.0.1:$P")
    "$BIN/skiff-agent" "${opts[@]}" --join-token-file "$TMP/state/join-token" --state "$TMP/agent-$1" \
        --hostname "tls-it-$1" --cgroup-root "/tls-it-$$-$1" --netns-dir "$TMP/agent-$1/netns" \
        --bridge "tlsit$1" --subnet "10.239.$((RANDOM % 200 + 20)).0/24" \
        --port-range 42600-42699 >>"$TMP/agent-$1.log" 2>&1 &
    AGENT_PIDS="$AGENT_PIDS $!"
}
start_agent good "$CA"
start_agent bad "$OTHER"
start_agent plain -
hosts() { ecs list-container-instances --ca-bundle "$CA" | jq -r '.containerInstanceArns[]' |
    xargs -r aws ecs describe-container-instances --endpoint-url "$URL" --ca-bundle "$CA" \
        --output json --container-instances | jq -r '.containerInstances[].ec2InstanceId'; }
has_good() { [ "$(hosts)" = tls-it-good ]; }
wait_for 30 has_good || fail "the agent trusting the CA did not register: $(hosts)"
grep -q "registered as" "$TMP/agent-good.log" || fail "no 'registered as' in the good agent's log"
ok "agent with --ca-file registers over HTTPS"
retried() { [ "$(grep -c 'TLS certificate verification failed' "$TMP/agent-bad.log")" -ge 2 ]; }
wait_for 20 retried || fail "the agent with another CA did not log verification failures (twice)"
grep -q "give the CA that signed skiffd's certificate with --ca-file" "$TMP/agent-bad.log" ||
    fail "the bad agent's error does not say what to do"
! grep -q "registered as" "$TMP/agent-bad.log" || fail "the agent with another CA registered"
[ "$(hosts)" = tls-it-good ] || fail "instances: $(hosts)"
set -- $AGENT_PIDS
kill -0 "$2" 2>/dev/null || fail "the agent with another CA gave up (exited)"
ok "agent with another CA logs the verification failure, keeps retrying, does not register"
grep -q "use an https:// endpoint" "$TMP/agent-plain.log" || fail "the plain-HTTP agent's log lacks the hint"
! grep -q "registered as" "$TMP/agent-plain.log" || fail "an agent registered over plain HTTP"
ok "agent with http:// on the HTTPS port does not register, says to use https://"

# An agent told to use a CA with a plain-HTTP endpoint refuses to start.
out=$("$BIN/skiff-agent" --endpoint "http://127.0.0.1:$P" --ca-file "$CA" \
    --join-token-file "$TMP/state/join-token" --state "$TMP/agent-x" 2>&1) &&
    fail "agent started with --ca-file and an http endpoint"
grep -q "https://" <<<"$out" || fail "agent --ca-file with http: $out"
ok "agent refuses --ca-file with an http:// endpoint"

# The long poll (suspended and resumed requests) works over TLS: with 1 s polls
# and a 3 s heartbeat grace, the good agent stays connected through several
# polls without a single poll error.
connected() { ecs describe-container-instances --ca-bundle "$CA" --container-instances \
    "$(ecs list-container-instances --ca-bundle "$CA" | jq -r '.containerInstanceArns[0]')" |
    jq -e '.containerInstances[0].agentConnected == true' >/dev/null; }
sleep 5
connected || fail "the agent over TLS lost its connection (heartbeats)"
! grep -q '"poll: ' "$TMP/agent-good.log" || fail "poll errors over TLS: $(grep poll: "$TMP/agent-good.log")"
ok "agent stays connected over TLS long polls"
echo "skiffd-tls: ok"
