#!/bin/bash
# Pods that run, end to end: the real stage0d with the reference stage1 (--stage1-image) and
# the busybox test image, driven through stage0c (its run commands, and `stage0c call` with jq
# for the replies themselves): output and exit codes of Run (also with two apps), RunPrepared
# and two of them racing for one pod, Wait (also when a GC takes the pod as it exits, with the
# worker's report held back by gdb), Watch, Stop (graceful, forced, and forced after its
# timeout), Logs and following them, the DNS files, hosts entries and hostname the app sees;
# then a fake stage1 of each interface version 1..6 (tests/images' fake-stage1.aci with the
# version annotation rewritten by make-stage1-variant.py) records the exact argv and env it is
# run with; last, removing the exited pods leaves no mount under the data dir.
. "$TESTS_LIB"
: "${TEST_IMAGES:?}" "${STAGE1_ACI:?}"

C=$STAGE0C
HERE=$(cd "$(dirname "$0")" && pwd)
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
BB=stage0.io/test/busybox

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# call METHOD JSON [--more]: stage0c call, bounded; replies in $T/out (one per line with
# --more), stderr in $T/err; returns its exit code.
call() {
        local rc=0
        timeout 30 "$C" call "$@" >"$T/out" 2>"$T/err" || rc=$?
        return "$rc"
}

# expect_rc WANT DESCRIPTION COMMAND...: the command exits with WANT; output in $T/out, $T/err.
expect_rc() {
        local want=$1 what=$2 rc=0
        shift 2
        timeout 30 "$@" >"$T/out" 2>"$T/err" || rc=$?
        if [ "$rc" -eq "$want" ]; then
                pass "$what"
        else
                fail "$what: exit $rc, want $want; stderr: $(head -c 400 "$T/err")"
        fi
}

# is GOT WANT DESCRIPTION
is() {
        if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got '$1', want '$2'"; fi
}

# json_is FILE FILTER WANT DESCRIPTION: jq -r FILTER of FILE is WANT.
json_is() {
        local got
        got=$(jq -r "$2" <"$1" 2>&1) || got="(not JSON: $(head -c 300 "$1"))"
        is "$got" "$3" "$4"
}

# app NAME SCRIPT: an AppSpec of busybox running /bin/sh -c SCRIPT.
app() {
        jq -cn --arg id "$BB_ID" --arg name "$1" --arg script "$2" \
                '{image: {id: $id}, name: $name, exec: "/bin/sh", args: ["-c", $script]}'
}

# run_attached APPS_JSON [OPTIONS_JSON]: Pods.Run with more and output; every reply in
# $T/run.out, the last one also in $T/final; the UUID in $RUN_UUID.
run_attached() {
        local params
        params=$(jq -cn --argjson apps "$1" --argjson options "${2:-null}" \
                '{spec: {apps: $apps}, output: true} + (if $options then {options: $options} else {} end)')
        RUN_UUID=
        call io.stage0.Pods.Run "$params" --more || { fail "Run $params: $(head -c 400 "$T/err")"; return 1; }
        cp "$T/out" "$T/run.out"
        tail -n 1 "$T/run.out" >"$T/final"
        RUN_UUID=$(jq -r .uuid <"$T/final")
}

# run_detached APPS_JSON: Pods.Run without more (the reply comes once stage1 runs); the UUID
# in $RUN_UUID.
# wait_ready UUID: until the pod's app has printed "ready" (it has set its traps by then).
wait_ready() {
        local i
        for i in $(seq 100); do
                timeout 5 "$STAGE0C" logs "$1" 2>/dev/null | grep -q '^ready$' && return 0
                sleep 0.05
        done
        fail "pod $1 never said ready"
        return 1
}

run_detached() {
        RUN_UUID=
        call io.stage0.Pods.Run "$(jq -cn --argjson apps "$1" '{spec: {apps: $apps}}')" ||
                { fail "Run: $(head -c 400 "$T/err")"; return 1; }
        RUN_UUID=$(jq -r .uuid <"$T/out")
}

# output_of FILE [STREAM]: the decoded output of every reply in FILE (Run's output or Logs'
# chunks), in order; only STREAM's when given.
output_of() {
        jq -j --arg s "${2:-}" '(.output // .chunks // [])[] | select($s == "" or .stream == $s) | .data | @base64d' <"$1"
}

# streams_of FILE: "stream:line" for each chunk, in order (each chunk one line here).
streams_of() {
        jq -r '(.output // .chunks // [])[] | .stream + ":" + (.data | @base64d | rtrimstr("\n"))' <"$1"
}

