"""Restarts the master's PostgreSQL server under hook load, and checks that the master rides it out.

    pg_restart.py BIN [--restarts 3] [--outage 6] [--clients 6] [--bound 5] [--timeout 600]

A PostgreSQL cluster of its own is made with initdb in a temporary folder (run as the
`postgres` user when this runs as root) and started on a free port of 127.0.0.1, with trust
authentication; the machine's own server is never touched. A master (the base hook, a
scheduler that builds every change on `main`, an embedded worker) runs on it while CLIENTS
threads post changes as fast as it answers. The server is stopped RESTARTS times (`pg_ctl stop`,
in fast and immediate mode in turn), stays down OUTAGE seconds, and is started again; the
master is never restarted. Checked:

- every request sent while the server is down (hooks, GET /api/v1/builds, GET
  /api/v1/changes) is answered within BOUND seconds, by 503 with `Retry-After` (or by a
  success, when the server came back while it waited); none hangs and none answers 500;
- once the server is back the master recovers by itself: the time until a hook is answered
  202 again is reported;
- afterwards every change answered 202 is stored once, no build request ran to completion
  twice, no build is left unfinished and no request is left waiting.

Prints one JSON line with the counts and exits 1 on any violation. Bounded by --timeout; the
cluster is stopped and its folder removed at the end, failed or not.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from soaklib import Master, change, check, panics, reader, request, start_load, wait_idle, write_config

PG_BIN = "/usr/lib/postgresql/15/bin"


class Cluster:
    """A PostgreSQL cluster in a temporary folder, on its own port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cascade-soak-pg-")
        self.data = os.path.join(self.dir, "data")
        self.as_owner = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: the cluster belongs to the postgres user.
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"

    def run(self, *argv, timeout=120):
        out = subprocess.run(self.as_owner + list(argv), capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {out.stderr.strip() or out.stdout.strip()}")

    def init(self):
        self.run(f"{PG_BIN}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
                 "--no-instructions")

    def start(self):
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}"
        self.run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60",
                 "-o", opts, "start")

    def stop(self, mode):
        self.run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "-m", mode, "stop")

    def remove(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            try:
                self.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                print(f"could not stop the cluster in {self.dir}: {e}", file=sys.stderr)
                return
        shutil.rmtree(self.dir, ignore_errors=True)


READ = ["api/v1/builds?limit=20", "api/v1/changes?limit=20"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--outage", type=float, default=6.0)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--bound", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    # A SIGTERM or Ctrl-C still runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cluster = Cluster()
    rundir = tempfile.mkdtemp(prefix="cascade-soak-pgrestart-")
    master, stop, ok = None, None, False
    try:
        cluster.init()
        cluster.start()
        subprocess.run(["psql", f"{cluster.url}/postgres", "-Atqc", "create database cascade"], check=True,
                       timeout=60)
        db_url = f"{cluster.url}/cascade"
        master = Master(os.path.abspath(args.bin), write_config(rundir, db_url), rundir)
        master.start()
        hooks, reads = [], []
        acknowledged, errors, stop, threads = start_load(master, args.clients, hooks, timeout=3 * args.bound)
        threads.append(threading.Thread(target=reader, args=(master, READ, stop, reads, 3 * args.bound), daemon=True))
        threads[-1].start()
        outages, recoveries = [], []
        probe = 0
        for i in range(args.restarts):
            time.sleep(3.0)
            mode = "fast" if i % 2 == 0 else "immediate"
            cluster.stop(mode)
            down = time.monotonic()
            time.sleep(args.outage)
            up = time.monotonic()
            outages.append((down, up, mode))
            cluster.start()
            back = time.monotonic()
            # Recovered when a hook is stored again, the master untouched.
            while True:
                probe += 1
                form = change("probe", probe)
                answer = request(f"{master.url}change_hook/base", form, timeout=3 * args.bound)
                if answer.status == 202:
                    acknowledged.append((form["revision"], answer.body["change_ids"][0]))
                    recoveries.append(round(time.monotonic() - back, 2))
                    break
                if time.monotonic() > back + 60 or time.monotonic() > deadline:
                    recoveries.append(None)
                    break
                time.sleep(0.1)
        time.sleep(2.0)
        stop.set()
        for t in threads:
            t.join(3 * args.bound + 5)
        alive = master.running()
        idle = wait_idle("postgres", db_url, deadline)
        master.stop()
        result = check("postgres", db_url, acknowledged)

        def during(answer):
            return any(down <= answer.sent < up for down, up, _ in outages)

        in_outage = [a for a in hooks + reads if during(a)]
        slow = [a for a in in_outage if a.status is None or a.elapsed >= args.bound]
        is_read = lambda a: hasattr(a, "path")  # noqa: E731
        # An answer may also be a success when the server came back while the request waited.
        wrong = [a for a in in_outage if a.status not in (503, 202, 200) or (a.status == 503 and a.retry_after is None)]
        failed = [a for a in hooks + reads if a.status is None or a.status == 500]
        outage_503 = [a.elapsed for a in in_outage if a.status == 503]
        log = master.log()
        result.update(
            restarts=[mode for _, _, mode in outages], outage_s=args.outage, clients=args.clients,
            master_starts=master.starts, master_alive=alive, idle=idle, refused=len(errors),
            hooks_sent=len(hooks), reads_sent=len(reads),
            during_outage={"hooks": sum(1 for a in in_outage if not is_read(a)),
                           "reads": sum(1 for a in in_outage if is_read(a)),
                           "answered_503": len(outage_503),
                           "answered_2xx": sum(1 for a in in_outage if a.status in (200, 202)),
                           "max_503_s": round(max(outage_503, default=0), 2),
                           "mean_503_s": round(sum(outage_503) / len(outage_503), 2) if outage_503 else None,
                           "slow": len(slow), "wrong": len(wrong)},
            unanswered_or_500=len(failed), recovery_s=recoveries, panics=len(panics(log)),
        )
        ok = bool(alive and master.starts == 1 and idle and not errors and not slow and not wrong and not failed
              and None not in recoveries and outage_503 and not panics(log)
              and result["lost"] == 0 and result["stored_twice"] == 0
              and result["requests_completed_twice"] == 0 and result["unfinished_builds"] == 0
              and result["requests_left"] == 0)
        result["ok"] = ok
        print(json.dumps(result))
        for what, sample in (("refused", errors), ("slow", slow), ("wrong", wrong), ("unanswered or 500", failed)):
            if sample:
                print(what + ":", [(getattr(a, "path", "hook"), a.status, round(a.elapsed, 2), a.error())
                                   if not isinstance(a, str) else a for a in sample[:5]], file=sys.stderr)
        return 0 if ok else 1
    finally:
        if stop:
            stop.set()
        if master:
            master.kill()
        cluster.remove()
        if not ok:
            print(f"the master's folder is kept for its log: {rundir}", file=sys.stderr)
        else:
            shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
