from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# the mixins must be defined before the model (other files import this one early)
from . import billing_discrepancy_detection, billing_discrepancy_resolution  # noqa: F401
from .billing_discrepancy_stage import CLOSED_STATES

DISCREPANCY_TYPES = [
    ("short_payment", "Short Payment"),
    ("overpayment", "Overpayment"),
    ("duplicate_payment", "Duplicate Payment"),
    ("unapplied_payment", "Unapplied Payment"),
    ("pricing_dispute", "Pricing Dispute"),
    ("over_charge", "Over-charge"),
    ("under_charge", "Under-charge"),
    ("other", "Other"),
]
# while a ticket of these types is open, its invoices are disputed and left out of dunning
DISPUTE_TYPES = ("pricing_dispute", "over_charge")
# the company check of these links is done for a whole batch at once
BATCH_COMPANY_CHECKED = ("invoice_ids", "payment_ids")
PAYMENT_TYPES = ("short_payment", "overpayment", "duplicate_payment", "unapplied_payment")
CHARGE_TYPES = ("pricing_dispute", "over_charge", "under_charge")

RESOLUTIONS = [
    ("credit_note", "Credit Note"),
    ("correction_invoice", "Correction Invoice"),
    ("reconcile", "Reconciled with Invoices"),
    ("refund", "Refunded to Customer"),
    ("write_off", "Written Off"),
    ("closed", "Closed with a Reason"),
    ("facts_gone", "Closed Automatically"),
]


