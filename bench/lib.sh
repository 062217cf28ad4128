# Shared by bench/images.sh, bench/prepare.sh and bench/run.sh (sourced, not run): the build's
# binaries, a scratch dir, and a stage0d of our own on it that is stopped on exit.
# The sourcing script sets BUILD (an absolute path) first. After bench_start_daemon:
#   $T         scratch dir (removed on exit unless KEEP=1), on $BENCH_TMP (default /dev/shm)
#   $SOCK      the daemon's address; $DAEMON_PID its pid
#   s0c ARGS   stage0c on that daemon

STAGE0D="$BUILD/daemon/stage0d"
STAGE0C="$BUILD/client/stage0c"
TIMER="$BUILD/bench/bench-timer"
STAGE1_ACI="$BUILD/stage1/stage1.aci"
BUSYBOX_ACI="$BUILD/tests/images/busybox.aci"
BUSYBOX_NAME=stage0.io/test/busybox

bench_need() {
        local f
        for f in "$@"; do
                [ -e "$f" ] || { echo "$f not built (ninja -C $BUILD)" >&2; exit 2; }
        done
}

# Installs Debian packages the bench needs when a command is missing (no network but Debian's
# mirror on the test machines; the lock timeout rides out other engineers' installs).
bench_install() {
        local missing=() cmd pkg
        while [ $# -gt 0 ]; do
                cmd=$1 pkg=$2
                shift 2
                command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 \
                --no-install-recommends "${missing[@]}" >&2
}

DAEMON_PID=
T=
bench_stop() {
        local rc=$?
        if [ -n "$DAEMON_PID" ]; then
                kill -TERM "$DAEMON_PID" 2>/dev/null || true
                wait "$DAEMON_PID" 2>/dev/null || true
        fi
        if [ -n "$T" ]; then
                # Pods leave overlay mounts below the data dir until they are removed.
                # (No match is fine: errexit and pipefail still hold in this trap.)
                { grep -o " $T/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do
                        umount -l "$m" 2>/dev/null || true
                done
                [ "${KEEP:-0}" = 1 ] && echo "kept $T" >&2 || rm -rf "$T"
        fi
        exit "$rc"
}

s0c() {
        "$STAGE0C" --socket "unix:$SOCK" "$@"
}

# bench_start_daemon [STAGE0D ARGS...]: stage0d without --debug, as it runs in production,
# with its data dir under $T.
bench_start_daemon() {
        T=$(mktemp -d "${BENCH_TMP:-/dev/shm}/stage0-bench.XXXXXX")
        trap bench_stop EXIT
        SOCK="$T/io.stage0"
        "$STAGE0D" --socket "$SOCK" --data-dir "$T/data" --stage1-image "$STAGE1_ACI" \
                --gc-interval 0 "$@" 2>"$T/daemon.log" &
        DAEMON_PID=$!
        for _ in $(seq 1 200); do
                s0c info >/dev/null 2>&1 && break
                sleep 0.05
        done
        s0c info >/dev/null || { cat "$T/daemon.log" >&2; exit 1; }
}

bench_header() {
        echo "# $1: $("$STAGE0D" --version 2>/dev/null | head -1) on $(nproc) CPUs," \
             "kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), data dir on" \
             "$(stat -f -c %T "$T")"
}

# median of the numbers on stdin
bench_median() {
        sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
                                            else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
