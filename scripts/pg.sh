#!/usr/bin/env bash
# Start (or stop) the PostgreSQL server the project uses.
#   scripts/pg.sh start   use a server reachable on 127.0.0.1:$PGPORT, or start a
#                         throwaway cluster of our own in .pg/ (loopback only)
#   scripts/pg.sh stop    stop the cluster this script started (nothing else)
# The role $PGUSER is created with CREATEDB when we own the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
PGDIR=${PGDIR:-$PWD/.pg}
OS_USER=billingpg

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x $dir/$1 ]] && { echo "$dir/$1"; return; }
  done
  command -v "$1" || { echo "PostgreSQL server binary '$1' not found: install the PostgreSQL 13+ server packages (README, Prerequisites)." >&2; exit 1; }
}

as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u "$OS_USER" -- "$@"; else "$@"; fi
}

reachable() { "$(pg_bin pg_isready)" -q -h "$PGHOST" -p "$PGPORT" -t 2; }

start() {
  if reachable; then
    echo "PostgreSQL already reachable on $PGHOST:$PGPORT"
    return
  fi
  if [[ $(id -u) == 0 ]] && ! id "$OS_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$OS_USER"
  fi
  mkdir -p "$PGDIR"
  [[ $(id -u) == 0 ]] && chown "$OS_USER" "$PGDIR"
  if [[ ! -f $PGDIR/data/PG_VERSION ]]; then
    echo "Creating a throwaway PostgreSQL cluster in $PGDIR/data"
    as_owner "$(pg_bin initdb)" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log"
    cat >>"$PGDIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
CONF
  fi
  as_owner "$(pg_bin pg_ctl)" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 start >/dev/null
  "$(pg_bin psql)" -qAt -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PGUSER') THEN
    CREATE ROLE "$PGUSER" LOGIN CREATEDB PASSWORD '$PGPASSWORD';
  END IF;
END \$\$;
SQL
  echo "PostgreSQL started on $PGHOST:$PGPORT (cluster $PGDIR/data)"
}

stop() {
  if [[ -f $PGDIR/data/postmaster.pid ]]; then
    as_owner "$(pg_bin pg_ctl)" -D "$PGDIR/data" -m fast -w stop >/dev/null && echo "PostgreSQL stopped"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
