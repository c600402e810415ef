#!/usr/bin/env bash
# Cascade's soak runs (`make soak`; never part of `make test`): long runs that look for what
# short tests miss. Runs the named scenarios in turn (all of them without arguments), each a
# script in scripts/soak/scenarios/ (NAME.sh, or NAME.mjs run with node), prints each one's
# outcome and how long it took, and fails if any failed.
#
#   scripts/soak/run.sh                 every scenario
#   scripts/soak/run.sh schemathesis    only these
#
# Every scenario starts what it needs on 127.0.0.1 (the debug binary by default, CASCADE_BIN
# to override), with deadlines on every wait, and stops it by its PID. Add a scenario by
# adding a script to scenarios/.
#
# Scenarios:
#   schemathesis  the whole OpenAPI document, many generated requests per operation
#                 (SOAK_SCHEMATHESIS_EXAMPLES, default 500; SOAK_SEED, default 1), as an
#                 admin, against a master with history: no 5xx, no answer off the document
#   kill_under_load  SIGKILL five times under hook load, on SQLite and PostgreSQL: nothing
#                 acknowledged lost, no build request completed twice, no build left running
#   sse_stuck_clients  1,000 event streams, 100 of them never read: the readers get every
#                 event, the stuck ones are dropped with a log line, peak memory reported
#   peers_down    the mail, IRC and HTTP-push peers stopped for SOAK_PEERS_DOWN_SECONDS
#                 (default 180) while builds go on, on SQLite and PostgreSQL: once they are
#                 back each gets every build's message once, in order, within a bound; the
#                 master's memory stays bounded meanwhile
#   pg_restart    PostgreSQL (a cluster of its own, initdb in a temporary folder) stopped and
#                 started three times under hook load: requests during each outage answer 503
#                 with Retry-After within 5 s, the master recovers by itself, nothing
#                 acknowledged lost or stored twice
#   disk_full     the tmpfs under the SQLite database filled up under hook load, then freed
#                 (needs root, to mount it): writes answer 507 `storage_full`, reads keep
#                 working, the master recovers by itself and builds again, nothing
#                 acknowledged lost, `PRAGMA integrity_check` ok
#   fuzz          every cargo-fuzz target of fuzz/ (hook dialects, configuration, htpasswd,
#                 worker protocol, log chunker) for SOAK_FUZZ_SECONDS each (default 300) from
#                 the committed corpus: no crash (needs nightly; installs cargo-fuzz if missing)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CASCADE_BIN="${CASCADE_BIN:-$repo/target/debug/cascade}"

if [ "$#" -gt 0 ]; then
  scenarios=("$@")
else
  scenarios=()
  for f in "$here"/scenarios/*; do
    name="$(basename "$f")"
    scenarios+=("${name%.*}")
  done
fi

failed=()
for name in "${scenarios[@]}"; do
  if [ -f "$here/scenarios/$name.sh" ]; then
    cmd=(bash "$here/scenarios/$name.sh")
  elif [ -f "$here/scenarios/$name.mjs" ]; then
    cmd=(node "$here/scenarios/$name.mjs")
  else
    echo "soak: no scenario named $name (see $here/scenarios/)" >&2
    exit 2
  fi
  echo "== soak: $name"
  start=$(date +%s)
  if "${cmd[@]}"; then outcome=passed; else outcome=FAILED; failed+=("$name"); fi
  echo "== soak: $name $outcome in $(( $(date +%s) - start )) s"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "soak: failed: ${failed[*]}" >&2
  exit 1
fi
echo "soak: all ${#scenarios[@]} scenario(s) passed"
