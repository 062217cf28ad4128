#!/bin/bash
# The real units with systemd-socket-activate standing in for PID 1 (systemd is not init on
# the test machines): the socket's ListenStream, FileDescriptorName and DirectoryMode and the
# service's ExecStart, Type, NotifyAccess, KillMode, KillSignal, TimeoutStopSec and
# LimitNOFILE are read from the units as built (build/units/), so this test breaks when they
# change in a way it does not follow. It checks: the first connection activates stage0d on the
# passed socket; READY=1 reaches NOTIFY_SOCKET (a datagram listener here) from the main
# process; a pod started through that daemon keeps running when the daemon is stopped as
# systemd would (KillSignal to the main process only: KillMode=process); a stage0d activated
# again reports that pod running and, once it ends, exited with its exit code.
#
# The units name /run/stage0/io.stage0 and (through ExecStart's default) /var/lib/stage0. So
# as not to touch the host's, the test re-runs itself in a private mount namespace with
# tmpfs over /run and /var/lib. The stage1 comes from the store (spec.stage1Image), so
# ExecStart runs exactly as the unit has it, only with the built binary for @SBINDIR@'s.
if [ "${STAGE0_TEST_SYSTEMD_NS:-}" != 1 ]; then
        command -v systemd-socket-activate >/dev/null || { echo "no systemd-socket-activate"; exit 77; }
        unshare --mount --propagation private true 2>/dev/null || { echo "no mount namespace"; exit 77; }
        STAGE0_TEST_SYSTEMD_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
. "$TESTS_LIB"
: "${BUILD_ROOT:?}" "${TEST_IMAGES:?}" "${STAGE1_ACI:?}"

SOCKET_UNIT="$BUILD_ROOT/units/stage0d.socket"
SERVICE_UNIT="$BUILD_ROOT/units/stage0d.service"
GATE="$T/gate"
NOTIFY_LOG="$T/notify.log"
NOTIFY_PID=

# Mounts under /var/lib/stage0 that the namespace inherited from the host (a stage0d of the
# host's own) are hidden by the tmpfs but still listed; only new ones count below.
data_mounts() { awk '$5 ~ "^/var/lib/stage0/" { print }' /proc/self/mountinfo; }
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib
INHERITED_MOUNTS=$(data_mounts | awk '{ print $1 }')
mkdir "$GATE"

stop_helpers() {
        local rc=$?
        # A pod still waiting for its gate ends now rather than after its own bound.
        [ -d "$GATE" ] && touch "$GATE/go"
        if [ -n "$NOTIFY_PID" ]; then
                kill "$NOTIFY_PID" 2>/dev/null || true
                wait "$NOTIFY_PID" 2>/dev/null || true
        fi
        set +e
        (exit "$rc")
        cleanup
}
trap stop_helpers EXIT

