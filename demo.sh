#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: installs what is missing, builds stage0,
# starts stage0d on its default socket and data dir, and shows what works so far. stage0d is
# stopped again at the end (pods it runs outlive it; see docs/).
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
SOCKET=/run/stage0/io.stage0

if "$STAGE0C" info >/dev/null 2>&1; then
        echo "demo: a stage0d already answers on $SOCKET; using it"
        DAEMON_PID=
else
        "$STAGE0D" &
        DAEMON_PID=$!
        trap '[ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" && wait "$DAEMON_PID"' EXIT
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
run introspect io.stage0.Pods
run call org.varlink.service.GetInfo
run call io.stage0.Pods.List '{}' || true
echo
echo "demo: done (stage0d served on $SOCKET with data in /var/lib/stage0)"
