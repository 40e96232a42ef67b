from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged
from odoo.tools import html2plaintext
from odoo.tools.safe_eval import safe_eval

from .common_accounts import AccountsCommon, valid_cvr


@tagged("post_install", "-at_install")
class TestOnboarding(AccountsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.sudo().billing_credit_limit_threshold = 10_000.0
        cls.company.sudo().billing_credit_approver_id = cls.manager

    def _wizard_vals(self, **vals):
        return {
            "name": "Ny Kunde ApS",
            "vat": f"DK{valid_cvr(900)}",
            "street": "Havnegade 1",
            "zip": "5000",
            "city": "Odense C",
            "country_id": self.dk.id,
            "invoice_contact_name": "Bente Bogholder",
            "invoice_email": "faktura@nykunde.example.com",
            "payment_term_id": self.payment_term.id,
            "credit_limit": 5_000.0,
            "lang": "en_US",
        } | vals

    def _run_wizard(self, user=None, **vals):
        wizard = self.env["billing.partner.onboard"].with_user(user or self.coordinator)
        action = wizard.create(self._wizard_vals(**vals)).action_create_customer()
        return self.env["res.partner"].browse(action["res_id"])

    def _customers_named(self, name):
        return self.env["res.partner"].search_count([("name", "=", name)])

    def test_coordinator_opens_a_customer_account(self):
        wizard_form = Form(self.env["billing.partner.onboard"].with_user(self.coordinator))
        for fname, value in self._wizard_vals().items():
            if fname in ("country_id", "payment_term_id"):
                value = self.env["res.country" if fname == "country_id" else "account.payment.term"].browse(
                    value
                )
            setattr(wizard_form, fname, value)
        action = wizard_form.save().action_create_customer()
        customer = self.env["res.partner"].browse(action["res_id"]).with_company(self.company)
        self.assertEqual(customer.billing_account_state, "onboarding")
        self.assertEqual(customer.billing_coordinator_id, self.coordinator)
        self.assertEqual(customer.property_payment_term_id, self.payment_term)
        self.assertEqual(customer.credit_limit, 5_000.0)
        self.assertEqual(customer.billing_invoice_contact_id.type, "invoice")
        self.assertEqual(customer.billing_invoice_contact_id.email, "faktura@nykunde.example.com")
        self.assertEqual(customer.company_id, self.company)
        self.assertFalse(self._issues(customer))
        self.assertTrue(customer.billing_onboarding_data_ok)
        self.assertTrue(customer.billing_onboarding_credit_ok)
        self.assertFalse(customer.billing_onboarding_complete)
        # the last checklist item completes the onboarding
        customer.with_user(self.coordinator).billing_onboarding_welcome_sent = True
        self.assertEqual(customer.billing_account_state, "active")
        self.assertIn("Onboarding checklist complete", str(customer.message_ids.mapped("body")))

    def test_bad_input_raises_a_clear_error_and_creates_nothing(self):
        cases = [
            ({"vat": "DK12345675"}, "checksum"),
            ({"invoice_email": "faktura@@nykunde"}, "malformed"),
            ({"email": "info at nykunde.dk"}, "malformed"),
            ({"credit_limit": -1.0}, "negative"),
            ({"payment_term_id": False}, "payment terms"),
            ({"lang": False}, "language"),
            ({"vat": False}, "VAT/CVR number"),
            ({"country_id": False}, "country"),
            ({"invoice_email": False}, "invoice e-mail"),
            ({"name": False}, "company name"),
            ({"street": False}, "address"),
        ]
        for vals, message in cases:
            with self.subTest(vals=vals):
                before = self.env["res.partner"].search_count([])
                with self.assertRaisesRegex(UserError, message):
                    self._run_wizard(**vals)
                self.assertEqual(self.env["res.partner"].search_count([]), before)

    def test_error_speaks_the_users_language(self):
        self.env["res.lang"]._activate_lang("da_DK")
        wizard = self.env["billing.partner.onboard"].with_user(self.coordinator).with_context(lang="da_DK")
        for vals, message in (
            ({"credit_limit": -5.0}, "Kreditgrænsen kan ikke være negativ"),
            ({"vat": "DK12345675"}, "Moms-/CVR-nummeret DK12345675 er ugyldigt"),
            ({"lang": False}, "Udfyld: sprog"),
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(UserError, message):
                wizard.create(self._wizard_vals(**vals)).action_create_customer()
        self.assertEqual(self._customers_named("Ny Kunde ApS"), 0)

    def test_duplicate_customer_is_refused(self):
        existing = self._good_customer(name="Ny Kunde ApS", city="Odense C")
        with self.assertRaisesRegex(UserError, "Same VAT number as"):
            self._run_wizard(vat=existing.vat, name="Helt Andet Navn A/S")
        with self.assertRaisesRegex(UserError, "Name similar to"):
            self._run_wizard(name="Ny Kunde A/S")
        self.assertEqual(self._customers_named("Helt Andet Navn A/S"), 0)
        self.assertEqual(self._customers_named("Ny Kunde A/S"), 0)

    def test_no_credit_limit_keeps_the_company_default(self):
        self.env["ir.default"].set("res.partner", "credit_limit", 8_000.0, company_id=self.company.id)
        customer = self._run_wizard(credit_limit=0.0).with_company(self.company)
        self.assertEqual(customer.credit_limit, 8_000.0)
        self.assertFalse(customer.use_partner_credit_limit, "Odoo's credit warning uses the company default")
        self.assertTrue(customer.billing_onboarding_credit_ok)

    def test_credit_limit_above_threshold_needs_a_manager(self):
        customer = self._run_wizard(credit_limit=25_000.0).with_company(self.company)
        self.assertEqual(customer.billing_credit_approval_state, "pending")
        self.assertEqual(customer.billing_credit_limit_requested, 25_000.0)
        self.assertNotEqual(customer.credit_limit, 25_000.0)
        activity = customer.activity_ids
        self.assertEqual(activity.user_id, self.manager)
        self.assertFalse(customer.billing_onboarding_credit_ok)
        with self.assertRaises(UserError):
            customer.with_user(self.coordinator).action_billing_approve_credit_limit()
        customer.with_user(self.coordinator).billing_onboarding_welcome_sent = True
        self.assertEqual(customer.billing_account_state, "onboarding", "waiting for the approval")
        customer.with_user(self.manager).action_billing_approve_credit_limit()
        self.assertEqual(customer.credit_limit, 25_000.0)
        self.assertEqual(customer.billing_credit_approval_state, "approved")
        self.assertFalse(customer.activity_ids)
        self.assertEqual(customer.billing_account_state, "active")

    def test_credit_limit_approver_setting_offers_the_billing_managers_of_the_company(self):
        settings = self.env["res.config.settings"].with_company(self.company)
        domain = settings.fields_get(["billing_credit_approver_id"])["billing_credit_approver_id"]["domain"]
        if isinstance(domain, str):  # as the web client evaluates it on the settings
            domain = safe_eval(domain, {"company_id": self.company.id})
        offered = self.env["res.users"].search(domain)
        self.assertIn(self.manager, offered)
        for user in (self.coordinator, self.plain_user, self.manager_b):
            with self.subTest(user=user.login):
                self.assertNotIn(user, offered, "offered as the approver of credit limits")

    def test_coordinator_cannot_approve_a_credit_limit_himself(self):
        """Above the threshold only a Billing Manager decides: the coordinator can
        neither mark his request approved nor set the limit directly."""
        customer = self._run_wizard(credit_limit=25_000.0).with_company(self.company)
        for vals in (
            {"billing_credit_approval_state": "approved", "credit_limit": 25_000.0},
            {"billing_credit_approval_state": "approved"},
            {"billing_credit_limit_requested": 9_000.0},
            {"credit_limit": 25_000.0},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                customer.with_user(self.coordinator).write(vals)
        self.assertEqual(customer.billing_credit_approval_state, "pending")
        customer.with_user(self.coordinator).credit_limit = 8_000.0
        self.assertEqual(customer.credit_limit, 8_000.0, "within the threshold the coordinator decides")

    def test_invoice_contact_of_a_customer_of_company_b_stays_in_company_b(self):
        customer = self._run_wizard(user=self.coordinator_b, name="Kunde i B ApS")
        contact = customer.billing_invoice_contact_id
        self.assertEqual(contact.name, "Bente Bogholder")
        self.assertEqual(contact.company_id, self.company_b)
        seen_in_a = self.env["res.partner"].with_user(self.coordinator).search([("id", "=", contact.id)])
        self.assertFalse(seen_in_a)

    def test_coordinator_cannot_create_a_customer_with_a_limit_above_the_threshold(self):
        partners = self.env["res.partner"].with_user(self.coordinator).with_company(self.company)
        for vals in ({"credit_limit": 25_000.0}, {"billing_credit_approval_state": "approved"}):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                partners.create({"name": "Direkte ApS", "is_company": True, **vals})
        self.assertFalse(self._customers_named("Direkte ApS"))
        customer = partners.create({"name": "Direkte ApS", "is_company": True, "credit_limit": 8_000.0})
        self.assertEqual(customer.credit_limit, 8_000.0, "within the threshold the coordinator decides")
        by_manager = partners.with_user(self.manager).create({"name": "Stor ApS", "credit_limit": 25_000.0})
        self.assertEqual(by_manager.credit_limit, 25_000.0)

    def test_manager_rejects_a_credit_limit(self):
        customer = self._run_wizard(credit_limit=25_000.0).with_company(self.company)
        customer.with_user(self.manager).action_billing_reject_credit_limit()
        self.assertEqual(customer.billing_credit_approval_state, "rejected")
        self.assertEqual(customer.credit_limit, 10_000.0)
        self.assertTrue(customer.billing_onboarding_credit_ok)
        self.assertIn("rejected", str(customer.message_ids.mapped("body")))

    def test_rejecting_a_request_never_raises_the_limit(self):
        customer = self._run_wizard(credit_limit=25_000.0).with_company(self.company)
        customer.with_user(self.coordinator).credit_limit = 8_000.0
        customer.with_user(self.manager).action_billing_reject_credit_limit()
        self.assertEqual(customer.billing_credit_approval_state, "rejected")
        self.assertEqual(customer.credit_limit, 8_000.0)
        note = customer.message_ids.filtered(lambda m: "rejected" in str(m.body))
        self.assertIn(customer.env.company.currency_id.format(8_000.0), html2plaintext(note.body))

    def test_payment_terms_picker_offers_the_companys_terms(self):
        """The picker filters by the wizard's company, as the customer's own field does."""
        wizard = self.env["billing.partner.onboard"].with_user(self.coordinator)
        picker = wizard.fields_get(["payment_term_id"])["payment_term_id"]
        self.assertIn("company_id", str(picker.get("domain")))
        terms_b = self.env["account.payment.term"].create(
            {"name": "B: 8 dage", "company_id": self.company_b.id}
        )
        with self.assertRaisesRegex(UserError, "compan"):
            self._run_wizard(payment_term_id=terms_b.id)
        self.assertFalse(self._customers_named("Ny Kunde ApS"))

    def test_onboarding_in_company_b_stays_there(self):
        wizard = self.env["billing.partner.onboard"].with_user(self.coordinator_b)
        action = wizard.create(self._wizard_vals(name="Kunde i B ApS")).action_create_customer()
        customer = self.env["res.partner"].browse(action["res_id"])
        self.assertEqual(customer.company_id, self.company_b)
        self.assertEqual(customer.with_company(self.company_b).billing_coordinator_id, self.coordinator_b)
        self.assertFalse(
            self.env["res.partner"].with_user(self.coordinator).search([("id", "=", customer.id)])
        )
