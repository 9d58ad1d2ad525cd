#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# skiffd with the real aws CLI: clusters, task definitions (ECS validation),
# errors, pagination, auth failures, malformed bodies, restart persistence.
. "$(dirname "$0")/skiffd-api/lib.sh"
set -e
start_skiffd 8101

# Clusters
[ "$(ecs list-clusters | jqr '.clusterArns | length')" = 0 ] || fail "fresh list not empty"
ecs create-cluster >/dev/null
ecs create-cluster --cluster-name prod --tags key=team,value=a >/dev/null
arn=$(ecs create-cluster --cluster-name prod | jqr .cluster.clusterArn)
[ "$arn" = "arn:aws:ecs:us-east-1:000000000000:cluster/prod" ] || fail "cluster arn $arn"
out=$(ecs describe-clusters --clusters prod nope --include TAGS)
[ "$(jqr '.clusters[0].tags[0].value' <<<"$out")" = a ] || fail "tags $out"
[ "$(jqr '.failures[0].reason' <<<"$out")" = MISSING ] || fail "failures $out"
[ "$(jqr '.clusters[0].status' <<<"$(ecs describe-clusters)")" = ACTIVE ] || fail "default cluster"
for i in $(seq 1 5); do ecs create-cluster --cluster-name "c$i" >/dev/null; done
# --page-size makes the CLI follow nextToken over several pages.
[ "$(ecs list-clusters --page-size 2 | jqr '.clusterArns | length')" = 7 ] || fail "pagination"
ecs update-cluster --cluster c1 --settings name=containerInsights,value=enabled >/dev/null
[ "$(ecs describe-clusters --clusters c1 | jqr '.clusters[0].settings[0].value')" = enabled ] ||
    fail "update-cluster"
[ "$(ecs delete-cluster --cluster c5 | jqr .cluster.status)" = INACTIVE ] || fail "delete"
[ "$(ecs list-clusters | jqr '.clusterArns | length')" = 6 ] || fail "deleted still listed"
expect_error ClusterNotFoundException ecs delete-cluster --cluster c5
expect_error InvalidParameterException ecs create-cluster --cluster-name 'bad name!'

# Task definitions
td='[{"name":"web","image":"nginx:1.27","essential":true,"portMappings":[{"containerPort":80,"protocol":"tcp"}],"environment":[{"name":"A","value":"1"}]}]'
out=$(ecs register-task-definition --family web --cpu 256 --memory 512 --network-mode awsvpc \
    --requires-compatibilities FARGATE --container-definitions "$td" --tags key=k,value=v)
[ "$(jqr .taskDefinition.revision <<<"$out")" = 1 ] || fail "revision $out"
[ "$(jqr .taskDefinition.containerDefinitions[0].portMappings[0].hostPort <<<"$out")" = 80 ] ||
    fail "hostPort default"
[ "$(jqr '.taskDefinition.compatibilities | join(",")' <<<"$out")" = "EC2,FARGATE" ] || fail "compat"
out=$(ecs register-task-definition --family web --cpu "1 vCPU" --memory "2 GB" \
    --container-definitions '[{"name":"web","image":"nginx","memory":128}]')
[ "$(jqr .taskDefinition.revision <<<"$out")" = 2 ] || fail "revision 2"
[ "$(jqr .taskDefinition.cpu <<<"$out")" = 1024 ] || fail "cpu normalised"
[ "$(jqr .taskDefinition.memory <<<"$out")" = 2048 ] || fail "memory normalised"
[ "$(ecs describe-task-definition --task-definition web | jqr .taskDefinition.revision)" = 2 ] ||
    fail "latest revision"
[ "$(ecs describe-task-definition --task-definition web:1 --include TAGS | jqr .tags[0].key)" = k ] ||
    fail "td tags"
ecs describe-task-definition --task-definition arn:aws:ecs:us-east-1:000000000000:task-definition/web:1 >/dev/null
expect_error ClientException ecs register-task-definition --family web --cpu 256 --memory 4096 \
    --network-mode awsvpc --requires-compatibilities FARGATE --container-definitions "$td"
expect_error ClientException ecs register-task-definition --family web --requires-compatibilities FARGATE \
    --cpu 256 --memory 512 --container-definitions "$td"
expect_error ClientException ecs register-task-definition --family web \
    --container-definitions '[{"name":"a","image":"x"}]'
expect_error ClientException ecs register-task-definition --family web \
    --container-definitions '[{"name":"a","image":"x","memory":64,"essential":false}]'
expect_error ClientException ecs register-task-definition --family 'bad/fam' \
    --container-definitions '[{"name":"a","image":"x","memory":64}]'
expect_error ClientException ecs register-task-definition --family web --container-definitions \
    '[{"name":"a","image":"x","memory":64,"dependsOn":[{"containerName":"b","condition":"HEALTHY"}]},{"name":"b","image":"y","memory":64}]'
expect_error ClientException ecs register-task-definition --family web --container-definitions \
    '[{"name":"a","image":"x","memory":64,"memoryReservation":128}]'
expect_error ClientException ecs register-task-definition --family web --container-definitions \
    '[{"name":"a","image":"x","memory":64,"healthCheck":{"command":["CMD","true"],"interval":1}}]'
ecs register-task-definition --family api --container-definitions '[{"name":"a","image":"x","memory":64}]' >/dev/null
[ "$(ecs list-task-definitions | jqr '.taskDefinitionArns | length')" = 3 ] || fail "list tds"
[ "$(ecs list-task-definitions --family-prefix web --sort DESC | jqr '.taskDefinitionArns[0]')" = \
    "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2" ] || fail "list desc"
[ "$(ecs deregister-task-definition --task-definition api:1 | jqr .taskDefinition.status)" = INACTIVE ] ||
    fail "deregister"
[ "$(ecs list-task-definition-families | jqr '.families | join(",")')" = web ] || fail "families"
[ "$(ecs list-task-definition-families --status ALL | jqr '.families | join(",")')" = api,web ] ||
    fail "families all"
[ "$(ecs list-task-definitions --status INACTIVE | jqr '.taskDefinitionArns | length')" = 1 ] ||
    fail "inactive list"
out=$(ecs register-task-definition --family api --container-definitions '[{"name":"a","image":"x","memory":64}]')
[ "$(jqr .taskDefinition.revision <<<"$out")" = 2 ] || fail "revision not reused"

# Authentication failures
AWS_ACCESS_KEY_ID=AKIDNOPE AWS_SECRET_ACCESS_KEY=x expect_error UnrecognizedClientException ecs list-clusters
akid=$(sed -n 's/^aws_access_key_id = //p' "$TMP/state/credentials")
AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=wrongsecret expect_error InvalidSignatureException ecs list-clusters
code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X POST -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters' \
    -H 'Content-Type: application/x-amz-json-1.1' -d '{}' "$ENDPOINT/")
[ "$code" = 403 ] && grep -q MissingAuthenticationTokenException "$TMP/out" || fail "unsigned: $code"

# Restart keeps everything acknowledged (kill -9: nothing flushed at exit).
kill9_skiffd
start_skiffd 8101
[ "$(ecs list-clusters | jqr '.clusterArns | length')" = 6 ] || fail "clusters after restart"
[ "$(ecs describe-task-definition --task-definition web | jqr .taskDefinition.revision)" = 2 ] ||
    fail "tds after restart"
out=$(ecs register-task-definition --family web --container-definitions '[{"name":"a","image":"x","memory":64}]')
[ "$(jqr .taskDefinition.revision <<<"$out")" = 3 ] || fail "revision after restart"
echo "skiffd_api_cli: ok"
