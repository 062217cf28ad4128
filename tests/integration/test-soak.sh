#!/bin/bash
# Soak, bounded: 200 pod lifecycles (Run to its exit, Wait, GarbageCollect with no grace
# period), 8 at a time, against one stage0d with the reference stage1 and the busybox image;
# the lifecycles are driven by bench/soak-driver.py, which checks every reply. Afterwards
# nothing may be left: no mount under the data dir, no pod, no zombie child of stage0d, no
# worker or stage1 process, and stage0d's open fds and RSS are where they were after the
# first 20 lifecycles. bench/soak.sh is the same for 2,000 lifecycles, with figures.
. "$TESTS_LIB"
: "${TEST_IMAGES:?}" "${STAGE1_ACI:?}" "${SOURCE_ROOT:?}"

DRIVER="$SOURCE_ROOT/bench/soak-driver.py"
# The daemon's heap after 200 lifecycles may sit a few pages higher than after 20 without
# anything leaking: malloc keeps freed chunks in its arenas and the high-water mark of 8 pods
# in flight decides how far the heap top grew; sqlite's page cache fills up to its bound as
# pods come and go. 1 MiB is about 5 KiB per lifecycle, which a real per-pod leak (an sd-event
# source, a JSON reply, a pod record: 1-10 KiB each) would exceed; bench/soak.sh shows the
# long-run curve.
RSS_TOLERANCE_KB=1024

# leftovers: processes other than stage0d itself that belong to this test's data dir (a worker
# has it on its command line, stage1 and the apps run from or inside a pod directory), or that
# are still children of stage0d, except the idle spare workers stage0d keeps. One
# "PID STATE COMMAND" line each.
leftovers() {
        python3 - "$DAEMON_PID" "$T/" <<'PY'
import os, sys
daemon, prefix = int(sys.argv[1]), sys.argv[2]
for d in os.listdir("/proc"):
    if not d.isdigit() or int(d) in (daemon, os.getpid()):
        continue
    try:
        stat = open("/proc/%s/stat" % d).read()
        cmd = open("/proc/%s/cmdline" % d, "rb").read().replace(b"\0", b" ").decode(errors="replace")
        links = []
        for name in ("exe", "cwd", "root"):
            try:
                links.append(os.readlink("/proc/%s/%s" % (d, name)))
            except OSError:
                pass
    except OSError:
        continue
    state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
    mine = prefix in cmd or any(l.startswith(prefix) for l in links)
    # stage0d keeps idle workers started ahead of need: children of it with none of their own.
    # (a worker that took a job renames itself "w:<method>"; a spare keeps its name)
    try:
        # (a spare being started is still "stage0d" between its fork and its exec)
        spare = int(ppid) == daemon and open("/proc/%s/comm" % d).read().strip() in ("stage0-worker", "stage0d")
    except OSError:
        spare = False
    if (int(ppid) == daemon or mine) and not spare:
        print(d, state, cmd.strip() or stat[stat.index("(") : stat.rindex(")") + 1])
PY
}

start_daemon --stage1-image "$STAGE1_ACI" --gc-interval 0
timeout 30 "$STAGE0C" image import "$TEST_IMAGES/busybox.aci" >/dev/null

log "200 lifecycles, 8 at a time; sampled after 20 and after 200"
rc=0
timeout 80 python3 "$DRIVER" --socket "$SOCK" --daemon-pid "$DAEMON_PID" --parallel 8 \
        --rounds 20,180 --json "$T/soak.json" || rc=$?
if [ "$rc" -eq 0 ]; then pass "every lifecycle's replies as expected"; else fail "driver exit $rc"; fi

sample() { jq -r ".samples[$1].$2" "$T/soak.json" 2>/dev/null || echo none; }
if [ "$(jq -r .lifecycles "$T/soak.json" 2>/dev/null)" = 200 ]; then
        fds20=$(sample 0 fds) fds200=$(sample 1 fds)
        rss20=$(sample 0 rssKb) rss200=$(sample 1 rssKb)
        log "after 20: $fds20 fds, RSS $rss20 kB; after 200: $fds200 fds, RSS $rss200 kB"
        check "stage0d settled (no children, fds still) after 20 and after 200" \
                test "$(jq '[.samples[].settled] | all' "$T/soak.json")" = true
        if [ "$fds200" -eq "$fds20" ]; then
                pass "open fds after 200 = after 20 ($fds20)"
        else
                fail "open fds: $fds200 after 200, $fds20 after 20"
                ls -l "/proc/$DAEMON_PID/fd" >&2
        fi
        if [ "$rss200" -le $((rss20 + RSS_TOLERANCE_KB)) ]; then
                pass "RSS after 200 within $RSS_TOLERANCE_KB kB of after 20 (+$((rss200 - rss20)) kB)"
        else
                fail "RSS grew by $((rss200 - rss20)) kB from 20 to 200 lifecycles"
        fi
        check "GC collected every pod" test "$(jq '.uncollected | length' "$T/soak.json")" = 0
else
        fail "the driver did not complete 200 lifecycles"
fi

mounts=$(grep -c " $DATA/" /proc/self/mountinfo || true)
if [ "$mounts" -eq 0 ]; then pass "no mount left under the data dir"; else
        fail "$mounts mounts left under the data dir"; grep " $DATA/" /proc/self/mountinfo >&2; fi
left=$(leftovers)
check "no zombie child of stage0d" test -z "$(awk '$2 == "Z"' <<<"$left")"
if [ -z "$left" ]; then pass "no worker, stage1 or app process left"; else
        fail "processes left:"; echo "$left" >&2; fi
pods=$(timeout 10 "$STAGE0C" call io.stage0.Pods.List '{}' | jq '.pods | length')
is_zero() { [ "$1" = 0 ]; }
check "no pod left (List has $pods)" is_zero "$pods"
check "no pod directory left" test -z "$(find "$DATA/pods" -mindepth 2 -maxdepth 2)"
check "stage0d stops cleanly" stop_daemon
finish
