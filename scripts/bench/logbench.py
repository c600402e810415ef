"""The log scenario: ingestion, tail and raw streaming of a big compiler-like log.

    logbench.py generate FILE MB
        Writes MB megabytes (10^6 bytes) of varied compiler-like lines (deterministic).
    logbench.py run URL BUILDER PID DB FILE [--runs 3] [--tails 20] [--timeout S]
        BUILDER's steps must be: 1 `date +%s.%N`, 2 `cat FILE`, 3 `date +%s.%N`.
        Forces --runs builds one after the other; for each, the ingestion rate is FILE's size
        over the time between the two stamps (sub-second), and also over the output step's
        started_at..finished_at (whole seconds, as the API gives them). Then, on the last build:
        --tails runs of `curl .../lines?offset=-1000` (median ms), --runs runs of
        `curl .../raw > /dev/null` (MB/s, and the master's RSS growth while streaming, sampled
        every 5 ms), and the stored size (sqlite3 on DB: sum(length(content)) of log_chunks)
        over the raw bytes written. Prints one JSON line.
"""

import argparse
import datetime
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Client, emit, fail, rss_kb  # noqa: E402


def generate(path, mb):
    """Lines like a big C/C++ build: CC/CXX/LD lines, include paths, the odd warning."""
    rnd = random.Random(42)
    dirs = ["src/net/ipv4", "src/net/core", "src/fs/ext4", "src/drivers/gpu/drm/amd/display/dc/core",
            "src/storage/engine/btree", "src/compiler/codegen/x86_64", "lib/crypto/sha3", "third_party/zstd/lib",
            "src/ui/widgets/layout", "tests/unit/parser", "src/runtime/gc", "tools/build/generators"]
    words = ["buffer", "socket", "inode", "parser", "allocator", "scheduler", "widget", "cache", "journal",
             "codec", "vector", "matrix", "hash", "queue", "stream", "token", "module", "driver"]
    flags = ["-O2 -g -Wall -Wextra", "-O3 -fPIC -DNDEBUG", "-O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2",
             "-Os -ffunction-sections -fdata-sections"]
    target = mb * 1_000_000
    written = 0
    with open(path, "w") as f:
        buf = []
        n = 0
        while written < target:
            n += 1
            d = rnd.choice(dirs)
            name = f"{rnd.choice(words)}_{rnd.choice(words)}{rnd.randint(0, 99)}"
            r = rnd.random()
            if r < 0.80:
                line = f"  CC      {d}/{name}.o  [{n}/{target // 60}] {rnd.choice(flags)}\n"
            elif r < 0.90:
                line = f"  CXX     {d}/{name}.cc -> build/obj/{d}/{name}.o\n"
            elif r < 0.97:
                line = (f"{d}/{name}.c:{rnd.randint(1, 4000)}:{rnd.randint(1, 80)}: warning: unused variable "
                        f"'{rnd.choice(words)}_{rnd.randint(0, 9)}' [-Wunused-variable]\n")
            else:
                line = f"  LD      build/lib/lib{rnd.choice(words)}.so ({rnd.randint(10, 9999)} objects)\n"
            if written + len(line) > target:
                line = line[: target - written - 1] + "\n"
            buf.append(line)
            written += len(line)
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class RssSampler(threading.Thread):
    """Samples a process's VmRSS every `interval` s until stopped; keeps the peak."""

    def __init__(self, pid, interval=0.005):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = rss_kb(pid) or 0
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            v = rss_kb(self.pid)
            if v is not None and v > self.peak:
                self.peak = v
            time.sleep(self.interval)

    def stop(self):
        self.stop_event.set()
        self.join(5)
        return self.peak


def stamp(c, base, step, slug):
    data = c.get_json(f"{base}/steps/{step}/logs/{slug}/lines?limit=20")
    for line in data["lines"]:
        if line["channel"] == "o":
            try:
                return float(line["text"].strip())
            except ValueError:
                pass
    fail(f"no time stamp in step {step}'s log: {data}")


