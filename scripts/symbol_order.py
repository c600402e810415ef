#!/usr/bin/env python3
"""Writes backend/symbol-order.txt: the functions a master runs, in the order the linker lays them out.

    scripts/symbol_order.py [--bin target/release/cascade] [--out backend/symbol-order.txt]

Why: the release binary holds 25 MB of code, and a master that has just started runs about
1 MB of it, scattered over the whole binary. Each page of code it touches makes the kernel map
the surrounding 64 kB as well (fault-around), so an idle master held 14 MB of code for 1 MB
of work. Laid out together, the code it runs fills few pages (docs/performance.md, "Memory").

How: runs the master under valgrind's callgrind (`apt-get install -y valgrind`) on a small
configuration in a temporary folder, in two parts:
  1. start-up and a few seconds idle: the functions an idle master has run;
  2. a workload touching every hot path once: change hooks (base and signed GitHub), the API
     lists and views, a forced build on the embedded worker with its event stream and log, the
     badge, the SPA, /metrics.
The file lists part 1's functions first, then those only part 2 ran, by their mangled names as
the symbol table has them (the release profile keeps the symbol table for this). A name the
binary no longer has is skipped by the linker; names drift when Cargo.lock or the toolchain
change, which the file's header records and `build.rs` compares (a warning says to run this
again). The release build passes the file to the linker (`--symbol-ordering-file`, lld).
"""

import argparse
import contextlib
import glob
import hashlib
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts", "bench"))
from common import Client, fail, launch, split_url, wait_until  # noqa: E402
from github_push import signed  # noqa: E402

SECRET = "symbol-order-secret"
# Generous: under callgrind the master runs some fifty times slower.
START_TIMEOUT = 300
IDLE_SECONDS = 12

# As a user's configuration reads, since the start-up runs what the file holds: comments, a
# database path relative to the master's folder, descriptions, a step's timeout.
CONFIG = """\
# Written by scripts/symbol_order.py.
title = "symbol order"
base_url = "http://127.0.0.1:8010/"

[db]
url = "sqlite://state.sqlite"

[web]
listen = ["127.0.0.1:0"]

[authz]
force_build = true

[[workers]]
name = "local"
embedded = true
max_builds = 2

[[builders]]
name = "compile"
description = "Compiles, with a warning"
tags = ["demo"]
workers = ["local"]
steps = [
  {{ name = "configure", command = ["sh", "-c", "echo checking for cc... yes"], timeout = 120 }},
  {{ name = "build", command = "for i in 1 2 3; do echo CC module_$i.o; done; echo 'warning: slow'", warn_on = "^warning:" }},
]

[[schedulers]]
name = "force"
kind = "force"
builders = ["compile"]

[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["compile"]

[change_hook]
dialects = {{ base = {{}}, github = {{ secret = "{secret}" }} }}
"""


def stamp():
    """What the symbol names depend on besides the code: the toolchain and the locked crates."""
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(ROOT, "Cargo.lock"), "rb") as f:
        lock = hashlib.sha256(f.read()).hexdigest()
    return rustc, lock


