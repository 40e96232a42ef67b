"""One measured operation in a process of its own (so that peak RSS is its own).

    python3 bench/operations.py --db bench_run_s --op dunning_plan
    python3 bench/operations.py --db bench_run_m --op floor_plan_write --explain

prints one JSON line: status ("ok" or "not installed yet"), wall seconds, peak RSS
(this process, and the largest child such as wkhtmltopdf), queries issued (Odoo's
``sql_db.sql_counter``), and what the operation produced, so that a reader can see
that an operation and its reference worked on the same set.

Every operation runs as the administrator on both bench companies, with e-mails
queued, never sent (``mail_notify_force_send=False``). Wall time covers the
operation, the flush and the commit; setup done before (reading view definitions,
one warm-up call of a list, switching OCA's template to no PDF) is not timed. An
operation that only reads (a SQL floor, a customer list) is called ``READ_CALLS``
times, each with an empty record cache, and its wall time is the median of them.
"""

import argparse
import cProfile
import gc
import json
import re
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib

LIST_ACTION = "billing_coordinator.res_partner_action_billing_customers"
LIST_VIEW = "billing_coordinator.res_partner_view_list_billing"
OCA_TEMPLATE = "account_credit_control.email_template_credit_control_base"

# the SQL floors: one query each that returns the set the operation works on
RECEIVABLE_OPEN = """
      FROM account_move_line aml
      JOIN account_move m ON m.id = aml.move_id
      JOIN account_account acc ON acc.id = aml.account_id
     WHERE acc.account_type = 'asset_receivable'
       AND m.state = 'posted'
       AND aml.reconciled IS NOT TRUE
       AND aml.company_id = ANY(%(companies)s)
"""
FLOOR_DUNNING = f"""
    SELECT aml.company_id, m.commercial_partner_id, array_agg(m.id ORDER BY aml.date_maturity),
           sum(aml.amount_residual), min(aml.date_maturity)
    {RECEIVABLE_OPEN}
       AND m.move_type = 'out_invoice'
       AND aml.amount_residual > 0
       AND aml.date_maturity < CURRENT_DATE
       AND m.billing_is_disputed IS NOT TRUE
  GROUP BY aml.company_id, m.commercial_partner_id
"""
FLOOR_DETECTION = f"""
    SELECT aml.company_id, m.commercial_partner_id, m.id, m.move_type, aml.balance, aml.amount_residual,
           CASE WHEN aml.balance > 0 THEN 'short_payment' ELSE 'unapplied_credit' END
    {RECEIVABLE_OPEN}
       AND ((m.move_type = 'out_invoice' AND aml.balance > 0 AND aml.amount_residual <> aml.balance)
            OR aml.balance < 0)
"""
FLOOR_AR = f"""
    SELECT aml.company_id, m.commercial_partner_id,
           sum(aml.amount_residual),
           sum(aml.amount_residual) FILTER (WHERE aml.date_maturity < CURRENT_DATE),
           count(DISTINCT m.id) FILTER (WHERE aml.date_maturity < CURRENT_DATE AND aml.amount_residual > 0),
           min(aml.date_maturity) FILTER (WHERE aml.amount_residual > 0)
    {RECEIVABLE_OPEN}
  GROUP BY aml.company_id, m.commercial_partner_id
"""


def bench_companies(env):
    return env["res.company"].search([("name", "like", "Bench %")], order="id")


def count(env, table, where="TRUE"):
    from odoo.tools import SQL

    env.cr.execute(SQL("SELECT count(*) FROM %s WHERE %s", SQL.identifier(table), SQL(where)))
    return env.cr.fetchone()[0]


def copied_columns(env, table, left_out):
    """The columns of ``table`` a write floor copies: all but ``left_out``."""
    env.cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND column_name != ALL(%s) ORDER BY ordinal_position",
        [table, list(left_out)],
    )
    return [name for (name,) in env.cr.fetchall()]


def column_list(names, alias=None):
    """``names`` as the column list of an INSERT or SELECT, taken from ``alias``."""
    from odoo.tools import SQL

    return SQL(", ").join(SQL.identifier(alias, name) if alias else SQL.identifier(name) for name in names)


