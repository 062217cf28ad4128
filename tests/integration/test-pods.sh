#!/bin/bash
# stage0c's pod commands against the real stage0d: prepare (rkt's command line, --json,
# --quiet, --pod-manifest), list and its filters, status, cat-manifest, rm, and their exit
# codes for usage, service and connection errors. The pods use the fake stage1 of
# tests/images. The run commands are checked as far as the daemon implements Pods.Run.
. "$TESTS_LIB"
: "${TEST_IMAGES:?}"

C=$STAGE0C
S1=stage0.io/test/fake-stage1
BB=stage0.io/test/busybox
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'

# prepare, run and run-prepared read their own flags (rkt's syntax); a stage0c whose option
# parser does not yet pass them through (CommandSyntax.raw_args) cannot run this test.
if ! "$C" prepare --quiet --help >/dev/null 2>&1; then
        echo "SKIP: stage0c does not pass the flags of prepare through to it" >&2
        exit 77
fi

start_daemon
"$C" image import "$TEST_IMAGES/busybox.aci" "$TEST_IMAGES/fake-stage1.aci" >"$T/ids"
BB_ID=$(sed -n 1p "$T/ids")

# expect_rc WANT DESCRIPTION COMMAND...: the command exits with WANT; output in $T/out, $T/err.
expect_rc() {
        local want=$1 what=$2 rc=0
        shift 2
        "$@" >"$T/out" 2>"$T/err" || rc=$?
        if [ "$rc" -eq "$want" ]; then
                pass "$what"
        else
                fail "$what: exit $rc, want $want; stderr: $(head -c 400 "$T/err")"
        fi
}

# err_has TEXT DESCRIPTION: the last command's stderr contains TEXT.
err_has() {
        if grep -qF -- "$1" "$T/err"; then pass "$2"; else fail "$2: stderr lacks '$1': $(head -c 400 "$T/err")"; fi
}

# json_is FILTER WANT DESCRIPTION: jq -r FILTER of the last command's stdout is WANT.
json_is() {
        local got
        got=$(jq -r "$1" <"$T/out" 2>&1) || got="(not JSON: $(head -c 200 "$T/out"))"
        if [ "$got" = "$2" ]; then pass "$3"; else fail "$3: $1 is '$got', want '$2'"; fi
}

log "prepare: one app, rkt's flags"
expect_rc 0 "prepare prints the UUID" \
        "$C" prepare "$BB" --exec /bin/sh --user 0 --group 0 --working-dir /tmp \
        --environment A=1 -- -c 'echo hi' --- --set-env B=2 --stage1-image "$S1" --quiet
P1=$(cat "$T/out")
check "the UUID is canonical" grep -Eq "$UUID_RE" <<<"$P1"

expect_rc 0 "cat-manifest" "$C" cat-manifest "$P1"
json_is '.acKind' PodManifest "the manifest is a pod manifest"
json_is '.apps | length' 1 "one app"
json_is '.apps[0].name' busybox "the app is named after the image"
json_is '.apps[0].image.id' "$BB_ID" "the image is resolved to its ID"
json_is '.apps[0].app.exec | join(" ")' "/bin/sh -c echo hi" "--exec and the app arguments"
json_is '.apps[0].app.workingDirectory' /tmp "--working-dir"
json_is '[.apps[0].app.environment[] | select(.name == "A") | .value] | join(",")' 1 "--environment"
json_is '[.apps[0].app.environment[] | select(.name == "B") | .value] | join(",")' 2 "--set-env"

expect_rc 0 "status" "$C" status "$P1"
check "status: state" grep -qx "state=prepared" "$T/out"
check "status: uuid" grep -qx "uuid=$P1" "$T/out"
check "status: created" grep -Eq '^created=[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$T/out"
check "status: not exited" grep -qx "exited=false" "$T/out"
expect_rc 0 "status by UUID prefix" "$C" status "${P1:0:8}"
check "the prefix names the pod" grep -qx "uuid=$P1" "$T/out"
expect_rc 0 "status --json" "$C" status --json "$P1"
json_is '.pod.state' prepared "status --json: state"
json_is '.pod.apps[0].imageId' "$BB_ID" "status --json: image ID"

