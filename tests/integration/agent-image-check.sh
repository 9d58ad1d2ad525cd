#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiff-agent's start of a task whose image is cached: the bundle is built
# from the cache while the registry check of the tag runs, so a tag that moved
# meanwhile must still give the new image, and a registry that cannot be
# asked must still fail the task (CannotPullContainerError) with nothing left
# mounted. Also: with --spare-workers 1 a spare worker (exec'd ahead of time)
# is there while the agent is idle and dies with it; with 0 (the default)
# there is none. Runs in a private network + mount namespace.
set -u
. "$(dirname "$0")/agent-helpers/env.sh"
agt_setup imgchk "" "$@"
agt_start_agent "$agent" --bridge agtlat-br0 --subnet 10.231.77.0/24 --port-range 40500-40509 \
    --spare-workers 1

IMG=127.0.0.1:5000/busybox:latest
mk() { # ID
    cat >"$W/$1.json" <<JSON
{"taskArn": "arn:t/$1", "taskId": "$1", "desiredStatus": "RUNNING", "version": 1,
 "taskDefinition": {"family": "i", "revision": 1, "networkMode": "none",
  "containerDefinitions": [{"name": "c", "image": "$IMG", "user": "0", "stopTimeout": 1,
   "command": ["if [ -f /data/hello.txt ]; then echo image-moved; else echo image-first; fi; exec /bin/busybox sleep 1000"]}]}}
JSON
}
logged() { # ID TEXT
    for _ in $(seq 50); do grep -q "$2" "$S/tasks/$1/c/c/container.log" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
spare() { # the agent's idle worker children
    for _ in $(seq 50); do
        p=$(pgrep -P "$agent_pid" -f skiff-agent-worker | head -1)
        [ -n "$p" ] && echo "$p" && return 0
        sleep 0.1
    done
    return 1
}

mk i1
ctl desired "$W" 2 "$W/i1.json"
check "first task RUNNING (image pulled)" ctl wait "$W" arn:t/i1 RUNNING 60
check "first task runs the first image" logged i1 image-first

# The tag moves to another image (busybox + a data layer).
python3 "$top/tests/integration/images-helpers/mkoci.py" "$W/oci" plain >/dev/null &&
    skopeo copy -q --dest-tls-verify=false "oci:$W/oci/plain:latest" "docker://$IMG" ||
    fail "could not move the tag"
mk i2
ctl desired "$W" 3 "$W/i1.json" "$W/i2.json"
check "task on the moved tag RUNNING" ctl wait "$W" arn:t/i2 RUNNING 60
check "it runs the new image, not the cached one" logged i2 image-moved
check "the first task's container is untouched" sh -c "! grep -q image-moved '$S/tasks/i1/c/c/container.log'"

sp=$(spare)
check "a spare worker waits while the agent is idle" test -n "$sp"

# The registry goes away: a cached image cannot start without its check.
kill "${agt_pids[0]}" 2>/dev/null
wait "${agt_pids[0]}" 2>/dev/null
mk i3
ctl desired "$W" 4 "$W/i1.json" "$W/i2.json" "$W/i3.json"
rep=$(ctl wait "$W" arn:t/i3 STOPPED 60)
check "without the registry: task STOPPED" test -n "$rep"
check "stoppedReason says CannotPullContainerError" sh -c "echo '$rep' | grep -q CannotPullContainerError"
check "nothing left mounted for it" sh -c "! grep -q '/tasks/i3/' /proc/self/mountinfo"

agt_stop_agent KILL || fail "the agent exits on SIGKILL"
check "the spare worker died with the agent" sh -c "for i in \$(seq 50); do kill -0 '$sp' 2>/dev/null || exit 0; sleep 0.1; done; exit 1"

# The default (--spare-workers 0): the restarted agent keeps no worker while idle.
agt_start_agent "$agent" --bridge agtlat-br0 --subnet 10.231.77.0/24 --port-range 40500-40509
sleep 1.5
check "--spare-workers 0: no idle worker" sh -c "! pgrep -P '$agent_pid' -f skiff-agent-worker"
check "--spare-workers 0: the agent still runs" kill -0 "$agent_pid"
agt_stop_agent KILL || fail "the agent exits on SIGKILL"

check "no sanitizer report from the agent or its workers" sh -c "! grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$W/agent.log'"

[ "$fails" = 0 ] && echo "all image check agent checks passed"
[ "$fails" = 0 ]
