#!/bin/bash
# Starts stage0d on a temporary socket and data dir, runs bench-varlink against it RUNS times
# (default 1) and stops the daemon. Usage:
#   bench/run-varlink.sh [BUILD_DIR] [-- BENCH_ARGS...]
# BUILD_DIR defaults to ./build; env RUNS=N repeats the bench, each run on the same daemon.
set -euo pipefail

BUILD=${1:-build}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
STAGE0D="$BUILD/daemon/stage0d"
STAGE0C="$BUILD/client/stage0c"
BENCH="$BUILD/bench/bench-varlink"
for f in "$STAGE0D" "$STAGE0C" "$BENCH"; do
        [ -x "$f" ] || { echo "$f not built (ninja -C $BUILD)" >&2; exit 2; }
done

T=$(mktemp -d /tmp/stage0-bench.XXXXXX)
DAEMON_PID=
stop() {
        local rc=$?
        if [ -n "$DAEMON_PID" ]; then
                kill -TERM "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
        fi
        rm -rf "$T"
        exit "$rc"
}
trap stop EXIT

# No --debug: the bench measures the daemon as it runs in production.
"$STAGE0D" --socket "$T/io.stage0" --data-dir "$T/data" 2>"$T/daemon.log" &
DAEMON_PID=$!
for _ in $(seq 1 100); do
        "$STAGE0C" --socket "unix:$T/io.stage0" info >/dev/null 2>&1 && break
        sleep 0.05
done
"$STAGE0C" --socket "unix:$T/io.stage0" info >/dev/null || { cat "$T/daemon.log" >&2; exit 1; }

echo "# $("$STAGE0D" --version 2>/dev/null || echo stage0d) on $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "${RUNS:-1}"); do
        [ "${RUNS:-1}" -gt 1 ] && echo "# run $i"
        "$BENCH" "$@" "unix:$T/io.stage0"
done
