from . import billing_partner_onboard
from . import billing_portfolio_reassign