# pod_dir UUID: where the pod lives now.
pod_dir() {
        local d
        for d in "$DATA"/pods/*/"$1"; do
                [ -d "$d" ] && { echo "$d"; return 0; }
        done
        return 1
}

data_mounts() { grep -c " $DATA/" /proc/self/mountinfo || true; }

# Ours, then lib.sh's cleanup, which must still see the script's exit status: after a failure
# a pod may still run or be mounted; its PID 1 is killed (the PID namespace goes with it) and
# what is mounted under $T unmounted, so that $T can go.
cleanup_run() {
        local f
        if [ -n "$DAEMON_PID" ]; then
                kill -KILL "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
                DAEMON_PID=
        fi
        for f in "$DATA"/pods/run/*/pid; do
                [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
        done
        grep " $T/" /proc/self/mountinfo | cut -d' ' -f5 | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}
trap 'rc=$?; cleanup_run; (exit "$rc"); cleanup' EXIT

start_daemon --stage1-image "$STAGE1_ACI"
timeout 30 "$C" image import "$TEST_IMAGES/busybox.aci" >"$T/ids"
BB_ID=$(cat "$T/ids")

log "run: output and exit code"
if run_attached "[{\"image\": {\"name\": \"$BB\"}}]"; then
        check "Run names the pod" grep -Eq "$UUID_RE" <<<"$RUN_UUID"
        json_is "$T/final" '.pod.state' exited "the final reply is the exited pod"
        json_is "$T/final" '.pod.apps[0].exitCode' 0 "the app's exit code is 0"
        is "$(output_of "$T/run.out" stdout)" "hello from busybox" "the image's app prints on stdout"
        is "$(output_of "$T/run.out" stderr)" "" "and nothing on stderr"
        is "$(jq -s '[.[] | select(.pod.state == "running")] | length' <"$T/run.out")" 1 \
                "one reply says the pod runs"
        is "$(jq -s '.[:-1] | map(.continues // true) | all' <"$T/run.out")" true \
                "replies before the last continue"
fi
if run_attached "[$(app busybox 'echo to stdout; echo to stderr >&2; exit 3')]"; then
        json_is "$T/final" '.pod.apps[0].exitCode' 3 "exit 3 comes back as 3"
        is "$(output_of "$T/run.out" stdout)" "to stdout" "stdout"
        is "$(output_of "$T/run.out" stderr)" "to stderr" "stderr"
fi
expect_rc 0 "stage0c run" "$C" run "$BB"
is "$(cat "$T/out")" "hello from busybox" "stage0c run streams the app's output"
expect_rc 3 "stage0c run exits with the app's exit code" \
        "$C" run "$BB" --exec /bin/sh -- -c 'echo three; exit 3' ---
is "$(cat "$T/out")" three "stage0c run of exit 3: the output"

log "two apps in one pod"
if run_attached "[$(app one 'echo from one; exit 3'), $(app two 'sleep 0.1; echo from two >&2; exit 5')]"; then
        json_is "$T/final" '[.pod.apps[] | .name + "=" + (.exitCode | tostring)] | join(",")' "one=3,two=5" \
                "both exit codes, in manifest order"
        is "$(streams_of "$T/run.out" | sort | tr '\n' ' ')" "stderr:from two stdout:from one " "both outputs"
fi
call io.stage0.Pods.Prepare "{\"spec\": {\"apps\": [$(app ok 'exit 0'), $(app bad 'exit 4')]}}"
P=$(jq -r .uuid <"$T/out")
expect_rc 4 "stage0c run-prepared exits with the first failing app's code" "$C" run-prepared "$P"

log "run-prepared"
call io.stage0.Pods.Prepare "{\"spec\": {\"apps\": [$(app busybox 'echo prepared; exit 6')]}}"
P=$(jq -r .uuid <"$T/out")
json_is "$T/out" '.pod.state' prepared "Prepare leaves the pod prepared"
if call io.stage0.Pods.RunPrepared "{\"uuid\": \"$P\", \"output\": true}" --more; then
        tail -n 1 "$T/out" >"$T/final"
        json_is "$T/final" '.uuid' "$P" "RunPrepared runs that pod"
        json_is "$T/final" '.pod.state + " " + (.pod.apps[0].exitCode | tostring)' "exited 6" \
                "RunPrepared: exited with the app's code"
        is "$(output_of "$T/out")" prepared "RunPrepared: the output"
else
        fail "RunPrepared: $(head -c 400 "$T/err")"
fi
call io.stage0.Pods.RunPrepared "{\"uuid\": \"$P\"}" || true
check "an exited pod cannot run again" grep -q 'io.stage0.Pods.InvalidState' "$T/err"

for round in 1 2 3; do
        call io.stage0.Pods.Prepare "{\"spec\": {\"apps\": [$(app busybox 'sleep 0.3')]}}"
        P=$(jq -r .uuid <"$T/out")
        pids=()
        for i in 1 2; do
                (rc=0; timeout 30 "$C" call io.stage0.Pods.RunPrepared "{\"uuid\": \"$P\"}" \
                        >"$T/race.$i.out" 2>"$T/race.$i.err" || rc=$?; echo "$rc" >"$T/race.$i.rc") &
                pids+=($!)
        done
        wait "${pids[@]}"
        rcs=$(cat "$T/race.1.rc" "$T/race.2.rc" | sort | tr '\n' ' ')
        is "$rcs" "0 1 " "two RunPrepared at once (round $round): one wins, one fails"
        loser=1
        [ "$(cat "$T/race.1.rc")" = 0 ] && loser=2
        check "the loser gets InvalidState (round $round)" grep -q 'io.stage0.Pods.InvalidState' "$T/race.$loser.err"
        call io.stage0.Pods.Wait "{\"uuid\": \"$P\"}"
        json_is "$T/out" '.pod.state + " " + (.pod.apps[0].exitCode | tostring)' "exited 0" \
                "the winner's pod ran once to the end (round $round)"
done

log "wait"
# The oldest spare takes the next job: it has had the longest to start.
spares_by_age() {
        local pid
        for pid in $(pgrep -P "$DAEMON_PID"); do
                [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = stage0-worker ] &&
                        echo "$(awk '{ print $22 }' "/proc/$pid/stat") $pid"
        done | sort -n | awk '{ print $2 }'
}
for _ in $(seq 1 200); do
        [ "$(spares_by_age | wc -l)" -ge 2 ] && break
        sleep 0.05
done
check "two spare workers are ready" test "$(spares_by_age | wc -l)" -ge 2
oldest=$(spares_by_age | sed -n 1p)
if run_detached "[$(app busybox 'sleep 1; exit 7')]"; then
        W=$RUN_UUID
        check "the oldest spare took the Run" test "$(cat "/proc/$oldest/comm" 2>/dev/null)" = w:Run
        call io.stage0.Pods.Status "{\"uuid\": \"$W\"}"
        json_is "$T/out" '.pod.state' running "Run without more replies while the pod runs"
        # Spares wait (and start) under SCHED_IDLE; a worker with a job, and the pod it
        # runs, under SCHED_OTHER. A child of stage0d without a job's name ("w:...") is a
        # spare, exec'd or not yet.
        policies="" n_spares=0 spares_idle=yes
        for pid in $(pgrep -P "$DAEMON_PID"); do
                comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
                policy=$(chrt -p "$pid" 2>/dev/null | sed -n 's/.*policy: //p')
                policies+="$comm=$policy "
                case $comm in
                w:*) ;;
                *) n_spares=$((n_spares + 1)); [ "$policy" = SCHED_IDLE ] || spares_idle=no ;;
                esac
        done
        check "the pod's worker runs under SCHED_OTHER ($policies)" \
                grep -q 'w:Run=SCHED_OTHER' <<<"$policies"
        check "the spare workers wait under SCHED_IDLE ($policies)" \
                test "$n_spares" -ge 1 -a "$spares_idle" = yes
        # libarchive and tss2 are loaded when a job needs them, not by every worker.
        ldd "$(dirname "$STAGE0D")/stage0-worker" >"$T/ldd" 2>&1 || true
        check "stage0-worker links neither libarchive nor tss2" \
                eval 'grep -q libjson-c "$T/ldd" && ! grep -Eq "libarchive|libtss2" "$T/ldd"'
        # The Run's reply comes once stage1 runs; the app's shell starts sleep soon after.
        pod_pid=
        for _ in $(seq 100); do
                pod_pid=$(pgrep -f 'sleep 1$' | head -n 1) || true
                [ -n "$pod_pid" ] && break
                sleep 0.02
        done
        check "the pod's app runs under SCHED_OTHER" \
                eval '[ -n "$pod_pid" ] && chrt -p "$pod_pid" | grep -q SCHED_OTHER'
        start=$(now_ms)
        call io.stage0.Pods.Wait "{\"uuid\": \"$W\"}" --more
        took=$(($(now_ms) - start))
        is "$(jq -s -r '.[0].pod.state' <"$T/out")" running "Wait with more: the first reply says running"
        is "$(jq -s -r '.[-1].pod.state + " " + (.[-1].pod.apps[0].exitCode | tostring)' <"$T/out")" \
                "exited 7" "Wait: the last reply is the exited pod with its exit code"
        check "Wait waited for the pod (${took} ms)" test "$took" -ge 400 -a "$took" -lt 5000
        expect_rc 0 "stage0c wait of the exited pod" "$C" wait "$W"
        check "stage0c wait: exited" grep -qx "exited=true" "$T/out"
