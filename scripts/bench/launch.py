"""Starts a master and waits until it serves, timing the start.

    launch.py BIN CONFIG RUNDIR [--no-probe] [--timeout S] [--under "TOOL ARGS"]

Spawns `BIN start --config CONFIG` (behind TOOL ARGS with --under, e.g. a profiler that runs
the master in its own process) in its own session with stdout/stderr in RUNDIR/master.out
and RUNDIR/master.err, waits for its `listening on http://HOST:PORT/` line, then (unless
--no-probe) polls GET /api/openapi.json in a tight loop until it answers 200. Prints one line,
`PID URL JSON`, where JSON holds url_ms (exec to the listening line) and openapi_ms (exec to the
first 200). On any failure the master is killed and the reason printed with its stderr's tail.
"""

import argparse
import http.client
import os
import re
import shlex
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import emit, split_url  # noqa: E402

LISTENING = re.compile(rb"listening on (http://127\.0\.0\.1:\d+/)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("config")
    ap.add_argument("rundir")
    ap.add_argument("--no-probe", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--under", default="")
    args = ap.parse_args()
    # The master runs in RUNDIR: make the other paths independent of it.
    args.bin, args.config, args.rundir = (os.path.abspath(p) for p in (args.bin, args.config, args.rundir))

    out_path = os.path.join(args.rundir, "master.out")
    err_path = os.path.join(args.rundir, "master.err")
    out = open(out_path, "wb")
    err = open(err_path, "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*shlex.split(args.under), args.bin, "start", "--config", args.config],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        cwd=args.rundir,
        start_new_session=True,
    )
    out.close()
    err.close()

    def give_up(reason):
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        tail = b""
        try:
            with open(err_path, "rb") as f:
                tail = f.read()[-2000:]
        except OSError:
            pass
        print(f"bench: master (pid {proc.pid}) {reason}\n--- {err_path} (tail) ---\n"
              f"{tail.decode(errors='replace')}", file=sys.stderr)
        sys.exit(1)

    deadline = t0 + args.timeout
    url = None
    with open(out_path, "rb") as f:
        seen = b""
        while url is None:
            chunk = f.read()
            if chunk:
                seen += chunk
                m = LISTENING.search(seen)
                if m:
                    url = m.group(1).decode()
                    break
            if proc.poll() is not None:
                give_up(f"exited with status {proc.returncode} before listening")
            if time.perf_counter() > deadline:
                give_up(f"printed no `listening on` line within {args.timeout:.0f} s")
            time.sleep(0.0005)
    url_ms = (time.perf_counter() - t0) * 1000

    result = {"url_ms": round(url_ms, 2)}
    if not args.no_probe:
        host, port, _ = split_url(url)
        attempts = 0
        while True:
            attempts += 1
            status = None
            try:
                conn = http.client.HTTPConnection(host, port, timeout=5)
                conn.request("GET", "/api/openapi.json")
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                conn.close()
            except (OSError, http.client.HTTPException):
                pass
            if status == 200:
                break
            if proc.poll() is not None:
                give_up(f"exited with status {proc.returncode} before serving /api/openapi.json")
            if time.perf_counter() > deadline:
                give_up(f"did not answer 200 on /api/openapi.json within {args.timeout:.0f} s (last: {status})")
            time.sleep(0.0005)
        result["openapi_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        result["attempts"] = attempts
    # The master outlives this helper; bench.sh kills it by PID.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    print(f"{proc.pid} {url} ", end="")
    emit(result)


if __name__ == "__main__":
    main()
