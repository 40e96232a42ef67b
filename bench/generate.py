"""Build the benchmark's template databases, deterministically (seeded).

    python3 bench/generate.py --size S          # bench_tpl_s and bench_tpl_s_oca
    python3 bench/generate.py --size M --force  # rebuild even when they exist

``bench_tpl_<size>``: billing_coordinator installed (no demo data), two companies
(Danish in DKK, German in EUR; the Danish one also invoices in EUR), coordinators,
customers and posted invoices with full, partial, over, duplicate and unapplied
payments; due dates spread so that about 40% of the invoices are open and half of
those overdue. Everything is created in batches (hundreds of moves per ``create``,
batched ``action_post``, payments reconciled with one plan per batch).

``bench_tpl_<size>_oca``: a copy with OCA ``account_credit_control`` installed and
one policy (one e-mail level, due date passed) on both companies, so that OCA
works on the same overdue set as our dunning.

Dates are relative to the day of generation: a template is rebuilt when it is
older than ``MAX_AGE_DAYS`` so that "overdue" keeps its meaning.
"""

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib

BATCH = 250
MAX_AGE_DAYS = 7
PARAM_DATE = "bench.generated_on"
PARAM_HASH = "bench.addon_hash"
EUR_PER_DKK = 1 / 7.46
COORDINATORS = 5


