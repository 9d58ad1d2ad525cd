#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end with real parts only (issue 5, point 1): Debian's docker-registry
# with a busybox image built by the test, skiffd, and two skiff-agents, each in
# its own network namespace joined by a veth to a bridge the test makes (the
# agents reach skiffd and the registry through it; the test reaches the tasks
# on the agents' addresses). A bridge-mode service with a dynamic host port and
# a health check reaches 4 RUNNING tasks that answer on their hosts' ports; a
# killed container is replaced; a kill -9 of an agent gets its tasks re-placed
# on the other and, when it comes back, its surplus stopped; a rolling
# deployment moves to revision 2; a task over its memory limit is reported as
# OOM-killed (137, ECS's reason); a task's CPU use stays within its CFS quota
# (cgroup cpuacct usage and throttling counts); `skiff logs` reads a task's
# logs through skiffd from the other host (--container, --since, --follow);
# scaling to 0 leaves no process, mount, cgroup or netns on either host.
# Everything runs in a private network + mount namespace and is removed at
# exit, whatever happened.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# agt_kill_shims (this test starts its agents itself).
. "$here/agent-helpers/env.sh"
B=$top/${OUT:-build}/bin
[ "$(id -u)" = 0 ] || { echo "SKIP: requires root"; exit 77; }
for t in docker-registry skopeo python3 curl ip unshare nsenter aws jq; do
    command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
[ -x /usr/lib/cni/bridge ] || { echo "SKIP: containernetworking-plugins missing"; exit 77; }
for p in skiffd skiff-agent skiff-shim skiff-runtime skiff; do
    [ -x "$B/$p" ] || { echo "FAIL: $B/$p not built"; exit 1; }
done
if [ -z "${AE_INNER:-}" ]; then
    exec unshare --net --mount --propagation private env AE_INNER=1 bash "$0" "$@"
