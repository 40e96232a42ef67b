import threading
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.fields import Command
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger

# tables whose rows this test commits, cleaned up afterwards by id
TOUCHED_TABLES = [
    "billing_dunning_run",
    "billing_promise",
    "mail_activity",
    "mail_mail",
    "mail_message",
    "ir_attachment",
    "account_move",
]


@tagged("post_install", "-at_install")
class TestDunningTwoWorkers(TransactionCase):
    """Two workers run the daily scheduled action at the same moment, each
    with its own database cursor: no reminder is planned or sent twice.

    The workers commit, so the fixture is committed too and removed after."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.first_ids = {table: self._max_id(cr, table) for table in TOUCHED_TABLES}
            company = env.ref("base.main_company")
            partner = env["res.partner"].create(
                {"name": "Two Workers A/S", "is_company": True, "email": "tw@example.com"}
            )
            due = fields.Date.context_today(env.user) - timedelta(days=30)
            invoice = env["account.move"].with_company(company).create({
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": due - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [Command.create({"name": "Service", "price_unit": 500.0, "tax_ids": []})],
            })  # fmt: skip
            invoice.action_post()
            # a promise broken long ago, which the nightly check settles first
            promise = env["billing.promise"].create({
                "partner_id": partner.id, "company_id": company.id, "amount": 500.0,
                "date": due, "move_ids": [Command.set(invoice.ids)],
            })  # fmt: skip
        self.company_id, self.partner_id, self.invoice_id = company.id, partner.id, invoice.id
        self.promise_id = promise.id
        self.addCleanup(self._clean_up)

    @staticmethod
    def _max_id(cr, table):
        cr.execute(SQL("SELECT COALESCE(MAX(id), 0) FROM %s", SQL.identifier(table)))
        return cr.fetchone()[0]

    def _clean_up(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            moves = env["account.move"].search([("id", ">", self.first_ids["account_move"])])
            moves.button_draft()
            moves.with_context(force_delete=True).unlink()
            for table in TOUCHED_TABLES:
                cr.execute(SQL("DELETE FROM %s WHERE id > %s", SQL.identifier(table), self.first_ids[table]))
            env["res.partner"].browse(self.partner_id).unlink()

    def _worker(self, barrier, errors):
        try:
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {"billing_dunning_skip_pdf": True})
                barrier.wait(timeout=30)
                env["billing.dunning.run"]._cron_dunning(env["res.company"].browse(self.company_id))
        except Exception as error:  # a worker that loses a race rolls back; nothing is doubled
            errors.append(error)

    def test_two_workers_at_the_same_moment_send_each_reminder_once(self):
        barrier, errors = threading.Barrier(2), []
        workers = [threading.Thread(target=self._worker, args=(barrier, errors)) for _index in range(2)]
        with mute_logger("odoo.sql_db", "odoo.addons.billing_coordinator.models.billing_dunning_run"):
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=120)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            reminders = env["billing.reminder"].search(
                [("partner_id", "=", self.partner_id), ("is_dry_run", "=", False)]
            )
            self.assertEqual(len(reminders), 1, errors)
            self.assertEqual(reminders.state, "sent", errors)
            mails = env["mail.mail"].search(
                [("model", "=", "billing.reminder"), ("res_id", "=", reminders.id)]
            )
            self.assertEqual(len(mails), 1)
            runs = env["billing.dunning.run"].search(
                [
                    ("company_id", "=", self.company_id),
                    ("is_scheduled", "=", True),
                    ("date", "=", reminders.date),
                ]
            )
            self.assertEqual(len(runs), 1)
            promise = env["billing.promise"].browse(self.promise_id)
            self.assertEqual(promise.state, "broken", errors)
            self.assertEqual(len(promise.activity_ids), 1, "one follow-up, not one per worker")
            notes = env["mail.message"].search_count([
                ("model", "=", "res.partner"), ("res_id", "=", self.partner_id),
                ("body", "ilike", "Dunning resumes"),
            ])  # fmt: skip
            self.assertEqual(notes, 1, "one note on the customer, not one per worker")
