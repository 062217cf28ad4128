#!/bin/bash
# Faults, injected at each step, and what must hold after each: kill -9 of stage0d during an
# import (a ~100 MB image), a prepare, a run (the pod keeps running and a new stage0d reports
# its exit through Wait), a stop and a GC; kill -9 of a worker during a prepare (PrepareAborted,
# the pod aborted and collected) and during a run (the pod runs on under stage1's lock and its
# exit code is read from the status files); a full disk (a small loop-mounted data dir); and
# image blobs that are corrupted, truncated or replaced by a directory. After each fault, once
# things settle: no pod in a state its directory and lock do not back (nothing running or
# preparing without a live process holding the pod open), no mount under the data dir outside
# a pod that still exists, no worker or stage1 process without a running pod and no zombie
# under stage0d or its workers, a consistent store (Images.List, images/tmp empty after the
# next start, Verify of every image), and a new pod that runs and exits 0.
#
# Killed daemons orphan their workers. So that the orphans are reaped the way init would reap
# them (the PID 1 of a container may not), the test re-executes itself as a child subreaper.
if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: pods, mounts and loop devices need root"
        exit 77
fi
if [ -z "${FAULTS_SUBREAPER:-}" ]; then
        export FAULTS_SUBREAPER=1
        exec python3 -c 'import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(ctypes.get_errno()))