fi
ip link set lo up
W=$(mktemp -d /tmp/ae-e2e-XXXXXX)
CG=/ae-e2e-$$
GW=10.222.0.1
REG=$GW:5210
API=http://$GW:8240
declare -A apid addr
addr[a]=10.222.0.2
addr[b]=10.222.0.3
pids=()
skiffd_pid=
cleanup() {
    local a c p
    for a in "${!apid[@]}"; do kill -9 "${apid[$a]}" 2>/dev/null; done
    [ -n "$skiffd_pid" ] && kill "$skiffd_pid" 2>/dev/null
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for a in a b; do
        agt_kill_shims "$W/$a"
        for id in $("$B/skiff-runtime" --root "$W/$a/runtime" list -q 2>/dev/null); do
            "$B/skiff-runtime" --root "$W/$a/runtime" delete --force "$id"
        done
        # Whatever is still in the host's namespace or its cgroups (health checks, strays).
        for p in $(ip netns pids "ae$a" 2>/dev/null) $(cat /sys/fs/cgroup/pids"$CG-$a"/*/cgroup.procs \
            /sys/fs/cgroup/pids"$CG-$a"/*/*/cgroup.procs 2>/dev/null); do
            kill -9 "$p" 2>/dev/null
        done
    done
    grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
    for c in /sys/fs/cgroup/*"$CG"-*; do
        [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    for a in a b; do ip netns del "ae$a" 2>/dev/null; done
    ip link del aebr0 2>/dev/null
    wait 2>/dev/null
    # AE_KEEP=DIR keeps the logs for a post-mortem.
    [ -n "${AE_KEEP:-}" ] && mkdir -p "$AE_KEEP" && cp "$W"/*.log "$AE_KEEP"/ 2>/dev/null
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
die() { echo "FAIL $1"; for f in "$W"/*.log; do echo "---- $f"; tail -n 20 "$f"; done; exit 1; }

# The network: a bridge here, one namespace per host with a veth on it.
ip link add aebr0 type bridge && ip addr add $GW/24 dev aebr0 && ip link set aebr0 up || die "bridge"
for a in a b; do
    ip netns add "ae$a" &&
        ip link add "aev$a" type veth peer name eth0 netns "ae$a" &&
        ip link set "aev$a" master aebr0 up &&
        ip -n "ae$a" link set lo up &&
        ip -n "ae$a" addr add "${addr[$a]}/24" dev eth0 &&
        ip -n "ae$a" link set eth0 up &&
        ip -n "ae$a" route add default via $GW || die "netns ae$a"
done

# Registry (here, on 127.0.0.1 for the test and the bridge address for the hosts) and image.
mkdir -p "$W/reg/data"
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: "0.0.0.0:5210", secret: ae}\n' \
    "$W/reg/data" >"$W/reg/config.yml"
docker-registry serve "$W/reg/config.yml" >"$W/registry.log" 2>&1 &
pids+=($!)
wait_for 10 curl -sf http://127.0.0.1:5210/v2/ || die "registry"
python3 "$here/images-helpers/mkoci.py" "$W/oci" busybox >/dev/null &&
    skopeo copy -q --dest-tls-verify=false "oci:$W/oci/busybox:latest" \
        docker://127.0.0.1:5210/busybox:latest || die "image"
IMG=$REG/busybox:latest

# skiffd with short failure-detection graces (a host that prepares several tasks at
# once can be busy for a second or two), on the bridge.
"$B/skiffd" --listen $GW:8240 --state "$W/skiffd" --heartbeat-grace 3000 --task-grace 2000 \
    --poll-timeout 1000 --tick 200 >"$W/skiffd.log" 2>&1 &
skiffd_pid=$!
wait_for 10 grep -q "listening on $GW:8240" "$W/skiffd.log" || die "skiffd"
export AWS_CONFIG_FILE=$W/aws-config AWS_SHARED_CREDENTIALS_FILE=$W/skiffd/credentials
export AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 SKIFF_ENDPOINT=$API
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
printf '[default]\nregion = us-east-1\n' >"$AWS_CONFIG_FILE"
ecs() { aws ecs "$@" --endpoint-url $API --output json; }
# Queries (the most frequent calls) through skiff, which starts faster than the aws CLI.
sk() { "$B/skiff" "$@" --output json; }
ecs create-cluster >/dev/null

start_agent() { # a|b
    local n=$1 i
    i=$([ "$n" = a ] && echo 10 || echo 11)
    # nsenter itself (not a function, which would run in a subshell): $! is the agent.
    nsenter --net="/run/netns/ae$n" "$B/skiff-agent" --endpoint $API --join-token-file "$W/skiffd/join-token" \
        --state "$W/$n" --hostname "host-$n" --cgroup-root "$CG-$n" --netns-dir "$W/$n/netns" \
        --bridge "aec$n" --subnet "10.222.$i.0/24" --port-range "45${i}0-45${i}9" \
        --log-listen "${addr[$n]}:8250" \
        --insecure-registry $REG --reserved-memory 0 >>"$W/agent-$n.log" 2>&1 &
    apid[$n]=$!
    disown "${apid[$n]}"
}
start_agent a
start_agent b
n_instances() { [ "$(ecs list-container-instances | jq '.containerInstanceArns | length')" = "$1" ]; }
wait_for 30 n_instances 2 || die "two agents registered"
pass "two agents registered, each in its own network namespace"
declare -A host_of # container instance ARN -> a|b
while read -r arn h; do host_of[$arn]=${h#host-}; done < <(
    ecs describe-container-instances --container-instances $(ecs list-container-instances | jq -r '.containerInstanceArns[]') |
        jq -r '.containerInstances[] | "\(.containerInstanceArn) \(.ec2InstanceId)"')

webdef() { # REV-TEXT [EXTRA TASK ARGS...]
    local text=$1
    shift
    ecs register-task-definition --family web --network-mode bridge "$@" --container-definitions '[{
  "name": "web", "image": "'$IMG'", "cpu": 128, "memory": 64, "user": "0",
  "essential": true, "stopTimeout": 2, "entryPoint": ["/bin/sh", "-c"],
  "command": ["echo '$text'-from-$HOSTNAME > /index.html; echo started-'$text'; echo warn-'$text' >&2; exec /bin/busybox httpd -f -p 8080 -h /"],
  "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
  "healthCheck": {"command": ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"],
                  "interval": 5, "timeout": 3, "retries": 2}}]' >/dev/null
}
webdef v1
# Spread over the hosts (so that the loss of one matters, and logs come from the other).
ecs create-service --service-name web --task-definition web --desired-count 4 \
    --placement-strategy type=spread,field=instanceId >/dev/null
svc() { sk describe-services --services web | jq -c '.services[0]'; }
running() { [ "$(svc | jq .runningCount)" = "$1" ] && [ "$(svc | jq .pendingCount)" = 0 ]; }
check "service reaches 4 RUNNING" wait_for 90 running 4

tasks_json() { sk describe-tasks --tasks $(sk list-tasks --service-name web --desired-status RUNNING | jq -r '.taskArns[]'); }
# ADDRESS:PORT of every RUNNING task: its host's address and its host port.
endpoints() {
    tasks_json | jq -r '.tasks[] | select(.lastStatus=="RUNNING") | "\(.containerInstanceArn) \(.containers[0].networkBindings[0].hostPort)"' |
        while read -r arn port; do echo "${addr[${host_of[$arn]:-x}]:-none}:$port"; done
}
answers_all() { # TEXT N
    local e n=0
    for e in $(endpoints); do curl -sf -m 5 "http://$e/" | grep -q "$1-from" || return 1; n=$((n + 1)); done
    [ $n = "$2" ]
}
check "all 4 answer on their hosts' addresses and host ports" wait_for 30 answers_all v1 4
spread() { [ "$(tasks_json | jq '[.tasks[].containerInstanceArn] | unique | length')" = 2 ]; }
check "tasks on both hosts" spread
healthy() { [ "$(tasks_json | jq -r '[.tasks[].containers[0].healthStatus] | unique | join(",")')" = HEALTHY ]; }
check "health checks report HEALTHY" wait_for 30 healthy

# A killed container is replaced.
victim=$(ls -d "$W"/[ab]/tasks/*/c/web 2>/dev/null | head -1)
[ -n "$victim" ] || die "no container to kill"
victim_task=$(basename "$(dirname "$(dirname "$victim")")")
# From the host, like an operator or the kernel would: SIGKILL to the container's init.
vpid=$(jq -r .pid "$victim/shim.json")
[ "${vpid:-0}" -gt 1 ] && kill -9 "$vpid" || die "no pid to kill in $victim/shim.json"
stopped_137() {
    sk describe-tasks --tasks "$(sk list-tasks --desired-status STOPPED | jq -r '.taskArns[]' | grep "$victim_task")" |
        jq -e '.tasks[0].lastStatus == "STOPPED" and .tasks[0].containers[0].exitCode == 137' >/dev/null
}
check "killed container reported STOPPED with exit code 137" wait_for 30 stopped_137
check "replacement brings the service back to 4" wait_for 60 running 4

