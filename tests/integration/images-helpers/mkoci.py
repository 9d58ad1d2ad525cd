#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# mkoci.py OUT NAME - writes the test image NAME as an OCI layout in OUT/NAME
# (tag "latest"), built from scratch: tar layers made here, busybox copied from
# the host, nothing downloaded. Used by tests/integration/images.sh.
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

T0 = 1600000000


class Layer:
    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def add(self, name, typ=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link="",
            xattrs=None):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = typ, mode, uid, gid, T0
        ti.linkname = link
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
        if typ == tarfile.REGTYPE:
            ti.size = len(data)
            self.tar.addfile(ti, io.BytesIO(data))
        else:
            self.tar.addfile(ti)
        return self

    def dir(self, name, mode=0o755, uid=0, gid=0):
        return self.add(name, tarfile.DIRTYPE, mode=mode, uid=uid, gid=gid)

    def file(self, name, data, mode=0o644, uid=0, gid=0, xattrs=None):
        return self.add(name, data=data, mode=mode, uid=uid, gid=gid, xattrs=xattrs)

    def symlink(self, name, target):
        return self.add(name, tarfile.SYMTYPE, mode=0o777, link=target)

    def hardlink(self, name, target):
        return self.add(name, tarfile.LNKTYPE, link=target)

    def raw(self):
        self.tar.close()
        return self.buf.getvalue()


