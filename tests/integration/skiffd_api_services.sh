#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiffd services with simulated agents and the real aws CLI: container
# instances, services reaching RUNNING (aws ecs wait services-stable), scaling,
# rolling deployment, circuit breaker rollback, RunTask/StopTask, placement
# failures, draining, agent loss and return, tags, delete, kill -9 restart,
# task-level health from container health checks (UNHEALTHY tasks replaced).
. "$(dirname "$0")/skiffd-api/lib.sh"
set -e
start_skiffd 8104 --heartbeat-grace 2000 --task-grace 1000 --poll-timeout 500 --tick 300
ecs create-cluster >/dev/null
start_agent host-a 1024 2048 zone-a
AGENT_A=$LAST_AGENT
start_agent host-b 1024 2048 zone-b
start_agent host-c 1024 2048 zone-c

n_instances() { [ "$(ecs list-container-instances | jqr '.containerInstanceArns | length')" = "$1" ]; }
wait_for 10 n_instances 3 || fail "3 instances did not register"
out=$(ecs describe-container-instances --container-instances $(ecs list-container-instances | jqr '.containerInstanceArns[]'))
[ "$(jqr '[.containerInstances[].agentConnected] | all' <<<"$out")" = true ] || fail "agents: $out"
[ "$(jqr '.containerInstances[0].registeredResources[] | select(.name=="MEMORY") | .integerValue' <<<"$out")" = 2048 ] ||
    fail "registered memory"
n=$(ecs list-container-instances --filter 'attribute:ecs.availability-zone == zone-a' | jqr '.containerInstanceArns | length')
[ "$n" = 1 ] || fail "query filter gave $n"

ecs register-task-definition --family web --container-definitions \
    '[{"name":"web","image":"nginx:1","cpu":128,"memory":256,"portMappings":[{"containerPort":80}]}]' >/dev/null
ecs create-service --service-name web --task-definition web --desired-count 3 \
    --deployment-configuration 'maximumPercent=200,minimumHealthyPercent=50,deploymentCircuitBreaker={enable=true,rollback=true}' \
    --placement-strategy type=spread,field=attribute:ecs.availability-zone type=binpack,field=memory >/dev/null
expect_error InvalidParameterException ecs create-service --service-name web --task-definition web --desired-count 1

svc() { ecs describe-services --services web | jq -c '.services[0]'; }
stable() {
    local s
    s=$(svc)
    [ "$(jqr '.runningCount' <<<"$s")" = "$1" ] && [ "$(jqr '.deployments | length' <<<"$s")" = 1 ] &&
        [ "$(jqr '.desiredCount' <<<"$s")" = "$1" ]
}
wait_for 20 stable 3 || fail "web not running 3: $(svc)"
ecs wait services-stable --services web || fail "services-stable"
s=$(svc)
[ "$(jqr '.deployments[0].rolloutState' <<<"$s")" = COMPLETED ] || fail "rollout $s"
jqr '.events[].message' <<<"$s" | grep -q 'has reached a steady state' || fail "steady event: $s"
jqr '.events[].message' <<<"$s" | grep -q 'has started 3 tasks' || fail "started event: $s"
tasks=$(ecs list-tasks --service-name web | jqr '.taskArns[]')
[ "$(wc -w <<<"$tasks")" = 3 ] || fail "list-tasks: $tasks"
out=$(ecs describe-tasks --tasks $tasks)
[ "$(jqr '[.tasks[].lastStatus] | unique | join(",")' <<<"$out")" = RUNNING ] || fail "tasks: $out"
[ "$(jqr '[.tasks[].containerInstanceArn] | unique | length' <<<"$out")" = 3 ] || fail "not spread: $out"
[ "$(jqr '.tasks[0].group' <<<"$out")" = service:web ] || fail "group"
[ "$(jqr '.tasks[0].containers[0].lastStatus' <<<"$out")" = RUNNING ] || fail "container status"
ecs wait tasks-running --tasks $tasks || fail "tasks-running"

# Scale up, then roll out a new revision.
ecs update-service --service web --desired-count 5 >/dev/null
wait_for 20 stable 5 || fail "not 5: $(svc)"
ecs register-task-definition --family web --container-definitions \
    '[{"name":"web","image":"nginx:2","cpu":128,"memory":256}]' >/dev/null
ecs update-service --service web --task-definition web:2 >/dev/null
rolled() { stable 5 && [ "$(svc | jqr '.deployments[0].taskDefinition')" = \
    arn:aws:ecs:us-east-1:000000000000:task-definition/web:2 ]; }
