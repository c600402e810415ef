"""P6: a finished build reaching 1,000 event-stream clients.

    sse_fanout.py URL PID BUILDER [--clients 1000] [--builds 20] [--gap 0.25] [--timeout S]

Opens CLIENTS connections to URL/api/v1/events?type=build.finished (plain asyncio sockets,
HTTP/1.0 so that the body is not chunked),
waits until every one has its answer's headers, then forces BUILDS builds of BUILDER one
after the other (GAP seconds apart) and times each build.finished on each client from the
event's own `at` (when the master published it; same machine, same clock) to its arrival.
Prints one JSON line: clients, builds, the latency p50/p99/max over every (client, build),
how many clients received every build, and the master's CPU seconds and RSS with the
clients connected.
"""

import argparse
import asyncio
import datetime
import json
import os
import resource
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


async def client(host, port, path, latencies, received, ready):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass
    ready.release()
    data = ""
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text.startswith("data:"):
                data += text[5:].strip()
            elif text == "" and data:
                now = time.time()
                try:
                    event = json.loads(data)
                except ValueError:
                    event = {}
                data = ""
                build = event.get("build") or {}
                if "number" in build and event.get("at"):
                    at = datetime.datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()
                    latencies.append((now - at) * 1000)
                    received[build["number"]] = received.get(build["number"], 0) + 1
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pid", type=int)
    ap.add_argument("builder")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--builds", type=int, default=20)
    ap.add_argument("--gap", type=float, default=0.25)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.clients + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.clients + 1000), hard))
    u = urllib.parse.urlsplit(args.url)
    path = "/api/v1/events?type=build.finished"
    latencies, received = [], {}
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(client(u.hostname, u.port, path, latencies, received, ready))
             for _ in range(args.clients)]
    deadline = time.monotonic() + args.timeout
    for _ in range(args.clients):
        try:
            await asyncio.wait_for(ready.acquire(), max(1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            fail("not every event-stream client was answered in time")
    rss_connected = rss_kb(args.pid)
    cpu0 = cpu_s(args.pid)
    c = Client(args.url)
    name = urllib.parse.quote(args.builder, safe="")
    first = None
    for i in range(args.builds):
        status, body = c.request("POST", f"/api/v1/builders/{name}/force", b"{}", {"Content-Type": "application/json"})
        if status != 202:
            fail(f"force answered {status}: {body[:200]!r}")
        if first is None:
            first = json.loads(body).get("buildrequest_ids", [None])[0]
        await asyncio.sleep(args.gap)
    while time.monotonic() < deadline:
        if len(received) >= args.builds and all(n >= args.clients for n in received.values()):
            break
        await asyncio.sleep(0.05)
    cpu = cpu_s(args.pid) - cpu0
    rss_peak = rss_kb(args.pid, "VmHWM")
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    complete = sum(1 for n in received.values() if n >= args.clients)
    emit({
        "clients": args.clients,
        "builds": args.builds,
        "builds_seen_by_all": complete,
        "samples": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5), 2) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 2) if latencies else None,
        "max_ms": round(max(latencies), 2) if latencies else None,
        "master_cpu_s": round(cpu, 2),
        "rss_connected_mb": round(rss_connected / 1024, 1) if rss_connected else None,
        "vm_hwm_mb": round(rss_peak / 1024, 1) if rss_peak else None,
    })


if __name__ == "__main__":
    asyncio.run(main())
