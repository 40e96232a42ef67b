from odoo import fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    billing_is_disputed = fields.Boolean(
        string="Disputed",
        copy=False,
        readonly=True,
        index="btree_not_null",
        help="The customer disputes this invoice: dunning leaves it alone until the dispute is resolved.",
    )
