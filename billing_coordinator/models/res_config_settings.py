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
    billing_discrepancy_tolerance_amount = fields.Monetary(
        related="company_id.billing_discrepancy_tolerance_amount",
        readonly=False,
    )
    billing_discrepancy_tolerance_percent = fields.Float(
        related="company_id.billing_discrepancy_tolerance_percent",
        readonly=False,
    )
    billing_discrepancy_days = fields.Integer(
        related="company_id.billing_discrepancy_days",
        readonly=False,
    )
    billing_duplicate_window_days = fields.Integer(
        related="company_id.billing_duplicate_window_days",
        readonly=False,
    )
    billing_writeoff_account_id = fields.Many2one(
        related="company_id.billing_writeoff_account_id",
        readonly=False,
    )
    billing_sla_payment_days = fields.Integer(
        related="company_id.billing_sla_payment_days",
        readonly=False,
    )
    billing_sla_dispute_days = fields.Integer(
        related="company_id.billing_sla_dispute_days",
        readonly=False,
    )
    billing_sla_other_days = fields.Integer(
        related="company_id.billing_sla_other_days",
        readonly=False,
    )
