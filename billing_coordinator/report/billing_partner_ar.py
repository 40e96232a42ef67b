from odoo import fields, models, tools
from odoo.tools import SQL

from ..tools.sql_arrays import id_array


class BillingPartnerAr(models.Model):
    """Receivable figures per customer (commercial partner) and company, as a SQL view.

    Open receivable lines give the balance, the overdue amount and age and the
    open invoices; receivable lines of invoices paid in the last 12 months give
    the average days to pay and days late; the next planned action is the
    earliest activity on the customer or on one of its invoices of the company.
    """

    _name = "billing.partner.ar"
    _description = "Customer Receivable Figures"
    _auto = False
    _rec_name = "partner_id"
    _order = "overdue_amount desc"

    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    open_balance = fields.Monetary(readonly=True)
    overdue_amount = fields.Monetary(readonly=True)
    oldest_overdue_days = fields.Integer(string="Oldest Overdue (Days)", readonly=True)
    open_invoice_count = fields.Integer(string="Open Invoices", readonly=True)
    avg_days_to_pay = fields.Float(string="Avg. Days to Pay", readonly=True)
    avg_days_late = fields.Float(string="Avg. Days Late", readonly=True)
    last_payment_date = fields.Date(readonly=True)
    next_action_date = fields.Date(readonly=True)
    next_activity_id = fields.Many2one("mail.activity", readonly=True)
    # what res.partner stores of the figures (billing_ar_data): the date-dependent
    # figures as the dates they follow, and the last day the stored figures hold
    oldest_open_due_date = fields.Date(readonly=True)
    valid_until = fields.Date(readonly=True)

    # the columns the view reads: flushed before it is queried
    _SOURCE_FIELDS = {
        "account.move.line": [
            "account_id", "amount_residual", "balance", "company_id", "date", "date_maturity",
            "move_id", "parent_state", "partner_id", "reconciled",
        ],
        "account.move": ["invoice_date", "move_type", "origin_payment_id", "statement_line_id", "state"],
        "account.partial.reconcile": ["debit_move_id", "max_date"],
        "account.account": ["account_type"],
        "res.partner": ["commercial_partner_id"],
        "mail.activity": ["active", "date_deadline", "res_id", "res_model"],
    }  # fmt: skip

    def _source_fields(self):
        return [
            self.env[model]._fields[fname]
            for model, fnames in self._SOURCE_FIELDS.items()
            for fname in fnames
        ]

    def _flush_sources(self):
        for model, fnames in self._SOURCE_FIELDS.items():
            self.env[model].flush_model(fnames)

    def _search(self, *args, **kwargs):
        self._flush_sources()
        return super()._search(*args, **kwargs)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL("CREATE OR REPLACE VIEW %s AS (%s)", SQL.identifier(self._table), self._query())
        )

    def _figures_for(self, partner_ids, company=None):
        """The view's rows of these customers (in ``company``, or in every
        company): the view's query with the customers filtered inside, so only
        their lines are read, through the index on the lines' partner. Figured
        at Python's date, the one the stored figures' ``valid_until`` is
        compared with: the database's CURRENT_DATE follows its server's time zone."""
        if not partner_ids:
            return []
        self._flush_sources()
        company_filter = SQL("AND line.company_id = %s", company.id) if company else SQL()
        customer_ids = id_array(partner_ids)
        query = self._query(
            SQL(
                """AND line.partner_id IN (
                       SELECT id FROM res_partner WHERE commercial_partner_id = ANY(%s)) %s""",
                customer_ids,
                company_filter,
            ),
            SQL(
                "AND partner.commercial_partner_id = ANY(%s) %s",
                customer_ids,
                SQL("AND move.company_id = %s", company.id) if company else SQL(),
            ),
            today=fields.Date.today(),
        )
        self.env.cr.execute(query)
        return self.env.cr.dictfetchall()

    def _query(self, receivable_filter=None, activity_filter=None, today=None):
        """The view's SELECT; the filters restrict it to some customers of one
        company; ``today``: the date it is figured at (the view's: CURRENT_DATE)."""
        return SQL(
            """
            WITH receivable AS MATERIALIZED (
                SELECT line.id, line.company_id, partner.commercial_partner_id AS partner_id,
                       line.move_id, move.move_type, move.invoice_date, move.origin_payment_id,
                       move.statement_line_id, line.date, line.date_maturity, line.balance,
                       line.amount_residual, line.reconciled
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  JOIN account_move move ON move.id = line.move_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                 WHERE account.account_type = 'asset_receivable'
                   AND line.parent_state = 'posted'
                   %(receivable_filter)s
            ),
            open_figures AS (
                SELECT company_id, partner_id,
                       SUM(amount_residual) AS open_balance,
                       SUM(amount_residual) FILTER (
                           WHERE amount_residual > 0 AND date_maturity < %(today)s) AS overdue_amount,
                       MAX(%(today)s - date_maturity) FILTER (
                           WHERE amount_residual > 0 AND date_maturity < %(today)s) AS oldest_overdue_days,
                       COUNT(DISTINCT move_id) FILTER (
                           WHERE amount_residual > 0 AND move_type = 'out_invoice') AS open_invoice_count,
                       MIN(date_maturity) FILTER (WHERE amount_residual > 0) AS oldest_open_due_date,
                       -- the first day on which an open item becomes overdue
                       MIN(date_maturity) FILTER (
                           WHERE amount_residual > 0 AND date_maturity >= %(today)s) AS next_due_date
                  FROM receivable
                 WHERE NOT reconciled
              GROUP BY company_id, partner_id
            ),
            paid_invoices AS (
                SELECT receivable.company_id, receivable.partner_id, receivable.invoice_date,
                       receivable.date_maturity, MAX(partial.max_date) AS paid_date
                  FROM receivable
                  JOIN account_partial_reconcile partial ON partial.debit_move_id = receivable.id
                 WHERE receivable.move_type = 'out_invoice' AND receivable.reconciled
              GROUP BY receivable.id, receivable.company_id, receivable.partner_id,
                       receivable.invoice_date, receivable.date_maturity
            ),
            payment_figures AS (
                SELECT company_id, partner_id,
                       AVG(paid_date - invoice_date) AS avg_days_to_pay,
                       AVG(GREATEST(paid_date - date_maturity, 0)) AS avg_days_late,
                       -- the last day before an invoice leaves the 12 months
                       (MIN(paid_date) + INTERVAL '12 months')::date AS window_until
                  FROM paid_invoices
                 WHERE paid_date >= %(today)s - INTERVAL '12 months'
              GROUP BY company_id, partner_id
            ),
            last_payments AS (
                SELECT company_id, partner_id, MAX(date) AS last_payment_date
                  FROM receivable
                 WHERE balance < 0 AND (origin_payment_id IS NOT NULL OR statement_line_id IS NOT NULL)
              GROUP BY company_id, partner_id
            ),
            customers AS (
                SELECT MIN(id) AS id, company_id, partner_id FROM receivable GROUP BY company_id, partner_id
            ),
            next_actions AS (%(next_actions)s)
            SELECT customers.id,
                   customers.company_id, customers.partner_id,
                   COALESCE(open_figures.open_balance, 0) AS open_balance,
                   COALESCE(open_figures.overdue_amount, 0) AS overdue_amount,
                   COALESCE(open_figures.oldest_overdue_days, 0) AS oldest_overdue_days,
                   COALESCE(open_figures.open_invoice_count, 0) AS open_invoice_count,
                   ROUND(payment_figures.avg_days_to_pay, 1)::float AS avg_days_to_pay,
                   ROUND(payment_figures.avg_days_late, 1)::float AS avg_days_late,
                   last_payments.last_payment_date,
                   next_actions.date_deadline AS next_action_date,
                   next_actions.activity_id AS next_activity_id,
                   open_figures.oldest_open_due_date,
                   LEAST(open_figures.next_due_date, payment_figures.window_until) AS valid_until
              FROM customers
         LEFT JOIN open_figures USING (company_id, partner_id)
         LEFT JOIN payment_figures USING (company_id, partner_id)
         LEFT JOIN last_payments USING (company_id, partner_id)
         LEFT JOIN next_actions USING (company_id, partner_id)
            """,
            receivable_filter=receivable_filter or SQL(),
            today=SQL("%s::date", today) if today else SQL("CURRENT_DATE"),
            next_actions=self._next_actions_sql(SQL("customers"), activity_filter),
        )

    def _next_actions_sql(self, customers, activity_filter=None):
        """The earliest active activity per customer and company: on one of its
        invoices (``activity_filter`` restricts them), or on the customer itself
        for the (company, customer) rows of the relation ``customers``."""
        return SQL(
            """
            SELECT DISTINCT ON (company_id, partner_id) company_id, partner_id,
                   activity_id, date_deadline
              FROM (SELECT move.company_id, partner.commercial_partner_id AS partner_id,
                           activity.id AS activity_id, activity.date_deadline
                      FROM mail_activity activity
                      JOIN account_move move
                        ON activity.res_model = 'account.move' AND move.id = activity.res_id
                      JOIN res_partner partner ON partner.id = move.partner_id
                     WHERE activity.active
                       %(activity_filter)s
                     UNION ALL
                    SELECT customers.company_id, customers.partner_id, activity.id, activity.date_deadline
                      FROM mail_activity activity
                      JOIN %(customers)s customers
                        ON activity.res_model = 'res.partner' AND customers.partner_id = activity.res_id
                     WHERE activity.active) activities
          ORDER BY company_id, partner_id, date_deadline, activity_id
            """,
            customers=customers,
            activity_filter=activity_filter or SQL(),
        )
