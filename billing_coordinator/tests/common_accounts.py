from itertools import count

from ..models.res_partner import BILLING_TEAM_FIELDS
from .common import MANAGER_GROUPS, BillingCommon

CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def valid_cvr(seed):
    """A valid Danish CVR number (modulus 11) derived from ``seed``."""
    for base in count(1_000_000 + seed * 7):
        digits = [int(d) for d in str(base)]
        remainder = sum(w * d for w, d in zip(CVR_WEIGHTS, digits, strict=False)) % 11
        check = (11 - remainder) % 11
        if check < 10:
            return f"{base}{check}"
    return None


class AccountsCommon(BillingCommon):
    """Customers that pass every data check, a second company, and helpers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dk = cls.env.ref("base.dk")
        cls.company.sudo().country_id = cls.dk
        cls.payment_term = cls.env.ref("account.account_payment_term_30days")
        cls.coordinator_2 = cls._billing_user(
            "bc_coordinator_2", "base.group_user,billing_coordinator.group_billing_coordinator", cls.company
        )
        cls.company_b = cls.setup_other_company(name="Company B ApS")["company"]
        cls.coordinator_b = cls._billing_user(
            "bc_coordinator_b", "base.group_user,billing_coordinator.group_billing_coordinator", cls.company_b
        )
        cls.manager_b = cls._billing_user("bc_manager_b", MANAGER_GROUPS, cls.company_b)
        cls._seq = count(1)

    def _env_of(self, user):
        """The environment ``user`` works in: their own companies only."""
        return self.env(user=user, context=dict(self.env.context, allowed_company_ids=user.company_ids.ids))

    @classmethod
    def _good_customer_vals(cls, **vals):
        n = next(cls._seq)
        return {
            "name": f"Good Customer {n} ApS",
            "is_company": True,
            "customer_rank": 1,
            "company_id": cls.company.id,
            "vat": f"DK{valid_cvr(n)}",
            "street": f"Strandvejen {n}",
            "zip": "2900",
            "city": f"Hellerup {n}",
            "country_id": cls.dk.id,
            "email": f"faktura{n}@good-customer.example.com",
            "lang": "en_US",
            "property_payment_term_id": cls.payment_term.id,
        } | vals

    @classmethod
    def _good_customer(cls, company=None, **vals):
        company = company or cls.company
        vals.setdefault("company_id", company.id)
        partners = cls.env["res.partner"].with_company(company)
        if BILLING_TEAM_FIELDS.intersection(vals):
            # the test user is no billing user: the billing team chooses these
            partners = partners.sudo()
        return partners.create(cls._good_customer_vals(**vals)).sudo(False)

    def _issues(self, partner, company=None):
        company = company or self.company
        return (
            self.env["billing.data.issue"]
            .sudo()
            .search([("partner_id", "in", partner.ids), ("company_id", "=", company.id)])
        )

    def _issue_codes(self, partner, company=None):
        return set(self._issues(partner, company).mapped("check_id.code"))

    def _check(self, code, company=None):
        company = company or self.company
        return (
            self.env["billing.data.check"]
            .sudo()
            .search([("company_id", "=", company.id), ("code", "=", code)])
        )
