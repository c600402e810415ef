"""What the soak scenarios written in Python share: a master started from its binary in a
temporary folder and stopped by its PID, the configuration they give it (the base hook, a
scheduler that builds every change on `main`, an embedded worker), clients that post changes
as fast as the master answers, the counts read back from the database afterwards, a fresh
PostgreSQL database on the local server, a free loopback port, a process's resident memory
and a wait with a deadline. Standard library only.
"""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

RETRY = 5
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def psql(url, sql):
    """Runs `sql` with psql on `url`; the rows, each a list of strings."""
    out = subprocess.run(["psql", url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return [line.split("|") for line in out.stdout.splitlines() if line]


def create_database(prefix):
    """Creates a database named after `prefix` and this process on the local server;
    returns (name, url). Drop it with drop_database."""
    name = f"{prefix}_{os.getpid()}"
    psql(PG_ADMIN, f"create database {name}")
    return name, f"postgres://postgres@127.0.0.1:5432/{name}"


def drop_database(name):
    psql(PG_ADMIN, f"drop database if exists {name} with (force)")


def free_port():
    """A loopback port nothing listens on (taken, then freed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    """The resident memory of process `pid`, in MB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def wait_until(what, check, deadline, every=0.2):
    """Polls `check` until it returns something true, which it returns; raises once the
    monotonic `deadline` has passed."""
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def write_config(rundir, db_url):
    """Writes the scenarios' cascade.toml in `rundir`, on the database at `db_url`; its path."""
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
    return config


class Master:
    """The master's process: started on `config` in `rundir`, its standard error kept in
    master-N.err there (one file per start)."""

    def __init__(self, binary, config, rundir):
        self.binary, self.config, self.rundir = binary, config, rundir
        self.proc, self.url, self.starts = None, None, 0

    def start(self, timeout=60):
        self.starts += 1
        err = open(os.path.join(self.rundir, f"master-{self.starts}.err"), "wb")
        self.proc = subprocess.Popen(
            [self.binary, "start", "--config", self.config],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, cwd=self.rundir,
            start_new_session=True,
        )
        err.close()
        deadline = time.monotonic() + timeout
        for line in self.proc.stdout:
            text = line.decode(errors="replace")
            if "listening on " in text:
                self.url = text.split("listening on ", 1)[1].strip()
                # Keep reading its standard output so that it never blocks on a full pipe.
                threading.Thread(target=lambda out=self.proc.stdout: [None for _ in out], daemon=True).start()
                return
            if time.monotonic() > deadline:
                break
        self.kill()
        raise RuntimeError(f"the master did not start (see {self.rundir}/master-{self.starts}.err)")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self):
        """Every line the master wrote to its standard error, over all its starts."""
        lines = []
        for n in range(1, self.starts + 1):
            path = os.path.join(self.rundir, f"master-{n}.err")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    lines.extend(f.read().splitlines())
        return lines


class Answer:
    """One request's outcome: status (None when no answer came), seconds taken, the
    Retry-After header, the JSON body (or None) and when it was sent (monotonic)."""

    def __init__(self, sent, status, elapsed, retry_after=None, body=None):
        self.sent, self.status, self.elapsed, self.retry_after, self.body = sent, status, elapsed, retry_after, body

    def error(self):
        return self.body.get("error") if isinstance(self.body, dict) else None


def request(url, data=None, timeout=10):
    """Sends a GET (or a form POST when `data` is given) and returns its [`Answer`]; a
    request that gets no answer within `timeout` has status None."""
    sent = time.monotonic()
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    except OSError:
        return Answer(sent, None, time.monotonic() - sent)
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return Answer(sent, status, time.monotonic() - sent, headers.get("Retry-After"), parsed)


def reader(master, paths, stop, answers, timeout):
    """GETs `paths` in turn, one every 0.1 s, until told to stop, keeping every answer (each
    with its `path`)."""
    n = 0
    while not stop.is_set():
        path = paths[n % len(paths)]
        n += 1
        answer = request(f"{master.url}{path}", timeout=timeout)
        answer.path = path
        answers.append(answer)
        time.sleep(0.1)


def change(client, n):
    """The form of change `n` of client `client`: its revision is unique to both."""
    return {"author": f"client{client} <c{client}@example.com>", "revision": f"c{client}-{n}", "branch": "main",
            "comments": f"change {n} of client {client}"}


def poster(master, client, acknowledged, stop, errors, answers=None, timeout=10):
    """Posts changes until told to stop; keeps the revisions answered 202 in `acknowledged`,
    the refusals other than 5xx in `errors` and, if given, every answer in `answers`."""
    n = 0
    while not stop.is_set():
        n += 1
        form = change(client, n)
        url = master.url
        if url is None:
            time.sleep(0.05)
            continue
        answer = request(f"{url}change_hook/base", form, timeout)
        if answers is not None:
            answers.append(answer)
        if answer.status == 202 and answer.body:
            acknowledged.append((form["revision"], answer.body["change_ids"][0]))
        elif answer.status is not None and 300 <= answer.status < 500:
            errors.append(f"{form['revision']}: {answer.status} {answer.body!r:.200}")
        elif answer.status is None or answer.status >= 500:
            time.sleep(0.05)  # the master is down, restarting or refusing writes: try again


def start_load(master, clients, answers=None, timeout=10):
    """Starts `clients` posting threads; returns (acknowledged, errors, stop, threads)."""
    acknowledged, errors, stop = [], [], threading.Event()
    threads = [threading.Thread(target=poster, args=(master, c, acknowledged, stop, errors, answers, timeout),
                                daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    return acknowledged, errors, stop, threads


def sqlite_rows(path, sql):
    con = sqlite3.connect(path, timeout=30)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def query(kind, where, sql):
    """Rows of `sql` on the SQLite file or PostgreSQL URL `where`, as tuples of strings or values."""
    if kind == "sqlite":
        return sqlite_rows(where, sql)
    return [tuple(r) for r in psql(where, sql)]


def wait_idle(kind, where, deadline):
    """Waits until every build request is complete; whether it happened before `deadline`."""
    while time.monotonic() < deadline:
        if int(query(kind, where, "select count(*) from buildrequests where complete = 0")[0][0]) == 0:
            return True
        time.sleep(0.5)
    return False


def check(kind, where, acknowledged):
    """The counts read back from the database: acknowledged changes stored, lost, stored
    twice; builds, retried, completed twice, unfinished; requests not complete; changes or
    buildsets stored without what their transaction also wrote."""
    queries = {
        "revisions": "select revision, count(*) from changes group by revision",
        "requests_completed_twice": f"select count(*) from (select buildrequest_id from builds where results is not null "
                                    f"and results <> {RETRY} group by buildrequest_id having count(*) > 1) t",
        "unfinished_builds": "select count(*) from builds where finished_at is null",
        "requests_left": "select count(*) from buildrequests where complete = 0",
        "retried_builds": f"select count(*) from builds where results = {RETRY}",
        "builds": "select count(*) from builds",
        # A change stored without the buildset its scheduler made for it, or a buildset
        # without its requests: a transaction kept in part.
        "half_stored": "select (select count(*) from changes c where not exists "
                       "(select 1 from buildset_changes bc where bc.change_id = c.id)) + "
                       "(select count(*) from buildsets s where not exists "
                       "(select 1 from buildrequests r where r.buildset_id = s.id))",
    }
    rows = {k: query(kind, where, q) for k, q in queries.items()}
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
        "half_stored": one("half_stored"),
    }


def panics(lines):
    """The master's log lines that tell of a panic."""
    return [line for line in lines if "panicked" in line]


def stop_process(proc, grace=10):
    """Ends `proc` (a Popen) by its PID: SIGTERM, then SIGKILL after `grace` seconds."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
