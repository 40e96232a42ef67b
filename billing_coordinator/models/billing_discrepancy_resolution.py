from odoo import fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Command

MANAGER_GROUP = "billing_coordinator.group_billing_manager"
# a credit note lowers what the customer owes; a write-off does that too, or keeps money we hold
CREDIT_NOTE_TYPES = ("short_payment", "pricing_dispute", "over_charge", "other")
WRITE_OFF_TYPES = (*CREDIT_NOTE_TYPES, "overpayment", "duplicate_payment", "unapplied_payment")


class BillingDiscrepancyResolution(models.AbstractModel):
    """Resolution actions of discrepancy tickets (mixed into ``billing.discrepancy``):
    each one atomic, linked back to the ticket and traced in its chatter."""

    _name = "billing.discrepancy.resolution"
    _description = "Discrepancy Resolution"

    def _resolve(self, resolution, amount=0.0, invoice=None, lines=None, target_invoices=None,
                 account=None, note=None, refund_journal=None):  # fmt: skip
        """Resolve the ticket with one action; all of it happens or none of it.
        ``refund_journal``: pay back from it what a credit note leaves as credit."""
        self.ensure_one()
        if self.is_closed:
            raise UserError(self.env._("The ticket %(name)s is already closed.", name=self.name))
        actions = {
            "credit_note": lambda: self._resolve_by_credit_note(amount, invoice, lines, refund_journal),
            "correction_invoice": lambda: self._resolve_by_correction_invoice(amount, invoice),
            "reconcile": lambda: self._resolve_by_reconcile(target_invoices),
            "refund": lambda: self._resolve_by_refund(amount),
            "write_off": lambda: self._resolve_by_write_off(amount, account),
            "closed": lambda: self._resolve_by_closing(note),
        }
        if resolution not in actions:
            raise UserError(self.env._("Choose how to resolve the ticket."))
        ticket = self.with_context(billing_resolving_ticket_id=self.id)
        with self.env.cr.savepoint():
            moves, payments, summary = actions[resolution]()
            ticket._mark_resolved(resolution, moves, payments, summary, note)
        return moves, payments

    # ------------------------------------------------------------------
    # limits
    # ------------------------------------------------------------------
    def _allowed_amount(self, currency=None):
        """The most any action may move for this ticket: its difference, less what
        its resolutions settled before it was reopened."""
        currency = currency or self.currency_id
        difference = self.currency_id._convert(
            abs(self.difference), currency, self.company_id, fields.Date.context_today(self)
        )
        return max(difference - self._settled_amount(currency), 0.0)

    def _settled_amount(self, currency):
        """What the ticket's posted credit notes, correction invoices, write-offs
        and refunds moved on the customer's account, in ``currency``."""
        if self.detection_key:
            # the detection keeps the difference of its tickets to what is still open
            return 0.0
        moves = self.resolution_move_ids.filtered(lambda move: move.state == "posted")
        # paying back a credit note's credit moves the same money a second time
        payments = self.resolution_payment_ids.move_id.filtered(
            lambda move: (
                move.state == "posted" and not move.line_ids.matched_credit_ids.credit_move_id.move_id & moves
            )
        )
        documents = moves | payments
        today = fields.Date.context_today(self)
        return sum(
            line.currency_id._convert(abs(line.amount_currency), currency, self.company_id, today)
            for line in documents.line_ids
            if line.account_type == "asset_receivable"
        )

    def _check_amount(self, amount, currency, *limits):
        """Refuse an amount that is not positive or beyond any of ``limits``."""
        if currency.compare_amounts(amount, 0.0) <= 0:
            raise UserError(self.env._("The amount must be positive."))
        allowed = min([self._allowed_amount(currency), *limits])
        if currency.compare_amounts(amount, allowed) <= 0:
            return
        settled = self._settled_amount(currency)
        if not currency.is_zero(settled):
            raise UserError(
                self.env._(
                    "%(amount)s is more than ticket %(name)s still allows (%(allowed)s): "
                    "its earlier resolutions already settled %(settled)s.",
                    amount=currency.format(amount),
                    name=self.name,
                    allowed=currency.format(allowed),
                    settled=currency.format(settled),
                )
            )
        raise UserError(
            self.env._(
                "%(amount)s is more than ticket %(name)s allows (%(allowed)s).",
                amount=currency.format(amount),
                name=self.name,
                allowed=currency.format(allowed),
            )
        )

    def _check_invoice(self, invoice):
        if not invoice or invoice not in self.invoice_ids:
            raise UserError(self.env._("Choose one of the ticket's invoices."))
        if invoice.state != "posted" or invoice.move_type != "out_invoice":
            raise UserError(
                self.env._("Invoice %(invoice)s is not a posted customer invoice.", invoice=invoice.name)
            )
        # a ticket opened by hand may name any invoice of the company: the money
        # goes to the ticket's customer only, in the ticket's currency
        customer = self.partner_id.commercial_partner_id
        if invoice.commercial_partner_id != customer:
            raise UserError(
                self.env._(
                    "Invoice %(invoice)s is not an invoice of %(customer)s.",
                    invoice=invoice.name,
                    customer=customer.name,
                )
            )
        if invoice.currency_id != self.currency_id:
            raise UserError(
                self.env._(
                    "Invoice %(invoice)s is in %(invoice_currency)s and the ticket in %(currency)s: "
                    "correct the ticket's currency first.",
                    invoice=invoice.name,
                    invoice_currency=invoice.currency_id.name,
                    currency=self.currency_id.name,
                )
            )

    def _check_creditable(self, invoice, amount):
        """A credit note credits at most what the invoice charged, less its
        earlier credit notes; beyond what it still owes, it leaves credit."""
        currency = invoice.currency_id
        credited = sum(
            invoice.reversal_move_ids.filtered(
                lambda move: move.state == "posted" and move.move_type == "out_refund"
            ).mapped("amount_total")
        )
        creditable = currency.round(invoice.amount_total - credited)
        if currency.compare_amounts(amount, creditable) > 0:
            raise UserError(
                self.env._(
                    "Invoice %(invoice)s can be credited %(creditable)s more: a credit note of "
                    "%(amount)s would credit more than it charged.",
                    invoice=invoice.name,
                    creditable=currency.format(creditable),
                    amount=currency.format(amount),
                )
            )

    def _check_within_residual(self, invoice, amount):
        """A detected ticket is about what its invoice still owes, and the
        detection keeps its difference to that: its credit note lowers at most
        what the invoice still owes, however often the ticket is reopened."""
        currency = invoice.currency_id
        if currency.compare_amounts(amount, invoice.amount_residual) > 0:
            raise UserError(
                self.env._(
                    "Invoice %(invoice)s has %(residual)s left to pay: a credit note of %(amount)s "
                    "would lower it by more than that.",
                    invoice=invoice.name,
                    residual=currency.format(invoice.amount_residual),
                    amount=currency.format(amount),
                )
            )

    # ------------------------------------------------------------------
    # the actions: each returns (moves, payments, summary)
    # ------------------------------------------------------------------
    def _resolve_by_credit_note(self, amount, invoice, lines, refund_journal):
        if self.discrepancy_type not in CREDIT_NOTE_TYPES:
            raise UserError(
                self.env._(
                    "A credit note lowers what the customer owes: "
                    "it cannot resolve a ticket of type %(type)s.",
                    type=self._get_type_label(),
                )
            )
        self._check_invoice(invoice)
        lines = lines or invoice.browse()
        if lines and lines.move_id != invoice:
            raise UserError(self.env._("Credit only lines of invoice %(invoice)s.", invoice=invoice.name))
        if lines:
            line_vals = [self._copy_line_vals(line) for line in lines]
        else:
            self._check_amount(amount, invoice.currency_id)
            line_vals = [self._amount_line_vals(invoice, amount)]
        credit_note = self._create_correction_move(
            "out_refund", invoice, line_vals, amount if not lines else None
        )
        self._check_amount(credit_note.amount_total, invoice.currency_id)
        self._check_creditable(invoice, credit_note.amount_total)
        if self.detection_key:
            self._check_within_residual(invoice, credit_note.amount_total)
        credit_note.action_post()
        if self._receivable_lines(invoice):
            self._reconcile_receivables(invoice | credit_note)
        summary = self.env._(
            "Credit note %(move)s of %(amount)s for invoice %(invoice)s.",
            move=credit_note.name,
            amount=invoice.currency_id.format(credit_note.amount_total),
            invoice=invoice.name,
        )
        payments, credit_summary = self._settle_credit_left(credit_note, refund_journal)
        return credit_note, payments, f"{summary} {credit_summary}".strip()

    def _settle_credit_left(self, credit_note, refund_journal):
        """Pay back from ``refund_journal`` what the credit note credits beyond
        what its invoice owed, or say that it stays on the customer's account."""
        credit_lines = self._receivable_lines(credit_note)
        credit = -sum(credit_lines.mapped("amount_residual_currency"))
        currency = credit_note.currency_id
        if currency.is_zero(credit):
            return self.env["account.payment"], ""
        if not refund_journal:
            return self.env["account.payment"], self.env._(
                "%(amount)s stays on the customer's account as credit.", amount=currency.format(credit)
            )
        return self._pay_back(credit, refund_journal, credit_lines)

    def _resolve_by_correction_invoice(self, amount, invoice):
        if self.discrepancy_type != "under_charge":
            raise UserError(self.env._("A correction invoice corrects an under-charge only."))
        self._check_invoice(invoice)
        self._check_amount(amount, invoice.currency_id)
        correction = self._create_correction_move(
            "out_invoice", invoice, [self._amount_line_vals(invoice, amount)], amount
        )
        self._check_amount(correction.amount_total, invoice.currency_id)
        correction.action_post()
        summary = self.env._(
            "Correction invoice %(move)s of %(amount)s for invoice %(invoice)s.",
            move=correction.name,
            amount=invoice.currency_id.format(correction.amount_total),
            invoice=invoice.name,
        )
        return correction, self.env["account.payment"], summary

    def _resolve_by_reconcile(self, target_invoices):
        credit_lines = self._open_payment_lines()
        if not credit_lines:
            raise UserError(self.env._("The ticket's payments have no unapplied amount left."))
        target_invoices = target_invoices or self.env["account.move"]
        customer = self.partner_id.commercial_partner_id
        wrong = target_invoices.filtered(
            lambda m: (
                m.commercial_partner_id != customer
                or m.company_id != self.company_id
                or m.state != "posted"
                or m.move_type != "out_invoice"
                or m.payment_state not in ("not_paid", "partial")
            )
        )
        if not target_invoices or wrong:
            raise UserError(self.env._("Choose open invoices of %(customer)s.", customer=customer.name))
        before = sum(credit_lines.mapped("amount_residual"))
        self._reconcile_receivables(target_invoices, credit_lines)
        applied = self.company_currency_id.round(sum(credit_lines.mapped("amount_residual")) - before)
        summary = self.env._(
            "%(amount)s of the payments applied to %(invoices)s.",
            amount=self.company_currency_id.format(applied),
            invoices=", ".join(target_invoices.mapped("name")),
        )
        self.invoice_ids |= target_invoices
        return self.env["account.move"], self.env["account.payment"], summary

    def _resolve_by_refund(self, amount):
        credit_lines = self._open_payment_lines()
        unapplied = -sum(credit_lines.mapped("amount_residual_currency"))
        if not credit_lines:
            raise UserError(self.env._("The ticket's payments have no unapplied amount left."))
        self._check_amount(amount, self.currency_id, unapplied)
        refund, summary = self._pay_back(amount, self.payment_ids[:1].journal_id, credit_lines)
        return self.env["account.move"], refund, summary

    def _resolve_by_write_off(self, amount, account):
        if self.discrepancy_type not in WRITE_OFF_TYPES:
            raise UserError(
                self.env._(
                    "A write-off lowers what the customer owes or keeps money we hold: "
                    "it cannot resolve a ticket of type %(type)s.",
                    type=self._get_type_label(),
                )
            )
        account = account or self.company_id.billing_writeoff_account_id
        if not account:
            raise UserError(self.env._("Set a write-off account in the Billing settings first."))
        open_lines = self._open_invoice_lines() or self._open_payment_lines()
        if not open_lines:
            raise UserError(self.env._("The ticket's invoices and payments have nothing left to write off."))
        residual = abs(sum(open_lines.mapped("amount_residual_currency")))
        self._check_amount(amount, self.currency_id, residual)
        self._check_write_off_tolerance(amount)
        customer_owes = sum(open_lines.mapped("amount_residual")) > 0
        entry = self._create_write_off_entry(amount, account, customer_owes)
        entry.action_post()
        self._reconcile_receivables(entry, open_lines)
        summary = self.env._(
            "%(amount)s written off to %(account)s (entry %(move)s).",
            amount=self.currency_id.format(amount),
            account=account.display_name,
            move=entry.name,
        )
        return entry, self.env["account.payment"], summary

    def _resolve_by_closing(self, note):
        if not (note or "").strip():
            raise UserError(self.env._("Give the reason for closing the ticket."))
        return (
            self.env["account.move"],
            self.env["account.payment"],
            self.env._("Closed: %(reason)s", reason=note),
        )

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _check_write_off_tolerance(self, amount):
        """A coordinator writes off within tolerance; above it only a Billing Manager."""
        company = self.company_id
        today = fields.Date.context_today(self)
        amount_company = self.currency_id._convert(amount, company.currency_id, company, today)
        base = self.currency_id._convert(self.expected_amount, company.currency_id, company, today)
        limit = company._billing_tolerance_limit(base)
        if company.currency_id.compare_amounts(amount_company, limit) > 0 and not self.env.user.has_group(
            MANAGER_GROUP
        ):
            raise AccessError(
                self.env._(
                    "Writing off %(amount)s is above the tolerance of %(limit)s: "
                    "only a Billing Manager may do it.",
                    amount=company.currency_id.format(amount_company),
                    limit=company.currency_id.format(limit),
                )
            )

    def _pay_back(self, amount, journal, credit_lines):
        """A posted outbound payment of ``amount`` to the customer, settling
        ``credit_lines``, and the line that says so."""
        refund = self.env["account.payment"].create({
            "payment_type": "outbound",
            "partner_type": "customer",
            "partner_id": self.partner_id.id,
            "amount": amount,
            "currency_id": self.currency_id.id,
            "journal_id": journal.id,
            "company_id": self.company_id.id,
            "date": fields.Date.context_today(self),
            "memo": self.env._("Refund %(ticket)s", ticket=self.name),
        })  # fmt: skip
        refund.action_post()
        self._reconcile_receivables(refund.move_id, credit_lines)
        return refund, self.env._(
            "Refund %(payment)s of %(amount)s to the customer.",
            payment=refund.name,
            amount=self.currency_id.format(amount),
        )

    def _receivable_lines(self, moves):
        return moves.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable" and not line.reconciled
        )

    def _open_invoice_lines(self):
        return self._receivable_lines(self.invoice_ids.filtered(lambda m: m.state == "posted")).filtered(
            lambda line: line.amount_residual > 0
        )

    def _open_payment_lines(self):
        moves = self.payment_ids.filtered(lambda p: p.state in ("in_process", "paid")).move_id
        return self._receivable_lines(moves).filtered(lambda line: line.amount_residual < 0)

    def _reconcile_receivables(self, moves, extra_lines=None):
        lines = self._receivable_lines(moves) | (extra_lines or self.env["account.move.line"])
        lines.with_context(billing_resolving_ticket_id=self.id).reconcile()

    def _copy_line_vals(self, line):
        return {
            "name": line.name,
            "product_id": line.product_id.id,
            "quantity": line.quantity,
            "price_unit": line.price_unit,
            "discount": line.discount,
            "account_id": line.account_id.id,
            "tax_ids": [Command.set(line.tax_ids.ids)],
        }

    def _amount_line_vals(self, invoice, amount):
        """One line that totals ``amount`` with the taxes of the invoice's first line."""
        first = invoice.invoice_line_ids.filtered(lambda line: line.display_type == "product")[:1]
        price_unit = self._price_unit_totalling(amount, first.tax_ids, invoice)
        return {
            "name": self.reason or self.name,
            "quantity": 1,
            "price_unit": invoice.currency_id.round(price_unit),
            "account_id": first.account_id.id,
            "tax_ids": [Command.set(first.tax_ids.ids)],
        }

    def _price_unit_totalling(self, amount, taxes, invoice):
        """The unit price of one line with ``taxes`` that totals ``amount``: a
        price-included tax is part of the price, an excluded one comes on top."""
        total = taxes.compute_all(amount, currency=invoice.currency_id, partner=invoice.partner_id)[
            "total_included"
        ]
        # percentage taxes grow with the price: scale it to the total asked for
        return amount * amount / total

    def _create_correction_move(self, move_type, invoice, line_vals, target_total):
        move = self.env["account.move"].create({
            "move_type": move_type,
            "partner_id": invoice.partner_id.id,
            "company_id": invoice.company_id.id,
            "currency_id": invoice.currency_id.id,
            "journal_id": invoice.journal_id.id,
            "invoice_date": fields.Date.context_today(self),
            "reversed_entry_id": invoice.id if move_type == "out_refund" else False,
            "ref": self.env._("%(ticket)s: %(invoice)s", ticket=self.name, invoice=invoice.name),
            "invoice_line_ids": [Command.create(vals) for vals in line_vals],
        })  # fmt: skip
        currency = invoice.currency_id
        if target_total is not None and currency.compare_amounts(move.amount_total, target_total) > 0:
            # rounding of the tax put the total a cent above the amount asked for
            line = move.invoice_line_ids[:1]
            line.price_unit -= currency.rounding
        return move

    def _create_write_off_entry(self, amount, account, customer_owes):
        company = self.company_id
        today = fields.Date.context_today(self)
        balance = self.currency_id._convert(amount, company.currency_id, company, today)
        sign = -1 if customer_owes else 1
        receivable = self._open_invoice_lines()[:1].account_id or self._open_payment_lines()[:1].account_id
        journal = self.env["account.journal"].search(
            [*self.env["account.journal"]._check_company_domain(company), ("type", "=", "general")], limit=1
        )
        if not journal:
            raise UserError(self.env._("The company has no miscellaneous journal for the write-off."))
        label = self.env._("Write-off %(ticket)s", ticket=self.name)
        return self.env["account.move"].create({
            "move_type": "entry",
            "journal_id": journal.id,
            "company_id": company.id,
            "date": today,
            "ref": label,
            "line_ids": [
                Command.create({
                    "name": label,
                    "account_id": receivable.id,
                    "partner_id": self.partner_id.id,
                    "currency_id": self.currency_id.id,
                    "amount_currency": sign * amount,
                    "balance": sign * balance,
                }),
                Command.create({
                    "name": label,
                    "account_id": account.id,
                    "partner_id": self.partner_id.id,
                    "currency_id": self.currency_id.id,
                    "amount_currency": -sign * amount,
                    "balance": -sign * balance,
                }),
            ],
        })  # fmt: skip

    def _mark_resolved(self, resolution, moves, payments, summary, note):
        stage = self.env["billing.discrepancy.stage"]._stage_for_state("resolved")
        self.write({
            "stage_id": stage.id,
            "resolution": resolution,
            "resolution_note": note or False,
            "resolved_on": fields.Date.context_today(self),
            "resolution_move_ids": [Command.link(move.id) for move in moves],
            "resolution_payment_ids": [Command.link(payment.id) for payment in payments],
        })  # fmt: skip
        self.message_post(body=self.env._("Resolved: %(summary)s", summary=summary))
        for document in (*moves, *payments):
            document.message_post(
                body=self.env._("Made to resolve discrepancy %(ticket)s.", ticket=self.name)
            )
