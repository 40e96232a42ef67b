from collections import defaultdict
from datetime import date

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import SQL, clean_context

from ..tools.sql_arrays import id_array

ACCOUNT_STATES = [
    ("onboarding", "Onboarding"),
    ("active", "Active"),
    ("on_hold", "On Hold"),
    ("blocked", "Blocked"),
]
# the account states in which a customer is neither dunned nor invoiced without a note
HELD_ACCOUNT_STATES = ("on_hold", "blocked")

# AR figures read from the SQL view billing.partner.ar (report/billing_partner_ar.py):
# partner field -> (view column, value when the customer has no row)
AR_FIGURES = {
    "billing_open_balance": ("open_balance", 0.0),
    "billing_overdue_amount": ("overdue_amount", 0.0),
    "billing_oldest_overdue_days": ("oldest_overdue_days", 0),
    "billing_open_invoice_count": ("open_invoice_count", 0),
    "billing_avg_days_to_pay": ("avg_days_to_pay", 0.0),
    "billing_avg_days_late": ("avg_days_late", 0.0),
    "billing_last_payment_date": ("last_payment_date", None),
    "billing_next_action_date": ("next_action_date", None),
}

# the AR fields a read takes straight from the cache (see _read_format)
AR_READ_FIELDS = {*AR_FIGURES, "billing_next_action", "billing_ar_currency_id"}

# what res.partner stores per company in billing_ar_data: the figures that do not
# move with the date and the due date the overdue age follows (the last day on
# which they all hold is billing_ar_valid_until)
STORED_AR_COLUMNS = [
    "open_balance",
    "overdue_amount",
    "open_invoice_count",
    "avg_days_to_pay",
    "avg_days_late",
    "last_payment_date",
    "oldest_open_due_date",
]

# the journal item fields the stored figures follow (billing.partner.ar reads them)
AR_LINE_DEPENDS = [
    "account_id",
    "amount_residual",
    "balance",
    "company_id",
    "date",
    "date_maturity",
    "parent_state",
    "reconciled",
    "matched_credit_ids.max_date",
    "move_id.invoice_date",
    "move_id.move_type",
]

# who may read receivable figures: the same groups as Odoo's own `credit`
ACCOUNTING_GROUPS = "account.group_account_invoice,account.group_account_readonly"

# what the billing team decides about a customer: others may read it, not change it
BILLING_TEAM_FIELDS = {
    "billing_coordinator_id",
    "billing_account_state",
    "billing_account_state_reason",
    "billing_dunning_policy_id",
}

# what a Billing Manager decides: a credit limit above the company's threshold
CREDIT_APPROVAL_FIELDS = {"billing_credit_approval_state", "billing_credit_limit_requested"}

# saving one of these fields on a customer refreshes its data-quality issues
DATA_CHECKED_FIELDS = {
    "name",
    "vat",
    "email",
    "street",
    "zip",
    "city",
    "country_id",
    "lang",
    "bank_ids",
    "is_company",
    "parent_id",
    "active",
    "company_id",
    "customer_rank",
    "property_payment_term_id",
    "billing_invoice_email",
    "billing_invoice_contact_id",
}


