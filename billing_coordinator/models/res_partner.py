from odoo import fields, models

ACCOUNT_STATES = [
    ("onboarding", "Onboarding"),
    ("active", "Active"),
    ("on_hold", "On Hold"),
    ("blocked", "Blocked"),
]


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

    def _commercial_fields(self):
        return [
            *super()._commercial_fields(),
            "billing_coordinator_id",
            "billing_account_state",
            "billing_account_state_reason",
        ]

    # payments wing: the customer's discrepancy tickets
    billing_discrepancy_count = fields.Integer(
        string="Discrepancy Count",
        compute="_compute_billing_discrepancy_count",
        groups="billing_coordinator.group_billing_coordinator",
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
