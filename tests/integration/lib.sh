# Shared by the integration tests: temporary dirs, starting and stopping stage0d, assertions.
# Every test sources this, gets its own $T (socket, data dir, logs) and leaves nothing behind.
set -euo pipefail

: "${STAGE0D:?}" "${STAGE0C:?}"
T=$(mktemp -d /tmp/stage0-test.XXXXXX)
SOCK="$T/io.stage0"
DATA="$T/data"
export STAGE0_SOCKET="unix:$SOCK"
DAEMON_PID=
_failures=0
_passes=0

cleanup() {
        local rc=$?
        if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
                kill -KILL "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
        fi
        # Pods a test left behind keep their overlays mounted: unmount them, deepest first,
        # so that the directory can go.
        awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
                while read -r m; do umount -l "$m" 2>/dev/null || true; done
        if [ "$rc" -ne 0 ] && [ -f "$T/daemon.log" ]; then
                echo "--- stage0d log:" >&2
                tail -n 50 "$T/daemon.log" >&2
        fi
        rm -rf "$T"
        exit "$rc"
}
trap cleanup EXIT

log() { echo "# $*"; }
fail() { echo "FAIL: $*" >&2; _failures=$((_failures + 1)); }
pass() { echo "ok: $*"; _passes=$((_passes + 1)); }

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
        local what=$1; shift
        if "$@"; then pass "$what"; else fail "$what"; fi
}

# wait_for_socket PATH [SECONDS]: until something accepts on PATH.
wait_for_socket() {
        local path=$1 i
        for i in $(seq 1 $(( ${2:-10} * 20 ))); do
                [ -S "$path" ] && "$STAGE0C" --socket "unix:$path" info >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        echo "socket $path did not come up" >&2
        return 1
}

# start_daemon [ARGS...]: stage0d on $SOCK and $DATA, logging to $T/daemon.log.
start_daemon() {
        STAGE0_CHECK_REPLIES=1 "$STAGE0D" --socket "$SOCK" --data-dir "$DATA" --debug "$@" \
                >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        wait_for_socket "$SOCK"
}

stop_daemon() {
        [ -n "$DAEMON_PID" ] || return 0
        kill -TERM "$DAEMON_PID"
        local rc=0
        wait "$DAEMON_PID" || rc=$?
        DAEMON_PID=
        return "$rc"
}

# finish: prints the closing line and exits non-zero on any failure.
finish() {
        echo "$_passes passed, $_failures failed"
        [ "$_failures" -eq 0 ]
}
