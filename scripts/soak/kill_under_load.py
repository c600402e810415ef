"""Kills the master with SIGKILL while change hooks arrive at full rate, and checks what survived.

    kill_under_load.py BIN --db sqlite|postgres [--kills 5] [--clients 8] [--timeout 600]

A master with the base hook, a scheduler that builds every change on `main` and an embedded
worker is started in a temporary folder (on SQLite, or on a fresh PostgreSQL database on the
local server, dropped afterwards). CLIENTS threads post changes, each with a revision of its
own, as fast as the master answers. The master is killed with SIGKILL KILLS times, a second or
three after each start, and started again on the same database. Then the load stops, the
builds are let finish, and the database is read:

- every change answered 202 is stored (none lost), and nothing was stored twice;
- every build request ran to completion exactly once (a build cut short by a kill ends
  `retry`, and its request runs again);
- no build is left unfinished.

Prints one JSON line with the counts and exits 1 if anything is lost, duplicated or left over.
Bounded by --timeout; every process it starts is ended by its PID.
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time

from soaklib import Master, check, create_database, drop_database, start_load, wait_idle, write_config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    rundir = tempfile.mkdtemp(prefix="cascade-soak-kill-")
    pg_name = None
    if args.db == "sqlite":
        db_url = f"sqlite://{rundir}/cascade.sqlite"
    else:
        pg_name, db_url = create_database("cascade_soak")
    config = write_config(rundir, db_url)
    master = Master(os.path.abspath(args.bin), config, rundir)
    stop = None
    where = os.path.join(rundir, "cascade.sqlite") if args.db == "sqlite" else db_url
    try:
        master.start()
        acknowledged, errors, stop, threads = start_load(master, args.clients)
        for _ in range(args.kills):
            time.sleep(random.uniform(1.0, 3.0))
            master.kill()
            master.start()
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(15)
        idle = wait_idle(args.db, where, deadline)
        master.stop()
        result = check(args.db, where, acknowledged)
        result.update(db=args.db, kills=args.kills, clients=args.clients, idle=idle, refused=len(errors))
        ok = idle and not errors and result["lost"] == 0 and result["stored_twice"] == 0 \
            and result["requests_completed_twice"] == 0 and result["unfinished_builds"] == 0 \
            and result["requests_left"] == 0
        result["ok"] = ok
        print(json.dumps(result))
        if errors:
            print("refused:", errors[:5], file=sys.stderr)
        return 0 if ok else 1
    finally:
        if stop:
            stop.set()
        master.kill()
        if pg_name:
            drop_database(pg_name)
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
