#!/bin/bash
# Access policy on the real socket: a peer outside the group may only use org.varlink.service;
# a member of the --group group (primary or supplementary) may call the read-only methods and
# nothing else; root may call everything.
. "$TESTS_LIB"

cat >"$T/watch.py" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(json.dumps({"method": "io.stage0.Pods.Watch", "parameters": {}, "more": True}).encode()
          + b"\0")
buf = b""
while b"\0" not in buf:
    data = s.recv(65536)
    if not data:
        sys.exit("connection closed before the first Watch reply")
    buf += data
print(buf.split(b"\0")[0].decode())
EOF

# as_user SETPRIV_ARGS -- COMMAND...: COMMAND as nobody with the given group options.
as_user() {
        local args=()
        while [ "$1" != -- ]; do args+=("$1"); shift; done
        shift
        setpriv --reuid=nobody "${args[@]}" "$@"
}

# call_error WHO METHOD JSON: the error name of the reply to METHOD (empty on success).
call_error() {
        local who=$1 method=$2 params=$3
        local out rc=0
        case "$who" in
        root) out=$("$STAGE0C" --json call "$method" "$params") || rc=$? ;;
        *) out=$(as_user $who -- "$STAGE0C" --json call "$method" "$params") || rc=$? ;;
        esac
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
                echo "stage0c failed with exit status $rc" >&2
                echo "connection-failed"
                return 0
        fi
        python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("error", ""))' "$out"
}

# expect_allowed WHO METHOD JSON: the policy lets the call through (whatever it then answers).
expect_allowed() {
        local got
        got=$(call_error "$1" "$2" "$3")
        if [ "$got" != "$DENIED" ] && [ "$got" != connection-failed ]; then
                pass "$2 as $1: allowed (${got:-reply})"
        else
                fail "$2 as $1: expected to be allowed, got '$got'"
        fi
}

# expect WHO METHOD JSON ERROR: the call gets ERROR ("" for a reply).
expect() {
        local got
        got=$(call_error "$1" "$2" "$3")
        if [ "$got" = "$4" ]; then
                pass "$2 as $1: ${4:-reply}"
        else
                fail "$2 as $1: expected '${4:-reply}', got '$got'"
        fi
}

open_socket() {
        chmod 0755 "$T"
        chmod 0666 "$SOCK"
}

# nobody cannot run a python3 found through root's PATH (e.g. a shim under /root).
SYSTEM_PYTHON=/usr/bin/python3
DENIED=org.varlink.service.PermissionDenied
OUTSIDER="--regid=nogroup --clear-groups"
MEMBER_SUPPLEMENTARY="--regid=nogroup --groups=100"
MEMBER_PRIMARY="--regid=100 --clear-groups"
IMAGE='{"image": {"name": "example.com/busybox"}}'

READ_ONLY=(
        "io.stage0.Images.List" '{}'
        "io.stage0.Images.Inspect" "$IMAGE"
        "io.stage0.Images.Verify" "$IMAGE"
        "io.stage0.Pods.Status" '{"uuid": "0"}'
        "io.stage0.Pods.List" '{}'
        "io.stage0.Pods.Wait" '{"uuid": "0"}'
        "io.stage0.Pods.Logs" '{"uuid": "0"}'
)
MUTATING=(
        "io.stage0.Pods.Prepare" '{"spec": {}}'
        "io.stage0.Pods.Remove" '{"uuid": "0"}'
        "io.stage0.Pods.Stop" '{"uuid": "0"}'
        "io.stage0.Images.Remove" '{"images": []}'
        "io.stage0.Images.GarbageCollect" '{}'
)

log "no policy group: only root and org.varlink.service"
start_daemon --group stage0-test-no-such-group
open_socket
check "GetInfo as nobody" as_user $OUTSIDER -- "$STAGE0C" --json info
expect "$OUTSIDER" org.varlink.service.GetInterfaceDescription \
        '{"interface": "io.stage0.Pods"}' ""
expect "$OUTSIDER" io.stage0.Pods.List '{}' "$DENIED"
expect "$OUTSIDER" io.stage0.Pods.Status '{"uuid": "0"}' "$DENIED"
expect "$MEMBER_SUPPLEMENTARY" io.stage0.Pods.List '{}' "$DENIED"
expect_allowed root io.stage0.Pods.List '{}'
expect_allowed root io.stage0.Pods.Prepare '{"spec": {}}'
check "stage0d stops with 0" stop_daemon

log "--group users"
start_daemon --group users
open_socket
for who in "$MEMBER_SUPPLEMENTARY" "$MEMBER_PRIMARY"; do
        for ((i = 0; i < ${#READ_ONLY[@]}; i += 2)); do
                expect_allowed "$who" "${READ_ONLY[i]}" "${READ_ONLY[i + 1]}"
        done
        for ((i = 0; i < ${#MUTATING[@]}; i += 2)); do
                expect "$who" "${MUTATING[i]}" "${MUTATING[i + 1]}" "$DENIED"
        done
done
check "Pods.Watch as a member streams" \
        bash -c "setpriv --reuid=nobody $MEMBER_SUPPLEMENTARY $SYSTEM_PYTHON '$T/watch.py' '$SOCK' | grep -q synced"
expect "$OUTSIDER" io.stage0.Pods.List '{}' "$DENIED"
expect "$OUTSIDER" io.stage0.Images.List '{}' "$DENIED"
check "GetInfo as an outsider" as_user $OUTSIDER -- "$STAGE0C" --json info
for ((i = 0; i < ${#MUTATING[@]}; i += 2)); do
        expect_allowed root "${MUTATING[i]}" "${MUTATING[i + 1]}"
done
check "stage0d stops with 0" stop_daemon

finish
