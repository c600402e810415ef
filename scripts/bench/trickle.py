"""Posts changes to a master's base change hook at a steady rate, so that the pages are
rebuilt as on a busy master (every change is an event, and an event retires the cached
pages). The branch is one no scheduler of the benchmark config watches: nothing is built.

    trickle.py URL RATE SECONDS

Prints {"posted": N, "failed": M} when done; stops by itself after SECONDS.
"""

import json
import sys
import time
import urllib.parse
import urllib.request


def main():
    url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    posted = failed = 0
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        n += 1
        body = urllib.parse.urlencode({
            "author": "Trickle <trickle@example.org>",
            "branch": "bench-trickle",
            "revision": f"{n:040x}",
            "comments": f"trickle change {n} for #{n % 1000}",
            "project": "p01",
        }).encode()
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/change_hook/base", body, timeout=5) as r:
                posted += r.status == 202
        except OSError:
            failed += 1
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"posted": posted, "failed": failed}))


if __name__ == "__main__":
    main()
