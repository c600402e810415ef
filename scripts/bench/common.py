"""Small helpers shared by the benchmark scripts (standard library only)."""

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request


def fail(message):
    """Prints `bench: message` to stderr and exits 1."""
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(1)


def split_url(url):
    """('127.0.0.1', 8010, '/prefix') from 'http://127.0.0.1:8010/prefix'."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        fail(f"not an http URL: {url}")
    return u.hostname, u.port or 80, u.path.rstrip("/")


class Client:
    """One keep-alive HTTP/1.1 connection to the master, reconnecting when it drops."""

    def __init__(self, base_url, timeout=10.0):
        self.host, self.port, self.prefix = split_url(base_url)
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """Returns (status, body bytes)."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, self.prefix + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self.close()
                return resp.status, data
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get_json(self, path):
        status, data = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {data[:300]!r}")
        return json.loads(data)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def rss_kb(pid, field="VmRSS"):
    """A memory field of /proc/PID/status in kB, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_until(probe, timeout, interval, what):
    """Calls probe() until it returns something truthy, which is returned; fails after timeout s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last = e
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def launch(binary, config, home, what="the master", timeout=60, under="", probe=True):
    """Starts `binary start --config CONFIG` in HOME through launch.py (behind the command
    `under`, when given) and returns its (pid, url without the trailing slash) once it listens
    and, with `probe`, serves; fails saying `what` did not start."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, os.path.join(here, "launch.py"), binary, config, home, "--timeout", str(timeout),
         "--under", under, *([] if probe else ["--no-probe"])],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        fail(f"{what} did not start: {out.stdout}{out.stderr}")
    pid, url, _ = out.stdout.split(" ", 2)
    return int(pid), url.rstrip("/")


def emit(obj):
    """Prints one compact JSON line (no spaces, so bash can `read` it as one word)."""
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def percentile(values, q):
    """The value at quantile q (0..1) of `values`, nearest rank; None when empty."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


class Arrivals:
    """Build number → the first moment (time.monotonic) something about it arrived."""

    def __init__(self):
        self.lock = threading.Lock()
        self.at = {}

    def add(self, number):
        with self.lock:
            self.at.setdefault(number, time.monotonic())

    def get(self, number):
        with self.lock:
            return self.at.get(number)

    def __len__(self):
        with self.lock:
            return len(self.at)


def watch_finished(url, arrivals, stop, opened=None):
    """Reads `url`'s /api/v1/events?type=build.finished until `stop` is set, adding each
    finished build's number to `arrivals` as it arrives; sets `opened` (a threading.Event)
    once the stream answered."""
    req = urllib.request.Request(f"{url}/api/v1/events?type=build.finished", headers={"Accept": "text/event-stream"})
    with urllib.request.urlopen(req, timeout=600) as r:
        if opened is not None:
            opened.set()
        data = ""
        for raw in r:
            if stop.is_set():
                return
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith("data:"):
                data += line[5:].strip()
            elif line == "" and data:
                try:
                    build = json.loads(data).get("build") or {}
                except ValueError:
                    build = {}
                data = ""
                if "number" in build:
                    arrivals.add(build["number"])
