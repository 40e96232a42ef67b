from odoo.tests import HttpCase, new_test_user, tagged

from .common import COORDINATOR_GROUPS


@tagged("post_install", "-at_install")
class TestPortfolioTour(HttpCase):
    def test_danish_coordinator_opens_billing_and_sees_own_customers(self):
        company = self.env.company
        self.env["res.lang"]._activate_lang("da_DK")
        coordinator = new_test_user(
            self.env, login="tour_coordinator", groups=COORDINATOR_GROUPS, lang="da_DK"
        )
        colleague = new_test_user(self.env, login="tour_colleague", groups=COORDINATOR_GROUPS)
        customers = self.env["res.partner"].create([
            {"name": "Tour Kunde ApS", "is_company": True, "customer_rank": 1},
            {"name": "Anden Kunde ApS", "is_company": True, "customer_rank": 1},
        ])  # fmt: skip
        customers[0].with_company(company).billing_coordinator_id = coordinator
        customers[1].with_company(company).billing_coordinator_id = colleague
        self.start_tour("/odoo", "billing_coordinator_portfolio_tour", login=coordinator.login)
