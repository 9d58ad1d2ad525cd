#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# fake_skiffd.py PORT DIR - a stand-in for skiffd's /agent/v1/ API
# (docs/agent-protocol.md) for the agent's integration tests, until skiffd's
# agent API is on main. The desired state is DIR/desired.json
# ({"version": N, "tasks": [...]}, rewritten by the test); every report is
# appended to DIR/reports.jsonl; DIR/fail-reports makes reports answer 503.
# DIR/answers.jsonl records when each new desired version went out to the
# agent (the benchmarks' "assignment received" instant).
import json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, DIR = int(sys.argv[1]), sys.argv[2]
TOKEN = open(os.path.join(DIR, "token")).read().strip()
ARN = "arn:aws:ecs:local:000000000000:container-instance/agt/0123456789abcdef0123456789abcdef"
lock = threading.Lock()


def desired():
    try:
        with open(os.path.join(DIR, "desired.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"version": 1, "tasks": []}


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        try:
            body = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            return self.answer(400, {"error": "BadRequest"})
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.answer(401, {"error": "Unauthorized"})
        if self.path == "/agent/v1/register":
            with lock, open(os.path.join(DIR, "registered.jsonl"), "a") as f:
                f.write(json.dumps(body) + "\n")
            return self.answer(200, {"containerInstanceArn": ARN, "cluster": "agt",
                                     "version": desired()["version"], "pollTimeoutMs": 1500})
        if self.path == "/agent/v1/poll":
            deadline = time.time() + min(body.get("waitMs", 1500), 1500) / 1000.0
            d = desired()
            while d["version"] == body.get("version") and time.time() < deadline:
                time.sleep(0.005)
                d = desired()
            if d["version"] != body.get("version"):
                with lock, open(os.path.join(DIR, "answers.jsonl"), "a") as f:
                    f.write(json.dumps({"version": d["version"], "time": time.time()}) + "\n")
            return self.answer(200, {"containerInstanceArn": ARN, "version": d["version"],
                                     "status": "ACTIVE", "tasks": d["tasks"]})
        if self.path == "/agent/v1/report":
            if os.path.exists(os.path.join(DIR, "fail-reports")):
                return self.answer(503, {"error": "ServiceUnavailable"})
            with lock, open(os.path.join(DIR, "reports.jsonl"), "a") as f:
                for t in body.get("tasks", []):
                    t["_received"] = time.time()
                    f.write(json.dumps(t) + "\n")
            return self.answer(200, {"accepted": len(body.get("tasks", [])),
                                     "version": desired()["version"]})
        return self.answer(404, {"error": "NotFound"})


ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
