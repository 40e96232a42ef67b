import logging
from collections import defaultdict
from datetime import timedelta
from typing import NamedTuple

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_round

from ..tools.bulk_insert import insert_records
from ..tools.dunning_rules import compensation_for, fee_allowed
from ..tools.dunning_sql import in_collection_sql, promised_sql
from ..tools.legal_profiles import interest_on, interest_periods
from ..tools.sql_locks import try_job_lock
from ..tools.sql_settings import without_jit
from .res_partner import HELD_ACCOUNT_STATES

_logger = logging.getLogger(__name__)

EXCLUSION_REASONS = [
    ("disputed", "Disputed or pricing discrepancy"),
    ("promise", "Covered by a promise to pay"),
    ("on_hold", "Customer on hold or blocked"),
    ("tolerance", "Below the tolerance"),
    ("no_policy", "Customer without a dunning policy"),
    ("collection", "Handed over to collection"),
    ("awaiting_approval", "Reminder of an earlier run awaiting approval"),
]
# a batch's letters are one wkhtmltopdf run, which takes about a second whatever
# the number of letters: 200 reminders a committed batch (a few seconds each)
SEND_BATCH_SIZE = 200
# a dry run previews a day's run; the vacuum removes it after this many days
DRY_RUN_KEPT_DAYS = 30


