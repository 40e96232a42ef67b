#!/usr/bin/env bash
# Write the Odoo configuration file the project's commands use (.odoo/odoo.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p .odoo/data
cat >.odoo/odoo.conf <<CONF
[options]
addons_path = $PWD
data_dir = $PWD/.odoo/data
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
db_password = $PGPASSWORD
http_interface = 127.0.0.1
http_port = $HTTP_PORT
gevent_port = $((HTTP_PORT + 3))
list_db = False
admin_passwd = billing-admin
max_cron_threads = 1
CONF
echo .odoo/odoo.conf
