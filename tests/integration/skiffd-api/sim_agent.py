#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A simulated skiff agent speaking docs/agent-protocol.md: registers a host,
# long-polls its desired state and "runs" tasks instantly by reporting
# PENDING -> RUNNING, and STOPPED (exit code 0) for tasks it must not run.
# Images whose name contains "fail" exit 1 right after starting (never RUNNING).
# Containers with a healthCheck report healthStatus HEALTHY once RUNNING, or UNHEALTHY
# when their image name contains "unhealthy".
import json
import sys
import time
import urllib.error
import urllib.request


def post(endpoint, token, path, body, timeout=60):
    req = urllib.request.Request(
        endpoint + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def main():
    endpoint, token_file, cluster, host = sys.argv[1:5]
    cpu = int(sys.argv[5]) if len(sys.argv) > 5 else 4096
    mem = int(sys.argv[6]) if len(sys.argv) > 6 else 8192
    az = sys.argv[7] if len(sys.argv) > 7 else "zone-a"
    token = open(token_file).read().strip()
    running = {}  # task id -> task entry
    arn = None
    version = 0
    while True:
        try:
            if arn is None:
                st, reg = post(endpoint, token, "/agent/v1/register",
                               {"cluster": cluster, "hostname": host, "cpu": cpu, "memory": mem,
                                "attributes": {"ecs.availability-zone": az}})
                if st != 200:
                    print("register:", st, reg, flush=True)
                    time.sleep(0.5)
                    continue
                arn = reg["containerInstanceArn"]
                version = 0
                print("registered", arn, flush=True)
            st, state = post(endpoint, token, "/agent/v1/poll",
                             {"containerInstanceArn": arn, "version": version})
            if st == 404:
                arn = None
                continue
            if st != 200:
                time.sleep(0.5)
                continue
            version = state["version"]
            reports = []
            wanted = set()
            for t in state["tasks"]:
                tid = t["taskId"]
                containers = [c["name"] for c in t.get("containers", [])]
                if t["desiredStatus"] == "RUNNING":
                    wanted.add(tid)
                    if tid in running:
                        continue
                    images = [c.get("image", "") for c in t.get("containers", [])]
                    if any("fail" in i for i in images):
                        reports.append({"taskArn": t["taskArn"], "lastStatus": "STOPPED",
                                        "stoppedReason": "CannotStartContainerError: simulated",
                                        "containers": [{"name": n, "lastStatus": "STOPPED",
                                                        "exitCode": 1, "reason": "simulated"}
                                                       for n in containers]})
                        continue
                    running[tid] = t
                    checked = {cd.get("name") for cd in
                               (t.get("taskDefinition") or {}).get("containerDefinitions", [])
                               if cd.get("healthCheck")}
                    cs = []
                    for c in t.get("containers", []):
                        rc = {"name": c["name"], "lastStatus": "RUNNING",
                              "runtimeId": tid[:12] + c["name"]}
                        if c["name"] in checked:
                            rc["healthStatus"] = ("UNHEALTHY" if "unhealthy" in c.get("image", "")
                                                  else "HEALTHY")
                        cs.append(rc)
                    reports.append({"taskArn": t["taskArn"], "lastStatus": "PENDING"})
                    reports.append({"taskArn": t["taskArn"], "lastStatus": "RUNNING",
                                    "containers": cs})
            # The desired state is complete: anything else must stop.
            for tid in list(running):
                if tid not in wanted:
                    t = running.pop(tid)
                    reports.append({"taskArn": t["taskArn"], "lastStatus": "STOPPED",
                                    "containers": [{"name": c["name"], "lastStatus": "STOPPED",
                                                    "exitCode": 0}
                                                   for c in t.get("containers", [])]})
            if reports:
                post(endpoint, token, "/agent/v1/report",
                     {"containerInstanceArn": arn, "tasks": reports})
                # Repeat the same report: the protocol must make this harmless.
                post(endpoint, token, "/agent/v1/report",
                     {"containerInstanceArn": arn, "tasks": reports})
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
            print("error:", e, flush=True)
            time.sleep(0.5)


if __name__ == "__main__":
    main()