log "prepare: two apps, pod flags anywhere, --json"
expect_rc 0 "prepare --json of two apps" \
        "$C" prepare --json --user-label tier=web "$BB" --name one --exec /bin/true \
        "$BB_ID" --name two --exec /bin/false --user-annotation note=x \
        --volume data,kind=empty,mode=0700 --mount volume=data,target=/data \
        --stage1-image "$S1"
P2=$(jq -r .uuid <"$T/out")
json_is '.pod.state' prepared "the final reply carries the prepared pod"
json_is '[.pod.apps[].name] | join(",")' one,two "the apps, in order"
json_is '.pod.userLabels.tier' web "a --user-label before the first image is the pod's"
expect_rc 0 "cat-manifest of two apps" "$C" cat-manifest "$P2"
json_is '[.apps[].name] | join(",")' one,two "apps in the manifest"
json_is '.apps[1].annotations // [] | map(select(.name == "note")) | length' 0 \
        "a user annotation is not an annotation"
json_is '.volumes[0].name + ":" + .volumes[0].kind' data:empty "--volume"
json_is '[.apps[1].mounts[]? | .volume + "@" + .path] | join(",")' "data@/data" "--mount after an image is that app's"

log "prepare: --pod-manifest"
"$C" cat-manifest "$P1" >"$T/manifest.json"
expect_rc 0 "prepare --pod-manifest" "$C" prepare --pod-manifest "$T/manifest.json" --stage1-image "$S1" --quiet
P3=$(cat "$T/out")
expect_rc 0 "cat-manifest of the manifest pod" "$C" cat-manifest "$P3"
json_is '.apps[0].app.exec | join(" ")' "/bin/sh -c echo hi" "the given manifest's apps are used"

log "list"
expect_rc 0 "list" "$C" list
check "list: header" grep -q '^UUID *APPS *IMAGE NAMES *STATE *CREATED *STARTED$' "$T/out"
check "list: the short UUID" grep -q "^${P1:0:8} .*busybox .*prepared" "$T/out"
check "list: two apps" grep -q "^${P2:0:8} *one,two " "$T/out"
check "list: three pods" test "$(wc -l <"$T/out")" -eq 4
expect_rc 0 "list --full" "$C" list --full
check "list --full: the whole UUID" grep -q "^$P1 " "$T/out"
expect_rc 0 "list --app two" "$C" list --app two
check "list --app: only that pod" test "$(wc -l <"$T/out")" -eq 2
check "list --app: the right pod" grep -q "^${P2:0:8} " "$T/out"
expect_rc 0 "list --state exited" "$C" list --state exited
check "list --state: no exited pod" test "$(wc -l <"$T/out")" -eq 1
expect_rc 0 "list --image by ID prefix --json" "$C" list --json --image "${BB_ID:0:20}"
json_is '.pods | length' 3 "every pod uses the image"
expect_rc 0 "list --image by name --state prepared --state running" \
        "$C" list --json --image "$BB" --state prepared --state running
json_is '.pods | length' 3 "filters of one kind match any value"
expect_rc 2 "list --state nonsense" "$C" list --state sleeping
err_has "unknown state 'sleeping'" "list: the states are named"

log "usage errors exit 2"
expect_rc 2 "prepare without an image" "$C" prepare
err_has "missing IMAGE (or --pod-manifest FILE)" "the reason"
expect_rc 2 "an app flag before any image" "$C" prepare --exec /bin/true "$BB"
err_has "--exec must follow an image" "the reason"
expect_rc 2 "a runtime flag to prepare" "$C" prepare "$BB" --net host
err_has "unknown option '--net' for prepare" "the reason"
expect_rc 2 "--pod-manifest with an image" "$C" prepare --pod-manifest "$T/manifest.json" "$BB"
err_has "--pod-manifest excludes images" "the reason"
expect_rc 2 "a missing --set-env-file" "$C" prepare "$BB" --set-env-file "$T/nothing"
err_has "No such file or directory" "the reason"
expect_rc 2 "status without a UUID" "$C" status
expect_rc 2 "rm without a UUID" "$C" rm

