from odoo import api, fields, models

from ..tools.legal_profiles import get_profile, profile_for_country


class ResCompany(models.Model):
    _inherit = "res.company"

    billing_legal_profile = fields.Selection(
        selection=[
            ("dk", "Denmark (Renteloven / Inkassoloven)"),
            ("eu", "EU late payment directive (2011/7/EU)"),
            ("none", "No statutory limits"),
        ],
        string="Legal Profile",
        compute="_compute_billing_legal_profile",
        store=True,
        readonly=False,
        help="Which law limits reminder fees, late interest and compensation: "
        "Denmark applies Renteloven and Inkassoloven, EU the late payment directive.",
    )
    billing_interest_day_count = fields.Selection(
        [("act/365", "Actual/365"), ("act/360", "Actual/360"), ("act/act", "Actual/Actual")],
        string="Interest Day Count",
        default="act/365",
        required=True,
    )

    @api.depends("country_id")
    def _compute_billing_legal_profile(self):
        for company in self:
            company.billing_legal_profile = profile_for_country(company.country_id.code)

    def _billing_legal_rules(self):
        """The rule book profile that applies to this company."""
        self.ensure_one()
        return get_profile(self.billing_legal_profile)
