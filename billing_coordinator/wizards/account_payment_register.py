from odoo import models


class AccountPaymentRegister(models.TransientModel):
    _inherit = "account.payment.register"

    def _create_payments(self):
        """Post and reconcile first, then look for discrepancies once: a payment
        registered on an invoice is never 'unapplied' in the moment between."""
        payments = super(
            AccountPaymentRegister, self.with_context(billing_defer_detection=True)
        )._create_payments()
        customer_payments = payments.filtered(lambda p: p.partner_type == "customer")
        self.env["billing.discrepancy"]._run_detection_for_partners(
            customer_payments.partner_id, customer_payments.company_id
        )
        return payments
