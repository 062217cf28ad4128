#!/bin/bash
# Soak: TOTAL (default 2000) pod lifecycles, PARALLEL (default 8) at a time, against a fresh
# stage0d on a temporary socket and data dir, with the build's stage1 and busybox test image.
# bench/soak-driver.py drives them and prints a row every EVERY (default 100) lifecycles:
# pods/s of that round, and stage0d's RSS and open fds once it has settled. Then the targets
# (RSS under 10 MB and flat, fds flat) and what is left behind (mounts, processes, pods).
# Usage:
#   bench/soak.sh [BUILD_DIR]            # BUILD_DIR defaults to ./build
#   TOTAL=500 EVERY=50 bench/soak.sh build
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
STAGE0D="$BUILD/daemon/stage0d"
STAGE0C="$BUILD/client/stage0c"
STAGE1_ACI="$BUILD/stage1/stage1.aci"
BUSYBOX="$BUILD/tests/images/busybox.aci"
for f in "$STAGE0D" "$STAGE0C" "$STAGE1_ACI" "$BUSYBOX"; do
        [ -e "$f" ] || { echo "$f not built (ninja -C $BUILD)" >&2; exit 2; }
done
TOTAL=${TOTAL:-2000} EVERY=${EVERY:-100} PARALLEL=${PARALLEL:-8}
RSS_TARGET_KB=10240

T=$(mktemp -d /tmp/stage0-soak.XXXXXX)
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

# No --debug: measured as it runs in production; no GC timer: only the lifecycles' GC calls.
"$STAGE0D" --socket "$T/io.stage0" --data-dir "$T/data" --stage1-image "$STAGE1_ACI" \
        --gc-interval 0 2>"$T/daemon.log" &
DAEMON_PID=$!
export STAGE0_SOCKET="unix:$T/io.stage0"
for _ in $(seq 1 100); do
        "$STAGE0C" info >/dev/null 2>&1 && break
        sleep 0.05
done
"$STAGE0C" info >/dev/null || { cat "$T/daemon.log" >&2; exit 1; }
"$STAGE0C" image import "$BUSYBOX" >/dev/null

status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DAEMON_PID/status"; }

echo "# $("$STAGE0D" --version 2>/dev/null || echo stage0d) on $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $TOTAL lifecycles (Run to exit, Wait, GarbageCollect), $PARALLEL at a time"
echo "# idle after start: RSS $(status_kb VmRSS) kB, $(ls "/proc/$DAEMON_PID/fd" | wc -l) fds"
rc=0
python3 "$HERE/soak-driver.py" --socket "$T/io.stage0" --daemon-pid "$DAEMON_PID" \
        --parallel "$PARALLEL" --total "$TOTAL" --every "$EVERY" --json "$T/soak.json" || rc=$?

echo "# load $(cut -d' ' -f1-3 /proc/loadavg); RSS now $(status_kb VmRSS) kB: anonymous" \
        "$(status_kb RssAnon) kB, file-backed (binary and libraries) $(status_kb RssFile) kB;" \
        "peak $(status_kb VmHWM) kB"
jq -r --argjson target "$RSS_TARGET_KB" '
        [.samples[].rssKb] as $rss | [.samples[].fds] as $fds |
        "# RSS: \($rss | min)..\($rss | max) kB, first to last \($rss[-1] - $rss[0]) kB;" +
        " under \($target) kB: \(if ($rss | max) < $target then "yes" else "NO" end)",
        "# fds: \($fds | min)..\($fds | max), flat: \(if ($fds | min) == ($fds | max) then "yes" else "NO" end)"
        ' "$T/soak.json"
echo "# left behind: $(grep -c " $T/data/" /proc/self/mountinfo || true) mounts," \
        "$(find "$T/data/pods" -mindepth 2 -maxdepth 2 | wc -l) pod dirs," \
        "$(pgrep -c -P "$DAEMON_PID" || true) children of stage0d"
exit "$rc"
