#!/usr/bin/env bash
# Fetch OCA account_credit_control 19.0 for the benchmark only: its PyPI wheel
# (--no-deps: its `odoo` requirement is the Odoo already installed), unzipped into
# bench/work/addons/, which only the bench's own Odoo configuration puts on the
# addons path. Never installed into python3, never a dependency of the addon.
set -euo pipefail
cd "$(dirname "$0")/work" 2>/dev/null || { mkdir -p "$(dirname "$0")/work"; cd "$(dirname "$0")/work"; }
[[ -f addons/account_credit_control/__manifest__.py ]] && exit 0
mkdir -p dl addons
python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest dl \
  "odoo-addon-account-credit-control>=19.0,<19.1"
wheel=$(ls dl/odoo_addon_account_credit_control-19.0.*.whl | tail -n 1)
python3 - "$wheel" <<'PY'
import sys, zipfile
prefix = "odoo/addons/account_credit_control/"
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = "addons/account_credit_control/" + name[len(prefix):]
            import os
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(wheel.read(name))
PY
deps=$(python3 -c "import ast; print(' '.join(ast.literal_eval(open('addons/account_credit_control/__manifest__.py').read())['depends']))")
echo "OCA account_credit_control from $(basename "$wheel") (depends: $deps)"
