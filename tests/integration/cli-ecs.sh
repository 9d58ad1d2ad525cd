#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiff's ECS commands against a real skiffd (simulated agents), the same
# workflow through the aws CLI, and the results compared; error messages.
. "$(dirname "$0")/skiffd-api/lib.sh"
set -e
SKIFF=${SKIFF:-$ROOT/${OUT:-build}/bin/skiff}
[ -x "$SKIFF" ] || { echo "no $SKIFF"; exit 1; }
start_skiffd 8151
export SKIFF_ENDPOINT=$ENDPOINT
sk() { "$SKIFF" "$@" --output json; }

# Same requests, same answers (minus what must differ: names, ids, times).
[ "$(sk create-cluster | jqr .cluster.clusterArn)" = "$(ecs create-cluster | jqr .cluster.clusterArn)" ] ||
    fail "create-cluster"
[ "$(sk list-clusters)" = "$(ecs list-clusters)" ] || fail "list-clusters differ"
start_agent cli-host1
start_agent cli-host2
wait_for 10 test "$(ecs list-container-instances | jqr '.containerInstanceArns | length')" = 2 ||
    fail "agents did not register"

cat >"$TMP/td.json" <<'JSON'
{"family": "cli-web", "networkMode": "bridge",
 "containerDefinitions": [{"name": "web", "image": "127.0.0.1:5000/skiff-demo:latest",
   "memory": 64, "essential": true,
   "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}]}]}
JSON
a=$(sk register-task-definition --cli-input-json "file://$TMP/td.json")
b=$(ecs register-task-definition --cli-input-json "file://$TMP/td.json")
norm_td='.taskDefinition | del(.revision, .taskDefinitionArn, .registeredAt)'
[ "$(jq -S "$norm_td" <<<"$a")" = "$(jq -S "$norm_td" <<<"$b")" ] || fail "register differs: $a / $b"
[ "$(jqr .taskDefinition.revision <<<"$b")" = 2 ] || fail "revision"
[ "$(sk list-task-definitions)" = "$(ecs list-task-definitions)" ] || fail "list-task-definitions"
[ "$(sk describe-task-definition --task-definition cli-web:1 | jq -S "$norm_td")" = \
    "$(ecs describe-task-definition --task-definition cli-web:2 | jq -S "$norm_td")" ] ||
    fail "describe-task-definition"

# Services: one made by skiff, one by aws; both waited for by both tools.
sk create-service --service-name by-skiff --task-definition cli-web:1 --desired-count 3 >/dev/null
ecs create-service --service-name by-aws --task-definition cli-web:1 --desired-count 3 >/dev/null
"$SKIFF" wait services-stable --services by-skiff by-aws --timeout 60 --interval 1 ||
    fail "skiff wait services-stable"
ecs wait services-stable --services by-skiff by-aws || fail "aws wait services-stable"
norm_svc='[.services[] | {desiredCount, runningCount, pendingCount, status, taskDefinition, launchType,
  deployments: [.deployments[] | {status, desiredCount, runningCount, rolloutState}]}]'
[ "$(sk describe-services --services by-skiff by-aws | jq -c "$norm_svc")" = \
    "$(ecs describe-services --services by-skiff by-aws | jq -c "$norm_svc")" ] ||
    fail "describe-services differ"
x=$(sk describe-services --services by-skiff | jq -c "$norm_svc | .[0]")
y=$(sk describe-services --services by-aws | jq -c "$norm_svc | .[0]")
[ "$x" = "$y" ] || fail "service made by skiff differs from the one made by aws: $x / $y"
[ "$(sk list-tasks | jq -S .)" = "$(ecs list-tasks | jq -S .)" ] || fail "list-tasks"
[ "$(sk list-tasks --service-name by-skiff | jqr '.taskArns | length')" = 3 ] || fail "service tasks"
# --output text: the lists become rows of the described tasks/instances.
t=$("$SKIFF" list-tasks --service-name by-skiff --output text)
[ "$(grep -c "service:by-skiff" <<<"$t")" = 3 ] || fail "list-tasks rows: $t"
t=$("$SKIFF" list-container-instances --output text)
[ "$(grep -c ACTIVE <<<"$t")" = 2 ] || fail "list-container-instances rows: $t"

# Scale down with skiff, with aws; force a new deployment with both.
sk update-service --service by-skiff --desired-count 1 >/dev/null
ecs update-service --service by-aws --desired-count 1 >/dev/null
"$SKIFF" wait services-stable --services by-skiff by-aws --timeout 60 --interval 1 || fail "scale down"
[ "$(sk list-tasks --service-name by-skiff | jqr '.taskArns | length')" = 1 ] || fail "scaled"
old=$(sk list-tasks --service-name by-skiff | jqr '.taskArns[0]')
out=$(sk update-service --service by-skiff --force-new-deployment)
[ "$(jqr '.service.deployments | length' <<<"$out")" -ge 1 ] || fail "force-new-deployment: $out"
"$SKIFF" wait services-stable --services by-skiff --timeout 60 --interval 1 || fail "redeploy"
new=$(sk list-tasks --service-name by-skiff | jqr '.taskArns[0]')
[ "$old" != "$new" ] || fail "force-new-deployment kept task $old"
sk update-service --service by-skiff --task-definition cli-web:2 >/dev/null
"$SKIFF" wait services-stable --services by-skiff --timeout 60 --interval 1 || fail "roll out rev 2"
[ "$(sk describe-services --services by-skiff | jqr '.services[0].taskDefinition')" = \
    "arn:aws:ecs:us-east-1:000000000000:task-definition/cli-web:2" ] || fail "rolled out"
[ "$(sk describe-services --services by-skiff | jqr '.services[0].events | length')" -gt 0 ] ||
    fail "events"

# One-off tasks.
t=$(sk run-task --task-definition cli-web --count 2 | jqr '.tasks[0].taskArn')
[ "$(sk describe-tasks --tasks "$t" | jqr '.tasks[0].taskArn')" = "$t" ] || fail "describe-tasks"
[ "$(sk describe-tasks --tasks "$t" | jq -S '.tasks[0] | {taskArn, group, taskDefinitionArn}')" = \
    "$(ecs describe-tasks --tasks "$t" | jq -S '.tasks[0] | {taskArn, group, taskDefinitionArn}')" ] ||
    fail "describe-tasks differ"
[ "$(sk stop-task --task "$t" --reason "cli test" | jqr .task.desiredStatus)" = STOPPED ] || fail "stop"
[ "$(ecs describe-tasks --tasks "$t" | jqr '.tasks[0].stoppedReason')" = "cli test" ] || fail "reason"

# Container instances and draining.
[ "$(sk list-container-instances | jq -S .)" = "$(ecs list-container-instances | jq -S .)" ] ||
    fail "list-container-instances"
ci=$(sk list-container-instances | jqr '.containerInstanceArns[0]')
[ "$(sk drain --container-instances "$ci" | jqr '.containerInstances[0].status')" = DRAINING ] ||
    fail "drain"
[ "$(ecs describe-container-instances --container-instances "$ci" | jqr '.containerInstances[0].status')" = \
    DRAINING ] || fail "drained per aws"
[ "$(sk list-container-instances --status DRAINING | jqr '.containerInstanceArns | length')" = 1 ] ||
    fail "list draining"
sk drain --container-instances "$ci" --status ACTIVE >/dev/null

# Tables for people.
tab=$("$SKIFF" describe-services --services by-skiff --output table)
grep -q '^SERVICE  *STATUS  *DESIRED  *RUNNING' <<<"$tab" || fail "table header: $tab"
grep -q '^by-skiff  *ACTIVE  *1  *1 ' <<<"$tab" || fail "table row: $tab"
grep -q 'deployments of by-skiff' <<<"$tab" || fail "deployments table: $tab"
grep -q 'recent events of by-skiff' <<<"$tab" || fail "events table: $tab"
"$SKIFF" list-container-instances --output table | grep -q 'cli-host1' || fail "instance table"
[ "$("$SKIFF" list-clusters --output text | cut -f1,2)" = "$(printf 'default\tACTIVE')" ] || fail "text"

# Errors: the ECS code and message, and what to do.
set +e
msg=$("$SKIFF" describe-services --cluster nope --services x 2>&1); rc=$?
[ $rc = 1 ] || fail "rc $rc"
grep -q 'ClusterNotFoundException' <<<"$msg" && grep -q 'hint: create it with' <<<"$msg" ||
    fail "cluster error: $msg"
msg=$("$SKIFF" describe-task-definition --task-definition nope 2>&1)
grep -q 'DescribeTaskDefinition failed: ClientException' <<<"$msg" || fail "td error: $msg"
msg=$(AWS_ACCESS_KEY_ID=AKIDNOPE AWS_SECRET_ACCESS_KEY=x "$SKIFF" list-clusters 2>&1)
grep -q 'UnrecognizedClientException' <<<"$msg" && grep -q "skiffd's STATE/credentials" <<<"$msg" ||
    fail "auth error: $msg"
msg=$("$SKIFF" list-clusters --endpoint http://127.0.0.1:8178 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'is skiffd running there' <<<"$msg" || fail "unreachable: $msg"
msg=$("$SKIFF" update-service --desired-count 2 2>&1); rc=$?
[ $rc = 2 ] && grep -q "missing required option '--service NAME'" <<<"$msg" || fail "usage: $msg"
msg=$("$SKIFF" register-task-definition --cli-input-json "file://$TMP/nope.json" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "nope.json" <<<"$msg" || fail "missing file: $msg"
msg=$("$SKIFF" logs --task "$new" 2>&1); rc=$?
[ $rc = 1 ] && grep -q 'serves no logs' <<<"$msg" || fail "logs (agent without a log endpoint): $msg"
# A service that cannot get stable: wait times out with 255 and says why.
echo '{"family":"cli-fail","containerDefinitions":[{"name":"a","image":"fail/x","memory":64}]}' >"$TMP/f.json"
sk register-task-definition --cli-input-json "file://$TMP/f.json" >/dev/null
sk create-service --service-name never --task-definition cli-fail --desired-count 1 >/dev/null
msg=$("$SKIFF" wait services-stable --services never --timeout 3 --interval 1 2>&1); rc=$?
[ $rc = 255 ] && grep -q 'not stable after 3s' <<<"$msg" || fail "wait timeout rc=$rc: $msg"
set -e

# Delete: skiff and aws agree on the result.
[ "$(sk delete-service --service by-skiff --force | jqr .service.status)" = \
    "$(ecs delete-service --service by-aws --force | jqr .service.status)" ] || fail "delete"
[ "$(sk deregister-task-definition --task-definition cli-web:1 | jqr .taskDefinition.status)" = INACTIVE ] ||
    fail "deregister"
# The cleanup trap waits for killed agents (status 143): not a failure.
set +e
echo "cli-ecs: ok"
