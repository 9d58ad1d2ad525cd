#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Integration tests for images/ and `skiff image`: starts Debian's docker-registry
# on 127.0.0.1:5100 (plain HTTP) and 127.0.0.1:5101 (basic auth + TLS), pushes
# test images built from scratch by images-helpers/mkoci.py, and checks pulls,
# unpacks and refusals. Everything is removed at exit, also on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
skiff=$top/${OUT:-build}/bin/skiff
[ "$(id -u)" = 0 ] || { echo "SKIP: requires root"; exit 77; }
for t in docker-registry skopeo python3 htpasswd openssl curl zstd; do
    command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
[ -x "$skiff" ] || { echo "FAIL: $skiff not built"; exit 1; }

# Copies of this test in other worktrees (main, CI) use the same ports: take
# turns, or one run's registry answers the other's requests.
exec 9>/tmp/skiff-images-it.lock
flock -w 1200 9 || { echo "FAIL: another images.sh holds /tmp/skiff-images-it.lock"; exit 1; }
P1=5100 P2=5101
for p in $P1 $P2 5102 5103 5104; do
    if ss -Hltn "sport = :$p" | grep -q .; then echo "FAIL: port $p is in use"; exit 1; fi
done
W=$(mktemp -d /tmp/images-it-XXXXXX)
pids=()
cleanup() {
    umount -l "$W/mnt/rootfs" 2>/dev/null
    umount -l "$W/mnt2/rootfs" 2>/dev/null
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$W" /images-it-escape
}
trap cleanup EXIT INT TERM

fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

start_registry() { # DIR PORT [tls]
    local d=$1 port=$2 tls=${3:-}
    mkdir -p "$d/data"
    {
        echo "version: 0.1"
        echo "log: {level: error}"
        echo "storage: {filesystem: {rootdirectory: $d/data}, delete: {enabled: true}}"
        echo "http:"
        echo "  addr: 127.0.0.1:$port"
        echo "  secret: images-it"
        if [ -n "$tls" ]; then
            echo "  tls: {certificate: $d/domain.crt, key: $d/domain.key}"
            echo "auth: {htpasswd: {realm: images-it, path: $d/htpasswd}}"
        fi
    } >"$d/config.yml"
    docker-registry serve "$d/config.yml" >"$d/registry.log" 2>&1 &
    pids+=($!)
    local scheme=http opt=""
    [ -n "$tls" ] && scheme=https opt=-k
    for _ in $(seq 100); do
        curl -s $opt -o /dev/null "$scheme://127.0.0.1:$port/v2/" && return 0
        sleep 0.1
    done
    echo "registry on $port did not start"; cat "$d/registry.log"; exit 1
}

push() { # NAME PORT [skopeo args...]
    local name=$1 port=$2; shift 2
    python3 "$here/images-helpers/mkoci.py" "$W/oci" "$name" || return 1
    skopeo copy -q --all --preserve-digests --dest-tls-verify=false "$@" \
        "oci:$W/oci/$name:latest" "docker://127.0.0.1:$port/$name:latest"
}

R=127.0.0.1:$P1
S=$W/store
sk() { "$skiff" image "$1" --store "$S" --insecure-registry "$R" "${@:2}"; }

start_registry "$W/reg1" $P1
for n in chunky busybox whiteouts zstd plain attest trav-dotdot trav-abs trav-symlink trav-hardlink \
    trav-device trav-bomb trav-early; do
    ESCAPE_DIR=$W/escape push $n $P1 || { echo "push $n failed"; exit 1; }
done
mkdir -p "$W/escape"

