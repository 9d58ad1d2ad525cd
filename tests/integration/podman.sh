#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# podman drives skiff-runtime as its OCI runtime: `run --rm` of an image built
# locally (podman import of a busybox-static tarball, no network), exit status,
# an interactive terminal (-t / -it under script(1)), exec and exec -it. Private --root and
# --runroot; everything is removed on exit. Exit 77 (skip) without root/podman.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "requires root"; exit 77; }
command -v podman >/dev/null || { echo "podman missing"; exit 77; }
RT=$(realpath "${OUT:-build}/bin/skiff-runtime")
tmp=$(mktemp -d /tmp/rt-core-podman.XXXXXX)
"$RT" spec --bundle "$tmp" >/dev/null 2>&1 && rm -f "$tmp/config.json" ||
    { echo "skiff-runtime spec failed"; rm -rf "$tmp"; exit 1; }
P=(podman --runtime "$RT" --root "$tmp/root" --runroot "$tmp/runroot" --cgroup-manager cgroupfs
    --events-backend file --storage-driver vfs)
# This host's bounding set lacks CAP_SYS_RESOURCE: podman's default rlimits
# (nofile/nproc 1048576) cannot be raised by any runtime, so ask for less.
U=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
cleanup() {
    "${P[@]}" rm -af >/dev/null 2>&1
    "${P[@]}" rmi -af >/dev/null 2>&1
    umount -R "$tmp/root" "$tmp/runroot" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$tmp/rootfs/bin"
cp "$(command -v busybox)" "$tmp/rootfs/bin/busybox"
for a in sh echo cat tty true id hostname; do ln -s busybox "$tmp/rootfs/bin/$a"; done
tar -C "$tmp/rootfs" -cf "$tmp/bb.tar" . || fail "tar"
"${P[@]}" import "$tmp/bb.tar" localhost/rt-core-bb:latest >/dev/null || fail "podman import"

out=$(timeout 120 "${P[@]}" run --rm "${U[@]}" localhost/rt-core-bb:latest echo hello-from-skiff 2>&1)
[ "$out" = hello-from-skiff ] || fail "run --rm: '$out'"
echo "ok run --rm"

timeout 120 "${P[@]}" run --rm "${U[@]}" localhost/rt-core-bb:latest sh -c 'exit 7'
[ $? = 7 ] || fail "exit status not propagated"
echo "ok exit status"

out=$(timeout 120 script -qec "${P[*]} run --rm -t ${U[*]} localhost/rt-core-bb:latest sh -c 'tty; echo tty-ok'" /dev/null </dev/null 2>&1)
echo "$out" | grep -q '^/dev/pts/' || fail "-t: no tty: $out"
echo "$out" | grep -q tty-ok || fail "-t: $out"
echo "ok -t"

out=$(echo 'echo interactive-$((6*7)); exit 3' |
    timeout 120 script -qec "${P[*]} run --rm -it ${U[*]} localhost/rt-core-bb:latest sh" /dev/null 2>&1)
rc=$?
echo "$out" | grep -q interactive-42 || fail "-it: $out"
[ $rc = 3 ] || fail "-it exit status $rc"
echo "ok -it"

"${P[@]}" run -d --name rt-core-ex "${U[@]}" localhost/rt-core-bb:latest /bin/busybox sleep 60 >/dev/null ||
    fail "run -d"
out=$(timeout 120 "${P[@]}" exec rt-core-ex sh -c 'echo exec-ok' 2>&1)
[ "$out" = exec-ok ] || fail "exec: '$out'"
out=$(echo 'tty; exit 0' | timeout 120 script -qec "${P[*]} exec -it rt-core-ex sh" /dev/null 2>&1)
echo "$out" | grep -q '^/dev/pts/' || fail "exec -it: $out"
"${P[@]}" rm -f -t 0 rt-core-ex >/dev/null 2>&1
echo "ok exec, exec -it"
