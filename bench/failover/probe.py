#!/usr/bin/env python3
"""Measuring helper of bench/failover-detect.sh (see bench/README.md).

Every time is taken with time.monotonic() in this process, and the kill is sent
from this process too, so "kill -> DOWN" has no process start-up in it. Every
loop has a deadline. Loopback only.

  probe.py kill-detect --pid PID --node NAME --peers NAME=PORT,... [--extra NAME=PORT,...]
                       [--timeout S] [--poll-ms MS]
      Checks that every peer sees NAME UP, sends SIGKILL to PID, then polls each
      peer's GET /cluster/nodes (one persistent HTTP/1.1 connection per peer)
      every POLL-MS until every peer in --peers reports NAME DOWN. --extra peers
      (the balancer) are polled and reported but not waited for.
      Prints one JSON line: {"ok", "down_ms": {peer: ms}, "suspect_ms": {...},
      "detect_ms": max over --peers, ...}.

  probe.py wait-up --nodes NAME=PORT,... [--node NAME] [--timeout S]
      Polls until every node answers and sees every node UP. Prints one JSON
      line with the time it took and the incarnation each node reports for NAME.

  probe.py haproxy-detect --socket PATH --backend BE --server SV --pid PID
                          [--timeout S] [--poll-ms MS]
      Checks that HAProxy's `show stat` says SV is UP, sends SIGKILL to PID and
      polls `show stat` on the stats socket until the status is exactly DOWN.

  probe.py haproxy-wait --socket PATH --backend BE --server SV --status UP [--timeout S]
      Waits until the status is exactly STATUS (also waits for the socket).

  probe.py soak-watch --nodes NAME=PORT,... --duration S [--poll-ms MS] [--out FILE]
      Follows GET /cluster/events?since=N on every node for S seconds (starting
      from each node's latest sequence), and samples /proc/stat for CPU use.
      Prints one JSON summary line: every status change seen, DOWN and SUSPECT
      counts, unanswered polls, CPU busy share.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import sys
import time


def now():
    return time.monotonic()


def parse_nodes(text):
    out = []
    for item in filter(None, (text or "").split(",")):
        name, port = item.split("=", 1)
        out.append((name, int(port)))
    return out


class Client:
    """One persistent HTTP/1.1 connection to 127.0.0.1:port; reconnects on error."""

    def __init__(self, port, timeout):
        self.port = port
        self.timeout = timeout
        self.conn = None
        self.errors = 0

    def get_json(self, path):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                    self.conn.connect()
                    self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise OSError("HTTP %d" % resp.status)
                return json.loads(body.decode())
            except (OSError, http.client.HTTPException, ValueError):
                self.errors += 1
                self.close()
                if attempt == 1:
                    return None
        return None

    def view(self):
        """{name: (status, incarnation)} as this node sees the cluster, or None."""
        data = self.get_json("/cluster/nodes")
        if not data:
            return None
        return {n["name"]: (n.get("status"), n.get("incarnation")) for n in data.get("nodes", [])}

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None


def emit(obj):
    print(json.dumps(obj, sort_keys=True), flush=True)


# --------------------------------------------------------------- cluster
def cmd_kill_detect(a):
    peers = parse_nodes(a.peers)
    extra = parse_nodes(a.extra)
    clients = {name: Client(port, 0.5) for name, port in peers + extra}
    poll = a.poll_ms / 1000.0

    # Precondition: every observer sees the victim UP right now.
    deadline = now() + 10
    while True:
        views = {name: c.view() for name, c in clients.items()}
        if all(v and v.get(a.node, (None,))[0] == "UP" for v in views.values()):
            break
        if now() > deadline:
            emit({"ok": False, "error": "before the kill, not every peer sees %s UP: %s" % (
                a.node, {k: (v or {}).get(a.node) for k, v in views.items()})})
            return 1
        time.sleep(0.05)

    down, suspect, states = {}, {}, {}
    t0 = now()
    os.kill(a.pid, signal.SIGKILL)
    deadline = t0 + a.timeout
    polls = 0
    while now() < deadline:
        polls += 1
        for name, c in clients.items():
            if name in down:
                continue
            v = c.view()
            t = (now() - t0) * 1000.0
            if not v:
                continue
            st = v.get(a.node, (None,))[0]
            states[name] = st
            if st == "SUSPECT" and name not in suspect:
                suspect[name] = t
            if st == "DOWN":
                down[name] = t
                suspect.setdefault(name, t)  # went straight to DOWN between two polls
        if all(name in down for name, _ in peers):
            # Waiting only for --peers; --extra (the balancer) gets 2 s more at most.
            peers_done = max(down[n] for n, _ in peers) / 1000.0
            if all(name in down for name, _ in extra) or now() - t0 > peers_done + 2:
                break
        time.sleep(poll)
    for c in clients.values():
        c.close()
    got = all(name in down for name, _ in peers)
    emit({
        "ok": got,
        "node": a.node,
        "detect_ms": round(max(down[n] for n, _ in peers), 1) if got else None,
        "down_ms": {k: round(v, 1) for k, v in down.items()},
        "suspect_ms": {k: round(v, 1) for k, v in suspect.items()},
        "last_status": states,
        "polls": polls,
        "poll_period_ms": round((now() - t0) * 1000.0 / max(1, polls), 1),
        "poll_errors": sum(c.errors for c in clients.values()),
        "error": None if got else "not every peer reported %s DOWN within %.1f s (last seen: %s)" % (
            a.node, a.timeout, states),
    })
    return 0 if got else 1


def cmd_wait_up(a):
    nodes = parse_nodes(a.nodes)
    names = [n for n, _ in nodes]
    clients = {name: Client(port, 0.5) for name, port in nodes}
    t0 = now()
    deadline = t0 + a.timeout
    views = {}
    while now() < deadline:
        views = {name: c.view() for name, c in clients.items()}
        if all(v and all(v.get(n, (None,))[0] == "UP" for n in names) for v in views.values()):
            for c in clients.values():
                c.close()
            inc = {k: v.get(a.node, (None, None))[1] for k, v in views.items()} if a.node else {}
            emit({"ok": True, "ms": round((now() - t0) * 1000.0, 1), "incarnation": inc})
            return 0
        time.sleep(0.02)
    for c in clients.values():
        c.close()
    emit({"ok": False, "error": "not every node saw every node UP within %.0f s: %s" % (
        a.timeout, {k: ({n: s for n, (s, _) in v.items()} if v else "no answer") for k, v in views.items()})})
    return 1


# --------------------------------------------------------------- haproxy
def haproxy_status(sock_path, backend, server):
    """Status column of `show stat` for backend/server, or None if unavailable."""
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1.0)
        s.connect(sock_path)
        s.sendall(b"show stat\n")
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        s.close()
    except OSError:
        return None
    lines = b"".join(chunks).decode(errors="replace").splitlines()
    if not lines or not lines[0].startswith("# "):
        return None
    header = lines[0][2:].split(",")
    try:
        ip, isv, ist = header.index("pxname"), header.index("svname"), header.index("status")
    except ValueError:
        return None
    for line in lines[1:]:
        f = line.split(",")
        if len(f) > ist and f[ip] == backend and f[isv] == server:
            return f[ist]
    return None


def cmd_haproxy_wait(a):
    t0 = now()
    deadline = t0 + a.timeout
    st = None
    while now() < deadline:
        st = haproxy_status(a.socket, a.backend, a.server)
        if st == a.status:
            emit({"ok": True, "ms": round((now() - t0) * 1000.0, 1), "status": st})
            return 0
        time.sleep(0.05)
    emit({"ok": False, "error": "HAProxy status of %s/%s is %r, not %s, after %.0f s" % (
        a.backend, a.server, st, a.status, a.timeout)})
    return 1


def cmd_haproxy_detect(a):
    st = haproxy_status(a.socket, a.backend, a.server)
    if st != "UP":
        emit({"ok": False, "error": "before the kill, HAProxy says %r, not UP" % st})
        return 1
    poll = a.poll_ms / 1000.0
    seen = []  # status transitions with their time: "UP" -> "UP 1/3" -> "UP 2/3" -> "DOWN"
    t0 = now()
    os.kill(a.pid, signal.SIGKILL)
    deadline = t0 + a.timeout
    last = st
    while now() < deadline:
        st = haproxy_status(a.socket, a.backend, a.server)
        t = (now() - t0) * 1000.0
        if st is not None and st != last:
            seen.append([round(t, 1), st])
            last = st
        if st == "DOWN":
            emit({"ok": True, "detect_ms": round(t, 1), "transitions": seen})
            return 0
        time.sleep(poll)
    emit({"ok": False, "error": "HAProxy did not mark the server DOWN within %.0f s" % a.timeout,
          "transitions": seen})
    return 1


# --------------------------------------------------------------- soak
def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]), idle


def cmd_soak_watch(a):
    nodes = parse_nodes(a.nodes)
    clients = {name: Client(port, 2.0) for name, port in nodes}
    since = {}
    for name, c in clients.items():
        d = c.get_json("/cluster/events?since=0")
        if d is None:
            emit({"ok": False, "error": "%s does not answer /cluster/events" % name})
            return 1
        since[name] = int(d.get("latest", 0))
    events, unanswered, truncated, polls = [], 0, 0, 0
    total0, idle0 = cpu_times()
    t0 = now()
    deadline = t0 + a.duration
    poll = a.poll_ms / 1000.0
    while True:
        polls += 1
        for name, c in clients.items():
            d = c.get_json("/cluster/events?since=%d" % since[name])
            if d is None:
                unanswered += 1
                continue
            if d.get("truncated"):
                truncated += 1
            for e in d.get("events", []):
                since[name] = max(since[name], int(e.get("sequence", 0)))
                events.append({"observer": name, "t_s": round(now() - t0, 2), "node": e.get("node"),
                               "from": e.get("from"), "to": e.get("to"), "reason": e.get("reason"),
                               "time": e.get("time")})
            if not d.get("events"):
                # Nothing new, or the ring dropped what we missed (truncated): catch up.
                since[name] = max(since[name], int(d.get("latest", 0)))
        if now() >= deadline:
            break
        time.sleep(min(poll, max(0.0, deadline - now())))
    total1, idle1 = cpu_times()
    busy = 1.0 - (idle1 - idle0) / max(1, total1 - total0)
    for c in clients.values():
        c.close()
    result = {
        "ok": True,
        "seconds": round(now() - t0, 1),
        "down": sum(1 for e in events if e["to"] == "DOWN"),
        "suspect": sum(1 for e in events if e["to"] == "SUSPECT"),
        "other": sum(1 for e in events if e["to"] not in ("DOWN", "SUSPECT")),
        "events": events,
        "polls": polls,
        "unanswered_polls": unanswered,
        "truncated_pages": truncated,
        "cpu_busy": round(busy, 3),
    }
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)
    emit(result)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kill-detect")
    k.add_argument("--pid", type=int, required=True)
    k.add_argument("--node", required=True)
    k.add_argument("--peers", required=True)
    k.add_argument("--extra", default="")
    k.add_argument("--timeout", type=float, default=15)
    k.add_argument("--poll-ms", type=float, default=10)
    w = sub.add_parser("wait-up")
    w.add_argument("--nodes", required=True)
    w.add_argument("--node", default="")
    w.add_argument("--timeout", type=float, default=30)
    hd = sub.add_parser("haproxy-detect")
    hw = sub.add_parser("haproxy-wait")
    for h in (hd, hw):
        h.add_argument("--socket", required=True)
        h.add_argument("--backend", required=True)
        h.add_argument("--server", required=True)
        h.add_argument("--timeout", type=float, default=20)
    hd.add_argument("--pid", type=int, required=True)
    hd.add_argument("--poll-ms", type=float, default=10)
    hw.add_argument("--status", default="UP")
    s = sub.add_parser("soak-watch")
    s.add_argument("--nodes", required=True)
    s.add_argument("--duration", type=float, required=True)
    s.add_argument("--poll-ms", type=float, default=500)
    s.add_argument("--out", default="")
    a = p.parse_args()
    return {"kill-detect": cmd_kill_detect, "wait-up": cmd_wait_up, "haproxy-detect": cmd_haproxy_detect,
            "haproxy-wait": cmd_haproxy_wait, "soak-watch": cmd_soak_watch}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
