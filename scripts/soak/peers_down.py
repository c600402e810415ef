"""The mail, IRC and HTTP-push peers down for minutes while builds go on; then back.

    peers_down.py BIN --db sqlite|postgres [--outage 180] [--interval 2] [--timeout 1200]

A master (SQLite, or a fresh database on the local PostgreSQL server, dropped afterwards)
with two builders, `app` and `lib`, each on an embedded worker of its own that runs one
build at a time, so each builder's builds finish in the order of their numbers. Every
change posted to the base hook builds both. Three reporters report every finished build:
mail (Debian's aiosmtpd, the backend tests' fixture; subject `BUILDER #NUMBER RESULT`), an
IRC bot in `#ci` of an ngircd, heard by a client of this script (`build #N of BUILDER is
complete: ...`) and an HTTP push to a receiver that records each body (its `build.builder`
and `build.number`).

1. Peers up: a few changes; every finished build's message reaches each peer and is marked
   sent (a peer stopped while a message is on its way, received but not yet answered, gets
   it again: the reporters deliver at least once, and this run is not about that).
2. The three peers are stopped by their PIDs (SIGTERM). For OUTAGE seconds a change is posted every
   INTERVAL seconds (until ten seconds before the end, so that every build has finished
   when the peers return), and the master's resident memory is sampled every second.
3. The peers start again on the same ports. Once every finished build's message has
   arrived at each peer, one more change is built and its messages awaited: a duplicate
   of anything earlier would have arrived before them (delivery is in order), so none is
   missed without waiting for an absence.

Checks, per peer: every finished build's message arrived (none lost), exactly once (none
duplicated), and in the order the builds finished. That order is the reporter's outbox
(`GET /api/v1/outbox`, by id), where each message is stored by the commit that finishes its
build; the run checks it against what it knows independently (each builder's builds finish
in the order of their numbers), then the arrivals against it: a message that arrives after
one stored later is out of order. At the end every message is marked sent.

Delivery after the return must not wait out a long backoff: it must be complete within
RETURN_SLACK seconds plus a pace per message. The pace is what each reporter promises: the
IRC bot sends a line pair (the notification and its PING) a second and reconnects after a
failed attempt within 60 s (`failed_delay`); mail and HTTP send as fast as the peer takes
them, and their senders look for a peer back every 5 s.

Memory: messages wait in the database, so the master's memory must not grow with the
number waiting. The peak of the last quarter of the outage may exceed the peak of its first
quarter (when the caches and the allocator have settled) by at most 25 % + 16 MB: a queue
held in memory grows with every build, and three quarters of the outage hold three times
the first quarter's builds. The growth per build between the two is reported as well.
A failed run keeps its folder (the master's and the peers' logs) and says where.

Prints one line per peer and one JSON line; exits 1 on any failure. Bounded by --timeout;
every process it starts is ended by its PID.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from soaklib import Master, create_database, drop_database, free_port, rss_mb, stop_process, wait_until

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMTP_FIXTURE = os.path.join(REPO, "backend", "tests", "fixtures", "smtp_server.py")
# Debian's aiosmtpd is seen by Debian's interpreter only.
PYTHON = "/usr/bin/python3"
NGIRCD = "/usr/sbin/ngircd"
BOT, LISTENER, CHANNEL = "cascade", "listener", "#ci"
BUILDERS = ("app", "lib")
RETURN_SLACK = 30
PACE = {"mail": 0.5, "irc": 1.5, "http": 0.5}
REPORTERS = {"mail": "mail", "irc": "irc", "http": "http_push"}
IRC_RECONNECT = 60
RSS_FACTOR, RSS_MARGIN_MB = 1.25, 16


class Peers:
    """The mail server, the IRC server and its listening client, and the HTTP receiver."""

    def __init__(self, rundir, lifetime):
        self.rundir, self.lifetime = rundir, lifetime
        self.smtp_port, self.irc_port, self.http_port = free_port(), free_port(), free_port()
        self.smtp = self.ngircd = self.http = None
        self.smtp_runs = 0
        self.http_file = os.path.join(rundir, "http.jsonl")
        self.irc_config = os.path.join(rundir, "ngircd.conf")
        with open(self.irc_config, "w") as f:
            f.write(f"""[Global]