class BillingDunningRun(models.Model):
    _name = "billing.dunning.run"
    _description = "Dunning Run"
    _inherit = ["mail.thread"]
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
        readonly=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    approval_required = fields.Boolean(related="company_id.billing_dunning_approval")
    date = fields.Date(required=True, default=fields.Date.context_today, readonly=True)
    is_dry_run = fields.Boolean(
        string="Dry Run",
        readonly=True,
        help="A preview of what would be sent, with the reasons for what is left out; never sent.",
    )
    is_scheduled = fields.Boolean(string="Scheduled", readonly=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Only Customer",
        readonly=True,
        help="Set when the run was started with 'Send now' for one customer.",
    )
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("planned", "Planned"),
            ("approved", "Approved"),
            ("done", "Done"),
            ("cancelled", "Cancelled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
    )
    reminder_ids = fields.One2many("billing.reminder", "run_id", string="Reminders")
    exclusion_ids = fields.One2many("billing.dunning.exclusion", "run_id", string="Left Out")
    reminder_count = fields.Integer(compute="_compute_totals")
    customer_count = fields.Integer(compute="_compute_totals")
    exclusion_count = fields.Integer(compute="_compute_totals")
    failed_count = fields.Integer(
        compute="_compute_totals",
        string="Failed",
        help="Reminders of this run that could not be sent; the company's next run retries them.",
    )
    amount_overdue = fields.Monetary(
        compute="_compute_totals", currency_field="currency_id", string="Overdue (company currency)"
    )
    amount_charges = fields.Monetary(
        compute="_compute_totals", currency_field="currency_id", string="Charges (company currency)"
    )

    _one_scheduled_run_per_day = models.UniqueIndex(
        "(company_id, date) WHERE is_scheduled AND is_dry_run IS NOT TRUE",
        "The scheduled dunning runs once per company and day.",
    )

    @api.depends("date", "is_dry_run", "partner_id.name")
    def _compute_name(self):
        for run in self:
            label = self.env._("Dry Run") if run.is_dry_run else self.env._("Dunning Run")
            name = f"{label} {run.date or ''}"
            run.name = f"{name} ({run.partner_id.name})" if run.partner_id else name

    @api.depends("reminder_ids.state", "exclusion_ids")
    def _compute_totals(self):
        reminders = self.env["billing.reminder"]._read_group(
            [("run_id", "in", self.ids)],
            ["run_id"],
            [
                "__count",
                "partner_id:count_distinct",
                "amount_residual_company:sum",
                "amount_charges_company:sum",
            ],
        )
        by_run = {run.id: rest for run, *rest in reminders}
        exclusions = dict(
            self.env["billing.dunning.exclusion"]._read_group(
                [("run_id", "in", self.ids)], ["run_id"], ["__count"]
            )
        )
        failed = dict(
            self.env["billing.reminder"]._read_group(
                [("run_id", "in", self.ids), ("state", "=", "failed")], ["run_id"], ["__count"]
            )
        )
        for run in self:
            count, customers, overdue, charges = by_run.get(run.id, (0, 0, 0.0, 0.0))
            run.reminder_count = count
            run.customer_count = customers
            run.amount_overdue = overdue
            run.amount_charges = charges
            run.exclusion_count = exclusions.get(run, 0)
            run.failed_count = failed.get(run, 0)

    def unlink(self):
        # the reminders through the ORM: their history guard applies, and their
        # chatter and activities go with them
        self.reminder_ids.unlink()
        return super().unlink()

    # ------------------------------------------------------------------ actions

    def action_plan(self):
        """Plan every due reminder of the run's company (set-based)."""
        for run in self:
            if run.state != "draft":
                raise UserError(self.env._("Only a draft run can be planned."))
            run._plan()
        return True

    def action_approve(self):
        for run in self:
            if run.is_dry_run or run.state != "planned":
                raise UserError(self.env._("Only a planned run that is not a dry run can be approved."))
        drafts = self.reminder_ids.filtered(lambda r: r.state == "draft")
        drafts._move_with_note(
            "to_send",
            lambda reminder: self.env._("Approved for sending with %(run)s.", run=reminder.run_id.name),
        )
        self.write({"state": "approved"})
        for run in self:
            run.message_post(body=self.env._("%(count)s reminders approved.", count=run.reminder_count))
        return True

    def _approve_when_reviewed(self):
        """Approve the runs awaiting approval whose reminders were all approved or
        cancelled one by one: the scheduled action sends approved runs only."""
        reviewed = self.filtered(
            lambda run: (
                run.state == "planned"
                and run.approval_required
                and not run.is_dry_run
                and "draft" not in run.reminder_ids.mapped("state")
            )
        )
        reviewed.write({"state": "approved"})
        for run in reviewed:
            run.message_post(body=self.env._("Every reminder was reviewed one by one: the run is approved."))

    def action_send(self):
        """Send the approved reminders batch by batch, committing progress."""
        for run in self:
            if run.is_dry_run:
                raise UserError(self.env._("A dry run is never sent."))
            if run.state == "draft":
                run._plan()
            if run.state == "planned" and run.approval_required:
                raise UserError(self.env._("Approve the planned reminders before sending them."))
            run._send()
        return True

    def action_cancel(self):
        unsent = self.reminder_ids.filtered(lambda r: r.state in ("draft", "to_send", "failed"))
        unsent._check_no_posted_charges()
        unsent._move_with_note(
            "cancelled", lambda reminder: self.env._("Cancelled with %(run)s.", run=reminder.run_id.name)
        )
        self.write({"state": "cancelled"})
        return True

    def action_view_reminders(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reminders"),
            "res_model": "billing.reminder",
            "view_mode": "list,form",
            "domain": [("run_id", "=", self.id)],
        }

    @api.model
    def _send_now(self, partners):
        """'Send now' for single customers: plan and send at once (the
        coordinator who asks approves)."""
        runs = self.create([
            {"company_id": self.env.company.id, "partner_id": partner.id}
            for partner in partners.commercial_partner_id
        ])  # fmt: skip
        for run in runs:
            run._plan()
            run.reminder_ids.filtered(lambda r: r.state == "draft").write({"state": "to_send"})
            run.state = "approved"
            run._send()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "billing_coordinator.billing_dunning_run_action"
        )
        action.update({"domain": [("id", "in", runs.ids)], "view_mode": "list,form"})
        if len(runs) == 1:
            action.update({"res_id": runs.id, "view_mode": "form", "views": [(False, "form")]})
        return action

    # ---------------------------------------------------------------- planning

    def _plan(self):
        self.ensure_one()
        if not self._lock_for_planning():
            return False
        rows = self._fetch_decided_invoices()
        reached = self._reached_levels({row["level_id"] for row in rows} - {None})
        exclusions, planned = [], []
        for row in rows:
            if row["reason"]:
                exclusions.append({
                    "run_id": self.id, "company_id": self.company_id.id, "move_id": row["move_id"],
                    "partner_id": row["partner_id"], "reason": row["reason"],
                })  # fmt: skip
            else:
                planned.append((row, reached[row["level_id"]]))
        insert_records(self.env["billing.dunning.exclusion"], exclusions)
        self._create_reminders(planned)
        self.state = "planned"
        return True

    def _lock_for_planning(self):
        """Lock this run; a second worker planning it at the same moment skips it."""
        self.env.cr.execute(
            SQL(
                "SELECT id FROM billing_dunning_run WHERE id = %s AND state = 'draft' FOR UPDATE SKIP LOCKED",
                self.id,
            )
        )
        return bool(self.env.cr.fetchone())

    def _fetch_decided_invoices(self):
        """The overdue open customer invoices of the company that are left out, with
        why, or that reach a level of their ladder today, with its level, in one query:
        most nights most of them are between two levels, and are not read at all."""
        self.env.flush_all()
        # its history lookups push the estimate over jit_above_cost: compiling the
        # query took four times as long as running it, every night but the first
        with without_jit(self.env.cr):
            self.env.cr.execute(self._decided_invoices_sql())
            # dictfetchall reads the column names again for every row: a third of
            # the fetch of a first night's ten thousand rows
            names = [column.name for column in self.env.cr.description]
            return [dict(zip(names, values, strict=True)) for values in self.env.cr.fetchall()]

    def _decided_invoices_sql(self):
        """The query of ``_fetch_decided_invoices``. Its rules, in this order: an
        invoice disputed, handed over to collection, promised, of a customer on hold,
        with a reminder awaiting approval, below the tolerance or of a customer
        without a policy with levels is left out. The policy is the customer's own
        (archived or not) when it is of the run's company, else the company's active
        default. Otherwise the invoice reaches the first level of that ladder ranked
        (by sequence, then id) after the level of its latest reminder, if any, once
        the level's days have passed since the due date (trigger "due", or a first
        reminder) or since the latest reminder went out (trigger "previous"); never
        while its latest reminder is dated today or later."""
        customers = self.env["res.partner"].with_company(self.company_id)
        currency = self.company_id.currency_id
        partner_filter = SQL()
        if self.partner_id:
            partner_filter = SQL(
                "AND am.commercial_partner_id = %s", self.partner_id.commercial_partner_id.id
            )
        return SQL(
            """
            WITH overdue AS MATERIALIZED (
                SELECT am.id, am.commercial_partner_id, am.currency_id, am.invoice_date_due,
                       am.amount_residual, am.amount_residual_signed, am.billing_is_disputed
                  FROM account_move am
                 WHERE am.company_id = %(company)s
                   AND am.move_type = 'out_invoice'
                   AND am.state = 'posted'
                   AND am.payment_state IN ('not_paid', 'partial')
                   AND am.amount_residual > 0
                   AND am.invoice_date_due < %(today)s
                   -- fees, interest and compensation are no claim of their own: no fee on a fee
                   AND NOT EXISTS (SELECT 1 FROM billing_reminder charged WHERE charged.fee_move_id = am.id)
                   %(partner_filter)s
            ),
            -- the days between reminders count from the day one went out: approval
            -- or a retry may send it days after it was planned; a reminder still
            -- awaiting approval is no step of the ladder yet
            hist AS (
                SELECT l.move_id,
                       -- the latest reminder's [day, level sequence, level]: MAX of an
                       -- array, unlike an ordered ARRAY_AGG, lets PostgreSQL hash the groups
                       MAX(ARRAY[COALESCE(r.sent_date, l.reminder_date) - DATE '2000-01-01',
                                 COALESCE(lv.sequence, 0), lv.id]) FILTER (WHERE %(reviewed)s)
                           AS latest,
                       ARRAY_AGG(COALESCE(r.sent_date, l.reminder_date))
                           FILTER (WHERE %(reviewed)s AND l.fee_charged) AS fee_dates,
                       BOOL_OR(l.compensation_amount > 0) FILTER (WHERE %(reviewed)s) AS compensated,
                       MAX(l.interest_date_to) FILTER (WHERE %(reviewed)s) AS interest_to,
                       BOOL_OR(l.state = 'draft') AS awaiting_approval
                  FROM overdue
                  JOIN billing_reminder_line l ON l.move_id = overdue.id
                  JOIN billing_reminder r ON r.id = l.reminder_id
                  JOIN billing_dunning_level lv ON lv.id = l.level_id
                 WHERE l.state != 'cancelled' AND l.is_dry_run IS NOT TRUE
              GROUP BY l.move_id
            ),
            levels AS MATERIALIZED (
                SELECT lv.id, lv.policy_id, COALESCE(lv.sequence, 0) AS sequence,
                       lv.trigger, lv.trigger_days
                  FROM billing_dunning_level lv
                 WHERE lv.company_id = %(company)s
            ),
            claims AS (
                SELECT am.id AS move_id,
                       am.commercial_partner_id AS partner_id,
                       am.currency_id,
                       am.invoice_date_due AS due_date,
                       am.amount_residual::float8 AS amount_residual,
                       am.amount_residual_signed::float8 AS amount_residual_company,
                       COALESCE(am.billing_is_disputed, FALSE) AS disputed,
                       COALESCE(customer.is_company, FALSE) AS is_company,
                       %(account_state)s IN %(held)s AS on_hold,
                       -- a policy of another company, stored before check_company, is ignored
                       COALESCE(
                           chosen_policy.id,
                           (SELECT p.id FROM billing_dunning_policy p
                             WHERE p.company_id = %(company)s AND p.is_default AND p.active
                          ORDER BY p.id LIMIT 1)
                       ) AS policy_id,
                       hist.latest[3] AS last_level_id,
                       hist.latest[2] AS last_level_sequence,
                       DATE '2000-01-01' + hist.latest[1] AS last_date,
                       hist.fee_dates,
                       COALESCE(hist.compensated, FALSE) AS compensated,
                       hist.interest_to,
                       COALESCE(hist.awaiting_approval, FALSE) AS awaiting_approval
                  FROM overdue am
                  JOIN res_partner customer ON customer.id = am.commercial_partner_id
                  LEFT JOIN billing_dunning_policy chosen_policy
                         ON chosen_policy.id = %(customer_policy)s AND chosen_policy.company_id = %(company)s
                  LEFT JOIN hist ON hist.move_id = am.id
            ),
            decided AS MATERIALIZED (
                SELECT claims.*,
                       CASE WHEN claims.disputed THEN 'disputed'
                            WHEN %(in_collection)s THEN 'collection'
                            WHEN %(promised)s THEN 'promise'
                            WHEN claims.on_hold THEN 'on_hold'
                            WHEN claims.awaiting_approval THEN 'awaiting_approval'
                            WHEN claims.amount_residual_company < %(tolerance)s THEN 'tolerance'
                            WHEN NOT EXISTS (SELECT 1 FROM levels WHERE levels.policy_id = claims.policy_id)
                                 THEN 'no_policy'
                       END AS reason
                  FROM claims
            ),
            -- the next level of each ladder after each level (0: before its first):
            -- thousands of invoices share a handful of them
            next_levels AS (
                SELECT rung.policy_id, rung.after_level_id,
                       next_level.id, next_level.trigger, next_level.trigger_days
                  FROM (SELECT DISTINCT policy_id, COALESCE(last_level_id, 0) AS after_level_id,
                                        last_level_sequence
                          FROM decided WHERE reason IS NULL) rung
                  JOIN LATERAL (
                        SELECT lv.id, lv.trigger, lv.trigger_days
                          FROM levels lv
                         WHERE lv.policy_id = rung.policy_id
                           AND (rung.after_level_id = 0
                                OR (lv.sequence, lv.id) > (rung.last_level_sequence, rung.after_level_id))
                      ORDER BY lv.sequence, lv.id
                         LIMIT 1
                       ) next_level ON TRUE
            )
            SELECT decided.*, next_levels.id AS level_id
              FROM decided
              LEFT JOIN next_levels
                     ON decided.reason IS NULL
                    AND next_levels.policy_id = decided.policy_id
                    AND next_levels.after_level_id = COALESCE(decided.last_level_id, 0)
             WHERE decided.reason IS NOT NULL
                -- at the top of its ladder an invoice reaches no level
                OR (next_levels.id IS NOT NULL
                    AND COALESCE(decided.last_date < %(today)s, TRUE)
                    AND %(today)s - CASE WHEN next_levels.trigger = 'previous'
                                          AND decided.last_date IS NOT NULL THEN decided.last_date
                                         ELSE decided.due_date END
                        >= next_levels.trigger_days)
             ORDER BY decided.partner_id, decided.due_date, decided.move_id
            """,
            today=self.date,
            company=self.company_id.id,
            partner_filter=partner_filter,
            # in the CASE only: looked up once per invoice, and not for a disputed one
            promised=promised_sql(SQL("claims.move_id"), self.date),
            in_collection=in_collection_sql(SQL("claims.move_id")),
            reviewed=SQL("l.state != 'draft'"),
            customer_policy=customers._field_to_sql("customer", "billing_dunning_policy_id"),
            account_state=customers._field_to_sql("customer", "billing_account_state"),
            held=HELD_ACCOUNT_STATES,
            # below the company's tolerance, rounded, less half a rounding unit, is too small
            tolerance=currency.round(self.company_id.billing_dunning_tolerance) - currency.rounding / 2,
        )

    @api.model
    def _reached_levels(self, level_ids):
        """``{level id: ReachedLevel}``: each level reached today with its terms, read once."""
        return {
            level.id: ReachedLevel(
                level,
                LevelTerms(
                    level.fee_amount,
                    level.apply_interest,
                    level.apply_compensation,
                    level.send_email,
                    level.send_letter,
                ),
            )
            for level in self.env["billing.dunning.level"].browse(level_ids)
        }

    def _create_reminders(self, planned):
        """One reminder per customer, level and currency, with a line per invoice
        (inserted set-based: a run plans thousands of them)."""
        groups = defaultdict(list)
        for row, reached in planned:
            groups[(row["partner_id"], reached, row["currency_id"])].append(row)
        if not groups:
            return self.env["billing.reminder"]
        # most nights most overdue customers have nothing new: their contacts are not read
        contacts = self._invoice_contacts(
            self.env["res.partner"].browse({partner_id for partner_id, _reached, _currency in groups})
        )
        if self.is_dry_run:
            state = "draft"
        else:
            state = "draft" if self.company_id.billing_dunning_approval else "to_send"
        charges = self._charge_calculator()
        reminder_vals, lines_per_reminder = [], []
        for (partner_id, reached, currency_id), rows in groups.items():
            level, terms = reached.level, reached.terms
            currency = self.env["res.currency"].browse(currency_id)
            lines = [charges.line_values(row, terms, currency) for row in rows]
            fee = charges.reminder_fee(terms, currency) if any(line["fee_charged"] for line in lines) else 0.0
            contact = contacts[partner_id]
            customer = self.env["res.partner"].browse(partner_id)
            email_to = self.env["billing.reminder"]._email_to_for(customer, contact)
            reminder_vals.append({
                "run_id": self.id,
                "company_id": self.company_id.id,
                "partner_id": partner_id,
                "contact_id": contact.id,
                "level_id": level.id,
                "currency_id": currency_id,
                "date": self.date,
                "state": state,
                "email_to": email_to,
                "channel": self._channel(terms, customer, email_to),
                "fee_amount": fee,
                "is_dry_run": self.is_dry_run,
                "amount_residual_company": sum(row["amount_residual_company"] for row in rows),
                **self._reminder_totals(lines, fee, currency, charges),
                "collection_deadline": False,
            })  # fmt: skip
            lines_per_reminder.append(lines)
        reminders = insert_records(self.env["billing.reminder"], reminder_vals)
        line_vals = [
            dict(
                line,
                reminder_id=reminder.id,
                company_id=vals["company_id"],
                state=vals["state"],
                reminder_date=vals["date"],
                days_overdue=(vals["date"] - line["due_date"]).days,
                level_id=vals["level_id"],
                is_dry_run=self.is_dry_run,
            )
            for reminder, vals, lines in zip(reminders, reminder_vals, lines_per_reminder, strict=True)
            for line in lines
        ]
        insert_records(self.env["billing.reminder.line"], line_vals)
        self._note_uncovered_interest(charges)
        return reminders

    def _note_uncovered_interest(self, charges):
        """Say on the run when no reference rate covered some late interest."""
        if charges.uncovered_days:
            self.message_post(
                body=self.env._(
                    "No reference rate is in force on %(date)s: late interest running from that day "
                    "or earlier was not charged. Add the rate under Billing → Configuration → "
                    "Reference Interest Rates.",
                    date=min(charges.uncovered_days),
                )
            )

    def _reminder_totals(self, lines, fee, currency, charges):
        """The reminder's stored totals, as ``billing.reminder._compute_amounts`` sums them."""
        residual = charges.round(sum(line["amount_residual"] for line in lines), currency)
        interest = charges.round(sum(line["interest_amount"] for line in lines), currency)
        compensation = charges.round(sum(line["compensation_amount"] for line in lines), currency)
        return {
            "amount_residual": residual,
            "interest_amount": interest,
            "compensation_amount": compensation,
            "amount_total": charges.round(residual + interest + compensation + fee, currency),
            "amount_charges_company": charges.convert(
                fee + interest + compensation, currency, charges.company_currency
            ),
        }

    def _invoice_contacts(self, partners):
        """Where each customer's reminder goes: the invoice contact of its billing
        profile, else its first invoice address, else the customer itself (one
        search for the whole set)."""
        children = self.env["res.partner"].search_fetch(
            [("parent_id", "in", partners.ids), ("type", "=", "invoice")],
            ["parent_id", "email"],
            order="id desc",
        )
        # not every field of thousands of customers
        partners.fetch(["email", "billing_invoice_contact_id", "billing_invoice_email", "billing_channel"])
        contacts = {partner.id: partner for partner in partners}
        for child in children:
            contacts[child.parent_id.id] = child
        for partner in partners.filtered("billing_invoice_contact_id"):
            contacts[partner.id] = partner.billing_invoice_contact_id
        return contacts

    @api.model
    def _channel(self, terms, customer, email_to):
        """E-mail when the level sends one, the customer has not asked for letters
        and there is an address to send it to, with a printed letter too when the
        level sends one; a printed letter otherwise."""
        if terms.send_email and customer.billing_channel != "letter" and email_to:
            return "both" if terms.send_letter else "email"
        return "letter"

    def _charge_calculator(self):
        return DunningCharges(self)

    # ------------------------------------------------------------------ sending

    def _send(self, batch_size=SEND_BATCH_SIZE):
        """Send this run's reminders (and retry the company's failed ones) in
        batches; each batch is committed, so a crash resumes after the last."""
        self.ensure_one()
        self.env["billing.reminder"]._collect_mail_failures(self.company_id)
        started = fields.Datetime.now()
        sent = 0
        while True:
            batch = self._lock_next_batch(started, batch_size)
            if not batch:
                break
            batch._send_reminders()
            sent += len(batch)
            remaining_time = self.env["ir.cron"]._commit_progress(
                len(batch), remaining=self._count_to_send(started)
            )
            if not remaining_time:
                return sent
        if self.state in ("planned", "approved") and not self._count_to_send(started):
            self.state = "done"
            self._note_failures()
        return sent

    def _note_failures(self):
        """Say on a finished run how many of its reminders could not be sent."""
        if self.failed_count:
            self.message_post(
                body=self.env._(
                    "Reminders not sent: %(count)s. Each says why; the next run retries them.",
                    count=self.failed_count,
                )
            )

    def _send_domain_sql(self, started):
        return SQL(
            """(r.run_id = %(run)s AND r.state = 'to_send')
               OR (r.company_id = %(company)s AND r.state = 'failed' AND r.is_dry_run IS NOT TRUE
                   AND (r.send_attempted_at IS NULL OR r.send_attempted_at < %(started)s))""",
            run=self.id,
            company=self.company_id.id,
            started=started,
        )

    def _lock_next_batch(self, started, batch_size):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT r.id FROM billing_reminder r WHERE %s ORDER BY r.id LIMIT %s FOR UPDATE SKIP LOCKED",
                self._send_domain_sql(started),
                batch_size,
            )
        )
        return self.env["billing.reminder"].browse([row[0] for row in self.env.cr.fetchall()])

    def _count_to_send(self, started):
        self.env.flush_all()
        self.env.cr.execute(
            SQL("SELECT COUNT(*) FROM billing_reminder r WHERE %s", self._send_domain_sql(started))
        )
        return self.env.cr.fetchone()[0]

    # -------------------------------------------------------------- scheduling

    @api.model
    def _cron_dunning(self, companies=None):
        """Daily: settle due promises, then plan and send one run per company."""
        self.env["billing.promise"]._cron_check_promises()
        companies = companies or self.env["res.company"].search([("active", "=", True)])
        for company in companies:
            self.env["ir.cron"]._commit_progress(0)
            if not self._lock_company(company):
                _logger.info("Another worker is planning the dunning of %s", company.name)
                continue
            run = self._daily_run(company).with_company(company)
            if run.state == "draft":
                run._plan()
            # commit the plan (and release the company lock) before sending
            self.env["ir.cron"]._commit_progress(0)
            for unfinished in self._unfinished_runs(company):
                unfinished.with_company(company)._send()

    @api.autovacuum
    def _gc_dry_runs(self):
        """Dry runs older than ``DRY_RUN_KEPT_DAYS``, in every company."""
        oldest_kept = fields.Date.today() - timedelta(days=DRY_RUN_KEPT_DAYS)
        self.sudo().search([("is_dry_run", "=", True), ("date", "<", oldest_kept)]).unlink()

    @api.model
    def _lock_company(self, company):
        """A transaction lock per company: two workers never plan it at once."""
        return try_job_lock(self.env.cr, self._name, company.id)

    @api.model
    def _daily_run(self, company):
        """Today's scheduled run of ``company`` (the unique index is the last guard)."""
        today = fields.Date.context_today(self.with_company(company))
        run = self.search(
            [
                ("company_id", "=", company.id),
                ("date", "=", today),
                ("is_scheduled", "=", True),
                ("is_dry_run", "=", False),
            ],
            limit=1,
        )
        return run or self.create({"company_id": company.id, "date": today, "is_scheduled": True})

    @api.model
    def _unfinished_runs(self, company):
        domain = [("company_id", "=", company.id), ("is_dry_run", "=", False)]
        if company.billing_dunning_approval:
            domain.append(("state", "=", "approved"))
        else:
            domain.append(("state", "in", ("planned", "approved")))
        return self.search(domain)


