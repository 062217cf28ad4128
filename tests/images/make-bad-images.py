#!/usr/bin/env python3
# make-bad-images.py OUTDIR ARCH BUSYBOX_ACI: writes the corpus of images stage0 must refuse
# into OUTDIR/bad, indexed by OUTDIR/bad/expected.tsv, and OUTDIR/special.aci, a good image
# with every kind of entry the renderer must keep exactly (owners, modes, setuid, links, a fifo,
# an xattr, a long name). Run by make-images.sh. Python's tarfile writes what GNU tar will
# not: "..", absolute names, links out of the tree, device nodes. Everything is reproducible:
# mtime 0 unless a test needs a time, owner 0:0, no user or group names.
import gzip
import io
import json
import os
import sys
import tarfile

out, arch, busybox_aci = sys.argv[1], sys.argv[2], sys.argv[3]
bad = os.path.join(out, "bad")
os.makedirs(bad, exist_ok=True)

LABELS = [{"name": "version", "value": "1.0.0"}, {"name": "os", "value": "linux"},
          {"name": "arch", "value": arch}]


def manifest(name, **extra):
    m = {"acKind": "ImageManifest", "acVersion": "0.8.11", "name": "stage0.io/test/" + name,
         "labels": LABELS, "app": {"exec": ["/bin/sh"], "user": "0", "group": "0"}}
    m.update(extra)
    return json.dumps(m, indent=2, sort_keys=True).encode() + b"\n"


def entry(name, kind=tarfile.REGTYPE, data=b"", mode=None, link="", uid=0, gid=0, major=0,
          minor=0, mtime=0, pax=None):
    t = tarfile.TarInfo(name)
    t.type = kind
    if mode is None:
        mode = {tarfile.DIRTYPE: 0o755, tarfile.SYMTYPE: 0o777}.get(kind, 0o644)
    t.mode = mode
    t.linkname = link
    t.uid, t.gid, t.uname, t.gname = uid, gid, "", ""
    t.devmajor, t.devminor = major, minor
    t.mtime = mtime
    t.size = len(data) if kind == tarfile.REGTYPE else 0
    if pax:
        t.pax_headers = pax
    return (t, data)


def dir_(name, **kw):
    return entry(name, tarfile.DIRTYPE, **kw)


