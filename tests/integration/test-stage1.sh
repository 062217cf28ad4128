#!/bin/bash
# Integration test of the reference stage1 (stage1/README.md): builds pod directories by hand,
# as stage0 does in copy mode, and runs the stage1 entrypoints directly.
# Needs root. Env: STAGE1_ACI (default $BUILD_ROOT/stage1/stage1.aci), BUSYBOX (/bin/busybox).
# Exit 77 only where the kernel lacks a feature, naming it.
set -u

STAGE1_ACI=${STAGE1_ACI:-${BUILD_ROOT:-}/stage1/stage1.aci}
BUSYBOX=${BUSYBOX:-/bin/busybox}
export STAGE0_STAGE1_STOP_TIMEOUT=${STAGE0_STAGE1_STOP_TIMEOUT:-2}

if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root"; exit 77; fi
[ -f "$STAGE1_ACI" ] || { echo "FAIL: no stage1.aci at '$STAGE1_ACI'"; exit 1; }
[ -x "$BUSYBOX" ] || { echo "FAIL: no busybox at $BUSYBOX"; exit 1; }
for ns in pid mnt uts ipc net; do
        [ -e /proc/self/ns/$ns ] || { echo "SKIP: the kernel lacks $ns namespaces"; exit 77; }
done

WORK=$(mktemp -d /tmp/test-stage1.XXXXXX)
FAILED=0
PASSED=0
trap 'cleanup' EXIT

cleanup() {
        # Pods are gone by now; detach anything a failed run left mounted, then remove.
        grep -o " $WORK[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
                umount -l "$m" 2>/dev/null
        done
        rm -rf "$WORK"
}

fail() { echo "FAIL: $CASE: $*"; FAILED=$((FAILED + 1)); }
pass() { echo "ok: $CASE"; PASSED=$((PASSED + 1)); }

# A busybox rootfs shared (copied) by every app.
BASE=$WORK/base
mkdir -p "$BASE"/{bin,etc,tmp,root,home/user,data}
cp "$BUSYBOX" "$BASE/bin/busybox"
for a in $("$BUSYBOX" --list); do
        [ "$a" = busybox ] || ln -s busybox "$BASE/bin/$a"
done
chmod 1777 "$BASE/tmp"
chown 1000:1000 "$BASE/home/user"
cat > "$BASE/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$BASE/etc/group" <<'G'
root:x:0:
tty:x:5:
users:x:100:
user:x:1000:
nogroup:x:65534:
G

new_uuid() { cat /proc/sys/kernel/random/uuid; }

# new_pod NAME APP... : a pod dir with the stage1 rootfs and one busybox rootfs per app.
new_pod() {
        local name=$1; shift
        POD=$WORK/$name
        UUID=$(new_uuid)
        mkdir -p "$POD/stage1"
        tar -xf "$STAGE1_ACI" -C "$POD/stage1"
        for app in "$@"; do
                mkdir -p "$POD/stage1/rootfs/opt/stage2/$app"
                cp -a "$BASE" "$POD/stage1/rootfs/opt/stage2/$app/rootfs"
                cat > "$POD/stage1/rootfs/opt/stage2/$app/manifest" <<M
{"acKind":"ImageManifest","acVersion":"0.8.11","name":"test.stage0.io/busybox",
 "labels":[{"name":"os","value":"linux"},{"name":"arch","value":"amd64"}],
 "app":{"exec":["/bin/false"],"user":"0","group":"0",
        "environment":[{"name":"FROM_IMAGE","value":"image"},{"name":"OVERRIDDEN","value":"image"}]}}
M
        done
}

# app_json NAME EXEC-JSON [EXTRA-APP-FIELDS] [EXTRA-RUNTIME-APP-FIELDS]
app_json() {
        local extra=${3:+,$3} rextra=${4:+,$4}
        printf '{"name":"%s","image":{"id":"sha512-%0128d"},"app":{"exec":%s,"user":"0","group":"0"%s}%s}' \
                "$1" 0 "$2" "$extra" "$rextra"
}

# write_manifest APPS-JSON [VOLUMES-JSON] [ISOLATORS-JSON]
write_manifest() {
        printf '{"acKind":"PodManifest","acVersion":"0.8.11","apps":[%s],"volumes":[%s],"isolators":[%s]}\n' \
                "$1" "${2:-}" "${3:-}" > "$POD/pod"
}

# run_pod ARGS... : runs the run entrypoint as stage0 does, holding the pod lock; output in
# $POD/out, exit code in $RC.
run_pod() {
        (
                cd "$POD" || exit 99
                exec {lk}<.
                flock -x "$lk" || exit 99
                RKT_LOCK_FD=$lk exec timeout -k 5 40 ./stage1/rootfs/init "$@"
        ) > "$POD/out" 2>&1
        RC=$?
}

status_of() { cat "$POD/stage1/rootfs/rkt/status/$1" 2>/dev/null || echo none; }

show() { sed 's/^/    | /' "$POD/out"; }
