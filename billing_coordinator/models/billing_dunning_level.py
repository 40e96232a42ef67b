from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.dunning_rules import PlannedLevel


class BillingDunningLevel(models.Model):
    _name = "billing.dunning.level"
    _description = "Dunning Level"
    _order = "policy_id, sequence, id"

    policy_id = fields.Many2one("billing.dunning.policy", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="policy_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, translate=True)
    trigger = fields.Selection(
        [("due", "Days after due date"), ("previous", "Days after previous level")],
        required=True,
        default="due",
    )
    trigger_days = fields.Integer(string="Days", required=True, default=7)
    send_email = fields.Boolean(string="E-mail", default=True)
    send_letter = fields.Boolean(
        string="Printed Letter",
        help="Print the reminder as a letter to post, besides its e-mail. A reminder that "
        "cannot go by e-mail is always a printed letter.",
    )
    schedule_call = fields.Boolean(
        string="Phone Call",
        help="Plan a phone-call activity for the customer's coordinator.",
    )
    mail_template_id = fields.Many2one(
        "mail.template",
        domain=[("model", "=", "billing.reminder")],
        default=lambda self: self.env.ref("billing_coordinator.mail_template_billing_reminder", False),
    )
    fee_amount = fields.Monetary(string="Reminder Fee", currency_field="currency_id")
    apply_interest = fields.Boolean(string="Late Interest")
    apply_compensation = fields.Boolean(
        string="Compensation",
        help="Charge the fixed compensation for business customers once per overdue invoice.",
    )
    is_collection_warning = fields.Boolean(
        string="Collection Warning",
        help="The formal warning (inkassovarsel) before the claim is handed over to collection.",
    )
    warning_days = fields.Integer(
        string="Warning Deadline (days)",
        default=10,
        help="Days the customer has to pay before the claim can be handed over to collection.",
    )

    _positive_days = models.Constraint(
        "CHECK(trigger_days >= 0 AND fee_amount >= 0)",
        "Days and fees cannot be negative.",
    )

    @api.constrains(
        "trigger", "trigger_days", "fee_amount", "is_collection_warning", "warning_days", "sequence"
    )
    def _check_policy_limits(self):
        for level in self:
            if level.trigger == "previous" and level.trigger_days < 1:
                raise ValidationError(self.env._("A level after the previous one needs at least one day."))
        self.policy_id._check_legal_limits()

    def _as_planned_level(self):
        self.ensure_one()
        return PlannedLevel(
            trigger=self.trigger,
            days=self.trigger_days,
            fee=self.fee_amount,
            is_collection_warning=self.is_collection_warning,
            warning_days=self.warning_days,
        )