fi

log "watch: a pod's changes reach Watch whether its Run caller stayed, left or never waited"
# eventually COMMAND...: true within 10 s.
eventually() {
        local i
        for i in $(seq 200); do
                "$@" && return 0
                sleep 0.05
        done
        return 1
}
# watched FILE UUID STATE [EXIT_CODE]: the Watch stream in FILE has an event of the pod in
# STATE, with its first app's EXIT_CODE when given.
watched() {
        jq -s -e --arg u "$2" --arg s "$3" --arg c "${4:-}" \
                'any(.[]; .event.uuid == $u and .event.pod.state == $s and
                          ($c == "" or (.event.pod.apps[0].exitCode | tostring) == $c))' \
                "$1" >/dev/null 2>&1
}
watched_removed() {
        jq -s -e --arg u "$2" 'any(.[]; .event.uuid == $u and .event.kind == "removed")' "$1" >/dev/null 2>&1
}
timeout 60 "$C" call io.stage0.Pods.Watch '{}' --more >"$T/watch.out" 2>"$T/watch.err" &
WATCH_PID=$!
timeout 60 "$C" call io.stage0.Pods.Watch '{"filter": {"appNames": ["watched"]}}' --more \
        >"$T/watch-filtered.out" 2>"$T/watch-filtered.err" &
