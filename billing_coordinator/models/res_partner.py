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
