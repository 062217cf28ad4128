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
        # Pods are gone by now: gc them (cgroups), detach anything a failed run left
        # mounted, then remove.
        for u in "$WORK"/*/uuid; do
                [ -f "$u" ] && (cd "${u%/uuid}" && ./stage1/rootfs/gc "$(cat uuid)") >/dev/null 2>&1
        done
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
        echo "$UUID" > "$POD/uuid"
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

expect_rc() { [ "$RC" = "$1" ] || { fail "exit code $RC, expected $1"; show; return 1; }; }
expect_out() { grep -q -- "$1" "$POD/out" || { fail "output lacks '$1'"; show; return 1; }; }

CASE="exit code recorded"
new_pod exit a
write_manifest "$(app_json a '["/bin/sh","-c","echo hello; exit 3"]')"
run_pod --net=host "$UUID"
if expect_rc 3 && expect_out hello; then
        if [ "$(status_of a)" != 3 ]; then fail "status file says $(status_of a)"
        elif [ ! -f "$POD/stage1/rootfs/rkt/status/a-created" ] || [ ! -f "$POD/stage1/rootfs/rkt/status/a-started" ]; then
                fail "missing -created/-started markers"
        elif ! grep -qE '^[0-9]+$' "$POD/pid"; then fail "no pid file"
        else pass; fi
fi

CASE="two apps"
new_pod two a b
write_manifest "$(app_json a '["/bin/sh","-c","echo from-a; exit 0"]'),$(app_json b '["/bin/sh","-c","sleep 0.2; echo from-b; exit 5"]')"
run_pod --net=host "$UUID"
if expect_rc 5 && expect_out from-a && expect_out from-b; then
        if [ "$(status_of a)/$(status_of b)" != 0/5 ]; then fail "statuses $(status_of a)/$(status_of b)"
        else pass; fi
fi

CASE="environment and working directory"
new_pod env a
write_manifest "$(app_json a '["sh","-c","echo pwd=$(pwd); env"]' \
        '"workingDirectory":"/tmp","environment":[{"name":"OVERRIDDEN","value":"pod"},{"name":"POD_ONLY","value":"x y"}]')"
run_pod --net=host "$UUID"
if expect_rc 0 && expect_out '^pwd=/tmp$' && expect_out '^OVERRIDDEN=pod$' && expect_out '^FROM_IMAGE=image$' &&
   expect_out '^POD_ONLY=x y$' && expect_out '^AC_APP_NAME=a$' && expect_out '^container=stage0$' &&
   expect_out '^PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin$' && expect_out '^HOME=/root$'; then
        pass
fi

CASE="user and group by name"
new_pod username a
write_manifest "$(app_json a '["/bin/sh","-c","echo ids=$(id -u):$(id -g):$(id -G) home=$HOME"]' \
        '"user":"user","group":"users","supplementaryGIDs":[5,1000]')"
sed -i 's/"user":"0","group":"0",//' "$POD/pod"
run_pod --net=host "$UUID"
expect_rc 0 && expect_out '^ids=1000:100:100 5 1000 home=/home/user$' && pass

CASE="user and group by number"
new_pod usernum a
write_manifest "$(app_json a '["/bin/sh","-c","echo ids=$(id -u):$(id -g)"]' '"user":"4242","group":"4343"')"
sed -i 's/"user":"0","group":"0",//' "$POD/pod"
run_pod --net=host "$UUID"
expect_rc 0 && expect_out '^ids=4242:4343$' && pass

CASE="unknown user refused"
new_pod nouser a
write_manifest "$(app_json a '["/bin/true"]' '"user":"ghost","group":"0"')"
sed -i 's/"user":"0","group":"0",//' "$POD/pod"
run_pod --net=host "$UUID"
expect_rc 254 && expect_out "user 'ghost'" && pass

CASE="volumes: read-only, read-write, empty"
new_pod vol a
mkdir -p "$WORK/host-ro" "$WORK/host-rw"
echo original > "$WORK/host-ro/file"
write_manifest "$(app_json a '["/bin/sh","-c","cat /ro/file; if echo x > /ro/new; then echo RO-WRITABLE; fi; echo data > /rw/new; touch /empty/made; stat -c %a:%u /empty; grep -c \" /ro \" /proc/self/mounts"]' \
        '"mountPoints":[{"name":"ro","path":"/ro"},{"name":"rw","path":"/rw"}]' \
        '"mounts":[{"volume":"empty","path":"/empty"}]')" \
        "{\"name\":\"ro\",\"kind\":\"host\",\"source\":\"$WORK/host-ro\",\"readOnly\":true},{\"name\":\"rw\",\"kind\":\"host\",\"source\":\"$WORK/host-rw\"},{\"name\":\"empty\",\"kind\":\"empty\",\"mode\":\"0700\",\"uid\":1000,\"gid\":100}"
run_pod --net=host "$UUID"
if expect_rc 0 && expect_out '^original$' && expect_out '^700:1000$'; then
        if grep -q RO-WRITABLE "$POD/out" || [ -e "$WORK/host-ro/new" ]; then fail "the read-only volume was written"
        elif [ "$(cat "$WORK/host-rw/new" 2>/dev/null)" != data ]; then fail "the read-write volume was not written"
        elif [ ! -e "$POD/sharedVolumes/empty/made" ]; then fail "the empty volume is not in sharedVolumes"
        else pass; fi
fi

CASE="missing host volume source is an error"
new_pod volmissing a
write_manifest "$(app_json a '["/bin/true"]' '' '"mounts":[{"volume":"gone","path":"/gone"}]')" \
        "{\"name\":\"gone\",\"kind\":\"host\",\"source\":\"$WORK/does-not-exist\"}"
run_pod --net=host "$UUID"
expect_rc 252 && expect_out "does-not-exist" && pass

CASE="read-only rootfs"
new_pod rorootfs a
write_manifest "$(app_json a '["/bin/sh","-c","if touch /newfile; then echo WRITABLE; fi; echo x > /tmp/ok || true"]' '' '"readOnlyRootFS":true')"
run_pod --net=host "$UUID"
if expect_rc 0; then
        if grep -q WRITABLE "$POD/out"; then fail "rootfs writable"; else pass; fi
fi

CASE="PID namespace"
new_pod pidns a
write_manifest "$(app_json a '["/bin/sh","-c","echo self=$$ parent=$PPID; echo procs=$(ls /proc | grep -c \"^[0-9]\"); echo init=$(cat /proc/1/cmdline | tr \"\\0\" \" \")"]')"
run_pod --net=host "$UUID"
if expect_rc 0 && expect_out '^init=/init\|^init=.*stage1/rootfs/init'; then
        self=$(sed -n 's/^self=\([0-9]*\) .*/\1/p' "$POD/out")
        procs=$(sed -n 's/^procs=//p' "$POD/out")
        hostpid=$(cat "$POD/pid")
        if [ -z "$self" ] || [ "$self" -gt 10 ]; then fail "app pid $self is not in a fresh namespace"
        elif [ "$procs" -gt 6 ]; then fail "app sees $procs processes"
        elif [ "$hostpid" -le 1 ] || [ "$hostpid" = "$self" ]; then fail "pid file $hostpid"
        else pass; fi
