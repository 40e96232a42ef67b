from datetime import timedelta
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..tools.relations import add_links, replace_links
from .common_payments import DiscrepancyCommon


@tagged("post_install", "-at_install")
class TestDiscrepancyDetection(DiscrepancyCommon):
    # ------------------------------------------------------------------
    # short payment
    # ------------------------------------------------------------------
    def test_short_payment_above_tolerance_after_n_days_opens_ticket(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        payment = self._pay(invoice, 800.0, days_ago=15)
        self._detect()
        ticket = self._tickets("short_payment")
        self.assertEqual(ticket.invoice_ids, invoice)
        self.assertEqual(ticket.payment_ids, payment)
        self.assertEqual(
            (ticket.expected_amount, ticket.received_amount, ticket.difference), (1000, 800, 200)
        )
        self.assertEqual(ticket.coordinator_id, self.coordinator)
        self.assertEqual(ticket.state, "new")
        self.assertFalse(invoice.billing_is_disputed, "a short payment does not stop dunning")

    def test_short_payment_within_tolerance_or_too_recent_opens_nothing(self):
        small = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._pay(small, 960.0, days_ago=15)  # 40 left: below 50 and below 5 %
        relative = self._post_invoice(self.customer, 400.0, due_in_days=-20)
        self._pay(relative, 390.0, days_ago=15)  # 10 left: below 5 % of 400 = 20
        recent = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._pay(recent, 500.0, days_ago=3)  # 500 left, but only 3 days ago
        self._detect()
        self.assertFalse(self._tickets("short_payment"))

    def test_short_payment_tolerance_is_in_company_currency(self):
        # 2 EUR per company unit: 80 EUR left is 40 in company currency, within 50
        within = self._post_invoice(self.customer, 2000.0, due_in_days=-20, currency=self.eur)
        self._pay(within, 1920.0, days_ago=15)
        # 300 EUR left is 150 in company currency: above
        above = self._post_invoice(self.customer, 3000.0, due_in_days=-20, currency=self.eur)
        self._pay(above, 2700.0, days_ago=15)
        self._detect()
        ticket = self._tickets("short_payment")
        self.assertEqual(ticket.invoice_ids, above)
        self.assertEqual(ticket.currency_id, self.eur)
        self.assertAlmostEqual(ticket.difference, 300.0)
        self.assertAlmostEqual(ticket.difference_company, 150.0)

    def test_disputed_short_payment_gets_no_second_ticket(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._pay(invoice, 800.0, days_ago=3)
        dispute = self.Ticket.create({
            "discrepancy_type": "pricing_dispute",
            "partner_id": self.customer.id,
            "invoice_ids": [Command.set(invoice.ids)],
            "expected_amount": 1000.0,
            "received_amount": 800.0,
        })  # fmt: skip
        self.company.billing_discrepancy_days = 2  # the payment is old enough now
        self._detect()
        self.assertEqual(self._tickets(), dispute, "the dispute is the one ticket for the 200")
        dispute.action_cancel()
        self._detect()
        self.assertEqual(self._tickets("short_payment").invoice_ids, invoice, "undisputed, it is short again")

    def test_short_payment_ticket_closes_when_the_invoice_is_disputed(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._pay(invoice, 800.0, days_ago=15)
        short = self._tickets("short_payment")
        self.assertEqual(short.invoice_ids, invoice)
        self._raise_ticket(invoice, amount=200.0, reason="Timeprisen var aftalt lavere")
        self._detect()
        self.assertTrue(short.is_closed, "the dispute holds the 200 now")
        self.assertIn("disputed on a ticket of its own", short.message_ids[0].body)

    def _credit(self, invoice, amount):
        """A credit note of ``amount`` for ``invoice``, applied to it."""
        credit_note = self.env["account.move"].create({
            "move_type": "out_refund",
            "partner_id": invoice.partner_id.id,
            "invoice_date": self.today,
            "reversed_entry_id": invoice.id,
            "invoice_line_ids": [
                Command.create({"name": "Rabat", "quantity": 1, "price_unit": amount, "tax_ids": []})
            ],
        })  # fmt: skip
        credit_note.action_post()
        (invoice | credit_note).line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        ).reconcile()
        return credit_note

    def test_a_credit_note_is_no_payment(self):
        self.company.billing_discrepancy_days = 0
        credited = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._credit(credited, 300.0)
        self.assertEqual(credited.payment_state, "partial")
        self._detect()
        self.assertFalse(self._tickets("short_payment"), "nothing paid, nothing paid short")

    def test_short_payment_leaves_credited_amounts_out(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._credit(invoice, 300.0)
        payment = self._pay(invoice, 500.0, days_ago=15)
        self._detect()
        ticket = self._tickets("short_payment")
        self.assertEqual(ticket.payment_ids, payment)
        self.assertEqual((ticket.expected_amount, ticket.received_amount, ticket.difference), (700, 500, 200))

    def test_a_bank_statement_line_pays(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        bank_line = self.env["account.bank.statement.line"].create({
            "journal_id": self.company_data["default_journal_bank"].id,
            "partner_id": self.customer.id,
            "date": self.today - timedelta(days=15),
            "payment_ref": invoice.name,
            "amount": 600.0,
            "counterpart_account_id": self.company_data["default_account_receivable"].id,
        })  # fmt: skip
        (invoice | bank_line.move_id).line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        ).reconcile()
        self._detect()
        ticket = self._tickets("short_payment")
        self.assertEqual(ticket.invoice_ids, invoice)
        self.assertEqual(
            (ticket.expected_amount, ticket.received_amount, ticket.difference), (1000, 600, 400)
        )

    # ------------------------------------------------------------------
    # overpayment, duplicate, unapplied
    # ------------------------------------------------------------------
    def test_overpayment_above_tolerance_opens_ticket_when_posted(self):
        over = self._post_invoice(self.customer, 1000.0, due_in_days=-5)
        payment = self._pay(over, 1200.0)
        # the post/reconcile hook found it in the same transaction, no scan needed
        ticket = self._tickets("overpayment")
        self.assertEqual(ticket.payment_ids, payment)
        self.assertEqual(ticket.invoice_ids, over)
        self.assertEqual(ticket.difference, -200.0)

    def test_overpayment_within_tolerance_opens_nothing(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-5)
        self._pay(invoice, 1030.0)
        self._detect()
        self.assertFalse(self._tickets("overpayment"))

    def test_duplicate_payment_same_memo(self):
        invoice = self._post_invoice(self.customer, 500.0, due_in_days=-5)
        first = self._pay(invoice, 500.0, days_ago=20)
        second = self._receive(self.customer, 500.0, memo=invoice.name)
        ticket = self._tickets("duplicate_payment")
        self.assertEqual(ticket.payment_ids, first | second)
        self.assertEqual(ticket.difference, -500.0)
        self.assertFalse(self._tickets("unapplied_payment"))

    def test_duplicate_payment_within_window_in_foreign_currency(self):
        self._receive(self.customer, 700.0, days_ago=3, currency=self.eur, memo="A")
        later = self._receive(self.customer, 700.0, days_ago=1, currency=self.eur, memo="B")
        self._detect()
        ticket = self._tickets("duplicate_payment")
        self.assertEqual(ticket.detection_key, f"duplicate_payment:{later.id}")
        self.assertEqual(ticket.currency_id, self.eur)

    def test_equal_payments_for_equal_invoices_are_no_duplicates(self):
        invoices = self._post_invoice(self.customer, 300.0, due_in_days=-5) | self._post_invoice(
            self.customer, 300.0, due_in_days=-5
        )
        self._pay(invoices[0], 300.0, days_ago=1)
        self._pay(invoices[1], 300.0)
        # an equal unapplied payment while an equal invoice is still open: not a duplicate either
        third = self._post_invoice(self.customer, 300.0, due_in_days=-5)
        self._receive(self.customer, 300.0)
        self._detect()
        self.assertFalse(self._tickets("duplicate_payment"))
        self.assertEqual(third.payment_state, "not_paid")
        # payments of another customer never pair with ours
        other = self.env["res.partner"].create({"name": "Anden Kunde"})
        self._receive(other, 300.0)
        self._detect()
        self.assertFalse(self._tickets("duplicate_payment"))

    def test_unapplied_payment_after_n_days(self):
        old = self._receive(self.customer, 250.0, days_ago=12, memo="?")
        self._receive(self.customer, 990.0, days_ago=2, memo="recent")
        self._detect()
        ticket = self._tickets("unapplied_payment")
        self.assertEqual(ticket.payment_ids, old)
        self.assertEqual(ticket.difference, -250.0)

    def test_detection_puts_the_jit_setting_back(self):
        """The payment rules run without JIT; the transaction's setting is the
        database's again afterwards."""
        self.env.cr.execute("SET LOCAL jit = on")
        self._receive(self.customer, 250.0, days_ago=12, memo="?")
        self._detect()
        self.assertTrue(self._tickets("unapplied_payment"))
        self.env.cr.execute("SHOW jit")
        self.assertEqual(self.env.cr.fetchone()[0], "on")

    # ------------------------------------------------------------------
    # tickets opened in bulk
    # ------------------------------------------------------------------
    def _short_and_unapplied_in_two_currencies(self):
        self.company.billing_discrepancy_days = 60  # posting opens nothing yet
        invoice = self._post_invoice(self.customer, 3000.0, due_in_days=-20, currency=self.eur)
        self._pay(invoice, 2700.0, days_ago=15)
        self._receive(self.customer, 250.0, days_ago=12)
        self.company.billing_discrepancy_days = 10

    def test_tickets_opened_in_bulk_hold_what_their_fields_compute(self):
        """The detection inserts its tickets set-based; each holds what the
        ticket's defaults and computed fields give, as ``create`` would."""
        self.company.billing_sla_payment_days = 4
        self._short_and_unapplied_in_two_currencies()
        tickets = self._detect()
        self.assertEqual(
            sorted(tickets.mapped(lambda t: (t.discrepancy_type, t.currency_id, t.difference_company))),
            [("short_payment", self.eur, 150.0), ("unapplied_payment", self.company.currency_id, -250.0)],
        )
        computed = ["state", "coordinator_id", "sla_deadline", "difference", "difference_company"]
        stored = tickets.read(computed)
        self.env.invalidate_all()
        for name in computed:
            self.env.add_to_compute(tickets._fields[name], tickets)
        self.assertEqual(tickets.read(computed), stored)
        sequence = self.env["ir.sequence"].search([("code", "=", "billing.discrepancy")])
        prefix = sequence._get_prefix_suffix()[0]
        new_stage = self.env.ref("billing_coordinator.billing_discrepancy_stage_new")
        for ticket in tickets:
            self.assertTrue(ticket.name.startswith(prefix) and ticket.name != prefix, ticket.name)
            self.assertEqual(ticket.stage_id, new_stage)
            self.assertEqual(ticket.priority, "0")
            self.assertEqual(ticket.opened_on, self.today)
            self.assertEqual(ticket.sla_deadline, self.today + timedelta(days=4))
            self.assertEqual(ticket.coordinator_id, self.coordinator)
            self.assertFalse(ticket.message_ids, "the detection writes no note")
            self.assertFalse(ticket.message_follower_ids, "and subscribes no one")
        self.assertEqual(len(set(tickets.mapped("name"))), 2)

    def test_links_written_set_based_update_the_invoices_dispute_flag(self):
        """``add_links`` and ``replace_links`` recompute what depends on the other
        side of the links, as the ORM's write of a many2many does."""
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        dispute = self.Ticket.create({"partner_id": self.customer.id, "discrepancy_type": "pricing_dispute"})
        self.assertFalse(invoice.billing_is_disputed)
        self.assertFalse(invoice.billing_discrepancy_ids)
        add_links(dispute, "invoice_ids", [(dispute.id, invoice.id)])
        self.assertTrue(invoice.billing_is_disputed, "a disputed invoice is left out of dunning")
        self.assertEqual(invoice.billing_discrepancy_ids, dispute)
        replace_links(dispute, "invoice_ids", {dispute.id: []})
        self.assertFalse(invoice.billing_is_disputed, "and dunned again once unlinked")
        self.assertFalse(invoice.billing_discrepancy_ids)

    def test_scan_racing_another_keeps_the_tickets_it_did_not_open(self):
        """Another worker opens one of the scan's tickets between its query and its
        insert: the scan opens the others and leaves that one alone."""
        self._short_and_unapplied_in_two_currencies()
        detection = type(self.Ticket)
        real_scan = detection._scan_changes
        raced = self.Ticket

        def scan_then_race(ticket_model, companies, partners):
            nonlocal raced
            changes = real_scan(ticket_model, companies, partners)
            fact = next(change for change in changes if change["discrepancy_type"] == "unapplied_payment")
            raced = self.Ticket.create(self.Ticket._ticket_vals_from_fact(fact))
            return changes

        with patch.object(detection, "_scan_changes", scan_then_race):
            opened = self._detect()
        self.assertEqual(opened.mapped("discrepancy_type"), ["short_payment"])
        self.assertEqual(self._tickets(), opened | raced)
        self.assertEqual(opened.invoice_ids.currency_id, self.eur)
        self.assertEqual(opened.coordinator_id, self.coordinator)

    # ------------------------------------------------------------------
    # the nightly scan among other workers
    # ------------------------------------------------------------------
    def _companies_scanned_at_night(self, worker):
        """The ids of the companies the nightly scan of ``worker`` takes, its
        transaction left open (the scan itself left out)."""
        with (
            patch.object(self.registry["ir.cron"], "_commit_progress", return_value=60.0),
            patch.object(self.registry["billing.discrepancy"], "_run_detection") as scan,
        ):
            worker["billing.discrepancy"]._cron_run_detection()
        return [company.id for call in scan.call_args_list for company in call.args[0]]

    def test_nightly_scan_runs_while_the_data_check_has_the_company(self):
        with self.other_workers(2) as (checks, detection):
            company = checks.ref("base.main_company")
            self.assertTrue(checks["billing.data.issue"]._lock_company(company))
            self.assertIn(company.id, self._companies_scanned_at_night(detection))

    def test_a_second_nightly_scan_leaves_the_companies_to_the_first(self):
        with self.other_workers(2) as (first, second):
            company = first.ref("base.main_company")
            self.assertIn(company.id, self._companies_scanned_at_night(first))
            self.assertNotIn(company.id, self._companies_scanned_at_night(second))

    # ------------------------------------------------------------------
    # idempotency, auto-close, reopen
    # ------------------------------------------------------------------
    def test_running_twice_gives_the_same_tickets(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._pay(invoice, 700.0, days_ago=15)
        self._receive(self.customer, 250.0, days_ago=12)
        self._detect()
        first = self._tickets()
        self.assertEqual(set(first.mapped("discrepancy_type")), {"short_payment", "unapplied_payment"})
        self.assertFalse(self._detect(), "a second run opens nothing")
        self.Ticket._run_detection()  # a scan of all companies
        self.assertEqual(self._tickets(), first)
        self.assertEqual(self._tickets(), first)

    def test_open_ticket_follows_a_further_payment(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._pay(invoice, 600.0, days_ago=15)
        self._detect()
        ticket = self._tickets("short_payment")
        self.assertEqual((ticket.received_amount, ticket.difference), (600, 400))
        self._pay(invoice, 200.0, days_ago=12)  # 200 still open: above the tolerance
        self._detect()
        self.assertEqual(self._tickets(), ticket, "the same ticket, not a second one")
        self.assertEqual(
            (ticket.expected_amount, ticket.received_amount, ticket.difference), (1000, 800, 200)
        )
        self.assertEqual(len(ticket.payment_ids), 1, "the payments it was opened for")

    def test_dispute_flag_that_stays_is_not_rewritten(self):
        """Linking invoices to tickets makes Odoo recompute their dispute flag; an
        invoice whose flag stays is not rewritten: it keeps its last-modified date
        (and the nightly scan does not lock it)."""
        invoices = self.env["account.move"]
        for customer in self._new_customers(3):
            invoices |= self._post_invoice(customer, 1000.0, due_in_days=-20)
        disputed = invoices[0]
        self.Ticket.create({
            "partner_id": disputed.partner_id.id,
            "discrepancy_type": "pricing_dispute",
            "invoice_ids": [Command.set(disputed.ids)],
        })  # fmt: skip
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE account_move SET write_date = now() - interval '3 days' "
            "WHERE id = ANY(%s) RETURNING write_date",
            [invoices.ids],
        )
        modified = self.env.cr.fetchone()[0]
        self.env.invalidate_all()  # the flags as a nightly scan finds them: not read yet
        self.env.add_to_compute(self.env["account.move"]._fields["billing_is_disputed"], invoices)
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, write_date, billing_is_disputed FROM account_move WHERE id = ANY(%s) ORDER BY id",
            [invoices.ids],
        )
        self.assertEqual(
            self.env.cr.fetchall(), [(invoice.id, modified, invoice == disputed) for invoice in invoices]
        )

    def test_ticket_closes_itself_when_residual_is_paid(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-20)
        self._pay(invoice, 800.0, days_ago=15)
        self._detect()
        ticket = self._tickets()
        ticket.action_start()
        self._pay(invoice, 200.0)  # the reconcile hook closes it at once
        self.assertEqual(ticket.state, "resolved")
        self.assertEqual(ticket.resolution, "facts_gone")
        self.assertTrue(any("Closed automatically" in str(msg.body) for msg in ticket.message_ids))
        self._detect()
        self.assertEqual(self._tickets(), ticket, "and no new ticket for the same invoice")

    def test_ticket_reopens_when_facts_come_back(self):
        payment = self._receive(self.customer, 250.0, days_ago=12)
        self._detect()
        ticket = self._tickets()
        payment.move_id.button_draft()
        self._detect()
        self.assertEqual(ticket.resolution, "facts_gone")
        payment.move_id.action_post()
        self._detect()
        self.assertEqual(ticket.state, "new")
        self.assertEqual(self._tickets(), ticket)
        self.assertTrue(any("Reopened automatically" in str(msg.body) for msg in ticket.message_ids))

    def test_credit_notes_for_many_invoices_close_their_tickets_in_one_scan(self):
        customers = self._new_customers(3)
        invoices = self.env["account.move"]
        for customer in customers:
            invoice = self._post_invoice(customer, 1000.0, due_in_days=-20)
            self._pay(invoice, 800.0, days_ago=15)
            invoices |= invoice
        self._detect()
        tickets = self._tickets("short_payment")
        self.assertEqual(tickets.invoice_ids, invoices)
        scans = []
        detection = type(self.Ticket)
        real_scan = detection._detect_and_sync

        def counted_scan(ticket_model, companies, partners):
            scans.append(partners)
            return real_scan(ticket_model, companies, partners)

        with patch.object(detection, "_detect_and_sync", counted_scan):
            invoices._reverse_moves(cancel=True)  # a full refund of each
        self.assertEqual(set(invoices.mapped("payment_state")), {"reversed"})
        self.assertEqual(set(tickets.mapped("resolution")), {"facts_gone"})
        self.assertEqual(len(scans), 1, "one scan for the three invoices, after their credit notes")
        self.assertEqual(scans[0], customers)

    def test_closed_by_hand_stays_closed(self):
        self._receive(self.customer, 250.0, days_ago=12)
        self._detect()
        ticket = self._tickets()
        ticket._resolve("closed", note="Customer keeps it as prepayment")
        self._detect()
        self.assertEqual(ticket.resolution, "closed")
        self.assertEqual(self._tickets(), ticket)

    # ------------------------------------------------------------------
    # two companies
    # ------------------------------------------------------------------
    def test_two_companies_are_scanned_apart(self):
        company_b = self.setup_other_company(name="Selskab B")["company"]
        company_b.billing_discrepancy_days = 10
        user_b = self._billing_user(
            "bc_coordinator_b", "base.group_user,billing_coordinator.group_billing_coordinator", company_b
        )
        customer_b = self.env["res.partner"].create({"name": "Kunde B"})
        customer_b.with_company(self.company).billing_coordinator_id = self.coordinator
        self.company.billing_discrepancy_days = 30  # the posting hook opens nothing in A yet
        self._receive(self.customer, 250.0, days_ago=12)
        self._receive(customer_b, 400.0, days_ago=12, company=company_b)
        self.company.billing_discrepancy_days = 10
        self.Ticket._run_detection(company_b)
        self.assertFalse(self._tickets(), "scanning company B leaves company A alone")
        ticket_b = self._tickets(company=company_b)
        self.assertEqual(ticket_b.received_amount, 400.0)
        self.assertFalse(ticket_b.coordinator_id, "the portfolio of company A is not company B's")
        self._detect()
        ticket_a = self._tickets()
        self.assertEqual(ticket_a.coordinator_id, self.coordinator)
        self.assertEqual(self.Ticket.with_user(user_b).search([]), ticket_b)
        self.assertEqual(self.Ticket.with_user(self.coordinator).search([]), ticket_a)
        with self.assertRaises(AccessError):
            ticket_a.with_user(user_b).read(["name"])

    def test_plain_user_sees_no_ticket_and_can_still_post_payments(self):
        self._receive(self.customer, 250.0, days_ago=12)
        self._detect()
        with self.assertRaises(AccessError):
            self.Ticket.with_user(self.plain_user).search([])
        accountant = self._billing_user(
            "bc_accountant", "base.group_user,account.group_account_invoice", self.company
        )
        invoice = self._post_invoice(self.customer, 1000.0)
        self.env["account.payment.register"].with_user(accountant).with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({"amount": 1500.0, "payment_difference_handling": "open"})._create_payments()
        self.assertTrue(
            self._tickets("overpayment"), "detection runs even when the poster cannot read tickets"
        )

    # ------------------------------------------------------------------
    # speed: set-based
    # ------------------------------------------------------------------
    def _new_customers(self, count):
        return self.env["res.partner"].create([{"name": f"Kunde {index}"} for index in range(count)])

    def _queries_to_detect(self, count):
        customers = self._new_customers(count)
        self.company.billing_discrepancy_days = 60  # posting opens nothing yet
        for index, customer in enumerate(customers):
            invoice = self._post_invoice(customer, 1000.0 + index, due_in_days=-40)
            self._pay(invoice, 500.0, days_ago=30)
            self._receive(customer, 300.0 + index, days_ago=30)
        self.company.billing_discrepancy_days = 10
        opened, queries = self.count_queries(self._detect)
        self.assertEqual(len(opened), 2 * len(customers))
        return queries

    def test_detection_queries_do_not_grow_with_the_data(self):
        self.assert_queries_do_not_grow(
            self._queries_to_detect, 2, 9, "the scan opens 18 tickets with the queries of 4"
        )

    def _queries_to_close(self, count):
        """Open an unapplied-payment ticket for each of ``count`` customers, then make
        the rule wait longer than the payments' age, so that the next scan closes them all."""
        customers = self._new_customers(count)
        self.company.billing_discrepancy_days = 60  # posting opens nothing yet
        for index, customer in enumerate(customers):
            self._receive(customer, 300.0 + index, days_ago=30)
        self.company.billing_discrepancy_days = 10
        opened = self._detect()
        self.assertEqual(len(opened), len(customers))
        self.company.billing_discrepancy_days = 60
        _closed, queries = self.count_queries(self._detect)
        self.assertEqual(set(opened.mapped("resolution")), {"facts_gone"})
        for ticket in opened:
            notes = ticket.message_ids.filtered(lambda m: "Closed automatically" in str(m.body))
            self.assertEqual(len(notes), 1, "each closed ticket says once why it closed")
        return queries

    def test_closing_tickets_queries_do_not_grow_with_the_tickets(self):
        self.assert_queries_do_not_grow(
            self._queries_to_close, 2, 9, "the scan closes 9 tickets with the queries of 2"
        )
