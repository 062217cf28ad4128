#!/usr/bin/env bash
# Pods.Prepare against the real daemon, checked on disk: rkt's pod layout file by file with
# overlay and with copy, private users, a pod manifest given whole, bad input that leaves no
# pod behind, and 50 prepares at once while the daemon keeps answering.
. "$TESTS_LIB"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (chown, overlay)"; exit 77; }
start_daemon --stage1-image "$STAGE1_ACI"
"$STAGE0C" image import "$TEST_IMAGES/busybox.aci" >"$T/id" || { fail "import"; finish; }
BUSYBOX=$(cat "$T/id")
APP='{"image": {"name": "stage0.io/test/busybox"}}'

# prepare JSON: Pods.Prepare with spec JSON; the UUID in $UUID, the reply in $T/out.
prepare() {
        UUID=
        "$STAGE0C" call io.stage0.Pods.Prepare "{\"spec\": $1}" >"$T/out" 2>"$T/err" || return 1
        UUID=$(jq -r .uuid "$T/out")
}
pods_on_disk() { find "$DATA/pods" -mindepth 2 -maxdepth 2 | wc -l; }
mode_of() { stat -c %a "$1"; }
is() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got '$1', want '$2'"; fi; }

log "overlay"
if prepare "{\"apps\": [$APP]}"; then
        P="$DATA/pods/prepared/$UUID"
        check "the pod is in pods/prepared" test -d "$P"
        is "$(mode_of "$P")" 750 "pod dir mode"
        for f in pod pod-created stage1/manifest stage1TreeStoreID appsinfo/busybox/manifest \
                 appsinfo/busybox/treeStoreID overlay-prepared; do
                check "$f is there" test -f "$P/$f"
                is "$(mode_of "$P/$f")" 640 "$f mode"
        done
        is "$(mode_of "$P/pod.lck")" 600 "pod.lck mode"
        check "pod is a PodManifest" bash -c "jq -e '.acKind == \"PodManifest\"' '$P/pod' >/dev/null"
        is "$(jq -r '.apps[0].image.id' "$P/pod")" "$BUSYBOX" "the app's image by full ID"
        is "$(jq -r '.annotations[] | select(.name == "coreos.com/rkt/stage1/mutable") | .value' "$P/pod")" \
                false "the mutable annotation"
        tree=$(cat "$P/appsinfo/busybox/treeStoreID")
        check "the app's tree is rendered in the store" test -f "$DATA/images/trees/$tree/rendered"
        s1tree=$(cat "$P/stage1TreeStoreID")
        check "the stage1 tree is rendered in the store" test -f "$DATA/images/trees/$s1tree/rendered"
        check "stage1/manifest names the stage1" \
                bash -c "jq -e '.name == \"stage0.io/stage1\"' '$P/stage1/manifest' >/dev/null"
        check "nothing rendered into the pod (the rootfs is mounted at run)" \
                test -z "$(ls -A "$P/stage1/rootfs" 2>/dev/null)"
        check "no private-users marker" test ! -e "$P/private-users-prepared"
        check "the lock is free once prepared" flock -n -s "$P" true
else
        fail "overlay prepare: $(cat "$T/err")"
fi

log "copy"
if prepare "{\"overlay\": false, \"apps\": [$APP]}"; then
        P="$DATA/pods/prepared/$UUID"
        check "no overlay marker" test ! -e "$P/overlay-prepared"
        check "no tree ID for the app" test ! -e "$P/appsinfo/busybox/treeStoreID"
        check "stage1TreeStoreID still written" test -s "$P/stage1TreeStoreID"
        check "the stage1 rootfs is copied" test -x "$P/stage1/rootfs/init"
        check "the app's rootfs is rendered into the pod" \
                test -x "$P/stage1/rootfs/opt/stage2/busybox/rootfs/bin/busybox"
        check "the app's image manifest beside it" test -f "$P/stage1/rootfs/opt/stage2/busybox/manifest"
else
        fail "copy prepare: $(cat "$T/err")"
fi

