#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end with real parts only: skiffd, two skiff-agents (each with its own
# bridge, subnet, port range, cgroup root and state), Debian's docker-registry
# with a busybox image built by the test, the aws CLI. A bridge-mode service
# with a dynamic host port and a health check reaches 4 RUNNING tasks that
# answer on their host ports; a killed container is replaced; a kill -9 of an
# agent gets its tasks re-placed on the other and, when it comes back, its
# surplus stopped; a rolling deployment moves to revision 2 (with a task CPU
# quota on the task cgroup); scaling to 0 leaves no container, shim, mount or netns.
# Runs in a private network + mount namespace; everything is removed at exit.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
B=$top/${OUT:-build}/bin
[ "$(id -u)" = 0 ] || { echo "SKIP: requires root"; exit 77; }
for t in docker-registry skopeo python3 curl ip unshare aws jq; do
    command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
[ -x /usr/lib/cni/bridge ] || { echo "SKIP: containernetworking-plugins missing"; exit 77; }
for p in skiffd skiff-agent skiff-shim skiff-runtime; do
    [ -x "$B/$p" ] || { echo "FAIL: $B/$p not built"; exit 1; }
done
if [ -z "${AGT_INNER:-}" ]; then
    exec unshare --net --mount --propagation private env AGT_INNER=1 bash "$0" "$@"