class BillingDiscrepancy(models.Model):
    _name = "billing.discrepancy"
    _description = "Payment Discrepancy"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "billing.discrepancy.detection",
        "billing.discrepancy.resolution",
    ]
    _order = "priority desc, sla_deadline, id desc"
    _check_company_auto = True

    def _default_stage_id(self):
        return self.env["billing.discrepancy.stage"]._stage_for_state("new")

    name = fields.Char(string="Reference", required=True, readonly=True, copy=False, default="/")
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, default=lambda self: self.env.company
    )
    discrepancy_type = fields.Selection(
        DISCREPANCY_TYPES, string="Type", required=True, default="other", tracking=True
    )
    stage_id = fields.Many2one(
        "billing.discrepancy.stage",
        required=True,
        tracking=True,
        index=True,
        copy=False,
        default=lambda self: self._default_stage_id(),
        group_expand="_read_group_stage_ids",
    )
    state = fields.Selection(related="stage_id.state", store=True, index=True)
    is_closed = fields.Boolean(compute="_compute_is_closed", search="_search_is_closed")
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
        domain=[("parent_id", "=", False)],
    )
    coordinator_id = fields.Many2one(
        "res.users",
        compute="_compute_coordinator_id",
        store=True,
        readonly=False,
        index=True,
        tracking=True,
        domain=[("share", "=", False)],
    )
    priority = fields.Selection([("0", "Normal"), ("1", "High"), ("2", "Urgent")], default="0", tracking=True)
    opened_on = fields.Date(required=True, default=fields.Date.context_today, readonly=True)
    sla_deadline = fields.Date(
        string="SLA Deadline", compute="_compute_sla_deadline", store=True, readonly=False
    )
    resolved_on = fields.Date(readonly=True, copy=False)
    invoice_ids = fields.Many2many(
        "account.move",
        "billing_discrepancy_account_move_rel",
        "billing_discrepancy_id",
        "account_move_id",
        string="Invoices",
        domain=[("move_type", "in", ("out_invoice", "out_refund"))],
        check_company=True,
    )
    invoice_line_ids = fields.Many2many(
        "account.move.line",
        "billing_discrepancy_account_move_line_rel",
        "billing_discrepancy_id",
        "account_move_line_id",
        string="Disputed Lines",
        domain="[('move_id', 'in', invoice_ids), ('display_type', '=', 'product')]",
    )
    payment_ids = fields.Many2many(
        "account.payment",
        "billing_discrepancy_account_payment_rel",
        "billing_discrepancy_id",
        "account_payment_id",
        string="Payments",
        check_company=True,
    )
    resolution_move_ids = fields.Many2many(
        "account.move",
        "billing_discrepancy_resolution_move_rel",
        "billing_discrepancy_id",
        "account_move_id",
        string="Resolution Entries",
        readonly=True,
        copy=False,
        help="Credit notes, correction invoices and write-off entries made to resolve the ticket.",
    )
    resolution_payment_ids = fields.Many2many(
        "account.payment",
        "billing_discrepancy_resolution_payment_rel",
        "billing_discrepancy_id",
        "account_payment_id",
        string="Refunds",
        readonly=True,
        copy=False,
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        help="The currency of the invoice or payment.",
    )
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    expected_amount = fields.Monetary(help="What the customer should have paid or been charged.")
    received_amount = fields.Monetary(help="What the customer paid or was charged.")
    difference = fields.Monetary(
        compute="_compute_difference",
        store=True,
        tracking=True,
        help="Expected minus received: positive when the customer owes, negative when we owe.",
    )
    difference_company = fields.Monetary(
        string="Difference (Company Currency)",
        currency_field="company_currency_id",
        compute="_compute_difference",
        store=True,
    )
    reason = fields.Text()
    resolution = fields.Selection(RESOLUTIONS, readonly=True, copy=False, tracking=True)
    resolution_note = fields.Text(copy=False)
    detection_key = fields.Char(
        readonly=True,
        copy=False,
        help="Set on tickets the detection opened: the facts it found, "
        "so it never opens a second ticket for them.",
    )
    invoice_count = fields.Integer(compute="_compute_counts")
    payment_count = fields.Integer(compute="_compute_counts")

    _detection_key_unique = models.UniqueIndex(
        "(company_id, detection_key) WHERE detection_key IS NOT NULL",
        "The detection already has a ticket for these facts.",
    )
    _amounts_positive = models.Constraint(
        "CHECK(expected_amount >= 0 AND received_amount >= 0)",
        "Expected and received amounts cannot be negative.",
    )

    @api.depends("state")
    def _compute_is_closed(self):
        for ticket in self:
            ticket.is_closed = ticket.state in CLOSED_STATES

    def _search_is_closed(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            return NotImplemented
        closed = (operator == "=") == value
        return [("state", "in" if closed else "not in", CLOSED_STATES)]

    @api.depends("partner_id", "company_id")
    def _compute_coordinator_id(self):
        # the portfolio is per company: read it once per company for all its tickets
        for company, tickets in self.grouped("company_id").items():
            coordinators = self._coordinators_of(tickets.partner_id.commercial_partner_id, company)
            for ticket in tickets:
                customer = ticket.partner_id.commercial_partner_id
                ticket.coordinator_id = coordinators.get(customer.id, self.env["res.users"])

    @api.model
    def _coordinators_of(self, customers, company):
        """{customer id: coordinator} of the commercial ``customers`` in ``company``."""
        customers = customers.with_company(company)
        customers.fetch(["billing_coordinator_id"])  # not every column of thousands of customers
        return {customer.id: customer.billing_coordinator_id for customer in customers}

    @api.model
    def _follow_coordinator_change(self, coordinators_before):
        """The open tickets of customers whose coordinator changed in the current
        company go to the new coordinator, unless someone other than the previous
        one holds them; ``coordinators_before``: {customer id: previous user id}."""
        company = self.env.company
        tickets = self.sudo().search([
            ("company_id", "=", company.id),
            ("partner_id", "in", list(coordinators_before)),
            ("is_closed", "=", False),
        ])  # fmt: skip
        customers = tickets.partner_id.with_company(company)
        new_coordinator = {customer.id: customer.billing_coordinator_id for customer in customers}
        moving = tickets.filtered(
            lambda t: (
                t.coordinator_id.id in (False, coordinators_before[t.partner_id.id])
                and t.coordinator_id != new_coordinator[t.partner_id.id]
            )
        )
        for user, group in moving.grouped(lambda t: new_coordinator[t.partner_id.id]).items():
            # one note for the batch says what the tracking of each ticket would
            group.with_context(mail_notrack=True).coordinator_id = user
            group._message_log_batch(
                bodies=dict.fromkeys(
                    group.ids,
                    self.env._(
                        "Coordinator changed with the customer's portfolio to %(user)s.",
                        user=user.name or self.env._("nobody"),
                    ),
                )
            )

    @api.depends("discrepancy_type", "opened_on", "company_id")
    def _compute_sla_deadline(self):
        for ticket in self:
            ticket.sla_deadline = ticket._sla_deadline_of(
                ticket.discrepancy_type,
                ticket.company_id or self.env.company,
                ticket.opened_on or fields.Date.context_today(ticket),
            )

    @api.depends("expected_amount", "received_amount", "currency_id", "company_id", "opened_on")
    def _compute_difference(self):
        rates = {}  # detection opens thousands of tickets in a few currencies at once
        for ticket in self:
            ticket.difference = ticket.expected_amount - ticket.received_amount
            ticket.difference_company = ticket._in_company_currency(
                ticket.difference,
                ticket.currency_id,
                ticket.company_id or self.env.company,
                ticket.opened_on or fields.Date.context_today(ticket),
                rates,
            )

    @api.model
    def _in_company_currency(self, amount, currency, company, date, rates):
        """``amount`` converted at ``date``'s rate; ``rates`` caches the rates of a batch."""
        key = (currency, company, date)
        if key not in rates:
            rates[key] = (
                currency._get_conversion_rate(currency, company.currency_id, company, date)
                if currency and currency != company.currency_id
                else 1.0
            )
        return company.currency_id.round(amount * rates[key])

    def _compute_counts(self):
        for ticket in self:
            ticket.invoice_count = len(ticket.invoice_ids | ticket.resolution_move_ids)
            ticket.payment_count = len(ticket.payment_ids | ticket.resolution_payment_ids)

    @api.model
    def _read_group_stage_ids(self, stages, domain):
        return stages.search([("active", "=", True)])

    @api.model_create_multi
    def create(self, vals_list):
        partner_ids = [vals["partner_id"] for vals in vals_list if vals.get("partner_id")]
        commercial = {p.id: p.commercial_partner_id.id for p in self.env["res.partner"].browse(partner_ids)}
        unnamed = [vals for vals in vals_list if vals.get("name", "/") == "/"]
        for vals, name in zip(unnamed, self._next_names(len(unnamed)), strict=True):
            vals["name"] = name
        if any("stage_id" not in vals for vals in vals_list):
            new_stage = self._default_stage_id()  # once for the batch
            for vals in vals_list:
                vals.setdefault("stage_id", new_stage.id)
        for vals in vals_list:
            if vals.get("partner_id"):
                vals["partner_id"] = commercial[vals["partner_id"]]
        return super().create(vals_list)

    @api.model
    def _next_names(self, count):
        """``count`` ticket references from the sequence in one query."""
        sequence = self.env["ir.sequence"].sudo().search([("code", "=", "billing.discrepancy")], limit=1)
        if not count or not sequence:
            return ["/"] * count
        if sequence.implementation != "standard" or sequence.use_date_range:
            return [sequence.next_by_code("billing.discrepancy") for _index in range(count)]
        self.env.cr.execute(
            SQL(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                f"ir_sequence_{sequence.id:03d}",
                count,
            )
        )
        numbers = [number for (number,) in self.env.cr.fetchall()]
        # the prefix once for the batch: interpolating it costs more than the number
        prefix, suffix = sequence._get_prefix_suffix()
        return [f"{prefix}{number:0{sequence.padding}d}{suffix}" for number in numbers]

    def write(self, vals):
        stage = self.env["billing.discrepancy.stage"].browse(vals.get("stage_id"))
        # entering the stage takes a resolution of this write: one kept from before says nothing
        if (
            stage.state == "resolved"
            and not vals.get("resolution")
            and self.filtered(lambda ticket: ticket.state != "resolved")
        ):
            raise UserError(
                self.env._("Resolve a ticket with the Resolve button: it records how it was resolved.")
            )
        if stage and stage.state not in CLOSED_STATES:
            vals.setdefault("resolved_on", False)
            self.filtered("is_closed")._forget_resolution()
        return super().write(vals)

    def _forget_resolution(self):
        """A ticket reopened is resolved anew, with the Resolve button."""
        if self:
            self.write({"resolution": False, "resolution_note": False})

    def _check_company(self, fnames=None):
        """Odoo's company check, with the linked invoices and payments checked per
        company for the whole batch instead of per ticket: detection opens
        thousands of tickets at once. A ticket that fails goes through Odoo's own
        check, which says what is wrong."""
        if fnames is None or {"company_id", "company_ids"} & set(fnames):
            fnames = list(self._fields)
        batched = [name for name in BATCH_COMPANY_CHECKED if name in fnames]
        failing = self.browse()
        for company, tickets in self.sudo().grouped("company_id").items():
            for name in batched:
                linked = tickets[name]
                foreign = linked - linked.with_context(active_test=False).filtered_domain(
                    linked._check_company_domain(company)
                )
                if foreign:
                    failing |= self.browse(ticket.id for ticket in tickets if ticket[name] & foreign)
        super(BillingDiscrepancy, failing)._check_company(batched)
        return super()._check_company(
            [name for name in fnames if name not in batched and name != "company_id"]
        )

    @api.model
    def _sla_deadline_of(self, discrepancy_type, company, opened_on):
        if discrepancy_type in PAYMENT_TYPES:
            days = company.billing_sla_payment_days
        elif discrepancy_type in CHARGE_TYPES:
            days = company.billing_sla_dispute_days
        else:
            days = company.billing_sla_other_days
        return opened_on + timedelta(days=days)

    # ------------------------------------------------------------------
    # buttons
    # ------------------------------------------------------------------
    def action_start(self):
        self._move_to_state("in_progress")

    def action_wait_for_customer(self):
        self._move_to_state("waiting")

    def action_cancel(self):
        self._move_to_state("cancelled")

    def action_reopen(self):
        self.write({"resolution": False, "resolution_note": False})
        self._move_to_state("new")

    def _move_to_state(self, state):
        stage = self.env["billing.discrepancy.stage"]._stage_for_state(state)
        if not stage:
            raise UserError(self.env._("No active stage means this step; ask a Billing Manager."))
        self.write({"stage_id": stage.id})

    def action_open_resolve(self):
        self.ensure_one()
        if self.is_closed:
            raise UserError(self.env._("The ticket %(name)s is already closed.", name=self.name))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Resolve %(name)s", name=self.name),
            "res_model": "billing.discrepancy.resolve",
            "view_mode": "form",
            "target": "new",
            "context": {"default_discrepancy_id": self.id},
        }

    def action_view_invoices(self):
        self.ensure_one()
        moves = self.invoice_ids | self.resolution_move_ids
        return self._open_records("account.move", moves, self.env._("Invoices"))

    def action_view_payments(self):
        self.ensure_one()
        payments = self.payment_ids | self.resolution_payment_ids
        return self._open_records("account.payment", payments, self.env._("Payments"))

    def _open_records(self, model, records, title):
        action = {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": model,
            "domain": [("id", "in", records.ids)],
            "view_mode": "list,form",
        }
        if len(records) == 1:
            action.update(view_mode="form", res_id=records.id)
        return action

    def action_send_acknowledgement(self):
        return self._open_mail_composer("billing_coordinator.mail_template_billing_discrepancy_acknowledge")

    def action_ask_remittance(self):
        """The ticket waits for the customer once the request is sent (see
        ``message_post``), not when the composer opens: it may be discarded."""
        action = self._open_mail_composer("billing_coordinator.mail_template_billing_discrepancy_remittance")
        action["context"]["billing_wait_for_customer"] = True
        return action

    def message_post(self, **kwargs):
        if self.env.context.get("billing_wait_for_customer"):
            self.filtered(lambda ticket: not ticket.is_closed)._move_to_state("waiting")
        if self.env.context.get("billing_attach_resolution_documents"):
            kwargs["attachments"] = [*(kwargs.get("attachments") or []), *self._resolution_documents()]
        return super().message_post(**kwargs)

    def _resolution_documents(self):
        """The credit notes and correction invoices of the resolution, as PDF
        ``(file name, content)`` pairs for the customer."""
        self.ensure_one()
        documents = self.resolution_move_ids.filtered(
            lambda move: move.state == "posted" and move.is_sale_document()
        )
        render = self.env["ir.actions.report"]._render_qweb_pdf
        return [
            (move._get_invoice_report_filename(), render("account.account_invoices", move.ids)[0])
            for move in documents
        ]

    def action_send_resolution(self):
        """The customer gets the resolution with its credit note or correction invoice attached."""
        action = self._open_mail_composer("billing_coordinator.mail_template_billing_discrepancy_resolved")
        action["context"]["billing_attach_resolution_documents"] = True
        return action

    def _open_mail_composer(self, template_xmlid):
        self.ensure_one()
        template = self.env.ref(template_xmlid)
        return {
            "type": "ir.actions.act_window",
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_template_id": template.id,
                "default_composition_mode": "comment",
                "default_email_layout_xmlid": "mail.mail_notification_light",
            },
        }

    def _get_type_label(self):
        """The ticket's type in the reader's language (mail templates)."""
        self.ensure_one()
        return dict(self._fields["discrepancy_type"]._description_selection(self.env)).get(
            self.discrepancy_type, ""
        )

    def _get_resolution_label(self):
        self.ensure_one()
        return dict(self._fields["resolution"]._description_selection(self.env)).get(self.resolution, "")