def produced(env):
    """The e-mails and PDF attachments in the database: compared before and after."""
    return {
        "mails": count(env, "mail_mail"),
        "pdfs": count(env, "ir_attachment", "mimetype = 'application/pdf'"),
    }


# ------------------------------------------------------------------ floors


def sql_floor(query):
    def run(env, state):
        env.cr.execute(query, {"companies": state["companies"]})
        rows = env.cr.fetchall()
        return {"rows": len(rows), "customers": len({(r[0], r[1]) for r in rows})}

    return run


# ------------------------------------------------------------ partner list


def plain_list_spec(env):
    return {"name": {}, "vat": {}, "country_id": {"fields": {"display_name": {}}}}


def billing_list_spec(env):
    """The fields the billing customers list shows, as the web client asks for them."""
    from lxml import etree

    view = env.ref(LIST_VIEW)
    found = env["res.partner"].get_views([(view.id, "list")])
    fields_info = found["models"]["res.partner"]["fields"]
    arch = etree.fromstring(found["views"]["list"]["arch"])
    spec = {}
    for node in arch.iterfind("field"):
        name = node.get("name")
        kind = fields_info[name]["type"]
        spec[name] = {"fields": {"display_name": {}}} if kind == "many2one" else {}
    return spec


def billing_list_without_ar_spec(env):
    """The same billing list without the AR figure columns (the reference of the AR figures)."""
    partners = env["res.partner"]
    return {
        name: spec
        for name, spec in billing_list_spec(env).items()
        if getattr(partners._fields[name], "compute", None) != "_compute_billing_ar_figures"
    }


def partner_list(spec_builder):
    def prepare(env):
        from odoo.tools.safe_eval import safe_eval

        # the nightly job first, which stores again the figures past their date: it runs
        # every night on a live database, and the template ages a day at a time without it
        partners = env["res.partner"]
        if hasattr(partners, "_cron_refresh_billing_ar_data"):
            partners._cron_refresh_billing_ar_data()
        # the action's domain over all customers (without the "My Customers" default filter);
        # one untimed call first, as on a running server (the record cache is cleared after it)
        state = {"spec": spec_builder(env), "domain": safe_eval(env.ref(LIST_ACTION).domain)}
        run(env, state)
        return state

    def run(env, state):
        result = env["res.partner"].web_search_read(state["domain"], state["spec"])
        return {"records": result["length"], "fields": len(state["spec"])}

    return prepare, run


# ------------------------------------------------------------- our wings


def has_dunning(env):
    return "billing.dunning.run" in env and hasattr(env["billing.dunning.run"], "action_plan")


def has_detection(env):
    return "billing.discrepancy" in env and hasattr(env["billing.discrepancy"], "_run_detection")


def dunning_prepare(env):
    """Untimed: the bench companies are new, so give each the main company's default
    dunning policy (as a company would configure one), its first level due one day
    after the due date, so that dunning, OCA and the SQL floor see the same overdue set."""
    if "billing.dunning.policy" not in env:
        return {}
    policies = env["billing.dunning.policy"].sudo()
    default = policies.env.ref("billing_coordinator.billing_dunning_policy_default", raise_if_not_found=False)
    for company in bench_companies(env):
        if default and not policies.search_count(
            [("company_id", "=", company.id), ("is_default", "=", True)]
        ):
            policy = default.copy({"company_id": company.id, "name": f"{default.name} ({company.name})"})
            first = policy.level_ids.sorted("sequence")[:1]
            if first and first.trigger == "due":
                first.trigger_days = 1
    env.cr.commit()
    return {}


def dunning_plan(env, _state):
    runs = env["billing.dunning.run"]
    for company in bench_companies(env):
        run = runs.with_company(company).create({"company_id": company.id, "is_dry_run": True})
        run.action_plan()
        runs |= run
    return {"runs": len(runs), **reminders_of(runs)}