# unit_value FILE SECTION KEY: the last value of KEY in [SECTION] (the one systemd uses).
unit_value() {
        awk -v want="[$2]" -v key="$3" '
                /^\[/ { section = $0; next }
                section == want && index($0, key "=") == 1 { value = substr($0, length(key) + 2) }
                END { if (value == "") exit 1; print value }' "$1"
}

# need FILE SECTION KEY WANT: the unit has KEY=WANT, which this test relies on.
need() {
        local got
        got=$(unit_value "$1" "$2" "$3") || got="(none)"
        if [ "$got" = "$4" ]; then pass "$(basename "$1"): $3=$4"; else
                fail "$(basename "$1"): $3=$got, this test needs $4"; fi
}

LISTEN=$(unit_value "$SOCKET_UNIT" Socket ListenStream)
FDNAME=$(unit_value "$SOCKET_UNIT" Socket FileDescriptorName)
DIRMODE=$(unit_value "$SOCKET_UNIT" Socket DirectoryMode || echo 0755)
EXEC_START=$(unit_value "$SERVICE_UNIT" Service ExecStart)
KILL_SIGNAL=$(unit_value "$SERVICE_UNIT" Service KillSignal || echo SIGTERM)
STOP_TIMEOUT=$(unit_value "$SERVICE_UNIT" Service TimeoutStopSec || echo 90)
NOFILE=$(unit_value "$SERVICE_UNIT" Service LimitNOFILE || echo 1024)
need "$SERVICE_UNIT" Service Type notify
need "$SERVICE_UNIT" Service NotifyAccess main
need "$SERVICE_UNIT" Service KillMode process
check "ListenStream is an absolute path ($LISTEN)" test "${LISTEN#/}" != "$LISTEN"
check "TimeoutStopSec is whole seconds ($STOP_TIMEOUT)" grep -Eq '^[0-9]+s?$' <<<"$STOP_TIMEOUT"
STOP_TIMEOUT=${STOP_TIMEOUT%s}

# ExecStart: no prefixes (-@:+!) and no specifiers or variables that this test would have to
# expand; the binary is stage0d, replaced by the one just built.
read -r -a EXEC_ARGV <<<"$EXEC_START"
check "ExecStart runs stage0d directly ($EXEC_START)" \
        test "$(basename "${EXEC_ARGV[0]}")" = stage0d -a "${EXEC_ARGV[0]#/}" != "${EXEC_ARGV[0]}"
check "ExecStart has no specifiers or variables" grep -vq '[%$]' <<<"$EXEC_START"
EXEC_ARGV[0]=$STAGE0D
export STAGE0_SOCKET="unix:$LISTEN"

# The notify socket: every datagram as "PID<TAB>MESSAGE" (the sender's pid from its
# credentials, which NotifyAccess=main checks), one message per line with newlines as "|".
python3 - "$T/notify" "$NOTIFY_LOG" <<'PY' &
import os, socket, struct, sys, time
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
s.settimeout(1.0)
open(log + ".ready", "w").close()
end = time.monotonic() + 180   # bounded even if nobody stops it
with open(log, "a", buffering=1) as out:
    while time.monotonic() < end:
        try:
            data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            continue
        pid = 0
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", value[:12])[0]
        out.write("%d\t%s\n" % (pid, data.decode(errors="replace").strip().replace("\n", "|")))
PY
NOTIFY_PID=$!
for _ in $(seq 1 100); do [ -e "$NOTIFY_LOG.ready" ] && break; sleep 0.05; done

# activate: what PID 1 does for the socket and the service: the socket's directory, the
# listening socket named FDNAME, NOTIFY_SOCKET and the fd limit, stage0d exec'd in the same
# process (so $DAEMON_PID is the main process) at the first connection.
activate() {
        mkdir -p -m "$DIRMODE" "$(dirname "$LISTEN")"
        (ulimit -n "$NOFILE" && exec systemd-socket-activate -l "$LISTEN" --fdname="$FDNAME" \
                -E NOTIFY_SOCKET="$T/notify" "${EXEC_ARGV[@]}") >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        local i
        for i in $(seq 1 100); do [ -S "$LISTEN" ] && break; sleep 0.05; done
}

# notified PID MESSAGE: within 10 s, the notify log has MESSAGE from PID.
notified() {
        local i
        for i in $(seq 1 200); do
                grep -q "^$1	.*$2" "$NOTIFY_LOG" 2>/dev/null && return 0
                sleep 0.05
        done
        echo "no $2 from $1 in:" >&2; cat "$NOTIFY_LOG" >&2
        return 1
}

# call METHOD JSON: stage0c call, bounded; the reply in $T/out.
call() { timeout 30 "$STAGE0C" call "$@" >"$T/out" 2>"$T/err"; }
jqo() { jq -r "$1" <"$T/out"; }
is() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got '$1', want '$2'"; fi; }

log "activation"
activate
check "nothing runs stage0d before the first connection" \
        test "$(readlink "/proc/$DAEMON_PID/exe")" != "$(readlink -f "$STAGE0D")"
check "the first connection activates stage0d" wait_for_socket "$LISTEN"
check "stage0d is the activator's process (the unit's main process)" \
        test "$(readlink "/proc/$DAEMON_PID/exe")" = "$(readlink -f "$STAGE0D")"
check "READY=1 reaches NOTIFY_SOCKET from the main process" notified "$DAEMON_PID" "READY=1"
check "it listens on the passed socket, not one of its own" \
        grep -q "Listening on the socket passed by systemd" "$T/daemon.log"
check "its data dir is the default one" test -d /var/lib/stage0/images

timeout 30 "$STAGE0C" image import "$TEST_IMAGES/busybox.aci" >"$T/bb" && BB=$(cat "$T/bb")
timeout 30 "$STAGE0C" image import "$STAGE1_ACI" >"$T/s1" && S1=$(cat "$T/s1")

log "a pod that outlives its stage0d"
# The app says it started, then waits (at most 60 s) for the test to open its gate.
SCRIPT='touch /gate/started; i=0; while [ ! -e /gate/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; exit 7'
SPEC=$(jq -cn --arg bb "$BB" --arg s1 "$S1" --arg gate "$GATE" --arg script "$SCRIPT" '{spec: {
        apps: [{image: {id: $bb}, name: "gated", exec: "/bin/sh", args: ["-c", $script],
                mounts: [{volume: "gate", path: "/gate"}]}],
        volumes: [{name: "gate", kind: "host", source: $gate}],
        stage1Image: {id: $s1}}}')
