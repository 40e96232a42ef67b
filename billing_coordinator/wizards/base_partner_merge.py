from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        result = super()._update_foreign_keys(src_partners, dst_partner)
        # the merge moves the journal items to the destination in SQL, past the
        # ORM's dependencies: store the destination's AR figures again
        (dst_partner | dst_partner.commercial_partner_id)._billing_store_ar_data_again()
        return result
