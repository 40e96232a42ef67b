import logging

from psycopg2 import IntegrityError

from odoo import api, fields, models
from odoo.tools import SQL, float_compare

from ..tools.sql_arrays import id_array
from ..tools.sql_settings import without_jit
from .billing_discrepancy_stage import CLOSED_STATES

_logger = logging.getLogger(__name__)


def _tolerance_sql(base):
    """SQL for the tolerance of a document of ``base`` (company currency): the
    lower of the company's amount and percentage; ``company`` must be joined."""
    return SQL(
        """LEAST(
            COALESCE(company.billing_discrepancy_tolerance_amount, 0),
            CASE WHEN COALESCE(company.billing_discrepancy_tolerance_percent, 0) > 0
                 THEN ABS(%s) * company.billing_discrepancy_tolerance_percent / 100
                 ELSE COALESCE(company.billing_discrepancy_tolerance_amount, 0) END)""",
        base,
    )


class BillingDiscrepancyDetection(models.AbstractModel):
    """Automatic detection of discrepancy tickets (mixed into ``billing.discrepancy``):
    set-based scans that open, refresh and close tickets."""

    _name = "billing.discrepancy.detection"
    _description = "Discrepancy Detection"

    @api.model
    def _run_detection(self, companies=None):
        """Full scan of all (or the given) companies: open a ticket for every new
        fact, refresh the open ones and close those whose facts disappeared.
        Returns the tickets opened."""
        companies = companies or self.env["res.company"].sudo().search([("active", "=", True)])
        return self.sudo()._detect_and_sync(companies, partners=None)

    @api.model
    def _run_detection_for_partners(self, partners, companies):
        """Narrow scan for the customers a payment or reconciliation touched."""
        customers = partners.commercial_partner_id
        if not customers or not companies or self.env.context.get("billing_defer_detection"):
            return self.browse()
        return self.sudo()._detect_and_sync(companies, partners=customers)

    @api.model
    def _cron_run_detection(self):
        """Nightly scan, one company per batch; a second worker skips the
        companies the first one is scanning."""
        cron = self.env["ir.cron"]
        company_ids = self.env["res.company"].sudo().search([("active", "=", True)]).ids
        for index, company_id in enumerate(company_ids):
            self.env.cr.execute(
                SQL("SELECT id FROM res_company WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED", company_id)
            )
            if self.env.cr.fetchone():
                self._run_detection(self.env["res.company"].browse(company_id))
            if not cron._commit_progress(1, remaining=len(company_ids) - index - 1):
                break

    def _detect_and_sync(self, companies, partners):
        self.env.flush_all()  # the rules read invoices, payments and lines in SQL
        facts = {}
        for detector in (self._detect_short_payments, self._detect_payment_facts):
            for fact in detector(companies, partners):
                facts.setdefault((fact["company_id"], fact["detection_key"]), fact)
        return self._sync_detected_tickets(facts, companies, partners)

    # ------------------------------------------------------------------
    # the four rules: one query each for the whole set
    # ------------------------------------------------------------------
    def _partner_filter(self, column, partners):
        return SQL("AND %s = ANY(%s)", column, id_array(partners.ids)) if partners else SQL()

    def _detect_short_payments(self, companies, partners):
        """Invoices partly paid, last paid more than N days ago, with a residual
        above tolerance."""
        today = fields.Date.context_today(self)
        self.env.cr.execute(
            SQL(
                """
            SELECT move.id, move.company_id, move.commercial_partner_id, move.currency_id,
                   move.amount_total, move.amount_residual, paid.payment_ids
              FROM account_move move
              JOIN res_company company ON company.id = move.company_id
             -- the partly paid invoices first, then only their own reconciliations
             CROSS JOIN LATERAL (
                   SELECT MAX(part.max_date) AS paid_on,
                          ARRAY_AGG(DISTINCT credit.payment_id)
                              FILTER (WHERE credit.payment_id IS NOT NULL) AS payment_ids
                     FROM account_move_line debit
                     JOIN account_partial_reconcile part ON part.debit_move_id = debit.id
                     JOIN account_move_line credit ON credit.id = part.credit_move_id
                    WHERE debit.move_id = move.id
             ) paid
             WHERE move.move_type = 'out_invoice'
               AND move.state = 'posted'
               AND move.payment_state = 'partial'
               AND move.company_id = ANY(%(companies)s)
               %(partner_filter)s
               AND paid.paid_on <= %(today)s::date - COALESCE(company.billing_discrepancy_days, 0)
               AND move.amount_residual_signed > %(tolerance)s
            """,
                companies=companies.ids,
                partner_filter=self._partner_filter(SQL("move.commercial_partner_id"), partners),
                today=today,
                tolerance=_tolerance_sql(SQL("move.amount_total_signed")),
            )
        )
        return [
            {
                "detection_key": f"short_payment:{move_id}",
                "discrepancy_type": "short_payment",
                "company_id": company_id,
                "partner_id": partner_id,
                "currency_id": currency_id,
                "expected_amount": total,
                "received_amount": total - residual,
                "invoice_ids": [move_id],
                "payment_ids": payment_ids or [],
            }
            for move_id, company_id, partner_id, currency_id, total, residual, payment_ids in (
                self.env.cr.fetchall()
            )
        ]

    def _customer_payments_sql(self, companies, partners, condition=None):
        """Posted inbound customer payments, with their customer (commercial partner)."""
        return SQL(
            """
            SELECT payment.id, payment.move_id, payment.company_id,
                   partner.commercial_partner_id AS customer_id,
                   payment.currency_id, payment.amount, payment.date,
                   NULLIF(TRIM(payment.memo), '') AS memo
              FROM account_payment payment
              JOIN res_partner partner ON partner.id = payment.partner_id
             WHERE payment.payment_type = 'inbound'
               AND payment.partner_type = 'customer'
               AND payment.state IN ('in_process', 'paid')
               AND payment.company_id = ANY(%s)
               %s %s
            """,
            companies.ids,
            self._partner_filter(SQL("partner.commercial_partner_id"), partners),
            condition or SQL(),
        )

    def _open_payments_sql(self, companies, partners):
        """Customer payments whose receivable line is not fully reconciled (found
        through Odoo's index on unreconciled lines), with that line and whether
        any part of it is applied."""
        return SQL(
            """
            SELECT payment.*, line.id AS line_id, line.balance, line.amount_residual,
                   line.amount_residual_currency,
                   EXISTS(SELECT 1 FROM account_partial_reconcile part
                           WHERE part.credit_move_id = line.id) AS applied
              FROM account_move_line line
              JOIN (%s) payment ON payment.move_id = line.move_id
             WHERE line.reconciled IS NOT TRUE
               -- the account ids as an array: PostgreSQL then reads the index
               AND line.account_id = ANY(ARRAY(
                    SELECT id FROM account_account WHERE account_type = 'asset_receivable'))
               AND line.parent_state = 'posted'
               AND line.balance < 0
               AND line.company_id = ANY(%s)
            """,
            self._customer_payments_sql(companies, partners),
            companies.ids,
        )

    def _detect_payment_facts(self, companies, partners):
        """The three rules on customer payments (duplicate, overpayment,
        unapplied), in one query."""
        rules = {
            "duplicate_payment": self._duplicate_payments_sql(),
            "overpayment": self._overpayments_sql(),
            "unapplied_payment": self._unapplied_payments_sql(),
        }
        with without_jit(self.env.cr):
            self.env.cr.execute(
                SQL(
                    """
                WITH pay AS MATERIALIZED (%(open_payments)s),
                     open_amounts AS MATERIALIZED (%(open_amounts)s),
                     same_key_payments AS MATERIALIZED (%(same_key_payments)s)
                %(rules)s
                """,
                    open_payments=self._open_payments_sql(companies, partners),
                    open_amounts=self._open_invoice_amounts_sql(companies, partners),
                    # the payments a duplicate may repeat, found by a hashed
                    # semi-join: the rule does not sort every payment ever received
                    same_key_payments=self._customer_payments_sql(
                        companies,
                        partners,
                        SQL(
                            """AND (payment.company_id, partner.commercial_partner_id,
                                    payment.currency_id, payment.amount) IN (
                                   SELECT company_id, customer_id, currency_id, amount FROM pay)"""
                        ),
                    ),
                    rules=SQL(" UNION ALL ").join(
                        SQL("(SELECT %s, rule.* FROM (%s) AS rule)", name, rule_sql)
                        for name, rule_sql in rules.items()
                    ),
                )
            )
            return [self._payment_fact(*row) for row in self.env.cr.fetchall()]

    def _payment_fact(
        self, rule, payment_id, other_id, company_id, partner_id, currency_id, amount, unapplied, invoice_ids
    ):
        expected, received = {
            "duplicate_payment": (amount, 2 * amount),
            "overpayment": (amount - unapplied, amount),
            "unapplied_payment": (0.0, amount),
        }[rule]
        return {
            "detection_key": f"{rule}:{payment_id}",
            "discrepancy_type": rule,
            "company_id": company_id,
            "partner_id": partner_id,
            "currency_id": currency_id,
            "expected_amount": expected,
            "received_amount": received,
            "invoice_ids": invoice_ids,
            "payment_ids": [other_id, payment_id] if other_id else [payment_id],
        }

    def _open_invoice_amounts_sql(self, companies, partners):
        """The open amounts of the customers' open invoices (what a repeated
        payment may legitimately pay). Not made distinct: the NOT IN that reads
        them hashes them anyway, and sorting them first took a fifth of the scan."""
        return SQL(
            """
            SELECT company_id, commercial_partner_id, currency_id, amount_residual
              FROM account_move
             WHERE move_type = 'out_invoice'
               AND state = 'posted'
               AND payment_state IN ('not_paid', 'partial')
               AND company_id = ANY(%s)
               %s
            """,
            companies.ids,
            self._partner_filter(SQL("commercial_partner_id"), partners),
        )

    # each rule selects (payment, other payment, company, customer, currency,
    # amount, unapplied amount, invoices) from ``pay``, the payments not fully
    # reconciled (``_open_payments_sql``)

    def _duplicate_payments_sql(self):
        """A payment not applied in full that repeats an earlier one: same
        customer, currency and amount, and the same memo or within the window,
        while the customer has no open invoice of that amount it could pay."""
        return SQL("""
            SELECT DISTINCT ON (later.id)
                   later.id, earlier.id, later.company_id, later.customer_id,
                   later.currency_id, later.amount, 0.0, ARRAY[]::int[]
              FROM pay later
              JOIN res_company company ON company.id = later.company_id
              JOIN same_key_payments earlier
                ON earlier.company_id = later.company_id
               AND earlier.customer_id = later.customer_id
               AND earlier.currency_id = later.currency_id
               AND earlier.amount = later.amount
               AND (earlier.date, earlier.id) < (later.date, later.id)
               AND (earlier.memo = later.memo
                    OR later.date - earlier.date <= COALESCE(company.billing_duplicate_window_days, 0))
             -- NOT IN: a hashed lookup whatever the row estimates of the CTEs
             WHERE (later.company_id, later.customer_id, later.currency_id, later.amount) NOT IN (
                    SELECT company_id, commercial_partner_id, currency_id, amount_residual FROM open_amounts)
             ORDER BY later.id, earlier.date DESC, earlier.id DESC
        """)

    def _overpayments_sql(self):
        """Payments applied to invoices that still leave unapplied credit above
        tolerance."""
        return SQL(
            """
            SELECT pay.id, NULL::int, pay.company_id, pay.customer_id, pay.currency_id, pay.amount,
                   CASE WHEN pay.currency_id = company.currency_id THEN -pay.amount_residual
                        ELSE -pay.amount_residual_currency END,
                   ARRAY(SELECT DISTINCT debit.move_id
                           FROM account_partial_reconcile part
                           JOIN account_move_line debit ON debit.id = part.debit_move_id
                          WHERE part.credit_move_id = pay.line_id)
              FROM pay
              JOIN res_company company ON company.id = pay.company_id
             WHERE pay.applied
               AND -pay.amount_residual > %s
            """,
            _tolerance_sql(SQL("pay.balance")),
        )

    def _unapplied_payments_sql(self):
        """Payments not reconciled with anything more than N days after their date."""
        return SQL(
            """
            SELECT pay.id, NULL::int, pay.company_id, pay.customer_id, pay.currency_id, pay.amount,
                   0.0, ARRAY[]::int[]
              FROM pay
              JOIN res_company company ON company.id = pay.company_id
             WHERE NOT pay.applied
               AND pay.date <= %s::date - COALESCE(company.billing_discrepancy_days, 0)
            """,
            fields.Date.context_today(self),
        )

    # ------------------------------------------------------------------
    # tickets from facts
    # ------------------------------------------------------------------
    def _sync_detected_tickets(self, facts, companies, partners):
        # a payment flagged as a duplicate is not also reported as unapplied
        duplicated = {key[1].split(":")[1] for key in facts if key[1].startswith("duplicate_payment:")}
        facts = {
            key: fact
            for key, fact in facts.items()
            if not (key[1].startswith("unapplied_payment:") and key[1].split(":")[1] in duplicated)
        }
        existing = self._detected_tickets(companies, partners)
        created = self._create_detected([fact for key, fact in facts.items() if key not in existing])
        resolving = self.env.context.get("billing_resolving_ticket_id")
        todo = {}  # ticket id: its fact, or None when the fact is gone
        for key, (ticket_id, closed, resolution, expected, received, rounding) in existing.items():
            if ticket_id == resolving or (closed and resolution != "facts_gone"):
                continue  # closed by a person: stays closed
            fact = facts.get(key)
            if not fact:
                if not closed:
                    todo[ticket_id] = None
            elif (
                closed
                or float_compare(expected, fact["expected_amount"], precision_rounding=rounding)
                or (float_compare(received, fact["received_amount"], precision_rounding=rounding))
            ):
                todo[ticket_id] = fact
        vanished, reopened = [], []
        for ticket in self.browse(todo)._lock_for_update():
            fact = todo[ticket.id]
            if not fact:
                if not ticket.is_closed:
                    vanished.append(ticket.id)
            elif ticket.is_closed:
                ticket._reopen_facts_back(fact)
                reopened.append(ticket.id)
            else:
                ticket._refresh_from_fact(fact)
        self.browse(vanished)._close_facts_gone()
        self.browse(reopened)._log_note(
            self.env._("Reopened automatically: the detection finds this discrepancy again.")
        )
        return created

    def _detected_tickets(self, companies, partners):
        """``{(company id, detection key): (id, closed, resolution, expected,
        received, currency rounding)}`` of the tickets the detection opened, read
        in one query: a nightly scan compares thousands of them and changes few."""
        self.flush_model(["company_id", "detection_key", "state", "resolution", "expected_amount",
                          "received_amount", "currency_id", "partner_id"])  # fmt: skip
        self.env.cr.execute(
            SQL(
                """
            SELECT ticket.company_id, ticket.detection_key, ticket.id, ticket.state IN %(closed)s,
                   ticket.resolution, ticket.expected_amount, ticket.received_amount, currency.rounding
              FROM billing_discrepancy ticket
              JOIN res_currency currency ON currency.id = ticket.currency_id
             WHERE ticket.company_id = ANY(%(companies)s)
               AND ticket.detection_key IS NOT NULL
               %(partner_filter)s
            """,
                closed=CLOSED_STATES,
                companies=companies.ids,
                partner_filter=self._partner_filter(SQL("ticket.partner_id"), partners),
            )
        )
        return {
            (company_id, key): (
                ticket_id,
                closed,
                resolution,
                float(expected),
                float(received),
                float(rounding),
            )
            for company_id, key, ticket_id, closed, resolution, expected, received, rounding in (
                self.env.cr.fetchall()
            )
        }

    def _create_detected(self, facts):
        if not facts:
            return self.browse()
        vals_list = [self._ticket_vals_from_fact(fact) for fact in facts]
        # the detection is no coordinator: no creation note, no follower, no tracking
        tickets = self.with_context(mail_create_nolog=True, mail_create_nosubscribe=True, mail_notrack=True)
        try:
            with self.env.cr.savepoint():
                return tickets.create(vals_list)
        except IntegrityError:
            # another worker opened some of them meanwhile: keep the others
            _logger.info("Discrepancy detection: a concurrent scan opened some tickets first")
        created = self.browse()
        for vals in vals_list:
            try:
                with self.env.cr.savepoint():
                    created |= tickets.create(vals)
            except IntegrityError:
                continue
        return created

    def _ticket_vals_from_fact(self, fact):
        vals = {
            key: fact[key]
            for key in (
                "detection_key",
                "discrepancy_type",
                "company_id",
                "partner_id",
                "currency_id",
                "expected_amount",
                "received_amount",
            )
        }
        vals["invoice_ids"] = [fields.Command.set(fact["invoice_ids"])]
        vals["payment_ids"] = [fields.Command.set(fact["payment_ids"])]
        return vals

    def _lock_for_update(self):
        """The tickets of ``self`` no other transaction is working on, locked."""
        if not self:
            return self
        self.env.cr.execute(
            SQL(
                "SELECT id FROM billing_discrepancy WHERE id = ANY(%s) ORDER BY id FOR UPDATE SKIP LOCKED",
                id_array(self.ids),
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def _refresh_from_fact(self, fact):
        currency = self.currency_id
        changed = currency.compare_amounts(self.expected_amount, fact["expected_amount"]) or (
            currency.compare_amounts(self.received_amount, fact["received_amount"])
        )
        if changed:
            self.write(
                {"expected_amount": fact["expected_amount"], "received_amount": fact["received_amount"]}
            )

    def _close_facts_gone(self):
        if not self:
            return
        stage = self.env["billing.discrepancy.stage"]._stage_for_state("resolved")
        self.write({
            "stage_id": stage.id,
            "resolution": "facts_gone",
            "resolved_on": fields.Date.context_today(self),
        })  # fmt: skip
        self._log_note(
            self.env._(
                "Closed automatically: the detection no longer finds this discrepancy "
                "(the invoice or payment has been settled)."
            )
        )

    def _reopen_facts_back(self, fact):
        stage = self.env["billing.discrepancy.stage"]._stage_for_state("new")
        self.write({
            "stage_id": stage.id,
            "resolution": False,
            "resolved_on": False,
            "expected_amount": fact["expected_amount"],
            "received_amount": fact["received_amount"],
        })  # fmt: skip

    def _log_note(self, body):
        """The same internal note on every ticket, logged with one insert (a scan
        may close thousands at once)."""
        if self:
            self._message_log_batch(bodies=dict.fromkeys(self.ids, body))
