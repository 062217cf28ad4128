#!/bin/bash
# org.varlink.certification in both directions against the reference implementation,
# varlink-go-certification (Debian package varlink-go): its client against our cert-server,
# our cert-client against its server, then ours against ours, and last a few wrong calls that
# our server must refuse. The reference client exits 0 even when a step fails, so its output
# is what is checked. Every wait is bounded.
# shellcheck source=tests/integration/lib.sh
. "$TESTS_LIB"

: "${CERT_SERVER:?}" "${CERT_CLIENT:?}"
GO_CERT=/usr/bin/varlink-go-certification
IDL=/usr/share/gocode/src/github.com/varlink/go/cmd/varlink-go-certification/orgvarlinkcertification/org.varlink.certification.varlink
WAIT=30

if [ ! -x "$GO_CERT" ]; then
        echo "SKIP: $GO_CERT is not installed (apt-get install varlink-go)"
        exit 77
fi
# The reference is there but not the interface it serves: a broken setup, not a skip.
if [ ! -f "$IDL" ]; then
        echo "FAIL: $IDL is missing (apt-get install golang-github-varlink-go-dev)" >&2
        exit 1
fi

SERVER_PID=
stop_server_on_exit() {
        local rc=$?
        # errexit must not cut the trap short before cleanup (which reads $? for the verdict).
        set +e
        if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
                kill -KILL "$SERVER_PID" 2>/dev/null || true
                wait "$SERVER_PID" 2>/dev/null || true
        fi
        (exit "$rc")
        cleanup
}
trap stop_server_on_exit EXIT

# wait_listening PATH: until a connect() to PATH succeeds, or the server died, or $WAIT s.
wait_listening() {
        local path=$1
        for _ in $(seq 1 $((WAIT * 20))); do
                if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                        echo "server died before listening on $path" >&2
                        return 1
                fi
                if [ -S "$path" ] && python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])' "$path" 2>/dev/null; then
                        return 0
                fi
                sleep 0.05
        done
        echo "nothing listens on $path after ${WAIT}s" >&2
        return 1
}

# stop_server SIGNAL: signals the server and waits at most $WAIT s; returns its exit status.
stop_server() {
        local rc=0
        kill "-$1" "$SERVER_PID"
        for _ in $(seq 1 $((WAIT * 20))); do
                kill -0 "$SERVER_PID" 2>/dev/null || break
                sleep 0.05
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
                echo "server $SERVER_PID still running ${WAIT}s after SIG$1" >&2
                kill -KILL "$SERVER_PID"
        fi
        wait "$SERVER_PID" || rc=$?
        SERVER_PID=
        return "$rc"
}

start_cert_server() {
        "$CERT_SERVER" --varlink "unix:$1" --idl "$IDL" 2>>"$T/cert-server.log" &
        SERVER_PID=$!
        wait_listening "$1"
}

# has_line FILE LINE / lacks FILE REGEX: for check, with the file shown when it fails.
has_line() {
        grep -qxF -- "$2" "$1" && return 0
        echo "--- no line '$2' in $1:" >&2; cat "$1" >&2
        return 1
}
lacks() {
        grep -qiE -- "$2" "$1" || return 0
        echo "--- $1 matches '$2':" >&2; cat "$1" >&2
        return 1
}
exits_zero() {
        local rc=0
        "$@" || rc=$?
        [ "$rc" -eq 0 ] && return 0
        echo "exit status $rc: $*" >&2
        return 1
}
# run_cert_client OUT ADDRESS: cert-client with the IDL check; its output goes to OUT.
run_cert_client() {
        local rc=0
        timeout "$WAIT" "$CERT_CLIENT" --idl "$IDL" "$2" >"$1" 2>&1 || rc=$?
        [ "$rc" -eq 0 ] && return 0
        echo "--- cert-client exit status $rc:" >&2; cat "$1" >&2
        return 1
}

log "1. reference client against cert-server"
S1="$T/cert1.sock"
check "cert-server listens" start_cert_server "$S1"
timeout "$WAIT" "$GO_CERT" --client --varlink="unix:$S1" >"$T/go-client.out" 2>&1 || true
check "reference client ends with End: 'true'" has_line "$T/go-client.out" "End: 'true'"
check "reference client reports no failure" lacks "$T/go-client.out" "fail|error|panic"
check "reference client ran Test11" has_line "$T/go-client.out" "Test11: ''"
check "cert-server saw no certification error" lacks "$T/cert-server.log" "wants|failed"
check "cert-server saw End with all_ok" grep -q "End: all_ok=true" "$T/cert-server.log"
check "cert-server exits 0 on SIGTERM" stop_server TERM