# 1. busybox-like image: pull, unpack, tree and metadata.
sk pull -q $R/busybox:latest >/dev/null
check "busybox pull" test $? = 0
sk unpack -q $R/busybox:latest "$W/bb" >/dev/null
check "busybox unpack" test -x "$W/bb/bin/busybox"
check "symlink kept" test "$(readlink "$W/bb/bin/sh")" = busybox
check "owner kept" test "$(stat -c %u:%g:%a "$W/bb/home/app")" = 1000:1000:750
check "busybox runs from the tree" test "$(chroot "$W/bb" /bin/echo ok 2>&1)" = ok
check "image listed" bash -c "'$skiff' image ls --store '$S' | grep -q '$R/busybox:latest'"
check "inspect shows config" bash -c \
    "'$skiff' image inspect --store '$S' $R/busybox:latest | grep -q '\"WorkingDir\": \"/home/app\"'"
check "json output" bash -c "'$skiff' image pull --output json --store '$S' --insecure-registry $R \
    $R/busybox:latest | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d[\"diff_ids\"])==1'"

# A warm re-pull of a stored image is one manifest request, nothing else.
n0=$(grep -c '"GET /v2/' "$W/reg1/registry.log")
sk pull -q $R/busybox:latest >/dev/null
check "warm re-pull succeeds" test $? = 0
check "warm re-pull is one manifest request" test \
    "$(tail -n +$((n0 + 1)) <(grep '"GET /v2/' "$W/reg1/registry.log") | grep -c .)" = 1
# References without a registry use --default-registry (also from the config file).
printf '{"images": {"default_registry": "%s", "insecure_registries": ["%s"]}}' $R $R >"$W/skiff.json"
"$skiff" image pull -q --store "$W/store-dr" --config "$W/skiff.json" busybox >/dev/null
check "default registry from the config file" test $? = 0

out=$(sk pull -q --platform linux/s390x $R/busybox:latest 2>&1)
check "single-platform image refuses another --platform" bash -c "[[ \"\$1\" == *'not the requested linux/s390x'* ]]" _ "$out"

# 2. whiteouts, opaque dirs, hard links (image-spec layer semantics).
sk unpack -q $R/whiteouts:latest "$W/wh" >/dev/null
check "whiteouts unpack" test -d "$W/wh"
check "whiteout removes lower file" test ! -e "$W/wh/a/gone" -a -f "$W/wh/a/keep"
check "whiteout removes lower dir" test ! -e "$W/wh/d"
check "opaque dir hides lower entries" test ! -e "$W/wh/b/x" -a ! -e "$W/wh/b/y"
check "opaque keeps same-layer entries" test -f "$W/wh/b/early" -a -f "$W/wh/b/new"
check "whiteout spares same-layer file" test "$(cat "$W/wh/c/motd")" = v2
check "rewritten hard link name" test "$(cat "$W/wh/hl2")" = "pair v2"
check "other name keeps v1" test "$(cat "$W/wh/hl1")" = "pair v1" -a "$(stat -c %h "$W/wh/hl1")" = 1
check "hard link pair preserved" test "$(stat -c %i "$W/wh/hl3")" = "$(stat -c %i "$W/wh/hl4")"
check "setuid and sticky kept" test "$(stat -c %a "$W/wh/suid"):$(stat -c %a "$W/wh/sticky")" = 4755:1777
check "fifo kept" test -p "$W/wh/fifo"
check "no whiteout markers left" bash -c "! find '$W/wh' -name '.wh.*' | grep -q ."

# 3. zstd and uncompressed layers.
for n in zstd plain; do
    sk unpack -q $R/$n:latest "$W/$n" >/dev/null
    check "$n layers" test "$(cat "$W/$n/data/hello.txt" 2>/dev/null)" = "hello from a test layer"
done

# 4. OCI index with an attestation manifest: the host platform is chosen.
sk unpack -q $R/attest:latest "$W/att" >/dev/null
check "index picks amd64" test -x "$W/att/bin/busybox"
sk pull -q --platform linux/arm64 $R/attest:latest >/dev/null
check "--platform linux/arm64" test $? = 0
out=$(sk pull -q --platform unknown/unknown $R/attest:latest 2>&1)
check "attestation never selected" bash -c "[[ '$out' == *'no manifest for platform'* ]]"

