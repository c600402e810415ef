"""P6: a finished build reaching 1,000 event-stream clients.

    sse_fanout.py URL PID BUILDER [--clients 1000] [--builds 20] [--gap 0.25] [--timeout S]

Opens CLIENTS connections to URL/api/v1/events?type=build.finished (HTTP/1.0, so that the
body is not chunked), waits until every one has its answer's headers, then has a child
process force BUILDS builds of BUILDER one after the other (GAP seconds apart) and times each
build.finished on each client from the event's own `at` (when the master published it; same
machine, same clock) to its arrival.

The clients are plain non-blocking sockets under one `selectors` loop that only reads: each
read is stamped with the clock as it returns and kept, and the frames are parsed once the run
is over. A client that parsed each event as it came (asyncio streams, `json.loads`,
`fromisoformat`: about 40 µs an event in CPython) would itself take 40 ms to get through one
build's thousand events, and time its own queue rather than the master. The forcing runs in a
process of its own for the same reason: its blocking requests never hold up the reads.

Prints one JSON line: clients, builds, the latency p50/p99/max over every (client, build),
`spread_p99_ms` (per build, from the first client's arrival to the last's; the p99 over
builds), how many clients received every build, and the master's CPU seconds and RSS with the
clients connected.
"""

import argparse
import datetime
import json
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Client, emit, fail, percentile, rss_kb  # noqa: E402


def cpu_s(pid):
    """The CPU seconds (user + system) process PID has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def force(url, builder, builds, gap):
    """The child: forces BUILDS builds of BUILDER, GAP seconds apart; exits 1 on a refusal."""
    c = Client(url)
    name = urllib.parse.quote(builder, safe="")
    for _ in range(builds):
        t0 = time.monotonic()
        status, body = c.request("POST", f"/api/v1/builders/{name}/force", b"{}",
                                 {"Content-Type": "application/json"})
        if status != 202:
            fail(f"force answered {status}: {body[:200]!r}")
        time.sleep(max(0.0, gap - (time.monotonic() - t0)))


class Stream:
    """One client: its socket, what it read that is not yet accounted for, and its reads."""

    __slots__ = ("sock", "pending", "reads")

    def __init__(self, sock):
        self.sock = sock
        self.pending = b""
        self.reads = []  # (arrival time, bytes)


def events(stream):
    """(arrival time, event) for each complete SSE frame the stream read, in order: a frame
    arrived when the read that completed it returned."""
    out, buf = [], b""
    for at, data in stream.reads:
        buf += data
        *frames, buf = buf.split(b"\n\n")
        for frame in frames:
            payload = b"".join(line[5:].strip() for line in frame.split(b"\n") if line.startswith(b"data:"))
            if payload:
                try:
                    out.append((at, json.loads(payload)))
                except ValueError:
                    pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pid", type=int)
    ap.add_argument("builder")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--builds", type=int, default=20)
    ap.add_argument("--gap", type=float, default=0.25)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--force-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.force_only:
        force(args.url, args.builder, args.builds, args.gap)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.clients + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.clients + 1000), hard))
    u = urllib.parse.urlsplit(args.url)
    request = (f"GET {u.path.rstrip('/')}/api/v1/events?type=build.finished HTTP/1.0\r\n"
               f"Host: {u.hostname}\r\nAccept: text/event-stream\r\n\r\n").encode()
    deadline = time.monotonic() + args.timeout
    sel = selectors.DefaultSelector()
    streams = []
    for _ in range(args.clients):
        sock = socket.create_connection((u.hostname, u.port), timeout=10)
        sock.sendall(request)
        sock.setblocking(False)
        stream = Stream(sock)
        streams.append(stream)
        sel.register(sock, selectors.EVENT_READ, stream)

    # Until every stream has its answer's head.
    waiting = len(streams)
    while waiting:
        if time.monotonic() > deadline:
            fail(f"{waiting} of {len(streams)} event-stream clients were not answered in time")
        for key, _ in sel.select(1.0):
            s = key.data
            data = s.sock.recv(65536)
            if not data:
                fail("the master closed an event stream before answering it")
            s.pending += data
            end = s.pending.find(b"\r\n\r\n")
            if end >= 0:
                if not s.pending.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")):
                    fail(f"the event stream answered {s.pending[:100]!r}")
                rest = s.pending[end + 4:]
                if rest:
                    s.reads.append((time.time(), rest))
                s.pending = b""
                sel.unregister(s.sock)
                waiting -= 1
    for s in streams:
        sel.register(s.sock, selectors.EVENT_READ, s)

    rss_connected = rss_kb(args.pid)
    cpu0 = cpu_s(args.pid)
    forcer = subprocess.Popen([sys.executable, os.path.abspath(__file__), args.url, str(args.pid), args.builder,
                               "--builds", str(args.builds), "--gap", str(args.gap), "--force-only"])

    # Read until every client has as many build.finished frames as builds were forced, or the
    # time is up. A frame's name may be cut between two reads: it is looked for in the end of
    # the read before (kept in `pending`) and this one, less what that end held alone.
    name = b"event: build.finished\n"
    frames = {id(s): 0 for s in streams}
    done = 0
    clock = time.time
    while done < len(streams) and time.monotonic() < deadline:
        if forcer.poll() not in (None, 0):
            fail("forcing the builds failed")
        for key, _ in sel.select(0.5):
            s = key.data
            data = s.sock.recv(65536)
            now = clock()
            if not data:
                sel.unregister(s.sock)
                continue
            s.reads.append((now, data))
            before = frames[id(s)]
            joined = s.pending + data
            frames[id(s)] = before + joined.count(name) - s.pending.count(name)
            s.pending = joined[-len(name):]
            if before < args.builds <= frames[id(s)]:
                done += 1
    cpu = cpu_s(args.pid) - cpu0
    rss_peak = rss_kb(args.pid, "VmHWM")
    if forcer.wait(timeout=max(1, deadline - time.monotonic())) != 0:
        fail("forcing the builds failed")
    for s in streams:
        s.sock.close()

    latencies, arrivals = [], {}
    for s in streams:
        for arrived, event in events(s):
            build = event.get("build") or {}
            if "number" in build and event.get("at"):
                at = datetime.datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()
                latencies.append((arrived - at) * 1000)
                arrivals.setdefault(build["number"], []).append(arrived)
    complete = sum(1 for times in arrivals.values() if len(times) >= args.clients)
    spreads = [(max(t) - min(t)) * 1000 for t in arrivals.values()]
    emit({
        "clients": args.clients,
        "builds": args.builds,
        "builds_seen_by_all": complete,
        "samples": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "spread_p99_ms": round(percentile(spreads, 0.99), 2) if spreads else None,
        "master_cpu_s": round(cpu, 2),
        "rss_connected_mb": round(rss_connected / 1024, 1) if rss_connected else None,
        "vm_hwm_mb": round(rss_peak / 1024, 1) if rss_peak else None,
    })


if __name__ == "__main__":
    main()
