import logging

from psycopg2 import IntegrityError

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.bulk_insert import insert_records
from ..tools.relations import add_links
from ..tools.sql_arrays import id_array
from ..tools.sql_locks import try_job_lock
from ..tools.sql_settings import without_jit
from .billing_discrepancy_stage import CLOSED_STATES

_logger = logging.getLogger(__name__)

DETECTION_JOB = "billing.discrepancy.detection"

# the values of a ticket the scan's facts give as they are
FACT_COLUMNS = (
    "detection_key",
    "discrepancy_type",
    "company_id",
    "partner_id",
    "currency_id",
    "expected_amount",
    "received_amount",
)


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
            if try_job_lock(self.env.cr, DETECTION_JOB, company_id):
                self._run_detection(self.env["res.company"].browse(company_id))
            if not cron._commit_progress(1, remaining=len(company_ids) - index - 1):
                break

    def _detect_and_sync(self, companies, partners):
        self.env.flush_all()  # the rules read invoices, payments, lines and tickets in SQL
        return self._apply_changes(self._scan_changes(companies, partners))

    def _scan_changes(self, companies, partners):
        """What the scan must change, in one query that compares the facts of the
        four rules with the tickets the detection opened: the new facts, and the
        tickets to refresh, close or reopen. A nightly scan finds thousands of
        facts and changes few tickets; only those rows come back."""
        with without_jit(self.env.cr):
            self.env.cr.execute(
                SQL(
                    """
                WITH pay AS MATERIALIZED (%(open_payments)s),
                     open_amounts AS MATERIALIZED (%(open_amounts)s),
                     same_key_payments AS MATERIALIZED (%(same_key_payments)s),
                     duplicates AS MATERIALIZED (%(duplicates)s),
                     facts AS (%(facts)s),
                     tickets AS (%(tickets)s)
                SELECT facts.detection_key, facts.discrepancy_type, facts.company_id,
                       facts.partner_id, facts.currency_id, facts.expected_amount,
                       facts.received_amount, facts.invoice_ids, facts.payment_ids,
                       ticket.id AS ticket_id
                  FROM facts
                  FULL JOIN tickets ticket
                    ON ticket.company_id = facts.company_id
                   AND ticket.detection_key = facts.detection_key
                 WHERE ticket.id IS NULL
                    -- a ticket closed by a person stays closed
                    OR ((NOT ticket.closed OR ticket.resolution = 'facts_gone')
                        AND CASE WHEN facts.detection_key IS NULL THEN NOT ticket.closed
                                 ELSE ticket.closed
                                      OR ROUND(ticket.expected_amount / ticket.rounding)
                                         <> ROUND(facts.expected_amount / ticket.rounding)
                                      OR ROUND(ticket.received_amount / ticket.rounding)
                                         <> ROUND(facts.received_amount / ticket.rounding)
                             END)
                """,
                    open_payments=self._open_payments_sql(companies, partners),
                    open_amounts=self._open_invoice_amounts_sql(companies, partners),
                    same_key_payments=self._same_key_payments_sql(companies, partners),
                    duplicates=self._duplicate_payments_sql(),
                    facts=self._facts_sql(companies, partners),
                    tickets=self._detected_tickets_sql(companies, partners),
                )
            )
            return self.env.cr.dictfetchall()

    def _facts_sql(self, companies, partners):
        """The facts of the four rules, each with its detection key. A payment
        flagged as a duplicate is not also reported as unapplied."""
        rules = {
            "short_payment": self._short_payments_sql(companies, partners),
            "duplicate_payment": SQL("SELECT * FROM duplicates"),
            "overpayment": self._overpayments_sql(),
            "unapplied_payment": self._unapplied_payments_sql(),
        }
        return SQL(" UNION ALL ").join(
            SQL(
                "(SELECT %(rule)s || ':' || rule.id AS detection_key, %(rule)s AS discrepancy_type, rule.* "
                "FROM (%(rule_sql)s) AS rule)",
                rule=name,
                rule_sql=rule_sql,
            )
            for name, rule_sql in rules.items()
        )

    # ------------------------------------------------------------------
    # the four rules, each for the whole set; each selects (id, company,
    # customer, currency, expected amount, received amount, invoices, payments)
    # ------------------------------------------------------------------
    def _partner_filter(self, column, partners):
        return SQL("AND %s = ANY(%s)", column, id_array(partners.ids)) if partners else SQL()

    def _short_payments_sql(self, companies, partners):
        """Invoices partly paid, last paid more than N days ago, with a residual
        above tolerance; not those disputed: their dispute ticket holds the difference.
        Only payments and bank statement lines pay: what a credit note or another
        entry settled is no longer claimed, and is left out of expected and received."""
        return SQL(
            """
            SELECT move.id, move.company_id, move.commercial_partner_id AS partner_id,
                   move.currency_id, move.amount_total - paid.credited AS expected_amount,
                   paid.received AS received_amount,
                   ARRAY[move.id] AS invoice_ids, COALESCE(paid.payment_ids, ARRAY[]::int[]) AS payment_ids
              FROM account_move move
              JOIN res_company company ON company.id = move.company_id
             -- the partly paid invoices first, then only the reconciliations of
             -- their debit (receivable) lines, in the invoice's currency
             CROSS JOIN LATERAL (
                   SELECT MAX(part.max_date) FILTER (WHERE part.paying) AS paid_on,
                          COALESCE(SUM(part.amount) FILTER (WHERE part.paying), 0) AS received,
                          COALESCE(SUM(part.amount) FILTER (WHERE NOT part.paying), 0) AS credited,
                          ARRAY_AGG(DISTINCT part.payment_id)
                              FILTER (WHERE part.payment_id IS NOT NULL) AS payment_ids
                     FROM (SELECT part.max_date, part.debit_amount_currency AS amount, credit.payment_id,
                                  credit.payment_id IS NOT NULL
                                      OR credit.statement_line_id IS NOT NULL AS paying
                             FROM account_move_line debit
                             JOIN account_partial_reconcile part ON part.debit_move_id = debit.id
                             JOIN account_move_line credit ON credit.id = part.credit_move_id
                            WHERE debit.move_id = move.id
                              AND debit.balance > 0) part
             ) paid
             WHERE move.move_type = 'out_invoice'
               AND move.state = 'posted'
               AND move.payment_state = 'partial'
               AND move.billing_is_disputed IS NOT TRUE
               AND move.company_id = ANY(%(companies)s)
               %(partner_filter)s
               -- no payment at all: no date, so never paid short
               AND paid.paid_on <= %(today)s::date - COALESCE(company.billing_discrepancy_days, 0)
               AND move.amount_residual_signed > %(tolerance)s
            """,
            companies=companies.ids,
            partner_filter=self._partner_filter(SQL("move.commercial_partner_id"), partners),
            today=fields.Date.context_today(self),
            tolerance=_tolerance_sql(SQL("move.amount_total_signed")),
        )

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

    def _same_key_payments_sql(self, companies, partners):
        """The payments a duplicate may repeat (same company, customer, currency
        and amount as one in ``pay``), found by a hashed semi-join: the rule does
        not sort every payment ever received."""
        return self._customer_payments_sql(
            companies,
            partners,
            SQL(
                """AND (payment.company_id, partner.commercial_partner_id,
                        payment.currency_id, payment.amount) IN (
                       SELECT company_id, customer_id, currency_id, amount FROM pay)"""
            ),
        )

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

    # the three rules on customer payments select from ``pay``, the payments
    # not fully reconciled (``_open_payments_sql``)

    def _duplicate_payments_sql(self):
        """A payment not applied in full that repeats an earlier one: same
        customer, currency and amount, and the same memo or within the window,
        while the customer has no open invoice of that amount it could pay."""
        return SQL("""
            SELECT DISTINCT ON (later.id)
                   later.id, later.company_id, later.customer_id AS partner_id,
                   later.currency_id, later.amount AS expected_amount,
                   2 * later.amount AS received_amount, ARRAY[]::int[] AS invoice_ids,
                   ARRAY[earlier.id, later.id] AS payment_ids
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
        tolerance: expected is what they paid, received the whole payment."""
        return SQL(
            """
            SELECT pay.id, pay.company_id, pay.customer_id, pay.currency_id,
                   pay.amount - CASE WHEN pay.currency_id = company.currency_id
                                     THEN -pay.amount_residual
                                     ELSE -pay.amount_residual_currency END,
                   pay.amount,
                   ARRAY(SELECT DISTINCT debit.move_id
                           FROM account_partial_reconcile part
                           JOIN account_move_line debit ON debit.id = part.debit_move_id
                          WHERE part.credit_move_id = pay.line_id),
                   ARRAY[pay.id]
              FROM pay
              JOIN res_company company ON company.id = pay.company_id
             WHERE pay.applied
               AND -pay.amount_residual > %s
            """,
            _tolerance_sql(SQL("pay.balance")),
        )

    def _unapplied_payments_sql(self):
        """Payments not reconciled with anything more than N days after their
        date, unless they are duplicates."""
        return SQL(
            """
            SELECT pay.id, pay.company_id, pay.customer_id, pay.currency_id,
                   0.0, pay.amount, ARRAY[]::int[], ARRAY[pay.id]
              FROM pay
              JOIN res_company company ON company.id = pay.company_id
             WHERE NOT pay.applied
               AND pay.date <= %s::date - COALESCE(company.billing_discrepancy_days, 0)
               AND pay.id NOT IN (SELECT id FROM duplicates)
            """,
            fields.Date.context_today(self),
        )

    # ------------------------------------------------------------------
    # tickets from facts
    # ------------------------------------------------------------------
    def _detected_tickets_sql(self, companies, partners):
        """The tickets the detection opened, with their currency's rounding."""
        return SQL(
            """
            SELECT ticket.id, ticket.company_id, ticket.detection_key,
                   ticket.state IN %(closed)s AS closed, ticket.resolution,
                   ticket.expected_amount, ticket.received_amount, currency.rounding
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

    def _apply_changes(self, changes):
        """Open the new facts' tickets, then refresh, close or reopen the others
        (those no other transaction is working on). Returns the tickets opened."""
        resolving = self.env.context.get("billing_resolving_ticket_id")
        new_facts, todo = {}, {}  # todo: ticket id: its fact, or None when the fact is gone
        for change in changes:
            ticket_id = change.pop("ticket_id")
            if not ticket_id:
                new_facts.setdefault((change["company_id"], change["detection_key"]), change)
            elif ticket_id != resolving:
                todo[ticket_id] = change if change["detection_key"] else None
        created = self._create_detected(list(new_facts.values()))
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

    def _create_detected(self, facts):
        if not facts:
            return self.browse()
        try:
            with self.env.cr.savepoint():
                return self._insert_detected(facts)
        except IntegrityError:
            # another worker opened some of them meanwhile: keep the others
            _logger.info("Discrepancy detection: a concurrent scan opened some tickets first")
        # the detection is no coordinator: no creation note, no follower, no tracking
        tickets = self.with_context(mail_create_nolog=True, mail_create_nosubscribe=True, mail_notrack=True)
        vals_list = [self._ticket_vals_from_fact(fact) for fact in facts]
        created = self.browse()
        for vals in vals_list:
            try:
                with self.env.cr.savepoint():
                    created |= tickets.create(vals)
            except IntegrityError:
                continue
        return created

    def _insert_detected(self, facts):
        """The tickets of ``facts``, inserted set-based: a first scan opens
        thousands, and ``create`` spends seconds on each thousand (value
        conversion, computed fields flushed in batches, the inverse caches) for
        what the detection knows already. They come out as ``create`` makes them
        with the detection's context: no creation note, follower or tracking."""
        tickets = insert_records(self, self._detected_ticket_rows(facts))
        for field_name in ("invoice_ids", "payment_ids"):
            pairs = [
                (ticket.id, target)
                for ticket, fact in zip(tickets, facts, strict=True)
                for target in fact[field_name]
            ]
            add_links(tickets, field_name, pairs)
        return tickets

    def _detected_ticket_rows(self, facts):
        """Every stored value of the tickets of ``facts``, as the defaults and the
        computed fields of ``billing.discrepancy`` set them."""
        today = fields.Date.context_today(self)
        stage = self.env["billing.discrepancy.stage"]._stage_for_state("new")
        companies = self.env["res.company"].browse({fact["company_id"] for fact in facts})
        customers = self.env["res.partner"].browse({fact["partner_id"] for fact in facts})
        coordinators = {company.id: self._coordinators_of(customers, company) for company in companies}
        rates, rows = {}, []
        for fact, name in zip(facts, self._next_names(len(facts)), strict=True):
            company = companies.browse(fact["company_id"])
            currency = self.env["res.currency"].browse(fact["currency_id"])
            expected = currency.round(fact["expected_amount"])
            received = currency.round(fact["received_amount"])
            difference = currency.round(expected - received)
            rows.append({
                **{key: fact[key] for key in FACT_COLUMNS},
                "expected_amount": expected,
                "received_amount": received,
                "name": name,
                "stage_id": stage.id,
                "state": stage.state,
                "coordinator_id": coordinators[company.id][fact["partner_id"]].id,
                "priority": "0",
                "opened_on": today,
                "sla_deadline": self._sla_deadline_of(fact["discrepancy_type"], company, today),
                "difference": difference,
                "difference_company": self._in_company_currency(difference, currency, company, today, rates),
            })  # fmt: skip
        return rows

    def _ticket_vals_from_fact(self, fact):
        vals = {key: fact[key] for key in FACT_COLUMNS}
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
                "(the invoice or payment has been settled, or the invoice is disputed on a "
                "ticket of its own)."
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
