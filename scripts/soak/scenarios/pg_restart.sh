#!/usr/bin/env bash
# The master's PostgreSQL server (a cluster of the scenario's own, made with initdb in a
# temporary folder) stopped and started three times under hook load from six clients: during
# each outage requests answer 503 with Retry-After within 5 s, the master recovers by itself,
# and every change answered 202 is stored once (see ../pg_restart.py; SOAK_PG_RESTARTS
# overrides the number of restarts, SOAK_PG_OUTAGE the seconds the server stays down).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
/usr/bin/python3 "$here/pg_restart.py" "$CASCADE_BIN" --restarts "${SOAK_PG_RESTARTS:-3}" \
  --outage "${SOAK_PG_OUTAGE:-6}" --timeout 600
