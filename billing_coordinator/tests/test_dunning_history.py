from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common_dunning import DunningCommon


@tagged("post_install", "-at_install")
class TestDunningHistory(DunningCommon):
    """What was sent stays: the next level, the legal limit of fee-bearing
    reminders and the interest periods are counted from it."""

    def test_sent_reminder_cannot_be_deleted_by_a_manager(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        reminder = self._reminders_of(self.customer)
        self.assertEqual(reminder.state, "sent")
        run, line = reminder.run_id, reminder.line_ids
        for record in (reminder, line, run):
            with self.subTest(model=record._name), self.assertRaisesRegex(UserError, "dunning history"):
                record.unlink()
        with self.assertRaisesRegex(UserError, "hører til kundens rykkerhistorik"):
            reminder.with_context(lang="da_DK").unlink()
        self.assertTrue(reminder.exists() and line.exists() and run.exists())
        # the next run still counts the first reminder: the invoice goes on to level 2
        with freeze_time(self.today + timedelta(days=10)):
            self.Run._cron_dunning(self.company)
        self.assertEqual(self._reminders_of(self.customer).level_id, self.level_1 | self.level_2)

    def test_run_waiting_for_approval_is_deleted_with_its_reminders_and_their_notes(self):
        self.company.billing_dunning_approval = True
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        reminders = run.reminder_ids
        self.assertEqual(reminders.mapped("state"), ["draft"])
        reminders.message_post(body="Check the address first")
        run.unlink()
        self.assertFalse(reminders.exists())
        notes = self.env["mail.message"].search(
            [("model", "=", "billing.reminder"), ("res_id", "in", reminders.ids)]
        )
        self.assertFalse(notes, "the reminders' chatter goes with them")
        self.assertEqual(self._plan().reminder_count, 1, "the invoice is planned again")

    def test_dry_runs_older_than_a_month_are_vacuumed(self):
        other = self.env["res.partner"].create({"name": "Anden Kunde ApS", "is_company": True})
        self._post_invoice(self.customer, 1000.0, due_in_days=-60)
        self._post_invoice(other, 500.0, due_in_days=-60)
        with freeze_time(self.today - timedelta(days=31)):
            old_dry = self._plan(dry=True)
            old_sent = self._plan(partner=self.customer)
            old_sent.action_send()
        with freeze_time(self.today - timedelta(days=30)):
            recent_dry = self._plan(dry=True)
        old_reminders, recent_reminders = old_dry.reminder_ids, recent_dry.reminder_ids
        self.assertEqual(old_reminders.partner_id, self.customer | other)
        self.assertEqual(recent_reminders.partner_id, other, "the customer was reminded the day before")
        self.Run._gc_dry_runs()
        self.assertFalse(old_dry.exists() or old_reminders.exists())
        self.assertEqual((recent_dry | old_sent).exists(), recent_dry | old_sent)
        self.assertEqual(recent_reminders.exists(), recent_reminders)
        self.assertEqual(old_sent.reminder_ids.state, "sent")
