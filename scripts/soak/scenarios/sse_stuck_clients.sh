#!/usr/bin/env bash
# 1,000 event-stream clients of which 100 never read, while 80 events of 60 kB are published:
# every reading client gets every event, every stuck one is dropped with a log line, and the
# master's peak memory is reported (see ../sse_stuck_clients.py).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
ulimit -n 8192
/usr/bin/python3 "$here/sse_stuck_clients.py" "$CASCADE_BIN"
