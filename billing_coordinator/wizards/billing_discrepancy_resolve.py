from odoo import api, fields, models

from ..models.billing_discrepancy import RESOLUTIONS

DEFAULT_RESOLUTION = {
    "short_payment": "write_off",
    "overpayment": "reconcile",
    "unapplied_payment": "reconcile",
    "duplicate_payment": "refund",
    "pricing_dispute": "credit_note",
    "over_charge": "credit_note",
    "under_charge": "correction_invoice",
    "other": "closed",
}


class BillingDiscrepancyResolve(models.TransientModel):
    """Resolve a ticket with one action."""

    _name = "billing.discrepancy.resolve"
    _description = "Resolve a Discrepancy"

    discrepancy_id = fields.Many2one("billing.discrepancy", required=True, readonly=True)
    company_id = fields.Many2one(related="discrepancy_id.company_id")
    partner_id = fields.Many2one(related="discrepancy_id.partner_id")
    discrepancy_type = fields.Selection(related="discrepancy_id.discrepancy_type")
    currency_id = fields.Many2one(related="discrepancy_id.currency_id")
    difference = fields.Monetary(related="discrepancy_id.difference")
    ticket_invoice_ids = fields.Many2many(related="discrepancy_id.invoice_ids")
    resolution = fields.Selection(
        [item for item in RESOLUTIONS if item[0] != "facts_gone"],
        compute="_compute_resolution",
        store=True,
        readonly=False,
        required=True,
    )
    invoice_id = fields.Many2one(
        "account.move",
        compute="_compute_invoice_id",
        store=True,
        readonly=False,
        domain="[('id', 'in', ticket_invoice_ids)]",
    )
    invoice_line_ids = fields.Many2many(
        "account.move.line",
        string="Lines to Credit",
        domain="[('move_id', '=', invoice_id), ('display_type', '=', 'product')]",
        help="Credit these lines in full; leave empty to credit the amount.",
    )
    target_invoice_ids = fields.Many2many(
        "account.move",
        string="Apply to Invoices",
        domain="[('commercial_partner_id', '=', partner_id), ('company_id', '=', company_id), "
        "('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
        "('payment_state', 'in', ('not_paid', 'partial'))]",
    )
    amount = fields.Monetary(compute="_compute_amount", store=True, readonly=False)
    writeoff_account_id = fields.Many2one(
        "account.account",
        string="Write-off Account",
        compute="_compute_writeoff_account_id",
        store=True,
        readonly=False,
        check_company=True,
    )
    refund_credit = fields.Boolean(
        string="Pay the Credit Back",
        help="When the invoice owes less than the credit note, pay the rest back to the customer "
        "instead of keeping it as credit on the customer's account.",
    )
    refund_journal_id = fields.Many2one(
        "account.journal",
        string="Pay From",
        compute="_compute_refund_journal_id",
        store=True,
        readonly=False,
        check_company=True,
        domain="[('type', 'in', ('bank', 'cash'))]",
    )
    note = fields.Text(string="Resolution Note")

    @api.depends("discrepancy_id")
    def _compute_resolution(self):
        for wizard in self:
            wizard.resolution = DEFAULT_RESOLUTION.get(wizard.discrepancy_type, "closed")

    @api.depends("discrepancy_id")
    def _compute_invoice_id(self):
        for wizard in self:
            wizard.invoice_id = wizard.discrepancy_id.invoice_ids.filtered(
                lambda m: m.move_type == "out_invoice"
            )[:1]

    @api.depends("discrepancy_id")
    def _compute_amount(self):
        for wizard in self:
            ticket = wizard.discrepancy_id
            wizard.amount = ticket._allowed_amount() if ticket else 0.0

    @api.depends("discrepancy_id")
    def _compute_writeoff_account_id(self):
        for wizard in self:
            wizard.writeoff_account_id = wizard.company_id.billing_writeoff_account_id

    @api.depends("invoice_id")
    def _compute_refund_journal_id(self):
        """The journal the invoice was paid into, else the company's first bank journal."""
        journals = self.env["account.journal"]
        for wizard in self:
            paid_into = wizard.invoice_id._get_reconciled_payments().journal_id[:1]
            wizard.refund_journal_id = paid_into or journals.search(
                [*journals._check_company_domain(wizard.company_id), ("type", "=", "bank")], limit=1
            )

    def action_resolve(self):
        self.ensure_one()
        self.discrepancy_id._resolve(
            self.resolution,
            amount=self.amount,
            invoice=self.invoice_id,
            lines=self.invoice_line_ids,
            target_invoices=self.target_invoice_ids,
            account=self.writeoff_account_id,
            note=self.note,
            refund_journal=self.refund_journal_id if self.refund_credit else None,
        )
        return {"type": "ir.actions.act_window_close"}
