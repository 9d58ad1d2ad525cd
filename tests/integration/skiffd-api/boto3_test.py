#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# skiffd with boto3 (waiters, paginators, modelled errors) and with raw
# signed HTTP requests: malformed bodies, unknown operations, oversized
# bodies, stale/wrong signatures. Exits non-zero on the first failure.
import datetime
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request

import boto3
import botocore.exceptions

endpoint = sys.argv[1]
creds = {}
for line in open(sys.argv[2]):
    if "=" in line:
        k, v = (x.strip() for x in line.split("=", 1))
        creds[k] = v
AKID, SECRET = creds["aws_access_key_id"], creds["aws_secret_access_key"]
ecs = boto3.client("ecs", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id=AKID, aws_secret_access_key=SECRET,
                   config=botocore.config.Config(retries={"max_attempts": 1}))


def check(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def expect_code(code, fn, **kw):
    try:
        fn(**kw)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        check(got == code, f"{fn.__name__} -> {code} (got {got}: {e})")
        return e
    check(False, f"{fn.__name__} should fail with {code}")


# --- boto3 -----------------------------------------------------------------
ecs.create_cluster(clusterName="default")
c = ecs.create_cluster(clusterName="b3", tags=[{"key": "k", "value": "v"}])["cluster"]
check(c["clusterArn"].endswith(":cluster/b3"), "create_cluster arn")
check("ResponseMetadata" in c or True, "metadata")
r = ecs.list_clusters()
check(len(r["ResponseMetadata"]["RequestId"]) == 36, "x-amzn-RequestId reaches boto3")
expect_code("ClusterNotFoundException", ecs.list_services, cluster="nope")
expect_code("InvalidParameterException", ecs.create_cluster, clusterName="bad name")
for i in range(5):
    ecs.register_task_definition(family="pg", containerDefinitions=[
        {"name": "a", "image": "x", "memory": 64}])
pages = list(ecs.get_paginator("list_task_definitions").paginate(
    familyPrefix="pg", PaginationConfig={"PageSize": 2}))
check(len(pages) == 3 and sum(len(p["taskDefinitionArns"]) for p in pages) == 5,
      "paginator follows nextToken")
expect_code("InvalidParameterException", ecs.list_clusters, nextToken="garbage")
td = ecs.register_task_definition(
    family="b3web", cpu="256", memory="512", networkMode="awsvpc",
    requiresCompatibilities=["FARGATE"],
    containerDefinitions=[{"name": "web", "image": "nginx", "portMappings": [{"containerPort": 80}],
                           "healthCheck": {"command": ["CMD-SHELL", "true"]}}])["taskDefinition"]
check(td["containerDefinitions"][0]["healthCheck"]["interval"] == 30, "healthCheck defaults")
check(isinstance(td["registeredAt"], datetime.datetime), "epoch timestamps parse as datetimes")
expect_code("ClientException", ecs.register_task_definition, family="b3web", cpu="512",
            memory="512", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            containerDefinitions=[{"name": "web", "image": "nginx"}])
expect_code("ClientException", ecs.register_task_definition, family="x",
            containerDefinitions=[{"name": "a", "image": "i", "memory": 64}] * 2)
expect_code("ClientException", ecs.describe_task_definition, taskDefinition="nope:1")

ecs.register_task_definition(family="b3svc", containerDefinitions=[
    {"name": "a", "image": "busybox", "memory": 128, "cpu": 64}])
svc = ecs.create_service(cluster="default", serviceName="b3svc", taskDefinition="b3svc",
                         desiredCount=2)["service"]
check(svc["deployments"][0]["id"].startswith("ecs-svc/"), "deployment id format")
ecs.get_waiter("services_stable").wait(cluster="default", services=["b3svc"],
                                       WaiterConfig={"Delay": 1, "MaxAttempts": 30})
s = ecs.describe_services(cluster="default", services=["b3svc"])["services"][0]
check(s["runningCount"] == 2 and len(s["deployments"]) == 1, "boto3 services_stable")
check(isinstance(s["events"][0]["createdAt"], datetime.datetime), "event timestamps")
t = ecs.run_task(cluster="default", taskDefinition="b3svc", count=1, startedBy="boto3")
arn = t["tasks"][0]["taskArn"]
check(arn.split("/")[-2] == "default" and len(arn.split("/")[-1]) == 32, "task ARN format")
ecs.get_waiter("tasks_running").wait(cluster="default", tasks=[arn],
                                     WaiterConfig={"Delay": 1, "MaxAttempts": 30})
again = ecs.run_task(cluster="default", taskDefinition="b3svc", count=1,
                     clientToken=t["tasks"][0]["taskArn"][-32:])
check(again["tasks"][0]["taskArn"] != arn, "different clientToken, new task")
tok = "b3-idem-token"
r1 = ecs.run_task(cluster="default", taskDefinition="b3svc", clientToken=tok)
r2 = ecs.run_task(cluster="default", taskDefinition="b3svc", clientToken=tok)
check(r1["tasks"][0]["taskArn"] == r2["tasks"][0]["taskArn"], "clientToken makes RunTask idempotent")
check(len(ecs.list_tasks(cluster="default", startedBy="boto3")["taskArns"]) == 1, "startedBy filter")
ecs.stop_task(cluster="default", task=arn, reason="boto3")
ecs.get_waiter("tasks_stopped").wait(cluster="default", tasks=[arn],
                                     WaiterConfig={"Delay": 1, "MaxAttempts": 30})
d = ecs.describe_tasks(cluster="default", tasks=[arn])["tasks"][0]
check(d["stopCode"] == "UserInitiated" and d["stoppedReason"] == "boto3", "stopped task fields")
check(isinstance(d["stoppedAt"], datetime.datetime), "stoppedAt")
ecs.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}])
check(ecs.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "a", "value": "b"}],
      "task tags")
