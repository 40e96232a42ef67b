# Sourced by the project's scripts: where PostgreSQL and Odoo listen.
# Override any of these in the environment (or as make variables).
: "${PGHOST:=127.0.0.1}" "${PGPORT:=55432}" "${PGUSER:=billing}" "${PGPASSWORD:=billing}"
: "${HTTP_PORT:=8069}"
export PGHOST PGPORT PGUSER PGPASSWORD HTTP_PORT
