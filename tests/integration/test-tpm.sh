#!/bin/bash
# Integration test of the TPM measurement (daemon/tpm.c) against a real software TPM: swtpm on
# a unix socket in a temporary dir, driven through tests/integration/tpm-tool.
#   - two measurements into PCR 16, then eight at once: the PCR read back equals the replay
#     of the measurement log (and tpm2_pcrread agrees, when tpm2-tools is installed);
#   - a measurer waits for the log lock, and gives up at its deadline without extending;
#   - a PCR the TPM refuses from locality 0 (17): EIO, nothing logged;
#   - no TPM (a socket that does not exist): ENODEV within 100 ms, nothing logged;
#   - a TPM that accepts and never answers: ETIMEDOUT within the deadline + 1 s, nothing logged.
# Env: TPM_TOOL (default $BUILD_ROOT/tests/integration/tpm-tool). Exit 77 only when swtpm is not
# installed.
set -u

TPM_TOOL=${TPM_TOOL:-${BUILD_ROOT:-}/tests/integration/tpm-tool}
UUID=6d2c7f0e-8a41-4b9e-a3d5-0c1f2e3d4b5a
PCR=16          # resettable from locality 0, unlike the default 15 (libraries.md §2)
DEADLINE_MS=2000

command -v swtpm >/dev/null || { echo "SKIP: swtpm is not installed"; exit 77; }
[ -x "$TPM_TOOL" ] || { echo "FAIL: no tpm-tool at '$TPM_TOOL'"; exit 1; }

T=$(mktemp -d /tmp/test-tpm.XXXXXX)
LOG=$T/data/tpm/measurements.log
SWTPM_PID=
HANG_PID=
FAILED=0
PASSED=0

