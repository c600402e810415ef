"""What the soak drivers share: a master started from its binary and stopped by its PID, a
fresh PostgreSQL database on the local server, psql, a free loopback port, a process's
resident memory, and a wait with a deadline."""

import os
import signal
import socket
import subprocess
import threading
import time

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def psql(url, sql):
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


class Master:
    """A master run from `binary` with `config` in `rundir`; its standard error goes to
    master-N.err there, N counting its starts."""

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
