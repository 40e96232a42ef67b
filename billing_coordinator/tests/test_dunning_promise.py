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

    def test_promise_in_kroner_on_a_euro_invoice_is_kept_when_the_invoice_is_paid(self):
        invoice = self._post_invoice(self.customer, 100.0, due_in_days=-30, currency=self.eur)
        promise = self._promise(invoice, 750.0, in_days=5)  # 100 EUR at 7.50 DKK
        self.assertEqual((promise.currency_id, promise.residual_at_promise), (self.dkk, 750.0))
        self._register_payment(invoice, amount=100.0)
        self.assertEqual(promise.amount_paid, 750.0)
        promise.action_check()
        self.assertEqual(promise.state, "kept")

    def test_promise_of_the_reminders_total_is_kept_when_the_invoice_is_paid(self):
        """The customer promises the reminder's total, its fee and interest
        included, and pays the invoice in full: the promise is kept."""
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        promise = self._promise(invoice, 1100.0, in_days=5)
        self._register_payment(invoice, amount=1000.0)
        with freeze_time(self.today + timedelta(days=10)):
            promise.action_check()
        self.assertEqual(promise.state, "kept")
        self.assertFalse(promise.activity_ids)

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

    def _queries_to_settle(self, count):
        """``count`` customers, each with a promise kept (its invoice paid) and one
        broken (its date long past); the nightly check settles them all. Counted:
        the addon's notes and follow-ups. Not counted: Odoo's tracking of the
        state (off in this class) and the message Odoo sends a user an activity
        is assigned to by someone else (here the coordinator runs the check)."""
        customers = self.env["res.partner"].create([
            {"name": f"Lovende Kunde {index}", "is_company": True} for index in range(count)
        ])  # fmt: skip
        customers.with_company(self.company).billing_coordinator_id = self.env.user
        Promise = self.env["billing.promise"].with_context(default_user_id=self.coordinator.id)
        kept = broken = Promise
        for customer in customers:
            paid = self._post_invoice(customer, 500.0, due_in_days=-30)
            owed = self._post_invoice(customer, 700.0, due_in_days=-30)
            kept |= Promise.create(
                {"partner_id": customer.id, "amount": 500.0, "date": self.today, "move_ids": paid.ids}
            )
            broken |= Promise.create({
                "partner_id": customer.id, "amount": 700.0, "date": self.today - timedelta(days=20),
                "move_ids": owed.ids,
            })  # fmt: skip
            self._register_payment(paid, amount=500.0)
        _none, queries = self.count_queries(Promise._cron_check_promises)
        self.assertEqual(set(kept.mapped("state")), {"kept"})
        self.assertEqual(set(broken.mapped("state")), {"broken"})
        self.assertEqual(broken.activity_ids.user_id, self.env.user, "the coordinator, not who took it")
        self.assertEqual(len(broken.activity_ids), count, "one follow-up per broken promise")
        for customer in customers:
            notes = " ".join(str(body) for body in customer.message_ids.mapped("body"))
            self.assertIn("Promise to pay kept", notes)
            self.assertIn("Dunning resumes", notes)
        return queries

    def test_nightly_check_settles_any_number_of_promises_with_the_same_queries(self):
        self.assert_queries_do_not_grow(
            self._queries_to_settle, 2, 6, "12 promises are settled with the queries of 4"
        )
