from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.activities import schedule_activities
from ..tools.chatter import log_notes


class BillingPromise(models.Model):
    _name = "billing.promise"
    _description = "Promise to Pay"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True, readonly=True
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        domain=[("parent_id", "=", False)],
    )
    move_ids = fields.Many2many(
        "account.move",
        string="Invoices",
        required=True,
        check_company=True,
        domain="[('commercial_partner_id', '=', partner_id), ('move_type', '=', 'out_invoice'), "
        "('state', '=', 'posted'), ('payment_state', 'in', ('not_paid', 'partial'))]",
    )
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id, tracking=True
    )
    amount = fields.Monetary(required=True, tracking=True, string="Promised Amount")
    date = fields.Date(string="Promised Date", required=True, tracking=True)
    date_end = fields.Date(
        string="Dunning Paused Until",
        compute="_compute_date_end",
        store=True,
        help="The promised date plus the company's grace days.",
    )
    residual_at_promise = fields.Monetary(
        readonly=True, help="What the invoices still owed when the promise was made."
    )
    amount_paid = fields.Monetary(compute="_compute_amount_paid", string="Paid Since")
    state = fields.Selection(
        [("open", "Open"), ("kept", "Kept"), ("broken", "Broken"), ("cancelled", "Cancelled")],
        default="open",
        required=True,
        readonly=True,
        tracking=True,
    )
    user_id = fields.Many2one("res.users", string="Taken By", default=lambda self: self.env.user)

    _positive_amount = models.Constraint("CHECK(amount > 0)", "A promise to pay is for a positive amount.")

    @api.depends("date", "company_id.billing_promise_grace_days")
    def _compute_date_end(self):
        for promise in self:
            grace = promise.company_id.billing_promise_grace_days
            promise.date_end = promise.date and promise.date + timedelta(days=grace)

    @api.depends("move_ids.amount_residual", "residual_at_promise", "currency_id")
    def _compute_amount_paid(self):
        for promise in self:
            promise.amount_paid = promise.residual_at_promise - promise._residual()

    def _residual(self):
        """What the promise's invoices still owe, in the promise's currency (an
        invoice in another currency at today's rate)."""
        self.ensure_one()
        company, today = self.company_id, fields.Date.context_today(self)
        return sum(
            move.amount_residual
            if move.currency_id == self.currency_id
            else company.currency_id._convert(move.amount_residual_signed, self.currency_id, company, today)
            for move in self.move_ids
        )

    @api.depends("partner_id", "amount", "date")
    def _compute_display_name(self):
        for promise in self:
            promise.display_name = (
                f"{promise.partner_id.name or ''} · {promise.amount} · {promise.date or ''}"
            )

    @api.constrains("move_ids", "partner_id")
    def _check_invoices_of_customer(self):
        for promise in self:
            if promise.move_ids.commercial_partner_id - promise.partner_id.commercial_partner_id:
                raise ValidationError(self.env._("A promise to pay covers only invoices of its customer."))

    @api.model_create_multi
    def create(self, vals_list):
        promises = super().create(vals_list)
        for promise in promises:
            promise.residual_at_promise = promise._residual()
        promises._note_customers(
            lambda promise: self.env._(
                "Promise to pay %(amount)s %(currency)s by %(date)s: dunning paused for %(invoices)s.",
                amount=promise.amount,
                currency=promise.currency_id.name,
                date=promise.date,
                invoices=", ".join(promise.move_ids.mapped("name")),
            )
        )
        return promises

    def action_cancel(self):
        self.filtered(lambda p: p.state == "open").write({"state": "cancelled"})
        return True

    def action_check(self):
        """Settle promises now: kept when payments cover them, broken after the grace days."""
        today = fields.Date.context_today(self)
        open_promises = self.filtered(lambda p: p.state == "open")
        kept = open_promises.filtered(lambda p: p._is_kept())
        broken = (open_promises - kept).filtered(lambda p: p.date_end < today)
        kept._mark_kept()
        broken._mark_broken()
        return True

    def _is_kept(self):
        """Paid what was promised, or all the invoices owed when it was made: a
        promise of a reminder's total, its fee and interest included, is more
        than the invoices can be paid."""
        self.ensure_one()
        owed = min(self.amount, self.residual_at_promise)
        return self.currency_id.compare_amounts(self.amount_paid, owed) >= 0

    def _mark_kept(self):
        self.write({"state": "kept"})
        self._note_customers(
            lambda promise: self.env._("Promise to pay kept: %(name)s.", name=promise.display_name)
        )

    def _mark_broken(self):
        """Dunning resumes at the next level; the coordinator gets an activity."""
        self.write({"state": "broken"})
        self._schedule_follow_ups()
        self._note_customers(
            lambda promise: self.env._(
                "Promise to pay broken: %(name)s. Dunning resumes.", name=promise.display_name
            )
        )

    def _note_customers(self, note):
        """Log ``note(promise)`` in each promise's customer chatter, all with one
        insert (the nightly check settles the promises of every company)."""
        no_attachment = self.env["ir.attachment"]
        log_notes(self.env, [(promise.partner_id, note(promise), no_attachment) for promise in self])

    def _schedule_follow_ups(self):
        """A to-do for each broken promise, for its customer's coordinator."""
        schedule_activities(
            self,
            "mail.mail_activity_data_todo",
            lambda promise: (
                promise.partner_id.billing_coordinator_id or promise.user_id,
                self.env._(
                    "Promise to pay broken: follow up with %(customer)s", customer=promise.partner_id.name
                ),
            ),
        )

    @api.model
    def _cron_check_promises(self):
        self.search([("state", "=", "open")]).action_check()
