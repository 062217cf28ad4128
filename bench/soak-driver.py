#!/usr/bin/env python3
"""Pod lifecycles against a running stage0d, and what they leave behind in it.

One lifecycle is: Pods.Run with more (the pod runs to its exit; the final reply must say exited
with exit code 0), Pods.Wait on the same pod (its last reply must say the pod has finished
with exit code 0), Pods.GarbageCollect with a zero grace period. PARALLEL lifecycles run at
once. The lifecycles come in rounds (--rounds 20,180 or --total N --every K); after each round
the driver waits until nothing is in flight and the daemon has settled (no child processes,
the same fd count on several reads in a row), then samples the daemon's open fds and VmRSS.
It prints one table row per round and, with --json FILE, writes every sample there.

Why Wait cannot lose its pod to another lifecycle's GC: GC removes only exited pods, and a
pod could exit before its Wait is registered. So the span from sending Run to Wait's first
reply and the span of a GC call exclude each other (GC calls among themselves do not, nor do
the spans among themselves); a pod is thus seen by its own Wait before any GC may collect it.

The driver speaks varlink itself (NUL-terminated JSON over the Unix socket) so that it costs
the 2-CPU machine little beside the daemon; it exits 1 on any failed or unexpected reply.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

REPLY_MAX = 16 * 1024 * 1024
CALL_TIMEOUT = 60.0


class CallError(Exception):
    pass


class Connection:
    """One varlink connection; calls on it are made one after another."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(CALL_TIMEOUT)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, method, params, more=False):
        msg = {"method": method, "parameters": params}
        if more:
            msg["more"] = True
        self.sock.sendall(json.dumps(msg).encode() + b"\0")

    def reply(self):
        while b"\0" not in self.buf:
            if len(self.buf) > REPLY_MAX:
                raise CallError("reply larger than %d bytes" % REPLY_MAX)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise CallError("daemon closed the connection")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        r = json.loads(msg)
        if "error" in r:
            raise CallError("%s %s" % (r["error"], json.dumps(r.get("parameters", {}))))
        return r

    def call(self, method, params):
        self.send(method, params)
        return self.reply()["parameters"]


class Exclusion:
    """Two groups whose members may overlap within their group but not across groups."""

    def __init__(self):
        self.cond = threading.Condition()
        self.active = {"run": 0, "gc": 0}
        self.waiting = {"run": 0, "gc": 0}
        self.turn = "run"

    def enter(self, group):
        other = "gc" if group == "run" else "run"
        with self.cond:
            self.waiting[group] += 1
            # Held off by the other group: it is our turn next, and newcomers of the other
            # group wait for us, so neither group starves.
            if self.active[other]:
                self.turn = group
            while self.active[other] or (self.waiting[other] and self.turn == other):
                self.cond.wait()
            self.waiting[group] -= 1
            self.active[group] += 1

    def leave(self, group):
        with self.cond:
            self.active[group] -= 1
            if self.active[group] == 0:
                self.turn = "gc" if group == "run" else "run"
            self.cond.notify_all()


# Wait's "finished": another lifecycle's GC may already have marked the pod or be removing it
# when its exit is reported, so the later states count as well; the exit codes must be there.
FINISHED = ("exited", "exitedGarbage", "deleting")


def finished_ok(pod, what):
    if pod.get("state") not in FINISHED:
        raise CallError("%s: pod state %s, want one of %s" % (what, pod.get("state"), FINISHED))
    codes = [a.get("exitCode") for a in pod.get("apps", [])]
    if codes != [0]:
        raise CallError("%s: exit codes %s, want [0]; pod %s" % (what, codes, json.dumps(pod)))
    return pod["state"]


def run_to_exit(run, what):
    while True:
        r = run.reply()
        if not r.get("continues"):
            return finished_ok(r["parameters"].get("pod") or {}, what + ": Run's final reply")


def wait_to_end(wait, what):
    while True:
        r = wait.reply()
        if not r.get("continues"):
            return finished_ok(r["parameters"]["pod"], what + ": Wait's last reply")


def lifecycle(args, excl, stats):
    run = Connection(args.socket)
    wait = Connection(args.socket)
    try:
        excl.enter("run")
        try:
            run.send("io.stage0.Pods.Run", {"spec": {"apps": [{"image": {"name": args.image}}]}},
                     more=True)
            uuid = run.reply()["parameters"]["uuid"]
            wait.send("io.stage0.Pods.Wait", {"uuid": uuid}, more=True)
            first = wait.reply()
        finally:
            excl.leave("run")
        run_state = run_to_exit(run, uuid)
        if first.get("continues"):
            wait_state = wait_to_end(wait, uuid)
        else:
            wait_state = finished_ok(first["parameters"]["pod"], uuid + ": Wait's only reply")
    finally:
        run.close()
        wait.close()
    gc = Connection(args.socket)
    try:
        excl.enter("gc")
        try:
            r = gc.call("io.stage0.Pods.GarbageCollect", {"gracePeriodUsec": 0})
        finally:
            excl.leave("gc")
    finally:
        gc.close()
    with stats["lock"]:
        stats["collected"].update(r["collected"])
        stats["uuids"].add(uuid)
        stats["skipped"].extend(r["skipped"])
        for key in ("Run " + run_state, "Wait " + wait_state):
            stats["ends"][key] = stats["ends"].get(key, 0) + 1