def log(message):
    print(f"[generate {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- plan (pure)


def plan_dataset(size, today, seed=benchlib.SEED):
    """The whole dataset as plain tuples, from the seed alone."""
    n_customers, n_invoices = benchlib.SIZES[size]
    rng = random.Random(seed)
    customers = []
    for i in range(n_customers):
        company = "A" if rng.random() < 0.7 else "B"
        currency = "EUR" if company == "B" or rng.random() < 0.2 else "DKK"
        customers.append({"index": i, "company": company, "currency": currency})
    weights = [rng.paretovariate(2.0) for _ in customers]
    owners = list(range(n_customers)) + rng.choices(range(n_customers), weights, k=n_invoices - n_customers)
    invoices = []
    for number, owner in enumerate(owners):
        fate = rng.random()
        if fate < 0.60:  # settled
            due_in = rng.randint(-365, 29)
            payment = rng.choices(["full", "over", "duplicate"], [0.86, 0.07, 0.07])[0]
        elif fate < 0.80:  # open, not yet due
            due_in = rng.randint(0, 29)
            payment = "partial" if rng.random() < 0.2 else None
        else:  # open and overdue
            due_in = rng.randint(-180, -1)
            payment = "partial" if rng.random() < 0.25 else None
        lines = [round(rng.uniform(150, 15_000), 2) for _ in range(rng.randint(1, 2))]
        invoices.append({
            "number": number, "customer": owner, "due": today + timedelta(days=due_in),
            "lines": lines, "payment": payment,
        })  # fmt: skip
    unapplied = sorted(rng.sample(range(n_customers), max(1, n_customers // 50)))
    return customers, invoices, unapplied


# ------------------------------------------------------------ build (Odoo)


def setup_companies(env):
    from odoo.fields import Command

    env.ref("base.DKK").active = True
    env.ref("base.EUR").active = True
    companies = {}
    company_fields = env["res.company"]._fields
    for key, name, currency, country, tax in (
        ("A", "Bench Nord ApS", "base.DKK", "base.dk", 25.0),
        ("B", "Bench Süd GmbH", "base.EUR", "base.de", 19.0),
    ):
        # install_mode: no localisation modules (Danish, Peppol, ...), the generic chart below
        company = env["res.company"].with_context(install_mode=True).create({
            "name": name, "currency_id": env.ref(currency).id, "country_id": env.ref(country).id,
            "email": f"billing@{key.lower()}.bench.example",
            # partner_autocomplete (auto-installed) would call its web service
            **({"iap_enrich_auto_done": True} if "iap_enrich_auto_done" in company_fields else {}),
        })  # fmt: skip
        env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
        company.currency_id = env.ref(currency)
        tax_rec = env["account.tax"].create({
            "name": f"Bench VAT {tax:g}%", "amount": tax, "amount_type": "percent",
            "type_tax_use": "sale", "company_id": company.id,
        })  # fmt: skip
        companies[key] = (company, tax_rec)
    dkk, eur = env.ref("base.DKK"), env.ref("base.EUR")
    year_ago = date.today() - timedelta(days=400)
    env["res.currency.rate"].create([
        {"currency_id": eur.id, "company_id": companies["A"][0].id, "name": year_ago,
         "rate": EUR_PER_DKK},
        {"currency_id": dkk.id, "company_id": companies["B"][0].id, "name": year_ago,
         "rate": 1 / EUR_PER_DKK},
    ])  # fmt: skip
    all_companies = [company for company, _tax in companies.values()]
    env.ref("base.user_admin").write({
        "company_ids": [Command.link(c.id) for c in all_companies],
        "group_ids": [Command.link(env.ref("billing_coordinator.group_billing_manager").id)],
    })  # fmt: skip
    coordinators = env["res.users"].create([
        {
            "name": f"Bench Coordinator {n}", "login": f"bench_coordinator_{n}",
            "email": f"coordinator{n}@bench.example",
            "company_id": all_companies[0].id, "company_ids": [Command.set([c.id for c in all_companies])],
            "group_ids": [Command.link(env.ref("billing_coordinator.group_billing_coordinator").id)],
        }
        for n in range(1, COORDINATORS + 1)
    ])  # fmt: skip
    return companies, coordinators


def create_customers(env, plan, companies, coordinators):
    countries = {"A": env.ref("base.dk").id, "B": env.ref("base.de").id}
    partners = env["res.partner"]
    for start in range(0, len(plan), 500):
        partners |= env["res.partner"].create([
            {
                "name": f"Bench Kunde {c['index'] + 1:05d} {'ApS' if c['company'] == 'A' else 'GmbH'}",
                "is_company": True,
                "email": f"kunde{c['index'] + 1:05d}@bench.example",
                "vat": f"{'DK' if c['company'] == 'A' else 'DE'}{10_000_000 + c['index']}",
                "country_id": countries[c["company"]],
            }
            for c in plan[start : start + 500]
        ])  # fmt: skip
    for key, (company, _tax) in companies.items():
        mine = [p for p, c in zip(partners, plan, strict=True) if c["company"] == key]
        for n, coordinator in enumerate(coordinators):
            share = env["res.partner"].browse([p.id for p in mine[n :: len(coordinators)]])
            share.with_company(company).write({"billing_coordinator_id": coordinator.id})
    log(f"{len(partners)} customers, {len(coordinators)} coordinators")
    return partners


def invoice_vals(invoice, partner, currency, tax):
    from odoo.fields import Command

    return {
        "move_type": "out_invoice",
        "partner_id": partner.id,
        "currency_id": currency.id,
        "invoice_date": invoice["due"] - timedelta(days=30),
        "invoice_date_due": invoice["due"],
        "invoice_payment_term_id": False,
        "invoice_line_ids": [
            Command.create({"name": f"Bench service {n + 1}", "quantity": 1, "price_unit": amount,
                            "tax_ids": [Command.set(tax.ids)]})
            for n, amount in enumerate(invoice["lines"])
        ],
    }  # fmt: skip


def create_invoices(env, customers_plan, invoices_plan, partners, companies):
    currencies = {"DKK": env.ref("base.DKK"), "EUR": env.ref("base.EUR")}
    currency_of = [currencies[c["currency"]] for c in customers_plan]
    created = []  # (invoice plan, move)
    for key, (company, tax) in companies.items():
        todo = [i for i in invoices_plan if customers_plan[i["customer"]]["company"] == key]
        moves_env = (
            env["account.move"]
            .with_company(company)
            .with_context(tracking_disable=True, mail_notrack=True, mail_create_nolog=True)
        )
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            moves = moves_env.create([
                invoice_vals(i, partners[i["customer"]], currency_of[i["customer"]], tax) for i in batch
            ])  # fmt: skip
            moves.action_post()
            created += list(zip(batch, moves, strict=True))
            env.cr.commit()
            log(f"company {key}: {start + len(batch)}/{len(todo)} invoices posted")
    return created


def payment_vals(partner, amount, currency, when, memo, journal):
    return {
        "payment_type": "inbound", "partner_type": "customer", "partner_id": partner.id,
        "amount": amount, "currency_id": currency.id, "date": when, "memo": memo, "journal_id": journal.id,
    }  # fmt: skip


def receivable_lines(move):
    return move.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")


def create_payments(env, created, companies, today):
    """One payment per paid invoice (a second, unreconciled one for duplicates),
    reconciled batch by batch with one reconciliation plan."""
    amounts = {
        "full": lambda r: r,
        "over": lambda r: r + 250,
        "duplicate": lambda r: r,
        "partial": lambda r: round(r / 2, 2),
    }
    for key, (company, _tax) in companies.items():
        journal = env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        todo = [(plan, move) for plan, move in created if plan["payment"] and move.company_id == company]
        pay_env = (
            env["account.payment"]
            .with_company(company)
            .with_context(tracking_disable=True, mail_notrack=True)
        )
        for start in range(0, len(todo), BATCH):
            batch = todo[start : start + BATCH]
            vals, duplicates = [], []
            for plan, move in batch:
                when = min(plan["due"], today)
                vals.append(payment_vals(move.partner_id, amounts[plan["payment"]](move.amount_residual),
                                         move.currency_id, when, move.name, journal))  # fmt: skip
                if plan["payment"] == "duplicate":
                    duplicates.append(payment_vals(move.partner_id, move.amount_residual, move.currency_id,
                                                   when + timedelta(days=2), move.name, journal))  # fmt: skip
            payments = pay_env.create(vals)
            pay_env.create(duplicates).action_post()
            payments.action_post()
            env["account.move.line"]._reconcile_plan([
                receivable_lines(move) | receivable_lines(payment.move_id)
                for (_plan, move), payment in zip(batch, payments, strict=True)
            ])  # fmt: skip
            env.cr.commit()
            log(f"company {key}: {start + len(batch)}/{len(todo)} payments reconciled")


def create_unapplied(env, unapplied, customers_plan, partners, companies, today):
    currencies = {"DKK": env.ref("base.DKK"), "EUR": env.ref("base.EUR")}
    for key, (company, _tax) in companies.items():
        journal = env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
        )
        vals = [
            payment_vals(
                partners[i],
                1_000 + i,
                currencies[customers_plan[i]["currency"]],
                today - timedelta(days=i % 60),
                f"Bench unapplied {i}",
                journal,
            )
            for i in unapplied
            if customers_plan[i]["company"] == key
        ]
        env["account.payment"].with_company(company).create(vals).action_post()
    log(f"{len(unapplied)} unapplied payments")


def summary(env):
    env.cr.execute("""
        SELECT count(*) FILTER (WHERE m.payment_state IN ('not_paid', 'partial')),
               count(*) FILTER (WHERE m.payment_state IN ('not_paid', 'partial')
                                  AND m.invoice_date_due < CURRENT_DATE),
               count(*)
          FROM account_move m WHERE m.move_type = 'out_invoice' AND m.state = 'posted'
    """)
    open_, overdue, total = env.cr.fetchone()
    log(f"{total} posted invoices: {open_} open ({100 * open_ / total:.0f}%), {overdue} of them overdue")


def populate(db, size):
    with benchlib.odoo_env(db) as env:
        # billing_defer_detection: the template holds no tickets; the bench measures the scan
        env = env(context={
            "tracking_disable": True, "mail_notrack": True, "mail_create_nolog": True,
            "billing_defer_detection": True,
        })  # fmt: skip
        today = date.today()
        customers_plan, invoices_plan, unapplied = plan_dataset(size, today)
        companies, coordinators = setup_companies(env)
        partners = create_customers(env, customers_plan, companies, coordinators)
        env.cr.commit()
        created = create_invoices(env, customers_plan, invoices_plan, partners, companies)
        create_payments(env, created, companies, today)
        create_unapplied(env, unapplied, customers_plan, partners, companies, today)
        params = env["ir.config_parameter"]
        params.set_param(PARAM_DATE, today.isoformat())
        params.set_param(PARAM_HASH, benchlib.addon_hash())
        # wkhtmltopdf must not fetch assets from whatever Odoo serves on :8069 here
        params.set_param("report.url", "http://127.0.0.1:9")
        summary(env)


def setup_oca(db):
    from odoo.fields import Command

    with benchlib.odoo_env(db) as env:
        companies = env["res.company"].search([("name", "like", "Bench %")])
        receivables = env["account.account"].search([
            ("account_type", "=", "asset_receivable"), ("company_ids", "in", companies.ids)
        ])  # fmt: skip
        policy = env["credit.control.policy"].create({
            "name": "Bench reminders",
            "account_ids": [Command.set(receivables.ids)],
            "level_ids": [Command.create({
                "name": "Overdue", "level": 1, "computation_mode": "net_days", "delay_days": 1,
                "channel": "email", "mail_show_invoice_detail": True,
                "email_template_id": env.ref("account_credit_control.email_template_credit_control_base").id,
                "custom_text": "Our records show the invoices below as overdue.",
                "custom_mail_text": "<p>Our records show the invoices below as overdue.</p>",
            })],
        })  # fmt: skip
        companies.write({"credit_policy_id": policy.id})
    log("OCA account_credit_control installed with one e-mail level on both companies")


def template_is_current(db):
    if not benchlib.db_exists(db):
        return False
    rows = benchlib.psql(db, f"SELECT value FROM ir_config_parameter WHERE key = '{PARAM_DATE}'")
    return bool(rows) and date.today() - date.fromisoformat(rows[0][0]) <= timedelta(days=MAX_AGE_DAYS)


def vacuum(db):
    """What autovacuum does to a live database: generation rewrites the payments and
    invoices many times, and a copy of an unvacuumed template scans their dead rows."""
    log(f"VACUUM ANALYZE {db}")
    benchlib.psql(db, "VACUUM ANALYZE")


def oca_installed(db):
    """A copy interrupted before OCA's setup finished carries the template's date: check its policy."""
    if benchlib.psql(db, "SELECT to_regclass('credit_control_policy') IS NOT NULL")[0][0] != "t":
        return False
    return bool(benchlib.psql(db, "SELECT 1 FROM credit_control_policy WHERE name = 'Bench reminders'"))


def ensure_oca_sources():
    if not (benchlib.OCA_ADDONS / "account_credit_control").is_dir():
        sys.exit(
            f"OCA account_credit_control is missing in {benchlib.OCA_ADDONS}: run bench/fetch_oca.sh first"
        )


def build(size, force=False, with_oca=True):
    """Build (or upgrade) the templates; ``with_oca=False`` leaves the OCA one alone."""
    tpl, tpl_oca = benchlib.template_name(size), benchlib.template_name(size, oca=True)
    ensure_oca_sources()
    benchlib.write_conf()
    if force or not template_is_current(tpl):
        started = time.monotonic()
        benchlib.drop_db(tpl)
        benchlib.drop_db(tpl_oca)
        log(f"installing billing_coordinator into {tpl} (no demo data)")
        benchlib.odoo_cli(tpl, "-i", benchlib.ADDON)
        populate(tpl, size)
        vacuum(tpl)
        log(f"{tpl} built in {time.monotonic() - started:.0f} s")
    upgrade_if_stale(tpl)
    if not with_oca:
        return
    if force or not template_is_current(tpl_oca) or not oca_installed(tpl_oca):
        benchlib.copy_db(tpl, tpl_oca)
        log(f"installing OCA account_credit_control into {tpl_oca}")
        benchlib.odoo_cli(tpl_oca, "-i", "account_credit_control")
        setup_oca(tpl_oca)
        vacuum(tpl_oca)
    upgrade_if_stale(tpl_oca)


def upgrade_if_stale(db):
    """After a merge the templates carry old addon code: upgrade them, never regenerate."""
    current = benchlib.addon_hash()
    rows = benchlib.psql(db, f"SELECT value FROM ir_config_parameter WHERE key = '{PARAM_HASH}'")
    if rows and rows[0][0] == current:
        return
    log(f"billing_coordinator changed since {db} was built: upgrading it")
    benchlib.odoo_cli(db, "-u", benchlib.ADDON)
    benchlib.psql(db, f"UPDATE ir_config_parameter SET value = '{current}' WHERE key = '{PARAM_HASH}'")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--size", choices=sorted(benchlib.SIZES), default="S")
    parser.add_argument("--force", action="store_true", help="rebuild the templates even when current")
    args = parser.parse_args()
    build(args.size, args.force)


if __name__ == "__main__":
    main()
