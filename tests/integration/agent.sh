#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiff-agent end to end against a stand-in skiffd (agent-helpers/fake_skiffd.py,
# the protocol of docs/agent-protocol.md) and Debian's docker-registry with a
# busybox image built by the test: register, start a bridge-mode task with a
# dynamic host port and a health check, logs, kill -9 of the agent while its
# container exits, OOM reported as ECS does, stop with StopSignal then SIGKILL
# after stopTimeout, surplus stopped, reports retried, nothing left behind.
# Runs in a network and mount namespace of its own (registry, fake skiffd,
# bridge and iptables rules live there); everything is removed at exit.
set -u
. "$(dirname "$0")/agent-helpers/env.sh"
agt_setup daemon runc "$@"

start_agent() {
    agt_start_agent "$agent" --bridge agt-br0 --subnet 10.231.8.0/24 --port-range 40000-40100 \
        --attribute rack=r1 --image-gc-percent 0
}

# task ID DESIRED CONTAINER_JSON [TASK_EXTRA] [NETWORK_MODE]: writes W/ID.json
task() {
    cat >"$W/$1.json" <<JSON
{"taskArn": "arn:aws:ecs:local:000000000000:task/agt/$1", "taskId": "$1",
 "desiredStatus": "$2", "lastStatus": "PENDING", "version": 1,
 "taskDefinition": {"family": "$1", "revision": 1, "networkMode": "${5:-bridge}", "cpu": "512",
   "memory": "256" ${4:-}, "containerDefinitions": [$3]}}
JSON
}
arn() { echo "arn:aws:ecs:local:000000000000:task/agt/$1"; }
IMG=127.0.0.1:5000/busybox:latest

start_agent
for _ in $(seq 100); do [ -s "$W/registered.jsonl" ] && break; sleep 0.1; done
check "agent registers with capacity and attributes" python3 -c "
import json,os; r=json.loads(open('$W/registered.jsonl').readline())
assert r['cpu']==os.cpu_count()*1024 and r['memory']>0 and r['attributes']['rack']=='r1', r"

# 1. A web task: dynamic host port, health check, logs.
WEB='{"name": "web", "image": "'$IMG'", "user": "0", "essential": true,
  "command": ["echo hello-log; echo x >&2; echo ok-from-task > /srv.html; exec /bin/busybox httpd -f -p 8080 -h /"],
  "portMappings": [{"containerPort": 8080, "hostPort": 0}],
  "healthCheck": {"command": ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/srv.html"],
                  "interval": 5, "timeout": 3, "retries": 2}}'
task t1 RUNNING "$WEB"
ctl desired "$W" 2 "$W/t1.json"
rep=$(ctl wait "$W" "$(arn t1)" RUNNING 60 healthStatus=HEALTHY)
check "web task RUNNING and HEALTHY" test -n "$rep"
hp=$(echo "$rep" | python3 -c 'import json,sys; print(json.load(sys.stdin)["containers"][0]["networkBindings"][0]["hostPort"])' 2>/dev/null)
check "host port picked from the range" test "${hp:-0}" -ge 40000 -a "${hp:-0}" -le 40100
check "reachable on the host port" sh -c "curl -s --max-time 5 http://127.0.0.1:$hp/srv.html | grep -q ok-from-task"
check "logs readable" sh -c "'$agent' logs --state '$S' t1 web 2>/dev/null | grep -q hello-log"
check "stderr logged as such" grep -q '"stream":"stderr"' "$S/tasks/t1/c/web/container.log"

# 2. kill -9 of the agent; the container keeps serving and exits while the agent is away.
agt_stop_agent KILL || fail "the agent exits on SIGKILL"
check "container survives the agent" sh -c "curl -s --max-time 5 http://127.0.0.1:$hp/srv.html | grep -q ok-from-task"
echo "kill 9" >"$S/tasks/t1/c/web/ctl"
for _ in $(seq 100); do [ -f "$S/tasks/t1/c/web/exit.json" ] && break; sleep 0.1; done
start_agent
rep=$(ctl wait "$W" "$(arn t1)" STOPPED 30 exitCode=137)
check "exit while the agent was down reported (137)" test -n "$rep"
check "stoppedReason essential container" sh -c "echo '$rep' | grep -q 'Essential container in task exited'"
check "task netns removed" test ! -e "$W/netns/t1"
check "rootfs unmounted" sh -c "! grep -q '$S/tasks/t1' /proc/self/mountinfo"

# 3. OOM reported as ECS does.
OOM='{"name": "hog", "image": "'$IMG'", "memory": 16, "user": "0",
  "command": ["/bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1"]}'
task t2 RUNNING "$OOM"
ctl desired "$W" 3 "$W/t2.json"
rep=$(ctl wait "$W" "$(arn t2)" STOPPED 60 exitCode=137 "reason=OutOfMemoryError: Container killed due to memory usage")
check "OOM kill reported as OutOfMemoryError (137)" test -n "$rep"

# 3a. initProcessEnabled: skiff-init is pid 1, reaps, passes SIGTERM on, keeps the exit code.
INIT='{"name": "app", "image": "'$IMG'", "user": "0", "stopTimeout": 10,
  "linuxParameters": {"initProcessEnabled": true},
  "command": ["trap \"exit 42\" TERM; echo pid1=$(cat /proc/1/comm); /bin/busybox sleep 1000 & wait"]}'
