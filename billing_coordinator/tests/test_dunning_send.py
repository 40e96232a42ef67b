from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time
from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools.convert import convert_file
from odoo.tools.safe_eval import safe_eval

from odoo.addons.base.tests.common import DISABLED_MAIL_CONTEXT

from ..models.billing_reminder import LETTER_REPORT
from .common_dunning import DunningCommon


@tagged("post_install", "-at_install")
class TestDunningSend(DunningCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.english = cls.env["res.partner"].create({
            "name": "Customer Ltd", "is_company": True, "lang": "en_US", "email": "ap@customer.example",
        })  # fmt: skip

    def _mails(self, reminders):
        return self.env["mail.mail"].search(
            [("model", "=", "billing.reminder"), ("res_id", "in", reminders.ids)]
        )

    def test_reminders_go_out_at_night_after_the_payments_are_matched(self):
        dunning = self.env.ref("billing_coordinator.billing_dunning_run_cron")
        detection = self.env.ref("billing_coordinator.billing_discrepancy_cron_detection")
        self.assertEqual((dunning.interval_number, dunning.interval_type), (1, "days"))
        self.assertLess(detection.nextcall.time(), dunning.nextcall.time())
        self.assertLess(dunning.nextcall.hour, 6, "reminders are sent at night, before the working day")

    def test_scheduled_action_twice_the_same_day_sends_nothing_twice(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._post_invoice(self.english, 2000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        self.Run._cron_dunning(self.company)
        reminders = self._reminders_of(self.customer) | self._reminders_of(self.english)
        self.assertEqual(len(reminders), 2)
        self.assertEqual(set(reminders.mapped("state")), {"sent"})
        self.assertEqual(len(self._mails(reminders)), 2)
        self.assertEqual(
            self.Run.search_count([("company_id", "=", self.company.id), ("is_scheduled", "=", True)]), 1
        )
        # the customer's chatter shows the reminder
        self.assertIn("Reminder 1", self.customer.message_ids[0].body)

    def test_interrupted_run_sends_each_remaining_reminder_exactly_once(self):
        customers = (
            self.customer
            | self.english
            | self.env["res.partner"].create(
                {"name": "Third A/S", "is_company": True, "email": "third@example.com"}
            )
        )
        for customer in customers:
            self._post_invoice(customer, 1000.0, due_in_days=-30)
        run = self._plan()
        calls = []

        def time_is_up(cron, processed=0, *, remaining=None, deactivate=False):
            calls.append(processed)
            return 0.0  # the cron's time is up after the first batch

        with patch.object(type(self.env["ir.cron"]), "_commit_progress", time_is_up):
            run._send(batch_size=1)
        self.assertEqual(calls, [1])
        self.assertEqual(len(run.reminder_ids.filtered(lambda r: r.state == "sent")), 1)
        self.assertEqual(run.state, "planned")
        # the next cron call resumes where the first stopped
        run._send(batch_size=1)
        self.assertEqual(set(run.reminder_ids.mapped("state")), {"sent"})
        self.assertEqual(run.state, "done")
        for reminder in run.reminder_ids:
            self.assertEqual(len(self._mails(reminder)), 1, reminder.partner_id.name)

    def test_mail_that_cannot_be_sent_is_recorded_and_retried_next_run(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        self.customer.email = False
        run._send()
        reminder = run.reminder_ids
        self.assertEqual(reminder.state, "failed")
        self.assertIn("e-mail", reminder.send_error)
        self.customer.email = "ny@kunde.example"
        with freeze_time(self.today + timedelta(days=1)):
            self.Run._cron_dunning(self.company)
        self.assertEqual(reminder.state, "sent")
        self.assertFalse(reminder.send_error)
        self.assertEqual(len(self._mails(reminder)), 1)

    def test_queued_mail_that_bounces_is_sent_again_next_run(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        reminder = self._reminders_of(self.customer)
        reminder.mail_id.write({"state": "exception", "failure_reason": "SMTP 550 mailbox unavailable"})
        failed_mail = reminder.mail_id
        with freeze_time(self.today + timedelta(days=1)):
            self.Run._cron_dunning(self.company)
        self.assertEqual(reminder.state, "sent")
        self.assertNotEqual(reminder.mail_id, failed_mail)
        self.assertIn(
            "SMTP 550", reminder.message_ids.mapped("body")[-1] + "".join(reminder.message_ids.mapped("body"))
        )

    def test_email_body_and_invoice_table_in_the_customer_language(self):
        danish = self._post_invoice(self.customer, 1234.5, due_in_days=-30)
        english = self._post_invoice(self.english, 1234.5, due_in_days=-30)
        run = self._plan()
        run._send()
        da_mail = self._mails(run.reminder_ids.filtered(lambda r: r.partner_id == self.customer))
        en_mail = self._mails(run.reminder_ids.filtered(lambda r: r.partner_id == self.english))
        self.assertIn("Forfaldsdato", da_mail.body_html)
        self.assertIn("Forfaldne dage", da_mail.body_html)
        self.assertIn(danish.name, da_mail.body_html)
        self.assertIn(danish.invoice_date_due.strftime("%d.%m.%Y"), da_mail.body_html)
        self.assertIn("1.234,50", da_mail.body_html)
        self.assertNotIn("Due Date", da_mail.body_html)
        self.assertIn("Due Date", en_mail.body_html)
        self.assertIn("Days Overdue", en_mail.body_html)
        self.assertIn(english.name, en_mail.body_html)
        self.assertIn(english.invoice_date_due.strftime("%m/%d/%Y"), en_mail.body_html)
        self.assertIn("1,234.50", en_mail.body_html)
        self.assertEqual(da_mail.email_to, self.customer.email)

    def test_email_states_fee_compensation_total_and_collection_warning(self):
        self.level_1.write({
            "fee_amount": 100.0, "apply_compensation": True,
            "is_collection_warning": True, "warning_days": 10,
        })  # fmt: skip
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        reminder = run.reminder_ids
        self.assertEqual((reminder.fee_amount, reminder.compensation_amount), (100.0, 310.0))
        run._send()
        body = self._mails(reminder).body_html
        self.assertIn("Kære Kunde Test ApS", body)
        self.assertIn("Rykkergebyr: kr\xa0100,00", body)
        self.assertIn("Kompensation: kr\xa0310,00", body)
        self.assertIn("Samlet forfaldent: <strong>kr\xa01.410,00</strong>", body)
        self.assertIn("inden 10 dage, overdrages kravet til inkasso", body)

    def test_coordinator_without_template_rights_words_a_reminder_email_of_their_own(self):
        """Where only template editors may write code in e-mail templates, a
        coordinator can still copy the reminder e-mail and change its wording:
        it is made of plain placeholders only."""
        self.env["ir.config_parameter"].set_param("mail.restrict.template.rendering", True)
        self.assertFalse(self.coordinator.has_group("mail.group_mail_template_editor"))
        default = self.env.ref("billing_coordinator.mail_template_billing_reminder")
        own = default.with_user(self.coordinator).copy({"name": "Friendly reminder"})
        own.body_html = own.body_html.replace("Dear", "Hello")
        self.level_1.mail_template_id = own
        self._post_invoice(self.english, 1234.5, due_in_days=-30)
        run = self._plan()
        run._send()
        body = self._mails(run.reminder_ids).body_html
        self.assertIn("Hello Customer Ltd", body)
        self.assertIn("Total due: <strong>kr\xa01,234.50</strong>", body)

    def test_reworded_reminder_email_survives_an_upgrade_of_the_addon(self):
        default = self.env.ref("billing_coordinator.mail_template_billing_reminder")
        default.body_html = default.body_html.replace("Dear", "Hello")
        # what `-u billing_coordinator` does with the file
        convert_file(self.env, "billing_coordinator", "data/billing_dunning_mail_templates.xml", {}, "update")
        self._post_invoice(self.english, 1234.5, due_in_days=-30)
        self._plan()._send()
        body = self._mails(self._reminders_of(self.english)).body_html
        self.assertIn("Hello Customer Ltd", body)
        self.assertIn("Total due: <strong>kr\xa01,234.50</strong>", body)

    def test_reminder_failing_after_its_email_was_queued_sends_no_email(self):
        """The batch queues every e-mail at once; a reminder that fails later
        (here its charges invoice) must not leave its e-mail in the queue."""
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._post_invoice(self.english, 1000.0, due_in_days=-30)
        run = self._plan()
        reminder_class = type(self.env["billing.reminder"])
        post_charges = reminder_class._post_charges_invoices

        def journal_locked_for_english(reminders, journals):
            if self.english in reminders.partner_id:
                raise RuntimeError("The charges journal is locked.")
            return post_charges(reminders, journals)

        with patch.object(reminder_class, "_post_charges_invoices", journal_locked_for_english):
            run._send()
        failed = run.reminder_ids.filtered(lambda r: r.partner_id == self.english)
        sent = run.reminder_ids - failed
        self.assertEqual(failed.state, "failed")
        self.assertIn("journal is locked", failed.send_error)
        self.assertFalse(failed.mail_id)
        self.assertFalse(self._mails(failed))
        self.assertEqual(sent.state, "sent")
        self.assertEqual(len(self._mails(sent)), 1)
        with freeze_time(self.today + timedelta(days=1)):
            self.Run._cron_dunning(self.company)
        self.assertEqual(failed.state, "sent")
        self.assertEqual(len(self._mails(failed)), 1)

    def test_reminder_goes_to_the_invoice_contact(self):
        contact = self.env["res.partner"].create({
            "name": "Bogholderiet", "parent_id": self.customer.id,
            "type": "invoice", "email": "faktura@kunde.example",
        })  # fmt: skip
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        run._send()
        self.assertEqual(run.reminder_ids.contact_id, contact)
        self.assertEqual(self._mails(run.reminder_ids).email_to, "faktura@kunde.example")

    def test_reminder_goes_to_the_invoice_contact_of_the_billing_profile(self):
        _first, chosen = self.env["res.partner"].create([
            {"name": "Gammel adresse", "parent_id": self.customer.id, "type": "invoice",
             "email": "gammel@kunde.example"},
            {"name": "Kreditorafdelingen", "parent_id": self.customer.id, "type": "contact",
             "email": "kreditor@kunde.example"},
        ])  # fmt: skip
        self.customer.billing_invoice_contact_id = chosen
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        run._send()
        self.assertEqual(run.reminder_ids.contact_id, chosen)
        self.assertEqual(self._mails(run.reminder_ids).email_to, "kreditor@kunde.example")

    def test_reminder_goes_to_the_invoice_email_of_the_billing_profile(self):
        self.customer.write({"email": False, "billing_invoice_email": "ap@kunde.example"})
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        run._send()
        reminder = run.reminder_ids
        self.assertEqual((reminder.channel, reminder.state), ("email", "sent"))
        self.assertEqual(self._mails(reminder).email_to, "ap@kunde.example")
        self.assertIn("Sent by e-mail to ap@kunde.example.", " ".join(reminder.message_ids.mapped("body")))

    def test_customer_who_prefers_letters_gets_a_letter(self):
        self.customer.billing_channel = "letter"
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._post_invoice(self.english, 800.0, due_in_days=-30)
        run = self._plan()
        run.with_context(billing_dunning_skip_pdf=True)._send()
        self.assertEqual(self._reminders_of(self.customer).channel, "letter")
        self.assertEqual(self._reminders_of(self.english).channel, "email")
        self.assertFalse(self._mails(self._reminders_of(self.customer)))

    def test_level_with_printed_letter_sends_the_email_and_a_letter_to_print(self):
        self.level_1.send_letter = True
        self.customer.billing_channel = "letter"
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._post_invoice(self.english, 800.0, due_in_days=-30)
        run = self._plan()
        to_print = self.env["billing.reminder"].search([("run_id", "=", run.id), *self._letters_filter()])
        self.assertFalse(to_print, "nothing to print before it is sent")
        run.with_context(billing_dunning_skip_pdf=True)._send()
        both, letter = self._reminders_of(self.english), self._reminders_of(self.customer)
        self.assertEqual((both.channel, both.state), ("both", "sent"))
        self.assertEqual(self._mails(both).email_to, both.email_to)
        self.assertIn(
            f"Sent by e-mail to {both.email_to}; the letter is ready to be printed and posted.",
            " ".join(both.message_ids.mapped("body")),
        )
        self.assertEqual(letter.channel, "letter", "a customer who asked for letters gets no e-mail")
        self.assertFalse(self._mails(letter))
        to_print = self.env["billing.reminder"].search([("run_id", "=", run.id), *self._letters_filter()])
        self.assertEqual(to_print, both | letter, "both are in the coordinator's letters to print")

    def _letters_filter(self):
        """The domain of the reminders' 'Printed Letters' filter."""
        arch = self.env.ref("billing_coordinator.billing_reminder_view_search").arch
        domain = etree.fromstring(arch.encode()).xpath("//filter[@name='letters']/@domain")[0]
        return safe_eval(domain)

    def test_approval_step_holds_reminders_until_a_coordinator_approves(self):
        self.company.billing_dunning_approval = True
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        reminder = self._reminders_of(self.customer)
        self.assertEqual(reminder.state, "draft")
        self.assertFalse(self._mails(reminder))
        reminder.run_id.with_user(self.coordinator).action_approve()
        self.assertEqual(reminder.state, "to_send")
        self.assertIn(f"Approved for sending with {reminder.run_id.name}.", reminder.message_ids[0].body)
        self.Run._cron_dunning(self.company)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(len(self._mails(reminder)), 1)

    def test_reminder_approved_on_its_own_form_is_sent_by_the_scheduled_action(self):
        self.company.billing_dunning_approval = True
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        reminder = self._reminders_of(self.customer)
        self.assertEqual((reminder.state, reminder.run_id.state), ("draft", "planned"))
        self.assertTrue(self._shown(reminder, "action_approve"))
        reminder.with_user(self.coordinator).action_approve()
        self.assertEqual(reminder.run_id.state, "approved", "its last reminder to review was approved")
        with freeze_time(self.today + timedelta(days=1)):
            self.Run._cron_dunning(self.company)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(len(self._mails(reminder)), 1)

    def test_run_stays_to_approve_while_some_reminders_are_not_reviewed(self):
        self.company.billing_dunning_approval = True
        other = self.env["res.partner"].create({"name": "Anden Kunde ApS", "is_company": True})
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._post_invoice(other, 500.0, due_in_days=-30)
        run = self._plan()
        approved, left = self._reminders_of(self.customer), self._reminders_of(other)
        approved.with_user(self.coordinator).action_approve()
        self.assertEqual(run.state, "planned")
        left.with_user(self.coordinator).action_cancel()
        self.assertEqual(run.state, "approved")
        self.Run._cron_dunning(self.company)
        self.assertEqual((approved.state, left.state), ("sent", "cancelled"))

    def test_send_is_offered_only_once_the_run_is_approved(self):
        self.company.billing_dunning_approval = True
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        self.assertEqual(run.state, "planned")
        self.assertFalse(self._shown(run, "action_send"), "Send would only say: approve first")
        self.assertTrue(self._shown(run, "action_approve"))
        run.action_approve()
        self.assertTrue(self._shown(run, "action_send"))
        self.company.billing_dunning_approval = False
        self._post_invoice(self.english, 800.0, due_in_days=-30)
        unapproved = self._plan()
        self.assertTrue(self._shown(unapproved, "action_send"))
        self.assertFalse(self._shown(unapproved, "action_approve"), "nothing to approve in this company")

    def test_sent_reminder_keeps_its_recipient(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        with Form(run.reminder_ids.with_user(self.coordinator)) as form:
            self.assertFalse(form._get_modifier("contact_id", "readonly"))
        run._send()
        with Form(run.reminder_ids.with_user(self.coordinator)) as form:
            self.assertTrue(form._get_modifier("channel", "readonly"))
            self.assertTrue(form._get_modifier("contact_id", "readonly"), "who received it stays on record")

    def _shown(self, record, button_name):
        """Whether the form of ``record`` shows the button, as the web client
        evaluates its ``invisible`` expression on the record's values."""
        arch = record.get_views([(False, "form")])["views"]["form"]["arch"]
        button = etree.fromstring(arch).xpath(f"//header/button[@name='{button_name}']")[0]
        values = {
            name: value[0] if isinstance(value, tuple) else value for name, value in record.read()[0].items()
        }
        return not safe_eval(button.get("invisible") or "False", values)

    def test_invoices_settled_while_awaiting_approval_are_left_out_when_sending(self):
        self.company.billing_dunning_approval = True
        paid = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        disputed = self._post_invoice(self.customer, 300.0, due_in_days=-30)
        still_open = self._post_invoice(self.customer, 500.0, due_in_days=-30)
        run = self._plan()
        reminder = run.reminder_ids
        self.assertEqual(reminder.amount_residual, 1800.0)
        self._register_payment(paid, amount=1000.0)
        disputed.billing_is_disputed = True
        run.action_approve()
        run._send()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.line_ids.move_id, still_open)
        self.assertEqual((reminder.amount_residual, reminder.amount_total), (500.0, 500.0))
        self.assertNotIn(paid.name, self._mails(reminder).body_html)

    def test_reminder_states_what_is_still_owed_after_a_partial_payment_before_approval(self):
        self.company.billing_dunning_approval = True
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        reminder = run.reminder_ids
        self._register_payment(invoice, amount=400.0)
        run.action_approve()
        run._send()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual((reminder.line_ids.amount_residual, reminder.amount_total), (600.0, 600.0))
        self.assertEqual(reminder.amount_residual_company, 600.0)
        self.assertIn("600", self._mails(reminder).body_html)

    def test_reminder_whose_invoices_were_paid_before_approval_is_cancelled_without_fee(self):
        self.company.billing_dunning_fee_mode = "invoice"
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        self.company.billing_dunning_approval = True
        with freeze_time(self.today + timedelta(days=10)):
            run = self._plan()
        second = run.reminder_ids
        self.assertEqual((second.level_id, second.fee_amount), (self.level_2, 100.0))
        self._register_payment(invoice, amount=1000.0)
        with freeze_time(self.today + timedelta(days=12)):
            run.action_approve()
            run._send()
        self.assertEqual(second.state, "cancelled")
        self.assertFalse(second.fee_move_id, "no fee for an invoice paid before the reminder went out")
        self.assertFalse(self._mails(second))
        self.assertIn("Cancelled before sending", second.message_ids[0].body)

    def _queries_to_cancel(self, count):
        run = self._plan_for_new_customers(count)
        before = self.env.cr.sql_log_count
        # as on a server: the test class turns tracking off
        run.with_context(**dict.fromkeys(DISABLED_MAIL_CONTEXT, False)).action_cancel()
        self.env.cr.precommit.run()
        queries = self.env.cr.sql_log_count - before
        self.assertEqual(set(run.reminder_ids.mapped("state")), {"cancelled"})
        for reminder in run.reminder_ids:
            self.assertIn(f"Cancelled with {run.name}.", reminder.message_ids[0].body)
        return queries

    def test_sending_letters_queries_do_not_grow_with_the_batch(self):
        """The letters of a batch are rendered in one wkhtmltopdf run, stored and
        attached to their e-mails together. Odoo's report layout looks up its
        paper format once per letter: here that lookup is answered from memory,
        so the count is what the sending itself issues."""
        report = self.env["ir.actions.report"]
        paperformat = report._get_report(LETTER_REPORT).get_paperformat()
        with patch.object(type(report), "get_paperformat_by_xmlid", lambda _report, _xmlid: paperformat):
            self.assert_queries_do_not_grow(
                lambda count: self._queries_to_send(count, letters=True),
                2,
                5,
                "sending 5 letters issues the same queries as sending 2",
                warm_ups=2,
            )

    def test_cancelling_a_run_notes_each_reminder_with_the_same_queries_for_any_number(self):
        self.company.billing_dunning_approval = True  # the run's reminders wait as drafts
        self.assert_queries_do_not_grow(
            self._queries_to_cancel, 2, 6, "cancelling 6 reminders issues the same queries as 2"
        )

    def test_dry_run_is_never_sent(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run_form = Form(self.Run.with_user(self.coordinator).with_context(default_is_dry_run=True))
        run = run_form.save()
        run.action_plan()
        self.assertEqual(run.reminder_count, 1)
        with self.assertRaisesRegex(Exception, "dry run"):
            run.action_send()
        self.assertFalse(self._mails(run.reminder_ids))

    def test_send_now_for_one_customer(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._post_invoice(self.english, 1000.0, due_in_days=-30)
        action = self.Run.with_user(self.coordinator)._send_now(self.customer)
        run = self.Run.browse(action["res_id"])
        self.assertEqual(run.reminder_ids.partner_id, self.customer)
        self.assertEqual(run.reminder_ids.state, "sent")
        self.assertFalse(self._reminders_of(self.english))
        self.assertIn(self.customer.name, run.name)
        self.customer.name = "Kunde Omdøbt ApS"
        self.assertIn("Kunde Omdøbt ApS", run.name, "the run's name follows its customer's")

    def test_collection_warning_hand_over_after_its_deadline(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        for days in (0, 10, 20):
            with freeze_time(self.today + timedelta(days=days)):
                self.Run._cron_dunning(self.company)
        warning = self._reminders_of(self.customer).filtered("is_collection_warning")
        self.assertEqual(warning.state, "sent")
        self.assertEqual(warning.collection_deadline, self.today + timedelta(days=30))
        with freeze_time(self.today + timedelta(days=30)), self.assertRaisesRegex(Exception, "Inkassoloven"):
            warning.action_hand_over_to_collection()
        with freeze_time(self.today + timedelta(days=31)):
            warning.with_user(self.coordinator).action_hand_over_to_collection()
            case = self.env["billing.collection.case"].search([("partner_id", "=", self.customer.id)])
            self.assertEqual(case.move_ids, invoice)
            self.assertTrue(case.case_file_id.datas)
            self.assertEqual(self.customer.with_company(self.company).billing_account_state, "blocked")
            run = self._plan(dry=True)
            with self.assertRaisesRegex(UserError, "no claim left to hand over"):
                warning.action_hand_over_to_collection()
        self.assertEqual(run.exclusion_ids.filtered(lambda e: e.move_id == invoice).reason, "collection")
        cases = self.env["billing.collection.case"].search([("partner_id", "=", self.customer.id)])
        self.assertEqual(len(cases), 1, "handed over once")

    def test_collection_warning_on_paid_invoices_hands_nothing_over(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        for days in (0, 10, 20):
            with freeze_time(self.today + timedelta(days=days)):
                self.Run._cron_dunning(self.company)
        warning = self._reminders_of(self.customer).filtered("is_collection_warning")
        self._register_payment(invoice, amount=invoice.amount_residual)
        with freeze_time(self.today + timedelta(days=31)), self.assertRaisesRegex(UserError, "are paid"):
            warning.action_hand_over_to_collection()
        self.assertFalse(self.env["billing.collection.case"].search([("partner_id", "=", self.customer.id)]))
        self.assertNotEqual(self.customer.with_company(self.company).billing_account_state, "blocked")

    def test_retry_sends_a_failed_reminder_at_once(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        self.customer.email = False
        self.assertEqual(run.failed_count, 0)
        run._send()
        reminder = run.reminder_ids
        self.assertEqual((reminder.state, run.state), ("failed", "done"))
        self.assertEqual(run.failed_count, 1)
        self.assertIn("Reminders not sent: 1.", run.message_ids[0].body)
        self.customer.email = "ny@kunde.example"
        reminder.with_user(self.coordinator).action_retry()
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(len(self._mails(reminder)), 1)

    def test_retry_of_a_reminder_whose_invoice_was_paid_meanwhile_cancels_it(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        self.customer.email = False
        run._send()
        reminder = run.reminder_ids
        self._register_payment(invoice, amount=1000.0)
        self.customer.email = "ny@kunde.example"
        reminder.with_user(self.coordinator).action_retry()
        self.assertEqual(reminder.state, "cancelled")
        self.assertFalse(self._mails(reminder))

    def test_bounced_reminder_sent_again_as_letter_is_not_sent_a_third_time(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        reminder = self._reminders_of(self.customer)
        reminder.mail_id.write({"state": "exception", "failure_reason": "SMTP 550 mailbox unavailable"})
        self.env["billing.reminder"]._collect_mail_failures(self.company)
        self.assertEqual(reminder.state, "failed")
        reminder.channel = "letter"
        reminder.action_retry()
        self.assertEqual((reminder.state, reminder.mail_id.id), ("sent", False))
        with freeze_time(self.today + timedelta(days=1)):
            self.Run._cron_dunning(self.company)
        self.assertEqual(reminder.state, "sent")
        self.assertEqual(reminder.sent_date, self.today, "the letter went out once")

    def test_bounced_email_of_a_reminder_also_printed_keeps_it_sent_as_a_letter(self):
        self.level_1.send_letter = True
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        reminder = self._reminders_of(self.customer)
        self.assertEqual((reminder.channel, reminder.state), ("both", "sent"))
        reminder.mail_id.write({"state": "exception", "failure_reason": "SMTP 550 mailbox unavailable"})
        self.assertFalse(self.env["billing.reminder"]._collect_mail_failures(self.company))
        self.assertEqual((reminder.state, reminder.channel, reminder.mail_id.id), ("sent", "letter", False))
        self.assertIn("SMTP 550 mailbox unavailable", reminder.message_ids[0].body)
        self.assertIn("the printed letter carries the reminder", reminder.message_ids[0].body)
        with freeze_time(self.today + timedelta(days=1)):
            self.Run._cron_dunning(self.company)
        self.assertEqual(reminder.sent_date, self.today, "neither e-mailed nor printed again")
        self.assertEqual(len(self._mails(reminder)), 1, "only the e-mail that failed")

    def test_bounced_reminder_with_posted_charges_cannot_be_cancelled(self):
        self.company.billing_dunning_fee_mode = "invoice"
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.Run._cron_dunning(self.company)
        with freeze_time(self.today + timedelta(days=10)):
            self.Run.with_context(billing_dunning_skip_pdf=True)._cron_dunning(self.company)
        second = self._reminders_of(self.customer).filtered(lambda r: r.level_id == self.level_2)
        self.assertEqual(second.fee_move_id.state, "posted")
        second.mail_id.write({"state": "exception", "failure_reason": "SMTP 550 mailbox unavailable"})
        self.env["billing.reminder"]._collect_mail_failures(self.company)
        self.assertEqual(second.state, "failed")
        with self.assertRaisesRegex(UserError, "credit note"):
            second.with_user(self.coordinator).action_cancel()
        self.assertEqual(second.state, "failed")
        with freeze_time(self.today + timedelta(days=11)):
            self.Run._cron_dunning(self.company)
        levels = self._reminders_of(self.customer).mapped("level_id")
        self.assertEqual(levels, self.level_1 | self.level_2, "no second fee-bearing reminder 2")

    def test_sent_reminders_say_where_they_went_and_call_tasks_go_to_the_coordinator(self):
        self.level_1.schedule_call = True
        self.customer.with_company(self.company).billing_coordinator_id = self.coordinator
        without_email = self.env["res.partner"].create({"name": "Brevkunde ApS", "is_company": True})
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._post_invoice(without_email, 2000.0, due_in_days=-30)
        run = self._plan()
        run._send()
        by_email = run.reminder_ids.filtered(lambda r: r.partner_id == self.customer)
        by_letter = run.reminder_ids - by_email
        self.assertEqual((by_email | by_letter).mapped("state"), ["sent", "sent"])
        self.assertIn("Sent by e-mail to bogholderi@kunde.example.", by_email.message_ids[0].body)
        self.assertIn("Letter ready to be printed and posted.", by_letter.message_ids[0].body)
        self.assertIn("Reminder 1 sent (Printed Letter) for 1 invoices", without_email.message_ids[0].body)
        self.assertIn("Reminder 1 sent (E-mail) for 1 invoices", self.customer.message_ids[0].body)
        call = by_email.activity_ids
        self.assertEqual(call.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        self.assertEqual(call.user_id, self.coordinator)
        self.assertIn(self.customer.name, call.summary)
        self.assertEqual(by_letter.activity_ids.user_id, self.env.user)

    def _plan_for_new_customers(self, count):
        """A run planned after ``count`` new customers got an overdue invoice each
        (it also reminds the invoices a cancelled run left), committed as a server
        would (its precommit hooks run) and out of the cache."""
        customers = self.env["res.partner"].create([
            {"name": f"Kunde {count}-{index}", "is_company": True, "email": f"k{count}-{index}@kunde.example"}
            for index in range(count)
        ])  # fmt: skip
        for customer in customers:
            self._post_invoice(customer, 1000.0, due_in_days=-30)
        run = self._plan()
        self.env.cr.precommit.run()  # what a commit runs: tracking messages among others
        self.env.invalidate_all()
        return run

    def _queries_to_send(self, count, letters=False):
        run = self._plan_for_new_customers(count)
        self.assertEqual(len(run.reminder_ids), count)
        before = self.env.cr.sql_log_count
        # as on a server: the test class turns tracking and creation messages off
        run = run.with_context(**dict.fromkeys(DISABLED_MAIL_CONTEXT, False))
        run.action_approve()
        run.with_context(billing_dunning_skip_pdf=not letters, force_report_rendering=letters)._send()
        self.env.cr.precommit.run()
        queries = self.env.cr.sql_log_count - before
        self.assertEqual(set(run.reminder_ids.mapped("state")), {"sent"})
        self.assertEqual(len(self._mails(run.reminder_ids)), count)
        if letters:
            for reminder in run.reminder_ids:
                self.assertEqual(reminder.mail_id.attachment_ids, reminder.pdf_attachment_id)
        return queries

    def test_sending_queries_do_not_grow_with_the_batch(self):
        """Approval, e-mails, notes, call tasks and states of a batch are written
        together. Left out here: letters (the next test) and charges invoices
        (Odoo numbers and posts each invoice with queries of its own)."""
        self.company.billing_dunning_approval = True
        self.level_1.schedule_call = True
        self.assert_queries_do_not_grow(
            self._queries_to_send,
            2,
            6,
            "sending 6 reminders issues the same queries as sending 2",
            warm_ups=2,
        )

    def _queries_to_collect_bounces(self, count):
        """Send ``count`` reminders, bounce all their e-mails for one reason (as an
        SMTP outage does), and collect the failures as the next run does."""
        run = self._plan_for_new_customers(count)
        run.action_approve()
        run.with_context(billing_dunning_skip_pdf=True)._send()
        reminders = run.reminder_ids
        reminders.mail_id.write({"state": "exception", "failure_reason": "SMTP 421 service not available"})
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        collected = (
            self.env["billing.reminder"]
            .with_context(
                **dict.fromkeys(DISABLED_MAIL_CONTEXT, False)  # as on a server
            )
            ._collect_mail_failures(self.company)
        )
        self.env.cr.precommit.run()
        queries = self.env.cr.sql_log_count - before
        self.assertEqual(collected, reminders)
        self.assertEqual(set(reminders.mapped("state")), {"failed"})
        self.assertEqual(set(reminders.mapped("send_error")), {"SMTP 421 service not available"})
        for reminder in reminders:
            notes = [body for body in reminder.message_ids.mapped("body") if "SMTP 421" in str(body)]
            self.assertEqual(len(notes), 1, "each reminder says once why it will be sent again")
        return queries

    def test_collecting_bounced_emails_takes_the_same_queries_for_any_number(self):
        self.assert_queries_do_not_grow(
            self._queries_to_collect_bounces, 2, 6, "6 bounced e-mails are collected with the queries of 2"
        )
