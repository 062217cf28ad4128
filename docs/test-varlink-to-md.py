#!/usr/bin/env python3
"""The check of varlink-to-md.py (meson test "docs-protocol"): every interface file of the
protocol renders, and the page has a section for each of its methods, types and errors and no
link to a missing anchor; inputs that are not valid interfaces are refused with a located
message and leave no output behind.

Usage: test-varlink-to-md.py GENERATOR PROTOCOL_DIR
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

# Each must be refused with a message that contains the second string.
BROKEN = [
    ("", "expected 'interface'"),
    ("interface io.example\n", "declares no method"),
    ("interface example\nmethod A() -> ()\n", "not a valid interface name"),
    ("interface io.example\nmethod a() -> ()\n", "not a valid method name"),
    ("interface io.example\nmethod A() -> ()\nmethod A() -> ()\n", "defined twice"),
    ("interface io.example\nmethod A(x: Missing) -> ()\n", "Missing is not defined"),
    ("interface io.example\nmethod A(x: int, x: int) -> ()\n", "appears twice"),
    ("interface io.example\nmethod A(x: ??int) -> ()\n", "applied twice"),
    ("interface io.example\nmethod A(x: []?int) -> ()\n", "may not be optional"),
    ("interface io.example\nmethod A(x: [int]int) -> ()\n", "string]"),
    ("interface io.example\ntype T (a, b: int)\nmethod A() -> ()\n", "mixes"),
    ("interface io.example\ntype T string\nmethod A() -> ()\n", "must be a struct or an enum"),
    ("interface io.example\nmethod A(x: int -> ()\n", "expected ',' or ')'"),
    ("interface io.example\nmethod A(x: int)\n", "expected '->'"),
    ("interface io.example\nmethod A() -> () $\n", "unexpected character"),
    ("interface io.example\nerror E int\nmethod A() -> ()\n", "expected '('"),
]

failures = 0


def fail(message):
    global failures
    failures += 1
    print("FAIL: " + message)


def run(generator, source, output):
    return subprocess.run([sys.executable, generator, source, "-o", output],
                          capture_output=True, text=True, timeout=60)


def check_page(path, source_text, page):
    names = re.findall(r"^(method|type|error)\s+([A-Z][A-Za-z0-9]*)", source_text, re.M)
    if not names:
        fail("%s: found no members to look for" % path)
    for kind, name in names:
        if '<a id="%s-%s"></a>' % (kind, name.lower()) not in page:
            fail("%s: no section for %s %s" % (path, kind, name))
    interface = re.search(r"^interface\s+(\S+)", source_text, re.M).group(1)
    if not page.startswith("# %s\n" % interface):
        fail("%s: the page does not start with the interface name" % path)
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', page))
    for target in re.findall(r"\]\(#([^)]+)\)", page):
        if target not in anchors:
            fail("%s: link to missing anchor #%s" % (path, target))
    if "| field | type | description |" not in page:
        fail("%s: no field table" % path)


def check_protocol(generator, protocol_dir, tmp):
    files = sorted(glob.glob(os.path.join(protocol_dir, "*.varlink")))
    # The protocol has four interfaces today; fewer means the glob looked in the wrong place.
    if len(files) < 4:
        fail("expected at least 4 interface files in %s, found %d" % (protocol_dir, len(files)))
    for path in files:
        out = os.path.join(tmp, os.path.basename(path) + ".md")
        r = run(generator, path, out)
        if r.returncode != 0:
            fail("%s: exit status %d: %s" % (path, r.returncode, r.stderr.strip()))
            continue
        with open(path, encoding="utf-8") as f:
            source_text = f.read()
        with open(out, encoding="utf-8") as f:
            check_page(path, source_text, f.read())
        print("ok: %s" % os.path.basename(path))


def check_broken(generator, tmp):
    for i, (text, expected) in enumerate(BROKEN):
        source = os.path.join(tmp, "io.example.varlink")
        out = os.path.join(tmp, "broken-%d.md" % i)
        with open(source, "w", encoding="utf-8") as f:
            f.write(text)
        r = run(generator, source, out)
        if r.returncode != 1:
            fail("broken input %d (%r): exit status %d, expected 1" % (i, text, r.returncode))
        elif not re.match(re.escape(source) + r":\d+:\d+: ", r.stderr):
            fail("broken input %d: message is not located: %r" % (i, r.stderr))
        elif expected not in r.stderr:
            fail("broken input %d: message %r does not say %r" % (i, r.stderr.strip(), expected))
        if os.path.exists(out):
            fail("broken input %d: an output file was written" % i)
    leftovers = [n for n in os.listdir(tmp) if n.startswith(".varlink-to-md.")]
    if leftovers:
        fail("temporary files left behind: %s" % leftovers)
    print("ok: %d broken inputs refused" % len(BROKEN))


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    generator, protocol_dir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        check_protocol(generator, protocol_dir, tmp)
        check_broken(generator, tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
