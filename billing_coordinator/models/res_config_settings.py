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
    billing_credit_limit_threshold = fields.Monetary(
        related="company_id.billing_credit_limit_threshold",
        readonly=False,
    )
    billing_credit_approver_id = fields.Many2one(
        related="company_id.billing_credit_approver_id",
        readonly=False,
    )
    billing_data_issue_policy = fields.Selection(
        related="company_id.billing_data_issue_policy",
        readonly=False,
    )
    billing_duplicate_name_similarity = fields.Float(
        related="company_id.billing_duplicate_name_similarity",
        readonly=False,
    )
