#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Soak (issue 5, point 2): skiff-agent is killed with SIGKILL at random
# moments (every 0-2 s) while N tasks (default 200; AGT_SOAK_TASKS) are
# started, exit by themselves with known codes or are stopped by the
# scheduler, in batches. Afterwards every task must have been reported STOPPED
# with its exact exit code (0 exit codes lost), and no container, shim, mount,
# netns or cgroup may be left (0 containers lost or orphaned).
set -u
. "$(dirname "$0")/agent-helpers/env.sh"
N=${AGT_SOAK_TASKS:-200}
agt_setup soak runc "$@"
killer=
cleanup() {
    [ -n "$killer" ] && kill "$killer" 2>/dev/null
    agt_cleanup
}
trap cleanup EXIT
start() { agt_start_agent "$agent" --bridge agt-br2 --subnet 10.231.10.0/24 --port-range 41000-41999; }

IMG=127.0.0.1:5000/busybox:latest
# Task i: odd ones exit by themselves with code i%100+1 after a short while;
# even ones run until the scheduler stops them and exit 42 on SIGTERM.
mk() { # I DESIRED
    local i=$1 cmd
    if [ $((i % 2)) = 1 ]; then
        cmd="/bin/busybox sleep 0.$((RANDOM % 9)); exit $((i % 100 + 1))"
    else
        cmd="trap 'exit 42' TERM; /bin/busybox sleep 1000 & wait"
    fi
    cat >"$W/s$i.json" <<JSON
{"taskArn": "arn:t/s$i", "taskId": "s$i", "desiredStatus": "$2", "version": 1,
 "taskDefinition": {"family": "soak", "revision": 1, "networkMode": "$([ $((i % 3)) = 0 ] && echo bridge || echo none)",
  "containerDefinitions": [{"name": "c", "image": "$IMG", "user": "0", "stopTimeout": 5,
   "command": ["$cmd"] $([ $((i % 3)) = 0 ] && echo ', "portMappings": [{"containerPort": 80}]')}]}}
JSON
}

start
for _ in $(seq 100); do [ -s "$W/registered.jsonl" ] && break; sleep 0.1; done
# The killer: SIGKILL the agent every 0-2 s; the main loop starts it again.
(
    while :; do
        sleep "$((RANDOM % 2)).$((RANDOM % 10))"
        p=$(cat "$W/agent.pid" 2>/dev/null)
        # Only our agent: a pid of a dead one may have been reused by then.
        [ -n "$p" ] && { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -q "skiff-agent .*--state $S " &&
            kill -9 "$p" 2>/dev/null && echo kill >>"$W/kills"
    done
) &
killer=$!
echo "$agent_pid" >"$W/agent.pid"

version=1
batch=${AGT_SOAK_BATCH:-10}
keep_alive() { if ! kill -0 "$agent_pid" 2>/dev/null; then start; echo "$agent_pid" >"$W/agent.pid"; fi; }
# known ARN...: each was reported RUNNING or STOPPED (it got as far as starting).
for ((b = 0; b * batch < N; b++)); do
    # A new batch RUNNING; the even tasks of earlier batches STOPPED.
    files=()
    for ((i = 1; i <= (b + 1) * batch && i <= N; i++)); do
        if [ $i -le $((b * batch)) ]; then mk $i STOPPED; else mk $i RUNNING; fi
        files+=("$W/s$i.json")
    done
    version=$((version + 1))
    ctl desired-live "$W" $version "${files[@]}"
    # Restart the agent whenever the killer got it, until the batch has started.
    arns=()
    for ((i = b * batch + 1; i <= (b + 1) * batch && i <= N; i++)); do arns+=(arn:t/s$i); done
    for _ in $(seq 600); do
        keep_alive
        ctl known "$W" "${arns[@]}" && break
        sleep 0.1
    done
done
# Everything STOPPED, then let the agent finish in peace.
files=()
for ((i = 1; i <= N; i++)); do mk $i STOPPED; files+=("$W/s$i.json"); done
ctl desired-live "$W" $((version + 1)) "${files[@]}"
for _ in $(seq 20); do keep_alive; sleep 0.1; done
kill "$killer" 2>/dev/null; wait "$killer" 2>/dev/null; killer=
sleep 0.5
keep_alive

wants=()
for ((i = 1; i <= N; i++)); do
    if [ $((i % 2)) = 1 ]; then wants+=("arn:t/s$i=$((i % 100 + 1))"); else wants+=("arn:t/s$i=42"); fi
done
res=$(ctl exits "$W" 60 "${wants[@]}")
grep -v '^lost [0-9]* wrong' <<<"$res"
read -r lost wrong < <(tail -n1 <<<"$res" | awk '{print $2, $4}')
sleep 1
kills=$(wc -l <"$W/kills" 2>/dev/null || echo 0)
left_ctr=$(runc --root "$RT" list -q 2>/dev/null | wc -l)
left_shim=$(pgrep -fc "skiff-shim --id s[0-9]+-c --bundle $S" || true)
left_mnt=$(grep -c " $S/tasks" /proc/self/mountinfo || true)
left_ns=$(ls -A "$W/netns" 2>/dev/null | wc -l)
left_cg=$(find /sys/fs/cgroup/*"$CG" -mindepth 1 -type d 2>/dev/null | wc -l)
# Host port mappings in the agent's nftables map (portMapper nft, the default).
left_map=$("$agent" port-mappings --bridge agt-br2 2>&1 | wc -l)
echo "tasks $N, agent kills $kills: lost $lost, wrong exit codes $wrong, left: containers $left_ctr, shims $left_shim, mounts $left_mnt, netns $left_ns, cgroups $left_cg, port mappings $left_map"
if [ $((lost + wrong + left_ctr + left_shim + left_mnt + left_ns + left_cg + left_map)) -ne 0 ]; then
    tail -n 30 "$W/agent.log"
    exit 1
fi
[ "$kills" -gt 0 ] || { echo "FAIL: the agent was never killed"; exit 1; }
# Under MODE=asan: a memory error of any agent run fails the soak.
if grep -E "ERROR: AddressSanitizer|runtime error:" "$W/agent.log"; then echo "FAIL: sanitizer"; exit 1; fi
echo "ok   soak"
