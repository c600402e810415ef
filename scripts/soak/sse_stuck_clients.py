"""1,000 event-stream clients of which 100 never read, while large events are published.

    sse_stuck_clients.py BIN [--readers 900] [--stuck 100] [--changes 80] [--timeout 300]

A master on SQLite (with `[web] write_timeout = 5`) in a temporary folder; READERS clients read
`/api/v1/events?type=change` and count the `change.new` events they receive (over HTTP/1.0, so
that the body is not chunked: a chunk's size line can fall inside the text counted); STUCK clients ask
for the same stream over a small receive buffer and never read. CHANGES changes with a 60 kB
comment each are posted to the base hook, more than a stuck client's socket buffers hold.
Then it checks that every reading client received every change, that every stuck client was
dropped (the master says so in its log and counts only the readers' streams as open), and
reports the master's peak memory. Prints one JSON line; exits 1 on any failure. Every process
it starts is ended by its PID; every wait has a deadline.
"""

import argparse
import asyncio
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from soaklib import Master, rss_mb

EVENT = b"event: change.new"


CONFIG = """title = "soak"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
write_timeout = 5
[change_hook]
dialects = { base = {} }
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "app"
workers = ["local"]
steps = [ { name = "s", command = "true" } ]
"""


def open_streams(url):
    with urllib.request.urlopen(f"{url}metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("cascade_sse_clients "):
                return int(float(line.split()[-1]))
    return -1


async def reader(host, port, wanted, counts, i, ready):
    r, w = await asyncio.open_connection(host, port)
    w.write(b"GET /api/v1/events?type=change HTTP/1.0\r\nHost: soak\r\n\r\n")
    await w.drain()
    ready.release()
    seen, tail = 0, b""
    while seen < wanted:
        chunk = await r.read(1 << 16)
        if not chunk:
            break
        data = tail + chunk
        seen += data.count(EVENT)
        tail = data[-(len(EVENT) - 1):]
        counts[i] = seen
    w.close()


def stuck_client(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    s.sendall(b"GET /api/v1/events?type=change HTTP/1.0\r\nHost: soak\r\n\r\n")
    return s


async def run(args, url, pid):
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    counts = [0] * args.readers
    ready = asyncio.Semaphore(0)
    readers = [asyncio.create_task(reader(host, port, args.changes, counts, i, ready)) for i in range(args.readers)]
    for _ in range(args.readers):
        await asyncio.wait_for(ready.acquire(), 60)
    stuck = [stuck_client(host, port) for _ in range(args.stuck)]
    deadline = time.monotonic() + 60
    while open_streams(url) < args.readers + args.stuck:
        if time.monotonic() > deadline:
            raise RuntimeError("the streams did not all open")
        await asyncio.sleep(0.1)

    peak = rss_mb(pid)
    comment = "x" * 60_000
    loop = asyncio.get_running_loop()

    def post(n):
        body = urllib.parse.urlencode({"author": "soak <s@x>", "revision": f"r{n}", "comments": comment}).encode()
        with urllib.request.urlopen(urllib.request.Request(f"{url}change_hook/base", data=body), timeout=30) as r:
            return r.status

    for n in range(args.changes):
        status = await loop.run_in_executor(None, post, n)
        if status != 202:
            raise RuntimeError(f"change {n} answered {status}")
        peak = max(peak, rss_mb(pid))
    done, pending = await asyncio.wait(readers, timeout=args.timeout)
    for t in pending:
        t.cancel()
    peak = max(peak, rss_mb(pid))
    # The stuck clients' streams close once their writes have waited write_timeout.
    deadline = time.monotonic() + 60
    while (opened := open_streams(url)) > 0 and time.monotonic() < deadline:
        if opened <= args.readers - len(done):
            break
        await asyncio.sleep(0.2)
    for s in stuck:
        s.close()
    return counts, peak, opened


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--readers", type=int, default=900)
    ap.add_argument("--stuck", type=int, default=100)
    ap.add_argument("--changes", type=int, default=80)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    rundir = tempfile.mkdtemp(prefix="cascade-soak-sse-")
    config = os.path.join(rundir, "cascade.toml")
    with open(config, "w") as f:
        f.write(CONFIG)
    master = Master(os.path.abspath(args.bin), config, rundir)
    try:
        master.start()
        counts, peak, opened = asyncio.run(run(args, master.url, master.proc.pid))
        dropped = sum("closing a connection whose client has read nothing" in line for line in master.log())
        complete = sum(c >= args.changes for c in counts)
        result = {"readers": args.readers, "readers_with_every_event": complete, "stuck": args.stuck,
                  "stuck_dropped": dropped, "streams_open_after": opened, "peak_rss_mb": round(peak, 1),
                  "changes": args.changes, "fewest_events_read": min(counts), "most_events_read": max(counts)}
        result["ok"] = complete == args.readers and dropped >= args.stuck
        print(json.dumps(result))
        return 0 if result["ok"] else 1
    finally:
        master.stop()
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
