# SPDX-License-Identifier: Apache-2.0
# Shared set-up for the agent's shell tests and benchmarks (sourced, not run):
# agt_env_start creates W (work dir), S (agent state), a docker-registry with the
# busybox test image on 127.0.0.1:5000 and the stand-in skiffd on 127.0.0.1:8080;
# agt_start_agent BIN [ARGS...] starts skiff-agent; agt_cleanup removes everything
# (agent, shims, containers, mounts, cgroups, processes, W). Callers run in a
# private network + mount namespace (see agent.sh) and set H, top, CG.
agt_pids=()
agent_pid=

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

agt_kill_shims() {
    local f
    for f in "$S"/tasks/*/c/*/shim.json; do
        [ -f "$f" ] || continue
        if command -v jq >/dev/null; then jq -r '"\(.shimPid) \(.pid)"' "$f"; else
            python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["shimPid"], j["pid"])' "$f"
        fi |
            while read -r sp cp; do
                # The pids of a stopped container may have been reused by anyone since:
                # only a shim of ours and a process in our cgroups are killed.
                { tr '\0' ' ' <"/proc/$sp/cmdline"; } 2>/dev/null | grep -q "skiff-shim .*$S/" &&
                    kill -9 "$sp" 2>/dev/null
                [ "$cp" != 0 ] && grep -qF "$CG" "/proc/$cp/cgroup" 2>/dev/null && kill -9 "$cp" 2>/dev/null
            done
    done
}

agt_cleanup() {
    [ -n "$agent_pid" ] && kill -9 "$agent_pid" 2>/dev/null
    for p in "${agt_pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "${W:-}" ] || return 0
    agt_kill_shims
    for id in $("$RTCLI" --root "$RT" list -q 2>/dev/null); do "$RTCLI" --root "$RT" delete --force "$id"; done
    grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
    for c in /sys/fs/cgroup/*"$CG"; do
        [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    for p in "${agt_pids[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "${AGT_KEEP:-}" ] && cp "$W/agent.log" "$AGT_KEEP"/ 2>/dev/null
    rm -rf "$W"
}