log "private users"
if prepare "{\"privateUsers\": {}, \"apps\": [$APP]}"; then
        P="$DATA/pods/prepared/$UUID"
        marker=$(cat "$P/private-users-prepared")
        shift=${marker%%:*}
        count=${marker##*:}
        is "$count" 65536 "count of the shift"
        check "the shift ($shift) is a multiple of 65536, not 0, below 2^31" \
                test $((shift % 65536)) -eq 0 -a "$shift" -gt 0 -a "$shift" -lt 2147483648
        check "copied, not overlaid" test ! -e "$P/overlay-prepared"
        is "$(stat -c %u "$P/stage1/rootfs/opt/stage2/busybox/rootfs/bin/busybox")" "$shift" \
                "app files are owned by the shifted root"
else
        fail "private users prepare: $(cat "$T/err")"
fi
if prepare "{\"privateUsers\": {\"shift\": 131072, \"count\": 65536}, \"apps\": [$APP]}"; then
        is "$(cat "$DATA/pods/prepared/$UUID/private-users-prepared")" 131072:65536 "a given shift is kept"
fi
before=$(pods_on_disk)
prepare "{\"overlay\": true, \"privateUsers\": {}, \"apps\": [$APP]}" && fail "overlay with private users prepared"
check "overlay with private users: the seed's refusal" grep -q "cannot use both overlay and user namespace" "$T/err"
is "$(pods_on_disk)" "$before" "... and no pod left behind"

log "a pod manifest given whole"
manifest=$(jq -cn --arg id "$BUSYBOX" '{acKind: "PodManifest", acVersion: "0.8.11",
        apps: [{name: "custom", image: {id: $id},
                app: {exec: ["/bin/true"], user: "0", group: "0"}}]}')
if prepare "{\"manifest\": $manifest}"; then
        P="$DATA/pods/prepared/$UUID"
        is "$(jq -c '.apps[0].app.exec' "$P/pod")" '["/bin/true"]' "the given app section is kept"
        is "$(jq -r '.apps[0].name' "$P/pod")" custom "the given app name is kept"
        check "appsinfo for the given name" test -f "$P/appsinfo/custom/manifest"
else
        fail "manifest prepare: $(cat "$T/err")"
fi

log "bad input leaves no pod"
before=$(pods_on_disk)
bad() {
        local spec=$1 error=$2
        if prepare "$spec"; then
                fail "prepared: $spec"
        elif grep -q "$error" "$T/err"; then
                pass "refused with $error: $spec"
        else
                fail "$spec: want $error, got $(cat "$T/err")"
        fi
}
bad '{"apps": [{"image": {"name": "example.com/nope"}}]}' io.stage0.Pods.NoSuchImage
bad '{"apps": [{"image": {"id": "sha512-00"}}]}' io.stage0.Pods.NoSuchImage
bad '{"apps": [{"image": {"id": "sha512-0"}}]}' InvalidPodSpec
bad '{"apps": [{"image": {"name": "stage0.io/test/busybox"}, "name": "Bad_Name"}]}' InvalidPodSpec
bad "{\"apps\": [$APP, $APP]}" InvalidPodSpec
bad '{"apps": [{"image": {"name": "stage0.io/test/busybox"}, "capsRetain": ["CAP_CHOWN"], "capsRemove": ["CAP_KILL"]}]}' InvalidPodSpec
bad '{"apps": [{"image": {"name": "stage0.io/test/busybox"}, "mounts": [{"volume": "v", "path": "/x"}]}]}' InvalidPodSpec
bad '{"apps": []}' InvalidPodSpec
bad "{\"stage1Image\": {\"name\": \"example.com/nope\"}, \"apps\": [$APP]}" io.stage0.Pods.NoSuchImage
bad '{"apps": [{"image": {"name": "stage0.io/test/busybox"}}], "manifest": {}}' InvalidPodSpec
is "$(pods_on_disk)" "$before" "no pod directory from any of them"

log "50 prepares at once"
before=$(ls "$DATA/pods/prepared" | wc -l)
pids=()
for i in $(seq 50); do
        timeout 120 "$STAGE0C" call io.stage0.Pods.Prepare "{\"spec\": {\"apps\": [$APP]}}" >"$T/p$i" 2>&1 &
        pids+=($!)
done
slow=0
for i in $(seq 10); do
        s=$(date +%s%N)
        timeout 5 "$STAGE0C" info >/dev/null || slow=$((slow + 1))
        [ $(( ($(date +%s%N) - s) / 1000000 )) -lt 1000 ] || slow=$((slow + 1))
done
is "$slow" 0 "GetInfo answered within 1 s, 10 times, while they prepare"
wait "${pids[@]}"
ok=0
for i in $(seq 50); do jq -e .uuid "$T/p$i" >/dev/null 2>&1 && ok=$((ok + 1)); done
is "$ok" 50 "all 50 prepared"
is "$(( $(ls "$DATA/pods/prepared" | wc -l) - before ))" 50 "50 more pods in pods/prepared"
is "$(ls "$DATA/pods/prepare" | wc -l)" 0 "none left preparing"

check "stage0d stops cleanly" stop_daemon
finish
