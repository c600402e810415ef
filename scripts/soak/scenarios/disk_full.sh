#!/usr/bin/env bash
# The disk under the SQLite database (a 32 MB tmpfs the scenario mounts, so it needs root)
# filled up under hook load from four clients, then freed: while full, writes answer 507
# `storage_full` and reads keep working; once freed, the master recovers by itself and runs
# builds; every change answered 202 is stored once, and `PRAGMA integrity_check` says ok
# (see ../disk_full.py; SOAK_DISK_FULL_SECONDS overrides how long the disk stays full).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
/usr/bin/python3 "$here/disk_full.py" "$CASCADE_BIN" --full "${SOAK_DISK_FULL_SECONDS:-8}" --timeout 600
