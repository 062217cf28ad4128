#!/usr/bin/env python3
"""make-stage1-variant.py IN OUT VERSION: copies the ACI IN (an uncompressed tar, such as
tests/images' fake-stage1.aci) to OUT with its image manifest's stage1 interface-version
annotation set to VERSION, or removed when VERSION is "none" (a stage1 that predates the
annotation: version 1). Every other member is copied as it is, so the entrypoints stay the
same and only what stage0 learns from the manifest changes. The name gets a "-vVERSION"
suffix, so the variants are told apart in the store; the output is reproducible."""
import io
import json
import sys
import tarfile

ANNOTATION = "coreos.com/rkt/stage1/interface-version"


def rewrite(manifest, version):
    m = json.loads(manifest)
    annotations = [a for a in m.get("annotations", []) if a["name"] != ANNOTATION]
    if version != "none":
        annotations.append({"name": ANNOTATION, "value": version})
    m["annotations"] = annotations
    m["name"] = "%s-v%s" % (m["name"], version)
    return json.dumps(m, indent=2, sort_keys=True).encode() + b"\n"


def main(argv):
    if len(argv) != 4 or not (argv[3] == "none" or argv[3].isdigit()):
        sys.stderr.write("usage: %s IN OUT VERSION|none\n" % argv[0])
        return 2
    src, dst, version = argv[1:]
    with tarfile.open(src, "r:") as tin, tarfile.open(dst, "w:", format=tarfile.GNU_FORMAT) as tout:
        found = False
        for member in tin:
            data = tin.extractfile(member) if member.isfile() else None
            if member.name in ("manifest", "./manifest"):
                found = True
                body = rewrite(data.read(), version)
                member.size = len(body)
                data = io.BytesIO(body)
            tout.addfile(member, data)
        if not found:
            sys.stderr.write("%s: no manifest in %s\n" % (argv[0], src))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
