from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import Form, tagged

from odoo.addons.account.models.account_move_line import AccountMoveLine

from .common_payments import DiscrepancyCommon


@tagged("post_install", "-at_install")
class TestDiscrepancyResolution(DiscrepancyCommon):
    def _dispute(self, invoice, amount=None, lines=None, discrepancy_type="pricing_dispute", user=None):
        """Open a ticket with the invoice's Dispute button, as the coordinator."""
        values = {"discrepancy_type": discrepancy_type, "invoice_line_ids": lines or []}
        if amount is not None:
            values["amount"] = amount
        return self._raise_ticket(invoice, user, **values, reason="Aftalt timepris var lavere")

    def _resolve(self, ticket, resolution, user=None, **values):
        """Resolve through the wizard the Resolve button opens."""
        action = ticket.with_user(user or self.coordinator).action_open_resolve()
        wizard = (
            self.env[action["res_model"]]
            .with_user(user or self.coordinator)
            .with_context(**action["context"])
        )
        with Form(wizard) as form:
            form.resolution = resolution
            for name, value in values.items():
                if name in ("invoice_line_ids", "target_invoice_ids"):
                    for record in value:
                        getattr(form, name).add(record)
                else:
                    setattr(form, name, value)
        return form.record.action_resolve()

    def _assert_credit_note_refused(self, ticket, invoice, message, **values):
        """The credit note is refused with ``message``: nothing credited, the ticket open."""
        with self.assertRaisesRegex(UserError, message):
            self._resolve(ticket, "credit_note", **values)
        self.assertFalse(self._refunds(invoice))
        self.assertEqual(ticket.state, "new")

    def _refunds(self, invoice):
        return self.env["account.move"].search([("reversed_entry_id", "=", invoice.id)])

    def _post_taxed_invoice(self, amount, tax):
        """A posted invoice of one line of ``amount`` with ``tax``."""
        invoice = self._post_invoice(self.customer, amount, due_in_days=-10)
        invoice.button_draft()
        invoice.invoice_line_ids.tax_ids = tax
        invoice.action_post()
        return invoice

    # ------------------------------------------------------------------
    # disputes and credit notes
    # ------------------------------------------------------------------
    def test_dispute_marks_invoice_until_resolved_by_partial_credit_note(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        ticket = self._dispute(invoice, amount=200.0)
        self.assertEqual(ticket.discrepancy_type, "pricing_dispute")
        self.assertEqual(ticket.coordinator_id, self.coordinator)
        self.assertEqual(ticket.difference, 200.0)
        self.assertTrue(invoice.billing_is_disputed, "excluded from dunning while the dispute is open")
        self._resolve(ticket, "credit_note", amount=200.0)
        credit_note = self._refunds(invoice)
        self.assertEqual(credit_note.state, "posted")
        self.assertEqual(credit_note.amount_total, 200.0)
        self.assertEqual(invoice.amount_residual, 800.0)
        self.assertEqual(ticket.state, "resolved")
        self.assertEqual(ticket.resolution_move_ids, credit_note)
        self.assertTrue(any(credit_note.name in str(msg.body) for msg in ticket.message_ids))
        self.assertFalse(invoice.billing_is_disputed)

    def test_credit_note_of_an_amount_totals_the_amount_whatever_the_tax(self):
        for price_include, invoice_total in (("tax_included", 1000.0), ("tax_excluded", 1250.0)):
            with self.subTest(price_include=price_include):
                tax = self.percent_tax(25.0, type_tax_use="sale", price_include_override=price_include)
                invoice = self._post_taxed_invoice(1000.0, tax)
                self.assertEqual(invoice.amount_total, invoice_total)
                ticket = self._dispute(invoice, amount=200.0)
                self._resolve(ticket, "credit_note", amount=200.0)
                credit_note = self._refunds(invoice)
                self.assertEqual((credit_note.state, credit_note.amount_total), ("posted", 200.0))
                self.assertEqual(credit_note.invoice_line_ids.tax_ids, tax)
                self.assertEqual(invoice.amount_residual, invoice_total - 200.0)

    def test_reopened_ticket_cannot_settle_its_difference_twice(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        ticket = self._dispute(invoice, amount=200.0)
        self._resolve(ticket, "credit_note", amount=120.0)
        ticket.with_user(self.coordinator).action_reopen()
        with self.assertRaisesRegex(UserError, r"already settled .*120[.,]00"):
            self._resolve(ticket, "credit_note", amount=200.0)
        self.assertEqual(len(self._refunds(invoice)), 1, "no second credit note")
        self.assertEqual(invoice.amount_residual, 880.0)
        self.assertEqual(ticket.state, "new")
        self._resolve(ticket, "credit_note", amount=80.0)  # what the first one left
        self.assertEqual(sorted(self._refunds(invoice).mapped("amount_total")), [80.0, 120.0])
        self.assertEqual(invoice.amount_residual, 800.0)
        ticket.with_user(self.coordinator).action_reopen()
        with self.assertRaisesRegex(UserError, r"already settled .*200[.,]00"):
            self._resolve(ticket, "write_off", user=self.manager, amount=200.0)
        self.assertEqual(invoice.amount_residual, 800.0)
        self.assertEqual(ticket.state, "new")

    def test_credit_note_resolution_opens_no_short_payment_ticket(self):
        self.company.billing_discrepancy_days = 0
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        ticket = self._dispute(invoice, amount=200.0)
        self._resolve(ticket, "credit_note", amount=200.0)
        self.assertEqual(invoice.payment_state, "partial")
        self._detect()
        self.assertEqual(self._tickets(), ticket, "the customer paid nothing yet: nothing paid short")

    def test_credit_note_of_disputed_lines(self):
        invoice = self._post_invoice(self.customer, 600.0, due_in_days=-10)
        invoice.button_draft()
        invoice.write(
            {"invoice_line_ids": [Command.create({"name": "Rejse", "quantity": 2, "price_unit": 150.0})]}
        )
        invoice.action_post()
        travel = invoice.invoice_line_ids.filtered(lambda line: line.name == "Rejse")
        ticket = self._dispute(invoice, lines=travel, discrepancy_type="over_charge")
        self.assertEqual(ticket.difference, 300.0)
        self.assertEqual(ticket.invoice_line_ids, travel)
        self._resolve(ticket, "credit_note", invoice_line_ids=travel)
        credit_note = self._refunds(invoice)
        self.assertEqual(credit_note.invoice_line_ids.mapped("name"), ["Rejse"])
        self.assertEqual(credit_note.amount_total, 300.0)
        self.assertEqual(invoice.amount_residual, 600.0)

    def test_credit_note_above_the_ticket_is_refused_and_leaves_nothing(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        ticket = self._dispute(invoice, amount=200.0)
        with self.assertRaisesRegex(UserError, "more than ticket"):
            self._resolve(ticket, "credit_note", amount=250.0)
        # all invoice lines cost 1000, more than the 200 disputed
        with self.assertRaisesRegex(UserError, "more than ticket"):
            self._resolve(ticket, "credit_note", invoice_line_ids=invoice.invoice_line_ids)
        self.assertFalse(self._refunds(invoice))
        self.assertEqual(ticket.state, "new")
        self.assertTrue(invoice.billing_is_disputed)

    def test_credit_note_only_for_an_invoice_of_the_tickets_customer(self):
        """A ticket opened by hand for one customer that names another customer's
        invoice credits neither of them."""
        other = self.env["res.partner"].create({"name": "Anden Kunde ApS", "is_company": True})
        foreign = self._post_invoice(other, 1000.0, due_in_days=-10)
        ticket = self.Ticket.with_user(self.coordinator).create({
            "discrepancy_type": "over_charge", "partner_id": self.customer.id,
            "expected_amount": 1000.0, "received_amount": 800.0,
            "invoice_ids": [Command.set(foreign.ids)],
        })  # fmt: skip
        self._assert_credit_note_refused(ticket, foreign, "not an invoice of", amount=200.0)

    def test_credit_note_only_in_the_currency_of_the_ticket(self):
        """A ticket opened by hand in euros for an invoice in the company's currency
        would credit 50 of that currency for 50 euros: refused until corrected."""
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        ticket = self.Ticket.with_user(self.coordinator).create({
            "discrepancy_type": "over_charge", "partner_id": self.customer.id, "currency_id": self.eur.id,
            "expected_amount": 1000.0, "received_amount": 800.0, "invoice_ids": [Command.set(invoice.ids)],
        })  # fmt: skip
        self._assert_credit_note_refused(ticket, invoice, "correct the ticket's currency", amount=50.0)

    def test_credit_note_on_a_paid_invoice_stays_as_credit_on_the_account(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        self._pay(invoice, 1000.0)
        ticket = self._dispute(invoice, amount=200.0)
        self._resolve(ticket, "credit_note", amount=200.0)
        credit_note = self._refunds(invoice)
        self.assertEqual((credit_note.state, credit_note.amount_total), ("posted", 200.0))
        self.assertEqual(credit_note.amount_residual, 200.0, "the customer's credit, for a later invoice")
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual((ticket.state, ticket.resolution), ("resolved", "credit_note"))
        self.assertFalse(ticket.resolution_payment_ids)
        self.assertTrue(
            any("stays on the customer's account as credit" in str(msg.body) for msg in ticket.message_ids)
        )
        self.company.billing_discrepancy_days = 0
        self._detect()
        self.assertEqual(self._tickets(), ticket, "an open credit note is no unapplied payment")

    def test_credit_note_on_a_paid_invoice_paid_back_to_the_customer(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        payment = self._pay(invoice, 1000.0)
        ticket = self._dispute(invoice, amount=200.0)
        self._resolve(ticket, "credit_note", amount=200.0, refund_credit=True)
        credit_note, refund = self._refunds(invoice), ticket.resolution_payment_ids
        self.assertEqual(
            (refund.payment_type, refund.amount, refund.partner_id, refund.journal_id),
            ("outbound", 200.0, self.customer, payment.journal_id),
            "paid back from the journal the invoice was paid into",
        )
        self.assertIn(refund.state, ("in_process", "paid"))
        self.assertEqual(credit_note.payment_state, "paid", "the credit is paid out, none left")
        self.assertEqual(ticket.resolution_move_ids, credit_note)
        self.assertEqual(ticket.resolution, "credit_note")
        self.assertTrue(any(refund.name in str(msg.body) for msg in ticket.message_ids))
        ticket.with_user(self.coordinator).action_reopen()
        with self.assertRaisesRegex(UserError, r"already settled .*200[.,]00"):
            self._resolve(ticket, "credit_note", amount=10.0)

    def test_credit_note_on_a_partly_paid_invoice_settles_it_and_pays_back_the_rest(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        self._pay(invoice, 900.0)
        ticket = self._dispute(invoice, amount=300.0)
        self._resolve(ticket, "credit_note", amount=300.0, refund_credit=True)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(ticket.resolution_payment_ids.amount, 200.0, "what the invoice did not owe")
        self.assertEqual(self._refunds(invoice).payment_state, "paid")

    def test_credit_note_beyond_what_the_invoice_charged_is_refused(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        self._pay(invoice, 1000.0)
        self._resolve(self._dispute(invoice, amount=900.0), "credit_note", amount=900.0)
        ticket = self._dispute(invoice, amount=200.0)
        with self.assertRaisesRegex(UserError, "can be credited .*100[.,]00 more"):
            self._resolve(ticket, "credit_note", amount=200.0)
        self.assertEqual(len(self._refunds(invoice)), 1, "nothing credited")
        self._resolve(ticket, "credit_note", amount=100.0)
        self.assertEqual(sorted(self._refunds(invoice).mapped("amount_total")), [100.0, 900.0])

    def test_reopened_detected_ticket_credits_no_more_than_its_invoice_still_owes(self):
        """The detection keeps a ticket's difference to what is open: once its credit
        note settled the invoice, reopening it allows no second credit note."""
        invoice = self._post_invoice(self.customer, 2000.0, due_in_days=-20)
        self._pay(invoice, 1900.0, days_ago=15)
        ticket = self._tickets("short_payment")
        self._resolve(ticket, "credit_note", amount=100.0)
        self.assertEqual(invoice.amount_residual, 0.0)
        ticket.with_user(self.coordinator).action_reopen()
        with self.assertRaisesRegex(UserError, "has .*0[.,]00 left to pay"):
            self._resolve(ticket, "credit_note", amount=100.0)
        self.assertEqual(len(self._refunds(invoice)), 1, "no second credit note")

    def test_nothing_half_posted_when_the_reconciliation_fails(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        ticket = self._dispute(invoice, amount=200.0)
        moves_before = self.env["account.move"].search_count([])
        with (
            patch.object(AccountMoveLine, "reconcile", side_effect=UserError("bank down")),
            self.assertRaisesRegex(UserError, "bank down"),
        ):
            self._resolve(ticket, "credit_note", amount=200.0)
        self.assertEqual(
            self.env["account.move"].search_count([]), moves_before, "no credit note left behind"
        )
        self.assertEqual(ticket.state, "new")
        self.assertFalse(ticket.resolution)
        self.assertEqual(invoice.amount_residual, 1000.0)

    def test_correction_invoice_for_an_under_charge(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=5)
        ticket = self._dispute(invoice, amount=150.0, discrepancy_type="under_charge")
        self.assertFalse(invoice.billing_is_disputed, "an under-charge does not stop dunning")
        with self.assertRaisesRegex(UserError, "more than ticket"):
            self._resolve(ticket, "correction_invoice", amount=150.01)
        self._resolve(ticket, "correction_invoice", amount=150.0)
        correction = ticket.resolution_move_ids
        self.assertEqual(correction.move_type, "out_invoice")
        self.assertEqual((correction.state, correction.amount_total), ("posted", 150.0))
        self.assertEqual(correction.partner_id, self.customer)

    def test_correction_invoice_totals_the_amount_whatever_the_tax(self):
        for price_include in ("tax_included", "tax_excluded"):
            with self.subTest(price_include=price_include):
                tax = self.percent_tax(25.0, type_tax_use="sale", price_include_override=price_include)
                invoice = self._post_taxed_invoice(1000.0, tax)
                ticket = self._dispute(invoice, amount=150.0, discrepancy_type="under_charge")
                self._resolve(ticket, "correction_invoice", amount=150.0)
                correction = ticket.resolution_move_ids
                self.assertEqual((correction.state, correction.amount_total), ("posted", 150.0))
                self.assertEqual(correction.invoice_line_ids.tax_ids, tax)

    def test_under_charge_is_neither_credited_nor_written_off(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=5)
        ticket = self._dispute(invoice, amount=150.0, discrepancy_type="under_charge")
        with self.assertRaisesRegex(UserError, "cannot resolve a ticket of type Under-charge"):
            self._resolve(ticket, "credit_note", amount=150.0)
        with self.assertRaisesRegex(UserError, "cannot resolve a ticket of type Under-charge"):
            self._resolve(ticket, "write_off", user=self.manager, amount=150.0)
        self.assertFalse(self._refunds(invoice))
        self.assertEqual(invoice.amount_residual, 1000.0)
        self.assertEqual(ticket.state, "new")

    def test_correction_invoice_only_for_under_charges(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=5)
        ticket = self._dispute(invoice, amount=100.0)
        with self.assertRaisesRegex(UserError, "under-charge only"):
            ticket.with_user(self.coordinator)._resolve("correction_invoice", amount=100.0, invoice=invoice)

    # ------------------------------------------------------------------
    # payments: reconcile, refund
    # ------------------------------------------------------------------
    def test_overpayment_reconciled_against_another_open_invoice(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-5)
        self._pay(invoice, 1200.0)
        ticket = self._tickets("overpayment")
        other_invoice = self._post_invoice(self.customer, 500.0, due_in_days=5)
        stranger = self.env["res.partner"].create({"name": "Fremmed ApS"})
        strangers_invoice = self._post_invoice(stranger, 500.0)
        with self.assertRaisesRegex(UserError, "open invoices of"):
            ticket.with_user(self.coordinator)._resolve("reconcile", target_invoices=strangers_invoice)
        self._resolve(ticket, "reconcile", target_invoice_ids=other_invoice)
        self.assertEqual(other_invoice.amount_residual, 300.0)
        self.assertEqual(ticket.resolution, "reconcile")
        self.assertIn(other_invoice, ticket.invoice_ids)
        self.assertEqual(strangers_invoice.amount_residual, 500.0)

    def test_duplicate_payment_refunded_to_the_customer(self):
        invoice = self._post_invoice(self.customer, 500.0, due_in_days=-5)
        self._pay(invoice, 500.0, days_ago=3)
        duplicate = self._receive(self.customer, 500.0, memo=invoice.name)
        ticket = self._tickets("duplicate_payment")
        with self.assertRaisesRegex(UserError, "more than ticket"):
            self._resolve(ticket, "refund", amount=600.0)
        self._resolve(ticket, "refund", amount=500.0)
        refund = ticket.resolution_payment_ids
        self.assertEqual(
            (refund.payment_type, refund.amount, refund.partner_id), ("outbound", 500.0, self.customer)
        )
        self.assertIn(refund.state, ("in_process", "paid"))
        self.assertTrue(duplicate.is_reconciled, "the duplicate is settled by the refund")
        self.assertEqual(ticket.state, "resolved")
        self.assertEqual(ticket.resolution, "refund", "the hook does not overwrite the action's resolution")

    def test_refund_fails_whole_when_reconciliation_fails(self):
        self._receive(self.customer, 250.0, days_ago=12)
        ticket = self._tickets("unapplied_payment")
        with (
            patch.object(AccountMoveLine, "reconcile", side_effect=UserError("locked period")),
            self.assertRaises(UserError),
        ):
            self._resolve(ticket, "refund", amount=250.0)
        refunds = self.env["account.payment"].search([("payment_type", "=", "outbound")])
        self.assertFalse(refunds.filtered(lambda p: p.partner_id == self.customer))
        self.assertFalse(ticket.resolution)

    # ------------------------------------------------------------------
    # write-off and tolerance
    # ------------------------------------------------------------------
    def test_coordinator_writes_off_within_tolerance_manager_above(self):
        invoice = self._post_invoice(self.customer, 2000.0, due_in_days=-20)
        self._pay(invoice, 1900.0, days_ago=15)
        ticket = self._tickets("short_payment")
        self.assertEqual(ticket.difference, 100.0)
        with self.assertRaisesRegex(AccessError, "only a Billing Manager"):
            self._resolve(ticket, "write_off", amount=100.0)
        self.assertEqual(invoice.amount_residual, 100.0)
        self._resolve(ticket, "write_off", amount=40.0)  # within 50: the coordinator may
        self.assertEqual(invoice.amount_residual, 60.0)
        entry = ticket.resolution_move_ids
        self.assertEqual(
            entry.line_ids.filtered(lambda line: line.account_id == self.writeoff_account).debit, 40.0
        )

    def test_manager_writes_off_above_tolerance(self):
        invoice = self._post_invoice(self.customer, 2000.0, due_in_days=-20)
        self._pay(invoice, 1900.0, days_ago=15)
        ticket = self._tickets("short_payment")
        with self.assertRaisesRegex(UserError, "more than ticket"):
            self._resolve(ticket, "write_off", user=self.manager, amount=100.01)
        self._resolve(ticket, "write_off", user=self.manager, amount=100.0)
        self.assertEqual(invoice.payment_state, "paid")
        self.assertEqual(ticket.resolution, "write_off")

    def test_overpayment_written_off_in_foreign_currency(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-5, currency=self.eur)
        payment = self._pay(invoice, 1300.0)  # 300 EUR = 150 in company currency: above 50
        ticket = self._tickets("overpayment")
        self.assertEqual(ticket.currency_id, self.eur)
        self._resolve(ticket, "write_off", user=self.manager, amount=300.0)
        self.assertTrue(payment.is_reconciled)
        entry = ticket.resolution_move_ids
        self.assertEqual(
            entry.line_ids.filtered(lambda line: line.account_id == self.writeoff_account).credit, 150.0
        )

    # ------------------------------------------------------------------
    # closing, stages, access
    # ------------------------------------------------------------------
    def test_close_needs_a_reason(self):
        self._receive(self.customer, 250.0, days_ago=12)
        ticket = self._tickets("unapplied_payment")
        with self.assertRaisesRegex(UserError, "reason"):
            ticket.with_user(self.coordinator)._resolve("closed", note=" ")
        self._resolve(ticket, "closed", note="Forudbetaling efter aftale")
        self.assertEqual((ticket.state, ticket.resolution), ("resolved", "closed"))
        with self.assertRaisesRegex(UserError, "already closed"):
            ticket.with_user(self.coordinator).action_open_resolve()

    def test_resolved_stage_only_through_resolve(self):
        self._receive(self.customer, 250.0, days_ago=12)
        ticket = (
            self._tickets("unapplied_payment")
            .with_user(self.coordinator)
            .with_context(tracking_disable=False, mail_notrack=False)
        )
        resolved = self.env.ref("billing_coordinator.billing_discrepancy_stage_resolved")
        with self.assertRaisesRegex(UserError, "Resolve button"):
            ticket.stage_id = resolved
        ticket.action_wait_for_customer()
        self.assertEqual(ticket.state, "waiting")
        ticket.action_cancel()
        self.assertEqual(ticket.state, "cancelled")
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking is written when the transaction ends
        tracked = ticket.sudo().message_ids.tracking_value_ids.mapped("field_id.name")
        self.assertIn("stage_id", tracked)

    def test_resolved_ticket_moved_back_on_the_statusbar_is_resolved_anew(self):
        self._receive(self.customer, 250.0, days_ago=12)
        ticket = self._tickets("unapplied_payment").with_user(self.coordinator)
        self._resolve(ticket, "closed", note="Forudbetaling efter aftale")
        in_progress = self.env.ref("billing_coordinator.billing_discrepancy_stage_in_progress")
        resolved = self.env.ref("billing_coordinator.billing_discrepancy_stage_resolved")
        with Form(ticket) as form:
            form.stage_id = in_progress
        self.assertEqual(ticket.state, "in_progress")
        self.assertEqual(
            (ticket.resolution, ticket.resolution_note, ticket.resolved_on),
            (False, False, False),
            "an open ticket shows no resolution",
        )
        with self.assertRaisesRegex(UserError, "Resolve button"), Form(ticket) as form:
            form.stage_id = resolved

    def test_resolved_stage_asks_for_a_resolution_even_of_a_ticket_that_kept_one(self):
        """Tickets moved back to an open stage before it cleared their resolution
        still have one: the statusbar must not resolve them again with it."""
        self._receive(self.customer, 250.0, days_ago=12)
        ticket = self._tickets("unapplied_payment").with_user(self.coordinator)
        ticket.sudo().resolution = "closed"
        self.assertEqual(ticket.state, "new")
        resolved = self.env.ref("billing_coordinator.billing_discrepancy_stage_resolved")
        with self.assertRaisesRegex(UserError, "Resolve button"), Form(ticket) as form:
            form.stage_id = resolved

    def test_plain_user_cannot_open_or_resolve_tickets(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-10)
        ticket = self._dispute(invoice, amount=100.0)
        with self.assertRaises(AccessError):
            ticket.with_user(self.plain_user).read(["name"])
        with self.assertRaises(AccessError):
            self.env["billing.discrepancy.resolve"].with_user(self.plain_user).create(
                {"discrepancy_id": ticket.id, "resolution": "closed", "note": "x"}
            )
