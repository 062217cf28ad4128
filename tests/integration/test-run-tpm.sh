#!/bin/bash
# Pods measured into a TPM, end to end: stage0d (--tpm-tcti, --tpm-pcr) runs busybox pods with
# the reference stage1 while
#   - swtpm serves on a unix socket: PCR 16 read back (tpm-tool pcrread, and tpm2_pcrread when
#     installed) equals the replay of <data>/tpm/measurements.log, whose events name the pods
#     and their exact stage1 argv;
#   - there is no TPM (the default device, absent here): the pod runs, nobody waits, no warning,
#     nothing logged;
#   - the TPM accepts connections and never answers: the pod still starts within the default
#     2 s deadline plus a margin, and the reply carries a warning; nothing is logged as
#     confirmed.
# Exit 77 only when swtpm is not installed.
command -v swtpm >/dev/null || { echo "SKIP: swtpm is not installed"; exit 77; }
. "$TESTS_LIB"
: "${TEST_IMAGES:?}" "${STAGE1_ACI:?}"
TPM_TOOL=${TPM_TOOL:-$BUILD_ROOT/tests/integration/tpm-tool}
[ -x "$TPM_TOOL" ] || { echo "FAIL: no tpm-tool at '$TPM_TOOL'"; exit 1; }

C=$STAGE0C
PCR=16          # resettable from locality 0 (libraries.md §2), so swtpm starts it at zero
DEADLINE_MS=2000
LOG=$DATA/tpm/measurements.log
SWTPM_PID=
HANG_PID=

# Ours, then lib.sh's cleanup, which must still see the script's exit status. The helpers run
# under timeout(1), which passes SIGTERM on (and ends them by itself if this script is killed).
# A pod left mounted by a failure is unmounted, so that $T can go.
cleanup_run_tpm() {
        local p
        for p in $SWTPM_PID $HANG_PID; do
                kill -TERM "$p" 2>/dev/null || true
                wait "$p" 2>/dev/null || true
        done
        if [ -n "$DAEMON_PID" ]; then
                kill -KILL "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
                DAEMON_PID=
        fi
        grep " $T/" /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}
trap 'rc=$?; cleanup_run_tpm; (exit "$rc"); cleanup' EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

is() {
        if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got '$1', want '$2'"; fi
}

# wait_for PATH: until PATH exists, at most 5 s.
wait_for() {
        local i
        for i in $(seq 100); do
                [ -e "$1" ] && return 0
                sleep 0.05
        done
        return 1
}

# run_pod: Pods.Run of busybox, attached; replies in $T/out, the last in $T/final, the UUID in
# $RUN_UUID, the milliseconds the call took in $RUN_MS.
run_pod() {
        local start rc=0
        RUN_UUID= RUN_MS=
        start=$(now_ms)
        timeout 30 "$C" call io.stage0.Pods.Run "{\"spec\": {\"apps\": [{\"image\": {\"id\": \"$BB_ID\"}}]}, \"output\": true}" \
                --more >"$T/out" 2>"$T/err" || rc=$?
        # The app only prints a line: the whole call bounds how long the pod took to start.
        RUN_MS=$(($(now_ms) - start))
        tail -n 1 "$T/out" >"$T/final"
        RUN_UUID=$(jq -r '.uuid // empty' <"$T/final")
        [ -z "$RUN_UUID" ] || echo "$RUN_UUID" >>"$T/pods"
        [ "$rc" -eq 0 ] || { fail "Run: exit $rc: $(head -c 400 "$T/err")"; return 1; }
}

# pod_ran: the last run_pod's pod exited 0 and said hello.
pod_ran() {
        is "$(jq -r '.pod.state + " " + (.pod.apps[0].exitCode | tostring)' <"$T/final")" "exited 0" "$1: the pod ran"
        is "$(jq -j '.output // [] | .[] | .data | @base64d' <"$T/out")" "hello from busybox" "$1: its output"
}

# remove_pods: every pod run so far, so that none stays mounted.
remove_pods() {
        local u
        [ -f "$T/pods" ] || return 0
        while read -r u; do
                timeout 30 "$C" call io.stage0.Pods.Remove "{\"uuid\": \"$u\"}" >/dev/null 2>"$T/err" ||
                        fail "Remove $u: $(head -c 300 "$T/err")"
        done <"$T/pods"
        rm -f "$T/pods"
}

log_lines() { if [ -f "$LOG" ]; then wc -l <"$LOG"; else echo 0; fi; }

# pcr_matches_log N: PCR 16 of swtpm equals the replay of the log, which has N events.
pcr_matches_log() {
        local pcr replay n other
        pcr=$(timeout 10 "$TPM_TOOL" pcrread "swtpm:path=$T/tpm.sock" "$PCR") || { fail "pcrread"; return; }
        read -r replay n < <(timeout 10 "$TPM_TOOL" replay "$LOG" "$PCR") || { fail "replay of $LOG"; return; }
        is "$n" "$1" "the log replays $1 events"
        is "$pcr" "$replay" "PCR $PCR equals the replay of the log ($1 events)"
        check "PCR $PCR was extended" test "$pcr" != "$(printf '0%.0s' $(seq 64))"
        if command -v tpm2_pcrread >/dev/null; then
                other=$(TPM2TOOLS_TCTI="swtpm:path=$T/tpm.sock" timeout 10 tpm2_pcrread "sha256:$PCR" 2>/dev/null |
                        sed -n 's/.*0x\([0-9A-Fa-f]\{64\}\).*/\1/p' | tr 'A-F' 'a-f')
                is "$other" "$pcr" "tpm2_pcrread agrees"
        fi
}

