#!/bin/bash
# Pods.Prepare latency and throughput: starts stage0d on a scratch data dir (tmpfs unless
# BENCH_TMP says otherwise), imports the busybox test image, prepares one pod so that the
# stage1 and busybox trees are rendered, removes it, then runs bench-prepare RUNS times (default
# 1) against the same daemon. bench-prepare removes every pod it prepared. Usage:
#   bench/prepare.sh [BUILD_DIR] [-- BENCH_PREPARE_ARGS...]
set -euo pipefail

BUILD=$(realpath "${1:-build}")
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
. "$(dirname "$0")/lib.sh"
bench_need "$STAGE0D" "$STAGE0C" "$STAGE1_ACI" "$BUSYBOX_ACI" "$BUILD/bench/bench-prepare"
bench_install jq jq

bench_start_daemon
s0c image import "$BUSYBOX_ACI" >/dev/null
uuid=$(s0c call io.stage0.Pods.Prepare \
        '{"spec":{"apps":[{"image":{"name":"'$BUSYBOX_NAME'"},"exec":"/bin/true"}],"overlay":true}}' |
        jq -r .uuid)
s0c rm "$uuid" >/dev/null
bench_header "bench-prepare"
for i in $(seq 1 "${RUNS:-1}"); do
        [ "${RUNS:-1}" -gt 1 ] && echo "# run $i, load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$BUILD/bench/bench-prepare" "$@" "unix:$SOCK"
done
left=$(s0c list | tail -n +2 | wc -l)
[ "$left" -eq 0 ] || { echo "bench-prepare left $left pods behind" >&2; exit 1; }
