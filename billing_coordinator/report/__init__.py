from . import billing_partner_ar
