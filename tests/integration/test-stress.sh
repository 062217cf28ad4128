#!/bin/bash
# Many peers and misbehaving peers against one stage0d: 200 connections x 100 pipelined calls
# all answered correctly and in order; peers holding half a message or reading nothing do not
# delay a normal client; hundreds of peers leaving in the middle of a Pods.Watch stream leave
# the daemon answering, alive and with the fd count it had before. The load comes from
# $STRESS_CLIENT (tests/integration/stress-client.c); every wait here is bounded.
. "$TESTS_LIB"

: "${STRESS_CLIENT:?}"
ADDR="unix:$SOCK"
HELPER_PIDS=()

stop_helpers_on_exit() {
        local rc=$? pid
        for pid in "${HELPER_PIDS[@]}"; do
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        # cleanup takes the exit status from $?; errexit must not fire on the way there.
        set +e
        (exit "$rc")
        cleanup
}
trap stop_helpers_on_exit EXIT

daemon_fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }

# fds_back_to N: the daemon's open fds drop back to N within 5 s.
fds_back_to() {
        local want=$1 i now
        for i in $(seq 1 100); do
                now=$(daemon_fds)
                [ "$now" -le "$want" ] && return 0
                sleep 0.05
        done
        echo "daemon has $now fds open, had $want before" >&2
        ls -l "/proc/$DAEMON_PID/fd" >&2
        return 1
}

# wait_for_line FILE REGEX: a background helper printed its ready line within 5 s.
wait_for_line() {
        local i
        for i in $(seq 1 100); do
                grep -qE -- "$2" "$1" 2>/dev/null && return 0
                sleep 0.05
        done
        echo "--- no line matching '$2' in $1 after 5 s:" >&2
        cat "$1" >&2 || true
        return 1
}

daemon_healthy() {
        kill -0 "$DAEMON_PID" && timeout 5 "$STAGE0C" info >/dev/null
}

# within SECONDS COMMAND...: the command succeeds and takes at most SECONDS (whole seconds).
within() {
        local limit=$1 start end rc=0; shift
        start=$(date +%s%N)
        timeout "$limit" "$@" || rc=$?
        end=$(date +%s%N)
        echo "# took $(( (end - start) / 1000000 )) ms: $*"
        return "$rc"
}

start_daemon
check "daemon answers GetInfo" daemon_healthy
FDS_IDLE=$(daemon_fds)
log "daemon $DAEMON_PID has $FDS_IDLE fds open when idle"

log "1. 200 concurrent connections x 100 pipelined calls"
check "all 20000 replies correct and in order" \
        within 90 "$STRESS_CLIENT" ordered "$ADDR" 200 100 60
check "daemon healthy after the load" daemon_healthy
check "every connection closed again" fds_back_to "$FDS_IDLE"

log "2. stalled peers do not delay a normal client"
# Ten peers each with part of a call and no NUL, plus one that pipelines calls and never
# reads its replies; they are held for 8 s, far longer than the normal client may take.
"$STRESS_CLIENT" stall "$ADDR" 8 10 >"$T/stall.out" 2>&1 &
STALL_PID=$!
HELPER_PIDS+=("$STALL_PID")
"$STRESS_CLIENT" noread "$ADDR" 100000 8 >"$T/noread.out" 2>&1 &
HELPER_PIDS+=($!)
check "stalled peers connected and sent half a call" wait_for_line "$T/stall.out" '^stalled:'
check "non-reading peer sent its calls" wait_for_line "$T/noread.out" '^noread:'
check "a normal client's 4 x 50 calls complete within 5 s" \
        within 5 "$STRESS_CLIENT" ordered "$ADDR" 4 50 5
check "stage0c info completes within 5 s" within 5 "$STAGE0C" info
check "stalled peers still alive while the normal client ran" kill -0 "$STALL_PID"
# Once they send the rest of their calls, each is answered: the half messages were kept.
check "stalled calls answered once completed" wait "$STALL_PID"
cat "$T/stall.out"
check "daemon healthy after the stalled peers" daemon_healthy

log "3. peers leaving in the middle of a more stream"
# Into a file first: grep -q stopping early would fail the pipe under pipefail.
timeout 5 "$STAGE0C" introspect io.stage0.Pods >"$T/pods.varlink" || true
if ! grep -q '^method Watch(' "$T/pods.varlink"; then
        fail "io.stage0.Pods.Watch is not declared; no streaming method to test with"
else
        for pid in "${HELPER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
        HELPER_PIDS=()
        check "daemon back to its idle fd count before the streams" fds_back_to "$FDS_IDLE"
        check "300 peers leave a Pods.Watch stream in four ways" \
                within 60 "$STRESS_CLIENT" more-disconnect "$ADDR" io.stage0.Pods.Watch 300
        check "daemon process alive" kill -0 "$DAEMON_PID"
        check "GetInfo works afterwards" daemon_healthy
        check "daemon fd count back to $FDS_IDLE" fds_back_to "$FDS_IDLE"
        # The subscriber list must still work after all those removals.
        check "a new Watch gets its first event" \
                within 5 "$STRESS_CLIENT" more-disconnect "$ADDR" io.stage0.Pods.Watch 1
fi

check "daemon exits 0 on SIGTERM" stop_daemon
finish