log "--set-env-file and --inherit-env are read by the client"
printf '# comment\nFROMFILE=yes\n' >"$T/env"
expect_rc 0 "prepare --set-env-file --inherit-env" \
        env STAGE0_TEST_INHERITED=1 "$C" prepare "$BB" --exec /bin/true --set-env-file "$T/env" \
        --inherit-env --stage1-image "$S1" --quiet
P4=$(cat "$T/out")
expect_rc 0 "cat-manifest" "$C" cat-manifest "$P4"
json_is '[.apps[0].app.environment[] | select(.name == "FROMFILE") | .value] | join(",")' yes \
        "the file's variable reaches the app"
json_is '[.apps[0].app.environment[] | select(.name == "STAGE0_TEST_INHERITED") | .value] | join(",")' 1 \
        "the client's environment reaches the app"

log "service errors exit 1"
expect_rc 1 "prepare of an image not stored" "$C" prepare no.such/image --stage1-image "$S1"
err_has "io.stage0.Pods.NoSuchImage" "the error is named"
expect_rc 1 "--json puts the error on stdout too" "$C" prepare --json no.such/image --stage1-image "$S1"
json_is '.error' io.stage0.Pods.NoSuchImage "the error document"
expect_rc 1 "status of no pod" "$C" status 00000000-0000-0000-0000-000000000000
err_has "io.stage0.Pods.NoSuchPod" "the error is named"
expect_rc 1 "cat-manifest of no pod" "$C" cat-manifest ffff
err_has "io.stage0.Pods.NoSuchPod" "the error is named"

log "rm"
expect_rc 0 "rm two pods" "$C" rm "$P3" "${P4:0:13}"
check "rm prints each removed UUID" test "$(cat "$T/out")" = "$P3"$'\n'"$P4"
expect_rc 1 "rm again" "$C" rm "$P3"
err_has "io.stage0.Pods.NoSuchPod" "the pod is gone"
expect_rc 1 "rm of a gone pod and a present one tries both" "$C" rm "$P4" "$P2"
check "the present one is removed" grep -qx "$P2" "$T/out"
expect_rc 0 "list after rm" "$C" list --json
json_is '[.pods[].uuid] | join(",")' "$P1" "only the first pod is left"

log "connection errors exit 3"
expect_rc 3 "no daemon on the socket" "$C" --socket "unix:$T/nothing" list
expect_rc 3 "prepare, no daemon" "$C" prepare "$BB" --socket "unix:$T/nothing"

log "run"
rc=0
"$C" call io.stage0.Pods.RunPrepared "{\"uuid\": \"$P1\"}" >"$T/out" 2>"$T/err" || rc=$?
if grep -q MethodNotImplemented "$T/err"; then
        log "skipped: stage0d does not implement Pods.RunPrepared yet"
else
        "$C" rm "$P1" >/dev/null 2>&1 || true
        expect_rc 0 "run --detach" "$C" run "$BB" --exec /bin/true --stage1-image "$S1" --net host --detach
        P5=$(cat "$T/out")
        check "run --detach prints the UUID" grep -Eq "$UUID_RE" <<<"$P5"
        expect_rc 0 "wait" "$C" wait "$P5"
        check "wait: exited" grep -qx "exited=true" "$T/out"
        expect_rc 0 "logs of a finished pod" "$C" logs "$P5"
        expect_rc 2 "run-prepared takes no app flags" "$C" run-prepared "$P5" --exec /x
        err_has "unknown option '--exec' for run-prepared" "the reason"
        expect_rc 1 "run-prepared of an exited pod" "$C" run-prepared "$P5" --detach
        err_has "io.stage0.Pods.InvalidState" "the error is named"
fi

finish
