"""What the generator, the runner and the operations share: names, the bench's own
Odoo configuration, PostgreSQL helpers and opening an Odoo environment.

The bench never touches the project's databases: every database it creates starts
with ``bench_`` and lives on ``$PGPORT``; its Odoo configuration
(``bench/work/odoo-bench.conf``) adds OCA ``account_credit_control`` to the addons
path for the bench databases only.
"""

import hashlib
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
OCA_ADDONS = WORK / "addons"
DATA_DIR = WORK / "data"
ADDON = "billing_coordinator"
# BENCH_ADDON_ROOT: measure the addon of another checkout (e.g. a wing's worktree
# before it is merged) with a configuration file of its own
ADDON_ROOT = Path(os.environ.get("BENCH_ADDON_ROOT") or ROOT).resolve()
CONF = WORK / ("odoo-bench.conf" if ADDON_ROOT == ROOT else f"odoo-bench-{ADDON_ROOT.name}.conf")

# customers, posted invoices
# XS is a smoke size for developing the bench itself
SIZES = {"XS": (60, 600), "S": (1_000, 10_000), "M": (5_000, 50_000)}
SEED = 20240601


def pg_env():
    env = dict(os.environ)
    env.setdefault("PGHOST", "127.0.0.1")
    env.setdefault("PGPORT", "55432")
    env.setdefault("PGUSER", "billing")
    env.setdefault("PGPASSWORD", "billing")
    env.setdefault("PGOPTIONS", "-c client_min_messages=warning")
    return env


def template_name(size, oca=False):
    return f"bench_tpl_{size.lower()}{'_oca' if oca else ''}"


def write_conf():
    """The bench's own Odoo configuration, on the caller's PostgreSQL port."""
    env = pg_env()
    WORK.mkdir(parents=True, exist_ok=True)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    addons = [str(ADDON_ROOT)] + ([str(OCA_ADDONS)] if OCA_ADDONS.is_dir() else [])
    CONF.write_text(
        "[options]\n"
        f"addons_path = {','.join(addons)}\n"
        f"data_dir = {DATA_DIR}\n"
        f"db_host = {env['PGHOST']}\n"
        f"db_port = {env['PGPORT']}\n"
        f"db_user = {env['PGUSER']}\n"
        f"db_password = {env['PGPASSWORD']}\n"
        "http_interface = 127.0.0.1\n"
        "list_db = False\n"
        "admin_passwd = billing-bench\n"
        "max_cron_threads = 0\n",
        encoding="utf-8",
    )
    return CONF


def psql(db, sql):
    """Run one statement with psql and return its output rows (tab-separated)."""
    out = subprocess.run(
        ["psql", "-qAtX", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
        check=True, capture_output=True, text=True, env=pg_env(),
    )  # fmt: skip
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def db_exists(db):
    return bool(psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{db}'"))


def filestore(db):
    return DATA_DIR / "filestore" / db


def drop_db(db, attempts=5):
    """Drop a bench database; retried, as an autovacuum worker on a fresh copy
    (a superuser's process) makes ``dropdb --force`` fail for a moment."""
    assert db.startswith("bench_"), db
    for attempt in range(1, attempts + 1):
        done = subprocess.run(["dropdb", "--if-exists", "--force", db], env=pg_env()).returncode == 0
        if done or attempt == attempts:
            break
        time.sleep(2 * attempt)
    if not done:
        raise RuntimeError(f"could not drop {db}")
    shutil.rmtree(filestore(db), ignore_errors=True)


def copy_db(template, target):
    """A fresh copy of a template database and its filestore."""
    assert target.startswith("bench_"), target
    drop_db(target)
    subprocess.run(["createdb", "-T", template, target], check=True, env=pg_env())
    if filestore(template).is_dir():
        shutil.copytree(filestore(template), filestore(target))


def odoo_cli(db, *args):
    """Run Odoo's command line on a bench database; raise with the log's tail on failure."""
    cmd = [
        "python3",
        "-m",
        "odoo",
        "-c",
        str(write_conf()),
        "-d",
        db,
        "--stop-after-init",
        "--log-level=warn",
    ]
    proc = subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=ROOT)
    logged_error = re.search(r"^\S+ \S+ \d+ (ERROR|CRITICAL) |^Traceback", proc.stderr, re.MULTILINE)
    if proc.returncode or logged_error:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"odoo {' '.join(args)} on {db} failed:\n{tail}")


def addon_hash():
    """A digest of the addon's source, to know when a template needs an upgrade."""
    digest = hashlib.sha256()
    for path in sorted((ADDON_ROOT / ADDON).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ADDON_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def odoo_env(db, uid=None, context=None):
    """An Odoo environment on ``db`` inside this process (the cursor is committed
    on a clean exit)."""
    import odoo  # noqa: F401  (Odoo is a prerequisite, imported late on purpose)
    from odoo import api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(["-c", str(write_conf()), "-d", db, "--log-level=warn"], setup_logging=True)
    from odoo.sql_db import close_db

    registry = Registry(db)
    try:
        with registry.cursor() as cr:
            yield api.Environment(cr, uid or api.SUPERUSER_ID, context or {})
    finally:
        close_db(db)  # a template must have no open session to be copied
