#!/bin/bash
# End-to-end latency of running busybox /bin/true with stage0 (the image imported and its trees
# rendered) against crun, runc and systemd-nspawn on the same rootfs, with
# `unshare -m -p -f -u -i chroot ROOTFS /bin/true` as the floor, interleaved round by round by
# bench-timer; then stage0d's RSS and the per-pod worker's while a `sleep 1` pod runs.
# Everything is on tmpfs (BENCH_TMP, default /dev/shm). Usage:
#   bench/run.sh [BUILD_DIR]     env: RUNS (rounds, default 30), REPEAT (invocations, 1)
#
# How each peer is started here (../shared/reference/peers.md, "Failures"):
# - crun refuses hybrid cgroups, so it runs in a private mount namespace with
#   /sys/fs/cgroup/unified unmounted, held by a sleeping process; bench-timer setns()es each crun
#   child into it just before exec;
# - systemd-nspawn needs --register=no --keep-unit and a /usr in the tree (usr/lib/os-release is
#   added to our copy of the rootfs);
# - crun and runc run in the foreground from one OCI bundle and remove their state on exit.
# The stage0 row times the whole client command; the pod it leaves (exited, with its overlay
# mounts) is removed by Pods.GarbageCollect before the next run, untimed, so that mounts do not
# pile up for everyone (crun run removes its container on exit too).
set -euo pipefail

BUILD=$(realpath "${1:-build}")
. "$(dirname "$0")/lib.sh"
bench_need "$STAGE0D" "$STAGE0C" "$STAGE1_ACI" "$BUSYBOX_ACI" "$TIMER"
bench_install crun crun runc runc systemd-nspawn systemd-container jq jq unshare util-linux

bench_start_daemon
s0c image import "$BUSYBOX_ACI" >/dev/null
RUN_JSON='{"spec":{"apps":[{"image":{"name":"'$BUSYBOX_NAME'"},"exec":"/bin/true"}]}}'
S0C=("$STAGE0C" --socket "unix:$SOCK")
# `stage0c run IMAGE --exec` once the client takes app flags on run; the same call otherwise.
if s0c run "$BUSYBOX_NAME" --exec /bin/true >/dev/null 2>&1; then
        STAGE0_RUN=("${S0C[@]}" run "$BUSYBOX_NAME" --exec /bin/true)
else
        STAGE0_RUN=("${S0C[@]}" call io.stage0.Pods.Run "$RUN_JSON" --more)
fi
"${STAGE0_RUN[@]}" >/dev/null   # renders the stage1 and busybox trees
GC_JSON='{"gracePeriodUsec":0}'
s0c call io.stage0.Pods.GarbageCollect "$GC_JSON" >/dev/null

# The same rootfs for every peer: the busybox image rendered by stage0 (a copy, since nspawn
# writes into it), plus what nspawn insists on.
ROOTFS="$T/rootfs"
s0c image render "$BUSYBOX_NAME" "$ROOTFS" --rootfs-only >/dev/null
mkdir -p "$ROOTFS/usr/lib" "$ROOTFS/proc" "$ROOTFS/sys" "$ROOTFS/dev" "$ROOTFS/tmp"
printf 'ID=busybox\nNAME=busybox-bench\n' >"$ROOTFS/usr/lib/os-release"
[ -e "$ROOTFS/etc/os-release" ] || { mkdir -p "$ROOTFS/etc" && ln -s ../usr/lib/os-release "$ROOTFS/etc/os-release"; }
BUNDLE="$T/bundle"
mkdir -p "$BUNDLE"
(cd "$BUNDLE" && crun spec)
jq --arg root "$ROOTFS" '.process.args = ["/bin/true"] | .process.terminal = false |
        .root = {"path": $root, "readonly": false}' "$BUNDLE/config.json" >"$BUNDLE/c"
mv "$BUNDLE/c" "$BUNDLE/config.json"