log "2. cert-client against the reference server"
S2="$T/cert2.sock"
"$GO_CERT" --varlink="unix:$S2" >"$T/go-server.log" 2>&1 &
SERVER_PID=$!
check "reference server listens" wait_listening "$S2"
check "cert-client passes against the reference server" \
        run_cert_client "$T/client2.out" "unix:$S2"
check "cert-client printed End: 'true'" has_line "$T/client2.out" "End: 'true'"
stop_server TERM || true  # Go has no SIGTERM handler: it dies of the signal

log "3. cert-client against cert-server"
S3="$T/cert3.sock"
check "cert-server listens" start_cert_server "$S3"
check "cert-client passes against cert-server" run_cert_client "$T/client3.out" "unix:$S3"
check "cert-client printed End: 'true'" has_line "$T/client3.out" "End: 'true'"
# Two clients at once keep separate sequences.
run_cert_client "$T/client3a.out" "unix:$S3" &
A=$!
run_cert_client "$T/client3b.out" "unix:$S3" &
B=$!
check "first of two concurrent clients passes" exits_zero wait "$A"
check "second of two concurrent clients passes" exits_zero wait "$B"
check "cert-server saw no certification error" lacks "$T/cert-server.log" "wants|failed"

log "4. cert-server refuses wrong calls"
# A raw peer making calls that must fail; it prints each reply as sorted compact JSON, one a
# line, so the checks do not depend on how our library orders keys.
raw_session() {
        timeout "$WAIT" python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
buf = b""
def read_reply():
    global buf
    while b"\0" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed by the server")
        buf += chunk
    reply, buf = buf.split(b"\0", 1)
    return json.loads(reply)
def call(method, params, show=True, more=False, oneway=False):
    msg = {"method": "org.varlink.certification." + method, "parameters": params}
    if more:
        msg["more"] = True
    if oneway:
        msg["oneway"] = True
    s.sendall(json.dumps(msg).encode() + b"\0")
    if oneway:
        return None
    reply = read_reply()
    if show:
        print(json.dumps(reply, sort_keys=True, separators=(",", ":")))
    return reply
cid = call("Start", {})["parameters"]["client_id"]
call("Test01", {"client_id": "no-such-client"})
call("Test02", {"client_id": cid, "bool": True})
call("Test01", {"client_id": cid})
call("Test02", {"client_id": cid, "bool": False})
call("End", {"client_id": cid})
# A second client that gets to Test10 rightly, then makes Test10 without "more" and a
# oneway Test11 with the wrong strings.
cid = call("Start", {}, show=False)["parameters"]["client_id"]
last = {}
for n in range(1, 11):
    p = dict(last, client_id=cid)
    last = call("Test%02d" % n, p, show=(n == 10))["parameters"]
call("Test10", p, show=False, more=True)
while read_reply().get("continues"):
    pass
call("Test11", {"client_id": cid, "last_more_replies": ["wrong"]}, oneway=True)
call("End", {"client_id": cid})
' "$1" >"$T/raw.out" 2>&1 && return 0
        echo "--- raw session:" >&2; cat "$T/raw.out" >&2
        return 1
}
check "raw session runs" raw_session "$S3"
# reply N EXPECTED: the Nth reply is exactly EXPECTED.
reply_is() {
        local got
        got=$(sed -n "${1}p" "$T/raw.out")
        [ "$got" = "$2" ] && return 0
        echo "reply $1: got '$got', expected '$2'" >&2
        return 1
}
E=org.varlink.certification
check "an unknown client_id gets ClientIdError" \
        reply_is 2 '{"error":"'$E'.ClientIdError","parameters":{}}'
check "a step out of order gets CertificationError naming the wanted method" \
        reply_is 3 '{"error":"'$E'.CertificationError","parameters":{"got":{"method":"'$E'.Test02"},"wants":{"method":"'$E'.Test01"}}}'
check "the right step still passes" reply_is 4 '{"parameters":{"bool":true}}'
check "a wrong input gets CertificationError with wants and got" \
        reply_is 5 '{"error":"'$E'.CertificationError","parameters":{"got":{"bool":false},"wants":{"bool":true}}}'
check "End before the sequence is done says all_ok false" \
        reply_is 6 '{"parameters":{"all_ok":false}}'
check "Test10 without more gets CertificationError" \
        reply_is 7 '{"error":"'$E'.CertificationError","parameters":{"got":{"more":false,"oneway":false},"wants":{"more":true,"oneway":false}}}'
# Nothing answers the oneway Test11, so the next reply is End's, which reports its failure.
check "a failed oneway Test11 is not answered and makes End say all_ok false" \
        reply_is 8 '{"parameters":{"all_ok":false}}'
check "no reply beyond those" reply_is 9 ''
check "cert-server exits 0 on SIGTERM" stop_server TERM

finish