fi
ip link set lo up
W=$(mktemp -d /tmp/agt-e2e-XXXXXX)
CG=/agt-e2e-$$
declare -A apid
pids=()
skiffd_pid=
kill_shims() { # STATE
    local f
    for f in "$1"/tasks/*/c/*/shim.json; do
        [ -f "$f" ] || continue
        jq -r '"\(.shimPid) \(.pid)"' "$f" | while read -r sp cp; do
            kill -9 "$sp" 2>/dev/null
            [ "$cp" != 0 ] && kill -9 "$cp" 2>/dev/null
        done
    done
}
cleanup() {
    for a in "${!apid[@]}"; do kill -9 "${apid[$a]}" 2>/dev/null; done
    [ -n "$skiffd_pid" ] && kill "$skiffd_pid" 2>/dev/null
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for a in a b; do
        kill_shims "$W/$a"
        for id in $("$B/skiff-runtime" --root "$W/$a/runtime" list -q 2>/dev/null); do
            "$B/skiff-runtime" --root "$W/$a/runtime" delete --force "$id"
        done
    done
    grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
    for c in /sys/fs/cgroup/*"$CG"-*; do
        [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name"; fi; }
wait_for() { # SECS CMD...: a deadline, whatever each try costs (aws calls take ~1 s)
    local end=$((SECONDS + $1))
    shift
    while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
    return 1
}

# Registry and image.
mkdir -p "$W/reg/data"
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "127.0.0.1:5000", secret: agt}\n' \
    "$W/reg/data" >"$W/reg/config.yml"
docker-registry serve "$W/reg/config.yml" >"$W/reg/log" 2>&1 &
pids+=($!)
wait_for 10 curl -sf http://127.0.0.1:5000/v2/ || { echo "FAIL registry"; exit 1; }
python3 "$here/images-helpers/mkoci.py" "$W/oci" busybox >/dev/null &&
    skopeo copy -q --dest-tls-verify=false "oci:$W/oci/busybox:latest" \
        docker://127.0.0.1:5000/busybox:latest || { echo "FAIL image"; exit 1; }

# skiffd with short failure-detection graces.
"$B/skiffd" --listen 127.0.0.1:8100 --state "$W/skiffd" --heartbeat-grace 2000 --task-grace 2000 \
    --poll-timeout 1000 --tick 200 >"$W/skiffd.log" 2>&1 &
skiffd_pid=$!
wait_for 10 grep -q "listening on 127.0.0.1:8100" "$W/skiffd.log" || { echo "FAIL skiffd"; cat "$W/skiffd.log"; exit 1; }
export AWS_CONFIG_FILE=$W/aws-config AWS_SHARED_CREDENTIALS_FILE=$W/skiffd/credentials
export AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
printf '[default]\nregion = us-east-1\n' >"$AWS_CONFIG_FILE"
ecs() { aws ecs "$@" --endpoint-url http://127.0.0.1:8100 --output json; }
ecs create-cluster >/dev/null

start_agent() { # a|b
    local n=$1 i
    i=$([ "$n" = a ] && echo 20 || echo 21)
    "$B/skiff-agent" --endpoint http://127.0.0.1:8100 --join-token-file "$W/skiffd/join-token" \
        --state "$W/$n" --hostname "host-$n" --cgroup-root "$CG-$n" --netns-dir "$W/$n/netns" \
        --bridge "agt-b$n" --subnet "10.231.$i.0/24" --port-range "4${i}00-4${i}99" \
        --insecure-registry 127.0.0.1:5000 --reserved-memory 0 >>"$W/agent-$n.log" 2>&1 &
    apid[$n]=$!
    disown "${apid[$n]}"
}
start_agent a
start_agent b
n_instances() { [ "$(ecs list-container-instances | jq '.containerInstanceArns | length')" = "$1" ]; }
check "two agents registered" wait_for 20 n_instances 2

ecs register-task-definition --family web --network-mode bridge --container-definitions '[{
  "name": "web", "image": "127.0.0.1:5000/busybox:latest", "cpu": 128, "memory": 64, "user": "0",
  "essential": true, "stopTimeout": 2, "entryPoint": ["/bin/sh", "-c"],
  "command": ["echo hello-from-$HOSTNAME > /index.html; exec /bin/busybox httpd -f -p 8080 -h /"],
  "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
  "healthCheck": {"command": ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
                  "interval": 5, "timeout": 3, "retries": 2}}]' >/dev/null
ecs create-service --service-name web --task-definition web --desired-count 4 >/dev/null
svc() { ecs describe-services --services web | jq -c '.services[0]'; }
running() { [ "$(svc | jq .runningCount)" = "$1" ] && [ "$(svc | jq .pendingCount)" = 0 ]; }
check "service reaches 4 RUNNING" wait_for 90 running 4

tasks_json() { ecs describe-tasks --tasks $(ecs list-tasks --service-name web --desired-status RUNNING | jq -r '.taskArns[]'); }
ports() { tasks_json | jq -r '.tasks[] | select(.lastStatus=="RUNNING") | .containers[0].networkBindings[0].hostPort'; }
answers_all() {
    local p n=0
    for p in $(ports); do curl -sf -m 5 "http://127.0.0.1:$p/" | grep -q hello-from || return 1; n=$((n + 1)); done
    [ $n = "$1" ]
}
check "all 4 answer on their host ports" wait_for 30 answers_all 4
spread() { [ "$(tasks_json | jq '[.tasks[].containerInstanceArn] | unique | length')" = 2 ]; }
check "tasks on both hosts" spread
# skiffd keeps the containers' healthStatus (and derives the task-level one from them).
healthy() { [ "$(tasks_json | jq -r '[.tasks[].containers[0].healthStatus] | unique | join(",")')" = HEALTHY ]; }
check "health checks report HEALTHY" wait_for 30 healthy

# A killed container is replaced.
victim=$(ls -d "$W"/a/tasks/*/c/web 2>/dev/null | head -1)
victim_task=$(basename "$(dirname "$(dirname "$victim")")")
echo "kill 9" >"$victim/ctl"
stopped_137() {
    ecs describe-tasks --tasks "$(ecs list-tasks --desired-status STOPPED | jq -r '.taskArns[]' | grep "$victim_task")" |
        jq -e '.tasks[0].lastStatus == "STOPPED" and .tasks[0].containers[0].exitCode == 137' >/dev/null
}
check "killed container reported STOPPED with exit code 137" wait_for 30 stopped_137
check "replacement brings the service back to 4" wait_for 60 running 4

