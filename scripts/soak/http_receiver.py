"""An HTTP server for the soak runs that records what is POSTed to it.

    http_receiver.py --port PORT --out FILE [--lifetime 900]

Listens on 127.0.0.1:PORT, answers every POST 200 and appends its body to FILE as one line
of JSON, in the order the requests arrived (flushed before the answer, so a body answered
200 is on file). Prints "ready PORT" once it listens; exits after --lifetime seconds or as
soon as its parent dies.
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lifetime", type=float, default=900)
    args = ap.parse_args()
    parent = os.getppid()
    out = open(args.out, "a")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                record = json.loads(body)
            except ValueError:
                record = {"unreadable": body.decode(errors="replace")}
            with lock:
                out.write(json.dumps(record) + "\n")
                out.flush()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"ready {args.port}", flush=True)
    end = time.monotonic() + args.lifetime
    while time.monotonic() < end and os.getppid() == parent:
        time.sleep(0.2)
    server.shutdown()


if __name__ == "__main__":
    main()
    sys.exit(0)