os.execv("/bin/bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

. "$TESTS_LIB"
: "${TEST_IMAGES:?}" "${STAGE1_ACI:?}"

C=$STAGE0C
BB=stage0.io/test/busybox
LOOP_DEV=
SMALL=

# Ours runs first: no process or mount of ours may outlive the test, and lib.sh's cleanup
# removes $T, which must not reach through a pod's mounts or the loop-mounted data dir.
faults_cleanup() {
        local rc=$? pid m
        set +e
        if [ -n "$DAEMON_PID" ]; then
                kill -KILL "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
                DAEMON_PID=
        fi
        for pid in $(pids_under "$T"); do
                kill -KILL "$pid" 2>/dev/null || true
        done
        sleep 0.2
        for m in $(mounts_under "$T" | sort -r); do
                umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done
        [ -z "$LOOP_DEV" ] || losetup -d "$LOOP_DEV" 2>/dev/null || true
        (exit "$rc")
        cleanup
}
trap faults_cleanup EXIT
trap 'exit 143' TERM INT

# pids_under DIR: processes whose command line mentions DIR (our stage0d, its workers, stage1s).
# The pattern comes from a file so that grep's own command line does not match it.
pids_under() {
        grep -laF -f <(printf '%s/\n' "$1") /proc/[0-9]*/cmdline 2>/dev/null |
                sed 's|^/proc/\([0-9]*\)/cmdline$|\1|' | grep -vx "$$" || true
}

# mounts_under DIR: mount points below DIR, from /proc/self/mountinfo.
mounts_under() { awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# call METHOD JSON [--more]: stage0c call, bounded; replies in $T/out, stderr in $T/err.
call() {
        local rc=0
        timeout 30 "$C" call "$@" >"$T/out" 2>"$T/err" || rc=$?
        return "$rc"
}

is() {
        if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got '$1', want '$2'"; fi
}

# json_is FILE FILTER WANT DESCRIPTION
json_is() {
        local got
        got=$(jq -r "$2" <"$1" 2>&1) || got="(not JSON: $(head -c 300 "$1"))"
        is "$got" "$3" "$4"
}

# until_true SECONDS COMMAND...: polls every 20 ms; fails after SECONDS.
until_true() {
        local deadline=$(($(now_ms) + $1 * 1000))
        shift
        until "$@"; do
                [ "$(now_ms)" -lt "$deadline" ] || return 1
                sleep 0.02
        done
}

daemon_start() {
        start_daemon --stage1-image "$STAGE1_ACI" --gc-interval 0
}

daemon_kill() {
        kill -KILL "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        DAEMON_PID=
}

# app NAME SCRIPT [IMAGE_ID]: an AppSpec running /bin/sh -c SCRIPT in busybox (or IMAGE_ID).
app() {
        jq -cn --arg id "${3:-$BB_ID}" --arg name "$1" --arg script "$2" \
                '{image: {id: $id}, name: $name, exec: "/bin/sh", args: ["-c", $script]}'
}

spec_of() { jq -cn --argjson apps "[$1]" '{spec: {apps: $apps}}'; }

# make_image NAME MEGABYTES OUT: busybox renamed to NAME with MEGABYTES of random data in
# rootfs/big (none for 0).
make_image() {
        local d="$T/build-${1//\//-}"
        rm -rf "$d"
        mkdir -p "$d"
        tar -xf "$TEST_IMAGES/busybox.aci" -C "$d"
        jq --arg n "$1" '.name = $n' <"$d/manifest" >"$d/manifest.new"
        mv "$d/manifest.new" "$d/manifest"
        if [ "$2" -gt 0 ]; then
                head -c "$(($2 * 1024 * 1024))" /dev/urandom >"$d/rootfs/big"
        fi
        tar -C "$d" --owner=0 --group=0 --numeric-owner -cf "$3" manifest rootfs
        rm -rf "$d"
}

# import FILE: stage0c image import, bounded; prints the ID.
import() {
        timeout 60 "$C" image import "$1" 2>"$T/err"
}

# workers, stage1s: the processes of this data dir.
# The idle spares stage0d keeps are not workers for these checks: they do nothing and go with
# their daemon. A worker that has taken a job renames itself "w:<method>".
idle_spare() {
        [ "$(cat "/proc/$1/comm" 2>/dev/null)" = stage0-worker ]
}
workers() {
        local pid
        for pid in $(pids_under "$T"); do
                tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "^stage0-worker --data-dir $DATA " &&
                        ! idle_spare "$pid" && echo "$pid"
        done
        return 0
}
stage1s() {
        local pid
        for pid in $(pids_under "$DATA/pods"); do
                tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '^stage0-worker ' || echo "$pid"
        done
        return 0
}
# The daemon's child workers.
daemon_workers() {
        local pid
        for pid in $(workers); do
                [ "$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)" = "$DAEMON_PID" ] && echo "$pid"
        done
        return 0
}
no_workers_or_stage1s() { [ -z "$(workers)$(stage1s)" ]; }

# holders DIR: processes with DIR open.
holders() {
        local fd
        for fd in /proc/[0-9]*/fd/*; do
                [ "$(readlink "$fd" 2>/dev/null)" = "$1" ] && { fd=${fd#/proc/}; echo "${fd%%/*}"; }
        done 2>/dev/null | sort -u
}

pod_dir() {
        local d
        for d in "$DATA"/pods/*/"$1"; do
                [ -d "$d" ] && { echo "$d"; return 0; }
        done
        return 1
}

# lock_holder DIR: the pid /proc/locks gives for DIR's lock, and its command line.
lock_holder() {
        local ino pid
        ino=$(stat -c %i "$1")
        pid=$(awk -v i=":$ino" '$2 == "FLOCK" && substr($6, length($6) - length(i) + 1) == i { print $5 }' /proc/locks | head -n 1)
        [ -n "$pid" ] || { echo none; return; }
        echo "pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || echo gone)"
}

locked() { ! flock -n -s "$1" true 2>/dev/null; }

# What the state of a pod must be, from where it is and whether its lock is held.
state_on_disk() {
        local d=$1 place
        place=$(basename "$(dirname "$d")")
        if locked "$d"; then
                case $place in
                prepare) echo preparing ;; run) echo running ;; prepared) echo prepared ;;
                embryo) echo embryo ;; *) echo deleting ;;
                esac
        else
                case $place in
                prepare) echo abortedPrepare ;; run) echo exited ;; prepared) echo prepared ;;
                embryo) echo embryo ;; exited-garbage) echo exitedGarbage ;; garbage) echo garbage ;;
                esac
        fi
}