def tar_bytes(entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for t, data in entries:
            tar.addfile(t, io.BytesIO(data) if t.type in (tarfile.REGTYPE, tarfile.LNKTYPE) and data
                        else None)
    return buf.getvalue()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def good_entries(name):
    """A valid little image: the base every attack is added to."""
    return [entry("manifest", data=manifest(name)), dir_("rootfs"), dir_("rootfs/etc"),
            entry("rootfs/etc/hostname", data=b"bad\n")]


expected = []


def bad_image(file, entries_or_data, error, field, note):
    data = entries_or_data if isinstance(entries_or_data, bytes) else tar_bytes(entries_or_data)
    write(os.path.join(bad, file), data)
    expected.append((file, error, field, note))


def attack(file, extra, field, note):
    bad_image(file, good_entries(file.split(".")[0]) + extra, "InvalidImage", field, note)


# Entries that escape or leave the tree.
attack("dotdot.aci", [entry("rootfs/../evil", data=b"x")], "rootfs/../evil", "..")
attack("dotdot-deep.aci", [entry("rootfs/etc/../../../evil", data=b"x")],
       "rootfs/etc/../../../evil", "..")
attack("absolute.aci", [entry("/etc/evil", data=b"x")], "/etc/evil", "absolute path")
attack("absolute-rootfs.aci", [entry("/rootfs/evil", data=b"x")], "/rootfs/evil",
       "absolute path")
attack("symlink-write.aci",
       [entry("rootfs/link", tarfile.SYMTYPE, link="/etc"),
        entry("rootfs/link/evil", data=b"x")], "rootfs/link/evil", "write through a symlink")
attack("symlink-write-relative.aci",
       [entry("rootfs/link", tarfile.SYMTYPE, link="../../.."),
        entry("rootfs/link/evil", data=b"x")], "rootfs/link/evil", "write through a symlink")
attack("symlink-dir.aci",
       [entry("rootfs/etc/sub", tarfile.SYMTYPE, link="/tmp"),
        dir_("rootfs/etc/sub"), entry("rootfs/etc/sub/evil", data=b"x")],
       "rootfs/etc/sub", "write through a symlink (a directory over a symlink)")
attack("hardlink-absolute.aci", [entry("rootfs/h", tarfile.LNKTYPE, link="/etc/shadow")],
       "rootfs/h", "hard link out of the tree")
attack("hardlink-dotdot.aci",
       [entry("rootfs/h", tarfile.LNKTYPE, link="rootfs/../../etc/shadow")],
       "rootfs/h", "hard link out of the tree")
attack("hardlink-manifest.aci", [entry("rootfs/h", tarfile.LNKTYPE, link="manifest")],
       "rootfs/h", "hard link to an entry outside rootfs/")
# pax obeys a hard link's size: the data would overwrite the file linked to.
link_data = entry("rootfs/h", tarfile.LNKTYPE, link="rootfs/etc/hostname",
                  pax={"comment": "pax, so the size counts"})
link_data[0].size = 4
bad_image("hardlink-data.aci",
          tar_bytes(good_entries("hardlink-data") + [(link_data[0], b"evil")],
                    tarfile.PAX_FORMAT),
          "InvalidImage", "rootfs/h", "hard link carrying data")
attack("hardlink-missing.aci", [entry("rootfs/h", tarfile.LNKTYPE, link="rootfs/nothing")],
       "rootfs/h", "hard link to an entry not in the tar (before it)")
attack("outside.aci", [entry("etc/passwd", data=b"x")], "etc/passwd",
       "entry outside manifest and rootfs/")
attack("outside-prefix.aci", [entry("rootfsx/evil", data=b"x")], "rootfsx/evil",
       "entry outside manifest and rootfs/")
attack("chardev.aci", [dir_("rootfs/dev"),
                       entry("rootfs/dev/null", tarfile.CHRTYPE, mode=0o666, major=1, minor=3)],
       "rootfs/dev/null", "device node (accepted with allowDeviceNodes)")
attack("blockdev.aci", [dir_("rootfs/dev"),
                        entry("rootfs/dev/sda", tarfile.BLKTYPE, mode=0o660, major=8, minor=0)],
       "rootfs/dev/sda", "device node (accepted with allowDeviceNodes)")
attack("two-manifests.aci", [entry("manifest", data=manifest("two-manifests"))], "manifest",
       "two manifests")

# Structure.
bad_image("no-manifest.aci", [dir_("rootfs"), entry("rootfs/x", data=b"x")], "InvalidImage",
          "-", "no manifest")
bad_image("no-rootfs.aci", [entry("manifest", data=manifest("no-rootfs"))], "InvalidImage",
          "-", "no rootfs")
bad_image("rootfs-file.aci", [entry("manifest", data=manifest("rootfs-file")),
                              entry("rootfs", data=b"x")], "InvalidImage", "rootfs",
          "rootfs is not a directory")
bad_image("manifest-symlink.aci", [entry("manifest", tarfile.SYMTYPE, link="/etc/passwd"),
                                   dir_("rootfs")], "InvalidImage", "manifest",
          "manifest is not a regular file")
bad_image("manifest-dir.aci", [dir_("manifest"), dir_("rootfs")], "InvalidImage", "manifest",
          "manifest is not a regular file")

# Manifests.
def bad_manifest(file, data, field, note, error="InvalidManifest"):
    bad_image(file, [entry("manifest", data=data), dir_("rootfs"),
                     entry("rootfs/x", data=b"x")], error, field, note)


WHOLE = "(manifest)"  # the field of an error about the manifest as a whole is ""
bad_manifest("manifest-not-json.aci", b"this is not json\n", WHOLE, "not valid JSON")
bad_manifest("manifest-empty.aci", b"", WHOLE, "empty")
bad_manifest("manifest-trailing.aci", manifest("manifest-trailing") + b"{}", WHOLE,
             "data after the JSON value")
bad_manifest("manifest-not-utf8.aci",
             manifest("manifest-not-utf8").replace(b'"0.8.11"', b'"0.8.11\xff"'), WHOLE,
             "not valid JSON (UTF-8)")
bad_manifest("manifest-kind.aci",
             manifest("manifest-kind").replace(b'"ImageManifest"', b'"PodManifest"'),
             "acKind", "must be ImageManifest")
bad_manifest("manifest-name.aci", manifest("Manifest-Name"), "name", "ACIdentifier")
bad_manifest("manifest-os.aci",
             manifest("manifest-os", labels=[{"name": "os", "value": "plan9"},
                                             {"name": "arch", "value": arch}]),
             "labels[0].value", "unknown os")
bad_manifest("manifest-no-arch.aci",
             manifest("manifest-no-arch", labels=[{"name": "os", "value": "linux"}]),
             "labels", "arch label is required")
bad_manifest("manifest-exec.aci",
             manifest("manifest-exec", app={"exec": [], "user": "0", "group": "0"}),
             "app.exec", "must not be empty")
bad_manifest("manifest-port.aci",
             manifest("manifest-port", app={"exec": ["/bin/sh"], "user": "0", "group": "0",
                                            "ports": [{"name": "www", "protocol": "tcp",
                                                       "port": 80},
                                                      {"name": "big", "protocol": "tcp",
                                                       "port": 70000}]}),
             "app.ports[1].port", "out of range")
bad_manifest("manifest-isolator.aci",
             manifest("manifest-isolator",
                      app={"exec": ["/bin/sh"], "user": "0", "group": "0",
                           "isolators": [{"name": "os/linux/oom-score-adj", "value": 5000}]}),
             "app.isolators[0].value", "out of range")
bad_manifest("manifest-dependency.aci",
             manifest("manifest-dependency",
                      dependencies=[{"imageName": "stage0.io/test/base",
                                     "imageID": "sha256-00"}]),
             "dependencies[0].imageID", "image ID")
bad_manifest("manifest-whitelist.aci",
             manifest("manifest-whitelist", pathWhitelist=["etc/passwd"]),
             "pathWhitelist[0]", "absolute")
big = manifest("manifest-too-large", pad="x" * (1024 * 1024))
bad_manifest("manifest-too-large.aci", big, "manifestSize",
             "over IMAGE_MANIFEST_SIZE_MAX (1 MiB)", error="LimitExceeded")

# Streams that are not (whole) tars.
bomb = tar_bytes(good_entries("bomb") + [entry("rootfs/zeros", data=bytes(10 * 1024 * 1024))])
bad_image("bomb.aci.gz", gz(bomb), "LimitExceeded", "imageSize",
          "expands to 10 MiB of zeros: refused with an image size limit below 10485760")
with open(busybox_aci, "rb") as f:
    bad_image("truncated.aci", f.read(300 * 1024), "InvalidImage", "-",
              "truncated inside an entry")
small = gz(tar_bytes(good_entries("truncated-gz")))
bad_image("truncated.aci.gz", small[:len(small) - 12], "InvalidImage", "-",
          "truncated gzip stream")
bad_image("not-tar.aci", b"This is not a tar archive.\n" * 40, "InvalidImage", "-",
          "not a tar")
bad_image("empty.aci", b"", "InvalidImage", "-", "empty file")
bad_image("gzip-garbage.aci.gz", gz(b"no tar in here\n" * 100), "InvalidImage", "-",
          "gzip of something that is not a tar")

with open(os.path.join(bad, "expected.tsv"), "w") as f:
    f.write("# One bad image a line: file, error, field or path, note; separated by one tab.\n"
            "# error is the io.stage0.Images error name. field or path: the InvalidManifest\n"
            "# field, the InvalidImage path (the tar entry as written), or the LimitExceeded\n"
            "# limit; \"-\" when there is none to check, \"(manifest)\" for the field \"\".\n"
            "# The note says what the attack is (not the daemon's wording).\n")
    for row in expected:
        assert all(row) and not any("\t" in c for c in row)
        f.write("\t".join(row) + "\n")

# special.aci: a good image with entries the renderer must reproduce exactly.
special = [
    entry("manifest", data=manifest("special")),
    dir_("rootfs"),
    dir_("rootfs/etc"),
    entry("rootfs/etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"
                                    b"app:x:1000:1000:app:/home/app:/bin/sh\n"),
    entry("rootfs/etc/group", data=b"root:x:0:\napp:x:1000:\n"),
    dir_("rootfs/home"),
    dir_("rootfs/home/app", mode=0o700, uid=1000, gid=1000),
    entry("rootfs/home/app/private", data=b"secret\n", mode=0o600, uid=1000, gid=1000),
    entry("rootfs/setuid", data=b"#!/bin/sh\n", mode=0o4755),
    entry("rootfs/setgid", data=b"#!/bin/sh\n", mode=0o2711, gid=1000),
    dir_("rootfs/sticky", mode=0o1777),
    entry("rootfs/empty", data=b""),
    entry("rootfs/mtime", data=b"time\n", mtime=1234567890),
    entry("rootfs/abs-link", tarfile.SYMTYPE, link="/etc/passwd"),
    entry("rootfs/rel-link", tarfile.SYMTYPE, link="../../etc/passwd"),
    entry("rootfs/hardlink", tarfile.LNKTYPE, link="rootfs/etc/passwd"),
    entry("rootfs/fifo", tarfile.FIFOTYPE, mode=0o640),
    entry("rootfs/xattr", data=b"x\n", pax={"SCHILY.xattr.user.stage0": "yes"}),
    entry("rootfs/" + "long-name-" * 15, data=b"long\n"),
]
write(os.path.join(out, "special.aci"), tar_bytes(special, tarfile.PAX_FORMAT))
