#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Config files: the shipped examples are accepted, flags override the file,
# unknown keys and bad values are refused naming the line; the systemd units
# pass systemd-analyze verify. skiffd on 127.0.0.1:8156.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/${OUT:-build}/bin
TMP=$(mktemp -d /tmp/cli-config-it.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; exit 1; }

# The example, with flags overriding its listen address and state directory.
"$BIN/skiffd" --config "$ROOT/dist/config/skiffd.json" --listen 127.0.0.1:8156 \
    --state "$TMP/state" >"$TMP/log" 2>&1 &
PID=$!
for _ in $(seq 50); do [ -f "$TMP/state/credentials" ] && break; sleep 0.1; done
grep -q '"msg":"skiffd listening on 127.0.0.1:8156' "$TMP/log" ||
    fail "example config + flags: $(cat "$TMP/log")"
kill "$PID"; wait "$PID"; PID=

# The file alone.
printf '{\n  "listen": "127.0.0.1:8156",\n  "state": "%s/s2",\n  "tickMs": 200\n}\n' "$TMP" >"$TMP/ok.json"
"$BIN/skiffd" --config "$TMP/ok.json" >"$TMP/log2" 2>&1 &
PID=$!
for _ in $(seq 50); do [ -f "$TMP/s2/credentials" ] && break; sleep 0.1; done
grep -q 'listening on 127.0.0.1:8156' "$TMP/log2" || fail "file only: $(cat "$TMP/log2")"
kill "$PID"; wait "$PID"; PID=

bad() { # EXPECTED-MESSAGE JSON
    printf '%b' "$2" >"$TMP/bad.json"
    out=$("$BIN/skiffd" --config "$TMP/bad.json" --state "$TMP/s3" 2>&1)
    rc=$?
    [ $rc = 2 ] || fail "rc $rc for $2: $out"
    grep -qF "$1" <<<"$out" || fail "expected '$1', got: $out"
    [ ! -e "$TMP/s3" ] || fail "state created despite a bad config"
}
bad "bad.json:3: unknown key 'tik' (known keys: listen, state" '{\n "listen": "127.0.0.1:1",\n "tik": 5\n}'
bad "bad.json:2: 'tickMs' must be from 1 to 86400000, got 0" '{\n "tickMs": 0}'
bad "bad.json:1: 'debug' must be true or false" '{"debug": "yes"}'
bad "bad.json:2:" '{"listen": "a",\n "listen": "b"}'
bad "bad.json:1:" '{"listen": '
bad "expected a JSON object" '[]'
out=$("$BIN/skiffd" --config "$TMP/missing.json" 2>&1); [ $? = 2 ] && grep -q missing.json <<<"$out" ||
    fail "missing file: $out"

# The agent's example (when the agent is built).
if [ -x "$BIN/skiff-agent" ]; then
    out=$("$BIN/skiff-agent" --config "$TMP/bad.json" 2>&1) && fail "agent accepted []"
    printf '{"cluster": "x", "bogus": 1}' >"$TMP/a.json"
    out=$("$BIN/skiff-agent" --config "$TMP/a.json" 2>&1) && fail "agent accepted bogus"
    grep -q "unknown key 'bogus'" <<<"$out" || fail "agent message: $out"
fi

# The systemd units parse (paths replaced by ones that exist here).
if command -v systemd-analyze >/dev/null; then
    for u in skiffd skiff-agent; do
        sed "s|/usr/local/bin/$u|/bin/true|" "$ROOT/dist/systemd/$u.service" >"$TMP/$u.service"
        out=$(systemd-analyze verify "$TMP/$u.service" 2>&1) || fail "$u.service: $out"
        [ -z "$out" ] || fail "$u.service warnings: $out"
    done
fi
echo "cli-config: ok"
