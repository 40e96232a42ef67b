from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tests import tagged

from .common_payments import DiscrepancyCommon


@tagged("post_install", "-at_install")
class TestDiscrepancyTickets(DiscrepancyCommon):
    def test_ticket_by_hand_from_a_payment_of_a_contact(self):
        contact = self.env["res.partner"].create({"name": "Bogholder", "parent_id": self.customer.id})
        payment = self._receive(contact, 480.0)
        ticket = self._raise_ticket(
            payment, discrepancy_type="short_payment", amount=20.0, reason="Kunden har trukket gebyr fra"
        )
        self.assertEqual(ticket.partner_id, self.customer, "the ticket is on the customer, not the contact")
        self.assertEqual(ticket.coordinator_id, self.coordinator)
        self.assertEqual(ticket.payment_ids, payment)
        # the payment is what was received: 20 short of what was due
        self.assertEqual((ticket.expected_amount, ticket.received_amount), (500.0, 480.0))
        self.assertEqual(payment.with_user(self.coordinator).billing_discrepancy_count, 1)
        self.assertEqual(self.customer.with_user(self.coordinator).billing_discrepancy_count, 1)
        self.assertEqual(
            ticket.sla_deadline, ticket.opened_on + timedelta(days=self.company.billing_sla_payment_days)
        )
        action = self.customer.with_user(self.coordinator).action_view_billing_discrepancies()
        self.assertEqual(self.Ticket.search(action["domain"]), ticket)

    def test_dispute_amount_must_fit_the_invoice(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=5)
        wizard = self._raise_wizard(invoice, amount=1000.01, reason="For dyrt")
        with self.assertRaisesRegex(UserError, "cannot exceed"):
            wizard.action_open_ticket()
        self.assertFalse(invoice.billing_is_disputed)
        self.assertEqual(invoice.with_user(self.coordinator).billing_discrepancy_count, 0)

    def test_dispute_names_only_lines_of_its_invoice(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=5)
        other_invoice = self._post_invoice(self.customer, 400.0, due_in_days=5)
        company_b = self.setup_other_company(name="Selskab B")["company"]
        shared = self.env["res.partner"].create({"name": "Kunde i begge selskaber"})
        invoice_b = self._post_invoice(shared, 300.0, due_in_days=5, company=company_b)
        for foreign in (other_invoice, invoice_b):
            wizard = self.env["billing.discrepancy.raise"].create({
                "invoice_id": invoice.id, "discrepancy_type": "pricing_dispute", "reason": "Forkert pris",
                "invoice_line_ids": [Command.set(foreign.invoice_line_ids.ids)],
            })  # fmt: skip
            with self.subTest(invoice=foreign.name), self.assertRaisesRegex(UserError, "disputed invoice"):
                wizard.action_open_ticket()
        self.assertFalse(invoice.billing_is_disputed)

    def test_under_charge_may_exceed_the_invoice_total(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=5)
        ticket = self._raise_ticket(
            invoice,
            discrepancy_type="under_charge",
            amount=1500.0,
            reason="Timerne blev faktureret til halv pris",
        )
        self.assertEqual(
            (ticket.expected_amount, ticket.received_amount, ticket.difference), (2500.0, 1000.0, 1500.0)
        )
        self.assertEqual(ticket.invoice_ids, invoice)

    def test_tickets_opened_together_get_consecutive_references(self):
        tickets = self.Ticket.create([
            {"discrepancy_type": "other", "partner_id": self.customer.id} for _index in range(3)
        ])  # fmt: skip
        year = fields.Date.context_today(tickets).year
        numbers = []
        for ticket in tickets:
            prefix, _sep, number = ticket.name.rpartition("/")
            self.assertEqual((prefix, len(number)), (f"DISC/{year}", 5), ticket.name)
            numbers.append(int(number))
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 3)))

    def test_a_ticket_cannot_link_an_invoice_or_payment_of_another_company(self):
        company_b = self.setup_other_company(name="Selskab B")["company"]
        customer = self.env["res.partner"].create({"name": "Kunde i begge selskaber"})
        invoice = self._post_invoice(customer, 1000.0, due_in_days=5)
        invoice_b = self._post_invoice(customer, 700.0, due_in_days=5, company=company_b)
        payment_b = self._receive(customer, 300.0, company=company_b)
        for foreign in ({"invoice_ids": [(6, 0, invoice_b.ids)]}, {"payment_ids": [(6, 0, payment_b.ids)]}):
            link = next(iter(foreign))
            with self.subTest(link=link), self.assertRaisesRegex(UserError, "another company") as error:
                self.Ticket.create([
                    {"discrepancy_type": "over_charge", "partner_id": customer.id,
                     "invoice_ids": [(6, 0, invoice.ids)], "received_amount": 900.0},
                    {"discrepancy_type": "other", "partner_id": customer.id, **foreign},
                ])  # fmt: skip
            message = str(error.exception)
            self.assertIn((invoice_b if link == "invoice_ids" else payment_b).display_name, message)
            self.assertEqual(message.count("belongs to company"), 1, "only the wrong ticket is named")
        ticket_b = self.Ticket.with_company(company_b).create({
            "discrepancy_type": "other", "partner_id": customer.id, "company_id": company_b.id,
            "invoice_ids": [(6, 0, invoice_b.ids)], "payment_ids": [(6, 0, payment_b.ids)],
        })  # fmt: skip
        self.assertEqual(ticket_b.invoice_ids, invoice_b, "the same links are fine in their own company")

    def test_a_ticket_cannot_be_for_a_customer_of_another_company(self):
        company_b = self.setup_other_company(name="Selskab B")["company"]
        customer_b = self.env["res.partner"].create(
            {"name": "Kunde kun i B", "is_company": True, "company_id": company_b.id}
        )
        with self.assertRaisesRegex(UserError, "another company"):
            self.Ticket.create({
                "discrepancy_type": "other", "partner_id": customer_b.id, "company_id": self.company.id,
            })  # fmt: skip
        ticket_b = self.Ticket.with_company(company_b).create(
            {"discrepancy_type": "other", "partner_id": customer_b.id, "company_id": company_b.id}
        )
        self.assertEqual(ticket_b.partner_id, customer_b, "the customer's own company opens tickets for it")

    def test_sla_follows_the_type(self):
        self.company.billing_sla_dispute_days = 3
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=5)
        ticket = self.Ticket.create({
            "discrepancy_type": "over_charge",
            "partner_id": self.customer.id,
            "invoice_ids": [(6, 0, invoice.ids)],
            "expected_amount": 1000.0,
            "received_amount": 900.0,
        })  # fmt: skip
        self.assertEqual(ticket.sla_deadline, ticket.opened_on + timedelta(days=3))
        self.assertTrue(invoice.billing_is_disputed)
        ticket.action_cancel()
        self.assertFalse(invoice.billing_is_disputed, "a cancelled dispute no longer blocks dunning")
        ticket.action_reopen()
        self.assertTrue(invoice.billing_is_disputed)

    def test_coordinator_works_tickets_from_menu_and_invoice(self):
        menu = self.env.ref("billing_coordinator.billing_discrepancy_menu")
        self.assertIn(menu.id, self.env["ir.ui.menu"].with_user(self.coordinator)._visible_menu_ids())
        self.assertNotIn(menu.id, self.env["ir.ui.menu"].with_user(self.plain_user)._visible_menu_ids())
        views = (
            self.env["billing.discrepancy"]
            .with_user(self.coordinator)
            .get_views([(False, kind) for kind in ("kanban", "list", "form", "pivot", "graph", "search")])
        )
        self.assertIn('name="action_open_resolve"', views["views"]["form"]["arch"])
        invoice_form = self.env["account.move"].with_user(self.coordinator).get_views([(False, "form")])
        self.assertIn('name="action_billing_dispute"', invoice_form["views"]["form"]["arch"])
        accountant = self._billing_user(
            "bc_invoicing_only", "base.group_user,account.group_account_invoice", self.company
        )
        invoice_form = self.env["account.move"].with_user(accountant).get_views([(False, "form")])
        self.assertNotIn('name="action_billing_dispute"', invoice_form["views"]["form"]["arch"])

    def test_manager_keeps_a_stage_for_every_state(self):
        stages = self.env["billing.discrepancy.stage"].with_user(self.manager)
        new = stages.search([("state", "=", "new")])
        self.assertEqual(len(new), 1)
        with self.assertRaisesRegex(ValidationError, "Keep an active stage for New"):
            new.action_archive()
        with self.assertRaisesRegex(UserError, "Keep an active stage for New"):
            new.unlink()
        # with a second stage meaning "new", the first may go
        stages.create({"name": "Incoming", "state": "new", "sequence": 0})
        new.action_archive()
        self._receive(self.customer, 250.0, days_ago=12)
        self.assertEqual(self._tickets("unapplied_payment").stage_id.name, "Incoming")

    def test_overpayment_raised_from_a_payment_says_what_was_received(self):
        payment = self._receive(self.customer, 1100.0)
        ticket = self._raise_ticket(
            payment,
            discrepancy_type="overpayment",
            amount=100.0,
            reason="Betalt to gange for den sidste ydelse",
        )
        self.assertEqual((ticket.expected_amount, ticket.received_amount), (1000.0, 1100.0))
        self.assertEqual(ticket.difference, -100.0, "we owe the customer, as for a detected overpayment")