FILTERED_PID=$!
timeout 60 "$C" call io.stage0.Pods.Watch '{"filter": {"states": ["running"]}}' --more \
        >"$T/watch-running.out" 2>"$T/watch-running.err" &
RUNNING_PID=$!
check "Watch: synced" eventually grep -q '"synced"' "$T/watch.out"
check "Watch with a filter: synced" eventually grep -q '"synced"' "$T/watch-filtered.out"
check "Watch of running pods: synced" eventually grep -q '"synced"' "$T/watch-running.out"
if run_detached "[$(app watched 'sleep 0.5; exit 5')]"; then
        DETACHED=$RUN_UUID
        check "Watch: the detached pod was created" eventually watched "$T/watch.out" "$DETACHED" preparing
        check "Watch: the detached pod runs" eventually watched "$T/watch.out" "$DETACHED" running
        check "Watch: the detached pod exited, exit code 5" \
                eventually watched "$T/watch.out" "$DETACHED" exited 5
fi
params=$(jq -cn --argjson app "$(app watched 'sleep 0.5; exit 6')" '{spec: {apps: [$app]}}')
timeout 30 "$C" call io.stage0.Pods.Run "$params" --more >"$T/left.out" 2>&1 &
client=$!
running() { jq -s -e 'any(.[]; .pod.state == "running")' "$T/left.out" >/dev/null 2>&1; }
if eventually running; then
        LEFT=$(head -n 1 "$T/left.out" | jq -r .uuid)
        kill "$client"
        wait "$client" 2>/dev/null || true
        check "Watch: the pod whose caller left exited, exit code 6" \
                eventually watched "$T/watch.out" "$LEFT" exited 6
else
        fail "the attached Run never said the pod runs: $(head -c 400 "$T/left.out")"
fi
run_attached "[$(app unwatched 'exit 0')]"
UNWATCHED=$RUN_UUID
check "Watch: the attached pod exited, exit code 0" \
        eventually watched "$T/watch.out" "$UNWATCHED" exited 0
expect_rc 0 "rm of the three pods" "$C" rm "$DETACHED" "$LEFT" "$UNWATCHED"
all_removed() {
        local u
        for u in "$DETACHED" "$LEFT" "$UNWATCHED"; do
                watched_removed "$T/watch.out" "$u" || return 1
        done
}
check "Watch: the three were removed" eventually all_removed
check "Watch with a filter: both exits, and the removals" eval \
        'watched "$T/watch-filtered.out" "$DETACHED" exited 5 && watched "$T/watch-filtered.out" "$LEFT" exited 6 &&
         watched_removed "$T/watch-filtered.out" "$DETACHED" && watched_removed "$T/watch-filtered.out" "$LEFT"'
check "Watch with a filter: nothing of the pod it leaves out" \
        test "$(jq -s --arg u "$UNWATCHED" '[.[] | select(.event.uuid == $u)] | length' "$T/watch-filtered.out")" = 0
# A change that takes a pod out of the filter is news; what happens to it afterwards is not.
check "Watch of running pods: the detached pod ran, then exited, and nothing after" eval \
        'watched "$T/watch-running.out" "$DETACHED" running && watched "$T/watch-running.out" "$DETACHED" exited 5 &&
         ! watched_removed "$T/watch-running.out" "$DETACHED"'