# check_pods WHAT: every pod stage0d lists is on disk in the state its place and lock say, a
# pod that runs or prepares is held open by a live process, and stage0d lists every pod.
check_pods() {
        local what=$1 uuid state d want bad=0 n_disk
        if ! call io.stage0.Pods.List '{}'; then
                fail "$what: Pods.List: $(head -c 300 "$T/err")"
                return
        fi
        cp "$T/out" "$T/pods.json"
        while read -r uuid state; do
                d=$(pod_dir "$uuid") || { fail "$what: $uuid ($state) has no directory"; bad=1; continue; }
                want=$(state_on_disk "$d")
                if [ "$state" != "$want" ]; then
                        fail "$what: $uuid is $state, its directory ($d) and lock say $want"
                        bad=1
                fi
                case $state in
                running | preparing | deleting)
                        if [ -z "$(holders "$d")" ]; then
                                fail "$what: $uuid is $state and no process holds $d open (lock: $(lock_holder "$d"))"
                                bad=1
                        fi
                        ;;
                esac
        done < <(jq -r '.pods[] | .uuid + " " + .state' <"$T/pods.json")
        n_disk=$(find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l)
        is "$(jq '.pods | length' <"$T/pods.json")" "$n_disk" "$what: stage0d lists every pod on disk"
        [ "$bad" -ne 0 ] || pass "$what: every pod's state is backed by its place and lock"
}

