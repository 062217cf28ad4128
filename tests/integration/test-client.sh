#!/bin/bash
# stage0c against the real stage0d: info, introspect and call, their --json forms, and the
# exit status of every kind of failure (1 service error, 2 usage, 3 connection/protocol).
# Protocol failures are provoked with a small fake peer, since a correct daemon never
# produces them.
. "$TESTS_LIB"

# run CODE ARGS...: stage0c ARGS with stdout in $T/out and stderr in $T/err; succeeds when the
# exit status is CODE. Input comes from $T/in when it exists.
run() {
        local want=$1 rc=0 input=/dev/null
        shift
        [ -f "$T/in" ] && input="$T/in"
        "$STAGE0C" "$@" <"$input" >"$T/out" 2>"$T/err" || rc=$?
        rm -f "$T/in"
        if [ "$rc" -ne "$want" ]; then
                echo "stage0c $*: exit $rc, wanted $want; stderr:" >&2
                cat "$T/err" >&2
                return 1
        fi
}

# json_check EXPRESSION: evaluates a Python expression over the JSON document in $T/out (as d).
json_check() {
        python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
                "$T/out" "$1"
}

# absent PATTERN FILE: FILE has no line matching PATTERN.
absent() {
        ! grep -q "$1" "$2"
}

# fake_peer MODE PATH: a varlink "server" on PATH that answers every call wrongly (see below).
fake_peer() {
        python3 - "$1" "$2" <<'PY' &
import socket, sys
mode, path = sys.argv[1], sys.argv[2]
replies = {
    "close": None,
    "stall": None,
    "garbage": b'{"parameters": nope}\0',
    "notinfo": b'{"parameters": {"vendor": 1}}\0',
    "stream": b'{"parameters": {"i": 0}, "continues": true}\0'
              b'{"parameters": {"i": 1}, "continues": true}\0{"parameters": {"i": 2}}\0',
    "streamerror": b'{"parameters": {"i": 0}, "continues": true}\0'
                   b'{"error": "org.example.X.Broken", "parameters": {"why": "no more"}}\0',
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
s.settimeout(30)
held = []
while True:
    conn, _ = s.accept()
    data = b""
    while not data.endswith(b"\0"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    if mode == "stall":
        held.append(conn)
    elif replies[mode] is None:
        conn.close()
    else:
        conn.sendall(replies[mode])
        held.append(conn)
PY
        FAKE_PID=$!
        local i
        for i in $(seq 1 100); do
                [ -S "$2" ] && return 0
                sleep 0.05
        done
        return 1
}

stop_fake_peer() {
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
}

start_daemon

log "info"
check "info succeeds" run 0 info
check "info names the product" grep -q '^product: *[^ ]' "$T/out"
check "info lists org.varlink.service" grep -q ' org\.varlink\.service$' "$T/out"
check "info prints nothing on stderr" test ! -s "$T/err"
check "info --json succeeds" run 0 info --json
check "info --json is GetInfo's reply" \
        json_check 'set(d) == {"vendor", "product", "version", "url", "interfaces"} and "org.varlink.service" in d["interfaces"]'
check "info --json does not escape slashes" absent '\\/' "$T/out"
cp "$T/out" "$T/info.json"
interfaces=$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["interfaces"]))' "$T/info.json")
check "global options go after the command too" run 0 info --socket "$SOCK" --json --timeout 5
check "a bare socket path works" run 0 --socket "$SOCK" info

log "introspect"
check "introspect org.varlink.service succeeds" run 0 introspect org.varlink.service
check "introspect org.varlink.service is the .varlink file" \
        cmp "$T/out" "$SOURCE_ROOT/protocol/org.varlink.service.varlink"
: >"$T/expected"
first=1
for iface in $interfaces; do
        [ "$first" -eq 1 ] || echo >>"$T/expected"
        first=0
        cat "$SOURCE_ROOT/protocol/$iface.varlink" >>"$T/expected"
done
check "introspect succeeds" run 0 introspect
check "introspect prints every interface, separated by blank lines" cmp "$T/out" "$T/expected"
check "introspect --json succeeds" run 0 introspect --json
check "introspect --json maps every interface to its description" \
        json_check "sorted(d) == sorted('$interfaces'.split()) and d['org.varlink.service'] == open('$SOURCE_ROOT/protocol/org.varlink.service.varlink').read()"
check "introspect of an unknown interface is a service error" run 1 introspect org.example.nope
check "... naming InterfaceNotFound" \
        grep -qx 'stage0c: org.varlink.service.InterfaceNotFound: interface=org.example.nope' "$T/err"

log "call"
check "call GetInfo succeeds" run 0 call org.varlink.service.GetInfo
check "call prints the reply parameters" json_check "d == json.load(open('$T/info.json'))"
check "call output is pretty JSON" grep -q '^  "vendor": ' "$T/out"
check "call with parameters" run 0 call org.varlink.service.GetInterfaceDescription '{"interface": "org.varlink.service"}'
check "... returns the description" \
        json_check "d == {'description': open('$SOURCE_ROOT/protocol/org.varlink.service.varlink').read()}"
