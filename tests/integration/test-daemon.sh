#!/bin/bash
# stage0d on its own socket and socket-activated: introspection, NOTIFY_SOCKET, Pods.Watch,
# clean shutdown, refusing a live socket, refusing bad flags and socket layouts.
. "$TESTS_LIB"

cat >"$T/vl.py" <<'EOF'
import json, os, socket, sys, time

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s

class Conn:
    def __init__(self, path):
        self.s = connect(path)
        self.buf = b""
    def send(self, msg):
        self.s.sendall(json.dumps(msg).encode() + b"\0")
    def recv(self):
        while b"\0" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                return None
            self.buf += data
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)
    def call(self, method, params=None, **flags):
        self.send(dict(method=method, parameters=params or {}, **flags))
        return self.recv()

def cmd_call(path, method, params="{}"):
    print(json.dumps(Conn(path).call(method, json.loads(params))))

def cmd_info(path):
    r = Conn(path).call("org.varlink.service.GetInfo")["parameters"]
    want = ["io.stage0.Images", "io.stage0.Pods", "org.varlink.service"]
    if r["interfaces"] != want or (r["vendor"], r["product"]) != ("stage0", "stage0d"):
        sys.exit("unexpected GetInfo reply: %s" % r)

def cmd_describe(path, iface, file):
    r = Conn(path).call("org.varlink.service.GetInterfaceDescription", {"interface": iface})
    want = open(file, "rb").read()
    got = r.get("parameters", {}).get("description", "").encode()
    if got != want:
        sys.exit("%s: description differs from %s (%d vs %d bytes): %s"
                 % (iface, file, len(got), len(want), r.get("error")))

