import json
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common_accounts import AccountsCommon

LIST_FIELDS = [
    "billing_open_balance",
    "billing_overdue_amount",
    "billing_oldest_overdue_days",
    "billing_open_invoice_count",
    "billing_avg_days_to_pay",
    "billing_avg_days_late",
    "billing_last_payment_date",
    "billing_next_action_date",
    "billing_next_action",
]


@tagged("post_install", "-at_install")
class TestArFigures(AccountsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor = cls._good_customer(name="Skyldner ApS", company_id=False)
        cls.overdue = cls._post_invoice(cls.debtor, 1000.0, due_in_days=-40)
        cls.recent = cls._post_invoice(cls.debtor, 300.0, due_in_days=-5)
        cls.not_due = cls._post_invoice(cls.debtor, 500.0, due_in_days=10)
        # paid 6 days after its due date, 36 days after the invoice date
        cls.paid = cls._post_invoice(cls.debtor, 200.0, due_in_days=-20)
        cls._pay(cls.paid, cls.paid.amount_residual, cls.paid.invoice_date_due + timedelta(days=6))
        # half of the not-due invoice paid today
        cls._pay(cls.not_due, 250.0, cls.today)

    @classmethod
    def _pay(cls, invoice, amount, date):
        cls.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"amount": amount, "payment_date": date})._create_payments()

    def test_figures_of_a_customer(self):
        debtor = self.debtor.with_user(self.coordinator)
        self.assertEqual(debtor.billing_open_balance, 1000.0 + 300.0 + 250.0)
        self.assertEqual(debtor.billing_overdue_amount, 1300.0)
        self.assertEqual(debtor.billing_oldest_overdue_days, 40)
        self.assertEqual(debtor.billing_open_invoice_count, 3)
        self.assertEqual(debtor.billing_avg_days_to_pay, 36.0)
        self.assertEqual(debtor.billing_avg_days_late, 6.0)
        self.assertEqual(debtor.billing_last_payment_date, self.today)
        self.assertEqual(debtor.billing_ar_currency_id, self.company.currency_id)
        # read together with other fields, as the list does
        fnames = ["name", "billing_overdue_amount", "billing_last_payment_date", "billing_ar_currency_id"]
        vals = debtor.read(fnames)[0]
        currency = self.company.currency_id
        self.assertEqual(
            [vals[fname] for fname in fnames],
            ["Skyldner ApS", 1300.0, self.today, (currency.id, currency.display_name)],
        )
        self.assertEqual(debtor.read(fnames, load=None)[0]["billing_ar_currency_id"], currency.id)
        # Odoo's own figures stay available next to ours
        self.assertGreater(self.debtor.with_company(self.company).credit, 0)

    def test_next_planned_action(self):
        self.assertFalse(self.debtor.billing_next_action_date)
        self.overdue.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=self.today + timedelta(days=3),
            summary="Call about the overdue invoice",
            user_id=self.coordinator.id,
        )
        self.debtor.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=self.today + timedelta(days=8),
            summary="Review the credit limit",
            user_id=self.coordinator.id,
        )
        self.debtor.invalidate_recordset()
        debtor = self.debtor.with_user(self.coordinator)
        self.assertEqual(debtor.billing_next_action_date, self.today + timedelta(days=3))
        self.assertEqual(debtor.billing_next_action, "Call about the overdue invoice")

    def test_stored_figures_follow_a_payment_and_its_undoing(self):
        debtor = self.debtor.with_user(self.coordinator)
        self.assertEqual(debtor.billing_overdue_amount, 1300.0)
        self._pay(self.overdue, 1000.0, self.today)
        debtor.invalidate_recordset()
        self.assertEqual(debtor.billing_overdue_amount, 300.0)
        self.assertEqual(debtor.billing_oldest_overdue_days, 5)
        self.assertEqual(debtor.billing_open_invoice_count, 2)
        stored = self.debtor.sudo().billing_ar_data[str(self.company.id)]
        self.assertEqual(stored["overdue_amount"], 300.0)
        # the payment is undone: the figures come back without any refresh
        self.overdue.line_ids.remove_move_reconcile()
        debtor.invalidate_recordset()
        self.assertEqual(debtor.billing_overdue_amount, 1300.0)
        self.assertEqual(debtor.billing_oldest_overdue_days, 40)

    def test_stored_figures_hold_until_the_next_due_date(self):
        """The not-due invoice falls due in 10 days: the stored figures hold until then."""
        self.assertEqual(
            self.debtor.sudo().billing_ar_valid_until, self.not_due.invoice_date_due, "the next due date"
        )

    def test_figures_past_their_date_are_read_live_and_stored_again_at_night(self):
        """A day passed and the nightly refresh has not run: what the stored
        figures say is old, so the form, the list's sort and its filter read
        the receivable lines; the refresh then stores the new day's figures."""
        small = self._good_customer(name="Lille Skyldner ApS")
        self._post_invoice(small, 50.0, due_in_days=-70)
        self.env.flush_all()
        old = {str(self.company.id): dict(self.debtor.sudo().billing_ar_data[str(self.company.id)])}
        old[str(self.company.id)]["overdue_amount"] = 1.0  # what it was, days ago
        self.env.cr.execute(
            "UPDATE res_partner SET billing_ar_data = %s, billing_ar_valid_until = %s WHERE id = %s",
            [json.dumps(old), self.today - timedelta(days=1), self.debtor.id],
        )
        self.debtor.invalidate_recordset()
        partners = self.env["res.partner"].with_user(self.coordinator)
        self.assertEqual(partners.browse(self.debtor.id).billing_overdue_amount, 1300.0)
        ids = (self.debtor + small).ids
        by_overdue = partners.search([("id", "in", ids)], order="billing_overdue_amount desc")
        self.assertEqual(by_overdue.ids, [self.debtor.id, small.id])
        self.assertEqual(
            partners.search([("id", "in", ids), ("billing_overdue_amount", "=", 1300.0)]), self.debtor
        )

        cron = self.env.ref("billing_coordinator.ir_cron_billing_ar_data_refresh")
        self.assertEqual(cron.code, "model._cron_refresh_billing_ar_data()")
        self.startPatcher(patch.object(self.registry["ir.cron"], "_commit_progress", return_value=60.0))
        self.env["res.partner"]._cron_refresh_billing_ar_data()
        self.debtor.invalidate_recordset()
        self.assertEqual(self.debtor.sudo().billing_ar_valid_until, self.not_due.invoice_date_due)
        self.assertEqual(self.debtor.sudo().billing_ar_data[str(self.company.id)]["overdue_amount"], 1300.0)

    def _nightly_refresh(self, figures_change=True):
        """Run the nightly refresh of the figures, as its scheduled action would
        until its time is up (five batches); return the ids of the customers of
        each batch. ``figures_change=False``: storing them again leaves them as
        they were, past their date."""
        stored = []
        real_store = type(self.env["res.partner"])._billing_store_ar_data_again

        def store(partners):
            stored.append(partners.ids)
            if figures_change:
                real_store(partners)

        def progress(cron, processed=0, **_kwargs):
            return 60.0 if len(stored) < 5 else 0.0

        with (
            patch.object(self.registry["ir.cron"], "_commit_progress", progress),
            patch.object(self.registry["res.partner"], "_billing_store_ar_data_again", store),
        ):
            self.env["res.partner"]._cron_refresh_billing_ar_data()
        return stored

    def test_nightly_refresh_figures_the_day_the_figures_are_compared_with(self):
        """Python's date (UTC) and PostgreSQL's CURRENT_DATE (the database
        server's time zone) differ for some hours of the day when the server is
        west of UTC; simulated here by moving Python's clock a day ahead."""
        debtor = self._good_customer(name="Forfald ApS")
        invoice = self._post_invoice(debtor, 100.0, due_in_days=0)
        self.env.flush_all()
        self.assertEqual(debtor.sudo().billing_ar_valid_until, invoice.invoice_date_due)
        with freeze_time(invoice.invoice_date_due + timedelta(days=1)):
            batches = self._nightly_refresh()
            debtor.invalidate_recordset()
            self.assertEqual(len(batches), 1, "the same customers stored again and again")
            self.assertFalse(debtor.sudo().billing_ar_valid_until, "overdue since: nothing left to fall due")
            self.assertEqual(debtor.sudo().billing_ar_data[str(self.company.id)]["overdue_amount"], 100.0)

    def test_nightly_refresh_stores_each_customer_once(self):
        """Customers whose figures are still past their date once stored again
        are not stored again and again until the scheduled action's time is up."""
        debtors = self._good_customer(name="Skyldner 1 ApS") | self._good_customer(name="Skyldner 2 ApS")
        for debtor in debtors:
            self._post_invoice(debtor, 100.0, due_in_days=5)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE res_partner SET billing_ar_valid_until = %s WHERE id = ANY(%s)",
            [self.today - timedelta(days=1), debtors.ids],
        )
        self.env.invalidate_all()
        batches = self._nightly_refresh(figures_change=False)
        stored = [partner_id for batch in batches for partner_id in batch]
        self.assertEqual(sorted(stored), sorted(set(stored)), f"customers stored again: {batches}")
        self.assertLessEqual(set(debtors.ids), set(stored))

    def test_merged_duplicate_brings_its_invoices_into_the_figures(self):
        """Two records of one private customer, merged: Odoo moves the journal
        items in SQL, and the kept record's figures hold both."""
        kept = self._good_customer(name="Jens Hansen", is_company=False, vat=False)
        duplicate = self._good_customer(name="Jens Hansen", is_company=False, vat=False)
        self._post_invoice(kept, 300.0, due_in_days=-5)
        self._post_invoice(duplicate, 700.0, due_in_days=-15)
        self.assertEqual(kept.billing_overdue_amount, 300.0)
        self.env["base.partner.merge.automatic.wizard"]._merge((kept + duplicate).ids, kept)
        kept.invalidate_recordset()
        self.assertEqual(kept.billing_overdue_amount, 1000.0)
        self.assertEqual(kept.billing_open_invoice_count, 2)

    def test_customer_without_invoices_shows_zero(self):
        nobody = self._good_customer()
        self.assertEqual(nobody.billing_open_balance, 0.0)
        self.assertEqual(nobody.billing_open_invoice_count, 0)
        self.assertFalse(nobody.billing_last_payment_date)

    def test_new_customer_in_the_form_shows_zero_next_to_existing_ones(self):
        """Figures computed for a new (unsaved) customer together with saved ones."""
        draft = self.env["res.partner"].new({"name": "Ny Kunde ApS", "is_company": True})
        both = draft | self.debtor
        self.assertEqual(both.mapped("billing_open_balance"), [0.0, self.debtor.billing_open_balance])
        self.assertEqual(draft.billing_open_invoice_count, 0)
        self.assertEqual(self.debtor.billing_open_invoice_count, 3)

    def test_sort_and_filter_the_customer_list(self):
        small = self._good_customer(name="Lille Skyldner ApS")
        self._post_invoice(small, 50.0, due_in_days=-70)
        clean = self._good_customer(name="Betaler Altid ApS")
        ids = (self.debtor + small + clean).ids
        partners = self.env["res.partner"].with_user(self.coordinator)
        by_overdue = partners.search([("id", "in", ids)], order="billing_overdue_amount desc, id")
        self.assertEqual(by_overdue.ids, [self.debtor.id, small.id, clean.id])
        by_age = partners.search([("id", "in", ids)], order="billing_oldest_overdue_days desc")
        self.assertEqual(by_age[0], small)
        overdue = partners.search([("id", "in", ids), ("billing_overdue_amount", ">", 0)])
        self.assertEqual(overdue, self.debtor + small)
        # the view behind sorting and filtering says what the form shows
        exact = partners.search([("id", "in", ids), ("billing_overdue_amount", "=", 1300.0)])
        self.assertEqual(exact, self.debtor)
        old = partners.search([("id", "in", ids), ("billing_oldest_overdue_days", ">", 60)])
        self.assertEqual(old, small)
        never_paid = partners.search([("id", "in", ids), ("billing_last_payment_date", "=", False)])
        self.assertEqual(never_paid, small + clean)
        fields_info = partners.fields_get(["billing_overdue_amount"], ["sortable", "searchable"])
        self.assertTrue(fields_info["billing_overdue_amount"]["sortable"])

    def test_list_reads_figures_in_constant_queries(self):
        """The list issues the same number of queries for 3 or 30 customers."""

        def queries_to_read(partners):
            partners.invalidate_recordset()
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            partners.with_user(self.coordinator).read(LIST_FIELDS)
            return self.env.cr.sql_log_count - before

        customers = self.env["res.partner"].create([self._good_customer_vals() for _i in range(30)])
        for customer in customers[:12]:  # both sets hold customers with and without figures
            self._post_invoice(customer, 100.0, due_in_days=-3)
        queries_to_read(customers[:2])  # warm the caches of access rules and views
        self.assertEqual(queries_to_read(customers[2:5]), queries_to_read(customers[5:]))

    def test_plain_user_reads_no_figures(self):
        with self.assertRaises(AccessError):
            self.debtor.with_user(self.plain_user).read(["billing_open_balance"])
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.plain_user).search([], order="billing_overdue_amount desc")
        with self.assertRaises(AccessError):
            self.debtor.with_user(self.plain_user).read(["billing_data_issue_count"])

    def test_list_view_shows_the_figures(self):
        arch = (
            self.env["res.partner"]
            .with_user(self.coordinator)
            .get_view(self.env.ref("billing_coordinator.res_partner_view_list_billing").id)["arch"]
        )
        for fname in ("billing_open_balance", "billing_overdue_amount", "billing_avg_days_late"):
            self.assertIn(f'name="{fname}"', arch)

    def test_figures_never_mix_companies(self):
        self._post_invoice(self.debtor, 9000.0, due_in_days=-10, company=self.company_b)
        in_a = self.debtor.with_company(self.company)
        in_b = self.debtor.with_company(self.company_b)
        self.assertEqual(in_a.billing_overdue_amount, 1300.0)
        self.assertEqual(in_b.billing_overdue_amount, 9000.0)
        rows_b = self.env["billing.partner.ar"].with_user(self.coordinator_b).search([])
        self.assertEqual(rows_b.company_id, self.company_b)
        rows_a = self.env["billing.partner.ar"].with_user(self.coordinator).search([])
        self.assertNotIn(self.company_b, rows_a.company_id)
        self.assertIn(self.debtor, rows_a.partner_id)