echo '{"interface": "org.varlink.service"}' >"$T/in"
check "call reads parameters from stdin with -" \
        run 0 call org.varlink.service.GetInterfaceDescription -
check "... and returns the description" json_check "'description' in d"
check "call --more succeeds on a plain method" run 0 call org.varlink.service.GetInfo --more
check "call --more prints one compact line per reply" \
        test "$(wc -l <"$T/out")" -eq 1 -a "$(head -c 2 "$T/out")" = '{"'
check "call --oneway succeeds" run 0 call --oneway org.varlink.service.GetInfo
check "call --oneway prints nothing" test ! -s "$T/out"
check "the daemon still answers after a oneway call" run 0 info

log "service errors (exit 1)"
check "an unknown method is a service error" run 1 call org.varlink.service.Frobnicate
check "... with one error line naming MethodNotFound" \
        grep -qx 'stage0c: org.varlink.service.MethodNotFound: method=.*Frobnicate' "$T/err"
check "... and nothing on stdout" test ! -s "$T/out"
check "an unknown method with --json" run 1 --json call org.varlink.service.Frobnicate
check "... writes the error as JSON on stdout" \
        json_check 'd["error"] == "org.varlink.service.MethodNotFound" and "method" in d["parameters"]'
check "invalid parameters are a service error" \
        run 1 call org.varlink.service.GetInterfaceDescription '{"interface": 1}'
check "... naming InvalidParameter" grep -q '^stage0c: org.varlink.service.InvalidParameter: parameter=interface$' "$T/err"

log "usage errors (exit 2)"
check "bad JSON" run 2 call org.varlink.service.GetInfo '{"a":'
check "... explains the JSON error" grep -q 'invalid JSON' "$T/err"
check "JSON that is not an object" run 2 call org.varlink.service.GetInfo '[1, 2]'
check "... says so" grep -q 'must be a JSON object, not array' "$T/err"
echo 'nope' >"$T/in"
check "bad JSON on stdin" run 2 call org.varlink.service.GetInfo -
check "a method without a dot" run 2 call GetInfo
check "--more with --oneway" run 2 call org.varlink.service.GetInfo --more --oneway
check "an unknown command" run 2 frobnicate
check "an unknown flag" run 2 info --frobnicate
check "a missing argument" run 2 call
check "too many arguments" run 2 introspect a.b c.d
check "a bad timeout" run 2 --timeout never info
check "no command" run 2
check "--help succeeds" run 0 --help
check "--help documents the exit codes" grep -q '^  3  connection' "$T/out"
check "--version succeeds" run 0 --version
check "--version names the version" grep -q '^stage0c [0-9]' "$T/out"

log "connection and protocol errors (exit 3), streams from a fake peer"
check "a missing socket" run 3 --socket "unix:$T/nothing-here" info
check "... says it cannot connect" grep -q "^stage0c: cannot connect to unix:$T/nothing-here" "$T/err"
check "STAGE0_SOCKET is used" env STAGE0_SOCKET="unix:$T/nothing-here" "$BASH" -c \
        '"$STAGE0C" info 2>&1 | grep -q nothing-here; exit $((PIPESTATUS[0] != 3))'

fake_peer stall "$T/stall.sock"
check "a peer that never answers times out" run 3 --socket "$T/stall.sock" --timeout 0.3 info
check "... saying so" grep -q 'timed out' "$T/err"
stop_fake_peer
fake_peer close "$T/close.sock"
check "a peer that hangs up" run 3 --socket "$T/close.sock" call org.example.X.Y
stop_fake_peer
fake_peer garbage "$T/garbage.sock"
check "a malformed reply" run 3 --socket "$T/garbage.sock" call org.example.X.Y
stop_fake_peer
fake_peer stream "$T/stream.sock"
check "call --more follows a stream" run 0 --socket "$T/stream.sock" call org.example.X.Y --more
check "... printing one line per reply" \
        test "$(cat "$T/out")" = "$(printf '{"i":0}\n{"i":1}\n{"i":2}')"
stop_fake_peer
fake_peer streamerror "$T/streamerror.sock"
check "an error ends a stream as a service error" \
        run 1 --socket "$T/streamerror.sock" call org.example.X.Y --more
check "... after the replies before it" test "$(cat "$T/out")" = '{"i":0}'
check "... with its error line" grep -qx 'stage0c: org.example.X.Broken: why="no more"' "$T/err"
stop_fake_peer
fake_peer notinfo "$T/notinfo.sock"
check "a GetInfo reply of the wrong shape" run 3 --socket "$T/notinfo.sock" info
check "... is called malformed" grep -q 'malformed reply' "$T/err"
stop_fake_peer

check "the daemon stops cleanly" stop_daemon
finish