# 5. hostile layers: refused, error names the member, nothing left anywhere.
before=$(ls -a / | md5sum)
for n in dotdot abs symlink hardlink device bomb early; do
    out=$(sk pull -q --max-layer-size 4194304 $R/trav-$n:latest 2>&1)
    rc=$?
    check "trav-$n refused" test $rc != 0
    case $n in
    dotdot) want="images-it-escape" ;; abs) want="images-it-escape" ;;
    symlink) want="evil/pwned" ;; hardlink) want="stolen" ;; device) want="sda" ;;
    bomb) want="limit" ;; early) want="early-escape" ;;
    esac
    check "trav-$n error names '$want'" bash -c "[[ \"\$1\" == *\"$want\"* ]]" _ "$out"
done
check "nothing escaped" test ! -e /images-it-escape -a ! -e "$W/escape/pwned"
check "nothing outside changed" test "$(ls -a / | md5sum)" = "$before" -a -z "$(ls "$W/escape")"
check "no temp left in store" test -z "$(ls "$S/tmp")"
check "no refused snapshot" test "$(ls "$S/snapshots/sha256" | wc -l)" = \
    "$(python3 -c "import json;d=json.load(open('$S/index.json'));print(len({x for i in d['images'].values() for x in i['diff_ids']}))")"

# 6. corrupt blob: same length, other bytes -> digest error, nothing stored.
push busybox $P1 >/dev/null 2>&1
skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$W/oci/zstd:latest" \
    "docker://$R/corrupt:latest"
blob=$(python3 -c "import json;m=json.load(open('$W/oci/zstd/blobs/sha256/'+json.load(open('$W/oci/zstd/index.json'))['manifests'][0]['digest'][7:]));print(m['layers'][1]['digest'][7:])")
f=$W/reg1/data/docker/registry/v2/blobs/sha256/${blob:0:2}/$blob/data
python3 -c "import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());b[len(b)//2]^=0xff;open(p,'wb').write(b)" "$f"
S2=$W/store2
out=$("$skiff" image pull -q --store "$S2" --insecure-registry $R $R/corrupt:latest 2>&1)
check "corrupt blob refused" bash -c "[[ \"\$1\" == *'digest mismatch'* || \"\$1\" == *'decompression'* ]]" _ "$out"
check "corrupt leaves no blob" test ! -e "$S2/blobs/sha256/$blob"
check "corrupt leaves no temp" test -z "$(ls "$S2/tmp")"

# 7. two concurrent pulls of the same image into one store both succeed.
S3=$W/store3
"$skiff" image pull -q --store "$S3" --insecure-registry $R $R/plain:latest >"$W/c1" 2>&1 &
p1=$!
"$skiff" image pull -q --store "$S3" --insecure-registry $R $R/plain:latest >"$W/c2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "concurrent pulls succeed" test $r1 = 0 -a $r2 = 0
check "each layer stored once" test "$(ls "$S3/snapshots/sha256" | wc -l)" = 2

# 8. basic auth + TLS with a CA directory.
d=$W/reg2
mkdir -p "$d/certs.d/127.0.0.1:$P2"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$d/domain.key" -out "$d/domain.crt" 2>/dev/null
cp "$d/domain.crt" "$d/certs.d/127.0.0.1:$P2/ca.crt"
htpasswd -Bbn images-it images-secret >"$d/htpasswd"
start_registry "$d" $P2 tls
skopeo copy -q --preserve-digests --dest-tls-verify=false --dest-creds images-it:images-secret \
    "oci:$W/oci/busybox:latest" "docker://127.0.0.1:$P2/busybox:latest"
