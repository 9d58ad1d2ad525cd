#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# agtctl.py - helpers for tests/integration/agent.sh:
#   agtctl.py desired DIR VERSION TASKFILE...   write DIR/desired.json from task JSON files
#   agtctl.py desired-live DIR VERSION TASKFILE...  the same without tasks reported STOPPED
#   agtctl.py last DIR ARN                      print the latest report of ARN (JSON)
#   agtctl.py wait DIR ARN STATUS [SECS] [KEY=VALUE...]
#       wait until the latest report of ARN has lastStatus STATUS and, for each
#       KEY=VALUE, containers[0].KEY == VALUE (or task-level KEY); print it.
#   agtctl.py known DIR ARN...                  exit 0 when every ARN was reported
#                                               RUNNING or STOPPED (one read for many)
#   agtctl.py exits DIR SECS ARN=CODE...        wait until every ARN is reported STOPPED;
#       print "lost ARN" / "wrong ARN got want" lines and "lost N wrong M" last
import json, os, sys, time


def last(d, arn):
    rep = None
    try:
        with open(os.path.join(d, "reports.jsonl")) as f:
            for line in f:
                t = json.loads(line)
                if t.get("taskArn") == arn:
                    rep = t
    except OSError:
        pass
    return rep


def matches(rep, status, conds):
    if not rep or rep.get("lastStatus") != status:
        return False
    for c in conds:
        k, v = c.split("=", 1)
        c0 = (rep.get("containers") or [{}])[0]
        got = c0.get(k, rep.get(k))
        if str(got) != v:
            return False
    return True


def latest_all(d):
    reps = {}
    try:
        with open(os.path.join(d, "reports.jsonl")) as f:
            for line in f:
                try:
                    t = json.loads(line)
                except ValueError:
                    continue
                reps[t.get("taskArn")] = t
    except OSError:
        pass
    return reps


cmd = sys.argv[1]
if cmd in ("desired", "desired-live"):
    d, version, files = sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    tasks = [json.load(open(f)) for f in files]
    if cmd == "desired-live":
        # Like skiffd: a task reported STOPPED leaves the host's desired state.
        reps = latest_all(d)
        tasks = [t for t in tasks if (reps.get(t["taskArn"]) or {}).get("lastStatus") != "STOPPED"]
    tmp = os.path.join(d, "desired.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"version": version, "tasks": tasks}, f)
    os.rename(tmp, os.path.join(d, "desired.json"))
elif cmd == "last":
    print(json.dumps(last(sys.argv[2], sys.argv[3])))
elif cmd == "known":
    reps = latest_all(sys.argv[2])
    ok = all((reps.get(a) or {}).get("lastStatus") in ("RUNNING", "STOPPED") for a in sys.argv[3:])
    sys.exit(0 if ok else 1)
elif cmd == "exits":
    d, secs = sys.argv[2], float(sys.argv[3])
    want = dict(x.rsplit("=", 1) for x in sys.argv[4:])
    end = time.time() + secs
    while True:
        reps = latest_all(d)
        done = all((reps.get(a) or {}).get("lastStatus") == "STOPPED" for a in want)
        if done or time.time() > end:
            break
        time.sleep(0.2)
    lost = wrong = 0
    for a, code in want.items():
        rep = reps.get(a) or {}
        if rep.get("lastStatus") != "STOPPED":
            print("lost %s: never reported STOPPED (last %s)" % (a, json.dumps(rep)))
            lost += 1
            continue
        got = (rep.get("containers") or [{}])[0].get("exitCode", "none")
        if str(got) != code:
            print("wrong %s: exit code %s, want %s: %s" % (a, got, code, json.dumps(rep)))
            wrong += 1
    print("lost %d wrong %d" % (lost, wrong))
elif cmd == "wait":
    d, arn, status = sys.argv[2:5]
    secs = float(sys.argv[5]) if len(sys.argv) > 5 else 30
    conds = sys.argv[6:]
    end = time.time() + secs
    while time.time() < end:
        rep = last(d, arn)
        if matches(rep, status, conds):
            print(json.dumps(rep))
            sys.exit(0)
        time.sleep(0.1)
    print("timeout; last report: " + json.dumps(last(d, arn)), file=sys.stderr)
    sys.exit(1)
