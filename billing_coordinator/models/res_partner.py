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
            "billing_dunning_policy_id",
        ]

    billing_dunning_policy_id = fields.Many2one(
        "billing.dunning.policy",
        string="Dunning Policy",
        company_dependent=True,
        tracking=True,
        help="How this customer is reminded in the current company; empty: the company's default policy.",
    )
    billing_promise_kept_rate = fields.Float(
        string="Promises Kept (%)",
        compute="_compute_billing_promise_kept_rate",
        help="Share of this customer's settled promises to pay that were kept.",
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