wait_for 30 rolled || fail "rollout to web:2: $(svc)"
out=$(ecs describe-tasks --tasks $(ecs list-tasks --service-name web | jqr '.taskArns[]'))
[ "$(jqr '[.tasks[].taskDefinitionArn] | unique | length' <<<"$out")" = 1 ] || fail "mixed revisions"
old=$(ecs list-tasks --service-name web --desired-status STOPPED | jqr '.taskArns | length')
[ "$old" -ge 5 ] || fail "old tasks not stopped: $old"
out=$(ecs describe-tasks --tasks $(ecs list-tasks --service-name web --desired-status STOPPED | jqr '.taskArns[0]'))
[ "$(jqr '.tasks[0].stopCode' <<<"$out")" = ServiceSchedulerInitiated ] || fail "stopCode: $out"
jqr '.tasks[0].stoppedReason' <<<"$out" | grep -q 'Scaling activity initiated by (deployment ecs-svc/' ||
    fail "stoppedReason: $out"

# Circuit breaker: a revision whose containers never start rolls back to web:2.
ecs register-task-definition --family web --container-definitions \
    '[{"name":"web","image":"fail-image:1","cpu":128,"memory":256}]' >/dev/null
ecs update-service --service web --task-definition web:3 >/dev/null
rolled_back() { rolled && svc | jqr '.events[].message' | grep -q 'deployment failed'; }
wait_for 40 rolled_back || fail "no rollback: $(svc)"
ecs wait services-stable --services web || fail "services-stable after rollback"

# RunTask with a memberOf constraint, StopTask, placement failures.
out=$(ecs run-task --task-definition web:2 --count 2 \
    --placement-constraints 'type=memberOf,expression=attribute:ecs.availability-zone == zone-b')
[ "$(jqr '.tasks | length' <<<"$out")" = 2 ] || fail "run-task: $out"
inst_b=$(ecs list-container-instances --filter 'attribute:ecs.availability-zone == zone-b' | jqr '.containerInstanceArns[0]')
[ "$(jqr '[.tasks[].containerInstanceArn] | unique | join(",")' <<<"$out")" = "$inst_b" ] ||
    fail "memberOf ignored: $out"
t1=$(jqr '.tasks[0].taskArn' <<<"$out")
[ "$(jqr '.tasks[0].group' <<<"$out")" = family:web ] || fail "run-task group"
ecs wait tasks-running --tasks "$t1" || fail "run-task not running"
[ "$(ecs stop-task --task "$t1" --reason 'test stop' | jqr .task.desiredStatus)" = STOPPED ] || fail "stop"
stopped() { [ "$(ecs describe-tasks --tasks "$t1" | jqr '.tasks[0].lastStatus')" = STOPPED ]; }
wait_for 10 stopped || fail "task not stopped"
out=$(ecs describe-tasks --tasks "$t1")
[ "$(jqr '.tasks[0].stopCode' <<<"$out")" = UserInitiated ] || fail "stop code $out"
[ "$(jqr '.tasks[0].stoppedReason' <<<"$out")" = "test stop" ] || fail "stop reason $out"
[ "$(jqr '.tasks[0].containers[0].exitCode' <<<"$out")" = 0 ] || fail "exit code $out"
ecs wait tasks-stopped --tasks "$t1" || fail "tasks-stopped"
ecs register-task-definition --family big --container-definitions '[{"name":"b","image":"x","memory":4096}]' >/dev/null
out=$(ecs run-task --task-definition big)
[ "$(jqr '.failures[0].reason' <<<"$out")" = RESOURCE:MEMORY ] || fail "failures: $out"
out=$(ecs describe-tasks --tasks nope)
[ "$(jqr '.failures[0].reason' <<<"$out")" = MISSING ] || fail "missing task"
expect_error ClusterNotFoundException ecs list-tasks --cluster nope

# Agent loss: host-a stops answering; its tasks are replaced elsewhere; when
# it returns, the surplus is stopped (it no longer gets them in its desired state).
inst_a=$(ecs list-container-instances --filter 'attribute:ecs.availability-zone == zone-a' | jqr '.containerInstanceArns[0]')
on_a() { ecs list-tasks --container-instance "$inst_a" | jqr '.taskArns | length'; }
kill -STOP "$AGENT_A"
disconnected() { [ "$(ecs describe-container-instances --container-instances "$inst_a" | jqr '.containerInstances[0].agentConnected')" = false ]; }
wait_for 10 disconnected || { kill -CONT "$AGENT_A"; fail "not disconnected"; }
a_empty() { [ "$(on_a)" = 0 ]; }
wait_for 10 a_empty || { kill -CONT "$AGENT_A"; fail "tasks on lost host not replaced"; }
wait_for 20 stable 5 || { kill -CONT "$AGENT_A"; fail "not replaced: $(svc)"; }
kill -CONT "$AGENT_A"
connected() { ! disconnected; }
wait_for 10 connected || fail "host-a did not come back"
sleep 1
wait_for 10 stable 5 || fail "after return: $(svc)"
live=$(ecs list-tasks --service-name web | jqr '.taskArns | length')
[ "$live" = 5 ] || fail "duplicates after return: $live"