# kill -9 of agent b: its tasks are re-placed on a; b returns and stops its surplus.
b_inst=$(for k in "${!host_of[@]}"; do [ "${host_of[$k]}" = b ] && echo "$k"; done)
old_b=$(tasks_json | jq -r --arg b "$b_inst" '[.tasks[] | select(.containerInstanceArn == $b)][0].taskArn // empty')
kill -9 "${apid[b]}"
# Its logs cannot be read meanwhile: skiffd says whose agent it could not reach.
logs_b_down() {
    local msg
    ! msg=$("$B/skiff" logs "$old_b" 2>&1) && grep -q "agent of container instance '${b_inst##*/}' at ${addr[b]}:8250" <<<"$msg"
}
[ -n "$old_b" ] && check "skiff logs of a task on the dead agent's host: a clear error" logs_b_down
all_on_a() {
    running 4 && [ "$(tasks_json | jq -r '[.tasks[].containerInstanceArn] | unique | length')" = 1 ]
}
check "agent b lost: tasks re-placed on a" wait_for 90 all_on_a
check "b's containers kept running while b was down" test -n "$("$B/skiff-runtime" --root "$W/b/runtime" list -q 2>/dev/null)"
start_agent b
b_empty() { [ -z "$("$B/skiff-runtime" --root "$W/b/runtime" list -q 2>/dev/null)" ]; }
check "agent b back: its surplus stopped" wait_for 60 b_empty
check "still 4 RUNNING, answering" wait_for 30 answers_all v1 4