UUID=
if call io.stage0.Pods.Run "$SPEC"; then
        UUID=$(jqo .uuid)
        pass "Run through the activated daemon ($UUID)"
else
        fail "Run: $(head -c 400 "$T/err")"
fi
for _ in $(seq 1 200); do [ -e "$GATE/started" ] && break; sleep 0.05; done
check "the app runs" test -e "$GATE/started"
# The pod's processes: its worker (a child of stage0d), stage1 and the app below that; not the
# app's short-lived sleeps.
descendants() {
        local kid
        for kid in $(pgrep -P "$1"); do
                [ "$(cat "/proc/$kid/comm" 2>/dev/null)" = sleep ] || echo "$kid"
                descendants "$kid"
        done
}
# A worker that took a job renames itself "w:<method>"; the idle spares stage0d keeps (and
# one it is just starting) go with it. The pod's worker and what runs under it must not.
busy_workers() {
        local pid
        for pid in $(pgrep -P "$DAEMON_PID"); do
                case "$(cat "/proc/$pid/comm" 2>/dev/null)" in w:*) echo "$pid" ;; esac
        done
}
WORKERS=$(busy_workers | tr '\n' ' ')
pod_procs() { for w in $WORKERS; do echo "$w"; descendants "$w"; done | sort; }
# Two looks 0.3 s apart: a child of the app's shell between its fork and its exec of sleep is
# not "sleep" yet, and gone by the second look.
first=$(pod_procs)
sleep 0.3
POD_PROCS=$(comm -12 <(echo "$first") <(pod_procs) | tr '\n' ' ')
check "the pod has a worker under stage0d ($WORKERS)" test -n "$WORKERS"
check "and processes below it ($POD_PROCS)" test "$(wc -w <<<"$POD_PROCS")" -gt 1

# As systemd stops the unit: KillSignal to the main process only (KillMode=process), SIGKILL
# after TimeoutStopSec.
OLD_PID=$DAEMON_PID
kill -s "${KILL_SIGNAL#SIG}" "$DAEMON_PID"
for i in $(seq 1 $((STOP_TIMEOUT * 10))); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DAEMON_PID" 2>/dev/null; then
        fail "stage0d still runs $STOP_TIMEOUT s (TimeoutStopSec) after $KILL_SIGNAL"
        kill -KILL "$DAEMON_PID"
else
        pass "stage0d exits within TimeoutStopSec after $KILL_SIGNAL"
fi
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
is "$rc" 0 "its exit status"
check "it said STOPPING=1" notified "$OLD_PID" "STOPPING=1"
for pid in $POD_PROCS; do
        check "pod process $pid lives on ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | head -c 60))" \
                kill -0 "$pid"
done

log "a new stage0d"
activate
check "the next connection activates a new stage0d" wait_for_socket "$LISTEN"
check "READY=1 from the new main process" notified "$DAEMON_PID" "READY=1"
if call io.stage0.Pods.Status "{\"uuid\": \"$UUID\"}"; then
        is "$(jqo .pod.state)" running "the new stage0d reports the pod running"
else
        fail "Status: $(head -c 400 "$T/err")"
fi
timeout 35 "$STAGE0C" call io.stage0.Pods.Wait "{\"uuid\": \"$UUID\"}" >"$T/wait" 2>"$T/err" &
WAIT_PID=$!
sleep 0.2
touch "$GATE/go"
if wait "$WAIT_PID"; then
        is "$(jq -r '.pod.state + " " + (.pod.apps[0].exitCode | tostring)' "$T/wait")" "exited 7" \
                "then it reports the pod exited with the app's exit code"
else
        fail "Wait: $(head -c 400 "$T/err")"
fi
for pid in $POD_PROCS; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        check "pod process $pid is gone" test ! -d "/proc/$pid"
done
if call io.stage0.Pods.GarbageCollect '{"gracePeriodUsec": 0}'; then
        is "$(jqo '.collected | join(",")')" "$UUID" "GC collects the pod"
else
        fail "GarbageCollect: $(head -c 400 "$T/err")"
fi
left=$(data_mounts | awk -v old=" $(echo $INHERITED_MOUNTS) " 'index(old, " " $1 " ") == 0')
if [ -z "$left" ]; then pass "no mount left under /var/lib/stage0"; else
        fail "mounts left under /var/lib/stage0:"; echo "$left" >&2; fi
check "stage0d stops cleanly" stop_daemon
finish