class ResPartner(models.Model):
    _inherit = "res.partner"

    billing_coordinator_id = fields.Many2one(
        "res.users",
        company_dependent=True,
        domain=[("share", "=", False)],
        tracking=True,
        help="The coordinator who keeps this customer's billing straight in the current company.",
    )

    billing_account_state = fields.Selection(
        ACCOUNT_STATES,
        string="Account State",
        company_dependent=True,
        default="active",
        tracking=True,
    )

    billing_account_state_reason = fields.Char(
        string="Account State Reason",
        company_dependent=True,
    )

    # billing profile
    billing_invoice_contact_id = fields.Many2one(
        "res.partner",
        string="Invoice Contact",
        domain="[('parent_id', '=', id)]",
        tracking=True,
        help="The person at the customer who receives invoices and reminders.",
    )

    billing_invoice_email = fields.Char(
        string="Invoice E-mail",
        tracking=True,
        help="Where invoices and reminders are sent; the invoice contact's e-mail when empty.",
    )

    billing_channel = fields.Selection(
        [("email", "E-mail"), ("letter", "Letter")],
        string="Preferred Channel",
        default="email",
        tracking=True,
    )

    billing_notes = fields.Text()

    billing_dunning_policy_id = fields.Many2one(
        "billing.dunning.policy",
        string="Dunning Policy",
        company_dependent=True,
        check_company=True,
        tracking=True,
        help="How this customer is reminded in the current company; empty: the company's default policy.",
    )

    billing_promise_kept_rate = fields.Float(
        string="Promises Kept (%)",
        compute="_compute_billing_promise_kept_rate",
        groups="billing_coordinator.group_billing_coordinator",
        help="Share of this customer's settled promises to pay that were kept.",
    )

    # credit limit approval (the limit itself is Odoo's credit_limit)
    billing_credit_limit_requested = fields.Float(
        string="Requested Credit Limit",
        company_dependent=True,
        readonly=True,
        help="A credit limit above the company's threshold waits here for a Billing Manager's approval.",
    )

    billing_credit_approval_state = fields.Selection(
        [("pending", "Waiting for Approval"), ("approved", "Approved"), ("rejected", "Rejected")],
        string="Credit Limit Approval",
        company_dependent=True,
        readonly=True,
        tracking=True,
    )

    # data quality
    billing_data_issue_ids = fields.Many2many(
        "billing.data.issue",
        string="Data Issues",
        compute="_compute_billing_data_issue_ids",
        groups="billing_coordinator.group_billing_coordinator",
    )

    billing_data_issue_count = fields.Integer(
        string="Data Issue Count",
        compute="_compute_billing_data_issue_count",
        groups="billing_coordinator.group_billing_coordinator",
    )

    billing_has_data_issue = fields.Boolean(
        string="Has Data Issues",
        compute="_compute_billing_data_issue_count",
        groups="billing_coordinator.group_billing_coordinator",
        search="_search_billing_has_data_issue",
    )

    # onboarding checklist
    billing_onboarding_welcome_sent = fields.Boolean(
        string="Welcome and Terms Sent",
        company_dependent=True,
        tracking=True,
        help="The coordinator has sent the welcome letter with payment terms and invoicing details.",
    )

    billing_onboarding_data_ok = fields.Boolean(
        string="Customer Data Complete",
        compute="_compute_billing_onboarding_checklist",
        help="Every switched-on data-quality check passes for this customer.",
    )

    billing_onboarding_credit_ok = fields.Boolean(
        string="Credit Limit Decided",
        compute="_compute_billing_onboarding_checklist",
        help="No credit limit waits for a Billing Manager's approval.",
    )

    billing_onboarding_complete = fields.Boolean(
        string="Onboarding Checklist Complete",
        compute="_compute_billing_onboarding_checklist",
    )

    # AR figures: stored per company when the lines change (billing_ar_data), read
    # for the current company; live from the SQL view billing.partner.ar for a
    # customer whose stored figures have passed their date
    billing_move_line_ids = fields.One2many(
        "account.move.line",
        "partner_id",
        string="Billing Journal Items",
        groups="base.group_system",
    )

    billing_ar_data = fields.Json(
        string="Stored AR Figures",
        compute="_compute_billing_ar_data",
        store=True,
        copy=False,
        groups="base.group_system",
    )

    billing_ar_valid_until = fields.Date(
        string="Stored AR Figures Valid Until",
        compute="_compute_billing_ar_data",
        store=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_system",
    )

    # AR figures of the current company
    billing_ar_currency_id = fields.Many2one(
        "res.currency",
        string="AR Currency",
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
    )

    billing_open_balance = fields.Monetary(
        string="Open Balance",
        currency_field="billing_ar_currency_id",
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        search="_search_billing_open_balance",
    )

    billing_overdue_amount = fields.Monetary(
        string="Overdue Amount",
        currency_field="billing_ar_currency_id",
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        search="_search_billing_overdue_amount",
    )

    billing_oldest_overdue_days = fields.Integer(
        string="Oldest Overdue (Days)",
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        search="_search_billing_oldest_overdue_days",
    )

    billing_open_invoice_count = fields.Integer(
        string="Open Invoices",
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        search="_search_billing_open_invoice_count",
    )

    billing_avg_days_to_pay = fields.Float(
        string="Avg. Days to Pay",
        digits=(16, 1),
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        search="_search_billing_avg_days_to_pay",
        help="Average days from invoice date to payment of the invoices paid in the last 12 months.",
    )

    billing_avg_days_late = fields.Float(
        string="Avg. Days Late",
        digits=(16, 1),
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        search="_search_billing_avg_days_late",
        help="Average days paid after the due date, for the invoices paid in the last 12 months.",
    )

    billing_last_payment_date = fields.Date(
        string="Last Payment",
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        search="_search_billing_last_payment_date",
    )

    billing_next_action_date = fields.Date(
        string="Next Action Date",
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        search="_search_billing_next_action_date",
    )

    billing_next_action = fields.Char(
        string="Next Action",
        compute="_compute_billing_ar_figures",
        groups=ACCOUNTING_GROUPS,
        help="The earliest planned activity on the customer or on its invoices.",
    )

    # payments wing: the customer's discrepancy tickets
    billing_discrepancy_count = fields.Integer(
        string="Discrepancy Count",
        compute="_compute_billing_discrepancy_count",
        groups="billing_coordinator.group_billing_coordinator",
    )

    @api.depends(
        "commercial_partner_id",
        "child_ids",
        *(f"billing_move_line_ids.{fname}" for fname in AR_LINE_DEPENDS),
        *(f"child_ids.billing_move_line_ids.{fname}" for fname in AR_LINE_DEPENDS),
    )
    def _compute_billing_ar_data(self):
        """Store each customer's figures per company, in one query for the batch:
        a customer list then reads a column instead of all receivable lines."""
        customers = [p._origin.id for p in self if p._origin.id and p.commercial_partner_id == p]
        data, valid_until = defaultdict(dict), defaultdict(list)
        for row in self.env["billing.partner.ar"].sudo()._figures_for(customers):
            data[row["partner_id"]][str(row["company_id"])] = {
                column: _json_value(row[column]) for column in STORED_AR_COLUMNS
            }
            if row["valid_until"]:
                valid_until[row["partner_id"]].append(row["valid_until"])
        for partner in self:
            partner.billing_ar_data = data.get(partner._origin.id) or False
            partner.billing_ar_valid_until = min(valid_until.get(partner._origin.id) or [False])

    def _billing_store_ar_data_again(self):
        """Recompute these customers' stored figures at the next flush, for what
        the ORM's dependencies cannot see (a date passed, a change made in SQL)."""
        for fname in ("billing_ar_data", "billing_ar_valid_until"):
            self.env.add_to_compute(self._fields[fname], self)

    @api.model
    def _cron_refresh_billing_ar_data(self, batch_size=1000):
        """Store again the figures that have passed their date (an invoice fell
        due, a payment left the 12 months), so that lists read stored figures."""
        cron = self.env["ir.cron"]
        today, done_up_to = fields.Date.today(), 0
        while True:
            # past the batches done: one whose figures stay stale is not done again
            stale = self.search(
                [("billing_ar_valid_until", "<", today), ("id", ">", done_up_to)],
                limit=batch_size,
                order="id",
            )
            if not stale:
                return
            stale._billing_store_ar_data_again()
            stale.flush_recordset(["billing_ar_data", "billing_ar_valid_until"])
            done_up_to = stale[-1].id
            if not cron._commit_progress(len(stale)):
                return

    @api.depends_context("company")
    def _compute_billing_ar_figures(self):
        for fname, column in self._billing_ar_columns().items():
            self._put_computed_values(fname, column)

    def _billing_ar_columns(self):
        """``{field name: [value of each record]}``: all figures of all records
        from the stored figures of the current company; one query on the view for
        customers whose figures passed their date."""
        company = self.env.company
        # new records have no figures (their origin's, if any)
        partner_ids = [pid if isinstance(pid, int) else pid.origin for pid in self._ids]
        stored = self._billing_stored_ar_rows([pid for pid in partner_ids if pid])
        rows = [None] * len(partner_ids)
        stale = {}
        for index, partner_id in enumerate(partner_ids):
            row = stored.get(partner_id)
            if row and row["stale"]:
                stale[partner_id] = index
            elif row and row["stored"]:
                rows[index] = row
        if stale:
            for row in self.env["billing.partner.ar"].sudo()._figures_for(list(stale), company):
                rows[stale[row["partner_id"]]] = row
        self._add_next_actions(rows, partner_ids, company)
        activities = (
            self.env["mail.activity"]
            .sudo()
            .browse([row["next_activity_id"] for row in rows if row and row["next_activity_id"]])
        )
        values = {"billing_ar_currency_id": [company.currency_id.id] * len(self)}
        for fname, (column, empty) in AR_FIGURES.items():
            values[fname] = [empty if not row or row[column] is None else row[column] for row in rows]
        labels = {activity.id: self._next_action_label(activity) for activity in activities}
        values["billing_next_action"] = [
            labels.get(row["next_activity_id"], False) if row else False for row in rows
        ]
        return values

    def _billing_stored_ar_rows(self, partner_ids):
        """``{partner_id: row}``: the stored figures of the current company as the
        view's rows, typed by PostgreSQL with the expressions sorting uses, and
        whether they passed their date."""
        if not partner_ids:
            return {}
        stored = [fname for fname, (column, _empty) in AR_FIGURES.items() if column != "next_action_date"]
        return {
            row["partner_id"]: row
            for row in self.env.execute_query_dict(
                SQL(
                    """SELECT partner.id AS partner_id,
                              partner.billing_ar_valid_until < %s AS stale,
                              partner.billing_ar_data -> %s IS NOT NULL AS stored,
                              %s
                         FROM res_partner partner
                        WHERE partner.id = ANY(%s)""",
                    fields.Date.today(),
                    str(self.env.company.id),
                    SQL(", ").join(
                        SQL(
                            "%s AS %s",
                            self._billing_stored_ar_sql("partner", fname),
                            SQL.identifier(AR_FIGURES[fname][0]),
                        )
                        for fname in stored
                    ),
                    id_array(partner_ids),
                    to_flush=self._fields["billing_ar_valid_until"],
                )
            )
        }

    def _add_next_actions(self, rows, partner_ids, company):
        """The earliest activity on each customer with figures, or on one of its
        invoices of the company, into the rows read from the stored figures."""
        stored = {partner_ids[i]: row for i, row in enumerate(rows) if row and "next_activity_id" not in row}
        if not stored:
            return
        customer_ids = id_array(stored)
        customers = SQL("(SELECT %s AS company_id, UNNEST(%s) AS partner_id)", company.id, customer_ids)
        invoices = SQL(
            "AND partner.commercial_partner_id = ANY(%s) AND move.company_id = %s", customer_ids, company.id
        )
        self.env.cr.execute(self.env["billing.partner.ar"]._next_actions_sql(customers, invoices))
        actions = {
            partner: (activity, deadline) for _company, partner, activity, deadline in self.env.cr.fetchall()
        }
        for partner_id, row in stored.items():
            row["next_activity_id"], row["next_action_date"] = actions.get(partner_id, (None, None))

    @api.model
    def _next_action_label(self, activity):
        if not activity:
            return False
        return activity.summary or activity.activity_type_id.name or activity.res_name

    def _put_computed_values(self, fname, values):
        """Put one computed value per record into the cache, a column at a time.
        A customer list computes the AR figures of thousands of customers, and
        assigning them one by one costs more than the query that reads them."""
        field = self._fields[fname]
        converted = _convert_once_each(
            values, lambda value: field.convert_to_cache(value, self, validate=False)
        )
        field._get_cache(self.env).update(zip(self._ids, converted, strict=True))

    def _read_format(self, fnames, load="_classic_read"):
        """A customer list reads ten AR figures of thousands of customers: check
        the accounting groups once for the whole read, compute the figures of all
        records at once, and convert each distinct value once (thousands of
        customers share a few counts, dates and zeros) without the ORM's access
        check per value."""
        figures = [f for f in fnames if f in AR_READ_FIELDS]
        if not figures or self.env.su:
            return super()._read_format(fnames, load)
        for fname in figures:
            self._check_field_access(self._fields[fname], "read")
        columns = self._billing_ar_columns()
        # the currency in the cache too: the web client's read of its name follows it there
        self._put_computed_values("billing_ar_currency_id", columns["billing_ar_currency_id"])
        result = super()._read_format([f for f in fnames if f not in figures], load)
        position = {record_id: index for index, record_id in enumerate(self._ids)}
        indexes = [position[vals["id"]] for vals in result]
        record, use_display_name = self[:1], load == "_classic_read"
        for fname in figures:
            field = self._fields[fname]
            read_values = _convert_once_each(
                columns[fname],
                lambda value, field=field: field.convert_to_read(
                    field.convert_to_record(field.convert_to_cache(value, record, validate=False), record),
                    record,
                    use_display_name,
                ),
            )
            for vals, index in zip(result, indexes, strict=True):
                vals[fname] = read_values[index]
        return result

    def _field_to_sql(self, alias, field_expr, query=None):
        """Sort and filter on AR figures through one LEFT JOIN on the view."""
        if field_expr not in AR_FIGURES:
            return super()._field_to_sql(alias, field_expr, query)
        self._check_field_access(self._fields[field_expr], "read")
        column, empty = AR_FIGURES[field_expr]
        if column != "next_action_date" and not self._billing_has_stale_ar_data():
            value = self._billing_stored_ar_sql(alias, field_expr)
            return value if empty is None else SQL("COALESCE(%s, %s)", value, empty)
        company_id = self.env.company.id
        to_flush = self.env["billing.partner.ar"]._source_fields()
        if query is None:
            value = SQL(
                "(SELECT ar.%s FROM billing_partner_ar ar WHERE ar.partner_id = %s AND ar.company_id = %s)",
                SQL.identifier(column),
                SQL.identifier(alias, "id"),
                company_id,
                to_flush=to_flush,
            )
        else:
            ar_alias = query.make_alias(alias, "billing_ar")
            query.add_join(
                "LEFT JOIN",
                ar_alias,
                "billing_partner_ar",
                SQL(
                    "%s = %s AND %s = %s",
                    SQL.identifier(ar_alias, "partner_id"),
                    SQL.identifier(alias, "id"),
                    SQL.identifier(ar_alias, "company_id"),
                    company_id,
                ),
            )
            value = SQL("%s", SQL.identifier(ar_alias, column), to_flush=to_flush)
        return value if empty is None else SQL("COALESCE(%s, %s)", value, empty)

    def _billing_has_stale_ar_data(self):
        """Whether some customer's stored figures passed their date (the nightly
        refresh has not run yet): sorting and filtering then read the view."""
        return bool(
            self.env.execute_query(
                SQL(
                    "SELECT 1 FROM res_partner WHERE billing_ar_valid_until < %s LIMIT 1",
                    fields.Date.today(),
                    to_flush=self._fields["billing_ar_valid_until"],
                )
            )
        )

    def _billing_stored_ar_sql(self, alias, fname):
        """The SQL of a figure of the current company from the stored figures."""
        data = SQL(
            "%s -> %s",
            SQL.identifier(alias, "billing_ar_data"),
            str(self.env.company.id),
            to_flush=self._fields["billing_ar_data"],
        )
        column = AR_FIGURES[fname][0]
        if column == "oldest_overdue_days":
            return SQL("GREATEST(%s - (%s ->> 'oldest_open_due_date')::date, 0)", fields.Date.today(), data)
        sql_type = {"monetary": "float8", "integer": "integer", "float": "float8", "date": "date"}
        return SQL("(%s ->> %s)::%s", data, column, SQL(sql_type[self._fields[fname].type]))

    def _billing_search_ar_figure(self, fname, operator, value):
        if operator in ("in", "not in"):
            values = [v for v in value if v is not False and v is not None]
            with_null = len(values) != len(value)

            def in_sql(model, alias, query):
                expr = model._field_to_sql(alias, fname, query)
                condition = SQL("%s IN %s", expr, tuple(values)) if values else SQL("FALSE")
                if with_null:
                    condition = SQL("(%s OR %s IS NULL)", condition, expr)
                return condition if operator == "in" else SQL("NOT COALESCE(%s, FALSE)", condition)

            return Domain.custom(to_sql=in_sql)
        if operator in ("<", ">", "<=", ">="):
            return Domain.custom(
                to_sql=lambda model, alias, query: SQL(
                    "%s %s %s", model._field_to_sql(alias, fname, query), SQL(operator), value
                )
            )
        raise UserError(self.env._("This filter on customer figures is not supported."))

    def _search_billing_open_balance(self, operator, value):
        return self._billing_search_ar_figure("billing_open_balance", operator, value)

    def _search_billing_overdue_amount(self, operator, value):
        return self._billing_search_ar_figure("billing_overdue_amount", operator, value)

    def _search_billing_oldest_overdue_days(self, operator, value):
        return self._billing_search_ar_figure("billing_oldest_overdue_days", operator, value)

    def _search_billing_open_invoice_count(self, operator, value):
        return self._billing_search_ar_figure("billing_open_invoice_count", operator, value)

    def _search_billing_avg_days_to_pay(self, operator, value):
        return self._billing_search_ar_figure("billing_avg_days_to_pay", operator, value)

    def _search_billing_avg_days_late(self, operator, value):
        return self._billing_search_ar_figure("billing_avg_days_late", operator, value)

    def _search_billing_last_payment_date(self, operator, value):
        return self._billing_search_ar_figure("billing_last_payment_date", operator, value)

    def _search_billing_next_action_date(self, operator, value):
        return self._billing_search_ar_figure("billing_next_action_date", operator, value)

    @api.depends_context("company")
    def _compute_billing_data_issue_ids(self):
        issues = self.env["billing.data.issue"].search(
            [("company_id", "=", self.env.company.id), ("partner_id", "in", self._origin.ids)]
        )
        for partner in self:
            partner.billing_data_issue_ids = issues.filtered(lambda i, p=partner: i.partner_id == p._origin)

    @api.depends_context("company")
    def _compute_billing_data_issue_count(self):
        counts = dict(
            self.env["billing.data.issue"]
            .sudo()
            ._read_group(
                [("company_id", "=", self.env.company.id), ("partner_id", "in", self._origin.ids)],
                ["partner_id"],
                ["__count"],
            )
        )
        found = [counts.get(partner._origin, 0) for partner in self]
        self._put_computed_values("billing_data_issue_count", found)
        self._put_computed_values("billing_has_data_issue", [bool(count) for count in found])

    def _search_billing_has_data_issue(self, operator, value):
        if operator not in ("in", "not in"):
            raise UserError(self.env._("This filter on data issues is not supported."))
        with_issue = SQL(
            "SELECT partner_id FROM billing_data_issue WHERE company_id = %s", self.env.company.id
        )
        positive = (True in value) == (operator == "in")
        return Domain("id", "in" if positive else "not in", with_issue)

    @api.depends(
        "billing_data_issue_count", "billing_credit_approval_state", "billing_onboarding_welcome_sent"
    )
    @api.depends_context("company")
    def _compute_billing_onboarding_checklist(self):
        for partner in self:
            partner.billing_onboarding_data_ok = not partner.billing_data_issue_count
            partner.billing_onboarding_credit_ok = partner.billing_credit_approval_state != "pending"
            partner.billing_onboarding_complete = (
                partner.billing_onboarding_data_ok
                and partner.billing_onboarding_credit_ok
                and partner.billing_onboarding_welcome_sent
            )

    def _compute_billing_promise_kept_rate(self):
        # a rate only: readable wherever the customer is, within the user's companies
        groups = (
            self.env["billing.promise"]
            .sudo()
            ._read_group(
                [
                    ("partner_id", "in", self.commercial_partner_id.ids),
                    ("company_id", "in", self.env.companies.ids),
                    ("state", "in", ("kept", "broken")),
                ],
                ["partner_id", "state"],
                ["__count"],
            )
        )
        counts = {(partner.id, state): count for partner, state, count in groups}
        for partner in self:
            commercial = partner.commercial_partner_id.id
            kept = counts.get((commercial, "kept"), 0)
            settled = kept + counts.get((commercial, "broken"), 0)
            partner.billing_promise_kept_rate = 100.0 * kept / settled if settled else 0.0

    def _commercial_fields(self):
        return [
            *super()._commercial_fields(),
            "billing_coordinator_id",
            "billing_account_state",
            "billing_account_state_reason",
            "billing_dunning_policy_id",
            "billing_invoice_contact_id",
            "billing_invoice_email",
            "billing_channel",
        ]

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        partners._billing_check_team_fields_create()
        partners._billing_check_credit_approval_create()
        customers = partners._billing_customers()
        customers._billing_assign_coordinators()
        if customers and not self.env.context.get("billing_skip_data_check"):
            customers._billing_refresh_data_issues()
        return partners

    def write(self, vals):
        self._billing_check_team_fields_write(vals)
        self._billing_check_credit_approval_write(vals)
        to_check = self._billing_to_check_after_write(vals)
        # archived, made a contact or moved, a customer is refreshed to lose its issues
        customers_before = to_check._billing_customers()
        coordinators_before = (
            {partner.id: partner.billing_coordinator_id.id for partner in self}
            if "billing_coordinator_id" in vals
            else None
        )
        result = super().write(vals)
        if vals.get("billing_onboarding_welcome_sent"):
            self._billing_activate_completed_onboarding()
        if to_check:
            customers_after = to_check.commercial_partner_id._billing_customers()
            changed = customers_before | customers_after
            # a duplicate archived or corrected frees its counterpart at once, not at night
            counterparts = changed._billing_named_as_duplicate_by()._billing_customers()
            (changed | counterparts)._billing_refresh_data_issues()
        if coordinators_before:
            self.env["billing.discrepancy"]._follow_coordinator_change(coordinators_before)
        return result

    def _billing_check_team_fields_write(self, vals):
        """Only the billing team changes a customer's coordinator, account state
        or dunning policy: a contact manager must not lift a collection block."""
        if self.env.su or not BILLING_TEAM_FIELDS.intersection(vals):
            return
        if self.env.user.has_group("billing_coordinator.group_billing_coordinator"):
            return
        if self._billing_changed_fields(vals, BILLING_TEAM_FIELDS):
            raise AccessError(
                self.env._(
                    "Only the billing team may change a customer's coordinator, account state "
                    "or dunning policy."
                )
            )

    def _billing_check_team_fields_create(self):
        """Only the billing team creates a customer with its coordinator, account
        state or dunning policy chosen (an import of blocked customers, a
        coordinator given by the context's defaults)."""
        if self.env.su or self.env.user.has_group("billing_coordinator.group_billing_coordinator"):
            return
        if self._billing_chosen_on_create(BILLING_TEAM_FIELDS):
            raise AccessError(
                self.env._(
                    "Only the billing team may choose a new customer's coordinator, account state "
                    "or dunning policy."
                )
            )

    def _billing_check_credit_approval_create(self):
        """Only a Billing Manager creates a customer with a credit limit above
        the company's threshold, or with its request approved."""
        if self.env.su or self.env.user.has_group("billing_coordinator.group_billing_manager"):
            return
        threshold = self.env.company.billing_credit_limit_threshold
        customers = self._billing_new_commercial_entities()
        above = bool(threshold) and any(customer.credit_limit > threshold for customer in customers)
        if above or self._billing_chosen_on_create(CREDIT_APPROVAL_FIELDS):
            raise self._billing_credit_approval_refused()

    def _billing_chosen_on_create(self, fnames):
        """Which of ``fnames`` these new customers got other than by default (the
        model's and the settings' defaults, not the context's)."""
        defaults = self.with_context(clean_context(self.env.context)).default_get(list(fnames))
        unchosen = {fname: defaults.get(fname, False) for fname in fnames}
        return self._billing_new_commercial_entities()._billing_changed_fields(unchosen, fnames)

    def _billing_new_commercial_entities(self):
        """The new partners the creation guards check: a contact takes the billing
        fields from its customer, which is no choice; read as the guards, not as
        the user (a contact manager may not read credit limits)."""
        return self.sudo().filtered(lambda partner: partner.commercial_partner_id == partner)

    def _billing_check_credit_approval_write(self, vals):
        """Above the company's threshold a Billing Manager decides the credit
        limit: nobody else marks a request approved or sets such a limit."""
        if self.env.su or not ("credit_limit" in vals or CREDIT_APPROVAL_FIELDS.intersection(vals)):
            return
        if self.env.user.has_group("billing_coordinator.group_billing_manager"):
            return
        approving = self._billing_changed_fields(vals, CREDIT_APPROVAL_FIELDS)
        if approving or self._billing_raises_credit_limit(vals):
            raise self._billing_credit_approval_refused()

    def _billing_credit_approval_refused(self):
        return AccessError(
            self.env._("Only a Billing Manager approves a credit limit above the company's threshold.")
        )

    def _billing_raises_credit_limit(self, vals):
        """Whether ``vals`` raises the credit limit of one of these partners above the threshold."""
        threshold = self.env.company.billing_credit_limit_threshold
        limit = vals.get("credit_limit") or 0.0
        return bool(threshold) and limit > threshold and any(partner.credit_limit < limit for partner in self)

    def _billing_changed_fields(self, vals, fnames):
        """Which of ``fnames`` a write of ``vals`` changes on at least one of these
        partners. Odoo's merge writes every field of the merged partners, the
        unchanged ones too: those are no change."""
        changed = set()
        for fname in fnames.intersection(vals):
            field = self._fields[fname]
            new_value = field.convert_to_record(field.convert_to_cache(vals[fname], self), self)
            if any(partner[fname] != new_value for partner in self):
                changed.add(fname)
        return changed

    def _billing_to_check_after_write(self, vals):
        """The partners whose data issues a write of ``vals`` changes. Odoo raises
        ``customer_rank`` with every invoice posted, one partner at a time: only a
        partner who becomes a customer through it is checked."""
        checked = DATA_CHECKED_FIELDS.intersection(vals)
        if not checked or self.env.context.get("billing_skip_data_check"):
            return self.browse()
        if checked == {"customer_rank"}:
            if self.env.context.get("billing_defer_newcomer_check"):
                return self.browse()  # posting checks its new customers once, after
            return self.filtered(lambda partner: not partner.customer_rank)
        return self

    def action_billing_approve_credit_limit(self):
        self._billing_check_manager()
        for partner in self.filtered(lambda p: p.billing_credit_approval_state == "pending"):
            requested = partner.billing_credit_limit_requested
            partner.write({
                "credit_limit": requested,
                "billing_credit_approval_state": "approved",
            })  # fmt: skip
            partner._billing_close_approval_activity(
                self.env._(
                    "Credit limit of %(amount)s approved.",
                    amount=partner.env.company.currency_id.format(requested),
                )
            )
        self._billing_activate_completed_onboarding()
        return True

    def action_billing_reject_credit_limit(self):
        self._billing_check_manager()
        for partner in self.filtered(lambda p: p.billing_credit_approval_state == "pending"):
            limit = partner._billing_limit_after_rejection()
            currency = partner.env.company.currency_id
            partner.write({
                "credit_limit": limit,
                "billing_credit_approval_state": "rejected",
            })  # fmt: skip
            partner._billing_close_approval_activity(
                self.env._(
                    "Credit limit of %(amount)s rejected; the limit stays at %(threshold)s.",
                    amount=currency.format(partner.billing_credit_limit_requested),
                    threshold=currency.format(limit),
                )
            )
        self._billing_activate_completed_onboarding()
        return True

    def _billing_limit_after_rejection(self):
        """The threshold, at most: a limit of its own the customer got meanwhile
        (within the threshold the coordinator decides) is never raised by a no."""
        self.ensure_one()
        threshold = self.env.company.billing_credit_limit_threshold
        if self.use_partner_credit_limit:
            return min(self.credit_limit, threshold)
        return threshold

    def action_billing_refresh_data_issues(self):
        self._billing_refresh_data_issues()
        return True

    def _billing_check_manager(self):
        if not self.env.user.has_group("billing_coordinator.group_billing_manager"):
            raise UserError(self.env._("Only a Billing Manager approves or rejects credit limits."))

    def _billing_close_approval_activity(self, feedback):
        self.ensure_one()
        approval = self.env.ref("billing_coordinator.mail_activity_type_credit_approval")
        activities = self.activity_ids.filtered(lambda a: a.activity_type_id == approval)
        if activities:
            activities.action_feedback(feedback=feedback)
        else:
            self.message_post(body=feedback)

    def _billing_request_credit_limit(self, amount):
        """Apply ``amount`` as credit limit, or park it for a manager's approval
        when it is above the company's threshold; none (0) keeps the company's
        default limit."""
        company = self.env.company
        threshold = company.billing_credit_limit_threshold
        if not amount:
            return
        for partner in self:
            if not threshold or amount <= threshold:
                partner.credit_limit = amount
                continue
            # the coordinator asks; only the approval is a Billing Manager's
            partner.sudo().write({
                "billing_credit_limit_requested": amount,
                "billing_credit_approval_state": "pending",
            })  # fmt: skip
            partner.activity_schedule(
                "billing_coordinator.mail_activity_type_credit_approval",
                note=self.env._(
                    "Requested credit limit %(amount)s is above the threshold of %(threshold)s.",
                    amount=company.currency_id.format(amount),
                    threshold=company.currency_id.format(threshold),
                ),
                user_id=company._billing_credit_approver().id,
            )

    def _billing_assign_coordinators(self):
        """The portfolio rules give these customers without a coordinator one."""
        without_coordinator = self.filtered(lambda partner: not partner.billing_coordinator_id)
        if without_coordinator and not self.env.context.get("billing_skip_assignment"):
            self.env["billing.assignment.rule"]._assign_coordinators(without_coordinator)

    def _billing_customers(self):
        """The commercial customers among these partners."""
        return self.filtered(lambda p: not p.parent_id and p.customer_rank > 0)

    def _billing_refresh_data_issues(self):
        """Check these customers again: a customer of one company in that company,
        a customer shared by all companies in every company that checks customers;
        and in every company where they have issues (a customer moved away loses them)."""
        issues = self.env["billing.data.issue"].sudo()
        partners_by_company = defaultdict(lambda: self.browse())
        shared = self.filtered(lambda partner: not partner.company_id)
        for company in self.env["billing.data.check"]._companies_checking() if shared else ():
            partners_by_company[company] |= shared
        for company, partners in (self - shared).grouped("company_id").items():
            partners_by_company[company] |= partners
        with_issues = issues._read_group(
            [("partner_id", "in", self.ids)], ["company_id"], ["partner_id:array_agg"]
        )
        for company, partner_ids in with_issues:
            partners_by_company[company] |= self.browse(partner_ids)
        for company, partners in partners_by_company.items():
            issues._refresh_for_partners(partners, company)

    def _billing_named_as_duplicate_by(self):
        """The partners whose duplicate issues, in any company, name one of these."""
        issues = self.env["billing.data.issue"].sudo().search([("duplicate_partner_ids", "in", self.ids)])
        return self.browse(issues.partner_id.ids)

    def _billing_invoice_email(self):
        """The address invoices go to: the profile's, the invoice contact's, or the customer's."""
        self.ensure_one()
        return self.billing_invoice_email or self.billing_invoice_contact_id.email or self.email

    def _billing_activate_completed_onboarding(self):
        """Customers in onboarding whose checklist is complete become active."""
        onboarding = self.filtered(lambda p: p.billing_account_state == "onboarding")
        if not onboarding:
            return
        onboarding.invalidate_recordset([
            "billing_data_issue_count",
            "billing_has_data_issue",
            "billing_onboarding_data_ok",
            "billing_onboarding_credit_ok",
            "billing_onboarding_complete",
        ])  # fmt: skip
        completed = onboarding.filtered("billing_onboarding_complete")
        if completed:
            completed.write({"billing_account_state": "active", "billing_account_state_reason": False})
            completed._message_log_batch(
                bodies=dict.fromkeys(
                    completed.ids, self.env._("Onboarding checklist complete: the account is active.")
                )
            )

    def _compute_billing_discrepancy_count(self):
        counts = dict(
            self.env["billing.discrepancy"]._read_group(
                [("partner_id", "in", self.commercial_partner_id.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.billing_discrepancy_count = counts.get(partner.commercial_partner_id._origin, 0)

    def action_view_billing_discrepancies(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "billing_coordinator.billing_discrepancy_action"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action


def _json_value(value):
    """A figure as the JSON column holds it: numbers as floats, dates as ISO strings."""
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, int | float):
        return value
    return float(value)


def _convert_once_each(values, convert):
    """``[convert(value) for value in values]``, calling ``convert`` once per
    distinct value: thousands of customers share a few counts, dates and zeros."""
    done = {}
    return [done[value] if value in done else done.setdefault(value, convert(value)) for value in values]