def workload(url):
    """Every hot path once, so that its code is laid out with the rest."""
    m = Client(url, timeout=120)
    for path in ["/healthz", "/metrics", "/api/openapi.json", "/api/v1/master", "/api/v1/workers"]:
        m.request("GET", path)
    _, index = m.request("GET", "/")
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', index.decode()):
        m.request("GET", asset)

    def follow():
        """An event stream, as the SPA keeps one open: its events are read as they come."""
        host, port, _ = split_url(url)
        conn = http.client.HTTPConnection(host, port, timeout=START_TIMEOUT)
        conn.request("GET", "/api/v1/events")
        stream = conn.getresponse()
        while stream.fp.readline():
            pass

    threading.Thread(target=follow, daemon=True).start()

    # Hooks, several at once so that they are stored as one batch.
    def base(i):
        form = urllib.parse.urlencode({"revision": f"{i:040x}", "branch": "feature", "author": "a <a@b>",
                                       "comments": f"change {i}", "files": '["src/a.rs"]'})
        Client(url).request("POST", "/change_hook/base", form, {"Content-Type": "application/x-www-form-urlencoded"})

    threads = [threading.Thread(target=base, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    body, signature = signed(3, "feature", SECRET)
    status, answer = m.request("POST", "/change_hook/github", body, {
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": signature})
    if status != 202:
        fail(f"the signed push was answered {status}: {answer[:200]!r}")

    # A build from start to end, followed as the SPA follows it.
    status, answer = m.request("POST", "/api/v1/builders/compile/force", "{}", {"Content-Type": "application/json"})
    if status >= 300:
        fail(f"forcing a build was answered {status}: {answer[:200]!r}")
    builds = wait_until(lambda: [b for b in m.get_json("/api/v1/builds?builder=compile&limit=5")["builds"]
                                 if b["complete"]], START_TIMEOUT, 0.5, "the forced build to finish")
    number = builds[0]["number"]
    for step in m.get_json(f"/api/v1/builders/compile/builds/{number}")["steps"]:
        for log in step["logs"]:
            logs = f"/api/v1/builders/compile/builds/{number}/steps/{step['number']}/logs/{log['slug']}"
            for tail in ["/lines", "/raw", "/markers", "/search?q=CC"]:
                m.request("GET", logs + tail)

    for path in ["/api/v1/builds?limit=50", "/api/v1/changes?limit=50", "/api/v1/builders",
                 "/api/v1/builders/compile", "/api/v1/buildrequests", "/api/v1/changes/1",
                 "/api/v1/hooks/deliveries", "/api/v1/views/waterfall", "/api/v1/views/grid",
                 "/api/v1/views/console", "/api/v1/views/one_line_per_build", "/badges/compile.svg",
                 "/api/v1/session", "/metrics"]:
        m.request("GET", path)


def names(path, binary):
    """The functions of BINARY that have costs in one callgrind dump, most expensive first."""
    obs, fns, cost = {}, {}, {}
    ob = fn = None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"^(c?)(ob|fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            table = obs if m.group(2) == "ob" else fns
            if m.group(4):
                table[m.group(3)] = m.group(4)
            if not m.group(1):
                if m.group(2) == "ob":
                    ob = obs.get(m.group(3))
                else:
                    fn = fns.get(m.group(3)) if ob == binary else None
            continue
        if fn and line[:1] in "0123456789+-*":
            parts = line.split()
            if len(parts) >= 2:
                cost[fn] = cost.get(fn, 0) + int(parts[-1])
    order = {}
    for name, _ in sorted(cost.items(), key=lambda kv: -kv[1]):
        name = re.sub(r"'\d+$", "", name)  # callgrind's mark of a recursion's depth
        if re.fullmatch(r"[A-Za-z_.$][\w.$]*", name):
            order.setdefault(name)
    return list(order)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/cascade"))
    ap.add_argument("--out", default=os.path.join(ROOT, "backend/symbol-order.txt"))
    args = ap.parse_args()
    binary = os.path.realpath(args.bin)
    for tool in ["valgrind", "callgrind_control"]:
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            fail("valgrind is missing (Debian: apt-get install -y valgrind)")
    if not subprocess.run(["nm", binary], capture_output=True, text=True).stdout:
        fail(f"{binary} has no symbol table; build it with the release profile")

    with tempfile.TemporaryDirectory(prefix="cascade-symbol-order-") as work:
        config = os.path.join(work, "cascade.toml")
        with open(config, "w") as f:
            f.write(CONFIG.format(secret=SECRET))
        out = os.path.join(work, "callgrind.out")
        # No probe: the idle part is what a master runs before any request.
        pid, url = launch(binary, config, work, timeout=START_TIMEOUT, probe=False,
                          under=f"valgrind --tool=callgrind --demangle=no --callgrind-out-file={out}")
        try:
            print(f"symbol_order: master listening at {url}; idle for {IDLE_SECONDS} s", file=sys.stderr)
            time.sleep(IDLE_SECONDS)  # the idle part is a span of time by definition
            subprocess.run(["callgrind_control", "--dump=start-up", str(pid)], check=True, capture_output=True)
            print("symbol_order: workload", file=sys.stderr)
            workload(url)
        finally:
            # The master may have died during the workload, whose failed request says so.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
            wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 120, 0.2, "the master to stop")
        dumps = sorted(glob.glob(out + "*"), key=lambda p: (len(p), p))
        if len(dumps) < 2:
            fail(f"expected two callgrind dumps, found {dumps}")
        part1 = names(dumps[1], binary)  # callgrind.out.1: start-up and idle
        part2 = names(dumps[0], binary)  # callgrind.out: the rest, written at exit
    seen = set(part1)
    order = part1 + [n for n in part2 if n not in seen]
    rustc, lock = stamp()
    with open(args.out, "w") as f:
        f.write("# Written by scripts/symbol_order.py: the functions a master runs, start-up first.\n")
        f.write(f"# rustc: {rustc}\n# Cargo.lock: {lock}\n")
        f.write(f"# start-up and idle: {len(part1)} functions; workload only: {len(order) - len(part1)}\n")
        for n in order:
            f.write(n + "\n")
    print(f"symbol_order: wrote {args.out}: {len(part1)} start-up and {len(order) - len(part1)} more functions",
          file=sys.stderr)


if __name__ == "__main__":
    main()
