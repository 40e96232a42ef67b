from stdnum.eu import vat as eu_vat

from odoo.tests import TransactionCase, tagged

AGING_BUCKETS = ("not due", "1-30", "31-60", "61-90", "90+")


def aging_bucket(days_overdue):
    if days_overdue <= 0:
        return "not due"
    for limit, bucket in ((30, "1-30"), (60, "31-60"), (90, "61-90")):
        if days_overdue <= limit:
            return bucket
    return "90+"


@tagged("post_install", "-at_install")
class TestDemoData(TransactionCase):
    """The demo database a coordinator clicks through (built with demo data
    and Danish by `make test`)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("billing_coordinator.billing_company_demo")
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=cls.company.ids))
        cls.invoices = cls.env["account.move"].search(
            [("company_id", "=", cls.company.id), ("move_type", "=", "out_invoice"), ("state", "=", "posted")]
        )

    def test_danish_company_under_danish_law(self):
        self.assertEqual(self.company.currency_id.name, "DKK")
        self.assertEqual(self.company.billing_legal_profile, "dk")

    def test_customers_have_valid_vat_and_language(self):
        customers = self.invoices.partner_id
        self.assertGreaterEqual(len(customers), 8)
        for customer in customers:
            with self.subTest(customer=customer.name):
                self.assertTrue(eu_vat.is_valid(customer.vat), customer.vat)
        danish = customers.filtered(lambda p: p.country_id.code == "DK")
        self.assertGreaterEqual(len(danish), 6)
        self.assertEqual(set(danish.mapped("lang")), {"da_DK"})
        self.assertEqual(set((customers - danish).mapped("invoice_ids.currency_id.name")), {"EUR", "SEK"})

    def test_two_coordinators_with_portfolios(self):
        partners = self.env["res.partner"].with_company(self.company)
        for xmlid in ("user_coordinator_mette_demo", "user_coordinator_lars_demo"):
            user = self.env.ref(f"billing_coordinator.{xmlid}")
            with self.subTest(user=user.login):
                self.assertTrue(user.has_group("billing_coordinator.group_billing_coordinator"))
                portfolio = partners.search(
                    [("billing_coordinator_id", "=", user.id), ("parent_id", "=", False)]
                )
                self.assertEqual(len(portfolio), 4)

    def test_open_invoices_spread_over_every_aging_bucket(self):
        today = self.env.cr.now().date()
        open_invoices = self.invoices.filtered(lambda m: m.payment_state in ("not_paid", "partial"))
        buckets = {aging_bucket((today - inv.invoice_date_due).days) for inv in open_invoices}
        self.assertEqual(buckets, set(AGING_BUCKETS))

    def test_full_partial_over_and_duplicate_payments(self):
        states = set(self.invoices.mapped("payment_state"))
        self.assertTrue({"paid", "partial", "not_paid"} <= states, states)
        unreconciled = self.env["account.move.line"].search([
            ("company_id", "=", self.company.id),
            ("account_id.account_type", "=", "asset_receivable"),
            ("parent_state", "=", "posted"),
            ("reconciled", "=", False),
            ("balance", "<", 0),
        ])  # fmt: skip
        self.assertGreaterEqual(len(unreconciled.partner_id), 2, "overpayment and duplicate payment")
        paid_names = set(self.invoices.filtered(lambda m: m.payment_state == "paid").mapped("name"))
        duplicates = self.env["account.payment"].search(
            [("company_id", "=", self.company.id), ("memo", "in", list(paid_names))]
        )
        self.assertTrue(duplicates.filtered(lambda p: not p.reconciled_invoice_ids))

    def test_one_disputed_invoice(self):
        self.assertEqual(len(self.invoices.filtered("billing_is_disputed")), 1)

    def test_demo_reads_in_danish_and_english(self):
        menu = self.env.ref("billing_coordinator.billing_coordinator_menu_root")
        self.assertEqual(menu.with_context(lang="en_US").name, "Billing")
        self.assertEqual(menu.with_context(lang="da_DK").name, "Faktureringsstyring")
        for lang, label in (("en_US", "Active"), ("da_DK", "Aktiv")):
            partners = self.env["res.partner"].with_context(lang=lang)
            selection = dict(
                partners.fields_get(["billing_account_state"])["billing_account_state"]["selection"]
            )
            self.assertEqual(selection["active"], label)
        mette = self.env.ref("billing_coordinator.user_coordinator_mette_demo")
        self.assertEqual(mette.lang, "da_DK")

    def test_demo_dry_run_reminds_customers_and_leaves_out_the_dispute(self):
        run = self.env.ref("billing_coordinator.billing_dunning_run_dry_demo")
        self.assertEqual(run.state, "planned")
        self.assertTrue(run.reminder_ids, "overdue demo customers get reminders")
        self.assertEqual(
            len(run.reminder_ids), len(run.reminder_ids.mapped(lambda r: (r.partner_id, r.currency_id)))
        )
        disputed = self.invoices.filtered("billing_is_disputed")
        reasons = run.exclusion_ids.filtered(lambda e: e.move_id == disputed).mapped("reason")
        self.assertEqual(reasons, ["disputed"])
        self.assertNotIn(disputed, run.reminder_ids.line_ids.move_id)
