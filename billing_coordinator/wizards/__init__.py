from . import billing_discrepancy_raise
from . import billing_discrepancy_resolve
from . import account_payment_register
