#!/usr/bin/env bash
# Create database $1 with billing_coordinator, its demo data and Danish installed.
#   --fresh    drop it first (the test database is always built anew)
#   --upgrade  when it exists, upgrade billing_coordinator to the code of this checkout
# Stops with the log's errors when the install logs any ERROR or CRITICAL line.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
db=$1
fresh=${2:-}
conf=.odoo/odoo.conf
exists() {
  psql -qAt -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres \
    -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1
}
installed() {
  psql -qAt -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$db" \
    -c "SELECT 1 FROM ir_module_module WHERE name = 'billing_coordinator' AND state = 'installed'" 2>/dev/null | grep -q 1
}
if [[ $fresh == --fresh ]] && exists; then
  python3 -m odoo db -c "$conf" drop "$db" >/dev/null 2>&1 \
    || dropdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" --force "$db"
  rm -rf ".odoo/data/filestore/$db"
fi
if exists && installed; then
  if [[ $fresh == --upgrade ]]; then
    echo "Upgrading billing_coordinator in $db"
    log=.odoo/upgrade-$db.log
    python3 -m odoo -c "$conf" -d "$db" -u billing_coordinator --stop-after-init --log-level=warn >"$log" 2>&1 \
      || { tail -n 40 "$log" >&2; echo "ERROR: upgrading billing_coordinator in $db failed (full log: $log)" >&2; exit 1; }
  fi
  echo "Database $db is ready"
  exit 0
fi
echo "Installing billing_coordinator with demo data into $db (takes a few minutes)"
log=.odoo/install-$db.log
if ! python3 -m odoo -c "$conf" -d "$db" -i billing_coordinator --with-demo --load-language=da_DK \
    --stop-after-init --log-level=warn >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "ERROR: installing billing_coordinator into $db failed (full log: $log)" >&2
  exit 1
fi
if grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) |^Traceback|demo data failed' "$log" >&2; then
  echo "ERROR: the install of billing_coordinator into $db logged errors (full log: $log)" >&2
  exit 1
fi
echo "Database $db is ready"
