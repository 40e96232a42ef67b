# billing_coordinator: the two commands a newcomer types are `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PGHOST ?= 127.0.0.1
PGPORT ?= 55432
PGUSER ?= billing
PGPASSWORD ?= billing
HTTP_PORT ?= 8069
DEMO_DB ?= billing_demo
TEST_DB ?= billing_test
export PGHOST PGPORT PGUSER PGPASSWORD HTTP_PORT

ODOO := python3 -m odoo
CONF := .odoo/odoo.conf
PG := scripts/pg.sh
ADDON := billing_coordinator
PYTEST_ARGS ?=

.PHONY: help run stop test lint deps db-demo db-test pot bench

help:
	@echo "make run    serve Odoo with the demo database on http://127.0.0.1:$(HTTP_PORT)"
	@echo "make stop   stop the Odoo server and the PostgreSQL cluster that make run started"
	@echo "make test   lint, build a fresh test database and run the tests (pytest-odoo)"
	@echo "make lint   ruff and pylint-odoo"
	@echo "make pot    regenerate i18n/$(ADDON).pot and merge it into da.po (I18N_DB=$(TEST_DB))"
	@echo "make bench  generate the receivables dataset (SIZE=S|M) once, measure, write bench/results/"

deps:
	@scripts/ensure_deps.sh

$(CONF): scripts/odoo_conf.sh Makefile
	@scripts/odoo_conf.sh >/dev/null

run: deps $(CONF)
	@scripts/ensure_deps.sh --pdf-optional
	@$(PG) start
	@scripts/odoo_conf.sh >/dev/null
	@scripts/run_server.sh $(DEMO_DB)

stop:
	@scripts/run_server.sh --stop
	@$(PG) stop

lint: deps
	ruff check .
	ruff format --check .
	python3 -m pylint --rcfile=.pylintrc $(ADDON)

db-test: deps
	@$(PG) start
	@scripts/odoo_conf.sh >/dev/null
	@scripts/install_db.sh $(TEST_DB) --fresh

test: lint
	@scripts/ensure_deps.sh --browser --pdf
	@$(MAKE) --no-print-directory db-test
	python3 scripts/i18n.py check $(TEST_DB)
	python3 -m pytest -p no:cacheprovider --odoo-config=$(CONF) --odoo-database=$(TEST_DB) \
		--odoo-http --odoo-log-level=warn $(PYTEST_ARGS) $(ADDON)/tests

# I18N_DB must have the current code installed (make db-test, or -u billing_coordinator).
I18N_DB ?= $(TEST_DB)
pot: deps
	@$(PG) start
	python3 scripts/i18n.py update $(I18N_DB)

# Receivables at scale (not part of make test): builds the template databases
# bench_tpl_<size> once, measures every operation on fresh copies of them and
# writes bench/results/$(SIZE).md. OCA account_credit_control is fetched into
# bench/work/ for the bench databases only.
SIZE ?= S
bench: deps
	@scripts/ensure_deps.sh --pdf
	@$(PG) start
	@bench/fetch_oca.sh
	python3 bench/run.py --size $(SIZE)
