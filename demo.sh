#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: installs what is missing, builds stage0,
# starts stage0d on its default socket (/run/stage0/io.stage0) and data dir (/var/lib/stage0)
# with the reference stage1, imports a busybox image and runs a pod from it. stage0d is
# stopped again at the end; the pod's record stays in the data dir.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh
if [ -f build-demo/build.ninja ]; then
        meson setup --reconfigure build-demo >/dev/null
else
        meson setup build-demo -Dbuildtype=release >/dev/null
fi
ninja -C build-demo >/dev/null

STAGE0D=build-demo/daemon/stage0d
STAGE0C=build-demo/client/stage0c
STAGE1=$PWD/build-demo/stage1/stage1.aci
IMAGE=$PWD/build-demo/tests/images/busybox.aci

DAEMON_PID=
stop_daemon() {
        if [ -n "$DAEMON_PID" ]; then
                kill -TERM "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
        fi
}
trap stop_daemon EXIT

if "$STAGE0C" info >/dev/null 2>&1; then
        echo "demo: a stage0d already answers on /run/stage0/io.stage0; using it"
else
        "$STAGE0D" --stage1-image "$STAGE1" 2>>/tmp/stage0d-demo.log &
        DAEMON_PID=$!
        for _ in $(seq 100); do
                "$STAGE0C" info >/dev/null 2>&1 && break
                sleep 0.05
        done
fi

run() {
        echo
        echo "\$ stage0c $*"
        "$STAGE0C" "$@"
}

run info
run image import "$IMAGE"
run image list
run run stage0.io/test/busybox
run run stage0.io/test/busybox --exec /bin/sh -- -c 'echo "hello from pod $(hostname), pid $$"' ---
run list
# The demo's pods go again (their overlays stay mounted until a pod is removed).
run gc --grace-period 0s
echo
echo "demo: done (stage0d served /run/stage0/io.stage0 with data in /var/lib/stage0;"
echo "      its log is /tmp/stage0d-demo.log)"
