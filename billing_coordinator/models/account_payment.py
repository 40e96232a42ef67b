from odoo import fields, models

COORDINATOR_GROUP = "billing_coordinator.group_billing_coordinator"


class AccountPayment(models.Model):
    _inherit = "account.payment"

    # Odoo indexes no payment by partner; the detection that runs after each payment
    # reads the payments of that one customer, which scanned every payment
    _billing_partner_idx = models.Index("(partner_id)")

    billing_discrepancy_ids = fields.Many2many(
        "billing.discrepancy",
        "billing_discrepancy_account_payment_rel",
        "account_payment_id",
        "billing_discrepancy_id",
        string="Discrepancies",
        copy=False,
        readonly=True,
        groups=COORDINATOR_GROUP,
    )
    billing_discrepancy_count = fields.Integer(
        string="Discrepancy Count", compute="_compute_billing_discrepancy_count", groups=COORDINATOR_GROUP
    )

    def _compute_billing_discrepancy_count(self):
        counts = dict(
            self.env["billing.discrepancy"]._read_group(
                [("payment_ids", "in", self.ids)], ["payment_ids"], ["__count"]
            )
        )
        for payment in self:
            payment.billing_discrepancy_count = counts.get(payment._origin, 0)

    def action_post(self):
        res = super().action_post()
        customer_payments = self.filtered(lambda p: p.partner_type == "customer" and p.partner_id)
        self.env["billing.discrepancy"]._run_detection_for_partners(
            customer_payments.partner_id, customer_payments.company_id
        )
        return res

    def action_billing_raise_discrepancy(self):
        """Open a ticket by hand for this payment."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Discrepancy on %(payment)s", payment=self.name),
            "res_model": "billing.discrepancy.raise",
            "view_mode": "form",
            "target": "new",
            "context": {"default_payment_id": self.id, "default_discrepancy_type": "other"},
        }

    def action_view_billing_discrepancies(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "billing_coordinator.billing_discrepancy_action"
        )
        action["domain"] = [("payment_ids", "in", self.ids)]
        action["context"] = {"default_payment_ids": self.ids, "default_partner_id": self.partner_id.id}
        return action
