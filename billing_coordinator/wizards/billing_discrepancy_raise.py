from odoo import api, fields, models
from odoo.exceptions import UserError

from ..models.billing_discrepancy import DISCREPANCY_TYPES


class BillingDiscrepancyRaise(models.TransientModel):
    """Open a ticket by hand from an invoice (Dispute) or from a payment."""

    _name = "billing.discrepancy.raise"
    _description = "Open a Discrepancy Ticket"

    invoice_id = fields.Many2one("account.move", readonly=True)
    payment_id = fields.Many2one("account.payment", readonly=True)
    company_id = fields.Many2one("res.company", compute="_compute_document")
    partner_id = fields.Many2one("res.partner", string="Customer", compute="_compute_document")
    currency_id = fields.Many2one("res.currency", compute="_compute_document")
    discrepancy_type = fields.Selection(DISCREPANCY_TYPES, string="Type", required=True, default="other")
    invoice_line_ids = fields.Many2many(
        "account.move.line",
        string="Disputed Lines",
        domain="[('move_id', '=', invoice_id), ('display_type', '=', 'product')]",
    )
    document_amount = fields.Monetary(compute="_compute_document_amount", store=True, readonly=False)
    amount = fields.Monetary(
        string="Disputed Amount",
        compute="_compute_amount",
        store=True,
        readonly=False,
        help="The part of the document the customer disputes, or by which it is wrong.",
    )
    reason = fields.Text(required=True)

    @api.depends("invoice_id", "payment_id")
    def _compute_document(self):
        for wizard in self:
            document = wizard.invoice_id or wizard.payment_id
            wizard.company_id = document.company_id
            wizard.partner_id = document.partner_id.commercial_partner_id
            wizard.currency_id = document.currency_id

    @api.depends("invoice_id", "payment_id")
    def _compute_document_amount(self):
        for wizard in self:
            wizard.document_amount = wizard.invoice_id.amount_total or wizard.payment_id.amount

    @api.depends("invoice_line_ids")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = sum(wizard.invoice_line_ids.mapped("price_total"))

    def action_open_ticket(self):
        self.ensure_one()
        if not (self.invoice_id or self.payment_id):
            raise UserError(self.env._("Open the ticket from an invoice or a payment."))
        if self.invoice_line_ids - self.invoice_id.invoice_line_ids:
            raise UserError(self.env._("Only lines of the disputed invoice can be disputed."))
        if self.currency_id.compare_amounts(self.amount, 0.0) <= 0:
            raise UserError(self.env._("The disputed amount must be positive."))
        if self._amount_exceeds_invoice():
            raise UserError(self.env._("The disputed amount cannot exceed the invoice total."))
        ticket = self.env["billing.discrepancy"].create(self._ticket_vals())
        return {
            "type": "ir.actions.act_window",
            "res_model": "billing.discrepancy",
            "res_id": ticket.id,
            "view_mode": "form",
        }

    def _amount_exceeds_invoice(self):
        # what an under-charge misses comes on top of the invoice: it has no cap
        return (
            self.invoice_id
            and self.discrepancy_type != "under_charge"
            and self.currency_id.compare_amounts(self.amount, self.document_amount) > 0
        )

    def _expected_and_received(self):
        """From an invoice, the invoice is what was expected; from a payment, the
        payment is what was received. The customer owes more after an under-charge
        (and a payment short); otherwise less."""
        document, amount = self.document_amount, self.amount
        if self.payment_id:
            if self.discrepancy_type in ("under_charge", "short_payment"):
                return document + amount, document
            return max(document - amount, 0.0), document
        if self.discrepancy_type == "under_charge":
            return document + amount, document
        return document, max(document - amount, 0.0)

    def _ticket_vals(self):
        expected, received = self._expected_and_received()
        return {
            "discrepancy_type": self.discrepancy_type,
            "company_id": self.company_id.id,
            "partner_id": self.partner_id.id,
            "currency_id": self.currency_id.id,
            "expected_amount": expected,
            "received_amount": received,
            "reason": self.reason,
            "priority": "1" if self.discrepancy_type in ("pricing_dispute", "over_charge") else "0",
            "invoice_ids": [fields.Command.set(self.invoice_id.ids)],
            "invoice_line_ids": [fields.Command.set(self.invoice_line_ids.ids)],
            "payment_ids": [fields.Command.set(self.payment_id.ids)],
        }