task t7 RUNNING "$INIT"
ctl desired "$W" 21 "$W/t7.json"
check "init task RUNNING" ctl wait "$W" "$(arn t7)" RUNNING 60
check "skiff-init is pid 1" sh -c "for i in \$(seq 50); do grep -q 'pid1=skiff-init' '$S/tasks/t7/c/app/container.log' && exit 0; sleep 0.1; done; exit 1"
task t7 STOPPED "$INIT"
ctl desired "$W" 22 "$W/t7.json"
check "SIGTERM passed on by the init: exit 42 before stopTimeout" ctl wait "$W" "$(arn t7)" STOPPED 8 exitCode=42

# 3b. awsvpc: the task's own address; host: the host's network.
AWS='{"name": "web", "image": "'$IMG'", "user": "0", "stopTimeout": 2,
  "command": ["echo aws-ok > /i.html; exec /bin/busybox httpd -f -p 8080 -h /"]}'
HOSTC='{"name": "web", "image": "'$IMG'", "user": "0", "stopTimeout": 2,
  "command": ["echo host-ok > /i.html; exec /bin/busybox httpd -f -p 127.0.0.1:18081 -h /"]}'
task t5 RUNNING "$AWS" "" awsvpc
task t6 RUNNING "$HOSTC" "" host
ctl desired "$W" 31 "$W/t5.json" "$W/t6.json"
rep=$(ctl wait "$W" "$(arn t5)" RUNNING 60)
ip5=$(echo "$rep" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("privateIpv4Address",""))' 2>/dev/null)
check "awsvpc task has its own address" test -n "$ip5"
check "awsvpc task reachable on its address" sh -c "curl -s --max-time 5 http://$ip5:8080/i.html | grep -q aws-ok"
check "host-mode task RUNNING" ctl wait "$W" "$(arn t6)" RUNNING 60
check "host-mode task listens in the host's netns" sh -c "for i in \$(seq 50); do curl -s --max-time 2 http://127.0.0.1:18081/i.html | grep -q host-ok && exit 0; sleep 0.1; done; exit 1"
check "host-mode task has no netns file" test ! -e "$W/netns/t6"

# 4. Stop: SIGTERM is ignored by a bare pid 1, SIGKILL follows after stopTimeout;
#    meanwhile reports fail and are retried.
SLEEP='{"name": "sleeper", "image": "'$IMG'", "user": "0", "stopTimeout": 2,
  "command": ["exec /bin/busybox sleep 1000"]}'
task t3 RUNNING "$SLEEP"
task t4 RUNNING "$SLEEP"
ctl desired "$W" 4 "$W/t3.json" "$W/t4.json"
check "t3 RUNNING" ctl wait "$W" "$(arn t3)" RUNNING 60
check "t4 RUNNING" ctl wait "$W" "$(arn t4)" RUNNING 60
check "task cgroup has the CPU quota" sh -c "grep -qx 50000 /sys/fs/cgroup/cpu$CG/t3/cpu.cfs_quota_us"
touch "$W/fail-reports"
task t3 STOPPED "$SLEEP"
ctl desired "$W" 5 "$W/t3.json"
sleep 1
rm -f "$W/fail-reports"
rep=$(ctl wait "$W" "$(arn t3)" STOPPED 30 exitCode=137)
check "desired STOPPED: stopped with SIGKILL after stopTimeout" test -n "$rep"
check "surplus (no longer listed) stopped" ctl wait "$W" "$(arn t4)" STOPPED 30
check "awsvpc and host tasks stopped too" sh -c "python3 '$H/agtctl.py' wait '$W' '$(arn t5)' STOPPED 30 && python3 '$H/agtctl.py' wait '$W' '$(arn t6)' STOPPED 30"

# 5. Nothing left: containers, netns files, mounts, task cgroups.
sleep 0.5
check "no containers left in the runtime" test -z "$("$RTCLI" --root "$RT" list -q 2>/dev/null)"
check "no netns files left" sh -c "[ -z \"\$(ls -A '$W/netns' 2>/dev/null)\" ]"
check "no mounts left" sh -c "! grep -q '$S/tasks' /proc/self/mountinfo"
check "unused images garbage-collected (threshold 0%)" sh -c "for i in \$(seq 100); do python3 -c \"import json,sys; sys.exit(len(json.load(open('$S/images/index.json'))['images']) != 0)\" && exit 0; sleep 0.2; done; exit 1"
check "no task cgroups left" sh -c "[ -z \"\$(find /sys/fs/cgroup/*$CG -mindepth 1 -type d 2>/dev/null)\" ]"

if [ $fails -ne 0 ]; then
    echo "---- agent log (tail) ----"; tail -n 40 "$W/agent.log"
    echo "---- reports (tail) ----"; tail -n 10 "$W/reports.jsonl" 2>/dev/null
    echo "---- cgroups left ----"; find /sys/fs/cgroup/*"$CG" -mindepth 1 -type d 2>/dev/null | head
    exit 1
fi
echo "all agent checks passed"