check "the Watch streams are still open" kill -0 "$WATCH_PID" "$FILTERED_PID" "$RUNNING_PID"
kill "$WATCH_PID" "$FILTERED_PID" "$RUNNING_PID" 2>/dev/null || true
wait "$WATCH_PID" "$FILTERED_PID" "$RUNNING_PID" 2>/dev/null || true

log "wait: a GC that takes the pod as it exits does not take its exit codes from the waiter"
# stage0d is stopped from before the pod exits until a GC's work is done on disk, so that it
# learns of the exit (the worker's report, its own polls) only afterwards: half of a GC (the
# pod marked, stage1's status dir with the exit codes deleted) for one pod, all of it (the
# pod's directory gone) for the other. The pods are copied, not overlaid: nothing is
# mounted in them once they have exited.
gc_under_wait() {
        local what=$1 exit=$2 params uuid dir client i
        params=$(jq -cn --argjson app "$(app busybox "sleep 0.5; exit $exit")" \
                '{spec: {apps: [$app], overlay: false}}')
        call io.stage0.Pods.Run "$params" || { fail "$what: Run: $(head -c 400 "$T/err")"; return; }
        uuid=$(jq -r .uuid <"$T/out")
        dir="$DATA/pods/run/$uuid"
        timeout 30 "$C" call io.stage0.Pods.Wait "{\"uuid\": \"$uuid\"}" --more >"$T/gc-wait.out" 2>&1 &
        client=$!
        eventually grep -q running "$T/gc-wait.out" || fail "$what: Wait never said running"
        kill -STOP "$DAEMON_PID"
        for i in $(seq 200); do
                flock -n "$dir" true 2>/dev/null && break
                sleep 0.05
        done
        if [ "$what" = marked ]; then
                mv "$dir" "$DATA/pods/exited-garbage/$uuid"
                rm -r "$DATA/pods/exited-garbage/$uuid/stage1/rootfs/rkt/status"
        else
                rm -r "$dir"
        fi
        sleep 0.3               # past stage0d's next poll of the pods waited for
        kill -CONT "$DAEMON_PID"
        wait "$client" || fail "$what: Wait failed: $(tail -c 400 "$T/gc-wait.out")"
        is "$(tail -n 1 "$T/gc-wait.out" | jq -r '.pod.state + " " + (.pod.apps[0].exitCode | tostring)')" \
                "$3 $exit" "$what: Wait's last reply has the state and the exit code $exit"
}
gc_under_wait marked 3 exitedGarbage
gc_under_wait removed 4 exited

# The same while stage0d runs on and the worker's report is held back (gdb stops the worker at
# its final reply, after it let go of the pod): stage0d's polls see the pod marked and its exit
# codes gone, and must leave the wait to the report.
params=$(jq -cn --argjson app "$(app busybox 'sleep 2; exit 5')" '{spec: {apps: [$app], overlay: false}}')
if call io.stage0.Pods.Run "$params"; then
        uuid=$(jq -r .uuid <"$T/out")
        timeout 30 "$C" call io.stage0.Pods.Wait "{\"uuid\": \"$uuid\"}" --more >"$T/held-wait.out" 2>&1 &
        client=$!
        worker=$(pgrep -n -P "$DAEMON_PID" '^w:Run$' || true)
        timeout 30 gdb -q -p "$worker" -batch -ex 'break varlink_call_reply' -ex "shell touch '$T/attached'" \
                -ex continue -ex "shell touch '$T/held'; until [ -e '$T/release' ]; do sleep 0.05; done" \
                -ex detach >"$T/gdb.log" 2>&1 &
        debugger=$!
        if eventually test -e "$T/attached" && eventually test -e "$T/held"; then
                pass "gdb holds the pod's worker at its final reply"
                mv "$DATA/pods/run/$uuid" "$DATA/pods/exited-garbage/$uuid"
                rm -r "$DATA/pods/exited-garbage/$uuid/stage1/rootfs/rkt/status"
                sleep 0.6       # two of stage0d's polls of the pods waited for
                check "held report: Wait still waits" kill -0 "$client"
        else
                fail "gdb did not hold the pod's worker ($worker): $(tail -c 400 "$T/gdb.log")"
        fi
        touch "$T/release"
        wait "$debugger" || fail "gdb: $(tail -c 400 "$T/gdb.log")"
        wait "$client" || fail "held report: Wait failed: $(tail -c 400 "$T/held-wait.out")"
        is "$(tail -n 1 "$T/held-wait.out" | jq -r '.pod.state + " " + (.pod.apps[0].exitCode | tostring)')" \
                "exitedGarbage 5" "held report: Wait's last reply has the exit code 5"
