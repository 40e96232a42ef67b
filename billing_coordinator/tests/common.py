from contextlib import contextmanager
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields
from odoo.fields import Command
from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

COORDINATOR_GROUPS = "base.group_user,billing_coordinator.group_billing_coordinator"
MANAGER_GROUPS = "base.group_user,billing_coordinator.group_billing_manager"


class BillingCommon(AccountTestInvoicingCommon):
    """A company of its own with a chart of accounts, a coordinator, a
    manager, a plain internal user and a customer; nothing from demo data."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.today = fields.Date.context_today(cls.env.user)
        cls.coordinator = cls._billing_user("bc_coordinator", COORDINATOR_GROUPS, cls.company)
        cls.manager = cls._billing_user("bc_manager", MANAGER_GROUPS, cls.company)
        cls.plain_user = cls._billing_user("bc_plain", "base.group_user", cls.company)
        cls.customer = cls.env["res.partner"].create({
            "name": "Kunde Test ApS",
            "is_company": True,
            "company_id": cls.company.id,
        })  # fmt: skip

    @contextmanager
    def other_workers(self, count):
        """``count`` superuser environments, each in a transaction of its own as a
        worker of a scheduled action runs: apart from the test's, they see the
        committed database only; rolled back at the end."""
        cursors = [self.registry.cursor() for _worker in range(count)]
        try:
            for cr in cursors:
                cr.execute("SET LOCAL lock_timeout = '10s'")  # a lock wait fails the test, never hangs it
            yield [api.Environment(cr, SUPERUSER_ID, {}) for cr in cursors]
        finally:
            for cr in cursors:
                cr.rollback()
                cr.close()

    def count_queries(self, operation):
        """Run ``operation()`` on an empty record cache, as a new request would,
        and return its result and the queries it issued, its writes flushed."""
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        result = operation()
        self.env.flush_all()
        return result, self.env.cr.sql_log_count - before

    def assert_queries_do_not_grow(self, queries_for, few, many, message, warm_ups=1):
        """``queries_for(count)`` runs an operation on ``count`` new records and
        returns the queries it issued. After warm-ups (the caches of a running
        server), ``many`` records must take the queries of ``few``."""
        for _warm_up in range(warm_ups):
            queries_for(1)
        few_queries = queries_for(few)
        self.assertEqual(queries_for(many), few_queries, message)

    @classmethod
    def _billing_user(cls, login, groups, company):
        return new_test_user(
            cls.env,
            login=login,
            groups=groups,
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )

    @classmethod
    def _post_invoice(cls, partner, amount, due_in_days=0, currency=None, company=None):
        """A posted customer invoice of ``amount`` (untaxed) due in ``due_in_days``
        (negative: overdue)."""
        company = company or cls.company
        due = cls.today + timedelta(days=due_in_days)
        invoice = (
            cls.env["account.move"]
            .with_company(company)
            .create({
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "currency_id": (currency or company.currency_id).id,
                "invoice_date": due - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "Service", "quantity": 1, "price_unit": amount, "tax_ids": []})
                ],
            })
        )  # fmt: skip
        invoice.action_post()
        return invoice
