from odoo import models


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    def reconcile(self):
        """After a reconciliation, re-check the customers it touched: tickets
        close when their facts are gone and new ones open (same transaction)."""
        res = super().reconcile()
        receivable = self.filtered(lambda line: line.account_type == "asset_receivable" and line.partner_id)
        if receivable:
            self.env["billing.discrepancy"]._run_detection_for_partners(
                receivable.partner_id, receivable.company_id
            )
        return res
