#!/usr/bin/env bash
# The mail, IRC and HTTP-push peers stopped for SOAK_PEERS_DOWN_SECONDS (default 180) while a
# change is built every two seconds, on SQLite and on a fresh PostgreSQL database of the local
# server: once they are back every finished build's message reaches each of them, once, in the
# order the builds finished, without waiting out a long backoff, and the master's memory stays
# bounded meanwhile (see ../peers_down.py).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
outage="${SOAK_PEERS_DOWN_SECONDS:-180}"
for db in sqlite postgres; do
  echo "peers_down on $db"
  /usr/bin/python3 "$here/peers_down.py" "$CASCADE_BIN" --db "$db" --outage "$outage" \
    --timeout "$(( outage * 3 + 600 ))"
done
