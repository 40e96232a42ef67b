from odoo import api, fields, models


class BillingReminderLine(models.Model):
    _name = "billing.reminder.line"
    _description = "Payment Reminder Invoice"
    _order = "reminder_id, due_date, id"
    # a line is written once, with its reminder, which carries who and when
    _log_access = False

    reminder_id = fields.Many2one("billing.reminder", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="reminder_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="reminder_id.currency_id")
    state = fields.Selection(related="reminder_id.state", store=True)
    reminder_date = fields.Date(related="reminder_id.date", store=True)
    level_id = fields.Many2one("billing.dunning.level", required=True, ondelete="restrict")
    is_dry_run = fields.Boolean()
    move_id = fields.Many2one("account.move", string="Invoice", required=True, ondelete="cascade", index=True)
    due_date = fields.Date(required=True)
    days_overdue = fields.Integer(compute="_compute_days_overdue", store=True)
    amount_residual = fields.Monetary(string="Open Amount")
    fee_charged = fields.Boolean(
        string="Fee-bearing",
        help="This reminder's fee counts against this claim's legal limit of fee-bearing reminders.",
    )
    interest_amount = fields.Monetary(string="Interest")
    interest_date_from = fields.Date()
    interest_date_to = fields.Date()
    compensation_amount = fields.Monetary(string="Compensation")
    amount_total = fields.Monetary(compute="_compute_amount_total", string="Total")

    _one_active_line_per_invoice_level = models.UniqueIndex(
        "(move_id, level_id) WHERE state != 'cancelled' AND is_dry_run IS NOT TRUE",
        "An invoice is reminded once per level.",
    )

    @api.depends("due_date", "reminder_date")
    def _compute_days_overdue(self):
        for line in self:
            if line.due_date and line.reminder_date:
                line.days_overdue = (line.reminder_date - line.due_date).days
            else:
                line.days_overdue = 0

    @api.depends("amount_residual", "interest_amount", "compensation_amount")
    def _compute_amount_total(self):
        for line in self:
            line.amount_total = line.amount_residual + line.interest_amount + line.compensation_amount

    @api.ondelete(at_uninstall=False)
    def _unlink_except_dunning_history(self):
        self.reminder_id._unlink_except_dunning_history()