fi

CASE="hostname default and --hostname"
new_pod host1 a
write_manifest "$(app_json a '["/bin/sh","-c","echo name=$(hostname)"]')"
run_pod --net=host "$UUID"
if expect_rc 0 && expect_out "^name=stage0-$UUID\$"; then
        run_pod --net=host --hostname=pod-host.example "$UUID"
        expect_rc 0 && expect_out '^name=pod-host.example$' && pass
fi

CASE="network none: loopback only, up"
new_pod netnone a
write_manifest "$(app_json a '["/bin/sh","-c","echo ifs=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \" | tr \"\\n\" \",\"); ping -c1 -W1 127.0.0.1 >/dev/null && echo lo-up"]')"
run_pod --net=none "$UUID"
expect_rc 0 && expect_out '^ifs=lo,$' && expect_out '^lo-up$' && pass

CASE="lock held for the pod's life, not inherited by apps"
new_pod lock a
write_manifest "$(app_json a '["/bin/sh","-c","ls /proc/self/fd | tr \"\\n\" \" \"; echo; sleep 1"]')"
run_pod_bg() {
        ( cd "$POD" && exec {lk}<. && flock -x "$lk" && RKT_LOCK_FD=$lk exec ./stage1/rootfs/init "$@" ) > "$POD/out" 2>&1 &
        BG=$!
}
run_pod_bg --net=host "$UUID"
for _ in $(seq 50); do [ -f "$POD/stage1/rootfs/rkt/status/a-started" ] && break; sleep 0.1; done
if flock -n -s "$POD" true; then fail "the pod lock is not held while running"
else
        wait "$BG"; RC=$?
        if ! flock -n -s "$POD" true; then fail "the pod lock outlives the pod"
        elif ! grep -q '^0 1 2 3 $' "$POD/out"; then fail "app has extra fds: $(head -1 "$POD/out")"
        else pass; fi