# Rolling deployment to revision 2 (task-level cpu 256 -> a CFS quota of 25 ms per 100 ms).
webdef v2 --cpu 256
ecs update-service --service web --task-definition web:2 >/dev/null
rolled() {
    running 4 && [ "$(svc | jq '.deployments | length')" = 1 ] &&
        [ "$(tasks_json | jq -r '[.tasks[].taskDefinitionArn | endswith(":2")] | all')" = true ]
}
check "rolling deployment to revision 2" wait_for 150 rolled
placement() { tasks_json | jq -r '.tasks[].containerInstanceArn' | while read -r a; do echo "${host_of[$a]:-?}"; done | sort | uniq -c | tr -s ' \n' ' '; }
echo "revision 2 placed: $(placement)"
check "revision 2 answers on all host ports" wait_for 30 answers_all v2 4
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
check "task cpu 256 -> CFS quota 25000/100000 on the task cgroup" quota_ok

# Stand-alone tasks: one over its memory limit, one spinning under a CPU quota.
ecs register-task-definition --family hog --network-mode none --container-definitions '[{
  "name": "hog", "image": "'$IMG'", "memory": 32, "user": "0", "essential": true,
  "entryPoint": ["/bin/sh", "-c"], "command": ["a=aaaaaaaa; while :; do a=$a$a; done"]}]' >/dev/null
ecs register-task-definition --family spin --network-mode none --cpu 256 --container-definitions '[{
  "name": "spin", "image": "'$IMG'", "memory": 32, "user": "0", "essential": true, "stopTimeout": 1,
  "entryPoint": ["/bin/sh", "-c"], "command": ["while :; do :; done"]}]' >/dev/null