def cmd_notify_listen(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(30)
    with open(out, "w") as f:
        while True:
            msg = s.recv(4096).decode()
            f.write(msg + "\n---\n")
            f.flush()
            if "STOPPING=1" in msg.split("\n"):
                return

def cmd_watch(path, mode):
    c = Conn(path)
    c.send({"method": "io.stage0.Pods.Watch", "parameters": {}, "more": True})
    first = c.recv()
    if first != {"parameters": {"event": {"kind": "synced"}}, "continues": True}:
        sys.exit("unexpected first Watch reply: %s" % first)
    print("synced", flush=True)
    if mode == "drop":
        return
    # Held until the daemon shuts down: a final reply without continues, then EOF.
    last = c.recv()
    if last is None or last.get("continues") or "error" in last:
        sys.exit("Watch did not end with a final reply: %s" % last)
    if c.recv() is not None:
        sys.exit("connection stayed open after the final Watch reply")
    print("ended", flush=True)

def cmd_hold(path, ready):
    # One idle connection and one with half a message, held until the daemon closes them.
    a, b = Conn(path), Conn(path)
    b.s.sendall(b'{"method": "org.varlink.serv')
    a.call("org.varlink.service.GetInfo")
    open(ready, "w").close()
    for c in (a, b):
        if c.s.recv(1) != b"":
            sys.exit("expected EOF at shutdown")
    print("closed", flush=True)

cmds = {"call": cmd_call, "info": cmd_info, "describe": cmd_describe,
        "notify-listen": cmd_notify_listen, "watch": cmd_watch, "hold": cmd_hold}
cmds[sys.argv[1]](*sys.argv[2:])
EOF
vl() { python3 "$T/vl.py" "$@"; }

# wait_for_file PATH: until PATH exists (10 s at most).
wait_for_file() {
        local i
        for i in $(seq 1 200); do
                [ -e "$1" ] && return 0
                sleep 0.05
        done
        echo "$1 did not appear" >&2
        return 1
}

# wait_for_line FILE PATTERN: until a line of FILE matches (10 s at most).
wait_for_line() {
        local i
        for i in $(seq 1 200); do
                grep -q "$2" "$1" 2>/dev/null && return 0
                sleep 0.05
        done
        echo "'$2' did not appear in $1" >&2
        return 1
}

# expect_usage ARGS...: stage0d refuses ARGS with exit status 2 and says why on stderr.
expect_usage() {
        local out rc=0
        out=$("$STAGE0D" "$@" 2>&1 >/dev/null) || rc=$?
        if [ "$rc" -eq 2 ] && [ -n "$out" ]; then
                pass "usage error ($*): ${out%%$'\n'*}"
        else
                fail "usage error ($*): exit $rc, '$out'"
        fi
}

# json_error FILE: the error name in a JSON reply written by stage0c --json or vl.py.
json_error() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error", ""))' "$1"; }

log "flags"
expect_usage --bogus
expect_usage unexpected-argument
expect_usage --socket relative/io.stage0
expect_usage --socket "/$(printf 'x%.0s' $(seq 1 120))"
expect_usage --data-dir var/lib/stage0
expect_usage --stage1-image stage1.aci
expect_usage --group ""
expect_usage --group "a:b"
expect_usage --max-connections 0
expect_usage --max-connections -1
expect_usage --max-connections 12abc
expect_usage --max-connections 99999999999999999999999
expect_usage --max-connections-per-uid 2000000
expect_usage --max-message-size 100
expect_usage --max-output-queue 2G
expect_usage --socket
check "--help exits 0" bash -c '"$STAGE0D" --help >/dev/null'
check "--version names the version" bash -c '"$STAGE0D" --version | grep -q "^stage0d [0-9]"'

log "standalone, with NOTIFY_SOCKET"
vl notify-listen "$T/notify" "$T/notify.out" &
NOTIFY_PID=$!
wait_for_file "$T/notify"
NOTIFY_SOCKET="$T/notify" start_daemon
check "socket is a socket with mode 0660" test "$(stat -c %F:%a "$SOCK")" = "socket:660"
check "data dir created with mode 0700" test "$(stat -c %F:%a "$DATA")" = "directory:700"
check "GetInfo lists the interfaces, sorted" vl info "$SOCK"
check "stage0c info works" bash -c '"$STAGE0C" info | grep -q io.stage0.Pods'
for iface in io.stage0.Images io.stage0.Pods org.varlink.service; do
        check "description of $iface equals its file" \
                vl describe "$SOCK" "$iface" "$SOURCE_ROOT/protocol/$iface.varlink"
done

check "Images.List answers an empty store" \
        bash -c '"$STAGE0C" call io.stage0.Images.List "{}" | tr -d " \n" | grep -qx "{\"images\":\[\]}"'
vl call "$SOCK" io.stage0.Pods.Prepare '{"spec": 5}' >"$T/out.json"
check "Pods.Prepare with bad parameters: InvalidParameter before anything else" \
        test "$(json_error "$T/out.json")" = org.varlink.service.InvalidParameter
vl call "$SOCK" io.stage0.Pods.Watch '{}' >"$T/out.json"
check "Pods.Watch without more: ExpectedMore" \
        test "$(json_error "$T/out.json")" = org.varlink.service.ExpectedMore

check "a Watch dropped after synced" vl watch "$SOCK" drop
vl watch "$SOCK" hold >"$T/watch.out" &
WATCH_PID=$!
check "a held Watch got synced" wait_for_line "$T/watch.out" '^synced$'
vl hold "$SOCK" "$T/held" >"$T/hold.out" &
HOLD_PID=$!
check "idle and half-sent connections are open" wait_for_file "$T/held"

rc=0
timeout 10 "$STAGE0D" --socket "$SOCK" --data-dir "$T/data2" 2>"$T/second.log" || rc=$?
check "a second daemon on the live socket exits 1" test "$rc" -eq 1
check "... and says why" grep -q "already answering on $SOCK" "$T/second.log"
check "the first daemon still answers" vl info "$SOCK"
check "ready was notified" wait_for_line "$T/notify.out" '^READY=1$'

start=$(date +%s%N)
rc=0
stop_daemon || rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "SIGTERM with open connections exits 0" test "$rc" -eq 0
check "shutdown did not wait for the 5 s bound (${elapsed_ms} ms)" test "$elapsed_ms" -lt 3000
check "socket removed on exit" test ! -e "$SOCK"
rc=0; wait "$WATCH_PID" || rc=$?
check "the Watch stream ended with a final reply" test "$rc" -eq 0
check "... and then EOF" grep -q '^ended$' "$T/watch.out"
rc=0; wait "$HOLD_PID" || rc=$?
check "idle and half-sent connections were closed" test "$rc" -eq 0
rc=0; wait "$NOTIFY_PID" || rc=$?
check "STOPPING=1 was notified" test "$rc" -eq 0
check "STATUS= was notified" grep -q '^STATUS=' "$T/notify.out"

log "own socket in a missing directory, socket group"
NESTED="$T/run/stage0/io.stage0"
"$STAGE0D" --socket "$NESTED" --data-dir "$T/data3" --group users >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_for_socket "$NESTED"
check "socket directory created with mode 0755" test "$(stat -c %a "$T/run/stage0")" = 755
check "socket belongs to the --group group" test "$(stat -c %G:%a "$NESTED")" = users:660
check "stage0d stops with 0" stop_daemon
check "its socket is removed" test ! -e "$NESTED"

log "not a socket"
touch "$T/file"
rc=0
timeout 10 "$STAGE0D" --socket "$T/file" --data-dir "$T/data4" 2>"$T/file.log" || rc=$?
check "a regular file at --socket: exit 1" test "$rc" -eq 1
check "... the file is left alone" test -f "$T/file"

log "socket activation"
systemd-socket-activate -l "$T/act.sock" --fdname=varlink -E STAGE0_CHECK_REPLIES=1 \
        "$STAGE0D" --socket "$T/unused.sock" --data-dir "$T/actdata" --debug \
        >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
check "activated on the first connection" wait_for_socket "$T/act.sock"
check "GetInfo on the passed socket" vl info "$T/act.sock"
check "description of io.stage0.Pods equals its file" \
        vl describe "$T/act.sock" io.stage0.Pods "$SOURCE_ROOT/protocol/io.stage0.Pods.varlink"
check "Images.List on the passed socket" \
        bash -c '"$STAGE0C" --socket "unix:$0" call io.stage0.Images.List "{}" | grep -q images' "$T/act.sock"
check "no socket of its own was created" test ! -e "$T/unused.sock"
check "SIGTERM exits 0" stop_daemon

log "socket activation with two sockets, one named varlink"
systemd-socket-activate -l "$T/other.sock" -l "$T/act2.sock" --fdname=other:varlink \
        "$STAGE0D" --socket "$T/unused.sock" --data-dir "$T/actdata" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
check "serves on the socket named varlink" wait_for_socket "$T/act2.sock"
check "SIGTERM exits 0" stop_daemon

log "socket activation without a socket named varlink"
systemd-socket-activate -l "$T/bad.sock" --fdname=api \
        "$STAGE0D" --socket "$T/unused.sock" --data-dir "$T/actdata" 2>"$T/bad.log" &
DAEMON_PID=$!
wait_for_file "$T/bad.sock"
"$STAGE0C" --timeout 10 --socket "unix:$T/bad.sock" info >/dev/null 2>&1 || true
rc=0; wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
check "refuses to start: exit 1" test "$rc" -eq 1
check "... and says why" grep -q "none named 'varlink'" "$T/bad.log"
check "no socket of its own was created" test ! -e "$T/unused.sock"

finish