# check_mounts WHAT: mounts under the data dir only inside pods that still exist.
check_mounts() {
        local what=$1 m rest uuid bad=0
        for m in $(mounts_under "$DATA"); do
                rest=${m#"$DATA"/pods/}
                uuid=${rest#*/}
                uuid=${uuid%%/*}
                if [ "$rest" = "$m" ] || ! [ -d "$DATA/pods/${rest%%/*}/$uuid" ]; then
                        fail "$what: leaked mount $m"
                        bad=1
                fi
        done
        [ "$bad" -ne 0 ] || pass "$what: no mount under the data dir outside a pod"
}

# check_procs WHAT: workers and stage1s only for running pods; no zombie under ours.
check_procs() {
        local what=$1 pid parents zombies bad=0 running
        running=$(jq -r '.pods[] | select(.state == "running") | .uuid' <"$T/pods.json" 2>/dev/null)
        for pid in $(workers) $(stage1s); do
                local mine=0 u
                for u in $running; do
                        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$u" ||
                           ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "/pods/run/$u\$"; then
                                mine=1
                        fi
                done
                if [ "$mine" -eq 0 ]; then
                        fail "$what: leaked process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
                        bad=1
                fi
        done
        parents=" ${DAEMON_PID:-none} $(workers | tr '\n' ' ') $(stage1s | tr '\n' ' ') "
        zombies=$(ps -eo pid=,ppid=,stat= | awk -v p="$parents" '$3 ~ /^Z/ && index(p, " " $2 " ") { print $1 }')
        if [ -n "$zombies" ]; then
                fail "$what: zombies under stage0d or its workers: $zombies"
                bad=1
        fi
        [ "$bad" -ne 0 ] || pass "$what: no leaked process, no zombie"
}

# check_store WHAT: the index answers, images/tmp is empty, every image verifies.
check_store() {
        local what=$1 id bad=0
        if ! call io.stage0.Images.List '{}'; then
                fail "$what: Images.List: $(head -c 300 "$T/err")"
                return
        fi
        for id in $(jq -r '.images[].id' <"$T/out"); do
                if ! call io.stage0.Images.Verify "{\"image\": {\"id\": \"$id\"}}"; then
                        fail "$what: Verify $id: $(head -c 300 "$T/err")"
                        bad=1
                fi
        done
        is "$(find "$DATA/images/tmp" -mindepth 1 | wc -l)" 0 "$what: images/tmp is empty"
        [ "$bad" -ne 0 ] || pass "$what: every image verifies"
}

# check_next WHAT: a new pod runs and exits 0; it is removed again.
check_next() {
        local what=$1 u
        if ! call io.stage0.Pods.Run "$(spec_of "$(app next 'echo next; exit 0')")" --more; then
                fail "$what: the next Run: $(head -c 300 "$T/err")"
                return
        fi
        tail -n 1 "$T/out" >"$T/final"
        json_is "$T/final" '.pod.state + " " + (.pod.apps[0].exitCode | tostring)' "exited 0" \
                "$what: the next pod runs and exits 0"
        u=$(jq -r .uuid <"$T/final")
        call io.stage0.Pods.Remove "{\"uuid\": \"$u\"}" || fail "$what: Remove $u: $(head -c 300 "$T/err")"
}

# settle: no worker or stage1 of ours left (when no pod is meant to run).
settle() {
        until_true 20 no_workers_or_stage1s ||
                fail "$1: workers or stage1s still there after 20 s: $(workers) $(stage1s)"
}

# check_all WHAT: everything that must hold after a fault, once things have settled.
check_all() {
        check_pods "$1"
        check_mounts "$1"
        check_procs "$1"
        check_store "$1"
        check_next "$1"
}

# collect WHAT: Pods.GarbageCollect of everything that can go, at once; the reply in $T/gc.json.
collect() {
        if call io.stage0.Pods.GarbageCollect '{"gracePeriodUsec": 0, "expirePreparedUsec": 0}'; then
                cp "$T/out" "$T/gc.json"
                is "$(jq '.skipped | length' <"$T/gc.json")" 0 "$1: GC skips nothing"
        else
                fail "$1: GarbageCollect: $(head -c 300 "$T/err")"
        fi
}

# collected UUID: the last collect named the pod.
collected() { jq -e --arg u "$1" '.collected | index($u)' "$T/gc.json" >/dev/null; }

# has_entry DIR: DIR has something in it.
has_entry() { [ -n "$(ls -A "$1" 2>/dev/null)" ]; }

log "setup"
make_image stage0.io/test/big 100 "$T/big.aci" &
make_image stage0.io/test/mid1 40 "$T/mid1.aci" &
make_image stage0.io/test/mid2 40 "$T/mid2.aci" &
make_image stage0.io/test/mid3 40 "$T/mid3.aci" &
wait
daemon_start
BB_ID=$(import "$TEST_IMAGES/busybox.aci")
check_all "at the start"

log "kill -9 of stage0d during an import of ~100 MB"
# Through a pipe that gets half the image, then the rest once stage0d has been killed: the
# kill comes in the middle of the import however fast this machine is.
half=$((50 * 1024 * 1024))
mkfifo "$T/big.fifo"
(head -c "$half" "$T/big.aci"; until_true 30 test -e "$T/killed"; tail -c +$((half + 1)) "$T/big.aci") \
        >"$T/big.fifo" 2>/dev/null &
feeder=$!
timeout 60 "$C" call io.stage0.Images.Import "{\"path\": \"$T/big.fifo\"}" --more \
        >"$T/import.out" 2>"$T/import.err" &
client=$!
if until_true 20 has_entry "$DATA/images/tmp"; then
        pass "the import is under way (a file in images/tmp)"
else
        fail "the import never wrote to images/tmp: $(head -c 300 "$T/import.err")"
fi
echo "replies before the kill: $(wc -l <"$T/import.out")"
daemon_kill
touch "$T/killed"
wait "$client" && fail "the import's caller got a reply from a killed stage0d" ||
        pass "the import's caller sees stage0d go"
wait "$feeder" || true
settle "import"
daemon_start
check_all "after a kill during an import"
call io.stage0.Images.List '{"namePrefix": "stage0.io/test/big"}'
log "the killed import was $(jq -r 'if (.images | length) > 0 then "finished by its worker" else "dropped" end' <"$T/out")"
if BIG_ID=$(import "$T/big.aci"); then
        pass "the image imports again"
else
        fail "the image does not import again: $(head -c 300 "$T/err")"
fi

log "kill -9 of stage0d and its import worker together (as a crash of the whole service would)"
# The import reads a pipe that gets half the image and is then held open: it is still under
# way when it is killed, however fast this machine imports 40 MB.
mkfifo "$T/mid3.fifo"
(head -c $((20 * 1024 * 1024)) "$T/mid3.aci"; exec sleep 60) >"$T/mid3.fifo" &
feeder=$!
timeout 60 "$C" call io.stage0.Images.Import "{\"path\": \"$T/mid3.fifo\"}" --more \
        >"$T/import.out" 2>"$T/import.err" &
client=$!
until_true 20 has_entry "$DATA/images/tmp" || fail "the import never wrote to images/tmp"
check "the import's worker is found ($(daemon_workers))" test -n "$(daemon_workers)"
# All of the service at once, as when systemd kills its cgroup: stage0d is stopped first so that
# it starts no spare meanwhile, then its children and it are killed. (A spare that outlived it
# would open the store on its way up and rightly remove the dead import's file.)
kill -STOP "$DAEMON_PID"
kill -KILL $(pgrep -P "$DAEMON_PID") 2>/dev/null || true
daemon_kill
kill "$feeder"
wait "$client" "$feeder" || true
settle "import and worker"
check "the killed import left a file in images/tmp" has_entry "$DATA/images/tmp"
daemon_start
check_all "after a kill of stage0d and its import worker"
call io.stage0.Images.List '{"namePrefix": "stage0.io/test/mid3"}'
json_is "$T/out" '.images | length' 0 "the killed import stored nothing"

# prepare_in_background IMAGE_ID: Pods.Prepare of one app of the image; the caller's pid in
# $client, its replies in $T/prepare.out and .err. Returns once the pod dir exists.
prepare_in_background() {
        timeout 60 "$C" call io.stage0.Pods.Prepare "$(spec_of "$(app prep 'exit 0' "$1")")" \
                >"$T/prepare.out" 2>"$T/prepare.err" &
        client=$!
        if until_true 20 has_entry "$DATA/pods/prepare"; then
                P=$(ls "$DATA/pods/prepare")
                pass "the prepare is under way ($P)"
        else
                P=none
                fail "no pod in pods/prepare: $(head -c 300 "$T/prepare.err")"
        fi
}

log "kill -9 of stage0d during a prepare"
MID1_ID=$(import "$T/mid1.aci")
prepare_in_background "$MID1_ID"
daemon_kill
wait "$client" && fail "the prepare's caller got a reply from a killed stage0d" ||
        pass "the prepare's caller sees stage0d go"
settle "prepare"
daemon_start
call io.stage0.Pods.Status "{\"uuid\": \"$P\"}"
json_is "$T/out" .pod.state abortedPrepare "a prepare whose stage0d was killed ends aborted"
check_all "after a kill during a prepare"
collect "after a kill during a prepare"
check "GC collects the aborted pod" collected "$P"
check "the aborted pod's directory is gone" test ! -e "$(pod_dir "$P" || echo /nonexistent)"

# run_detached SCRIPT: Pods.Run of one busybox app, replied to once stage1 runs; the UUID in $R.
run_detached() {
        R=none
        if call io.stage0.Pods.Run "$(spec_of "$(app main "$1")")"; then
                R=$(jq -r .uuid <"$T/out")
        else
                fail "Run $1: $(head -c 300 "$T/err")"
        fi
}

# wait_pod UUID WANT WHAT: Pods.Wait ends with the pod exited and WANT as its app's exit code.
wait_pod() {
        if call io.stage0.Pods.Wait "{\"uuid\": \"$1\"}"; then
                json_is "$T/out" '.pod.state + " " + (.pod.apps[0].exitCode | tostring)' "exited $2" "$3"
        else
                fail "$3: Wait: $(head -c 300 "$T/err")"
        fi
}

log "kill -9 of stage0d during a run"
run_detached 'sleep 3; exit 5'
started=$(now_ms)
daemon_kill
check "the pod's stage1 outlives stage0d" test -n "$(stage1s)"
daemon_start
call io.stage0.Pods.Status "{\"uuid\": \"$R\"}"
json_is "$T/out" .pod.state running "a new stage0d reports the pod running"
check_pods "while a pod outlives its stage0d"
check_procs "while a pod outlives its stage0d"
wait_pod "$R" 5 "a new stage0d's Wait reports the exit code of a pod the old one started"
took=$(($(now_ms) - started))
check "Wait ended when the pod did (${took} ms after the kill)" test "$took" -ge 2000 -a "$took" -lt 8000
settle "run"
check_all "after a kill during a run"

log "kill -9 of a worker during a prepare"
MID2_ID=$(import "$T/mid2.aci")
prepare_in_background "$MID2_ID"
w=$(daemon_workers)
check "one worker prepares ($w)" test "$(echo "$w" | wc -w)" -eq 1
kill -KILL $w
rc=0
wait "$client" || rc=$?
is "$rc" 1 "the prepare's caller gets an error"
check "the error is PrepareAborted" grep -q 'io.stage0.Pods.PrepareAborted' "$T/prepare.err"
check "PrepareAborted names the pod" grep -q "$P" "$T/prepare.err"
call io.stage0.Pods.Status "{\"uuid\": \"$P\"}"
json_is "$T/out" .pod.state abortedPrepare "the pod whose worker was killed is abortedPrepare"
settle "worker prepare"
check_all "after a worker's kill during a prepare"
collect "after a worker's kill during a prepare"
check "GC collects the aborted pod" collected "$P"

log "kill -9 of a worker during a run"
run_detached 'sleep 2; exit 4'
w=$(daemon_workers)
check "one worker runs the pod ($w)" test "$(echo "$w" | wc -w)" -eq 1
kill -KILL $w
sleep 0.2
call io.stage0.Pods.Status "{\"uuid\": \"$R\"}"
json_is "$T/out" .pod.state running "the pod runs on under its stage1's lock"
check_pods "while a pod outlives its worker"
wait_pod "$R" 4 "Wait reports the exit code from the status files"
settle "worker run"
check_all "after a worker's kill during a run"

pod_state() {
        call io.stage0.Pods.Status "{\"uuid\": \"$1\"}" && jq -r .pod.state <"$T/out"
}
pod_exited() { [ "$(pod_state "$1")" = exited ]; }

log "kill -9 of stage0d during a stop"
run_detached "trap '' TERM; echo ready; sleep 100"
# Stop only once the trap is set, or SIGTERM ends the pod before stage0d is killed.
until_true 10 bash -c "timeout 5 '$C' logs '$R' 2>/dev/null | grep -q '^ready\$'" ||
        fail "the pod to stop never said ready"
timeout 30 "$C" call io.stage0.Pods.Stop "{\"uuid\": \"$R\", \"timeoutUsec\": 1500000}" \
        >"$T/stop.out" 2>"$T/stop.err" &
client=$!
sleep 0.5
daemon_kill
wait "$client" && fail "the stop's caller got a reply from a killed stage0d" ||
        pass "the stop's caller sees stage0d go"
daemon_start
if until_true 5 pod_exited "$R"; then
        log "the stop went on without stage0d"
else
        log "the stop ended with stage0d; the pod is $(pod_state "$R"); stopping it again"
        check_pods "a stop's stage0d killed"
        if call io.stage0.Pods.Stop "{\"uuid\": \"$R\", \"force\": true}"; then
                json_is "$T/out" .pod.state exited "a new stage0d stops the pod"
        else
                fail "a new stage0d cannot stop the pod: $(head -c 300 "$T/err")"
        fi
fi
settle "stop"
check_all "after a kill during a stop"

log "kill -9 of stage0d during a GC"
for i in 1 2 3 4; do
        call io.stage0.Pods.Run "$(spec_of "$(app gc$i 'exit 0')")" --more || fail "Run gc$i: $(head -c 300 "$T/err")"
done
n_before=$(find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l)
timeout 30 "$C" call io.stage0.Pods.GarbageCollect '{"gracePeriodUsec": 0, "expirePreparedUsec": 0}' \
        >"$T/gcall.out" 2>"$T/gcall.err" &
client=$!
until_true 10 has_entry "$DATA/pods/exited-garbage" || fail "GC marked nothing: $(head -c 300 "$T/gcall.err")"
daemon_kill
wait "$client" && log "GC had finished before the kill" || pass "the GC's caller sees stage0d go"
log "pods after the kill: $(find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l) of $n_before"
settle "gc"
daemon_start
check_all "after a kill during a GC"
collect "the next GC"
is "$(find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l)" 0 "the next GC removes every pod"
is "$(mounts_under "$DATA" | wc -l)" 0 "no mount is left under the data dir"

log "unreadable image blobs"
# blob_of ID: the blob file of an image.
blob_of() { find "$DATA/images/blobs" -mindepth 3 -maxdepth 3 -name "${1:0:71}*" | head -n 1; }
damage() {
        case $1 in
        corrupt) dd if=/dev/urandom of="$2" bs=4096 seek=256 count=1 conv=notrunc status=none ;;
        truncate) truncate -s 700000 "$2" ;;
        directory) rm -f "$2" && mkdir "$2" ;;
        missing) rm -f "$2" ;;
        esac
}
for how in corrupt truncate directory missing; do
        make_image "stage0.io/test/$how" 0 "$T/$how.aci"
        id=$(import "$T/$how.aci")
        blob=$(blob_of "$id")
        if [ -z "$blob" ]; then
                fail "$how: no blob for $id"
                continue
        fi
        damage "$how" "$blob"
        if call io.stage0.Images.Verify "{\"image\": {\"id\": \"$id\"}}"; then
                fail "$how: Verify passes"
        elif grep -q 'io.stage0.Images.ImageCorrupted' "$T/err"; then
                pass "$how: Verify reports ImageCorrupted"
        else
                fail "$how: Verify reports $(head -c 300 "$T/err"), not ImageCorrupted"
        fi
        n_before=$(find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l)
        if call io.stage0.Pods.Prepare "$(spec_of "$(app "$how" 'exit 0' "$id")")"; then
                fail "$how: a prepare needing a render of it succeeds"
        else
                check "$how: the prepare fails with a named error: $(head -c 300 "$T/err")" \
                        grep -Eq 'io\.stage0\.Pods\.(ImageCorrupted|PrepareAborted)' "$T/err"
        fi
        settle "$how"
        check_pods "$how"
        collect "$how"
        is "$(find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l)" "$n_before" "$how: the failed prepare leaves no pod"
        is "$(find "$DATA/images/trees" -mindepth 1 -maxdepth 1 -name '*.tmp*' | wc -l)" 0 "$how: no half-rendered tree"
        call io.stage0.Images.Remove "{\"images\": [{\"id\": \"$id\"}]}" ||
                fail "$how: the damaged image cannot be removed: $(head -c 300 "$T/err")"
        check "$how: Remove removes the damaged blob" test ! -e "$blob"
        check_store "$how: once removed"
done
check_next "after the damaged blobs"
check_all "after the damaged blobs"

log "a full disk: a 32 MB data dir on a loop device"
check "stage0d stops on SIGTERM" stop_daemon
loop_unavailable() {
        [ -e /dev/loop-control ] || { echo "no /dev/loop-control"; return 0; }
        losetup -f >/dev/null 2>&1 || { echo "losetup -f finds no free loop device"; return 0; }
        return 1
}
if why=$(loop_unavailable); then
        echo "SKIP: the full-disk faults need a loop device: $why"
        [ "$_failures" -ne 0 ] || { echo "$_passes passed, 0 failed; skipping the rest"; exit 77; }
        finish
fi
truncate -s 32M "$T/small.img"
mkfs.ext4 -q "$T/small.img"
LOOP_DEV=$(losetup -f --show "$T/small.img")
SMALL=$T/small
mkdir "$SMALL"
mount "$LOOP_DEV" "$SMALL"
DATA=$SMALL/data
daemon_start
BB_ID=$(import "$TEST_IMAGES/busybox.aci")
check_next "on the small disk"
used() { df --output=used -k "$SMALL" | tail -n 1; }
blobs() { find "$DATA/images/blobs" -type f | sort; }
blobs >"$T/blobs.before"
used_before=$(used)
if id=$(import "$T/big.aci"); then
        fail "an image of 100 MB imports into 32 MB ($id)"
else
        check "an import that does not fit fails with SystemError ENOSPC or LimitExceeded: $(head -c 200 "$T/err")" \
                grep -Eq 'errnoName=ENOSPC|io.stage0.Images.LimitExceeded' "$T/err"
fi
settle "import ENOSPC"
is "$(find "$DATA/images/tmp" -mindepth 1 | wc -l)" 0 "the failed import leaves nothing in images/tmp"
is "$(blobs)" "$(cat "$T/blobs.before")" "the failed import leaves no blob"
check "the failed import gives back its space ($used_before KiB used before, $(used) KiB after)" \
        test "$(used)" -le $((used_before + 512))
check_all "after an import that did not fit"

log "a full disk: pods"
make_image stage0.io/test/unrendered 1 "$T/unrendered.aci"
make_image stage0.io/test/after 1 "$T/after.aci"
UNRENDERED_ID=$(import "$T/unrendered.aci")
timeout 20 dd if=/dev/zero of="$SMALL/filler" bs=1M status=none 2>/dev/null || true
check "the disk is full ($(df --output=avail -k "$SMALL" | tail -n 1) KiB free)" \
        test "$(df --output=avail -k "$SMALL" | tail -n 1)" -lt 1024
if call io.stage0.Pods.Run "$(spec_of "$(app full 'echo full; exit 0')")" --more; then
        log "a pod of rendered images runs on a full disk: $(tail -n 1 "$T/out" | jq -c '.pod | {state, apps: [.apps[].exitCode]}')"
else
        check "a pod of rendered images on a full disk fails with a named error: $(head -c 300 "$T/err")" \
                grep -Eq 'io\.stage0\.Pods\.(SystemError|PrepareAborted|Stage1Failed|LimitExceeded)' "$T/err"
fi
if call io.stage0.Pods.Run "$(spec_of "$(app full 'exit 0' "$UNRENDERED_ID")")" --more; then
        fail "a pod whose image must be rendered runs on a full disk"
else
        check "a pod whose image must be rendered fails on a full disk with a named error: $(head -c 300 "$T/err")" \
                grep -Eq 'io\.stage0\.Pods\.(SystemError|PrepareAborted|LimitExceeded)' "$T/err"
fi
settle "full disk"
check_pods "on a full disk"
check_mounts "on a full disk"
check_procs "on a full disk"
collect "on a full disk"
is "$(find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l)" 0 "the failed run leaves no pod once collected"
is "$(find "$DATA/images/tmp" -mindepth 1 | wc -l)" 0 "the failed run leaves nothing in images/tmp"
rm -f "$SMALL/filler"
log "space freed"
for id in "$UNRENDERED_ID" ""; do
        if [ -z "$id" ]; then
                if id=$(import "$T/after.aci"); then
                        pass "after freeing space, an import succeeds"
                else
                        fail "after freeing space, the import fails: $(head -c 300 "$T/err")"
                        continue
                fi
        fi
        if call io.stage0.Pods.Run "$(spec_of "$(app after 'test -s /big && exit 0' "$id")")" --more; then
                tail -n 1 "$T/out" >"$T/final"
                json_is "$T/final" '.pod.state + " " + (.pod.apps[0].exitCode | tostring)' "exited 0" \
                        "after freeing space, a pod of ${id:0:19} runs and exits 0"
        else
                fail "after freeing space, Run: $(head -c 300 "$T/err")"
        fi
done
check_all "after freeing space"
collect "the end"
is "$(mounts_under "$DATA" | wc -l)" 0 "no mount is left on the small disk"
check "stage0d stops on SIGTERM" stop_daemon
if umount "$SMALL"; then
        pass "the small disk unmounts (nothing holds it)"
        losetup -d "$LOOP_DEV" && LOOP_DEV=
else
        fail "the small disk is busy: $(ls -l /proc/[0-9]*/fd 2>/dev/null | grep -F "$SMALL" | head -n 3)"
fi

finish