Name = irc.cascade.test
Info = Cascade soak server
AdminInfo1 = soak
AdminInfo2 = soak
AdminEMail = soak@example.org
Listen = 127.0.0.1
Ports = {self.irc_port}
MotdPhrase = "soak server"
[Limits]
MaxNickLength = 30
MaxConnectionsIP = 0
MaxJoins = 0
[Options]
PAM = no
Ident = no
DNS = no
""")
        check = subprocess.run([NGIRCD, "--configtest", "--config", self.irc_config], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"ngircd --configtest: {check.stderr}")
        self.listener = IrcListener(self.irc_port)

    def start(self, deadline):
        self.smtp_runs += 1
        mails = os.path.join(self.rundir, f"mails-{self.smtp_runs}")
        os.mkdir(mails)
        self.smtp = self._spawn("smtp", [PYTHON, SMTP_FIXTURE, "--port", str(self.smtp_port), "--dir", mails,
                                         "--lifetime", str(self.lifetime)])
        self.http = self._spawn("http", [PYTHON, os.path.join(os.path.dirname(__file__), "http_receiver.py"),
                                         "--port", str(self.http_port), "--out", self.http_file,
                                         "--lifetime", str(self.lifetime)])
        self.ngircd = self._spawn("ngircd", [NGIRCD, "--config", self.irc_config, "--nodaemon"])
        for port in (self.smtp_port, self.irc_port, self.http_port):
            wait_until(f"a peer on port {port}", lambda p=port: listens(p), deadline, every=0.02)
        wait_until("the IRC listener in the channel", self.listener.joined.is_set, deadline, every=0.02)

    def _spawn(self, name, argv):
        log = open(os.path.join(self.rundir, f"{name}.log"), "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.rundir)
        log.close()
        return proc

    def stop(self):
        for proc in (self.smtp, self.ngircd, self.http):
            stop_process(proc)

    def mail(self):
        """(builder, number) of each mail received, in order of arrival."""
        got = []
        for run in range(1, self.smtp_runs + 1):
            folder = os.path.join(self.rundir, f"mails-{run}")
            for name in sorted(f for f in os.listdir(folder) if f.endswith(".json")):
                with open(os.path.join(folder, name)) as f:
                    got.append(parse_subject(json.load(f)["subject"]))
        return got

    def http_received(self):
        got = []
        if os.path.exists(self.http_file):
            with open(self.http_file) as f:
                for line in f:
                    if line.endswith("\n"):
                        build = json.loads(line).get("build", {})
                        got.append((build.get("builder"), build.get("number")))
        return got

    def irc(self):
        return [parse_irc(text) for text in self.listener.heard()]


def listens(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def parse_subject(subject):
    m = re.match(r"(\S+) #(\d+) ", subject)
    return (m.group(1), int(m.group(2))) if m else ("?", subject)


def parse_irc(text):
    m = re.match(r"build #(\d+) of (\S+) is complete", text)
    return (m.group(2), int(m.group(1))) if m else ("?", text)


class IrcListener(threading.Thread):
    """A client in CHANNEL that keeps what the bot says there, in order, and connects again
    whenever its server is back. It notes when the bot was in the channel before it: what
    the bot said then was lost to it, not to the channel."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.lines, self.lock = [], threading.Lock()
        self.joined, self.done = threading.Event(), threading.Event()
        self.bot_first = 0

    def heard(self):
        with self.lock:
            return list(self.lines)

    def run(self):
        while not self.done.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
            except OSError:
                time.sleep(0.02)
                continue
            try:
                self.session(sock)
            except OSError:
                pass
            finally:
                self.joined.clear()
                sock.close()

    def session(self, sock):
        sock.settimeout(0.5)
        sock.sendall(f"NICK {LISTENER}\r\nUSER {LISTENER} 0 * :soak\r\n".encode())
        buf = b""
        while not self.done.is_set():
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                return
            buf += data
            while b"\r\n" in buf:
                raw, buf = buf.split(b"\r\n", 1)
                self.handle(sock, raw.decode(errors="replace"))

    def handle(self, sock, raw):
        prefix = ""
        if raw.startswith(":"):
            prefix, _, raw = raw[1:].partition(" ")
        head, _, trailing = raw.partition(" :")
        words = head.split()
        if not words:
            return
        command, params = words[0], words[1:] + ([trailing] if trailing else [])
        sender = prefix.split("!", 1)[0]
        if command == "PING":
            sock.sendall(f"PONG :{params[-1] if params else ''}\r\n".encode())
        elif command == "001":
            sock.sendall(f"JOIN {CHANNEL}\r\n".encode())
        elif command == "353":
            if BOT in [n.lstrip("@+") for n in params[-1].split()]:
                self.bot_first += 1
        elif command == "366":
            self.joined.set()
        elif command in ("PRIVMSG", "NOTICE") and sender == BOT and params[:1] == [CHANNEL]:
            with self.lock:
                self.lines.append(params[-1])


