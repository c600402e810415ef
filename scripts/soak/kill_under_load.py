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
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from soaklib import Master, create_database, drop_database, psql

RETRY = 5


def poster(master, client, acknowledged, stop, errors):
    """Posts changes until told to stop; keeps the revisions answered 202."""
    n = 0
    while not stop.is_set():
        n += 1
        revision = f"c{client}-{n}"
        body = urllib.parse.urlencode(
            {"author": f"client{client} <c{client}@example.com>", "revision": revision, "branch": "main",
             "comments": f"change {n} of client {client}"}).encode()
        try:
            url = master.url
            req = urllib.request.Request(f"{url}change_hook/base", data=body, method="POST")
            with urllib.request.urlopen(req, timeout=10) as resp:
                if resp.status == 202:
                    ids = json.loads(resp.read())["change_ids"]
                    acknowledged.append((revision, ids[0]))
        except urllib.error.HTTPError as e:
            if e.code < 500:
                errors.append(f"{revision}: {e.code} {e.read()[:200]!r}")
        except (OSError, TypeError):
            time.sleep(0.05)  # the master is down or restarting: try again


def requests_left(kind, db_url, rundir):
    sql = "select count(*) from buildrequests where complete = 0"
    if kind == "sqlite":
        con = sqlite3.connect(os.path.join(rundir, "cascade.sqlite"), timeout=30)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    return int(psql(db_url, sql)[0][0])


def wait_idle(kind, db_url, rundir, deadline):
    """Waits until every build request is complete."""
    while time.monotonic() < deadline:
        if requests_left(kind, db_url, rundir) == 0:
            return True
        time.sleep(0.5)
    return False


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
    config = os.path.join(rundir, "cascade.toml")
    with open(config, "w") as f:
        f.write(f"""title = "soak"
[db]
url = "{db_url}"
[web]
listen = ["127.0.0.1:0"]
[change_hook]
dialects = {{ base = {{}} }}
[[workers]]
name = "local"
embedded = true
max_builds = 4
[[builders]]
name = "app"
workers = ["local"]
steps = [ {{ name = "one", command = "true" }}, {{ name = "two", command = "echo built" }} ]
[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = ["app"]
""")
    master = Master(os.path.abspath(args.bin), config, rundir)
    acknowledged, errors, stop = [], [], threading.Event()
    try:
        master.start()
        threads = [threading.Thread(target=poster, args=(master, c, acknowledged, stop, errors), daemon=True)
                   for c in range(args.clients)]
        for t in threads:
            t.start()
        for _ in range(args.kills):
            time.sleep(random.uniform(1.0, 3.0))
            master.kill()
            master.start()
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(15)
        idle = wait_idle(args.db, db_url, rundir, deadline)
        master.stop()
        result = check(args.db, db_url, rundir, acknowledged)
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
        stop.set()
        master.kill()
        if pg_name:
            drop_database(pg_name)
        shutil.rmtree(rundir, ignore_errors=True)


def check(kind, db_url, rundir, acknowledged):
    queries = {
        "revisions": "select revision, count(*) from changes group by revision",
        "requests_completed_twice": f"select count(*) from (select buildrequest_id from builds where results is not null "
                                    f"and results <> {RETRY} group by buildrequest_id having count(*) > 1) t",
        "unfinished_builds": "select count(*) from builds where finished_at is null",
        "requests_left": "select count(*) from buildrequests where complete = 0",
        "retried_builds": f"select count(*) from builds where results = {RETRY}",
        "builds": "select count(*) from builds",
    }
    if kind == "sqlite":
        con = sqlite3.connect(os.path.join(rundir, "cascade.sqlite"))
        rows = {k: con.execute(q).fetchall() for k, q in queries.items()}
        con.close()
    else:
        rows = {k: [tuple(r) for r in psql(db_url, q)] for k, q in queries.items()}
    stored = {r[0]: int(r[1]) for r in rows["revisions"]}
    lost = [rev for rev, _ in acknowledged if rev not in stored]
    one = lambda k: int(rows[k][0][0])  # noqa: E731
    return {
        "acknowledged": len(acknowledged),
        "stored": sum(stored.values()),
        "lost": len(lost),
        "lost_sample": lost[:5],
        "stored_twice": sum(1 for n in stored.values() if n > 1),
        "builds": one("builds"),
        "retried_builds": one("retried_builds"),
        "requests_completed_twice": one("requests_completed_twice"),
        "unfinished_builds": one("unfinished_builds"),
        "requests_left": one("requests_left"),
    }


if __name__ == "__main__":
    sys.exit(main())
