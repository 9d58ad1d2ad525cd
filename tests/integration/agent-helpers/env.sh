# SPDX-License-Identifier: Apache-2.0
# Shared set-up for the agent's shell tests and benchmarks (sourced, not run).
# Sourcing sets H (this folder), top (the repository), agent (the skiff-agent
# of OUT, default build), AGT_RUNTIME and RTCLI, ctl (agtctl.py) and the
# check/pass/fail counters. agt_setup is how a test script starts (checks,
# agt_unshare into private namespaces, traps, environment); agt_env_start
# creates W (work dir), S (agent state), a docker-registry with the busybox
# test image on 127.0.0.1:5000 and the stand-in skiffd on 127.0.0.1:8080;
# agt_start_agent BIN [ARGS...] starts skiff-agent, agt_stop_agent stops it;
# agt_kill_shims STATE kills a state directory's shims and containers;
# agt_cleanup removes everything (agent, shims, containers, mounts, cgroups,
# processes, W). Callers set CG (agt_setup does).
H=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$H/../../.." && pwd)
agent=$top/${OUT:-build}/bin/skiff-agent
# The shims' runtime: the runtime library (default) or a binary (AGT_RUNTIME=/usr/sbin/runc).
AGT_RUNTIME=${AGT_RUNTIME:-builtin}
if [ "$AGT_RUNTIME" = builtin ]; then RTCLI=$top/${OUT:-build}/bin/skiff-runtime; else RTCLI=$AGT_RUNTIME; fi
agt_pids=()
agent_pid=

# agt_setup NAME TOOLS ARGS...: the start every agent test script shares. Skips
# (77) without root, without one of TOOLS (a space-separated list, on top of
# the ones every script needs) or the CNI plugins; fails without a built
# agent; re-runs the script (with ARGS, its own "$@") in a private network +
# mount namespace; there sets CG=/agt-NAME-PID, arms agt_cleanup at exit and
# starts the environment (agt_env_start).
agt_setup() {
    local name=$1 tools=$2 t
    shift 2
    [ "$(id -u)" = 0 ] || { echo "SKIP: requires root"; exit 77; }
    for t in docker-registry skopeo python3 curl ip unshare $tools; do
        command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
    done
    [ -x /usr/lib/cni/bridge ] || { echo "SKIP: containernetworking-plugins missing"; exit 77; }
    [ -x "$agent" ] || { echo "FAIL: $agent not built"; exit 1; }
    agt_unshare "$@"
    CG=/agt-$name-$$
    trap agt_cleanup EXIT
    trap 'exit 1' INT TERM
    agt_env_start || { echo "FAIL: environment"; exit 1; }
}

# agt_unshare ARGS...: re-runs the calling script (with ARGS, its own "$@") in
# a private network + mount namespace, with its loopback up there.
agt_unshare() {
    if [ -z "${AGT_INNER:-}" ]; then
        exec unshare --net --mount --propagation private env AGT_INNER=1 bash "$0" "$@"
    fi
    ip link set lo up
}

# The interpreter itself, once (a version manager's shim costs ~100 ms a call).
AGT_PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)
ctl() { "$AGT_PY" "$H/agtctl.py" "$@"; }

# Checks: each prints ok/FAIL and counts the failures.
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@" >/dev/null; then pass "$name"; else fail "$name"; fi; }

agt_env_start() {
    W=$(mktemp -d /tmp/agt-env-XXXXXX)
    S=$W/state
    RT=$S/runtime
    mkdir -p "$W/reg/data"
    printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "127.0.0.1:5000", secret: agt}\n' \
        "$W/reg/data" >"$W/reg/config.yml"
    docker-registry serve "$W/reg/config.yml" >"$W/reg/log" 2>&1 &
    agt_pids+=($!)
    for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:5000/v2/ && break; sleep 0.1; done
    python3 "$top/tests/integration/images-helpers/mkoci.py" "$W/oci" busybox >/dev/null || return 1
    skopeo copy -q --dest-tls-verify=false "oci:$W/oci/busybox:latest" \
        docker://127.0.0.1:5000/busybox:latest || return 1
    echo "agt-token-$$" >"$W/token"
    python3 "$H/fake_skiffd.py" 8080 "$W" 2>"$W/skiffd.log" &
    agt_pids+=($!)
    for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8080/ && break; sleep 0.1; done
}

agt_start_agent() {
    local bin=$1
    shift
    "$bin" --cluster agt --endpoint http://127.0.0.1:8080 --join-token-file "$W/token" \
        --state "$S" --runtime "$AGT_RUNTIME" --runtime-root "$RT" --cgroup-root "$CG" \
        --netns-dir "$W/netns" --insecure-registry 127.0.0.1:5000 "$@" >>"$W/agent.log" 2>&1 &
    agent_pid=$!
    disown "$agent_pid" # no "Killed" job notices: tests kill it on purpose
}

# agt_stop_agent [SIGNAL]: sends SIGNAL (default KILL) to the agent and waits
# (10 s at most) until it has exited. The agent is disowned, so `wait` cannot
# do it; and it must be gone before another one starts on the same state
# directory (it holds the flock on agent.lock until it exits). Fails when it
# did not exit in time.
agt_stop_agent() {
    local sig=${1:-KILL}
    [ -n "$agent_pid" ] || return 0
    kill -"$sig" "$agent_pid" 2>/dev/null
    for _ in $(seq 100); do
        # Gone once reaped, or once a zombie (its files, the lock, are closed).
        if ! kill -0 "$agent_pid" 2>/dev/null || grep -q '^State:.*Z' "/proc/$agent_pid/status" 2>/dev/null; then
            agent_pid=
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# agt_kill_shims STATE: kills the shims of the agent state directory STATE
# and their containers (the shims are daemons: killing the agent leaves them).
agt_kill_shims() {
    local f
    for f in "$1"/tasks/*/c/*/shim.json; do
        [ -f "$f" ] || continue
        if command -v jq >/dev/null; then jq -r '"\(.shimPid) \(.pid)"' "$f"; else
            python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["shimPid"], j["pid"])' "$f"
        fi |
            while read -r sp cp; do
                # The pids of a stopped container may have been reused by anyone since:
                # only a shim of ours and a process in our cgroups are killed.
                { tr '\0' ' ' <"/proc/$sp/cmdline"; } 2>/dev/null | grep -q "skiff-shim .*$1/" &&
                    kill -9 "$sp" 2>/dev/null
                [ "$cp" != 0 ] && grep -qF "$CG" "/proc/$cp/cgroup" 2>/dev/null && kill -9 "$cp" 2>/dev/null
            done
    done
}

agt_cleanup() {
    [ -n "$agent_pid" ] && kill -9 "$agent_pid" 2>/dev/null
    for p in "${agt_pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "${W:-}" ] || return 0
    agt_kill_shims "$S"
    for id in $("$RTCLI" --root "$RT" list -q 2>/dev/null); do "$RTCLI" --root "$RT" delete --force "$id"; done
    grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
    # Killed containers take a moment to leave their cgroups: retry a while.
    for _ in $(seq 50); do
        for c in /sys/fs/cgroup/*"$CG"; do
            [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
        ls -d /sys/fs/cgroup/*"$CG" >/dev/null 2>&1 || break
        sleep 0.1
    done
    for p in "${agt_pids[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "${AGT_KEEP:-}" ] && cp "$W/agent.log" "$AGT_KEEP"/ 2>/dev/null
    rm -rf "$W"
}
