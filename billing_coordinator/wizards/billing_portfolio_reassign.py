from odoo import api, fields, models
from odoo.exceptions import UserError


class BillingPortfolioReassign(models.TransientModel):
    """Move many customers to another coordinator at once (holidays, leavers)."""

    _name = "billing.portfolio.reassign"
    _description = "Reassign Customers"

    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, readonly=True)
    from_user_id = fields.Many2one(
        "res.users",
        string="From Coordinator",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        help="Fills in all customers of this coordinator in the current company.",
    )
    partner_ids = fields.Many2many(
        "res.partner",
        string="Customers",
        domain="[('parent_id', '=', False)]",
    )
    to_user_id = fields.Many2one(
        "res.users",
        string="To Coordinator",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    reason = fields.Char(
        help="Why the customers move, e.g. holidays until 1 August; logged on each customer."
    )

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if context.get("active_model") == "res.partner" and context.get("active_ids"):
            customers = self.env["res.partner"].browse(context["active_ids"]).commercial_partner_id
            values["partner_ids"] = [fields.Command.set(customers.ids)]
        return values

    @api.onchange("from_user_id")
    def _onchange_from_user_id(self):
        if self.from_user_id:
            self.partner_ids = self.env["res.partner"].search([
                ("parent_id", "=", False),
                ("billing_coordinator_id", "=", self.from_user_id.id),
            ])  # fmt: skip

    def action_reassign(self):
        self.ensure_one()
        if not self.to_user_id:
            raise UserError(self.env._("Choose the coordinator who takes over the customers."))
        if not self.to_user_id.has_group("billing_coordinator.group_billing_coordinator"):
            raise UserError(self.env._("%(user)s is not a Billing Coordinator.", user=self.to_user_id.name))
        if self.company_id not in self.to_user_id.company_ids:
            raise UserError(
                self.env._(
                    "%(user)s does not work for %(company)s.",
                    user=self.to_user_id.name,
                    company=self.company_id.name,
                )
            )
        customers = self.partner_ids.commercial_partner_id.with_company(self.company_id)
        if not customers:
            raise UserError(self.env._("Choose the customers to reassign."))
        bodies = {customer.id: self._log_body(customer.billing_coordinator_id) for customer in customers}
        customers.with_context(mail_notrack=True).billing_coordinator_id = self.to_user_id
        customers._message_log_batch(bodies=bodies)
        return {"type": "ir.actions.act_window_close"}

    def _log_body(self, previous):
        if self.reason:
            return self.env._(
                "Coordinator changed from %(old)s to %(new)s: %(reason)s",
                old=previous.name or self.env._("nobody"),
                new=self.to_user_id.name,
                reason=self.reason,
            )
        return self.env._(
            "Coordinator changed from %(old)s to %(new)s.",
            old=previous.name or self.env._("nobody"),
            new=self.to_user_id.name,
        )