class Layout:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def blob(self, data, media_type, **extra):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.path, "blobs", "sha256", d), "wb") as f:
            f.write(data)
        desc = {"mediaType": media_type, "digest": "sha256:" + d, "size": len(data)}
        desc.update(extra)
        return desc

    def image(self, layers, compression="gzip", config=None, arch="amd64", fast=False):
        descs, diff_ids = [], []
        for raw in layers:
            diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
            if compression == "gzip" and fast:
                # Large layers: level 6, as registries' images usually are.
                data = gzip.compress(raw, compresslevel=6, mtime=0)
                mt = "application/vnd.oci.image.layer.v1.tar+gzip"
            elif compression == "gzip":
                data = gzip.compress(raw, mtime=0)
                mt = "application/vnd.oci.image.layer.v1.tar+gzip"
            elif compression == "zstd":
                data = subprocess.run(["zstd", "-q", "-c", "-3"], input=raw, check=True,
                                      stdout=subprocess.PIPE).stdout
                mt = "application/vnd.oci.image.layer.v1.tar+zstd"
            else:
                data, mt = raw, "application/vnd.oci.image.layer.v1.tar"
            descs.append(self.blob(data, mt))
        cfg = {"architecture": arch, "os": "linux", "config": config or {"Cmd": ["/bin/sh"]},
               "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        cdesc = self.blob(json.dumps(cfg).encode(), "application/vnd.oci.image.config.v1+json")
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": cdesc, "layers": descs}
        return self.blob(json.dumps(man).encode(), "application/vnd.oci.image.manifest.v1+json")

    def index(self, top):
        top = dict(top)
        top["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [top]}, f)


def busybox_layer():
    L = Layer().dir("bin").dir("etc").dir("home").dir("home/app", 0o750, 1000, 1000)
    with open("/bin/busybox", "rb") as f:
        L.file("bin/busybox", f.read(), 0o755)
    for a in ("sh", "ls", "cat", "echo"):
        L.symlink("bin/" + a, "busybox")
    L.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
    L.file("etc/group", b"root:x:0:\napp:x:1000:\nwheel:x:10:app\n")
    return L.raw()


BUSYBOX_CONFIG = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hello"], "User": "app",
                  "WorkingDir": "/home/app", "Env": ["GREETING=hi"],
                  "ExposedPorts": {"8080/tcp": {}}, "StopSignal": "SIGTERM"}


def small_layer():
    return (Layer().dir("data").file("data/hello.txt", b"hello from a test layer\n")
            .file("data/x", b"xattr", xattrs={"user.k": "v"}).raw())


def build(out, name):
    lay = Layout(os.path.join(out, name))
    if name == "busybox":
        lay.index(lay.image([busybox_layer()], config=BUSYBOX_CONFIG))
    elif name == "zstd":
        lay.index(lay.image([busybox_layer(), small_layer()], "zstd", BUSYBOX_CONFIG))
    elif name == "plain":
        lay.index(lay.image([busybox_layer(), small_layer()], "none", BUSYBOX_CONFIG))
    elif name == "whiteouts":
        l1 = (Layer().dir("a").file("a/keep", b"keep\n").file("a/gone", b"gone\n")
              .dir("b").file("b/x", b"x\n").file("b/y", b"y\n")
              .dir("c").file("c/motd", b"v1\n")
              .dir("d").file("d/inner", b"inner\n")
              .file("hl1", b"pair v1\n").hardlink("hl2", "hl1")
              .file("hl3", b"pair that stays\n").hardlink("hl4", "hl3")
              .file("suid", b"#!/bin/sh\n", 0o4755).dir("sticky", 0o1777)
              .add("fifo", tarfile.FIFOTYPE, mode=0o620).raw())
        l2 = (Layer().file("a/.wh.gone", b"")
              .file("b/early", b"same layer, before the marker\n")
              .file("b/.wh..wh..opq", b"").file("b/new", b"new\n")
              .file(".wh.d", b"")
              .file("c/motd", b"v2\n").file("c/.wh.motd", b"")
              .file("hl2", b"pair v2\n").raw())
        lay.index(lay.image([l1, l2]))
    elif name == "chunky":
        rng = __import__("random").Random(3)
        layers = [busybox_layer()] + [
            Layer().dir("d%d" % n).file("d%d/blob" % n, rng.randbytes(12 << 20)).raw()
            for n in range(3)]
        lay.index(lay.image(layers, config=BUSYBOX_CONFIG))
    elif name == "big":
        # Benchmark image shaped like the testbed's big:latest (6 layers, ~268 MB
        # of gzip, ~620 MB of tar, ~18,000 entries): busybox plus five data
        # layers, each with incompressible assets, "binaries" whose bytes are
        # half zeros (no zero pages: no holes to skip) and many small text files
        # of lognormal size in 256 directories. BIG_SCALE (default 1.0) scales it.
        import random
        scale = float(os.environ.get("BIG_SCALE", "1"))
        rng = random.Random(7)
        letters = b"etaoinshrdlucmfwypvbgkjqxz"
        words = [bytes(rng.choice(letters) for _ in range(rng.randint(2, 11))) + b" "
                 for _ in range(254)] + [b"\n", b"\n"]
        pool = b"".join(words[b] for b in rng.randbytes(6 << 20))
        zero_low = bytes(0 if b < 128 else b for b in range(256))
        layers = [busybox_layer()]
        for n, k in enumerate((1.4, 1.2, 1.0, 0.8, 0.6), 1):
            k *= scale
            base = "data/layer%d" % n
            L = Layer()
            if n == 1:
                L.dir("data")
            L.dir(base).dir(base + "/assets").dir(base + "/lib").dir(base + "/text")
            budget, i = int(12e6 * k), 0
            while budget > 0:
                size = min(budget, rng.randint(1 << 20, 5 << 20))
                L.file("%s/assets/asset-%03d.bin" % (base, i), rng.randbytes(size))
                budget, i = budget - size, i + 1
            budget, i = int(28e6 * k), 0
            while budget > 0:
                size = min(budget, int(rng.lognormvariate(12.5, 1.2)))
                L.file("%s/lib/lib%03d.so" % (base, i), rng.randbytes(size).translate(zero_low),
                       0o755)
                budget, i = budget - size, i + 1
            budget, i, made = int(80e6 * k), 0, set()
            while budget > 0:
                size = min(budget, int(rng.lognormvariate(9.0, 1.5)), 4 << 20, len(pool) - 1)
                d = "%s/text/%x/%x" % (base, rng.randrange(16), rng.randrange(16))
                for dd in (d.rsplit("/", 1)[0], d):
                    if dd not in made:
                        L.dir(dd)
                        made.add(dd)
                off = rng.randrange(len(pool) - size)
                L.file("%s/file-%05d.txt" % (d, i), pool[off:off + size])
                budget, i = budget - size, i + 1
            if n > 1:
                L.file("data/layer1/assets/asset-000.bin", rng.randbytes(1 << 20))
            layers.append(L.raw())
        lay.index(lay.image(layers, config=BUSYBOX_CONFIG, fast=True))
    elif name.startswith("trav-"):
        L = Layer().file("fine.txt", b"fine\n")
        kind = name[5:]
        if kind == "dotdot":
            L.file("../../../../images-it-escape", b"escaped\n")
        elif kind == "abs":
            L.file("/images-it-escape", b"escaped\n")
        elif kind == "symlink":
            L.symlink("evil", os.environ.get("ESCAPE_DIR", "/tmp")).file("evil/pwned", b"x\n")
        elif kind == "hardlink":
            L.hardlink("stolen", "../../../../etc/hostname")
        elif kind == "device":
            L.add("sda", tarfile.BLKTYPE, mode=0o600)
        elif kind == "early":
            # refused at its first member while most of the blob is still to come
            L = Layer().file("../early-escape", b"x\n").file("big", os.urandom(32 << 20))
        elif kind == "bomb":
            L.file("zeros", b"\0" * (8 << 20))
        lay.index(lay.image([L.raw()]))
    elif name == "attest":
        amd = lay.image([busybox_layer()], config=BUSYBOX_CONFIG)
        arm = lay.image([small_layer()], arch="arm64")
        stmt = lay.blob(b'{"_type":"https://in-toto.io/Statement/v0.1"}', "application/vnd.in-toto+json")
        cfg = lay.blob(b"{}", "application/vnd.oci.image.config.v1+json")
        att = lay.blob(json.dumps({"schemaVersion": 2,
                                   "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                   "config": cfg, "layers": [stmt]}).encode(),
                       "application/vnd.oci.image.manifest.v1+json")
        amd["platform"] = {"os": "linux", "architecture": "amd64"}
        arm["platform"] = {"os": "linux", "architecture": "arm64", "variant": "v8"}
        att["platform"] = {"os": "unknown", "architecture": "unknown"}
        att["annotations"] = {"vnd.docker.reference.type": "attestation-manifest",
                              "vnd.docker.reference.digest": amd["digest"]}
        idx = lay.blob(json.dumps({"schemaVersion": 2,
                                   "mediaType": "application/vnd.oci.image.index.v1+json",
                                   "manifests": [amd, arm, att]}).encode(),
                       "application/vnd.oci.image.index.v1+json")
        lay.index(idx)
    else:
        sys.exit("unknown image " + name)


if __name__ == "__main__":
    build(sys.argv[1], sys.argv[2])
