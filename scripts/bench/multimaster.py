"""Event latency between two masters on one PostgreSQL (issue: several masters as one).

    multimaster.py BIN RUNDIR ADMIN_URL [--builds N] [--timeout S]

Makes a fresh database on the PostgreSQL server at ADMIN_URL, starts master A (an embedded
worker running a one-step builder) and master B (the same builder, but only a remote worker
that never connects, so every build runs on A), opens `/api/v1/events?type=build.finished`
on both, forces N builds on A as fast as they run, and times each build's `build.finished`
from its arrival on A's stream to its arrival on B's. Prints one JSON line of figures; the
masters are killed by PID and the database dropped at the end.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Arrivals, Client, emit, fail, launch, percentile, watch_finished  # noqa: E402

CONFIG = """title = "bench {name}"
[db]
url = "{url}"
[web]
listen = ["127.0.0.1:0"]
[authz]
force_build = true
{workers}
[[builders]]
name = "quick"
workers = ["{worker}"]
steps = [ {{ name = "true", command = ["true"] }} ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["quick"]
"""


def psql(admin, sql):
    subprocess.run(["psql", admin, "-Atc", sql], check=True, capture_output=True, timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("rundir")
    ap.add_argument("admin")
    ap.add_argument("--builds", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=300.0)
    args = ap.parse_args()
    rundir = os.path.abspath(args.rundir)
    name = f"cascade_bench_mm_{os.getpid()}"
    base, _, query = args.admin.partition("?")
    url = base[: base.rfind("/") + 1] + name + (f"?{query}" if query else "")
    psql(args.admin, f"create database {name}")
    pids = []
    stop = threading.Event()
    try:
        urls = []
        for master, workers, worker in (
            ("a", '[[workers]]\nname = "local"\nembedded = true\nmax_builds = 8', "local"),
            ("b", '[[workers]]\nname = "elsewhere"\npassword = "never-connects"', "elsewhere"),
        ):
            home = os.path.join(rundir, master)
            os.makedirs(home, exist_ok=True)
            with open(os.path.join(home, "cascade.toml"), "w") as f:
                f.write(CONFIG.format(name=master, url=url, workers=workers, worker=worker))
            pid, murl = launch(args.bin, os.path.join(home, "cascade.toml"), home, f"master {master}")
            pids.append(pid)
            urls.append(murl)
        on_a, on_b = Arrivals(), Arrivals()
        opened = [threading.Event(), threading.Event()]
        for u, arrivals, o in ((urls[0], on_a, opened[0]), (urls[1], on_b, opened[1])):
            threading.Thread(target=watch_finished, args=(u, arrivals, stop, o), daemon=True).start()
        if not all(o.wait(30) for o in opened):
            fail("an event stream did not open")
        c = Client(urls[0])
        t0 = time.monotonic()
        for _ in range(args.builds):
            status, data = c.request("POST", "/api/v1/builders/quick/force", b"{}", {"Content-Type": "application/json"})
            if status != 202:
                fail(f"force answered {status}: {data[:300]!r}")
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if len(on_a) >= args.builds and len(on_b) >= args.builds:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        latencies = [
            (on_b.get(n) - on_a.get(n)) * 1000
            for n in range(1, args.builds + 1)
            if on_a.get(n) is not None and on_b.get(n) is not None
        ]
        if not latencies:
            fail("no build reached both streams")
        emit({
            "builds": args.builds,
            "seen_on_a": len(on_a),
            "seen_on_b": len(on_b),
            "builds_per_s": round(len(on_a) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 0.5), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "max_ms": round(max(latencies), 2),
        })
    finally:
        stop.set()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in pids:
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
        try:
            psql(args.admin, f"drop database if exists {name} with (force)")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            print(f"bench: could not drop database {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
