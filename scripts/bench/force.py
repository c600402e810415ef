"""Forces N builds of a builder at once and times them until the last one finished.

    force.py URL BUILDER N [--connections C] [--timeout S]

Queues N builds at once: posts N `POST /api/v1/builders/BUILDER/force` (JSON {}, expecting
202) back to back on C keep-alive connections side by side (4 by default; from one, the
figure would time each force's round trip rather than the builds), then polls
GET /api/v1/builders/BUILDER every 20 ms until pending and running are both 0 and its last
build's number has grown by N. Prints one JSON line: builds, force_s (posting the N
forces), total_s (first force to all finished), builds_per_s, and the results of the builds
(counted from GET /api/v1/builds). On timeout it still prints the figures so far with
"timeout": true and exits 0, so the benchmark goes on.
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Client, emit, fail  # noqa: E402


def last_number(builder):
    last = builder.get("last_build")
    return last["number"] if last else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("builder")
    ap.add_argument("n", type=int)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=180.0)
    args = ap.parse_args()
    c = Client(args.url)
    name = urllib.parse.quote(args.builder, safe="")
    before = c.get_json(f"/api/v1/builders/{name}")
    if before["pending"] or before["running"]:
        fail(f"builder {args.builder} is not idle before forcing: {before}")
    start_number = last_number(before)

    body = b"{}"
    headers = {"Content-Type": "application/json"}
    t0 = time.perf_counter()
    deadline = t0 + args.timeout
    errors = []

    def post(count):
        poster = Client(args.url)
        for i in range(count):
            status, data = poster.request("POST", f"/api/v1/builders/{name}/force", body, headers)
            if status != 202:
                errors.append(f"a force of {args.builder} answered {status}: {data[:300]!r}")
                return
            if time.perf_counter() > deadline:
                errors.append(f"forcing {args.n} builds took over {args.timeout:.0f} s")
                return

    shares = [len(range(k, args.n, args.connections)) for k in range(args.connections)]
    posters = [threading.Thread(target=post, args=(count,)) for count in shares if count]
    for t in posters:
        t.start()
    for t in posters:
        t.join()
    if errors:
        fail(errors[0])
    t_forced = time.perf_counter()

    timeout = False
    polls = 0
    while True:
        b = c.get_json(f"/api/v1/builders/{name}")
        polls += 1
        done = last_number(b) - start_number
        if b["pending"] == 0 and b["running"] == 0 and done >= args.n:
            break
        if time.perf_counter() > deadline:
            timeout = True
            break
        time.sleep(0.02)
    t_end = time.perf_counter()
    total = t_end - t0
    result = {
        "builds": done,
        "forced": args.n,
        "force_s": round(t_forced - t0, 3),
        "total_s": round(total, 3),
        "builds_per_s": round(done / total, 2) if total > 0 else None,
        "polls": polls,
    }
    if timeout:
        result["timeout"] = True
        result["pending"] = b["pending"]
        result["running"] = b["running"]
    # How the builds ended (newest first; one page of at most 1000 per request).
    results = {}
    offset = 0
    remaining = done
    while remaining > 0:
        page = min(remaining, 1000)
        q = urllib.parse.urlencode({"builder": args.builder, "limit": page, "offset": offset})
        data = c.get_json(f"/api/v1/builds?{q}")
        for build in data["builds"]:
            key = build.get("results") or ("running" if not build.get("complete") else "none")
            results[key] = results.get(key, 0) + 1
        if len(data["builds"]) < page:
            break
        offset += page
        remaining -= page
    result["results"] = results
    emit(result)


if __name__ == "__main__":
    main()
