from odoo import models


class BasePartnerMergeAutomaticWizard(models.TransientModel):
    _inherit = "base.partner.merge.automatic.wizard"

    def _update_foreign_keys(self, src_partners, dst_partner):
        result = super()._update_foreign_keys(src_partners, dst_partner)
        # the merge moves the journal items to the destination in SQL, past the
        # ORM's dependencies: store the destination's AR figures again
        (dst_partner | dst_partner.commercial_partner_id)._billing_store_ar_data_again()
        return result

    def _merge(self, partner_ids, dst_partner=None, extra_checks=True):
        partners = self.env["res.partner"].browse(partner_ids)
        named_as_duplicate = partners._billing_named_as_duplicate_by()
        result = super()._merge(partner_ids, dst_partner=dst_partner, extra_checks=extra_checks)
        # Odoo checks the kept partner while the merged ones still exist and deletes
        # them after: the kept one and those who named them as duplicates are checked again
        (partners | named_as_duplicate).exists()._billing_customers()._billing_refresh_data_issues()
        return result
