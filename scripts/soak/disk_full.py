"""Fills the disk under the master's SQLite database while hooks arrive, then frees it.

    disk_full.py BIN [--size-mb 32] [--full 8] [--clients 4] [--bound 5] [--timeout 600]

Needs root: a tmpfs of SIZE-MB is mounted on a temporary folder and holds the database file
alone (with its WAL and shared-memory files); the master's configuration, its log and its
embedded worker's folder stay on the ordinary disk. A master (the base hook, a scheduler that
builds every change on `main`, an embedded worker) runs on it while CLIENTS threads post
changes as fast as it answers. Then a filler file takes every byte left on the tmpfs, the
load goes on until the database refuses a write, and the disk stays full FULL seconds; then
the filler is removed. The master is never restarted. Checked:

- while the disk is full, a hook is answered 507 with the error `storage_full` (or 503 with
  `Retry-After`) within BOUND seconds, never 500 and never left hanging; reads
  (GET /api/v1/changes, GET /api/v1/builds, /healthz) answer 200;
- once space returns the master recovers by itself: the time until a hook is answered 202
  again is reported, and builds run and finish after it;
- afterwards every change answered 202 is stored once, none in part, no build request ran
  to completion twice, no build is left unfinished, the master's log tells of no panic, and
  `PRAGMA integrity_check` answers ok.

Prints one JSON line with the counts and exits 1 on any violation. Bounded by --timeout; the
tmpfs is unmounted and the folders removed at the end, failed or not.
"""

import argparse
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from soaklib import Master, change, check, panics, reader, request, sqlite_rows, start_load, wait_idle, write_config


