from datetime import date, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.fields import Command
from odoo.tests import tagged

from ..models import billing_dunning_run
from ..tools.legal_profiles import interest_periods
from .common_dunning import DunningCommon


@tagged("post_install", "-at_install")
class TestDunningCharges(DunningCommon):
    def _invoice_due_on(self, partner, amount, due, currency=None):
        invoice = self.env["account.move"].create({
            "move_type": "out_invoice",
            "partner_id": partner.id,
            "currency_id": (currency or self.dkk).id,
            "invoice_date": due - timedelta(days=30),
            "invoice_date_due": due,
            "invoice_payment_term_id": False,
            "invoice_line_ids": [Command.create({"name": "Service", "price_unit": amount, "tax_ids": []})],
        })  # fmt: skip
        invoice.action_post()
        return invoice

    def test_late_interest_on_fixed_dates_switches_rate_on_first_of_july(self):
        rates = self.env["billing.interest.rate"]
        rates.create([
            {"date_from": "2031-01-01", "reference_rate": 3.0},
            {"date_from": "2031-07-01", "reference_rate": 2.5},
        ])  # fmt: skip
        self.level_1.apply_interest = True
        with freeze_time("2031-08-01"):
            self._invoice_due_on(self.customer, 10_000.0, date(2031, 6, 1))
            first = self._plan().reminder_ids
        # 29 days at 3.0 + 8 = 11 % (2-30 June), 32 days at 2.5 + 8 = 10.5 % (1 July-1 August)
        self.assertAlmostEqual(first.interest_amount, round(10_000 * (0.11 * 29 + 0.105 * 32) / 365, 2))
        with freeze_time("2031-08-11"):
            second = self._plan().reminder_ids
        # the next reminder charges only the days since the last one: 10 days at 10.5 %
        self.assertEqual(second.level_id, self.level_2)
        self.assertAlmostEqual(second.interest_amount, round(10_000 * 0.105 * 10 / 365, 2))
        self.assertEqual(second.line_ids.interest_date_from, date(2031, 8, 1))

    def test_run_says_when_no_reference_rate_covers_the_interest(self):
        rates = self.env["billing.interest.rate"]
        rates.search([]).unlink()  # the demo data's rates
        rates.create({"date_from": "2033-03-01", "reference_rate": 2.0})
        self.level_1.apply_interest = True
        with freeze_time("2033-04-01"):
            self._invoice_due_on(self.customer, 1000.0, date(2033, 2, 1))
            run = self._plan()
        self.assertEqual(run.reminder_ids.interest_amount, 0.0)
        self.assertIn("No reference rate is in force on 2033-02-02", run.message_ids[0].body)

    def test_interest_follows_the_company_day_count(self):
        self.env["billing.interest.rate"].create({"date_from": "2032-01-01", "reference_rate": 2.0})
        self.level_1.apply_interest = True
        self.company.billing_interest_day_count = "act/360"
        with freeze_time("2032-03-01"):
            self._invoice_due_on(self.customer, 3600.0, date(2032, 1, 31))
            reminder = self._plan().reminder_ids
        self.assertAlmostEqual(reminder.interest_amount, round(3600 * 0.10 * 30 / 360, 2))

    def test_interest_periods_are_worked_out_once_per_start_date(self):
        self.env["billing.interest.rate"].create({"date_from": "2032-01-01", "reference_rate": 2.0})
        self.level_1.apply_interest = True
        with freeze_time("2032-03-01"):
            for amount in (1000.0, 2500.0, 3600.0):
                self._invoice_due_on(self.customer, amount, date(2032, 1, 31))
            self._invoice_due_on(self.customer, 500.0, date(2032, 2, 10))
            with patch.object(billing_dunning_run, "interest_periods", wraps=interest_periods) as periods:
                reminder = self._plan().reminder_ids
        self.assertEqual(periods.call_count, 2, "once per due date, not once per invoice")
        # 10 % a year (2.0 + 8): 30 days from 31 January, 20 from 10 February
        expected = [round(amount * 0.10 * 30 / 365, 2) for amount in (1000.0, 2500.0, 3600.0)]
        expected.append(round(500.0 * 0.10 * 20 / 365, 2))
        self.assertEqual(sorted(reminder.line_ids.mapped("interest_amount")), sorted(expected))

    def test_compensation_once_per_invoice_for_business_customers(self):
        self.level_2.apply_compensation = True
        danish = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        euro = self._post_invoice(self.customer, 500.0, due_in_days=-30, currency=self.eur)
        consumer = self.env["res.partner"].create({"name": "Privat Person", "is_company": False})
        private = self._post_invoice(consumer, 800.0, due_in_days=-30)
        self._plan()
        with freeze_time(self.today + timedelta(days=10)):
            second = self._plan().reminder_ids
        by_move = {line.move_id: line.compensation_amount for line in second.line_ids}
        self.assertEqual(by_move[danish], 310.0)
        self.assertEqual(by_move[euro], 40.0, "EUR 40 for a claim in another currency (2011/7/EU)")
        self.assertEqual(by_move[private], 0.0, "only business customers owe compensation")
        with freeze_time(self.today + timedelta(days=20)):
            third = self._plan().reminder_ids
        self.assertEqual(third.level_id, self.level_3)
        self.assertFalse(
            any(third.line_ids.mapped("compensation_amount")), "compensation only once per invoice"
        )

    def test_no_fee_within_10_days_of_the_previous_fee_on_a_claim(self):
        # levels 2 and 3 bear fees 15 and 25 days after the due date: legal as a ladder
        self.level_2.write({"trigger": "due", "trigger_days": 15})
        self.level_3.write({"trigger": "due", "trigger_days": 25})
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._plan()
        with freeze_time(self.today + timedelta(days=1)):
            second = self._plan().reminder_ids
        self.assertEqual((second.level_id, second.fee_amount), (self.level_2, 100.0))
        with freeze_time(self.today + timedelta(days=10)):
            # due + 30: level 3 is due, but only 9 days after the last fee on this claim
            third = self._plan().reminder_ids
        self.assertEqual(third.level_id, self.level_3)
        self.assertEqual(third.fee_amount, 0.0)
        self.assertFalse(third.line_ids.filtered(lambda line: line.move_id == invoice).fee_charged)

    def test_no_fourth_fee_on_a_claim(self):
        self.level_1.fee_amount = 100.0
        self.level_2.trigger_days = 10
        self.level_3.fee_amount = 100.0
        fourth = self.env["billing.dunning.level"].create({
            "policy_id": self.policy.id, "sequence": 4, "name": "Last call",
            "trigger": "previous", "trigger_days": 10,
        })  # fmt: skip
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        fees = []
        for days in (0, 10, 20, 30):
            with freeze_time(self.today + timedelta(days=days)):
                fees.append(self._plan().reminder_ids.fee_amount)
        self.assertEqual(fees, [100.0, 100.0, 100.0, 0.0])
        # a fee put on the fourth level is refused outright
        with self.assertRaisesRegex(Exception, "Renteloven §9b"):
            fourth.fee_amount = 50.0

    def test_charges_posted_as_an_invoice_without_vat_to_the_configured_accounts(self):
        fee_account = self.company_data["default_account_revenue"].copy(
            {"code": "389000", "name": "Rykkergebyr"}
        )
        self.company.write(
            {"billing_dunning_fee_account_id": fee_account.id, "billing_dunning_fee_mode": "invoice"}
        )
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._plan()._send()
        with freeze_time(self.today + timedelta(days=10)):
            run = self._plan()
            run.with_context(billing_dunning_skip_pdf=True)._send()
        charges = run.reminder_ids.fee_move_id
        self.assertEqual(charges.state, "posted")
        self.assertEqual(charges.amount_tax, 0.0)
        fee_line = charges.invoice_line_ids.filtered(lambda line: line.account_id == fee_account)
        self.assertEqual(fee_line.price_subtotal, 100.0)
        self.assertEqual(charges.amount_total, run.reminder_ids.fee_amount + run.reminder_ids.interest_amount)

    def test_charges_listed_on_the_reminder_when_set_so(self):
        self.company.billing_dunning_fee_mode = "reminder"
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._plan()._send()
        with freeze_time(self.today + timedelta(days=10)):
            run = self._plan()
            run._send()
        self.assertFalse(run.reminder_ids.fee_move_id)
        self.assertEqual(run.reminder_ids.amount_total, 1000.0 + 100.0 + run.reminder_ids.interest_amount)

    def test_charges_invoice_is_not_dunned_with_fees_of_its_own(self):
        self.company.billing_dunning_fee_mode = "invoice"
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        for days in (0, 10, 20, 30):
            with freeze_time(self.today + timedelta(days=days)):
                self._plan().with_context(billing_dunning_skip_pdf=True)._send()
        reminders = self._reminders_of(self.customer)
        charges = reminders.fee_move_id
        self.assertEqual(len(charges), 2, "levels 2 and 3 charge a fee")
        self.assertEqual(reminders.line_ids.move_id, invoice, "a charges invoice gets no reminder of its own")
        self.assertEqual(sum(reminders.mapped("fee_amount")), 200.0)