def nightly_plan_prepare(env):
    """Untimed: yesterday's run, planned and marked sent (in SQL: its e-mails are
    not what is measured), so that the measured dry run plans as every night but
    the first: over overdue invoices with a dunning history, most of them with
    nothing new to remind."""
    from odoo import fields
    from odoo.tools import SQL

    dunning_prepare(env)
    runs = env["billing.dunning.run"]
    yesterday = fields.Date.context_today(runs) - timedelta(days=1)
    for company in bench_companies(env):
        run = runs.with_company(company).create({"company_id": company.id, "date": yesterday})
        run.action_plan()
        runs |= run
    env.flush_all()
    env.cr.execute(
        SQL(
            """WITH sent AS (
                   UPDATE billing_reminder SET state = 'sent', sent_date = date
                    WHERE run_id = ANY(%(runs)s) RETURNING id
               ), lines AS (
                   UPDATE billing_reminder_line SET state = 'sent'
                    WHERE reminder_id IN (SELECT id FROM sent) RETURNING 1
               )
               UPDATE billing_dunning_run SET state = 'done' WHERE id = ANY(%(runs)s)""",
            runs=runs.ids,
        )
    )
    # a day later autovacuum has analyzed the thousands of new lines: without
    # statistics the planner reads each invoice's history level by level
    env.cr.execute("ANALYZE billing_reminder, billing_reminder_line")
    env.cr.commit()
    env.invalidate_all()
    return {}


def plan_write_prepare(env):
    """Untimed: a dry run planned by the addon per company, whose rows the write
    floor inserts again, and an empty dry run per company to insert them into."""
    dunning_prepare(env)
    runs, pairs = env["billing.dunning.run"], []
    for company in bench_companies(env):
        planned = runs.with_company(company).create({"company_id": company.id, "is_dry_run": True})
        planned.action_plan()
        empty = runs.with_company(company).create({"company_id": company.id, "is_dry_run": True})
        pairs.append((planned.id, empty.id))
    env.cr.commit()
    columns = {
        table: copied_columns(env, table, ("id", "run_id", "reminder_id"))
        for table in ("billing_reminder", "billing_reminder_line", "billing_dunning_exclusion")
    }
    return {"pairs": pairs, "columns": columns}


def plan_write_floor(env, state):
    """The dry run's reminders, lines and exclusions inserted again into the
    empty run, in one statement: what writing the plan costs PostgreSQL alone
    (the same rows, indexes and foreign-key checks, nothing decided)."""
    from odoo.tools import SQL

    def cols(table, alias=None):
        return column_list(state["columns"][table], alias)

    env.cr.execute(
        SQL(
            """
        WITH pairs(source, target) AS (SELECT * FROM unnest(%(sources)s::int[], %(targets)s::int[])),
        reminders AS (
            INSERT INTO billing_reminder (run_id, %(reminder_cols)s)
            SELECT pairs.target, %(reminder_old)s
              FROM billing_reminder old JOIN pairs ON pairs.source = old.run_id
            RETURNING id, run_id, partner_id, level_id, currency_id
        ),
        lines AS (
            INSERT INTO billing_reminder_line (reminder_id, %(line_cols)s)
            SELECT new.id, %(line_old)s
              FROM billing_reminder_line line
              JOIN billing_reminder old ON old.id = line.reminder_id
              JOIN pairs ON pairs.source = old.run_id
              JOIN reminders new ON new.run_id = pairs.target AND new.partner_id = old.partner_id
                                AND new.level_id = old.level_id AND new.currency_id = old.currency_id
            RETURNING 1
        ),
        exclusions AS (
            INSERT INTO billing_dunning_exclusion (run_id, %(exclusion_cols)s)
            SELECT pairs.target, %(exclusion_old)s
              FROM billing_dunning_exclusion old JOIN pairs ON pairs.source = old.run_id
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM reminders), (SELECT count(*) FROM lines),
               (SELECT count(*) FROM exclusions)
            """,
            sources=[source for source, _target in state["pairs"]],
            targets=[target for _source, target in state["pairs"]],
            reminder_cols=cols("billing_reminder"),
            reminder_old=cols("billing_reminder", "old"),
            line_cols=cols("billing_reminder_line"),
            line_old=cols("billing_reminder_line", "line"),
            exclusion_cols=cols("billing_dunning_exclusion"),
            exclusion_old=cols("billing_dunning_exclusion", "old"),
        )
    )
    reminders, lines, exclusions = env.cr.fetchone()
    return {"reminders": reminders, "lines": lines, "exclusions": exclusions}


