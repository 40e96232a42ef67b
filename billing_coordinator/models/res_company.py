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

    # accounts wing: onboarding, data quality
    billing_credit_limit_threshold = fields.Monetary(
        string="Credit Limit Approval Threshold",
        currency_field="currency_id",
        default=50000.0,
        help="A new customer's credit limit above this amount needs a Billing Manager's approval.",
    )
    billing_credit_approver_id = fields.Many2one(
        "res.users",
        string="Credit Limit Approver",
        help="The Billing Manager who gets the approval activities; "
        "any Billing Manager of the company when empty.",
    )
    billing_data_issue_policy = fields.Selection(
        [("warn", "Warn"), ("block", "Block")],
        string="Blocking Data Issues on Posting",
        default="warn",
        required=True,
        help="What happens when an invoice is posted for a customer with a blocking data issue.",
    )
    billing_duplicate_name_similarity = fields.Float(
        string="Duplicate Name Similarity",
        default=0.5,
        help="Trigram similarity (0-1) from which two customers in the same city "
        "count as possible duplicates.",
    )
    billing_data_check_date = fields.Date(string="Data Checks Done On", readonly=True, copy=False)
    billing_data_check_cursor = fields.Integer(string="Data Checks Cursor", readonly=True, copy=False)

    def _billing_credit_approver(self):
        """Who approves credit limits above the threshold for this company."""
        self.ensure_one()
        if self.billing_credit_approver_id:
            return self.billing_credit_approver_id
        managers = self.env.ref("billing_coordinator.group_billing_manager").sudo().all_user_ids
        managers = managers.filtered(lambda u: self in u.company_ids and not u.share and u.active)
        return (managers - self.env.ref("base.user_root")).sorted("id")[:1] or self.env.user

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        self.env["billing.data.check"]._ensure_checks(companies)
        return companies
