from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    billing_legal_profile = fields.Selection(
        related="company_id.billing_legal_profile",
        readonly=False,
    )
    billing_interest_day_count = fields.Selection(
        related="company_id.billing_interest_day_count",
        readonly=False,
    )