cleanup() {
        for p in $SWTPM_PID $HANG_PID; do
                kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $CASE: $*"; FAILED=$((FAILED + 1)); }
pass() { echo "ok: $CASE"; PASSED=$((PASSED + 1)); }

# wait_for PATH: until PATH exists, at most 5 s.
wait_for() {
        for _ in $(seq 100); do
                [ -e "$1" ] && return 0
                sleep 0.05
        done
        return 1
}

lines() { if [ -f "$LOG" ]; then wc -l <"$LOG"; else echo 0; fi; }

# measure TCTI [PCR]: one measurement of a small pod; prints "<result> <ms>".
measure() {
        "$TPM_TOOL" measure "$1" "${2:-$PCR}" "$LOG" "$UUID" "$DEADLINE_MS" "$T/manifest" \
                "$T/pod/stage1/rootfs/run" --net=default "$UUID"
}

# pcr_matches_log: the PCR read back equals the replay of the log ($1 events expected).
pcr_matches_log() {
        local pcr replay n
        pcr=$(timeout 10 "$TPM_TOOL" pcrread "swtpm:path=$T/sock" "$PCR") || { fail "pcrread"; return 1; }
        read -r replay n < <("$TPM_TOOL" replay "$LOG" "$PCR") || { fail "replay"; return 1; }
        [ "$n" = "$1" ] || { fail "replayed $n events, want $1"; return 1; }
        [ "$pcr" = "$replay" ] || { fail "PCR $pcr != replay $replay"; return 1; }
        [ "$pcr" != "$(printf '0%.0s' $(seq 64))" ] || { fail "PCR was never extended"; return 1; }
        if command -v tpm2_pcrread >/dev/null; then
                local other
                other=$(TPM2TOOLS_TCTI="swtpm:path=$T/sock" timeout 10 tpm2_pcrread "sha256:$PCR" 2>/dev/null |
                        sed -n 's/.*0x\([0-9A-Fa-f]\{64\}\).*/\1/p' | tr 'A-F' 'a-f')
                [ "$other" = "$pcr" ] || { fail "tpm2_pcrread says '$other', tpm-tool $pcr"; return 1; }
        fi
        return 0
}

echo '{"acKind":"PodManifest","acVersion":"0.8.11","apps":[]}' >"$T/manifest"
mkdir -p "$T/state" "$T/data"
swtpm socket --tpm2 --server "type=unixio,path=$T/sock" --ctrl "type=unixio,path=$T/sock.ctrl" \
        --tpmstate "dir=$T/state" --flags not-need-init,startup-clear >"$T/swtpm.log" 2>&1 &
SWTPM_PID=$!
wait_for "$T/sock.ctrl" && wait_for "$T/sock" || { echo "FAIL: swtpm did not start"; cat "$T/swtpm.log"; exit 1; }

CASE="two measurements: PCR $PCR equals the replay of the log"
out1=$(measure "swtpm:path=$T/sock") out2=$(measure "swtpm:path=$T/sock")
if [ "${out1%% *}" != ok ] || [ "${out2%% *}" != ok ]; then fail "measure said '$out1' / '$out2'"
elif [ "$(lines)" != 2 ]; then fail "$(lines) log lines, want 2"
elif [ "$(stat -c %a "$LOG")" != 600 ]; then fail "log mode $(stat -c %a "$LOG"), want 600"
elif pcr_matches_log 2; then pass
fi

CASE="eight concurrent measurements keep the log in extend order"
pids=()
for i in 1 2 3 4 5 6 7 8; do
        measure "swtpm:path=$T/sock" >"$T/concurrent.$i" &
        pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
if [ "$(cut -d' ' -f1 "$T"/concurrent.* | sort -u)" != ok ]; then fail "$(cat "$T"/concurrent.*)"
elif pcr_matches_log 10; then pass
fi

CASE="measurers wait for the log lock; past the deadline: ETIMEDOUT, no extend, nothing logged"
flock "$LOG" sleep 0.5 &
lock_pid=$!
sleep 0.1
out=$(measure "swtpm:path=$T/sock")
read -r res ms <<<"$out"
wait "$lock_pid"
flock "$LOG" sleep 3 &
lock_pid=$!
sleep 0.1
out2=$(measure "swtpm:path=$T/sock")
read -r res2 ms2 <<<"$out2"
kill "$lock_pid" 2>/dev/null; wait "$lock_pid" 2>/dev/null
if [ "$res" != ok ] || [ "$ms" -lt 300 ]; then fail "with the lock held 0.5 s: '$out'"
elif [ "$res2" != ETIMEDOUT ] || [ "$ms2" -lt "$DEADLINE_MS" ]; then fail "with the lock held 3 s: '$out2'"
elif pcr_matches_log 11; then pass
fi

CASE="a PCR the TPM refuses from locality 0 gives EIO and logs nothing"
out=$(measure "swtpm:path=$T/sock" 17)
if [ "${out%% *}" != EIO ]; then fail "measure said '$out'"
elif [ "$(lines)" != 11 ]; then fail "$(lines) log lines, want 11"
else pass
fi

CASE="no TPM: ENODEV within 100 ms, nothing logged"
out=$(measure "swtpm:path=$T/missing")
read -r res ms <<<"$out"
if [ "$res" != ENODEV ]; then fail "measure said '$out'"
elif [ "$ms" -ge 100 ]; then fail "took $ms ms"
elif [ "$(lines)" != 11 ]; then fail "$(lines) log lines, want 11"
else pass
fi

CASE="a TPM that accepts and never answers: ETIMEDOUT within the deadline + 1 s, nothing logged"
"$TPM_TOOL" listen "$T/hang" >"$T/hang.out" &
HANG_PID=$!
wait_for "$T/hang.ctrl"
start=$(date +%s%N)
out=$(measure "swtpm:path=$T/hang")
wall=$((($(date +%s%N) - start) / 1000000))
read -r res ms <<<"$out"
if [ "$res" != ETIMEDOUT ]; then fail "measure said '$out'"
elif [ "$ms" -lt "$DEADLINE_MS" ] || [ "$wall" -ge $((DEADLINE_MS + 1000)) ]; then fail "took $ms ms ($wall ms wall)"
elif [ "$(lines)" != 11 ]; then fail "$(lines) log lines, want 11"
elif ! pcr_matches_log 11; then :   # the real TPM is untouched by the hung one
else pass
fi

echo "# $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
