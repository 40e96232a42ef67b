from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common_dunning import DunningCommon


@tagged("post_install", "-at_install")
class TestDunningPromise(DunningCommon):
    def _promise(self, invoices, amount, in_days):
        form = Form(self.env["billing.promise"].with_user(self.coordinator))
        form.partner_id = self.customer
        form.amount = amount
        form.date = self.today + timedelta(days=in_days)
        for invoice in invoices:
            form.move_ids.add(invoice)
        return form.save()

    def test_promise_kept_when_payments_cover_it(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        promise = self._promise(invoice, 1000.0, in_days=5)
        self.assertIn("Promise to pay", self.customer.message_ids[0].body)
        self.assertEqual(self._plan(dry=True).exclusion_ids.reason, "promise")
        self._register_payment(invoice, amount=1000.0)
        promise.action_check()
        self.assertEqual(promise.state, "kept")
        self.assertEqual(self.customer.billing_promise_kept_rate, 100.0)

    def test_broken_promise_resumes_dunning_at_the_next_level_with_an_activity(self):
        self.customer.with_company(self.company).billing_coordinator_id = self.coordinator
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        first = self._plan().reminder_ids
        self.assertEqual(first.level_id, self.level_1)
        promise = self._promise(invoice, 1000.0, in_days=5)
        with freeze_time(self.today + timedelta(days=7)):
            self._register_payment(invoice, amount=200.0)  # paid only a part
            self.assertFalse(self._plan().reminder_ids, "paused until the promised date plus grace")
            self.assertEqual(promise.state, "open")
        with freeze_time(self.today + timedelta(days=10)):
            self.Run._cron_dunning(self.company)
        self.assertEqual(promise.state, "broken")
        activity = promise.activity_ids
        self.assertEqual(activity.user_id, self.coordinator)
        resumed = self._reminders_of(self.customer) - first
        self.assertEqual(resumed.level_id, self.level_2)
        self.assertEqual(resumed.amount_residual, 800.0)
        self.assertEqual(self.customer.billing_promise_kept_rate, 0.0)

    def test_promise_covers_only_its_customers_invoices(self):
        other = self.env["res.partner"].create({"name": "Anden Kunde", "is_company": True})
        invoice = self._post_invoice(other, 100.0, due_in_days=-30)
        with self.assertRaises(ValidationError):
            self.env["billing.promise"].create({
                "partner_id": self.customer.id, "amount": 100.0, "date": self.today,
                "move_ids": [(6, 0, invoice.ids)],
            })  # fmt: skip