S4=$W/store4
out=$("$skiff" image pull -q --store "$S4" 127.0.0.1:$P2/busybox:latest 2>&1)
check "TLS without CA refused" bash -c "[[ \"\$1\" == *'TLS'* || \"\$1\" == *'certificate'* ]]" _ "$out"
out=$("$skiff" image pull -q --store "$S4" --certs-dir "$d/certs.d" 127.0.0.1:$P2/busybox:latest 2>&1)
check "auth required without creds" bash -c "[[ \"\$1\" == *'credentials'* ]]" _ "$out"
printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' $P2 "$(printf images-it:images-secret | base64)" >"$W/auth.json"
"$skiff" image pull -q --store "$S4" --certs-dir "$d/certs.d" --authfile "$W/auth.json" \
    127.0.0.1:$P2/busybox:latest >/dev/null
check "basic auth + TLS pull (auth file)" test $? = 0
out=$("$skiff" image pull -q --store "$W/store5" --certs-dir "$d/certs.d" --creds images-it:wrong \
    127.0.0.1:$P2/busybox:latest 2>&1)
check "wrong password refused" bash -c "[[ \"\$1\" == *'denied'* ]]" _ "$out"

"$skiff" image unpack -q --store "$W/ref-store" --insecure-registry $R $R/chunky:latest "$W/ref-chunky"

# 9. a partial blob left by an interrupted pull is resumed (Range) and its
#    bytes are really used: a damaged partial fails the digest and is dropped.
S6=$W/store6
mkdir -p "$S6/tmp"
man=$(python3 -c "import json;print(json.load(open('$W/oci/plain/index.json'))['manifests'][0]['digest'][7:])")
lay=$(python3 -c "import json;print(json.load(open('$W/oci/plain/blobs/sha256/$man'))['layers'][0]['digest'][7:])")
sz=$(stat -c %s "$W/oci/plain/blobs/sha256/$lay")
head -c $((sz / 2)) "$W/oci/plain/blobs/sha256/$lay" >"$S6/tmp/blob-$lay.partial"
python3 -c "import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());b[100]^=1;open(p,'wb').write(b)" \
    "$S6/tmp/blob-$lay.partial"
out=$("$skiff" image pull -q --store "$S6" --insecure-registry $R $R/plain:latest 2>&1)
check "damaged partial blob detected" bash -c "[[ \"\$1\" == *'digest mismatch'* ]]" _ "$out"
check "damaged partial dropped" test ! -e "$S6/tmp/blob-$lay.partial"
head -c $((sz / 2)) "$W/oci/plain/blobs/sha256/$lay" >"$S6/tmp/blob-$lay.partial"
"$skiff" image pull -q --store "$S6" --insecure-registry $R $R/plain:latest >/dev/null
check "pull resumes from a partial blob" test $? = 0 -a -f "$S6/blobs/sha256/$lay"
check "resumed blob is complete" cmp -s "$S6/blobs/sha256/$lay" "$W/oci/plain/blobs/sha256/$lay"

# 9b. transient failures: a 503 on the manifest is retried, a blob cut in the
#     middle resumes with Range from the byte where it stopped.
# flaky_pull PORT LOG NAME [VAR=VALUE...]: the flaky proxy (in the environment
# given) on PORT in front of the plain registry, logging to LOG; chunky unpacked
# through it into W/chunky-NAME (store W/store-NAME); its output in $out.
flaky_pull() {
    local port=$1 log=$2 name=$3
    shift 3
    env "$@" python3 "$here/images-helpers/flaky-proxy.py" "$port" $P1 "$log" &
    pids+=($!)
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
    out=$("$skiff" image unpack -q --store "$W/store-$name" --insecure-registry "127.0.0.1:$port" \
        "127.0.0.1:$port/chunky:latest" "$W/chunky-$name" 2>&1)
}
flaky_pull 5102 "$W/ranges.log" flaky
check "pull through resets and 503s" test $? = 0
check "resumed with Range requests" test "$(grep -c 'bytes=[1-9][0-9]*-' "$W/ranges.log" 2>/dev/null)" -ge 3
check "resumed layers are intact" diff -r "$W/ref-chunky" "$W/chunky-flaky"

