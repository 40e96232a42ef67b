from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tests import Form, HttpCase, new_test_user, tagged

from .common import COORDINATOR_GROUPS
from .common_accounts import AccountsCommon


@tagged("post_install", "-at_install")
class TestPortfolio(AccountsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rules = cls.env["billing.assignment.rule"].with_user(cls.manager)
        cls.se = cls.env.ref("base.se")
        cls.tag_key = cls.env["res.partner.category"].create({"name": "Key Account"})

    def _denmark_rule(self, manager=None, coordinator=None):
        """A rule of the manager's company: Danish customers go to ``coordinator``."""
        return self.rules.with_user(manager or self.manager).create({
            "name": "Denmark", "rule_type": "country", "country_ids": [(6, 0, self.dk.ids)],
            "user_id": (coordinator or self.coordinator).id,
        })  # fmt: skip

    def test_rules_fill_the_coordinator_of_new_customers(self):
        self.rules.create([
            {"name": "Sweden", "sequence": 1, "rule_type": "country",
             "country_ids": [(6, 0, self.se.ids)], "user_id": self.coordinator_2.id},
            {"name": "Key accounts", "sequence": 2, "rule_type": "tag",
             "category_ids": [(6, 0, self.tag_key.ids)], "user_id": self.coordinator.id},
        ])  # fmt: skip
        swedish = self._good_customer(country_id=self.se.id, vat="SE556036079301")
        key = self._good_customer(category_id=[(6, 0, self.tag_key.ids)])
        both = self._good_customer(country_id=self.se.id, category_id=[(6, 0, self.tag_key.ids)])
        other = self._good_customer()
        self.assertEqual(swedish.billing_coordinator_id, self.coordinator_2)
        self.assertEqual(key.billing_coordinator_id, self.coordinator)
        self.assertEqual(both.billing_coordinator_id, self.coordinator_2, "the first rule wins")
        self.assertFalse(other.billing_coordinator_id)
        self.assertIn("assigned by the portfolio rules", str(swedish.message_ids[0].body))
        chosen = self._good_customer(billing_coordinator_id=self.coordinator.id, country_id=self.se.id)
        self.assertEqual(chosen.billing_coordinator_id, self.coordinator, "a chosen coordinator stays")

    def test_contact_invoiced_for_the_first_time_gets_a_coordinator(self):
        self._denmark_rule()
        contact = self._good_customer(customer_rank=0)  # typed in under Contacts
        self.assertFalse(contact.billing_coordinator_id)
        self._post_invoice(contact, 100.0)
        self.assertEqual(contact.billing_coordinator_id, self.coordinator)

    def test_invoicing_user_posts_the_first_invoice_of_a_new_customer(self):
        """The rules assign the coordinator, whoever posts: an invoicing user may
        not edit the coordinator himself, but his first invoice still gets one."""
        self._denmark_rule()
        accountant = self._billing_user(
            "bc_portfolio_invoicing", "base.group_user,account.group_account_invoice", self.company
        )
        newcomer = self._good_customer(customer_rank=0)
        invoice = self.env["account.move"].with_user(accountant).create({
            "move_type": "out_invoice",
            "partner_id": newcomer.id,
            "invoice_line_ids": [Command.create({"name": "Service", "quantity": 1, "price_unit": 100.0})],
        })  # fmt: skip
        invoice.action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(newcomer.with_company(self.company).billing_coordinator_id, self.coordinator)

    def test_round_robin_among_coordinators(self):
        self.rules.create({
            "name": "Everyone else",
            "rule_type": "round_robin",
            "user_ids": [(6, 0, (self.coordinator + self.coordinator_2).ids)],
        })  # fmt: skip
        customers = [self._good_customer() for _i in range(4)]
        self.assertEqual(
            [c.billing_coordinator_id for c in customers],
            [self.coordinator, self.coordinator_2, self.coordinator, self.coordinator_2],
        )

    def test_round_robin_over_an_import_takes_turns_with_the_same_queries(self):
        self.rules.create({
            "name": "Everyone else",
            "rule_type": "round_robin",
            "user_ids": [(6, 0, (self.coordinator + self.coordinator_2).ids)],
        })  # fmt: skip
        Partner = self.env["res.partner"].with_company(self.company)

        def queries_to_import(count):
            return self.count_queries(
                lambda: Partner.create([self._good_customer_vals() for _index in range(count)])
            )

        queries_to_import(1)  # the caches of a running server: the next turn is coordinator 2's
        few_customers, few = queries_to_import(2)
        many_customers, many = queries_to_import(6)
        self.assertEqual(
            [customer.billing_coordinator_id for customer in few_customers + many_customers],
            [self.coordinator_2, self.coordinator] * 4,
            "the turns go on from one import to the next",
        )
        self.assertEqual(many, few, "6 customers are assigned with the queries of 2")

    def test_rules_stay_in_their_company(self):
        self._denmark_rule()
        customer_b = self._good_customer(company=self.company_b)
        self.assertFalse(customer_b.with_company(self.company_b).billing_coordinator_id)
        self.assertFalse(self.env["billing.assignment.rule"].with_user(self.coordinator_b).search([]))
        with self.assertRaises(UserError):
            self.rules.create({"name": "Incomplete", "rule_type": "country", "user_id": self.coordinator.id})

    def test_rules_of_the_customers_company_apply(self):
        self._denmark_rule()
        self._denmark_rule(self.manager_b, self.coordinator_b)
        self.assertEqual(self.env.company, self.company, "working in company A")
        typed_in_a = self.env["res.partner"].create([
            self._good_customer_vals(company_id=self.company_b.id),
            self._good_customer_vals(),
        ])  # fmt: skip
        customer_b, customer_a = typed_in_a
        self.assertEqual(customer_b.with_user(self.coordinator_b).billing_coordinator_id, self.coordinator_b)
        self.assertFalse(customer_b.with_company(self.company).billing_coordinator_id)
        self.assertEqual(customer_a.with_user(self.coordinator).billing_coordinator_id, self.coordinator)

    def test_reassign_wizard_moves_a_portfolio_and_logs_it(self):
        mine = [self._good_customer(billing_coordinator_id=self.coordinator.id) for _i in range(3)]
        colleague = self._good_customer(billing_coordinator_id=self.coordinator_2.id)
        wizard_form = Form(self.env["billing.portfolio.reassign"].with_user(self.coordinator))
        wizard_form.from_user_id = self.coordinator
        self.assertEqual(len(wizard_form.partner_ids), 3)
        wizard_form.to_user_id = self.coordinator_2
        wizard_form.reason = "Holidays until 1 August"
        wizard_form.save().action_reassign()
        for customer in mine:
            self.assertEqual(customer.billing_coordinator_id, self.coordinator_2)
            body = str(customer.message_ids[0].body)
            self.assertIn("Holidays until 1 August", body)
            self.assertIn(self.coordinator.name, body)
        self.assertEqual(colleague.billing_coordinator_id, self.coordinator_2)
        self.assertNotIn("Holidays", str(colleague.message_ids.mapped("body")))

    def test_open_tickets_follow_their_customer_to_the_new_coordinator(self):
        customer = self._good_customer(billing_coordinator_id=self.coordinator.id)
        Ticket = self.env["billing.discrepancy"].with_user(self.manager)
        held, unassigned, by_manager, closed = Ticket.create([
            {"discrepancy_type": "other", "partner_id": customer.id} for _index in range(4)
        ])  # fmt: skip
        unassigned.coordinator_id = False
        by_manager.coordinator_id = self.manager
        closed.action_cancel()
        self.assertEqual((held | closed).coordinator_id, self.coordinator)
        wizard = self.env["billing.portfolio.reassign"].with_user(self.manager)
        wizard.with_context(active_model="res.partner", active_ids=customer.ids).create(
            {"to_user_id": self.coordinator_2.id}
        ).action_reassign()
        mine = Ticket.with_user(self.coordinator_2).search([("coordinator_id", "=", self.coordinator_2.id)])
        self.assertEqual(mine, held | unassigned, "the new coordinator's tickets, as 'My Tickets' shows them")
        self.assertIn("portfolio", str(held.message_ids[0].body))
        self.assertEqual(by_manager.coordinator_id, self.manager, "handed to someone else: stays")
        self.assertEqual(closed.coordinator_id, self.coordinator, "a closed ticket keeps its history")

    def test_reassign_needs_a_coordinator_of_the_company(self):
        customer = self._good_customer(billing_coordinator_id=self.coordinator.id)
        wizard = self.env["billing.portfolio.reassign"].with_user(self.coordinator)
        for user in (self.plain_user, self.coordinator_b):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                wizard.with_context(active_model="res.partner", active_ids=customer.ids).create(
                    {"to_user_id": user.id}
                ).action_reassign()
        self.assertEqual(customer.billing_coordinator_id, self.coordinator)

    def test_coordinator_of_another_company_sees_none_of_the_portfolio(self):
        customer = self._good_customer(billing_coordinator_id=self.coordinator.id)
        partners_b = self._env_of(self.coordinator_b)["res.partner"]
        self.assertFalse(partners_b.search([("id", "=", customer.id)]))
        self.assertFalse(partners_b.search([("billing_coordinator_id", "=", self.coordinator.id)]))
        shared = self._good_customer(company_id=False)
        shared.with_company(self.company).sudo().billing_coordinator_id = self.coordinator
        self.assertFalse(shared.with_env(self._env_of(self.coordinator_b)).billing_coordinator_id)

    def test_portfolio_views_and_filters(self):
        partners = self.env["res.partner"].with_user(self.coordinator)
        action = self.env.ref("billing_coordinator.res_partner_action_billing_customers")
        self.assertIn("kanban", action.view_mode)
        views = partners.get_views(
            [(v.view_id.id, v.view_mode) for v in action.view_ids] + [(False, "search"), (False, "form")],
            {"action_id": action.id, "load_filters": False},
        )["views"]
        self.assertIn("billing_open_balance", views["kanban"]["arch"])
        self.assertIn('name="billing_profile"', views["form"]["arch"])
        search = partners.get_view(
            self.env.ref("billing_coordinator.res_partner_view_search_billing").id, "search"
        )["arch"]
        for name in ("my_customers", "overdue", "with_data_issues", "on_hold"):
            self.assertIn(f'name="{name}"', search)

        mine = self._good_customer(billing_coordinator_id=self.coordinator.id)
        on_hold = self._good_customer(billing_account_state="on_hold")
        ids = (mine + on_hold).ids
        self.assertEqual(
            partners.search([("billing_coordinator_id", "=", self.coordinator.id), ("id", "in", ids)]), mine
        )
        self.assertEqual(
            partners.search([("billing_account_state", "=", "on_hold"), ("id", "in", ids)]), on_hold
        )

    def test_on_hold_customer_shows_on_the_invoice(self):
        customer = self._good_customer()
        customer.with_user(self.coordinator).write(
            {"billing_account_state": "on_hold", "billing_account_state_reason": "Disputed contract"}
        )
        invoice_form = Form(
            self.env["account.move"].with_user(self.coordinator).with_context(default_move_type="out_invoice")
        )
        invoice_form.partner_id = customer
        self.assertEqual(invoice_form.billing_partner_account_state, "on_hold")
        self.assertEqual(invoice_form.billing_partner_account_state_reason, "Disputed contract")
        invoice = self._post_invoice(customer, 10.0)
        self.assertIn("account is On Hold: Disputed contract", str(invoice.message_ids.mapped("body")))
        arch = self.env["account.move"].with_user(self.coordinator).get_view(view_type="form")["arch"]
        self.assertIn("billing_partner_account_state", arch)
        in_b = self._good_customer(company_id=False)
        in_b.with_company(self.company_b).sudo().billing_account_state = "blocked"
        invoice = self._post_invoice(in_b, 10.0)
        self.assertEqual(invoice.billing_partner_account_state, "active", "blocked only in company B")


@tagged("post_install", "-at_install")
class TestPortfolioKanbanTour(HttpCase):
    def test_coordinator_opens_a_customer_from_the_kanban(self):
        coordinator = new_test_user(self.env, login="tour_kanban", groups=COORDINATOR_GROUPS)
        customer = self.env["res.partner"].create({
            "name": "Kanban Kunde ApS",
            "is_company": True,
            "customer_rank": 1,
            "lang": False,
        })  # fmt: skip
        customer.with_company(self.env.company).billing_coordinator_id = coordinator
        self.assertTrue(customer.with_user(coordinator).billing_data_issue_count)
        self.start_tour("/odoo", "billing_coordinator_accounts_tour", login=coordinator.login)