def config_text(rundir, db_url, peers):
    workers = "".join(f"""[[workers]]
name = "w-{b}"
embedded = true
max_builds = 1
[[builders]]
name = "{b}"
workers = ["w-{b}"]
steps = [ {{ name = "one", command = "true" }}, {{ name = "two", command = "echo built" }} ]
""" for b in BUILDERS)
    return f"""title = "soak"
[db]
url = "{db_url}"
[web]
listen = ["127.0.0.1:0"]
[authz]
manage_outbox = true
[change_hook]
dialects = {{ base = {{}} }}
{workers}[[schedulers]]
name = "main"
kind = "single_branch"
branch = "main"
builders = {json.dumps(list(BUILDERS))}
[[reporters]]
kind = "mail"
from = "ci@example.org"
send_to_interested_users = false
extra_recipients = ["team@example.org"]
mode = "all"
subject = "{{{{ builder }}}} #{{{{ number }}}} {{{{ result }}}}"
relay_host = "127.0.0.1"
smtp_port = {peers.smtp_port}
[[reporters]]
kind = "irc"
host = "127.0.0.1"
port = {peers.irc_port}
nick = "{BOT}"
channels = ["{CHANNEL}"]
notify_events = ["finished"]
use_colors = false
[[reporters]]
kind = "http_push"
server_url = "http://127.0.0.1:{peers.http_port}/push"
events = ["finished"]
"""