def reminders_of(runs):
    """The runs' reminders, counted in SQL: reading them through the ORM would add
    the record rules on thousands of reminders to the operation's time."""
    if "reminder_ids" in runs._fields:
        run_ids = ",".join(map(str, runs.ids))
        return {"reminders": count(runs.env, "billing_reminder", f"run_id IN ({run_ids})")}
    return {}


def dunning_full(skip_pdf):
    def run(env, _state):
        runs = env["billing.dunning.run"].with_context(billing_dunning_skip_pdf=skip_pdf)
        for company in bench_companies(env):
            dunning = runs.with_company(company).create({"company_id": company.id})
            dunning.action_plan()
            if dunning.state == "planned" and dunning.company_id.billing_dunning_approval:
                dunning.action_approve()  # the company asks for approval before sending
            dunning.action_send()
            runs |= dunning
        return {"runs": len(runs), **reminders_of(runs)}

    return run


def detection_prepare(env):
    """Untimed: the first scan, which opens the tickets, so that the measured
    scan is the nightly one over a database whose tickets exist; then one
    rescan, so that the measured one reads tickets as a night later (the first
    read of thousands of new rows writes their hint bits), as the floor reads
    the template's settled rows."""
    for _scan in range(2):
        env["billing.discrepancy"]._run_detection(companies=None)
        env.cr.commit()
    return {}


def detection(env, _state):
    env["billing.discrepancy"]._run_detection(companies=None)
    # counted in SQL: an ORM count would time the administrator's first access check
    return {"tickets": count(env, "billing_discrepancy")}


def detection_write_prepare(env):
    """Untimed: the first scan, whose tickets and links the write floor inserts again."""
    env["billing.discrepancy"]._run_detection(companies=None)
    env.cr.commit()
    return {"columns": copied_columns(env, "billing_discrepancy", ("id", "detection_key"))}


def detection_write_floor(env, state):
    """The first scan's tickets and their invoice and payment links inserted
    again, in one statement: what writing them costs PostgreSQL alone (the same
    rows, indexes and foreign-key checks; only the detection key differs)."""
    from odoo.tools import SQL

    def links(table, column):
        return SQL(
            """INSERT INTO %(table)s (billing_discrepancy_id, %(column)s)
               SELECT pairs.new_id, rel.%(column)s
                 FROM %(table)s rel JOIN pairs ON pairs.old_id = rel.billing_discrepancy_id
            RETURNING 1""",
            table=SQL.identifier(table),
            column=SQL.identifier(column),
        )

    env.cr.execute(
        SQL(
            """
        WITH tickets AS (
            INSERT INTO billing_discrepancy (detection_key, %(columns)s)
            SELECT old.detection_key || '+copy', %(old_columns)s
              FROM billing_discrepancy old
            RETURNING id, company_id, detection_key
        ),
        pairs AS (
            SELECT new.id AS new_id, old.id AS old_id
              FROM tickets new
              JOIN billing_discrepancy old
                ON old.company_id = new.company_id AND old.detection_key || '+copy' = new.detection_key
        ),
        invoices AS (%(invoices)s),
        payments AS (%(payments)s)
        SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM invoices),
               (SELECT count(*) FROM payments)
            """,
            columns=column_list(state["columns"]),
            old_columns=column_list(state["columns"], "old"),
            invoices=links("billing_discrepancy_account_move_rel", "account_move_id"),
            payments=links("billing_discrepancy_account_payment_rel", "account_payment_id"),
        )
    )
    tickets, invoice_links, payment_links = env.cr.fetchone()
    return {"tickets": tickets, "invoice links": invoice_links, "payment links": payment_links}


AFTER_PAYMENT_CUSTOMERS = 20