fi

CASE="pre-start and post-stop handlers"
new_pod hooks a
mkdir -p "$WORK/hooks-vol"
write_manifest "$(app_json a '["/bin/sh","-c","cat /tmp/pre && echo main > /v/main"]' \
        '"eventHandlers":[{"name":"pre-start","exec":["/bin/sh","-c","echo pre > /tmp/pre"]},{"name":"post-stop","exec":["/bin/sh","-c","cat /v/main > /v/post"]}],"mountPoints":[{"name":"v","path":"/v"}]')" \
        "{\"name\":\"v\",\"kind\":\"host\",\"source\":\"$WORK/hooks-vol\"}"
run_pod --net=host "$UUID"
if expect_rc 0 && expect_out '^pre$'; then
        if [ "$(cat "$WORK/hooks-vol/post" 2>/dev/null)" != main ]; then fail "post-stop did not run after the app"
        else pass; fi
fi

cgroup_dir() { # CONTROLLER -> where stage1 puts this pod's cgroups for it
        if grep -qw "$1" /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then echo "/sys/fs/cgroup/stage0/$UUID"
        elif grep -qw "$1" /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then echo "/sys/fs/cgroup/unified/stage0/$UUID"
        elif [ -d "/sys/fs/cgroup/$1" ]; then echo "/sys/fs/cgroup/$1/stage0/$UUID"
        fi
}

CASE="memory limit kills an app allocating past it; gc removes the cgroups"
new_pod mem a b
write_manifest "$(app_json a '["/bin/sh","-c","x=$(head -c 200000000 /dev/zero | tr \"\\0\" a); echo survived ${#x}"]' \
        '"isolators":[{"name":"resource/memory","value":{"limit":"32Mi"}}]'),$(app_json b '["/bin/true"]')"
MEMCG=$(cgroup_dir memory)
if [ -z "$MEMCG" ]; then
        echo "SKIP: $CASE: the kernel has no memory cgroup controller"
else
        run_pod --net=host "$UUID"
        if expect_rc 137; then
                if grep -q survived "$POD/out"; then fail "the app survived"
                elif [ ! -d "$MEMCG/a" ]; then fail "no cgroup $MEMCG/a"
                elif ! grep -qx 33554432 "$MEMCG/a/memory.limit_in_bytes" "$MEMCG/a/memory.max" 2>/dev/null; then
                        fail "the limit is not 32Mi in $MEMCG/a"
                else
                        (cd "$POD" && ./stage1/rootfs/gc --debug "$UUID") > "$POD/gc.out" 2>&1
                        rc1=$?
                        (cd "$POD" && ./stage1/rootfs/gc --local-config /etc/rkt "$UUID") >> "$POD/gc.out" 2>&1
                        rc2=$?
                        if [ "$rc1/$rc2" != 0/0 ]; then fail "gc exit codes $rc1/$rc2: $(cat "$POD/gc.out")"
                        elif [ -e "$MEMCG" ]; then fail "$MEMCG survives gc"
                        else pass; fi
                fi
        fi
fi

CASE="cpu limit and cpu-shares"
new_pod cpu a
write_manifest "$(app_json a '["/bin/true"]' \
        '"isolators":[{"name":"resource/cpu","value":{"request":"250m","limit":"500m"}},{"name":"os/linux/cpu-shares","value":512}]')"
CPUCG=$(cgroup_dir cpu)
if [ -z "$CPUCG" ]; then
        echo "SKIP: $CASE: the kernel has no cpu cgroup controller"
else
        run_pod --net=host "$UUID"
        if expect_rc 0; then
                if [ -f "$CPUCG/a/cpu.cfs_quota_us" ] && [ "$(cat "$CPUCG/a/cpu.cfs_quota_us")/$(cat "$CPUCG/a/cpu.shares")" != 50000/512 ]; then
                        fail "v1 values $(cat "$CPUCG/a/cpu.cfs_quota_us")/$(cat "$CPUCG/a/cpu.shares")"
                elif [ -f "$CPUCG/a/cpu.max" ] && [ "$(cat "$CPUCG/a/cpu.max")" != "50000 100000" ]; then
                        fail "v2 cpu.max $(cat "$CPUCG/a/cpu.max")"
                elif ! (cd "$POD" && ./stage1/rootfs/gc "$UUID") || [ -e "$CPUCG" ]; then
                        fail "gc left $CPUCG"
                else pass; fi
        fi
