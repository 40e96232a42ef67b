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
    billing_dunning_fee_account_id = fields.Many2one(
        related="company_id.billing_dunning_fee_account_id",
        readonly=False,
        check_company=True,
    )
    billing_dunning_interest_account_id = fields.Many2one(
        related="company_id.billing_dunning_interest_account_id",
        readonly=False,
        check_company=True,
    )
    billing_dunning_compensation_account_id = fields.Many2one(
        related="company_id.billing_dunning_compensation_account_id",
        readonly=False,
        check_company=True,
    )
    billing_dunning_tolerance = fields.Monetary(
        related="company_id.billing_dunning_tolerance",
        readonly=False,
    )
    billing_dunning_approval = fields.Boolean(
        related="company_id.billing_dunning_approval",
        readonly=False,
    )
    billing_dunning_fee_mode = fields.Selection(
        related="company_id.billing_dunning_fee_mode",
        readonly=False,
    )
    billing_promise_grace_days = fields.Integer(
        related="company_id.billing_promise_grace_days",
        readonly=False,
    )
    billing_credit_limit_threshold = fields.Monetary(
        related="company_id.billing_credit_limit_threshold",
        readonly=False,
    )
    billing_credit_approver_id = fields.Many2one(
        related="company_id.billing_credit_approver_id",
        readonly=False,
        domain=lambda self: self._billing_credit_approver_domain(),
    )
    billing_data_issue_policy = fields.Selection(
        related="company_id.billing_data_issue_policy",
        readonly=False,
    )
    billing_duplicate_name_similarity = fields.Float(
        related="company_id.billing_duplicate_name_similarity",
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
        check_company=True,
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

    def _billing_credit_approver_domain(self):
        """The Billing Managers of the company: only they may approve credit limits."""
        managers = self.env.ref("billing_coordinator.group_billing_manager")
        return (
            f"[('all_group_ids', 'in', {managers.ids}), ('share', '=', False), "
            "('company_ids', 'in', company_id)]"
        )