# Draining moves service tasks away.
inst_c=$(ecs list-container-instances --filter 'attribute:ecs.availability-zone == zone-c' | jqr '.containerInstanceArns[0]')
out=$(ecs update-container-instances-state --container-instances "$inst_c" --status DRAINING)
[ "$(jqr '.containerInstances[0].status' <<<"$out")" = DRAINING ] || fail "draining: $out"
c_empty() { [ "$(ecs list-tasks --container-instance "$inst_c" | jqr '.taskArns | length')" = 0 ]; }
wait_for 20 c_empty || fail "draining did not move tasks"
wait_for 20 stable 5 || fail "after drain: $(svc)"
[ "$(ecs list-container-instances --status DRAINING | jqr '.containerInstanceArns | length')" = 1 ] || fail "status filter"
ecs update-container-instances-state --container-instances "$inst_c" --status ACTIVE >/dev/null

# Tags on a service.
sarn=$(svc | jqr .serviceArn)
ecs tag-resource --resource-arn "$sarn" --tags key=env,value=test key=team,value=x
[ "$(ecs list-tags-for-resource --resource-arn "$sarn" | jqr '.tags | length')" = 2 ] || fail "tags"
ecs untag-resource --resource-arn "$sarn" --tag-keys team
[ "$(ecs list-tags-for-resource --resource-arn "$sarn" | jqr '.tags[0].key')" = env ] || fail "untag"
[ "$(ecs describe-services --services web --include TAGS | jqr '.services[0].tags | length')" = 1 ] || fail "include TAGS"

# kill -9 and restart: nothing lost, nothing duplicated, scheduling resumes.
kill9_skiffd
start_skiffd 8104 --heartbeat-grace 2000 --task-grace 1000 --poll-timeout 500 --tick 300
wait_for 20 stable 5 || fail "after restart: $(svc)"
sleep 2
[ "$(ecs list-tasks --service-name web | jqr '.taskArns | length')" = 5 ] || fail "tasks after restart"
ecs update-service --service web --desired-count 2 >/dev/null
wait_for 20 stable 2 || fail "scale in after restart: $(svc)"

# Task-level health derives from the essential containers' health checks: a task whose
# essential container is UNHEALTHY is UNHEALTHY and replaced; a non-essential one does not count.
ecs register-task-definition --family hc --container-definitions \
    '[{"name":"app","image":"nginx:1","cpu":64,"memory":64,"healthCheck":{"command":["CMD","true"]}},
      {"name":"side","image":"unhealthy:1","cpu":64,"memory":64,"essential":false,"healthCheck":{"command":["CMD","true"]}}]' >/dev/null
t_hc=$(ecs run-task --task-definition hc | jqr '.tasks[0].taskArn')
hc_healthy() { [ "$(ecs describe-tasks --tasks "$t_hc" | jqr '.tasks[0].healthStatus')" = HEALTHY ]; }
wait_for 10 hc_healthy || fail "healthy task: $(ecs describe-tasks --tasks "$t_hc")"
out=$(ecs describe-tasks --tasks "$t_hc")
[ "$(jqr '.tasks[0].containers[] | select(.name=="side") | .healthStatus' <<<"$out")" = UNHEALTHY ] ||
    fail "side container health: $out"
ecs stop-task --task "$t_hc" >/dev/null
[ "$(ecs describe-tasks --tasks $(ecs list-tasks --service-name web | jqr '.taskArns[0]') | jqr '.tasks[0].healthStatus')" = UNKNOWN ] ||
    fail "task without health checks is not UNKNOWN"
ecs register-task-definition --family sick --container-definitions \
    '[{"name":"app","image":"unhealthy:1","cpu":64,"memory":64,"healthCheck":{"command":["CMD","true"]}}]' >/dev/null
ecs create-service --service-name sick --task-definition sick --desired-count 1 >/dev/null
sick_stopped() { ecs list-tasks --service-name sick --desired-status STOPPED | jqr '.taskArns[0] // empty'; }
replaced() { [ -n "$(sick_stopped)" ]; }
wait_for 20 replaced || fail "unhealthy task not replaced: $(ecs describe-services --services sick)"
out=$(ecs describe-tasks --tasks "$(sick_stopped)")
[ "$(jqr '.tasks[0].healthStatus' <<<"$out")" = UNHEALTHY ] || fail "task health: $out"
[ "$(jqr '.tasks[0].stoppedReason' <<<"$out")" = "Task failed container health checks" ] ||
    fail "unhealthy stop reason: $out"
[ "$(jqr '.tasks[0].stopCode' <<<"$out")" = ServiceSchedulerInitiated ] || fail "unhealthy stop code: $out"
ecs delete-service --service sick --force >/dev/null
ecs wait services-inactive --services sick || fail "sick services-inactive"

# Delete: refused while scaled up, then DRAINING -> INACTIVE.
expect_error InvalidParameterException ecs delete-service --service web
expect_error ClusterContainsServicesException ecs delete-cluster --cluster default
[ "$(ecs delete-service --service web --force | jqr .service.status)" = DRAINING ] || fail "delete"
ecs wait services-inactive --services web || fail "services-inactive"
expect_error ServiceNotFoundException ecs update-service --service nope --desired-count 1
echo "skiffd_api_services: ok"
