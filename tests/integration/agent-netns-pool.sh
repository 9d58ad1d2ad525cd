#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiff-agent --netns-pool: network namespaces attached to the bridge ahead
# of time are handed to awsvpc and bridge tasks (which then only add their
# port mappings), the pool refills, a kill -9 of the agent keeps the tasks'
# ones and sweeps the others, and stopped tasks leave no netns, veth or NAT
# rule behind. Runs in a private network + mount namespace.
set -u
. "$(dirname "$0")/agent-helpers/env.sh"
agt_setup pool iptables-save "$@"
warm_count() { ls "$W/netns" 2>/dev/null | grep -c '^warm-'; }
wait_warm() { # N
    for _ in $(seq 150); do [ "$(warm_count)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}
start() { agt_start_agent "$agent" --bridge ap-pool0 --subnet 10.221.5.0/24 --port-range 40200-40299 "$@"; }

IMG=127.0.0.1:5000/busybox:latest
mk() { # ID MODE PORTS
    cat >"$W/$1.json" <<JSON
{"taskArn": "arn:t/$1", "taskId": "$1", "desiredStatus": "RUNNING", "version": 1,
 "taskDefinition": {"family": "p", "revision": 1, "networkMode": "$2",
  "containerDefinitions": [{"name": "c", "image": "$IMG", "user": "0", "stopTimeout": 1,
   "command": ["echo pool-ok > /i.html; exec /bin/busybox httpd -f -p 8080 -h /"] $3}]}}
JSON
}

start --netns-pool 2
check "pool filled (2 netns attached ahead of time)" wait_warm 2
mk pa awsvpc ""
mk pb bridge ', "portMappings": [{"containerPort": 8080, "hostPort": 0}]'
ctl desired "$W" 2 "$W/pa.json" "$W/pb.json"
ra=$(ctl wait "$W" arn:t/pa RUNNING 60)
rb=$(ctl wait "$W" arn:t/pb RUNNING 60)
check "awsvpc and bridge tasks RUNNING" test -n "$ra" -a -n "$rb"
ipa=$(echo "$ra" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("privateIpv4Address", ""))' 2>/dev/null)
hp=$(echo "$rb" | python3 -c 'import json,sys; print(json.load(sys.stdin)["containers"][0]["networkBindings"][0]["hostPort"])' 2>/dev/null)
nsa=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("netns", ""))' "$S/tasks/pa/task.json")
nsb=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("netns", ""))' "$S/tasks/pb/task.json")
check "both got a pre-warmed netns" sh -c "case '$nsa' in */warm-*) ;; *) exit 1;; esac; case '$nsb' in */warm-*) ;; *) exit 1;; esac"
check "awsvpc task reachable on its address" sh -c "curl -s --max-time 5 http://$ipa:8080/i.html | grep -q pool-ok"
check "bridge task reachable on its host port" sh -c "curl -s --max-time 5 http://127.0.0.1:$hp/i.html | grep -q pool-ok"
check "pool refilled" wait_warm 4

agt_stop_agent KILL || fail "the agent exits on SIGKILL"
start --netns-pool 1
for _ in $(seq 100); do grep -q "agent up" "$W/agent.log" 2>/dev/null && [ "$(grep -c 'agent up' "$W/agent.log")" -ge 2 ] && break; sleep 0.1; done
check "after kill -9: the tasks keep their netns" test -e "$nsa" -a -e "$nsb"
check "after kill -9: still reachable" sh -c "curl -s --max-time 5 http://127.0.0.1:$hp/i.html | grep -q pool-ok"
check "after kill -9: spare ones swept, pool refilled to 1" sh -c "for i in \$(seq 150); do [ \$(ls '$W/netns' | grep -c '^warm-') = 3 ] && exit 0; sleep 0.1; done; exit 1"

ctl desired "$W" 3
check "tasks stopped" sh -c "python3 '$H/agtctl.py' wait '$W' arn:t/pa STOPPED 30 && python3 '$H/agtctl.py' wait '$W' arn:t/pb STOPPED 30"
check "their netns removed" sh -c "for i in \$(seq 50); do [ ! -e '$nsa' ] && [ ! -e '$nsb' ] && exit 0; sleep 0.1; done; exit 1"
check "no NAT rule left for the host port" sh -c "! iptables-save -t nat | grep -q -- '--dport $hp '"
check "no mapping left in the agent's nftables map" sh -c "'$agent' port-mappings --bridge ap-pool0 >'$W/maps' && ! grep -q ':$hp:' '$W/maps'"
agt_stop_agent TERM || fail "the agent exits on SIGTERM"
start --netns-pool 0
for _ in $(seq 100); do [ "$(grep -c 'agent up' "$W/agent.log")" -ge 3 ] && break; sleep 0.1; done
check "pool 0 at start-up: every spare netns swept" sh -c "[ -z \"\$(ls -A '$W/netns' 2>/dev/null)\" ]"
check "no veth left on the bridge" sh -c "[ -z \"\$(ip -o link show master ap-pool0 2>/dev/null)\" ]"
[ $fails = 0 ] && echo "all netns pool checks passed"
[ $fails = 0 ]