# kill -9 of agent b: its tasks are re-placed on a; b returns and stops its surplus.
kill -9 "${apid[b]}"
all_on_a() {
    running 4 && [ "$(tasks_json | jq -r '[.tasks[].containerInstanceArn] | unique | length')" = 1 ]
}
check "agent b lost: tasks re-placed on a" wait_for 90 all_on_a
check "b's containers kept running while b was down" test -n "$("$B/skiff-runtime" --root "$W/b/runtime" list -q 2>/dev/null)"
start_agent b
b_empty() { [ -z "$("$B/skiff-runtime" --root "$W/b/runtime" list -q 2>/dev/null)" ]; }
check "agent b back: its surplus stopped" wait_for 60 b_empty
check "still 4 RUNNING, answering" wait_for 30 answers_all 4

# Rolling deployment to revision 2 (task-level cpu 256 -> a CFS quota of 25 ms per 100 ms).
ecs register-task-definition --family web --network-mode bridge --cpu 256 --container-definitions '[{
  "name": "web", "image": "127.0.0.1:5000/busybox:latest", "cpu": 128, "memory": 64, "user": "0",
  "essential": true, "stopTimeout": 2, "entryPoint": ["/bin/sh", "-c"],
  "command": ["echo v2-from-$HOSTNAME > /index.html; exec /bin/busybox httpd -f -p 8080 -h /"],
  "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}]}]' >/dev/null
ecs update-service --service web --task-definition web:2 >/dev/null
rolled() {
    running 4 && [ "$(svc | jq '.deployments | length')" = 1 ] &&
        [ "$(tasks_json | jq -r '[.tasks[].taskDefinitionArn | endswith(":2")] | all')" = true ]
}
check "rolling deployment to revision 2" wait_for 120 rolled
v2_all() {
    local p n=0
    for p in $(ports); do curl -sf -m 5 "http://127.0.0.1:$p/" | grep -q v2-from || return 1; n=$((n + 1)); done
    [ $n = 4 ]
}
check "revision 2 answers on all host ports" wait_for 30 v2_all
quota_ok() {
    local t
    for t in $(tasks_json | jq -r '.tasks[].taskArn | split("/") | last'); do
        for a in a b; do
            [ -f "/sys/fs/cgroup/cpu$CG-$a/$t/cpu.cfs_quota_us" ] &&
                [ "$(cat "/sys/fs/cgroup/cpu$CG-$a/$t/cpu.cfs_quota_us")" = 25000 ] && continue 2
        done
        return 1
    done
}
if [ -d /sys/fs/cgroup/cpu ]; then check "task cpu 256 -> CFS quota 25000/100000 on the task cgroup" quota_ok; fi

# Scale to 0: nothing left on either host.
ecs update-service --service web --desired-count 0 >/dev/null
check "scaled to 0" wait_for 60 running 0
nothing_left() {
    local a
    for a in a b; do
        [ -z "$("$B/skiff-runtime" --root "$W/$a/runtime" list -q 2>/dev/null)" ] || return 1
        [ -z "$(ls -A "$W/$a/netns" 2>/dev/null)" ] || return 1
        ! grep -q " $W/$a/tasks" /proc/self/mountinfo || return 1
        [ -z "$(find /sys/fs/cgroup/*"$CG-$a" -mindepth 1 -type d 2>/dev/null)" ] || return 1
    done
    ! pgrep -f "skiff-shim --id .* --dir $W/" >/dev/null
}
check "nothing left on either host (containers, shims, mounts, netns, cgroups)" wait_for 30 nothing_left

if [ $fails -ne 0 ]; then
    for f in "$W"/agent-*.log; do echo "---- $f"; tail -n 15 "$f"; done
    echo "---- service"; svc | jq -c '.events[:5]'
    exit 1
fi
echo "all end-to-end checks passed"
