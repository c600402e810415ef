"""P13: how long a finished build takes to reach the mail server, the IRC channel and an HTTP
push receiver.

    reporters.py BIN RUNDIR [--builds N] [--gap S] [--timeout S]

Starts an SMTP server (aiosmtpd, in this process: Debian's python3-aiosmtpd under
/usr/bin/python3) and an IRC server (ngircd on a free loopback port) with a client sitting in
its channel, then a master on RUNDIR with a one-step builder, a `mail` reporter (mode all)
an `irc` reporter notifying the channel of finished builds and an `http_push` reporter posting
them to a receiver in this process. It forces N builds one after
the other, --gap seconds apart (default 2: the bot paces its lines under IRC servers' flood
limits, 2 a second after a burst of 5, so builds finishing faster than one a second queue
their notifications behind each other; --gap 0 shows that), and for each takes the moment
its `build.finished` event reaches a client of the master's event stream, the moment the
SMTP server has its mail, the moment the IRC client reads its notification and the moment the
receiver has the POST. Prints one JSON line: builds, and for mail, irc and http the latencies
(mail_p50_ms, mail_p99_ms, mail_max_ms, irc_..., http_...) and how many arrived
(mail_arrived, ...). Everything binds 127.0.0.1;
the master (SIGTERM) and ngircd are stopped at the end, also on failure.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Arrivals, Client, emit, fail, launch, percentile, watch_finished  # noqa: E402

try:
    from aiosmtpd.controller import Controller
except ImportError:
    fail("aiosmtpd is missing (Debian: apt-get install -y python3-aiosmtpd; run under /usr/bin/python3)")

CHANNEL = "#bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailHandler:
    def __init__(self, arrivals):
        self.arrivals = arrivals

    async def handle_DATA(self, server, session, envelope):
        text = envelope.content.decode("utf-8", "replace")
        m = re.search(r"^Subject: bench #(\d+)", text, re.M)
        if m:
            self.arrivals.add(int(m.group(1)))
        return "250 OK"


def start_receiver(arrivals):
    """An HTTP server on a free loopback port recording each pushed build.finished."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                data = json.loads(body)
            except ValueError:
                data = {}
            for ev in data.get("events", [data]):
                build = ev.get("build") or {}
                if ev.get("event") == "build.finished" and "number" in build:
                    arrivals.add(build["number"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_ngircd(rundir, port):
    conf = os.path.join(rundir, "ngircd.conf")
    with open(conf, "w") as f:
        f.write(
            f"""[Global]
Name = irc.bench.test
Info = Cascade bench
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = "bench"
PidFile = {rundir}/ngircd.pid
[Limits]
MaxNickLength = 30
MaxConnectionsIP = 0
[Options]
DNS = no
Ident = no
PAM = no
[Channel]
Name = {CHANNEL}
Modes = +n
"""
        )
    ngircd = shutil.which("ngircd") or "/usr/sbin/ngircd"
    if not os.path.exists(ngircd):
        fail("ngircd is missing (Debian: apt-get install -y ngircd)")
    log = open(os.path.join(rundir, "ngircd.log"), "wb")
    return subprocess.Popen([ngircd, "--config", conf, "--nodaemon"], stdout=log, stderr=log, start_new_session=True)


def irc_watch(port, arrivals, joined, bot_joined, stop):
    """Joins the channel as `watcher` and records `build #N of ... is complete` lines."""
    deadline = time.monotonic() + 20
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
    sock.sendall(b"NICK watcher\r\nUSER watcher 0 * :bench watcher\r\n")
    sock.settimeout(0.5)
    buf = b""
    complete = re.compile(rb"build #(\d+) of \S+ is complete")
    while not stop.is_set():
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return
        if not data:
            return
        buf += data
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            if line.startswith(b"PING"):
                sock.sendall(b"PONG" + line[4:] + b"\r\n")
            elif b" 001 " in line:
                sock.sendall(f"JOIN {CHANNEL}\r\n".encode())
            elif b" JOIN " in line and line.startswith(b":watcher!"):
                joined.set()
            elif b" JOIN " in line and line.startswith(b":cascade!"):
                bot_joined.set()
            elif b" PRIVMSG " in line or b" NOTICE " in line:
                m = complete.search(line)
                if m:
                    arrivals.add(int(m.group(1)))
    sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("rundir")
    ap.add_argument("--builds", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--gap", type=float, default=2.0,
                    help="seconds between one build's notifications arriving and the next force")
    args = ap.parse_args()
    rundir = os.path.abspath(args.rundir)
    os.makedirs(rundir, exist_ok=True)

    mails, ircs, pushes, finished = Arrivals(), Arrivals(), Arrivals(), Arrivals()
    stop = threading.Event()
    smtp_port, irc_port = free_port(), free_port()
    smtp = Controller(MailHandler(mails), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    ngircd = start_ngircd(rundir, irc_port)
    receiver = start_receiver(pushes)
    master_pid = None
    try:
        joined, bot_joined = threading.Event(), threading.Event()
        threading.Thread(target=irc_watch, args=(irc_port, ircs, joined, bot_joined, stop), daemon=True).start()
        if not joined.wait(20):
            fail("the IRC watcher could not join the channel (see ngircd.log)")
        with open(os.path.join(rundir, "cascade.toml"), "w") as f:
            f.write(
                f"""title = "P13"
[db]
url = "sqlite://cascade.sqlite"
[web]
listen = ["127.0.0.1:0"]
[authz]
force_build = true
[[workers]]
name = "local"
embedded = true
[[builders]]
name = "quick"
workers = ["local"]
steps = [ {{ name = "true", command = ["true"] }} ]
[[schedulers]]
name = "force"
kind = "force"
builders = ["quick"]
[[reporters]]
kind = "mail"
from = "ci@bench.test"
extra_recipients = ["team@bench.test"]
mode = "all"
subject = "bench #{{{{ number }}}} {{{{ result }}}}"
relay_host = "127.0.0.1"
smtp_port = {smtp_port}
[[reporters]]
kind = "irc"
host = "127.0.0.1"
port = {irc_port}
nick = "cascade"
channels = ["{CHANNEL}"]
notify_events = ["finished"]
use_colors = false
[[reporters]]
kind = "http_push"
server_url = "http://127.0.0.1:{receiver.server_address[1]}/hook"
events = ["finished"]
"""
            )
        master_pid, url = launch(args.bin, os.path.join(rundir, "cascade.toml"), rundir)
        threading.Thread(target=watch_finished, args=(url, finished, stop), daemon=True).start()
        c = Client(url)
        # Builds start once the bot is in the channel and its login lines are paced out, as on
        # a master that has been up for a while.
        if not bot_joined.wait(30):
            fail("the bot did not join the channel (see master.err)")
        time.sleep(args.gap)
        deadline = time.monotonic() + args.timeout
        for n in range(1, args.builds + 1):
            status, data = c.request("POST", "/api/v1/builders/quick/force", b"{}", {"Content-Type": "application/json"})
            if status != 202:
                fail(f"force answered {status}: {data[:300]!r}")
            while not (mails.get(n) and ircs.get(n) and pushes.get(n) and finished.get(n)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            time.sleep(args.gap)
        mail_ms, irc_ms, http_ms = [], [], []
        for n in range(1, args.builds + 1):
            f = finished.get(n)
            if f is None:
                continue
            for arrivals, into in ((mails, mail_ms), (ircs, irc_ms), (pushes, http_ms)):
                a = arrivals.get(n)
                if a is not None:
                    into.append(max(0.0, (a - f) * 1000))

        figures = {"builds": args.builds}
        for name, values in (("mail", mail_ms), ("irc", irc_ms), ("http", http_ms)):
            figures[f"{name}_arrived"] = len(values)
            figures[f"{name}_p50_ms"] = round(percentile(values, 0.5), 1) if values else None
            figures[f"{name}_p99_ms"] = round(percentile(values, 0.99), 1) if values else None
            figures[f"{name}_max_ms"] = round(max(values), 1) if values else None
        emit(figures)
    finally:
        stop.set()
        if master_pid:
            try:
                os.kill(master_pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(master_pid, 0)
                    time.sleep(0.1)
                os.kill(master_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        ngircd.terminate()
        try:
            ngircd.wait(5)
        except subprocess.TimeoutExpired:
            ngircd.kill()
        smtp.stop()
        receiver.shutdown()


if __name__ == "__main__":
    main()
