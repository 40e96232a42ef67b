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

    # payments wing: discrepancy detection and resolution
    billing_discrepancy_tolerance_amount = fields.Monetary(
        string="Discrepancy Tolerance",
        currency_field="currency_id",
        default=50.0,
        help="Differences up to this amount (company currency) are within tolerance: "
        "they open no ticket and a coordinator may write them off.",
    )
    billing_discrepancy_tolerance_percent = fields.Float(
        string="Discrepancy Tolerance (%)",
        default=5.0,
        help="Differences up to this percentage of the invoice or payment are within tolerance. "
        "When both limits are set, the lower one applies; 0 means no percentage limit.",
    )
    billing_discrepancy_days = fields.Integer(
        string="Days Before a Discrepancy",
        default=10,
        help="A partly paid invoice or an unapplied payment becomes a ticket after this many days.",
    )
    billing_duplicate_window_days = fields.Integer(
        string="Duplicate Payment Window (Days)",
        default=7,
        help="Two payments of the same customer and amount within this many days count as a duplicate.",
    )
    billing_writeoff_account_id = fields.Many2one(
        "account.account",
        string="Write-off Account",
        check_company=True,
        help="Account that takes the small differences a coordinator writes off.",
    )
    billing_sla_payment_days = fields.Integer(
        string="SLA for Payment Tickets (Days)",
        default=5,
        help="Days to resolve a short, over-, duplicate or unapplied payment.",
    )
    billing_sla_dispute_days = fields.Integer(
        string="SLA for Disputes (Days)",
        default=10,
        help="Days to resolve a pricing dispute, an over-charge or an under-charge.",
    )
    billing_sla_other_days = fields.Integer(
        string="SLA for Other Tickets (Days)",
        default=15,
    )

    def _billing_tolerance_limit(self, base_amount):
        """The largest difference (company currency) within tolerance for a
        document of ``base_amount``: the lower of the amount and the percentage."""
        self.ensure_one()
        limit = self.billing_discrepancy_tolerance_amount
        if self.billing_discrepancy_tolerance_percent > 0:
            limit = min(limit, abs(base_amount) * self.billing_discrepancy_tolerance_percent / 100)
        return limit
