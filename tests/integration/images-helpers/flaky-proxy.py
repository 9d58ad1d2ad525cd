#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# flaky-proxy.py PORT UPSTREAM_PORT LOG - an HTTP proxy in front of a registry on
# 127.0.0.1 that cuts the first response of every blob after half of its body
# (a connection reset mid-download) and answers the first manifest request with
# 503. Later requests pass through; Range headers it sees are logged to LOG.
# With IGNORE_RANGE=1 it drops Range headers (a server answering 200 in full).
import http.client, http.server, os, sys, threading

port, upstream, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seen, lock = set(), threading.Lock()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        with lock:
            first = self.path not in seen
            seen.add(self.path)
        if first and "/manifests/" in self.path:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        c = http.client.HTTPConnection("127.0.0.1", upstream)
        drop = ("host", "range") if os.environ.get("IGNORE_RANGE") == "1" else ("host",)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in drop}
        if "Range" in self.headers:
            with open(log, "a") as f:
                f.write("%s %s\n" % (self.path, self.headers["Range"]))
        c.request("GET", self.path, headers=hdrs)
        r = c.getresponse()
        body = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection"):
                self.send_header(k, v)
        self.end_headers()
        if first and "/blobs/" in self.path and len(body) > 1024:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    do_HEAD = do_GET


http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
