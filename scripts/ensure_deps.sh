#!/usr/bin/env bash
# Check (and where possible install) what the project's commands need:
# Odoo 19.0 importable by python3, the PostgreSQL server binaries, the Python
# packages of requirements.txt; with --browser a headless Chromium, with --pdf
# wkhtmltopdf (--pdf-optional: only warn when it cannot be installed).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "ERROR: $*" >&2; exit 1; }

series=$(python3 -c 'import odoo.release as r; print(r.series)' 2>/dev/null) \
  || fail "Odoo 19.0 Community is not importable by python3 (README.md, Prerequisites)."
[[ $series == 19.0 ]] || fail "python3 imports Odoo $series, but billing_coordinator needs 19.0 (README.md, Prerequisites)."

ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || fail "the PostgreSQL server binaries (initdb, pg_ctl) are missing (README.md, Prerequisites)."

if ! python3 scripts/requirements_ok.py requirements.txt; then
  echo "Installing the Python packages of requirements.txt"
  python3 -m pip install --quiet --disable-pip-version-check -r requirements.txt \
    || fail "could not install requirements.txt"
fi

apt_install() {
  [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1 || return 1
  echo "Installing $* (Debian packages)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

for flag in "$@"; do
  case $flag in
    --browser)
      if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
        && ! command -v google-chrome >/dev/null 2>&1; then
        apt_install chromium \
          || fail "no Chromium for the browser tests: install Debian's 'chromium' package (README.md, Prerequisites)."
      fi ;;
    --pdf | --pdf-optional)
      if ! command -v wkhtmltopdf >/dev/null 2>&1 && ! apt_install wkhtmltopdf; then
        [[ $flag == --pdf ]] \
          || { echo "WARNING: wkhtmltopdf is missing: letters and statements print as HTML only." >&2; continue; }
        fail "no wkhtmltopdf for the letter tests: install Debian's 'wkhtmltopdf' package (README.md, Prerequisites)."
      fi ;;
  esac
done
exit 0
