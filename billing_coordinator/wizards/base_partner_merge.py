from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        result = super()._update_foreign_keys(src_partners, dst_partner)
        # the merge moves the journal items to the destination in SQL, past the
        # ORM's dependencies: store the destination's AR figures again
        partners = dst_partner | dst_partner.commercial_partner_id
        for fname in ("billing_ar_data", "billing_ar_valid_until"):
            self.env.add_to_compute(partners._fields[fname], partners)
        return result