flaky_pull 5103 "$W/ranges2.log" norange IGNORE_RANGE=1
check "server ignoring Range: pull completes" test $? = 0
check "server ignoring Range: was asked for a range" test -s "$W/ranges2.log"
check "server ignoring Range: layers intact" diff -r "$W/ref-chunky" "$W/chunky-norange"

flaky_pull 5104 "$W/redirects.log" redirect REDIRECT=1
check "blob redirects followed" test $? = 0 -a "$(grep -c redirect "$W/redirects.log" 2>/dev/null)" -ge 4
check "redirected layers intact" diff -r "$W/ref-chunky" "$W/chunky-redirect"

# 10. overlay rootfs: same tree as the plain unpack, writes go to the upper dir.
M=$W/mnt
sk mount -q $R/whiteouts:latest "$M"
check "overlay mounted" mountpoint -q "$M/rootfs"
check "overlay shows the unpacked tree" diff <(cd "$W/wh" && find . -printf '%p %y %m %U\n' | sort) \
    <(cd "$M/rootfs" && find . -printf '%p %y %m %U\n' | sort)
echo new >"$M/rootfs/created"
check "writes land in upper" test -f "$M/upper/created"
"$skiff" image umount "$M"
check "overlay unmounted" bash -c "! mountpoint -q '$M/rootfs'"

# 10b. too many/long lower dirs for one overlay mount: the copy fallback gives
#      the same tree (a store path of ~1000 bytes makes 4 layers overflow).
long=$W/$(printf 'l%.0s' $(seq 240))/$(printf 'o%.0s' $(seq 240))/$(printf 'n%.0s' $(seq 240))/$(printf 'g%.0s' $(seq 240))
"$skiff" image pull -q --store "$long" --insecure-registry $R $R/chunky:latest >/dev/null
out=$("$skiff" image mount --store "$long" $R/chunky:latest "$W/mnt2")
check "copy fallback used" bash -c "[[ \"\$1\" == *'(copy)'* ]]" _ "$out"
check "copy fallback tree" diff -r "$W/ref-chunky" "$W/mnt2/rootfs"
umount "$W/mnt2/rootfs"

# 11. kill -9 at various moments: blobs/ holds only complete, valid blobs,
#     snapshots/ only complete ones, and the next pull finishes the job.
for delay in 0.02 0.1 0.3 0.6; do
    K=$W/kill-store
    rm -rf "$K" "$W/chunky"
    "$skiff" image pull -q --store "$K" --insecure-registry $R $R/chunky:latest >/dev/null 2>&1 &
    kp=$!
    sleep $delay
    kill -9 $kp 2>/dev/null
    wait $kp 2>/dev/null
    bad=0
    for b in "$K"/blobs/sha256/*; do
        [ -e "$b" ] || continue
        [ "$(sha256sum <"$b" | cut -d' ' -f1)" = "$(basename "$b")" ] || bad=1
    done
    check "kill -9 after ${delay}s: only valid blobs visible" test $bad = 0
    "$skiff" image unpack -q --store "$K" --insecure-registry $R $R/chunky:latest "$W/chunky" >/dev/null
    check "kill -9 after ${delay}s: next pull completes" diff -r "$W/ref-chunky" "$W/chunky"
done

# 12. rm + prune free the store.
sk rm -q $R/busybox:latest
check "rm forgets the reference" bash -c "! '$skiff' image inspect --store '$S' $R/busybox:latest 2>/dev/null"
for r in whiteouts zstd plain attest; do sk rm -q $R/$r:latest; done
sk prune -q
check "prune empties the store" test -z "$(find "$S/snapshots" "$S/blobs" -mindepth 2)"

echo "images: $fails failed"
[ $fails = 0 ]
