#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# images-pull.sh - cold pull+unpack of a large image, side by side:
#   skiff image pull (layer snapshots, what containers use through overlay)
#   skiff image pull + unpack (a flat rootfs copy)
#   skopeo copy + umoci unpack (the reference)
# Medians of $RUNS (default 5) cold runs, empty stores each time; then a warm
# re-pull and an overlay mount. BENCH_REF=host:port/repo:tag uses an existing
# plain-HTTP registry (e.g. the shared testbed's big:latest); otherwise the
# script builds its own image (tests/integration/images-helpers/mkoci.py big)
# and serves it from docker-registry on 127.0.0.1:5149.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
skiff=${SKIFF:-$top/build/release/bin/skiff}
runs=${RUNS:-5}
W=$(mktemp -d /tmp/images-bench-XXXXXX)
pid=
cleanup() {
    umount -l "$W/mnt/rootfs" 2>/dev/null || true
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT INT TERM

ref=${BENCH_REF:-}
if [ -z "$ref" ]; then
    mkdir -p "$W/reg/data"
    printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:5149, secret: b}\n' \
        "$W/reg/data" >"$W/reg/config.yml"
    docker-registry serve "$W/reg/config.yml" >"$W/reg/log" 2>&1 &
    pid=$!
    python3 "$top/tests/integration/images-helpers/mkoci.py" "$W/oci" big
    for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:5149/v2/ && break; sleep 0.1; done
    skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$W/oci/big:latest" \
        docker://127.0.0.1:5149/big:latest
    ref=127.0.0.1:5149/big:latest
fi
host=${ref%%/*}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
run() { # NAME CMD...: prints seconds
    local t0 t1
    sync
    t0=$(now); "$@" >/dev/null 2>&1 || { echo "$1 failed" >&2; exit 1; }; t1=$(now)
    echo "$t1 - $t0" | bc
}
skiff_pull() { rm -rf "$W/s"; "$skiff" image pull -q --store "$W/s" --insecure-registry "$host" "$ref"; }
skiff_both() { rm -rf "$W/s" "$W/r"; skiff_pull && "$skiff" image unpack -q --store "$W/s" "$ref" "$W/r"; }
ref_tools() {
    rm -rf "$W/o" "$W/u"
    skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$W/o:latest" &&
        umoci unpack --image "$W/o:latest" "$W/u"
}
a=() b=() c=()
for i in $(seq "$runs"); do
    a+=("$(run skiff_pull skiff_pull)")
    b+=("$(run skiff_both skiff_both)")
    c+=("$(run ref_tools ref_tools)")
    rm -rf "$W/o" "$W/u" "$W/r"
done
ma=$(printf '%s\n' "${a[@]}" | median)
mb=$(printf '%s\n' "${b[@]}" | median)
mc=$(printf '%s\n' "${c[@]}" | median)
skiff_pull >/dev/null
comp=$(du -sb "$W/s/blobs" | cut -f1)
tar=$(du -sb --apparent-size "$W/s/snapshots" | cut -f1)
t0=$(now); "$skiff" image pull -q --store "$W/s" --insecure-registry "$host" "$ref" >/dev/null; t1=$(now)
warm=$(echo "$t1 - $t0" | bc)
t0=$(now); "$skiff" image mount -q --store "$W/s" "$ref" "$W/mnt"; t1=$(now)
mnt=$(echo "$t1 - $t0" | bc)
umount "$W/mnt/rootfs"
printf 'image %s: %.1f MB compressed, %.1f MB unpacked; medians of %d cold runs\n' "$ref" \
    "$(echo "$comp/1000000" | bc -l)" "$(echo "$tar/1000000" | bc -l)" "$runs"
printf '  skiff pull (snapshots)      %6.2f s  %6.1f MB/s compressed  runs: %s\n' "$ma" \
    "$(echo "$comp/1000000/$ma" | bc -l)" "${a[*]}"
printf '  skiff pull + unpack (copy)  %6.2f s  runs: %s\n' "$mb" "${b[*]}"
printf '  skopeo copy + umoci unpack  %6.2f s  runs: %s\n' "$mc" "${c[*]}"
printf '  ratio skopeo+umoci / skiff pull: %.2fx; / skiff pull+unpack: %.2fx\n' \
    "$(echo "$mc/$ma" | bc -l)" "$(echo "$mc/$mb" | bc -l)"
printf '  warm re-pull %.3f s, overlay mount (CLI, incl. exec) %.3f s\n' "$warm" "$mnt"