def fill(path):
    """Writes `path` until the file system has no byte left; the bytes written."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 20, 4096, 1):
            block = b"\0" * chunk
            while True:
                try:
                    n = os.write(fd, block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
                written += n
                if n < chunk:
                    break
    finally:
        os.close(fd)
    return written


READ = ["api/v1/changes?limit=20", "api/v1/builds?limit=20", "healthz"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--size-mb", type=int, default=32)
    ap.add_argument("--full", type=float, default=8.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--bound", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    mount = ["mount", "-t", "tmpfs", "-o", f"size={args.size_mb}m", "tmpfs"]
    if os.geteuid() != 0:
        print("disk_full mounts a tmpfs to fill, which needs root; run it as root, e.g. "
              "sudo CASCADE_BIN=$PWD/target/debug/cascade scripts/soak/run.sh disk_full", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    disk = tempfile.mkdtemp(prefix="cascade-soak-tmpfs-")
    rundir = tempfile.mkdtemp(prefix="cascade-soak-diskfull-")
    out = subprocess.run(mount + [disk], capture_output=True, text=True)
    if out.returncode != 0:
        os.rmdir(disk)
        print(f"cannot mount the tmpfs ({out.stderr.strip()}); disk_full needs: {' '.join(mount)} DIR",
              file=sys.stderr)
        return 1
    db_file = os.path.join(disk, "cascade.sqlite")
    filler = os.path.join(disk, "filler")
    master, stop, ok = None, None, False
    try:
        master = Master(os.path.abspath(args.bin), write_config(rundir, f"sqlite://{db_file}"), rundir)
        master.start()
        hooks, reads = [], []
        acknowledged, errors, stop, threads = start_load(master, args.clients, hooks, timeout=3 * args.bound)
        threads.append(threading.Thread(target=reader, args=(master, READ, stop, reads, 3 * args.bound), daemon=True))
        threads[-1].start()
        time.sleep(3.0)

        filled_at = time.monotonic()
        filler_bytes = fill(filler)
        # The database may still have room inside its files: the load goes on until a write is refused.
        while not any(a.status in (503, 507) and a.sent >= filled_at for a in list(hooks)):
            if time.monotonic() > filled_at + 60:
                raise RuntimeError("no write was refused within 60 s of the disk filling up")
            time.sleep(0.1)
        full_at = min(a.sent for a in list(hooks) if a.status in (503, 507) and a.sent >= filled_at)
        time.sleep(args.full)
        freed_at = time.monotonic()
        os.remove(filler)
        freed_epoch = int(time.time())

        # Recovered when a hook is stored again, the master untouched.
        probe, recovery = 0, None
        while recovery is None and time.monotonic() < min(freed_at + 60, deadline):
            probe += 1
            form = change("probe", probe)
            answer = request(f"{master.url}change_hook/base", form, timeout=3 * args.bound)
            if answer.status == 202:
                acknowledged.append((form["revision"], answer.body["change_ids"][0]))
                recovery = round(time.monotonic() - freed_at, 2)
            else:
                time.sleep(0.1)
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join(3 * args.bound + 5)
        alive = master.running()
        idle = wait_idle("sqlite", db_file, deadline)
        built_after = int(sqlite_rows(db_file, f"select count(*) from builds where finished_at >= {freed_epoch} "
                                               "and results = 0")[0][0])
        master.stop()
        result = check("sqlite", db_file, acknowledged)
        integrity = [r[0] for r in sqlite_rows(db_file, "pragma integrity_check")]

        is_read = lambda a: hasattr(a, "path")  # noqa: E731
        in_full = [a for a in hooks + reads if full_at <= a.sent < freed_at]
        full_hooks = [a for a in in_full if not is_read(a)]
        full_reads = [a for a in in_full if is_read(a)]
        refused = [a for a in full_hooks if a.status in (503, 507)]
        slow = [a for a in in_full if a.status is None or a.elapsed >= args.bound]
        wrong = [a for a in full_hooks if a.status not in (202, 503, 507)
                 or (a.status == 507 and a.error() != "storage_full")
                 or (a.status == 503 and a.retry_after is None)]
        wrong += [a for a in full_reads if a.status != 200]
        failed = [a for a in hooks + reads if a.status is None or a.status == 500]
        log = master.log()
        message = next((a.body.get("message") for a in refused if a.status == 507 and a.body), None)
        result.update(
            size_mb=args.size_mb, filler_mb=round(filler_bytes / (1 << 20), 1), clients=args.clients,
            master_starts=master.starts, master_alive=alive, idle=idle, refused=len(errors),
            hooks_sent=len(hooks), reads_sent=len(reads),
            refused_after_filling_s=round(full_at - filled_at, 2), full_s=round(freed_at - full_at, 2),
            while_full={"hooks": len(full_hooks), "answered_507": sum(1 for a in refused if a.status == 507),
                        "answered_503": sum(1 for a in refused if a.status == 503),
                        "answered_202": sum(1 for a in full_hooks if a.status == 202),
                        "max_refusal_s": round(max((a.elapsed for a in refused), default=0), 2),
                        "reads": len(full_reads), "reads_answered_200": sum(1 for a in full_reads if a.status == 200),
                        "max_read_s": round(max((a.elapsed for a in full_reads), default=0), 2),
                        "slow": len(slow), "wrong": len(wrong), "message": message},
            unanswered_or_500=len(failed), recovery_s=recovery, builds_finished_after_recovery=built_after,
            integrity_check=integrity[:3], panics=len(panics(log)),
        )
        ok = bool(alive and master.starts == 1 and idle and not errors and refused and not slow and not wrong
                  and not failed and recovery is not None and built_after > 0 and integrity == ["ok"]
                  and not panics(log) and result["lost"] == 0 and result["stored_twice"] == 0
                  and result["half_stored"] == 0 and result["requests_completed_twice"] == 0
                  and result["unfinished_builds"] == 0 and result["requests_left"] == 0)
        result["ok"] = ok
        print(json.dumps(result))
        for what, sample in (("refused", errors), ("slow", slow), ("wrong", wrong), ("unanswered or 500", failed)):
            if sample:
                print(what + ":", [a if isinstance(a, str) else (getattr(a, "path", "hook"), a.status,
                                                                  round(a.elapsed, 2), a.error())
                                   for a in sample[:5]], file=sys.stderr)
        return 0 if ok else 1
    finally:
        if stop:
            stop.set()
        if master:
            master.kill()
        subprocess.run(["umount", disk], check=False)
        if not os.path.ismount(disk):
            os.rmdir(disk)
        if not ok:
            print(f"the master's folder is kept for its log: {rundir}", file=sys.stderr)
        else:
            shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