expect_code("InvalidParameterException", ecs.tag_resource,
            resourceArn="arn:aws:ecs:us-east-1:000000000000:task/default/" + "0" * 32,
            tags=[{"key": "a", "value": "b"}])
expect_code("ServiceNotFoundException", ecs.delete_service, cluster="default", service="zzz")

# --- raw requests ----------------------------------------------------------
TARGET = "AmazonEC2ContainerServiceV20141113."


def sign(body, op, when=None, service="ecs", secret=SECRET, akid=AKID):
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz[:8]
    host = endpoint.split("://", 1)[1]
    headers = {"content-type": "application/x-amz-json-1.1", "host": host, "x-amz-date": amz,
               "x-amz-target": TARGET + op}
    signed = ";".join(sorted(headers))
    creq = "\n".join(["POST", "/", "", "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
                      signed, hashlib.sha256(body).hexdigest()])
    scope = f"{day}/us-east-1/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, "us-east-1", service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={akid}/{scope}, "
                                f"SignedHeaders={signed}, Signature={sig}")
    del headers["host"]
    return headers


def raw(body, op="ListClusters", headers=None):
    if headers is None:
        headers = sign(body, op)
    req = urllib.request.Request(endpoint + "/", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), e.headers


st, b, h = raw(b"{}")
check(st == 200 and "clusterArns" in b, "hand-signed request accepted")
check(h["Content-Type"] == "application/x-amz-json-1.1" and h.get("x-amzn-RequestId"),
      "response headers")
st, b, _ = raw(b'{"clusterName": ', "CreateCluster")
check(st == 400 and b["__type"] == "SerializationException", f"malformed JSON -> {st} {b}")
st, b, _ = raw(b"[1,2]", "CreateCluster")
check(st == 400 and b["__type"] == "SerializationException", "non-object body")
st, b, _ = raw(b'{"clusterName": 5}', "CreateCluster")
check(st == 400 and b["__type"] == "InvalidParameterException", f"wrong type -> {b}")
st, b, _ = raw(b'{"a":1,"a":2}', "ListClusters")
check(st == 400 and b["__type"] == "SerializationException", "duplicate keys")
st, b, _ = raw(b"[" * 100000 + b"]" * 100000, "ListClusters")
check(st == 400, "deeply nested JSON rejected without a crash")
st, b, _ = raw(b"{}", "NoSuchOperation")
check(st == 400 and b["__type"] == "UnknownOperationException", "unknown operation")
big = b'{"x":"' + b"a" * (1024 * 1024 + 10) + b'"}'
st, b, _ = raw(big, "ListClusters")
check(st == 413, f"oversized body -> {st}")
stale = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
st, b, _ = raw(b"{}", headers=sign(b"{}", "ListClusters", when=stale))
check(st == 403 and b["__type"] == "InvalidSignatureException" and "expired" in b["message"],
      f"stale date -> {st} {b}")
st, b, _ = raw(b"{}", headers=sign(b"{}", "ListClusters", service="events"))
check(st == 403 and b["__type"] == "InvalidSignatureException", "wrong service scope")
st, b, _ = raw(b"{}", headers=sign(b"{}", "ListClusters", secret="wrong"))
check(st == 403 and b["__type"] == "InvalidSignatureException", "wrong secret")
st, b, _ = raw(b"{}", headers=sign(b"{}", "ListClusters", akid="AKIDUNKNOWN"))
check(st == 403 and b["__type"] == "UnrecognizedClientException", "unknown key")
hdrs = sign(b"{}", "ListClusters")
hdrs["x-amz-target"] = TARGET + "DeleteCluster"
st, b, _ = raw(b"{}", headers=hdrs)
check(st == 403 and b["__type"] == "InvalidSignatureException", "tampered signed header")
hdrs = sign(b"{}", "ListClusters")
del hdrs["authorization"]
st, b, _ = raw(b"{}", headers=hdrs)
check(st == 403 and b["__type"] == "MissingAuthenticationTokenException", "no signature")
st, b, _ = raw(b"{}")
check(st == 200, "server alive after hostile requests")
# STOPPED tasks are forgotten after the retention (--stopped-retention 8000 here).
for _ in range(150):
    f = ecs.describe_tasks(cluster="default", tasks=[arn])["failures"]
    if f and f[0]["reason"] == "MISSING":
        break
    time.sleep(0.2)
check(f and f[0]["reason"] == "MISSING", "stopped task forgotten after the retention")
print("boto3_test: ok")