def after_payment_prepare(env):
    """Untimed: the scans of ``detection_prepare``, then the first customers (by id)
    that received a payment, whom the detection after a payment scans one by one."""
    detection_prepare(env)
    env.cr.execute(
        """SELECT DISTINCT partner.commercial_partner_id
             FROM account_payment payment JOIN res_partner partner ON partner.id = payment.partner_id
            WHERE payment.payment_type = 'inbound' ORDER BY 1 LIMIT %s""",
        [AFTER_PAYMENT_CUSTOMERS],
    )
    return {"customers": [row[0] for row in env.cr.fetchall()]}


def detection_after_payment(env, state):
    """The narrow scan a posted payment runs, for each customer apart."""
    tickets, companies = env["billing.discrepancy"], bench_companies(env)
    for customer in env["res.partner"].browse(state["customers"]):
        tickets._run_detection_for_partners(customer, companies)
    return {"customers": len(state["customers"])}


# ------------------------------------------------------------------- OCA


def has_oca(env):
    return "credit.control.run" in env


def oca_prepare(with_pdf):
    def prepare(env):
        if not with_pdf:
            env.ref(OCA_TEMPLATE).report_template_ids = False
            env.cr.commit()
        return {}

    return prepare


def oca_run(env, _state):
    """OCA's run and communication generation: generate the lines, mark them to
    send (the marker), then its channel action renders and queues the e-mails
    (with the summary letter as PDF when the template attaches it)."""
    from odoo import fields

    policy = env["credit.control.policy"].search([("name", "=", "Bench reminders")])
    lines = communications = 0
    for company in bench_companies(env):
        run = (
            env["credit.control.run"]
            .with_company(company)
            .create({"date": fields.Date.context_today(env.user), "company_id": company.id,
                     "policy_ids": [(6, 0, policy.ids)]})
        )  # fmt: skip
        run.generate_credit_lines()
        run.set_to_ready_lines()
        run.run_channel_action()
        lines += len(run.line_ids)
        communications += len(run.line_ids.communication_id)
    return {"lines": lines, "communications": communications}


# ------------------------------------------------------------- registry


def noop_prepare(_env):
    return {}


def companies_prepare(env):
    return {"companies": bench_companies(env).ids}


def always(_env):
    return True


# operations that only read: one process times READ_CALLS calls of them (the
# median), as a running server answers the same request again and again
READ_ONLY = {
    "floor_dunning",
    "floor_detection",
    "floor_ar",
    "list_plain",
    "list_billing_no_ar",
    "list_billing",
    "detection_after_payment",  # changes nothing once the nightly scan has run
}
READ_CALLS = 5

# name: (available, prepare, run)
OPERATIONS = {
    "floor_dunning": (always, companies_prepare, sql_floor(FLOOR_DUNNING)),
    "floor_detection": (always, companies_prepare, sql_floor(FLOOR_DETECTION)),
    "floor_ar": (always, companies_prepare, sql_floor(FLOOR_AR)),
    "list_plain": (always, *partner_list(plain_list_spec)),
    "list_billing": (always, *partner_list(billing_list_spec)),
    "list_billing_no_ar": (always, *partner_list(billing_list_without_ar_spec)),
    "dunning_plan": (has_dunning, dunning_prepare, dunning_plan),
    "dunning_plan_nightly": (has_dunning, nightly_plan_prepare, dunning_plan),
    "floor_plan_write": (has_dunning, plan_write_prepare, plan_write_floor),
    "dunning_full": (has_dunning, dunning_prepare, dunning_full(skip_pdf=False)),
    "dunning_full_nopdf": (has_dunning, dunning_prepare, dunning_full(skip_pdf=True)),
    "floor_detection_write": (has_detection, detection_write_prepare, detection_write_floor),
    "detection": (has_detection, noop_prepare, detection),
    "detection_rescan": (has_detection, detection_prepare, detection),
    "detection_after_payment": (has_detection, after_payment_prepare, detection_after_payment),
    "oca_full": (has_oca, oca_prepare(with_pdf=True), oca_run),
    "oca_full_nopdf": (has_oca, oca_prepare(with_pdf=False), oca_run),
}