def curl(url, fmt, timeout):
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "--max-time", str(timeout), "-w", fmt, url],
                       capture_output=True, text=True, timeout=timeout + 10)
    if p.returncode != 0:
        fail(f"curl {url} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout.split()


def run(args):
    size = os.path.getsize(args.file)
    c = Client(args.url, timeout=60)
    name = urllib.parse.quote(args.builder, safe="")
    runs = []
    base = None
    for i in range(args.runs):
        before = c.get_json(f"/api/v1/builders/{name}")
        if before["pending"] or before["running"]:
            fail(f"builder {args.builder} is busy before run {i + 1}: {before}")
        start_number = (before.get("last_build") or {}).get("number", 0)
        rss_before = rss_kb(args.pid)
        sampler = RssSampler(args.pid, 0.02)
        sampler.start()
        t0 = time.perf_counter()
        status, body = c.request("POST", f"/api/v1/builders/{name}/force", b"{}",
                                 {"Content-Type": "application/json"})
        if status != 202:
            sampler.stop()
            fail(f"force of {args.builder} answered {status}: {body[:300]!r}")
        deadline = t0 + args.timeout
        while True:
            b = c.get_json(f"/api/v1/builders/{name}")
            last = (b.get("last_build") or {}).get("number", 0)
            if last > start_number and b["pending"] == 0 and b["running"] == 0:
                break
            if time.perf_counter() > deadline:
                sampler.stop()
                fail(f"the {size / 1e6:.0f} MB log build did not finish within {args.timeout:.0f} s "
                     f"(pending {b['pending']}, running {b['running']})")
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        peak = sampler.stop()
        rss_after = rss_kb(args.pid)
        base = f"/api/v1/builders/{name}/builds/{last}"
        detail = c.get_json(base)
        steps = detail["steps"]
        if len(steps) != 3:
            fail(f"expected 3 steps in {base}, got {len(steps)}")
        slug = steps[1]["logs"][0]["slug"] if steps[1]["logs"] else "stdio"
        t_start = stamp(c, base, steps[0]["number"], steps[0]["logs"][0]["slug"])
        t_end = stamp(c, base, steps[2]["number"], steps[2]["logs"][0]["slug"])
        s_start, s_end = parse_time(steps[1]["started_at"]), parse_time(steps[1]["finished_at"])
        step_s = (s_end - s_start).total_seconds() if s_start and s_end else None
        log = steps[1]["logs"][0] if steps[1]["logs"] else {}
        runs.append({
            "build": last,
            "results": detail.get("results"),
            "step_results": steps[1].get("results"),
            "num_lines": log.get("num_lines"),
            "stamped_s": round(t_end - t_start, 3),
            "ingest_mb_s": round(size / 1e6 / (t_end - t_start), 1) if t_end > t_start else None,
            "step_s": step_s,
            "ingest_step_mb_s": round(size / 1e6 / step_s, 1) if step_s else None,
            "wall_s": round(wall, 3),
            "rss_before_kb": rss_before,
            "rss_peak_kb": peak,
            "rss_after_kb": rss_after,
        })
    step = 2
    with open(args.file, "rb") as f:
        expected_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))

    # The last 1,000 lines: check the answer once, then time it with curl.
    lines_path = f"{base}/steps/{step}/logs/{slug}/lines?offset=-1000"
    data = c.get_json(lines_path)
    tail_check = {"lines": len(data["lines"]), "total": data["total"], "complete": data["complete"]}
    c.close()
    tails = []
    for _ in range(args.tails):
        code, t = curl(args.url.rstrip("/") + lines_path, "%{http_code} %{time_total}", 30)
        if code != "200":
            fail(f"GET {lines_path} answered {code}")
        tails.append(round(float(t) * 1000, 2))

    # The whole log as text, streamed to /dev/null, sampling the master's RSS meanwhile.
    raw_path = f"{base}/steps/{step}/logs/{slug}/raw"
    raws = []
    for _ in range(args.runs):
        rss0 = rss_kb(args.pid)
        sampler = RssSampler(args.pid)
        sampler.start()
        code, n, t = curl(args.url.rstrip("/") + raw_path, "%{http_code} %{size_download} %{time_total}",
                          args.timeout)
        peak = sampler.stop()
        if code != "200":
            fail(f"GET {raw_path} answered {code}")
        raws.append({"bytes": int(n), "s": float(t), "mb_s": round(int(n) / 1e6 / float(t), 1),
                     "rss_before_kb": rss0, "rss_peak_kb": peak, "rss_growth_mb": round((peak - rss0) / 1024, 1)})

    stored = None
    if args.db and os.path.exists(args.db):
        p = subprocess.run(["sqlite3", "-readonly", args.db,
                            "select coalesce(sum(length(content)),0), count(*) from log_chunks"],
                           capture_output=True, text=True, timeout=120)
        if p.returncode == 0 and p.stdout.strip():
            chunk_bytes, chunks = (int(x) for x in p.stdout.strip().split("|"))
            raw_total = size * len(runs)
            stored = {"chunk_bytes": chunk_bytes, "chunks": chunks, "raw_bytes": raw_total,
                      "ratio_pct": round(100 * chunk_bytes / raw_total, 2)}
        else:
            stored = {"error": p.stderr.strip()}

    emit({
        "log_bytes": size,
        "log_lines": expected_lines,
        "runs": runs,
        "tail_check": tail_check,
        "tail_ms": tails,
        "tail_median_ms": statistics.median(tails),
        "raw": raws,
        "stored": stored,
    })


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("file")
    g.add_argument("mb", type=int)
    r = sub.add_parser("run")
    r.add_argument("url")
    r.add_argument("builder")
    r.add_argument("pid", type=int)
    r.add_argument("db")
    r.add_argument("file")
    r.add_argument("--runs", type=int, default=3)
    r.add_argument("--tails", type=int, default=20)
    r.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    if args.cmd == "generate":
        generate(args.file, args.mb)
    else:
        run(args)


if __name__ == "__main__":
    main()
