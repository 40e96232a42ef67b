from unittest.mock import patch

from odoo.tests import Form, tagged

from .common_payments import DiscrepancyCommon


@tagged("post_install", "-at_install")
class TestDiscrepancyCommunication(DiscrepancyCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("da_DK")
        cls.customer.write({"email": "bogholderi@kunde.example.com", "lang": "da_DK"})
        cls.english_customer = cls.env["res.partner"].create({
            "name": "Customer Ltd", "email": "ap@customer.example.com", "lang": "en_US",
        })  # fmt: skip
        cls.coordinator.email = "coordinator@billing.example.com"

    def _send(self, ticket, action_name):
        action = getattr(ticket.with_user(self.coordinator), action_name)()
        composer = ticket.env[action["res_model"]].with_user(self.coordinator)
        composer = composer.with_context(**action["context"])
        Form(composer).save().action_send_mail()
        return ticket.message_ids[0]

    def test_mails_go_out_in_the_customers_language(self):
        self._receive(self.customer, 250.0, days_ago=12)
        self._receive(self.english_customer, 250.0, days_ago=12)
        danish = self._tickets("unapplied_payment", partner=self.customer)
        english = self._tickets("unapplied_payment", partner=self.english_customer)
        acknowledgement = self._send(danish, "action_send_acknowledgement")
        self.assertIn(self.customer, acknowledgement.partner_ids)
        self.assertIn("Kære", acknowledgement.body)
        self.assertIn("Ikke-anvendt betaling", acknowledgement.body)
        self.assertIn("Dear", self._send(english, "action_send_acknowledgement").body)

    def test_asking_for_remittance_waits_for_the_customer(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._pay(invoice, 800.0, days_ago=15)
        ticket = self._tickets("short_payment")
        ticket.with_user(self.coordinator).action_ask_remittance()  # the composer opened, then discarded
        self.assertEqual(ticket.state, "new", "no request sent, nothing to wait for")
        message = self._send(ticket, "action_ask_remittance")
        self.assertEqual(ticket.state, "waiting")
        self.assertIn("800", message.body)
        self.assertIn(ticket.name, message.subject)

    def test_resolution_mail_names_the_resolution(self):
        self._receive(self.english_customer, 250.0, days_ago=12)
        ticket = self._tickets("unapplied_payment", partner=self.english_customer)
        ticket.with_user(self.coordinator)._resolve("closed", note="Kept as prepayment for the next order")
        message = self._send(ticket, "action_send_resolution")
        self.assertIn("Closed with a Reason", message.body)
        self.assertIn("Kept as prepayment", message.body)

    def test_resolution_mail_carries_the_credit_note(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        ticket = self._raise_ticket(invoice, amount=200.0, reason="Forkert timepris")
        ticket.with_user(self.coordinator)._resolve("credit_note", amount=200.0, invoice=invoice)
        credit_note = ticket.resolution_move_ids
        # as on a server: tests render reports as HTML unless told otherwise
        message = self._send(ticket.with_context(force_report_rendering=True), "action_send_resolution")
        self.assertIn(self.customer, message.partner_ids)
        pdf = message.attachment_ids.filtered(lambda a: a.name == credit_note._get_invoice_report_filename())
        self.assertEqual(pdf.mimetype, "application/pdf")
        self.assertTrue(pdf.raw.startswith(b"%PDF"))

    def test_nightly_cron_scans_every_company(self):
        self.company.billing_discrepancy_days = 30
        self._receive(self.customer, 250.0, days_ago=12)
        self.company.billing_discrepancy_days = 10
        cron = self.env.ref("billing_coordinator.billing_discrepancy_cron_detection")
        self.assertEqual(cron.code, "model._cron_run_detection()")
        # the cron commits after each company through its progress API; a test cannot commit
        with patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=60.0) as progress:
            self.env["billing.discrepancy"].with_user(cron.user_id)._cron_run_detection()
        self.assertEqual(self._tickets().discrepancy_type, "unapplied_payment")
        self.assertEqual(progress.call_args.kwargs, {"remaining": 0}, "one batch per company, all done")