fi

CASE="capabilities: default set, removed CAP_CHOWN really missing"
new_pod caps a b
write_manifest "$(app_json a '["/bin/sh","-c","grep CapBnd /proc/self/status; touch /tmp/f; if chown 1000 /tmp/f; then echo CHOWN-OK; fi"]' \
        '"isolators":[{"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_CHOWN"]}}]'),$(app_json b '["/bin/sh","-c","touch /tmp/f; chown 1000 /tmp/f && echo b-chown-ok; grep CapEff /proc/self/status"]')"
run_pod --net=host "$UUID"
if expect_rc 0 && expect_out 'b-chown-ok' && expect_out 'CapBnd:.*00000000a80425fa' && expect_out 'CapEff:.*00000000a80425fb'; then
        if grep -q CHOWN-OK "$POD/out"; then fail "chown worked without CAP_CHOWN"; else pass; fi
fi

CASE="capabilities: retain set"
new_pod capsretain a
write_manifest "$(app_json a '["/bin/sh","-c","grep CapEff /proc/self/status"]' \
        '"isolators":[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_NET_ADMIN","CAP_KILL"]}}]')"
run_pod --net=host "$UUID"
expect_rc 0 && expect_out 'CapEff:.*0000000000001020$' && pass

CASE="seccomp remove set returns the given errno"
new_pod seccomp a b
write_manifest "$(app_json a '["/bin/sh","-c","mkdir /tmp/d; grep Seccomp: /proc/self/status"]' \
        '"isolators":[{"name":"os/linux/seccomp-remove-set","value":{"set":["mkdir","mkdirat"],"errno":"EXDEV"}}]'),$(app_json b '["/bin/sh","-c","unshare -m true || echo default-filter-blocks-unshare"]')"
run_pod --net=host "$UUID"
expect_rc 0 && expect_out 'mkdir.*Invalid cross-device link' && expect_out 'Seccomp:.*2' && expect_out default-filter-blocks-unshare && pass

CASE="seccomp retain set without errno kills"
new_pod seccompkill a
write_manifest "$(app_json a '["/bin/sh","-c","echo alive"]' \
        '"isolators":[{"name":"os/linux/seccomp-retain-set","value":{"set":["execve","brk","arch_prctl","set_tid_address","set_robust_list","rseq","prlimit64","readlinkat","getrandom","mprotect","mmap","munmap","uname","getuid","getpid","getppid","rt_sigaction","rt_sigprocmask","fstat","newfstatat","geteuid","getgid","getegid","ioctl","read","openat","close","exit_group","readlink","stat","fcntl","lseek"]}}]')"
run_pod --net=host "$UUID"
expect_rc 159 && pass   # 128 + SIGSYS: echo's write(2) is not retained

CASE="no-new-privileges"
new_pod nnp a b c
write_manifest "$(app_json a '["/bin/sh","-c","grep NoNewPrivs /proc/self/status"]' '"isolators":[{"name":"os/linux/no-new-privileges","value":true}]'),$(app_json b '["/bin/sh","-c","grep NoNewPrivs /proc/self/status | sed s/^/b-/"]'),$(app_json c '["/bin/sh","-c","grep NoNewPrivs /proc/self/status | sed s/^/c-/"]' '"user":"1000","group":"1000"')"
run_pod --net=host "$UUID"
expect_rc 0 && expect_out '^NoNewPrivs:.*1' && expect_out '^b-NoNewPrivs:.*0' && expect_out '^c-NoNewPrivs:.*1' && pass

wait_started() {
        for _ in $(seq 50); do [ -f "$POD/stage1/rootfs/rkt/status/$1-started" ] && return 0; sleep 0.1; done
        return 1
}