# check_event N UUID: log line N is a confirmed PCR 16 event of pod UUID whose text ends with
# the pod's stage1 argv, and whose digest is the sha256 of the text.
check_event() {
        local line event
        line=$(sed -n "${1}p" "$LOG")
        is "$(jq -r '[.pcr, .algorithm, .uuid, .confirmed] | map(tostring) | join(" ")' <<<"$line")" \
                "$PCR sha256 $2 true" "event $1: PCR, algorithm, pod and confirmation"
        event=$(jq -r .event <<<"$line" | base64 -d)
        check "event $1: rkt's text with the pod's stage1 argv" \
                test "${event#rkt: Rootfs: }" != "$event" -a \
                "${event##* Stage1 args: }" = "$DATA/pods/run/$2/stage1/rootfs/init --net=default $2"
        is "$(jq -r .digest <<<"$line")" "$(printf '%s' "$event" | sha256sum | cut -d' ' -f1)" \
                "event $1: the digest is the sha256 of the text"
}

mkdir -p "$T/tpm-state"
timeout 60 swtpm socket --tpm2 --server "type=unixio,path=$T/tpm.sock" \
        --ctrl "type=unixio,path=$T/tpm.sock.ctrl" --tpmstate "dir=$T/tpm-state" \
        --flags not-need-init,startup-clear >"$T/swtpm.log" 2>&1 &
SWTPM_PID=$!
wait_for "$T/tpm.sock.ctrl" && wait_for "$T/tpm.sock" || { echo "FAIL: swtpm did not start"; cat "$T/swtpm.log"; exit 1; }

log "swtpm: the PCR equals the replay of the measurement log"
start_daemon --stage1-image "$STAGE1_ACI" --tpm-tcti "swtpm:path=$T/tpm.sock" --tpm-pcr "$PCR"
timeout 30 "$C" image import "$TEST_IMAGES/busybox.aci" >"$T/ids"
BB_ID=$(cat "$T/ids")
if run_pod; then
        pod_ran "swtpm"
        is "$(jq -c '.warnings // []' <"$T/final")" "[]" "swtpm: no warning"
        is "$(log_lines)" 1 "swtpm: one event logged"
        is "$(stat -c %a "$LOG" 2>&1)" 600 "the log is private (0600)"
        check_event 1 "$RUN_UUID"
        pcr_matches_log 1
fi
if run_pod; then
        pod_ran "swtpm, second pod"
        check_event 2 "$RUN_UUID"
        pcr_matches_log 2
fi
remove_pods
stop_daemon

log "no TPM: nothing waits"
if [ -e /dev/tpmrm0 ]; then
        log "skipped: this host has /dev/tpmrm0"
else
        start_daemon --stage1-image "$STAGE1_ACI"
        if run_pod; then
                pod_ran "no TPM"
                check "no TPM: the pod ran at once (${RUN_MS} ms, < 1500)" test "$RUN_MS" -lt 1500
                is "$(jq -c '.warnings // []' <"$T/final")" "[]" "no TPM: no warning"
                is "$(log_lines)" 2 "no TPM: nothing logged"
        fi
        remove_pods
        stop_daemon
fi

log "a TPM that accepts and never answers: the pod starts anyway"
timeout 60 python3 -c '
import socket, sys, threading, time
held = []
def serve(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    while True:
        c, _ = s.accept()
        held.append(c)   # accepted, never read, never answered
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(p,), daemon=True).start()
time.sleep(3600)
' "$T/hang.sock" "$T/hang.sock.ctrl" &
HANG_PID=$!
wait_for "$T/hang.sock" && wait_for "$T/hang.sock.ctrl" || { echo "FAIL: the hanging TPM did not start"; exit 1; }
start_daemon --stage1-image "$STAGE1_ACI" --tpm-tcti "swtpm:path=$T/hang.sock" --tpm-pcr "$PCR"
if run_pod; then
        pod_ran "hanging TPM"
        check "hanging TPM: the pod ran within the deadline + 1.5 s (${RUN_MS} ms)" \
                test "$RUN_MS" -lt $((DEADLINE_MS + 1500))
        is "$(jq -r '[.warnings // [] | .[] | select(.message | test("TPM"))] | length' <"$T/final")" 1 \
                "hanging TPM: the reply warns that the pod was not measured"
        is "$(jq -s '[.[] | select(.confirmed)] | length' "$LOG")" 2 "hanging TPM: no confirmed event logged"
        pcr_matches_log 2
fi
remove_pods
stop_daemon

finish
