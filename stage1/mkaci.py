#!/usr/bin/env python3
"""Packs the stage1 programs into stage1.aci: an uncompressed tar holding `manifest` (the
image manifest with the stage1 entrypoint annotations, interface version 6) and `rootfs/`
with /init, /stop, /gc and the directories stage0 and stage1 use. The output is
reproducible: fixed owner, mode and mtime (SOURCE_DATE_EPOCH or 0), sorted entries."""

import argparse
import io
import json
import os
import tarfile

DIRS = ["rootfs", "rootfs/etc", "rootfs/opt", "rootfs/opt/stage2", "rootfs/rkt",
        "rootfs/rkt/status", "rootfs/rkt/env", "rootfs/rkt/isolators"]


def manifest(version, arch, programs):
    annotations = [{"name": "coreos.com/rkt/stage1/" + entry, "value": "/" + name}
                   for entry, name in sorted(programs)]
    annotations.append({"name": "coreos.com/rkt/stage1/interface-version", "value": "6"})
    return {
        "acKind": "ImageManifest",
        "acVersion": "0.8.11",
        "name": "stage0.io/stage1",
        "labels": [{"name": "version", "value": version},
                   {"name": "os", "value": "linux"},
                   {"name": "arch", "value": arch}],
        "annotations": annotations,
    }


def add(tar, name, mtime, data=None, mode=0o755, path=None):
    info = tarfile.TarInfo(name)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = mtime
    info.mode = mode
    if data is None and path is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return
    if path is not None:
        with open(path, "rb") as f:
            data = f.read()
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--output", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--arch", required=True)
    p.add_argument("--program", action="append", default=[],
                   help="ENTRYPOINT:NAME=PATH, e.g. run:init=build/stage1-init")
    a = p.parse_args()
    programs = {}
    for x in a.program:
        spec, path = x.split("=", 1)
        entry, name = spec.split(":", 1)
        programs[(entry, name)] = path
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    text = json.dumps(manifest(a.version, a.arch, programs), indent=2, sort_keys=True) + "\n"
    tmp = a.output + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "manifest", mtime, data=text.encode(), mode=0o644)
        for d in DIRS:
            add(tar, d, mtime)
        for entry, name in sorted(programs, key=lambda k: k[1]):
            add(tar, "rootfs/" + name, mtime, path=programs[(entry, name)], mode=0o755)
    os.replace(tmp, a.output)


if __name__ == "__main__":
    main()