CASE="stop: graceful"
new_pod stop a
write_manifest "$(app_json a '["/bin/sh","-c","trap \"echo got-term; exit 7\" TERM; while :; do sleep 0.1; done"]')"
run_pod_bg --net=host "$UUID"
if ! wait_started a; then fail "the app did not start"; kill "$BG"
else
        sleep 0.3
        (cd "$POD" && ./stage1/rootfs/stop "$UUID"); src=$?
        wait "$BG"; RC=$?
        if [ "$src" != 0 ]; then fail "stop exited $src"
        elif expect_rc 7 && expect_out got-term; then
                if [ "$(status_of a)" != 7 ]; then fail "status $(status_of a)"; else pass; fi
        fi
fi

CASE="stop: graceful, SIGKILL after the timeout"
new_pod stoptimeout a
write_manifest "$(app_json a '["/bin/sh","-c","trap \"\" TERM; while :; do sleep 0.1; done"]')"
run_pod_bg --net=host "$UUID"
if ! wait_started a; then fail "the app did not start"; kill "$BG"
else
        start=$(date +%s)
        (cd "$POD" && ./stage1/rootfs/stop "$UUID")
        wait "$BG"; RC=$?
        took=$(($(date +%s) - start))
        if expect_rc 137; then
                if [ "$(status_of a)" != 137 ]; then fail "status $(status_of a)"
                elif [ "$took" -lt 1 ] || [ "$took" -gt 6 ]; then fail "took ${took}s with a 2s timeout"
                else pass; fi
        fi
fi

CASE="stop: forced"
new_pod stopforce a
write_manifest "$(app_json a '["/bin/sh","-c","trap \"\" TERM; sleep 30"]')"
run_pod_bg --net=host "$UUID"
if ! wait_started a; then fail "the app did not start"; kill "$BG"
else
        start=$(date +%s)
        (cd "$POD" && ./stage1/rootfs/stop --force "$UUID")
        wait "$BG"; RC=$?
        took=$(($(date +%s) - start))
        if expect_rc 137; then
                if [ "$took" -gt 1 ]; then fail "took ${took}s"
                elif ! (cd "$POD" && ./stage1/rootfs/stop "$UUID"); then fail "stop of an exited pod fails"
                else pass; fi
        fi
fi

CASE="SIGTERM to the run entrypoint stops the pod"
new_pod sigterm a
write_manifest "$(app_json a '["/bin/sh","-c","trap \"exit 9\" TERM; while :; do sleep 0.1; done"]')"
run_pod_bg --net=host "$UUID"
if ! wait_started a; then fail "the app did not start"; kill "$BG"
else
        sleep 0.2
        kill -TERM "$BG"   # the host-side run entrypoint, which passes it to the pod
        wait "$BG"; RC=$?
        expect_rc 9 && pass
fi

CASE="refused and malformed arguments"
new_pod args a
write_manifest "$(app_json a '["/bin/true"]')"
ok=1
check_refusal() { # EXPECTED-RC ARGS...
        local want=$1; shift
        run_pod "$@"
        if [ "$RC" != "$want" ]; then fail "'$*' exited $RC, expected $want"; show; ok=0
        elif ! grep -q 'stage1-run: error' "$POD/out"; then fail "'$*' said nothing"; ok=0; fi
}
check_refusal 251 --net=host --interactive "$UUID"
check_refusal 251 --net=host --mds-token=abc "$UUID"
check_refusal 251 --net=host --mutable "$UUID"
check_refusal 251 --net=host --private-users=65536:65536 "$UUID"
check_refusal 251 --net=mynet:k=v "$UUID"
check_refusal 251 --net=default-restricted "$UUID"
check_refusal 250 --net=host --no-such-flag "$UUID"
check_refusal 250 --net=host
check_refusal 250 --net=host not-a-uuid
check_refusal 250 --net=host --ipc=shared "$UUID"
check_refusal 250 --net=host --dns-conf-mode=resolv=bogus "$UUID"
check_refusal 250 --net=host --hostname=bad_name "$UUID"
check_refusal 250 --net=host --debug=maybe "$UUID"
(cd "$POD" && ./stage1/rootfs/init --net=host "$UUID") > "$POD/out" 2>&1; RC=$?
[ "$RC" = 253 ] && grep -q RKT_LOCK_FD "$POD/out" || { fail "no RKT_LOCK_FD: rc $RC"; ok=0; }
[ $ok = 1 ] && pass