class BillingDunningExclusion(models.Model):
    _name = "billing.dunning.exclusion"
    _description = "Invoice Left Out of a Dunning Run"
    _order = "run_id, partner_id, move_id"

    run_id = fields.Many2one("billing.dunning.run", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    move_id = fields.Many2one("account.move", string="Invoice", required=True, ondelete="cascade")
    partner_id = fields.Many2one(related="move_id.commercial_partner_id", store=True, string="Customer")
    currency_id = fields.Many2one(related="move_id.currency_id")
    amount_residual = fields.Monetary(related="move_id.amount_residual", string="Open Amount")
    reason = fields.Selection(EXCLUSION_REASONS, required=True)


class LevelTerms(NamedTuple):
    """What a level charges and how it is sent."""

    fee_amount: float
    apply_interest: bool
    apply_compensation: bool
    send_email: bool
    send_letter: bool


class ReachedLevel(NamedTuple):
    """A level of a policy an invoice reaches, and its terms."""

    level: models.BaseModel
    terms: LevelTerms


class DunningCharges:
    """Fees, interest and compensation of one run, from the rule book (rates,
    currency conversions and roundings are looked up once per run: a run charges
    thousands of invoices)."""

    def __init__(self, run):
        self.run = run
        self.env = run.env
        self.company = run.company_id
        self.company_currency = self.company.currency_id
        self.profile = self.company._billing_legal_rules()
        self.day_count = self.company.billing_interest_day_count
        country = self.company.country_id or self.env.ref("base.dk")
        self.rates = self.env["billing.interest.rate"]._rates_for_country(country)
        self._currencies = {}
        self._rates = {}
        self._roundings = {}
        self._compensations = {}
        self._interest_periods = {}
        #: first days of interest no reference rate covers: no interest charged
        self.uncovered_days = set()

    def round(self, amount, currency):
        """``currency.round(amount)``, with the rounding read once per currency."""
        if currency.id not in self._roundings:
            self._roundings[currency.id] = currency.rounding
        return float_round(amount, precision_rounding=self._roundings[currency.id])

    def compensation(self, currency):
        """The legal compensation for an invoice in ``currency``, in it (or 0)."""
        if currency.id not in self._compensations:
            legal = compensation_for(self.profile, currency.name)
            self._compensations[currency.id] = (
                self.convert(legal[0], self.currency(legal[1]), currency) if legal else 0.0
            )
        return self._compensations[currency.id]

    def currency(self, code):
        if code not in self._currencies:
            self._currencies[code] = (
                self.env["res.currency"]
                .with_context(active_test=False)
                .search([("name", "=", code)], limit=1)
            )
        return self._currencies[code]

    def convert(self, amount, from_currency, to_currency):
        if from_currency.id == to_currency.id:
            return self.round(amount, to_currency)
        key = (from_currency.id, to_currency.id)
        if key not in self._rates:
            self._rates[key] = from_currency._get_conversion_rate(
                from_currency, to_currency, self.company, self.run.date
            )
        return self.round(amount * self._rates[key], to_currency)

    def interest(self, amount, date_from):
        """Late interest on ``amount`` from ``date_from`` to the run's date (none
        without a reference rate in force). The rate periods are worked out once
        per start date: a run charges interest on thousands of invoices due on
        a few hundred days."""
        if amount <= 0 or date_from >= self.run.date:
            return 0.0
        if date_from not in self._interest_periods:
            try:
                periods = interest_periods(
                    self.rates, date_from, self.run.date, self.profile.interest_margin, self.day_count
                )
            except ValueError:
                periods = ()
                self.uncovered_days.add(date_from + timedelta(days=1))
            self._interest_periods[date_from] = periods
        return interest_on(amount, self._interest_periods[date_from])

    def reminder_fee(self, terms, currency):
        return self.convert(terms.fee_amount, self.company_currency, currency)

    def line_values(self, row, terms, currency):
        date = self.run.date
        fee_dates = [day for day in (row["fee_dates"] or []) if day]
        fee_ok = bool(terms.fee_amount) and fee_allowed(self.profile, fee_dates, date, row["disputed"])[0]
        interest, interest_from = 0.0, False
        if terms.apply_interest and self.profile.interest_margin is not None:
            interest_from = max(row["due_date"], row["interest_to"] or row["due_date"])
            interest = self.interest(row["amount_residual"], interest_from)
        compensation = 0.0
        if terms.apply_compensation and row["is_company"] and not row["compensated"]:
            compensation = self.compensation(currency)
        return {
            "move_id": row["move_id"],
            "due_date": row["due_date"],
            "amount_residual": row["amount_residual"],
            "fee_charged": fee_ok,
            "interest_amount": self.round(interest, currency),
            "interest_date_from": interest_from if interest else False,
            "interest_date_to": date if interest else False,
            "compensation_amount": compensation,
        }
