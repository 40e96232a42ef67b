#!/usr/bin/env bash
# Serve Odoo with database $1 in the background (pid in .odoo/odoo.pid), or --stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
pidfile=.odoo/odoo.pid
if [[ ${1:-} == --stop ]]; then
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" && echo "Odoo stopped"
  fi
  rm -f "$pidfile"
  exit 0
fi
db=$1
scripts/install_db.sh "$db" --upgrade
if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "Odoo already runs (pid $(cat "$pidfile"))"
else
  nohup python3 -m odoo -c .odoo/odoo.conf -d "$db" --db-filter="^$db\$" \
    --logfile=.odoo/odoo.log >/dev/null 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 60); do
    curl -fs -o /dev/null "http://127.0.0.1:$HTTP_PORT/web/login" && break
    kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -n 30 .odoo/odoo.log >&2; exit 1; }
    sleep 1
  done
fi
cat <<MSG

  Billing Coordinator runs on  http://127.0.0.1:$HTTP_PORT
  Coordinator:  login coordinator     password coordinator     (Danish)
  Coordinator:  login coordinator2    password coordinator2    (English)
  Manager:      login billingmanager  password billingmanager
  Administrator: login admin          password admin
  Log: .odoo/odoo.log     Stop with: make stop
MSG
