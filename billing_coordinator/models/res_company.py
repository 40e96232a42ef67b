from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.dunning_rules import check_fee_amount
from ..tools.legal_profiles import get_profile, profile_for_country

# the accounts the billing books on, chosen per company in the settings
COMPANY_ACCOUNT_FIELDS = (
    "billing_dunning_fee_account_id",
    "billing_dunning_interest_account_id",
    "billing_dunning_compensation_account_id",
    "billing_writeoff_account_id",
)


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

    billing_dunning_fee_account_id = fields.Many2one(
        "account.account",
        check_company=True,
        string="Reminder Fee Account",
        domain=[("account_type", "in", ("income", "income_other"))],
        help="Income account for reminder fees (posted without VAT).",
    )

    billing_dunning_interest_account_id = fields.Many2one(
        "account.account",
        check_company=True,
        string="Late Interest Account",
        domain=[("account_type", "in", ("income", "income_other"))],
        help="Income account for late interest (posted without VAT).",
    )

    billing_dunning_compensation_account_id = fields.Many2one(
        "account.account",
        check_company=True,
        string="Compensation Account",
        domain=[("account_type", "in", ("income", "income_other"))],
        help="Income account for the fixed compensation of business customers (posted without VAT).",
    )

    billing_dunning_tolerance = fields.Monetary(
        string="Dunning Tolerance",
        currency_field="currency_id",
        default=0.0,
        help="Overdue invoices whose open amount (in company currency) is below this are not dunned.",
    )

    billing_dunning_approval = fields.Boolean(
        string="Approve Reminders Before Sending",
        help="Planned reminders wait for a coordinator's approval before the scheduled action sends them.",
    )

    billing_dunning_fee_mode = fields.Selection(
        [("invoice", "Separate invoice"), ("reminder", "Lines on the reminder")],
        string="Charge Fees and Interest As",
        default="invoice",
        required=True,
        help="Post fees, interest and compensation as a separate invoice without VAT when the "
        "reminder is sent, or only list them on the reminder.",
    )

    billing_promise_grace_days = fields.Integer(
        string="Promise Grace Days",
        default=3,
        help="Days after the promised date before an unpaid promise to pay counts as broken.",
    )

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

    @api.depends("country_id")
    def _compute_billing_legal_profile(self):
        for company in self:
            company.billing_legal_profile = profile_for_country(company.country_id.code)

    def _billing_legal_rules(self):
        """The rule book profile that applies to this company."""
        self.ensure_one()
        return get_profile(self.billing_legal_profile)

    @api.constrains("billing_legal_profile")
    def _check_billing_dunning_fees(self):
        """A legal profile that makes an existing level's fee illegal is refused."""
        levels = self.env["billing.dunning.level"].search([("company_id", "in", self.ids)])
        levels.policy_id._check_legal_limits()

    @api.constrains("billing_duplicate_name_similarity")
    def _check_billing_duplicate_name_similarity(self):
        for company in self:
            if not 0 < company.billing_duplicate_name_similarity <= 1:
                raise ValidationError(
                    self.env._("The duplicate name similarity is a number above 0 and at most 1.")
                )

    @api.constrains("billing_dunning_tolerance", "billing_promise_grace_days")
    def _check_billing_dunning_numbers(self):
        for company in self:
            if company.billing_dunning_tolerance < 0 or company.billing_promise_grace_days < 0:
                raise ValidationError(self.env._("Tolerance and grace days cannot be negative."))

    @api.constrains(*COMPANY_ACCOUNT_FIELDS)
    def _check_billing_accounts_company(self):
        """check_company does nothing on res.company itself: an account the
        company cannot book on is refused here."""
        for company in self:
            for fname in COMPANY_ACCOUNT_FIELDS:
                account = company[fname].sudo()
                if account and not account.filtered_domain(account._check_company_domain(company)):
                    raise ValidationError(
                        self.env._(
                            "The account %(account)s (%(field)s) does not belong to the company %(company)s.",
                            account=account.display_name,
                            field=self.env["ir.model.fields"]._get(self._name, fname).field_description,
                            company=company.name,
                        )
                    )

    def _billing_fee_within_law(self, fee):
        """Raise when a reminder fee (company currency) breaks the company's law."""
        self.ensure_one()
        profile = self._billing_legal_rules()
        limit_fee = fee
        if profile.currency and profile.currency != self.currency_id.name:
            legal_currency = (
                self.env["res.currency"]
                .with_context(active_test=False)
                .search([("name", "=", profile.currency)], limit=1)
            )
            limit_fee = self.currency_id._convert(fee, legal_currency, self, fields.Date.context_today(self))
        violation = check_fee_amount(profile, limit_fee)
        if violation:
            raise ValidationError(
                self.env._(
                    "A reminder fee of %(fee)s is above the legal maximum of %(limit)s %(currency)s "
                    "per reminder (%(rule)s).",
                    fee=fee,
                    limit=violation.limit,
                    currency=profile.currency,
                    rule=violation.rule,
                )
            )

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

    def _billing_tolerance_limit(self, base_amount):
        """The largest difference (company currency) within tolerance for a
        document of ``base_amount``: the lower of the amount and the percentage."""
        self.ensure_one()
        limit = self.billing_discrepancy_tolerance_amount
        if self.billing_discrepancy_tolerance_percent > 0:
            limit = min(limit, abs(base_amount) * self.billing_discrepancy_tolerance_percent / 100)
        return limit
