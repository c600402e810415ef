"""Runs wrk once and prints its figures as one JSON line.

    wrk.py URL [--threads 2] [--connections 16] [--duration 10s] [--script FILE]

Figures: rps (Requests/sec), p50_ms/p75_ms/p90_ms/p99_ms (from --latency), requests,
non_2xx, socket errors, wrk_cpu_s (wrk's own CPU time), and the per-status counts a script prints as `status CODE COUNT`
lines from its done() (see hook.lua). Fails when wrk fails or prints no Requests/sec.
"""

import argparse
import os
import re
import resource
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, fail  # noqa: E402

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unknown latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def seconds(text):
    m = re.fullmatch(r"(\d+)(s|m)?", text)
    if not m:
        fail(f"bad duration {text!r} (use e.g. 10s)")
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1)


def parse(out):
    r = {}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    if not m:
        raise ValueError("no Requests/sec line")
    r["rps"] = float(m.group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.M)
        if m:
            r[f"p{pct}_ms"] = round(ms(m.group(1)), 3)
    m = re.search(r"^\s+(\d+) requests in ([\d.]+\w+)", out, re.M)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    statuses = {code: int(n) for code, n in re.findall(r"^status (\d+) (\d+)$", out, re.M)}
    if statuses:
        r["statuses"] = statuses
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--connections", default="16")
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--script")
    args = ap.parse_args()
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}", "--latency"]
    if args.script:
        cmd += ["-s", args.script]
    cmd.append(args.url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds(args.duration) + 30)
    except subprocess.TimeoutExpired:
        fail(f"wrk did not finish in time: {' '.join(cmd)}")
    if p.returncode != 0:
        fail(f"wrk failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    try:
        r = parse(p.stdout)
    except ValueError as e:
        fail(f"cannot read wrk's output ({e}):\n{p.stdout}{p.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    r["wrk_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)
    emit(r)


if __name__ == "__main__":
    main()