# crun's private mount namespace, held open by a sleeping process of ours.
unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec sleep infinity' &
HOLDER=$!
for _ in $(seq 1 100); do
        [ "$(readlink /proc/$HOLDER/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] &&
                ! grep -q ' /sys/fs/cgroup/unified ' /proc/$HOLDER/mounts && break
        sleep 0.02
done
stop_holder() {
        local rc=$?
        kill "$HOLDER" 2>/dev/null || true
        (exit "$rc")
        bench_stop
}
trap stop_holder EXIT

bench_header "bench/run"
echo "# $(crun --version | head -1), $(runc --version | head -1), $(systemd-nspawn --version | head -1)"
echo "# stage0: ${STAGE0_RUN[*]:3}"
RAW="$T/raw"
for i in $(seq 1 "${REPEAT:-1}"); do
        "$TIMER" --runs "${RUNS:-30}" --warmup 3 --baseline crun --raw "$RAW" \
                --name unshare-chroot unshare -m -p -f -u -i chroot "$ROOTFS" /bin/true \; \
                --name stage0 --setup "'${S0C[0]}' ${S0C[*]:1} call io.stage0.Pods.GarbageCollect '$GC_JSON' >/dev/null" \
                        "${STAGE0_RUN[@]}" \; \
                --name crun --mntns "/proc/$HOLDER/ns/mnt" crun run --bundle "$BUNDLE" bench-crun-$$ \; \
                --name runc runc run --bundle "$BUNDLE" bench-runc-$$ \; \
                --name nspawn systemd-nspawn -q -D "$ROOTFS" --register=no --keep-unit /bin/true \;
done
s0c call io.stage0.Pods.GarbageCollect "$GC_JSON" >/dev/null

med() { awk -v n="$1" '$1 == n { print $2 }' "$RAW" | bench_median; }
s=$(med stage0) c=$(med crun) f=$(med unshare-chroot)
awk -v s="$s" -v c="$c" -v f="$f" 'BEGIN {
        printf "# pooled medians (ms): stage0 %.2f, crun %.2f, floor %.2f\n", s, c, f
        printf "stage0 / crun                   %6.2f  (target <= 1.00)\n", s / c
}'

# Memory: stage0d now, and the worker of a pod that sleeps for a second, sampled until it ends.
# Both print nothing, and succeed, once the process is gone.
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
pss() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || true; }
echo "# memory (kB)          VmRSS   VmHWM     Pss"
printf "stage0d              %7s %7s %7s\n" "$(kb $DAEMON_PID VmRSS)" "$(kb $DAEMON_PID VmHWM)" "$(pss $DAEMON_PID)"
SLEEP_JSON='{"spec":{"apps":[{"image":{"name":"'$BUSYBOX_NAME'"},"exec":"/bin/sleep","args":["1"]}]}}'
s0c call io.stage0.Pods.Run "$SLEEP_JSON" >"$T/sleep.json"   # replies once stage1 runs
# The pod's worker is the one with a child (its stage1); the others are idle spares.
worker=
for k in $(pgrep -P "$DAEMON_PID"); do
        tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null | grep -q -- "^stage0-worker " &&
                [ -n "$(pgrep -P "$k")" ] && worker=$k
done
[ -n "$worker" ] || { echo "no pod worker found under stage0d $DAEMON_PID" >&2; exit 1; }
rss=0 hwm=0 p=0
while [ -d "/proc/$worker" ]; do
        v=$(kb "$worker" VmRSS) h=$(kb "$worker" VmHWM) q=$(pss "$worker")
        [ -n "$v" ] && [ "$v" -gt "$rss" ] && rss=$v
        [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
        [ -n "$q" ] && [ "$q" -gt "$p" ] && p=$q
        sleep 0.02
done
printf "pod worker (peak)    %7s %7s %7s\n" "$rss" "$hwm" "$p"
s0c call io.stage0.Pods.Wait "{\"uuid\":\"$(jq -r .uuid "$T/sleep.json")\"}" >/dev/null
printf "stage0d after        %7s %7s %7s\n" "$(kb $DAEMON_PID VmRSS)" "$(kb $DAEMON_PID VmHWM)" "$(pss $DAEMON_PID)"
echo "# peers (peers.md): conmon 2048 kB VmRSS per container, containerd-shim-runc-v2 13236 kB"
s0c call io.stage0.Pods.GarbageCollect "$GC_JSON" >/dev/null