def run_round(args, count, excl, stats):
    """count lifecycles, args.parallel at a time; the first failure ends the round."""
    todo = [count]
    errors = []
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if todo[0] == 0 or errors:
                    return
                todo[0] -= 1
            try:
                lifecycle(args, excl, stats)
            except (CallError, OSError, KeyError, ValueError) as e:
                with lock:
                    errors.append(str(e))
                return

    threads = [threading.Thread(target=worker) for _ in range(min(args.parallel, count))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise CallError(errors[0])


def busy_children_of(pid):
    """Children of stage0d but the idle spare workers it keeps (a worker that took a job renames
    itself "w:<method>"; a spare keeps the name stage0-worker)."""
    busy = []
    for kid, state in children_of(pid):
        try:
            with open("/proc/%d/comm" % kid) as f:
                spare = f.read().strip() in ("stage0-worker", "stage0d")
        except OSError:
            spare = False
        if not spare:
            busy.append((kid, state))
    return busy


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append((int(d), fields[0]))
    return kids


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise CallError("no VmRSS for pid %d" % pid)


def settle(pid, timeout):
    """Until the daemon has no children and its fd count held still for 0.3 s; the sample."""
    end = time.monotonic() + timeout
    last, same = None, 0
    while time.monotonic() < end:
        fds = fd_count(pid)
        same = same + 1 if fds == last and not busy_children_of(pid) else 0
        last = fds
        if same >= 3:
            return {"fds": fds, "rssKb": rss_kb(pid), "children": 0, "settled": True}
        time.sleep(0.1)
    return {"fds": fd_count(pid), "rssKb": rss_kb(pid), "children": len(busy_children_of(pid)),
            "settled": False}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--daemon-pid", type=int, required=True)
    ap.add_argument("--image", default="stage0.io/test/busybox")
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--rounds", help="lifecycles per round, comma-separated")
    ap.add_argument("--total", type=int)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--settle-timeout", type=float, default=10.0)
    ap.add_argument("--json", help="write the samples and totals here")
    args = ap.parse_args()
    if args.rounds:
        rounds = [int(n) for n in args.rounds.split(",")]
    elif args.total:
        rounds = [args.every] * (args.total // args.every)
        if args.total % args.every:
            rounds.append(args.total % args.every)
    else:
        ap.error("--rounds or --total is required")
    if any(n <= 0 for n in rounds) or args.parallel <= 0:
        ap.error("round sizes and --parallel must be positive")

    excl = Exclusion()
    stats = {"lock": threading.Lock(), "collected": set(), "uuids": set(), "skipped": [],
             "ends": {}}
    samples = []
    done, busy = 0, 0.0
    print("%10s %9s %8s %8s %6s %8s" % ("lifecycles", "elapsed_s", "pods/s", "rss_kb", "fds",
                                         "settled"), flush=True)
    rc = 0
    try:
        for n in rounds:
            start = time.monotonic()
            run_round(args, n, excl, stats)
            took = time.monotonic() - start
            busy += took
            done += n
            s = settle(args.daemon_pid, args.settle_timeout)
            s.update({"lifecycles": done, "elapsed": round(busy, 3), "podsPerSec": round(n / took, 2)})
            samples.append(s)
            print("%10d %9.1f %8.2f %8d %6d %8s" % (done, busy, n / took, s["rssKb"], s["fds"],
                                                     "yes" if s["settled"] else "NO"), flush=True)
    except CallError as e:
        print("soak-driver: lifecycle %d+: %s" % (done + 1, e), file=sys.stderr)
        rc = 1
    uncollected = sorted(stats["uuids"] - stats["collected"])
    result = {"samples": samples, "lifecycles": done, "busySeconds": round(busy, 3),
              "podsPerSec": round(done / busy, 2) if busy else 0, "uncollected": uncollected,
              "skipped": stats["skipped"], "ends": stats["ends"], "failed": rc != 0}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print("# %d lifecycles in %.1f s of work: %.2f pods/s; %d collected, %d not, %d skips" %
          (done, busy, result["podsPerSec"], len(stats["uuids"] & stats["collected"]),
           len(uncollected), len(stats["skipped"])), flush=True)
    print("# states in the final replies: %s" % json.dumps(stats["ends"], sort_keys=True))
    reasons = {}
    for sk in stats["skipped"]:
        reasons[sk.get("reason")] = reasons.get(sk.get("reason"), 0) + 1
    if reasons:
        print("# GC skips by reason: %s" % json.dumps(reasons, sort_keys=True))
    return rc


if __name__ == "__main__":
    sys.exit(main())
