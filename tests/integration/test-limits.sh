#!/bin/bash
# Limits: over --max-connections, --max-connections-per-uid, --max-message-size and
# --max-output-queue the offending peer is refused or dropped, and the daemon and every
# other peer carry on.
. "$TESTS_LIB"

cat >"$T/limits.py" <<'EOF'
import json, os, socket, subprocess, sys, time

SOCK = sys.argv[2]
GETINFO = {"method": "org.varlink.service.GetInfo", "parameters": {}}
failures = 0

def report(ok, what):
    global failures
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures += 1

class Conn:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(5)
        self.s.connect(SOCK)
        self.buf = b""
    def send_raw(self, data):
        self.s.sendall(data)
    def call(self, msg=GETINFO):
        """The reply, or None when the daemon closed the connection."""
        try:
            self.send_raw(json.dumps(msg).encode() + b"\0")
            while b"\0" not in self.buf:
                data = self.s.recv(65536)
                if not data:
                    return None
                self.buf += data
        except (BrokenPipeError, ConnectionResetError):
            return None
        reply, self.buf = self.buf.split(b"\0", 1)
        return json.loads(reply)
    def works(self):
        r = self.call()
        return r is not None and "interfaces" in r.get("parameters", {})
    def closed_by_peer(self, data=b""):
        """Sends data, then reads until EOF: True when the daemon closes the connection
        within the timeout (whatever it sent before closing)."""
        try:
            if data:
                self.send_raw(data)
            while True:
                if not self.s.recv(65536):
                    return True
        except (BrokenPipeError, ConnectionResetError):
            return True
        except socket.timeout:
            return False
    def close(self):
        self.s.close()

def works_soon():
    """A new connection works once the daemon has seen earlier ones close (2 s at most)."""
    for _ in range(40):
        c = Conn()
        ok = c.works()
        c.close()
        if ok:
            return True
        time.sleep(0.05)
    return False

def nobody_info():
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        os.environ["STAGE0C"], "--timeout", "5", "info"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode

def connections(limit, what):
    held = [Conn() for _ in range(limit)]
    report(all(c.works() for c in held), "%d connections held open, each answers" % limit)
    extra = Conn()
    report(extra.closed_by_peer(), "connection %d over %s is closed at once" % (limit + 1, what))
    report(held[0].works() and held[-1].works(), "the held connections still work")
    return held

def scenario_per_uid(limit):
    held = connections(int(limit), "--max-connections-per-uid")
    report(nobody_info() == 0, "another uid still connects")
    held[0].close()
    report(works_soon(), "after one closes, a new connection works")
    report(held[1].works(), "the others still work")

def scenario_total(limit):
    held = connections(int(limit), "--max-connections")
    report(nobody_info() == 3, "another uid is refused too")
    held[0].close()
    report(works_soon(), "after one closes, a new connection works")

def scenario_message_size(limit):
    limit = int(limit)
    other = Conn()
    report(other.works(), "a bystander connection works")
    near = dict(GETINFO, pad="x" * (limit - 200))
    report(Conn().call(near) is not None, "a message just under the limit gets its reply")
    cases = [
        ("a 10 KB message", json.dumps(dict(GETINFO, pad="x" * 10240)).encode() + b"\0"),
        ("10 KB without a terminating NUL", b'{"method": "' + b"x" * 10240),
        ("a malformed message", b'{"method": }\0'),
        ("a NUL inside a message", b'{"method": "org.varlink.service.GetInfo"\0}\0'),
        ("a message that is not an object", b'[1, 2]\0'),
        ("invalid UTF-8", b'{"method": "org.varlink.service.GetInfo", "pad": "\xc3\x28"}\0'),
    ]
    for what, data in cases:
        c = Conn()
        report(c.closed_by_peer(data), "%s closes that connection" % what)
        report(other.works(), "... the bystander still works")
    big = {"method": "org.varlink.service.GetInterfaceDescription",
           "parameters": {"interface": "io.stage0.Pods"}}
    report(Conn().call(big) is None, "a reply over the limit drops that connection")
    report(other.works(), "... the bystander still works")
    report(works_soon(), "new connections still work")

def scenario_slow_reader(_):
    slow = Conn()
    slow.s.setblocking(False)
    sent = 0
    data = (json.dumps(GETINFO).encode() + b"\0") * 20000
    try:
        while sent < len(data):
            sent += slow.s.send(data[sent:])
    except BlockingIOError:
        pass
    report(sent < len(data), "a peer that never reads is stopped from sending more (%d bytes in)"
           % sent)
    other = Conn()
    start = time.monotonic()
    report(other.works() and time.monotonic() - start < 1, "another peer is answered at once")
    slow.close()
    report(works_soon(), "new connections still work")

globals()["scenario_" + sys.argv[1]](*sys.argv[3:])
sys.exit(1 if failures else 0)
EOF

# scenario NAME ARG DAEMON-FLAGS...: runs limits.py NAME against a fresh daemon.
scenario() {
        local name=$1 arg=$2 rc=0
        shift 2
        log "$name: $*"
        start_daemon "$@"
        chmod 0755 "$T"
        chmod 0666 "$SOCK"
        # Let the daemon see wait_for_socket's probe connection close before counting.
        sleep 0.3
        python3 "$T/limits.py" "$name" "$SOCK" "$arg" || rc=$?
        check "$name: every check passed" test "$rc" -eq 0
        check "$name: the daemon is still healthy" bash -c '"$STAGE0C" info >/dev/null'
        check "$name: stage0d stops with 0" stop_daemon
}

scenario per_uid 4 --max-connections-per-uid 4
scenario total 3 --max-connections 3
scenario message_size 4096 --max-message-size 4096
scenario slow_reader - --max-output-queue 4096

finish
