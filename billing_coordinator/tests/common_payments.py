from datetime import timedelta

from odoo.tests import Form

from .common import BillingCommon


class DiscrepancyCommon(BillingCommon):
    """Tolerance 50 (company currency) and 5 %, N = 10 days, a 7-day duplicate
    window, a write-off account, and the customer in the coordinator's portfolio."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the accountant the account test case runs as also manages billing
        cls.env.user.group_ids += cls.env.ref("billing_coordinator.group_billing_manager")
        cls.writeoff_account = cls.company_data["default_account_expense"]
        cls.company.write({
            "billing_discrepancy_tolerance_amount": 50.0,
            "billing_discrepancy_tolerance_percent": 5.0,
            "billing_discrepancy_days": 10,
            "billing_duplicate_window_days": 7,
            "billing_writeoff_account_id": cls.writeoff_account.id,
        })  # fmt: skip
        cls.customer.with_company(cls.company).billing_coordinator_id = cls.coordinator
        cls.eur = cls.setup_other_currency("EUR")  # 2 EUR per company currency unit
        cls.Ticket = cls.env["billing.discrepancy"]

    @classmethod
    def _pay(cls, invoice, amount, days_ago=0, currency=None):
        """Register a payment of ``amount`` on ``invoice``, leaving any difference open."""
        wizard = (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({
                "amount": amount,
                "currency_id": (currency or invoice.currency_id).id,
                "payment_date": cls.today - timedelta(days=days_ago),
                "payment_difference_handling": "open",
            })
        )  # fmt: skip
        return wizard._create_payments()

    @classmethod
    def _receive(cls, partner, amount, days_ago=0, memo=None, currency=None, company=None):
        """A posted customer payment not applied to any invoice."""
        company = company or cls.company
        payment = (
            cls.env["account.payment"]
            .with_company(company)
            .create({
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": partner.id,
                "amount": amount,
                "currency_id": (currency or company.currency_id).id,
                "date": cls.today - timedelta(days=days_ago),
                "memo": memo,
            })
        )  # fmt: skip
        payment.action_post()
        return payment

    def _raise_wizard(self, document, user=None, **values):
        """The wizard of an invoice's Dispute button or a payment's Raise Discrepancy
        button, filled in with ``values`` (``invoice_line_ids``: lines to add) as the
        coordinator, not yet confirmed."""
        user = user or self.coordinator
        if document._name == "account.move":
            action = document.with_user(user).action_billing_dispute()
        else:
            action = document.with_user(user).action_billing_raise_discrepancy()
        with Form(self.env[action["res_model"]].with_user(user).with_context(**action["context"])) as form:
            for line in values.pop("invoice_line_ids", []):
                form.invoice_line_ids.add(line)
            for name, value in values.items():
                setattr(form, name, value)
        return form.record

    def _raise_ticket(self, document, user=None, **values):
        """The ticket the coordinator opens from ``document`` with ``values``."""
        return self.Ticket.browse(self._raise_wizard(document, user, **values).action_open_ticket()["res_id"])

    def _tickets(self, discrepancy_type=None, partner=None, company=None):
        domain = [("company_id", "=", (company or self.company).id)]
        if discrepancy_type:
            domain.append(("discrepancy_type", "=", discrepancy_type))
        if partner:
            domain.append(("partner_id", "=", partner.id))
        return self.Ticket.search(domain)

    def _detect(self, company=None):
        return self.Ticket._run_detection(company or self.company)