else
        fail "Run: $(head -c 400 "$T/err")"
fi

log "stop"
if run_detached "[$(app busybox 'exec sleep 100')]"; then
        start=$(now_ms)
        if call io.stage0.Pods.Stop "{\"uuid\": \"$RUN_UUID\"}"; then
                took=$(($(now_ms) - start))
                json_is "$T/out" '.pod.state' exited "graceful Stop: the pod has exited"
                json_is "$T/out" '.pod.apps[0].exitCode' 143 "graceful Stop: the app got SIGTERM"
                check "graceful Stop took ${took} ms (< 3 s)" test "$took" -lt 3000
        else
                fail "graceful Stop: $(head -c 400 "$T/err")"
        fi
fi
if run_detached "[$(app busybox "trap '' TERM; echo ready; sleep 100")]" && wait_ready "$RUN_UUID"; then
        start=$(now_ms)
        if call io.stage0.Pods.Stop "{\"uuid\": \"$RUN_UUID\", \"force\": true}"; then
                took=$(($(now_ms) - start))
                json_is "$T/out" '.pod.state' exited "forced Stop: the pod has exited"
                check "forced Stop of a pod ignoring SIGTERM took ${took} ms (< 3 s)" test "$took" -lt 3000
        else
                fail "forced Stop: $(head -c 400 "$T/err")"
        fi
fi
if run_detached "[$(app busybox "trap '' TERM; echo ready; sleep 100")]" && wait_ready "$RUN_UUID"; then
        start=$(now_ms)
        if call io.stage0.Pods.Stop "{\"uuid\": \"$RUN_UUID\", \"timeoutUsec\": 500000}"; then
                took=$(($(now_ms) - start))
                json_is "$T/out" '.pod.state' exited "Stop forces a pod that ignores SIGTERM after its timeout"
                check "Stop with a 0.5 s timeout took ${took} ms (0.5 s .. 4 s)" \
                        test "$took" -ge 450 -a "$took" -lt 4000
        else
                fail "Stop with a timeout: $(head -c 400 "$T/err")"
        fi
fi
call io.stage0.Pods.Stop "{\"uuid\": \"$RUN_UUID\"}" || true
check "Stop of an exited pod: InvalidState" grep -q 'io.stage0.Pods.InvalidState' "$T/err"

log "logs"
want_lines=$(for i in 1 2 3 4 5; do echo "stdout:out $i"; echo "stderr:err $i"; done)
if run_detached "[$(app busybox 'for i in 1 2 3 4 5; do echo out $i; sleep 0.1; echo err $i >&2; sleep 0.1; done')]"; then
        L=$RUN_UUID
        start=$(now_ms)
        call io.stage0.Pods.Logs "{\"uuid\": \"$L\", \"follow\": true}" --more ||
                fail "Logs follow: $(head -c 400 "$T/err")"
        took=$(($(now_ms) - start))
        cp "$T/out" "$T/follow.out"
        is "$(streams_of "$T/follow.out")" "$want_lines" "Logs follow: every line, in order, with its stream"
        check "Logs follow: ended when the pod did (${took} ms)" test "$took" -ge 500 -a "$took" -lt 5000
        check "Logs follow: the lines came in several replies" \
                test "$(jq -s '[.[] | select((.chunks | length) > 0)] | length' <"$T/follow.out")" -ge 3
        call io.stage0.Pods.Status "{\"uuid\": \"$L\"}"
        json_is "$T/out" '.pod.state' exited "the pod has exited when following ends"
        call io.stage0.Pods.Logs "{\"uuid\": \"$L\"}" --more || fail "Logs: $(head -c 400 "$T/err")"
        is "$(streams_of "$T/out")" "$want_lines" "Logs after exit: every line, in order, with its stream"
        is "$(output_of "$T/out" stdout)" "$(printf 'out %s\n' 1 2 3 4 5)" "Logs: the stdout stream"
        check "Logs: chunks carry their time" \
                test "$(jq -s '[.[] | .chunks[] | select(.timeUsec == null)] | length' <"$T/out")" -eq 0
        expect_rc 0 "stage0c logs" "$C" logs "$L"
        check "stage0c logs prints the output" grep -q "out 5" "$T/out"
fi
call io.stage0.Pods.Logs "{\"uuid\": \"$L\"}" || true
check "Logs without more: ExpectedMore" grep -q 'org.varlink.service.ExpectedMore' "$T/err"

log "DNS, hosts entries, hostname"
opts='{"hostname": "web-1", "dnsServers": ["10.1.2.3", "10.1.2.4"], "dnsSearch": ["example.org", "corp.example"],
       "dnsOptions": ["ndots:2"], "hostsEntries": [{"ip": "10.9.9.9", "hostnames": ["db.test", "db"]}]}'
