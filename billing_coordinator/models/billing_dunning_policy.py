from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.dunning_rules import check_policy_levels


class BillingDunningPolicy(models.Model):
    _name = "billing.dunning.policy"
    _description = "Dunning Policy"
    _inherit = ["mail.thread"]
    _order = "company_id, is_default desc, name"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    is_default = fields.Boolean(
        string="Company Default",
        tracking=True,
        help="Applies to every customer of the company without a policy of its own.",
    )
    active = fields.Boolean(default=True)
    level_ids = fields.One2many("billing.dunning.level", "policy_id", string="Levels", copy=True)

    _one_default_per_company = models.UniqueIndex(
        "(company_id) WHERE is_default AND active",
        "A company has one default dunning policy.",
    )

    @api.constrains("level_ids", "company_id")
    def _check_legal_limits(self):
        """The ladder of levels must stay within the company's law."""
        for policy in self:
            levels = policy.level_ids.sorted("sequence")
            for level in levels:
                policy.company_id._billing_fee_within_law(level.fee_amount)
            profile = policy.company_id._billing_legal_rules()
            violation = check_policy_levels(profile, [level._as_planned_level() for level in levels])
            if violation:
                raise ValidationError(policy._legal_violation_message(violation))

    def _legal_violation_message(self, violation):
        if violation.kind == "fee_count":
            return self.env._(
                "At most %(limit)s reminders of one claim may bear a fee (%(rule)s).",
                limit=int(violation.limit),
                rule=violation.rule,
            )
        if violation.kind == "fee_interval":
            return self.env._(
                "Two fee-bearing reminders must be at least %(limit)s days apart (%(rule)s).",
                limit=int(violation.limit),
                rule=violation.rule,
            )
        if violation.kind == "warning_days":
            return self.env._(
                "A collection warning must give the customer at least %(limit)s days (%(rule)s).",
                limit=int(violation.limit),
                rule=violation.rule,
            )
        return self.env._(
            "A reminder fee is above the legal maximum of %(limit)s per reminder (%(rule)s).",
            limit=violation.limit,
            rule=violation.rule,
        )
