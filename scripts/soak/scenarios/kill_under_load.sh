#!/usr/bin/env bash
# The master killed with SIGKILL five times while hooks arrive from eight clients, on SQLite and
# on a fresh PostgreSQL database of the local server: afterwards every change answered 202 is
# stored once, no build request ran to completion twice, and no build is left unfinished
# (see ../kill_under_load.py; SOAK_KILLS overrides the number of kills).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
for db in sqlite postgres; do
  echo "kill_under_load on $db"
  /usr/bin/python3 "$here/kill_under_load.py" "$CASCADE_BIN" --db "$db" --kills "${SOAK_KILLS:-5}" --timeout 600
done