if run_attached "[$(app busybox 'hostname; echo ---; cat /etc/resolv.conf; echo ---; cat /etc/hosts')]" "$opts"; then
        output_of "$T/run.out" >"$T/seen"
        json_is "$T/final" '.pod.apps[0].exitCode' 0 "the app read its files"
        is "$(sed -n 1p "$T/seen")" web-1 "hostname: the app's hostname"
        sed -n '/^---$/,/^---$/p' "$T/seen" | sed '1d;$d' >"$T/resolv"
        awk 'f; /^---$/ { n++; f = (n == 2) }' "$T/seen" >"$T/hosts"
        check "resolv.conf: the name servers, in order" \
                test "$(grep '^nameserver' "$T/resolv" | tr '\n' ' ')" = "nameserver 10.1.2.3 nameserver 10.1.2.4 "
        check "resolv.conf: the search domains" grep -qx 'search example.org corp.example' "$T/resolv"
        check "resolv.conf: the options" grep -qx 'options ndots:2' "$T/resolv"
        check "hosts: the entry" grep -Eqx '10\.9\.9\.9[[:space:]]+db\.test[[:space:]]+db' "$T/hosts"
        check "hosts: localhost, from stage1's fallback" grep -Eq '^127\.0\.0\.1[[:space:]]+localhost' "$T/hosts"
fi
if run_attached "[$(app busybox 'hostname; cat /etc/resolv.conf')]" \
        '{"resolvMode": "host", "hostsMode": "host"}'; then
        is "$(output_of "$T/run.out" | sed -n 1p)" "stage0-$RUN_UUID" "the default hostname is stage1's"
        if [ -f /etc/resolv.conf ]; then
                is "$(output_of "$T/run.out" | sed 1d)" "$(cat /etc/resolv.conf)" "resolvMode host: the host's resolv.conf"
        fi
fi
call io.stage0.Pods.Run "{\"spec\": {\"apps\": [$(app busybox true)]}, \"options\": {\"dnsServers\": [\"10.0.0.1\"], \"resolvMode\": \"host\"}}" || true
check "DNS servers with resolvMode host: InvalidRunOptions" grep -q 'io.stage0.Pods.InvalidRunOptions' "$T/err"
call io.stage0.Pods.Run "{\"spec\": {\"apps\": [$(app busybox true)]}, \"options\": {\"interactive\": true}}" || true
check "interactive: NotSupported" grep -q 'io.stage0.Pods.NotSupported' "$T/err"
check "interactive: the option is named as a path" grep -q 'option=options.interactive' "$T/err"

log "the stage1 argv and env for each interface version (a fake stage1 that records them)"
mkdir -p "$T/local-config"
all_options=$(jq -cn --arg lc "$T/local-config" '{
        debug: true,
        net: [{name: "default"}, {name: "mynet", args: "K1=V1;K2=V2"}],
        localConfig: $lc,
        hostname: "fake-host",
        dnsServers: ["10.0.0.53"],
        hostsEntries: [{ip: "10.0.0.7", hostnames: ["seven"]}],
        insecureOptions: ["seccomp", "capabilities", "paths"],
        ipc: "private"}')
selinux_on=false
[ -e /sys/fs/selinux/enforce ] && selinux_on=true

# expected_argv VERSION UUID: rkt's order (appc-rkt.md §1.4) for $all_options.
expected_argv() {
        local v=$1 u=$2
        echo "$DATA/pods/run/$u/stage1/rootfs/run.sh"
        echo --debug
        echo "--net=default,mynet:K1=V1;K2=V2"
        echo "--local-config=$T/local-config"
        [ "$v" -lt 2 ] || echo --hostname=fake-host
        [ "$v" -lt 4 ] || echo --dns-conf-mode=resolv=stage0,hosts=stage0
        if [ "$v" -ge 3 ]; then
                echo --disable-capabilities-restriction
                echo --disable-paths
                echo --disable-seccomp
        fi
        [ "$v" -lt 6 ] || echo --ipc=private
        echo "$u"
}

# expected_warnings VERSION: the options dropped, "dns" standing for the DNS modes' path.
expected_warnings() {
        local v=$1 w=()
        [ "$v" -ge 4 ] || w+=(dns)
        [ "$v" -ge 2 ] || w+=(options.hostname)
        [ "$v" -ge 3 ] || w+=(options.insecureOptions)
        [ "$v" -ge 6 ] || w+=(options.ipc)
        local IFS=,
        echo "${w[*]}"
}