CASE="refused isolators"
new_pod badiso a
write_manifest "$(app_json a '["/bin/true"]' '"isolators":[{"name":"os/linux/apparmor-profile","value":{"profile":"x"}}]')"
run_pod --net=host "$UUID"
if expect_rc 251 && expect_out apparmor-profile; then
        write_manifest "$(app_json a '["/bin/true"]' '"isolators":[{"name":"os/linux/seccomp-remove-set","value":{"set":["no_such_call"]}}]')"
        run_pod --net=host "$UUID"
        if expect_rc 252 && expect_out no_such_call; then
                write_manifest "$(app_json a '["/bin/true"]' '"isolators":[{"name":"resource/memory","value":{"limit":"lots"}}]')"
                run_pod --net=host "$UUID"
                expect_rc 252 && expect_out resource/memory && pass
        fi
fi

CASE="ignored isolator is reported"
new_pod ignored a
write_manifest "$(app_json a '["/bin/true"]' '"isolators":[{"name":"resource/network-bandwidth","value":{"default":true,"limit":"1M"}}]')"
run_pod --net=host "$UUID"
if expect_rc 0 && expect_out 'resource/network-bandwidth'; then
        if ! grep -q "^resource/network-bandwidth	ignored" "$POD/stage1/rootfs/rkt/isolators/a"; then fail "not in the isolator report"
        else pass; fi
fi

CASE="every interface flag at once"
new_pod allflags a
mkdir -p "$POD/stage1/rootfs/etc"
echo "nameserver 192.0.2.53" > "$POD/stage1/rootfs/etc/rkt-resolv.conf"
echo "192.0.2.1 stage0-hosts-file" > "$POD/stage1/rootfs/etc/rkt-hosts"
write_manifest "$(app_json a '["/bin/sh","-c","cat /etc/resolv.conf /etc/hosts; grep -E \"CapBnd|NoNewPrivs|Seccomp:\" /proc/self/status; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo proc-writable; echo ifs=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \" | tr \"\\n\" \",\")"]' \
        '"isolators":[{"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_CHOWN"]}}]')"
run_pod --debug --net=default --local-config=/etc/rkt --hostname=h1 --dns-conf-mode=resolv=stage0,hosts=stage0 \
        --disable-capabilities-restriction --disable-paths --disable-seccomp --ipc=private "$UUID"
if expect_rc 0 && expect_out '^nameserver 192.0.2.53$' && expect_out '^192.0.2.1 stage0-hosts-file$' &&
   expect_out "CapBnd:.*$(grep CapBnd /proc/self/status | cut -f2)" && expect_out 'NoNewPrivs:.*0' &&
   expect_out 'Seccomp:.*0' && expect_out proc-writable && expect_out '^ifs=lo,$'; then
        if ! grep -q "capabilities-remove-set	disabled" "$POD/stage1/rootfs/rkt/isolators/a"; then fail "report: $(cat "$POD/stage1/rootfs/rkt/isolators/a")"
        else pass; fi
fi

CASE="oom-score-adj"
new_pod oom a
write_manifest "$(app_json a '["/bin/sh","-c","echo adj=$(cat /proc/self/oom_score_adj)"]' '"isolators":[{"name":"os/linux/oom-score-adj","value":500}]')"
run_pod --net=host "$UUID"
expect_rc 0 && expect_out '^adj=500$' && pass

CASE="exec not found"
new_pod noexec a b
write_manifest "$(app_json a '["no-such-program"]'),$(app_json b '["/bin/sh","-c","exit 0"]')"
run_pod --net=host "$UUID"
if expect_rc 254 && expect_out 'exec no-such-program'; then
        if [ "$(status_of a)/$(status_of b)" != 254/0 ] || [ -e "$POD/stage1/rootfs/rkt/status/a-started" ]; then
                fail "statuses $(status_of a)/$(status_of b)"
        else pass; fi
fi

CASE="stage1.aci manifest"
m=$(tar -xOf "$STAGE1_ACI" manifest)
ok=1
for want in '"name": "stage0.io/stage1"' '"coreos.com/rkt/stage1/run"' '"value": "/init"' \
            '"coreos.com/rkt/stage1/stop"' '"coreos.com/rkt/stage1/gc"' '"coreos.com/rkt/stage1/interface-version"' \
            '"value": "6"' '"value": "linux"'; do
        grep -qF "$want" <<< "$m" || { fail "manifest lacks $want"; ok=0; }
done
[ $ok = 1 ] && pass

echo "passed: $PASSED, failed: $FAILED"
[ "$FAILED" = 0 ]