def post_change(master, n):
    body = urllib.parse.urlencode({"author": "soak <soak@example.org>", "revision": f"r{n}", "branch": "main",
                                   "comments": f"change {n}"}).encode()
    req = urllib.request.Request(f"{master.url}change_hook/base", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status != 202:
            raise RuntimeError(f"the hook answered {resp.status}")


def all_builds(master):
    """Every build the master lists, page after page."""
    offset = 0
    while True:
        with urllib.request.urlopen(f"{master.url}api/v1/builds?limit=1000&offset={offset}", timeout=30) as r:
            page = json.loads(r.read())
        yield from page["builds"]
        if page.get("next_offset") is None:
            return
        offset = page["next_offset"]


def finished_builds(master):
    """Every finished build as {(builder, number): finished_at}."""
    return {(b["builder"], b["number"]): b["finished_at"] for b in all_builds(master)
            if b.get("complete") and b.get("finished_at") is not None}


def wait_built(master, changes, deadline):
    """Waits until both builders have built every change posted."""
    def built():
        builds = finished_builds(master)
        return builds if len(builds) >= changes * len(BUILDERS) else None
    return wait_until(f"{changes * len(BUILDERS)} finished builds", built, deadline, every=0.5)


def build_ids(master):
    """Every build's id as {id: (builder, number)}."""
    return {b["id"]: (b["builder"], b["number"]) for b in all_builds(master)}


def outbox(master, reporter):
    """The reporter's messages, oldest first, as (build, state): the order they are to
    leave in, which is that of the commits that finished the builds."""
    ids, rows, offset = build_ids(master), [], 0
    while True:
        url = f"{master.url}api/v1/outbox?reporter={reporter}&limit=1000&offset={offset}"
        with urllib.request.urlopen(url, timeout=30) as r:
            page = json.loads(r.read())["messages"]
        rows += page
        if len(page) < 1000:
            break
        offset += len(page)
    rows.sort(key=lambda m: m["id"])
    return [(ids.get(int(re.match(r"build:(\d+)", m["key"]).group(1))), m["state"]) for m in rows]


def wait_all_sent(master, deadline):
    for reporter in REPORTERS.values():
        wait_until(f"every {reporter} message marked sent",
                   lambda r=reporter: all(state == "sent" for _, state in outbox(master, r)), deadline)


def judge(received, builds, queued):
    """Lost, duplicated and out-of-order counts of `received` (builds in order of arrival)
    against the finished `builds` and the reporter's outbox `queued`."""
    order = {build: i for i, (build, _) in enumerate(queued)}
    seen, duplicated, out_of_order, furthest = set(), [], 0, -1
    for i, key in enumerate(received):
        if key in seen:
            duplicated.append((i, key))
            continue
        seen.add(key)
        at = order.get(key, -1)
        out_of_order += at < furthest
        furthest = max(furthest, at)
    # The outbox's own order: each builder's builds by number.
    queue_out_of_order, last = 0, {}
    for (builder, number), _ in queued:
        queue_out_of_order += number < last.get(builder, -1)
        last[builder] = max(last.get(builder, -1), number)
    lost = [k for k in builds if k not in seen]
    return {"lost": len(lost), "lost_sample": sorted(lost)[:5], "duplicated": len(duplicated),
            "duplicated_sample": duplicated[:5],
            "out_of_order": out_of_order, "queued_out_of_order": queue_out_of_order,
            "unexpected": len([k for k in seen if k not in builds]),
            "not_sent": len([1 for _, state in queued if state != "sent"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--outage", type=float, default=180)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--timeout", type=float, default=1200)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    rundir = tempfile.mkdtemp(prefix="cascade-soak-peers-")
    pg_name = None
    peers = master = None
    failures = []
    try:
        if args.db == "sqlite":
            db_url = f"sqlite://{rundir}/cascade.sqlite"
        else:
            pg_name, db_url = create_database("cascade_soak_peers")
        peers = Peers(rundir, args.timeout)
        peers.listener.start()
        config = os.path.join(rundir, "cascade.toml")
        with open(config, "w") as f:
            f.write(config_text(rundir, db_url, peers))
        peers.start(deadline)
        master = Master(os.path.abspath(args.bin), config, rundir)
        master.start()
        reads = {"mail": peers.mail, "irc": peers.irc, "http": peers.http_received}

        # 1. Peers up.
        changes = 0
        for _ in range(3):
            changes += 1
            post_change(master, changes)
        builds = wait_built(master, changes, deadline)
        for name, read in reads.items():
            wait_until(f"the first messages at the {name} peer", lambda r=read: len(r()) >= len(builds), deadline)
        # Stopped while a message is on its way (a peer has it, its answer is not back), a
        # peer would get it again, as the reporters deliver at least once: stop the peers
        # when every message is marked sent.
        wait_all_sent(master, deadline)
        baseline = {name: judge(read(), builds, outbox(master, REPORTERS[name])) for name, read in reads.items()}
        before = len(builds)

        # 2. Peers down.
        peers.stop()
        down_at = time.monotonic()
        wait_until("the IRC listener to notice", lambda: not peers.listener.joined.is_set(), deadline)
        samples = []  # (seconds into the outage, RSS MB)
        stop_posting = down_at + max(args.outage - 10, args.outage / 2)
        next_change = down_at
        while time.monotonic() < down_at + args.outage:
            now = time.monotonic()
            if now >= next_change and now < stop_posting:
                changes += 1
                post_change(master, changes)
                next_change += args.interval
            if not samples or now - down_at - samples[-1][0] >= 1.0:
                samples.append((now - down_at, rss_mb(master.proc.pid)))
            if master.proc.poll() is not None:
                raise RuntimeError("the master exited during the outage")
            time.sleep(0.05)
        builds = wait_built(master, changes, deadline)
        outage_builds = len(builds) - before
        samples.append((time.monotonic() - down_at, rss_mb(master.proc.pid)))
        outage = time.monotonic() - down_at

        # 3. Peers back.
        peers.start(deadline)
        back_at = time.monotonic()
        limits = {name: RETURN_SLACK + (IRC_RECONNECT if name == "irc" else 0) + PACE[name] * outage_builds
                  for name in reads}
        # Twice the longest limit: a delivery that takes longer is reported as such, not as lost.
        back_deadline = min(deadline, back_at + 2 * max(limits.values()))
        done_at = {}
        while len(done_at) < len(reads):
            for name, read in reads.items():
                if name not in done_at and set(builds) <= set(read()):
                    done_at[name] = time.monotonic() - back_at
            if time.monotonic() > back_deadline:
                missing = [n for n in reads if n not in done_at]
                failures.append(f"delivery not complete {back_deadline - back_at:.0f} s after the return: {missing}")
                break
            time.sleep(0.1)
        if not failures:
            # The last change: its messages close the record (see the header).
            changes += 1
            post_change(master, changes)
            builds = wait_built(master, changes, deadline)
            for name, read in reads.items():
                wait_until(f"the last messages at the {name} peer",
                           lambda r=read: all(k in set(r()) for k in builds), deadline)
            wait_all_sent(master, deadline)

        quarter = outage / 4
        first = [m for t, m in samples if t <= quarter] or [samples[0][1]]
        last = [m for t, m in samples if t >= outage - quarter] or [samples[-1][1]]
        peak = max(m for _, m in samples)
        bound = max(first) * RSS_FACTOR + RSS_MARGIN_MB
        per_build_kb = (max(last) - max(first)) * 1024 / max(outage_builds * 3 / 4, 1)
        if max(last) > bound:
            failures.append(f"memory grew: {max(last):.1f} MB at the end against {max(first):.1f} MB "
                            f"after the first quarter (bound {bound:.1f} MB)")
        if peers.listener.bot_first:
            failures.append("the bot was in the channel before the listener: the record is incomplete "
                            "(a race of this script, not a product failure)")

        result = {"db": args.db, "outage_s": round(outage, 1), "builds": len(builds),
                  "builds_during_outage": outage_builds, "peak_rss_mb": round(peak, 1),
                  "rss_first_quarter_mb": round(max(first), 1), "rss_last_quarter_mb": round(max(last), 1),
                  "rss_growth_per_build_kb": round(per_build_kb, 1), "peers": {}}
        for name, read in reads.items():
            verdict = judge(read(), builds, outbox(master, REPORTERS[name]))
            verdict["delivered"] = len(read())
            verdict["return_to_last_delivery_s"] = round(done_at.get(name, float("nan")), 1)
            limit = limits[name]
            verdict["return_limit_s"] = round(limit, 1)
            result["peers"][name] = verdict
            bad = {k: verdict[k] for k in ("lost", "duplicated", "out_of_order", "queued_out_of_order", "unexpected",
                                           "not_sent") if verdict[k]}
            if bad:
                failures.append(f"{name}: {bad} (lost: {verdict['lost_sample']}, "
                                f"duplicated (arrival, build): {verdict['duplicated_sample']})")
            if any(baseline[name][k] for k in ("lost", "duplicated", "out_of_order", "unexpected")):
                failures.append(f"{name} before the outage: {baseline[name]}")
            if name in done_at and done_at[name] > limit:
                failures.append(f"{name}: delivery took {done_at[name]:.1f} s after the return (limit {limit:.0f} s)")
            print(f"peers_down {args.db} {name}: builds finished {len(builds)}, delivered {verdict['delivered']}, "
                  f"lost {verdict['lost']}, duplicated {verdict['duplicated']}, out of order {verdict['out_of_order']}, "
                  f"peak RSS {peak:.1f} MB, outage {outage:.0f} s, "
                  f"return to last delivery {verdict['return_to_last_delivery_s']} s")
        result["failures"] = failures
        result["ok"] = not failures
        print(json.dumps(result))
        for f in failures:
            print("FAILED:", f, file=sys.stderr)
        if failures:
            print(f"logs kept in {rundir}", file=sys.stderr)
            rundir = None
        return 0 if not failures else 1
    except (OSError, RuntimeError, ValueError) as e:
        # The folder stays, with the master's and the peers' logs.
        print(f"peers_down {args.db}: {e} (logs kept in {rundir})", file=sys.stderr)
        rundir = None
        return 1
    finally:
        if peers:
            peers.listener.done.set()
        if master:
            master.stop()
        if peers:
            peers.stop()
        if pg_name:
            drop_database(pg_name)
        if rundir:
            shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