for v in 1 2 3 4 5 6; do
        version=$v
        [ "$v" = 1 ] && version=none
        python3 "$HERE/make-stage1-variant.py" "$TEST_IMAGES/fake-stage1.aci" "$T/stage1-v$v.aci" "$version"
        S1=$(timeout 30 "$C" image import "$T/stage1-v$v.aci")
        params=$(jq -cn --arg bb "$BB_ID" --arg s1 "$S1" --argjson o "$all_options" \
                '{spec: {apps: [{image: {id: $bb}, exec: "/bin/true"}], stage1Image: {id: $s1}}, options: $o}')
        if ! call io.stage0.Pods.Run "$params" --more; then
                fail "v$v: Run with the fake stage1: $(head -c 400 "$T/err")"
                continue
        fi
        tail -n 1 "$T/out" >"$T/final"
        U=$(jq -r .uuid <"$T/final")
        json_is "$T/final" '.pod.state' exited "v$v: the fake stage1 ran and exited"
        d=$(pod_dir "$U") || { fail "v$v: no pod dir"; continue; }
        if [ -f "$d/fake-stage1-args" ]; then
                is "$(cat "$d/fake-stage1-args")" "$(expected_argv "$v" "$U")" "v$v: the exact run argv"
        else
                fail "v$v: the run entrypoint recorded nothing"
                continue
        fi
        json_is "$T/final" '[.warnings[]?.option | if test("^options\\.(resolvMode|hostsMode|dns[A-Za-z]*|hostsEntries)$") then "dns" else . end] | sort | join(",")' \
                "$(expected_warnings "$v")" "v$v: the warnings name the dropped options"
        json_is "$T/final" '[.warnings[]? | select((.message // "") == "")] | length' 0 \
                "v$v: every warning says why"
        check "v$v: RKT_LOCK_FD is set to an fd number" grep -Eqx 'RKT_LOCK_FD=[0-9]+' "$d/fake-stage1-env"
        if $selinux_on; then
                check "v$v: RKT_SELINUX_CONTEXT is set" grep -q '^RKT_SELINUX_CONTEXT=' "$d/fake-stage1-env"
                check "v$v: RKT_SELINUX_MOUNT_CONTEXT is set" grep -q '^RKT_SELINUX_MOUNT_CONTEXT=' "$d/fake-stage1-env"
        else
                check "v$v: RKT_SELINUX_CONTEXT is set and empty" grep -qx 'RKT_SELINUX_CONTEXT=' "$d/fake-stage1-env"
                check "v$v: RKT_SELINUX_MOUNT_CONTEXT is set and empty" \
                        grep -qx 'RKT_SELINUX_MOUNT_CONTEXT=' "$d/fake-stage1-env"
        fi
        if [ "$v" = 1 ] || [ "$v" = 6 ]; then
                # No options at all: the net default and the UUID, nothing else, no warnings.
                call io.stage0.Pods.Run "$(jq -cn --arg bb "$BB_ID" --arg s1 "$S1" \
                        '{spec: {apps: [{image: {id: $bb}, exec: "/bin/true"}], stage1Image: {id: $s1}}}')" --more ||
                        fail "v$v: Run without options: $(head -c 400 "$T/err")"
                tail -n 1 "$T/out" >"$T/final"
                U=$(jq -r .uuid <"$T/final")
                d=$(pod_dir "$U") || d=$T/none
                is "$(cat "$d/fake-stage1-args" 2>&1)" \
                        "$(printf '%s\n' "$DATA/pods/run/$U/stage1/rootfs/run.sh" --net=default "$U")" \
                        "v$v: the argv without options"
                json_is "$T/final" '.warnings // [] | length' 0 "v$v: no options, no warnings"
        fi
done

log "no mounts are left once the pods are removed"
check "pods that ran have mounts under the data dir" test "$(data_mounts)" -gt 0
call io.stage0.Pods.List '{}'
jq -r '.pods[] | select(.state == "running") | .uuid' <"$T/out" >"$T/running"
is "$(wc -l <"$T/running")" 0 "no pod runs any more"
jq -r '.pods[].uuid' <"$T/out" >"$T/all"
n_removed=0
while read -r u; do
        if call io.stage0.Pods.Remove "{\"uuid\": \"$u\"}"; then
                n_removed=$((n_removed + 1))
        else
                fail "Remove $u: $(head -c 300 "$T/err")"
        fi
done <"$T/all"
check "every pod was removed ($n_removed)" test "$n_removed" -eq "$(wc -l <"$T/all")" -a "$n_removed" -gt 20
is "$(data_mounts)" 0 "no mount under the data dir"
is "$(find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l)" 0 "no pod directory left"

finish