hog=$(ecs run-task --task-definition hog | jq -r '.tasks[0].taskArn')
spin=$(ecs run-task --task-definition spin | jq -r '.tasks[0].taskArn')
oom_reported() {
    sk describe-tasks --tasks "$hog" | jq -e '.tasks[0].lastStatus == "STOPPED" and
        .tasks[0].containers[0].exitCode == 137 and
        .tasks[0].containers[0].reason == "OutOfMemoryError: Container killed due to memory usage"'
}
check "task over its memory limit: STOPPED, exit 137, OutOfMemoryError" wait_for 60 oom_reported
spin_running() { sk describe-tasks --tasks "$spin" | jq -e '.tasks[0].lastStatus == "RUNNING"'; }
cpu_held() { # usage over 2 s of wall time within the quota (25%), and the task was throttled
    local h id d u0 u1 t0 t1 n0 n1
    h=${host_of[$(sk describe-tasks --tasks "$spin" | jq -r '.tasks[0].containerInstanceArn')]}
    id=${spin##*/}
    d=/sys/fs/cgroup/cpuacct$CG-$h/$id
    [ -f "$d/cpuacct.usage" ] || { echo "no $d"; return 1; }
    u0=$(cat "$d/cpuacct.usage") n0=$(awk '/^nr_throttled/ {print $2}' "/sys/fs/cgroup/cpu$CG-$h/$id/cpu.stat")
    t0=$(date +%s%N)
    sleep 2
    u1=$(cat "$d/cpuacct.usage") n1=$(awk '/^nr_throttled/ {print $2}' "/sys/fs/cgroup/cpu$CG-$h/$id/cpu.stat")
    t1=$(date +%s%N)
    echo "cpu: $(((u1 - u0) / 1000000)) ms used in $(((t1 - t0) / 1000000)) ms, throttled $((n1 - n0)) times"
    # At most a quarter of the wall time (plus one period of slack), at least one throttle.
    [ $((u1 - u0)) -le $(((t1 - t0) / 4 + 100000000)) ] && [ $((n1 - n0)) -gt 0 ] && [ $((u1 - u0)) -gt 0 ]
}
if wait_for 60 spin_running; then
    if out=$(cpu_held); then pass "task CPU held to its quota ($out)"; else fail "task CPU held to its quota ($out)"; fi
else
    fail "spinning task RUNNING"
fi
ecs stop-task --task "$spin" >/dev/null

# Logs through skiffd: a task on host b, read through skiffd (which asks b's agent).
SK() { "$B/skiff" "$@"; }
# A task on host b if there is one (placement decides), else on a: either way the
# logs come from an agent in another network namespace, through skiffd.
barn=$(for k in "${!host_of[@]}"; do [ "${host_of[$k]}" = b ] && echo "$k"; done)
btask=$(tasks_json | jq -r --arg b "$barn" \
    '([.tasks[] | select(.containerInstanceArn == $b)] + .tasks)[0].taskArn // empty')
echo "logs of task ${btask##*/}, on host ${host_of[$(sk describe-tasks --tasks "$btask" | jq -r '.tasks[0].containerInstanceArn')]:-?}"
if [ -z "$btask" ]; then
    fail "a task for the logs"
else
    logs_b() { SK logs "$btask" | grep -qx started-v2; }
    check "skiff logs reads a task on host b through skiffd" logs_b
    logs_ctr() { SK logs --task "$btask" --container web 2>&1 >/dev/null | grep -qx warn-v2; }
    check "skiff logs --container web: stderr lines on stderr" logs_ctr
    logs_nope() { ! SK logs --task "$btask" --container nope; }
    check "skiff logs --container nope fails" logs_nope
    future=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
    logs_future() { [ -z "$(SK logs --task "$btask" --since "$future" 2>&1)" ]; }
    check "skiff logs --since in the future prints nothing" logs_future
    logs_past() { SK logs --task "$btask" --since 2000-01-01T00:00:00Z | grep -qx started-v2; }
    check "skiff logs --since in the past prints the lines" logs_past
    # skiff itself in the background (not a function: $! must be its pid).
    "$B/skiff" logs --task "$btask" --follow >"$W/follow.out" 2>"$W/follow.err" &
    fpid=$!
    wait_for 15 grep -qx started-v2 "$W/follow.out"
    sleep 1
    kill -0 $fpid 2>/dev/null && follow_alive=1 || follow_alive=0
    # TERM: a background job of a script ignores INT (a terminal's Ctrl-C ends it too).
    kill -TERM $fpid 2>/dev/null
    ended() { ! kill -0 $fpid 2>/dev/null; }
    if [ $follow_alive = 1 ] && grep -qx started-v2 "$W/follow.out" && wait_for 5 ended; then
        pass "skiff logs --follow streams and ends when asked"
    else
        fail "skiff logs --follow streams and ends when asked (alive $follow_alive): $(cat "$W/follow.out" "$W/follow.err")"
        kill -9 $fpid 2>/dev/null
    fi
    wait $fpid 2>/dev/null
    # A stopped task has nothing more to say: --follow ends by itself.
    check "skiff logs --follow of a stopped task ends by itself" timeout 15 "$B/skiff" logs --task "$hog" --follow
fi

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
        # No host port mapping left in the agent's nftables map (portMapper nft).
        [ -z "$(nsenter --net="/run/netns/ae$a" "$B/skiff-agent" port-mappings --bridge "aec$a" 2>&1)" ] || return 1
        # In the host's namespace: its agent only (no shim, container or health
        # check), and the spare worker it keeps ready (its child, idle).
        [ "$(ip netns pids "ae$a" | grep -vx "${apid[$a]}" | while read -r p; do
            [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "${apid[$a]}" ] &&
                [ "$(cat "/proc/$p/comm" 2>/dev/null)" = skiff-agent-wor ] || echo "$p"
        done)" = "" ] || return 1
    done
    ! pgrep -f "skiff-shim --id .* --dir $W/" >/dev/null
}
check "nothing left on either host (processes, mounts, cgroups, netns, port mappings)" wait_for 30 nothing_left

# Under MODE=asan: no memory error in the agents or skiffd so far.
sanitizer_clean() { ! grep -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$W"/agent-*.log "$W/skiffd.log"; }
check "no sanitizer report from the agents or skiffd" sanitizer_clean
if [ $fails -ne 0 ]; then
    for f in "$W"/agent-*.log "$W/skiffd.log"; do echo "---- $f"; tail -n 15 "$f"; done
    echo "---- service"; svc | jq -c '.events[:5]'
    exit 1
fi
echo "all end-to-end checks passed"