def admin_env(root):
    """The administrator on both bench companies, in the administrator's
    language, with e-mails queued, never sent."""
    from odoo import api

    admin = root.ref("base.user_admin")
    context = {
        "allowed_company_ids": bench_companies(root).ids,
        "mail_notify_force_send": False,
        "lang": admin.lang or "en_US",
    }
    return api.Environment(root.cr, admin.id, context)


def measure(db, name, profile=None):
    from odoo import sql_db

    available, prepare, run = OPERATIONS[name]
    with benchlib.odoo_env(db) as root:
        env = admin_env(root)
        if not available(env):
            return {"status": "not installed yet"}
        state = prepare(env)
        before = produced(env)
        env.cr.commit()
        env.invalidate_all()
        gc.collect()
        queries = sql_db.sql_counter
        profiler = cProfile.Profile() if profile else None
        calls = READ_CALLS if name in READ_ONLY else 1
        walls = []
        for _call in range(calls):
            env.invalidate_all()  # each call as a new request of a running server
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            result = run(env, state)
            env.flush_all()
            env.cr.commit()
            if profiler:
                profiler.disable()
            walls.append(time.perf_counter() - started)
        if profiler:
            profiler.dump_stats(profile)
        queries = (sql_db.sql_counter - queries) // calls
        after = produced(env)
    result.update({key: after[key] - before[key] for key in after if after[key] != before[key]})
    return {
        "status": "ok",
        "wall": statistics.median(walls),
        "queries": queries,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "child_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "result": result,
    }


# one INSERT statement each, whose plan --explain reads
EXPLAINED = ("floor_plan_write", "floor_detection_write")
# "Trigger for constraint billing_reminder_run_id_fkey on billing_reminder: time=25.417 calls=4033"
TRIGGER_LINE = re.compile(r"Trigger for constraint (\S+) on (\S+): time=([\d.]+) calls=(\d+)")
EXECUTION_LINE = re.compile(r"Execution Time: ([\d.]+) ms")


def explain(db, name):
    """Prepare ``name`` as ``measure`` does, then run its statements under
    ``EXPLAIN ANALYZE`` and roll back: the execution time and, apart, what
    PostgreSQL spent checking foreign keys, per table. For the floors of
    writing, which are one statement each."""
    from odoo.tools import SQL

    if name not in EXPLAINED:
        raise SystemExit(f"--explain is for the floors of writing: {', '.join(EXPLAINED)}")
    available, prepare, run = OPERATIONS[name]
    with benchlib.odoo_env(db) as root:
        env = admin_env(root)
        if not available(env):
            return {"status": "not installed yet"}
        state = prepare(env)
        env.cr.commit()
        plan, execute = [], env.cr.execute

        def explained(query, params=None, log_exceptions=True):
            execute(SQL("EXPLAIN (ANALYZE) %s", query))
            plan.extend(row[0] for row in env.cr.fetchall())
            execute(SQL("SELECT 0, 0, 0"))  # what the floor fetches afterwards

        env.cr.execute = explained
        try:
            run(env, state)
        finally:
            env.cr.execute = execute
            env.cr.rollback()
    checks = {}
    for line in plan:
        if match := TRIGGER_LINE.search(line):
            table = checks.setdefault(match[2], {"ms": 0.0, "checks": 0})
            table["ms"] += float(match[3])
            table["checks"] += int(match[4])
    executions = [float(match[1]) for line in plan if (match := EXECUTION_LINE.search(line))]
    return {
        "execution_ms": round(sum(executions), 1),
        "foreign_key_checks_ms": round(sum(table["ms"] for table in checks.values()), 1),
        "per_table": {table: {**values, "ms": round(values["ms"], 1)} for table, values in checks.items()},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--op", required=True, choices=sorted(OPERATIONS))
    parser.add_argument("--profile", metavar="FILE", help="write cProfile statistics of the operation")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="a floor of writing under EXPLAIN ANALYZE, rolled back: where PostgreSQL spends its time",
    )
    args = parser.parse_args()
    assert args.db.startswith("bench_"), args.db
    if args.explain:
        print(json.dumps(explain(args.db, args.op), indent=1), flush=True)
        return
    print(json.dumps(measure(args.db, args.op, args.profile)), flush=True)


if __name__ == "__main__":
    main()
