from odoo import api, fields, models

from .billing_discrepancy import DISPUTE_TYPES
from .billing_discrepancy_stage import CLOSED_STATES

COORDINATOR_GROUP = "billing_coordinator.group_billing_coordinator"


class AccountMove(models.Model):
    _inherit = "account.move"

    billing_discrepancy_ids = fields.Many2many(
        "billing.discrepancy",
        "billing_discrepancy_account_move_rel",
        "account_move_id",
        "billing_discrepancy_id",
        string="Discrepancies",
        copy=False,
        readonly=True,
        groups=COORDINATOR_GROUP,
    )
    billing_is_disputed = fields.Boolean(
        string="Disputed",
        compute="_compute_billing_is_disputed",
        store=True,
        index="btree_not_null",
        help="The customer disputes this invoice: dunning leaves it alone until the dispute is resolved.",
    )
    billing_discrepancy_count = fields.Integer(
        string="Discrepancy Count", compute="_compute_billing_discrepancy_count", groups=COORDINATOR_GROUP
    )

    @api.depends("billing_discrepancy_ids.state", "billing_discrepancy_ids.discrepancy_type")
    def _compute_billing_is_disputed(self):
        for move in self:
            move.billing_is_disputed = any(
                ticket.discrepancy_type in DISPUTE_TYPES and ticket.state not in CLOSED_STATES
                for ticket in move.billing_discrepancy_ids
            )

    def _compute_billing_discrepancy_count(self):
        counts = dict(
            self.env["billing.discrepancy"]._read_group(
                [("invoice_ids", "in", self.ids)], ["invoice_ids"], ["__count"]
            )
        )
        for move in self:
            move.billing_discrepancy_count = counts.get(move._origin, 0)

    def action_billing_dispute(self):
        """Open a dispute ticket for this invoice (disputed lines, amount, reason)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Dispute %(invoice)s", invoice=self.name),
            "res_model": "billing.discrepancy.raise",
            "view_mode": "form",
            "target": "new",
            "context": {"default_invoice_id": self.id, "default_discrepancy_type": "pricing_dispute"},
        }

    def action_view_billing_discrepancies(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "billing_coordinator.billing_discrepancy_action"
        )
        action["domain"] = [("invoice_ids", "in", self.ids)]
        action["context"] = {
            "default_invoice_ids": self.ids,
            "default_partner_id": self.commercial_partner_id.id,
        }
        return action
