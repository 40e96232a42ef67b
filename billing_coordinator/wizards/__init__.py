from . import billing_partner_onboard
from . import billing_portfolio_reassign
from . import billing_discrepancy_raise
from . import billing_discrepancy_resolve
from . import account_payment_register
from . import base_partner_merge
