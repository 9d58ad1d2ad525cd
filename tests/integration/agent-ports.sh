#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiff-agent's own host port mapper (portMapper "nft", agent/nat.c) end to
# end: bridge tasks' host ports forward from the host (127.0.0.1 and its
# addresses) and from another network namespace, are listed by
# `skiff-agent port-mappings`, go at release, survive a kill -9 of the agent
# and are reconciled when it comes back (a lost mapping re-added, a stale one
# removed, those of a task that ended meanwhile released); portMapper "cni"
# still maps through CNI's portmap plugin. Runs in a network and mount
# namespace of its own; everything is removed at exit.
set -u
. "$(dirname "$0")/agent-helpers/env.sh"
agt_setup ports "nsenter iptables-save flock" "$@"
BR=ports-br0
start() { agt_start_agent "$agent" --bridge $BR --subnet 10.232.9.0/24 --port-range 18220-18229 "$@"; }
ups() { grep -c "agent up" "$W/agent.log"; }
wait_up() { # N: the Nth start-up is done
    for _ in $(seq 100); do [ "$(ups)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}
maps() { "$agent" port-mappings --bridge $BR; }
# get URL [NETNS_PID]: the body, from our netns or another one.
get() {
    if [ -n "${2:-}" ]; then nsenter --net="/proc/$2/ns/net" curl -s --max-time 3 "$1"; else curl -s --max-time 3 "$1"; fi
}
serves() { # ADDR PORT [NETNS_PID]: the task's page comes back (a few tries: it may still start)
    for _ in $(seq 30); do get "http://$1:$2/i.html" "${3:-}" | grep -q ports-ok && return 0; sleep 0.2; done
    return 1
}
refused() { ! get "http://$1:$2/i.html" "${3:-}" | grep -q ports-ok; }

# Another network namespace: a veth to ours, 10.232.10.2 -> 10.232.10.1.
unshare --net sleep 100000 &
client=$!
agt_pids+=("$client") # agt_cleanup ends it
sleep 0.2
ip link add ports-v0 type veth peer name ports-v1
ip link set ports-v1 netns "$client"
ip addr add 10.232.10.1/24 dev ports-v0
ip link set ports-v0 up
nsenter --net="/proc/$client/ns/net" sh -c 'ip link set lo up; ip addr add 10.232.10.2/24 dev ports-v1; ip link set ports-v1 up'

IMG=127.0.0.1:5000/busybox:latest
mk() { # ID DESIRED PORTS
    cat >"$W/$1.json" <<JSON
{"taskArn": "arn:t/$1", "taskId": "$1", "desiredStatus": "$2", "version": 1,
 "taskDefinition": {"family": "p", "revision": 1, "networkMode": "bridge",
  "containerDefinitions": [{"name": "c", "image": "$IMG", "user": "0", "stopTimeout": 1,
   "command": ["echo ports-ok > /i.html; exec /bin/busybox httpd -f -p 8080 -h /"],
   "portMappings": $3}]}}
JSON
}
hostport() { # REPORT INDEX
    echo "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['containers'][0]['networkBindings'][$2]['hostPort'])" 2>/dev/null
}
task_ip() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("ip", ""))' "$S/tasks/$1/task.json"; }

# 1. Two bridge tasks (one from the pre-warmed pool, one attached inline).
start --netns-pool 1
for _ in $(seq 100); do [ -s "$W/registered.jsonl" ] && break; sleep 0.1; done
for _ in $(seq 100); do ls "$W/netns" 2>/dev/null | grep -q '^warm-' && break; sleep 0.1; done
mk p1 RUNNING '[{"containerPort": 8080, "hostPort": 0}]'
mk p2 RUNNING '[{"containerPort": 8080, "hostPort": 18230}, {"containerPort": 53, "hostPort": 0, "protocol": "udp"}]'
ctl desired "$W" 2 "$W/p1.json" "$W/p2.json"
r1=$(ctl wait "$W" arn:t/p1 RUNNING 60)
r2=$(ctl wait "$W" arn:t/p2 RUNNING 60)
check "bridge tasks RUNNING" test -n "$r1" -a -n "$r2"
hp1=$(hostport "$r1" 0)
hpu=$(hostport "$r2" 1)
ip1=$(task_ip p1)
ip2=$(task_ip p2)
check "dynamic host port from the range" test "${hp1:-0}" -ge 18220 -a "${hp1:-0}" -le 18229
check "reachable on 127.0.0.1" serves 127.0.0.1 "$hp1"
check "reachable on the host's address" serves 10.232.10.1 "$hp1"
check "reachable from another netns" serves 10.232.10.1 "$hp1" "$client"
check "explicit host port reachable from another netns" serves 10.232.10.1 18230 "$client"
check "the map lists every mapping" sh -c "maps() { '$agent' port-mappings --bridge $BR; }; m=\$(maps) &&
    echo \"\$m\" | grep -qx 'tcp:$hp1:$ip1:8080' && echo \"\$m\" | grep -qx 'tcp:18230:$ip2:8080' &&
    echo \"\$m\" | grep -qx 'udp:$hpu:$ip2:53' && [ \$(echo \"\$m\" | wc -l) = 3 ]"
check "task records say portMapper nft" grep -q '"portMapper":"nft"' "$S/tasks/p1/task.json"
check "no portmap (iptables) rule" sh -c "! iptables-save -t nat | grep -q CNI-HOSTPORT-DNAT"
check "nothing forwarded for an unmapped port" refused 127.0.0.1 18229

# 2. kill -9; meanwhile p1's mapping is lost, a stale one appears and p2's
#    container exits. Back up: the map is reconciled, p2 released.
agt_stop_agent KILL || fail "the agent exits on SIGKILL"
maps >/dev/null
"$agent" port-mappings --bridge $BR --remove "tcp:$hp1:$ip1:8080" --add tcp:18228:10.232.9.200:80 >/dev/null
check "while the agent is down: p2 still reachable" serves 10.232.10.1 18230 "$client"
check "while the agent is down: p1 lost its mapping (the test's doing)" refused 127.0.0.1 "$hp1"
echo "kill 9" >"$S/tasks/p2/c/c/ctl"
for _ in $(seq 100); do [ -f "$S/tasks/p2/c/c/exit.json" ] && break; sleep 0.1; done
start --netns-pool 1
check "restarted" wait_up 2
check "reconciled: the lost one re-added, the stale one removed" grep -q "holds 3 mapping(s) (1 removed, 1 added)" "$W/agent.log"
check "p1 reachable again" serves 127.0.0.1 "$hp1"
check "p1 reachable again from another netns" serves 10.232.10.1 "$hp1" "$client"
check "p2's exit reported" ctl wait "$W" arn:t/p2 STOPPED 30 exitCode=137
check "p2's mappings released" sh -c "for i in \$(seq 50); do m=\$('$agent' port-mappings --bridge $BR) &&
    ! echo \"\$m\" | grep -q -e ':18230:' -e 'udp:' && ! echo \"\$m\" | grep -q 18228 && exit 0; sleep 0.1; done; exit 1"
check "p2's port no longer forwarded" refused 10.232.10.1 18230 "$client"

# 3. Stopped by the scheduler: its mapping goes at release.
mk p1 STOPPED '[{"containerPort": 8080, "hostPort": 0}]'
ctl desired "$W" 3 "$W/p1.json"
check "p1 STOPPED" ctl wait "$W" arn:t/p1 STOPPED 30
check "the map is empty" sh -c "[ -z \"\$('$agent' port-mappings --bridge $BR)\" ]"
check "p1's port no longer forwarded" refused 127.0.0.1 "$hp1"

# 4. portMapper "cni": CNI's portmap plugin, selectable by configuration.
agt_stop_agent TERM || fail "the agent exits on SIGTERM"
start --netns-pool 0 --port-mapper cni
check "restarted with portMapper cni" wait_up 3
mk p3 RUNNING '[{"containerPort": 8080, "hostPort": 0}]'
ctl desired "$W" 4 "$W/p3.json"
r3=$(ctl wait "$W" arn:t/p3 RUNNING 60)
hp3=$(hostport "$r3" 0)
check "cni: reachable on its host port" serves 127.0.0.1 "${hp3:-0}"
check "cni: reachable from another netns" serves 10.232.10.1 "${hp3:-0}" "$client"
check "cni: through portmap's rules, not our map" sh -c "iptables-save -t nat | grep -q -- '--dport $hp3 ' &&
    [ -z \"\$('$agent' port-mappings --bridge $BR)\" ]"
mk p3 STOPPED '[{"containerPort": 8080, "hostPort": 0}]'
ctl desired "$W" 5 "$W/p3.json"
check "cni: p3 STOPPED" ctl wait "$W" arn:t/p3 STOPPED 30
check "cni: its rules removed" sh -c "for i in \$(seq 50); do ! iptables-save -t nat | grep -q -- '--dport $hp3 ' && exit 0; sleep 0.1; done; exit 1"
# Under MODE=asan (OUT=build/asan): no memory error or leak in any agent run.
agt_stop_agent TERM || fail "the agent exits on SIGTERM"
check "no sanitizer report from the agent" sh -c "! grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$W/agent.log'"
[ $fails = 0 ] && echo "all port mapper checks passed"
[ $fails = 0 ]
