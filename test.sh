#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as root: installs what is missing, builds
# with -Werror, runs every test (unit, certification, integration), then builds again with
# ASan+UBSan and runs the unit tests there. Exit status 0 only if everything passed.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh

configure() {
        local dir=$1; shift
        if [ -f "$dir/build.ninja" ]; then
                meson setup --reconfigure "$dir" "$@" >/dev/null
        else
                meson setup "$dir" "$@" >/dev/null
        fi
        ninja -C "$dir"
}

# Prints "LABEL: N passed, N failed, N skipped" for the meson test runs of the given build
# dirs, from their JSON logs.
summary() {
        python3 - "$@" <<'PY'
import json, sys
label, dirs = sys.argv[1], sys.argv[2:]
ok = bad = skip = 0
for d in dirs:
    try:
        lines = open(d + "/meson-logs/testlog.json").readlines()
    except OSError:
        bad += 1
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            ok += 1
        elif r == "SKIP":
            skip += 1
        else:
            bad += 1
print(f"{label}: {ok} passed, {bad} failed, {skip} skipped")
PY
}

rc=0
configure build-test -Dwerror=true -Dbuildtype=debugoptimized
meson test -C build-test -v --num-processes 2 || rc=1
summary tests build-test

configure build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan -v --suite unit || rc=1
summary asan build-asan
summary total build-test build-asan
exit "$rc"
