from lxml import etree

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from ..models.res_company import COMPANY_ACCOUNT_FIELDS
from .common import BillingCommon


@tagged("post_install", "-at_install")
class TestSecurity(BillingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.billing_models = cls._billing_only_models()
        cls.root_menu = cls.env.ref("billing_coordinator.billing_coordinator_menu_root")

    @classmethod
    def _billing_only_models(cls):
        names = (
            cls.env["ir.model.data"]
            .search([("module", "=", "billing_coordinator"), ("model", "=", "ir.model")])
            .mapped(lambda data: cls.env["ir.model"].browse(data.res_id).model)
        )
        return [
            name for name in names
            if name.startswith("billing.")
            and not cls.env[name]._abstract
            and not cls.env[name]._transient
        ]  # fmt: skip

    def _visible_menus(self, user):
        return self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()

    def test_module_installed_with_its_models(self):
        module = self.env["ir.module.module"].search([("name", "=", "billing_coordinator")])
        self.assertEqual(module.state, "installed")
        self.assertIn("billing.interest.rate", self.billing_models)

    def test_plain_internal_user_reads_no_billing_model(self):
        for model in self.billing_models:
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.plain_user).search([], limit=1)
        self.assertNotIn(self.root_menu.id, self._visible_menus(self.plain_user))

    def test_plain_user_sees_no_billing_fields_on_customer_form(self):
        arch = (
            self.env["res.partner"]
            .with_user(self.plain_user)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertNotIn('name="billing_coordinator"', arch)

    def test_coordinator_works_the_portfolio(self):
        self.assertIn(self.root_menu.id, self._visible_menus(self.coordinator))
        customer = self.customer.with_user(self.coordinator)
        customer.write({"billing_coordinator_id": self.coordinator.id, "billing_account_state": "on_hold"})
        self.assertEqual(customer.billing_coordinator_id, self.coordinator)
        for model in self.billing_models:
            with self.subTest(model=model):
                self.env[model].with_user(self.coordinator).search([], limit=1)

    def test_coordinator_cannot_configure(self):
        with self.assertRaises(AccessError):
            self.env["billing.interest.rate"].with_user(self.coordinator).create(
                {"date_from": "2030-01-01", "reference_rate": 2.0}
            )
        configuration = self.env.ref("billing_coordinator.billing_coordinator_menu_configuration")
        self.assertNotIn(configuration.id, self._visible_menus(self.coordinator))

    def test_manager_configures(self):
        rate = (
            self.env["billing.interest.rate"]
            .with_user(self.manager)
            .create({"date_from": "2030-01-01", "reference_rate": 2.0})
        )
        self.assertEqual(rate.country_id.code, "DK")
        configuration = self.env.ref("billing_coordinator.billing_coordinator_menu_configuration")
        self.assertIn(configuration.id, self._visible_menus(self.manager))

    def _new_button_leads_to_a_savable_form(self, model):
        records = self.env[model].with_user(self.coordinator)
        views = records.get_views([(False, "list"), (False, "form")])["views"]
        creatable = all(
            etree.fromstring(views[view_type]["arch"]).get("create") not in ("0", "false", "False")
            for view_type in ("list", "form")
        )
        if creatable:  # the list shows New: its form must be savable
            with Form(records):
                pass

    def test_collection_case_list_shows_no_new_button_it_cannot_save(self):
        """A case is opened by handing reminders over to collection, never typed in."""
        self._new_button_leads_to_a_savable_form("billing.collection.case")

    def test_reminder_list_shows_no_new_button_it_cannot_save(self):
        """A reminder is planned by a dunning run, never typed in."""
        self._new_button_leads_to_a_savable_form("billing.reminder")

    def test_invoicing_user_keeps_working_as_before(self):
        accountant = self._billing_user(
            "bc_invoicing", "base.group_user,account.group_account_invoice", self.company
        )
        invoice = self.env["account.move"].with_user(accountant).create({
            "move_type": "out_invoice",
            "partner_id": self.customer.id,
            "invoice_line_ids": [(0, 0, {"name": "Service", "quantity": 1, "price_unit": 100.0})],
        })  # fmt: skip
        invoice.action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertNotIn(self.root_menu.id, self._visible_menus(accountant))

    def _contacts_manager_and_policy(self, login):
        """A contact manager outside the billing team, and a dunning policy of the company."""
        user = self._billing_user(login, "base.group_user,base.group_partner_manager", self.company)
        policy = (
            self.env["billing.dunning.policy"]
            .sudo()
            .create({"name": "Gentle", "company_id": self.company.id})
        )
        return user, policy

    def test_user_without_billing_group_cannot_change_what_the_billing_team_decides(self):
        """A contact manager edits the customer, but must not lift the block a
        hand-over to collection put on it, nor move it to another coordinator
        (which moves its open tickets) or another dunning policy."""
        contacts_user, policy = self._contacts_manager_and_policy("bc_contacts")
        customer = self.customer.with_company(self.company)
        customer.sudo().write(
            {"billing_account_state": "blocked", "billing_account_state_reason": "Collection"}
        )
        for vals in (
            {"billing_account_state": "active"},
            {"billing_account_state_reason": False},
            {"billing_coordinator_id": contacts_user.id},
            {"billing_dunning_policy_id": policy.id},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                customer.with_user(contacts_user).write(vals)
        unchanged_state = {"phone": "+45 70 10 20 30", "billing_account_state": "blocked"}
        customer.with_user(contacts_user).write(unchanged_state)
        self.assertEqual(customer.billing_account_state, "blocked")

    def test_user_without_billing_group_cannot_create_a_customer_with_billing_team_choices(self):
        """Nor can he create a customer already blocked, or with a coordinator or
        policy of his choosing, in the values or the context's defaults; his new
        customers and the contacts of a blocked one are created as before."""
        contacts_user, policy = self._contacts_manager_and_policy("bc_contacts_create")
        partners = self.env["res.partner"].with_user(contacts_user).with_company(self.company)
        for vals in (
            {"billing_account_state": "blocked"},
            {"billing_account_state_reason": "Collection"},
            {"billing_coordinator_id": contacts_user.id},
            {"billing_dunning_policy_id": policy.id},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                partners.create({"name": "Ny Kunde ApS", "is_company": True, **vals})
        with self.assertRaises(AccessError):
            partners.with_context(default_billing_account_state="blocked").create({"name": "Ny Kunde ApS"})
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Ny Kunde ApS")]))

        new = partners.create({"name": "Ny Kunde ApS", "is_company": True, "billing_account_state": "active"})
        self.assertEqual(new.billing_account_state, "active")
        self.customer.with_company(self.company).sudo().billing_account_state = "blocked"
        contact = partners.create({"name": "Bogholder", "parent_id": self.customer.id})
        self.assertEqual(contact.with_company(self.company).billing_account_state, "blocked")

    def test_user_without_billing_group_merges_contacts(self):
        """Odoo's merge writes every field of the merged contacts, the billing
        ones too: unchanged, they are no change of the billing team's fields."""
        accounting_admin = self._billing_user(
            "bc_contacts_merge",
            "base.group_user,base.group_partner_manager,base.group_erp_manager,account.group_account_invoice",
            self.company,
        )
        duplicate = self.env["res.partner"].create({"name": "Kunde Test", "company_id": self.company.id})
        self.env["base.partner.merge.automatic.wizard"].with_user(accounting_admin)._merge(
            (self.customer + duplicate).ids, self.customer
        )
        self.assertFalse(duplicate.exists())

    def test_company_accounts_of_another_company_refused(self):
        """Fees, interest, compensation and write-offs are booked on the
        company's own accounts: the settings refuse another company's."""
        account_b = self.setup_other_company(name="Selskab B")["default_account_revenue"]
        self.assertNotIn(self.company, account_b.company_ids)
        settings = self.env["res.config.settings"].with_company(self.company)
        for fname in COMPANY_ACCOUNT_FIELDS:
            with self.subTest(fname=fname), self.assertRaises(ValidationError), self.env.cr.savepoint():
                settings.create({fname: account_b.id}).execute()
        own_account = self.company_data["default_account_revenue"]
        settings.create({"billing_writeoff_account_id": own_account.id}).execute()
        self.assertEqual(self.company.billing_writeoff_account_id, own_account)

    def test_plain_user_reads_no_promise_kept_rate(self):
        """The promises to pay are the billing team's: so is the rate of kept ones,
        which is computed from them as superuser."""
        with self.assertRaises(AccessError):
            self.customer.with_user(self.plain_user).read(["billing_promise_kept_rate"])
        self.customer.with_user(self.coordinator).read(["billing_promise_kept_rate"])
