from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..tools.bulk_insert import insert_records
from .common_dunning import DunningCommon


@tagged("post_install", "-at_install")
class TestDunningPlan(DunningCommon):
    def test_one_reminder_per_customer_listing_every_overdue_invoice(self):
        old = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        recent = self._post_invoice(self.customer, 500.0, due_in_days=-6)
        self._post_invoice(self.customer, 700.0, due_in_days=-2)  # not yet at level 1
        self._post_invoice(self.customer, 900.0, due_in_days=10)  # not due
        run = self._plan()
        self.assertEqual(len(run.reminder_ids), 1)
        reminder = run.reminder_ids
        self.assertEqual(reminder.level_id, self.level_1)
        self.assertEqual(reminder.line_ids.move_id, old | recent)
        self.assertEqual(reminder.amount_residual, 1500.0)
        self.assertEqual(reminder.line_ids.sorted("due_date")[0].days_overdue, 30)
        self.assertEqual(reminder.state, "to_send")
        self.assertEqual(reminder.contact_id, self.customer)

    def test_next_level_counts_its_days_from_the_day_the_reminder_went_out(self):
        self.company.billing_dunning_approval = True
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan()
        with freeze_time(self.today + timedelta(days=8)):
            run.action_approve()
            run._send()
        self.assertEqual(run.reminder_ids.sent_date, self.today + timedelta(days=8))
        with freeze_time(self.today + timedelta(days=10)):
            # 10 days after reminder 1 was planned, but 2 after the customer got it
            self.assertFalse(self._plan(dry=True).reminder_ids)
        with freeze_time(self.today + timedelta(days=18)):
            self.assertEqual(self._plan(dry=True).reminder_ids.level_id, self.level_2)

    def test_reminder_awaiting_approval_does_not_move_the_invoice_up_the_ladder(self):
        self.company.billing_dunning_approval = True
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        first = self._plan().reminder_ids
        self.assertEqual((first.level_id, first.state), (self.level_1, "draft"))
        with freeze_time(self.today + timedelta(days=10)):
            later = self._plan()
        self.assertFalse(later.reminder_ids, "reminder 2, with a fee, after a reminder 1 that never went out")
        self.assertEqual(later.exclusion_ids.move_id, invoice)
        self.assertEqual(later.exclusion_ids.reason, "awaiting_approval")
        with freeze_time(self.today + timedelta(days=12)):
            first.run_id.action_approve()
            first.run_id._send()
        with freeze_time(self.today + timedelta(days=21)):
            self.assertFalse(self._plan(dry=True).reminder_ids)
        with freeze_time(self.today + timedelta(days=22)):
            self.assertEqual(self._plan(dry=True).reminder_ids.level_id, self.level_2)

    def test_level_after_due_date_waits_for_its_days(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-4)
        self.assertFalse(self._plan().reminder_ids)
        with freeze_time(self.today + timedelta(days=1)):
            run = self._plan()
        self.assertEqual(run.reminder_ids.line_ids.move_id, invoice)
        self.assertEqual(run.reminder_ids.level_id, self.level_1)

    def test_level_after_previous_level_waits_for_its_days(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-5)
        self._plan()
        with freeze_time(self.today + timedelta(days=9)):
            self.assertFalse(self._plan().reminder_ids)
        with freeze_time(self.today + timedelta(days=10)):
            second = self._plan().reminder_ids
        self.assertEqual(second.level_id, self.level_2)
        self.assertEqual(second.line_ids.move_id, invoice)
        with freeze_time(self.today + timedelta(days=20)):
            third = self._plan().reminder_ids
        self.assertEqual(third.level_id, self.level_3)
        with freeze_time(self.today + timedelta(days=60)):
            self.assertFalse(self._plan().reminder_ids, "after the last level no further reminder")

    def test_invoice_between_two_levels_is_neither_reminded_nor_left_out(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self._plan()
        with freeze_time(self.today + timedelta(days=3)):
            run = self._plan(dry=True)
        self.assertFalse(run.reminder_ids)
        self.assertFalse(run.exclusion_ids, "waiting for its next level is no reason to list it")

    def test_invoice_left_out_for_two_reasons_shows_the_first(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        invoice.billing_is_disputed = True
        self.env["billing.promise"].create({
            "partner_id": self.customer.id,
            "move_ids": [(6, 0, invoice.ids)],
            "amount": 1000.0,
            "date": self.today + timedelta(days=5),
        })  # fmt: skip
        run = self._plan(dry=True)
        self.assertEqual(run.exclusion_ids.mapped("reason"), ["disputed"])

    def test_archived_default_policy_leaves_its_customers_without_a_policy(self):
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.policy.active = False
        run = self._plan(dry=True)
        self.assertFalse(run.reminder_ids)
        self.assertEqual(run.exclusion_ids.move_id, invoice)
        self.assertEqual(run.exclusion_ids.reason, "no_policy")

    def test_planning_twice_the_same_day_plans_nothing_twice(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.assertEqual(len(self._plan().reminder_ids), 1)
        self.assertFalse(self._plan().reminder_ids)

    def test_each_exclusion_is_shown_with_its_reason_in_the_dry_run(self):
        partners = {
            reason: self.env["res.partner"].create({"name": f"Kunde {reason}", "is_company": True})
            for reason in ("disputed", "promise", "on_hold", "tolerance", "no_policy", "collection")
        }
        invoices = {
            reason: self._post_invoice(partner, 1000.0, due_in_days=-30)
            for reason, partner in partners.items()
        }
        invoices["disputed"].billing_is_disputed = True
        self.env["billing.promise"].create({
            "partner_id": partners["promise"].id,
            "move_ids": [(6, 0, invoices["promise"].ids)],
            "amount": 1000.0,
            "date": self.today + timedelta(days=5),
        })  # fmt: skip
        partners["on_hold"].with_company(self.company).billing_account_state = "on_hold"
        self.company.billing_dunning_tolerance = 50.0
        small = self._post_invoice(partners["tolerance"], 20.0, due_in_days=-30)
        invoices["tolerance"].button_draft()
        invoices["tolerance"] = small
        other_policy = self._make_policy(self.company, default=False)
        other_policy.level_ids.unlink()
        partners["no_policy"].with_company(self.company).billing_dunning_policy_id = other_policy
        self.env["billing.collection.case"].create({
            "company_id": self.company.id,
            "partner_id": partners["collection"].id,
            "currency_id": self.dkk.id,
            "move_ids": [(6, 0, invoices["collection"].ids)],
        })  # fmt: skip
        payer = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan(dry=True)
        found = {exclusion.move_id: exclusion.reason for exclusion in run.exclusion_ids}
        self.assertEqual(found, {invoices[reason]: reason for reason in partners})
        self.assertEqual(run.reminder_ids.line_ids.move_id, payer)
        self.assertEqual(run.customer_count, 1)
        self.assertEqual(run.amount_overdue, 1000.0)
        self.assertEqual(run.exclusion_count, 6)
        self._assert_stored_as_computed(run.exclusion_ids)
        # a dry run sends nothing and leaves the real run free to plan
        self.assertEqual(run.reminder_ids.state, "draft")
        self.assertEqual(len(self._plan().reminder_ids), 1)

    def test_an_archived_customer_keeps_its_own_policy_and_hold(self):
        """Archiving a customer does not forget what it owes nor how it is dunned."""
        strict = self._make_policy(self.company, default=False)
        strict.level_ids.sorted("sequence")[0].trigger_days = 1
        held = self.env["res.partner"].create({"name": "Kunde holdt", "is_company": True})
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-2)
        kept = self._post_invoice(held, 1000.0, due_in_days=-30)
        self.customer.with_company(self.company).billing_dunning_policy_id = strict
        held.with_company(self.company).billing_account_state = "blocked"
        (self.customer | held).action_archive()
        run = self._plan(dry=True)
        self.assertEqual(run.reminder_ids.line_ids.move_id, invoice, "two days late: the strict policy")
        self.assertEqual(run.reminder_ids.level_id.policy_id, strict)
        self.assertEqual(run.exclusion_ids.move_id, kept)
        self.assertEqual(run.exclusion_ids.reason, "on_hold")

    def test_invoices_in_another_currency_get_their_own_reminder(self):
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        euro = self._post_invoice(self.customer, 200.0, due_in_days=-30, currency=self.eur)
        run = self._plan()
        self.assertEqual(len(run.reminder_ids), 2)
        in_euro = run.reminder_ids.filtered(lambda r: r.currency_id == self.eur)
        self.assertEqual(in_euro.line_ids.move_id, euro)
        self.assertEqual(in_euro.amount_residual, 200.0)
        self.assertAlmostEqual(run.amount_overdue, 1000.0 + 200.0 * 7.5, places=2)

    def test_planning_is_set_based(self):
        def queries_for(count):
            partner = self.env["res.partner"].create({"name": f"Bulk {count}", "is_company": True})
            for _index in range(count):
                self._post_invoice(partner, 100.0, due_in_days=-30)
            self.env.flush_all()
            self.env.invalidate_all()
            run = self.Run.create({"company_id": self.company.id, "partner_id": partner.id})
            before = self.env.cr.sql_log_count
            run.action_plan()
            self.env.flush_all()
            self.assertEqual(len(run.reminder_ids.line_ids), count)
            return self.env.cr.sql_log_count - before

        queries_for(1)  # warm the caches
        self.assertEqual(queries_for(25), queries_for(3))

    def test_planned_reminders_hold_what_the_orm_computes(self):
        """Planning writes reminders and lines set-based: every stored computed
        field must hold what the ORM computes for it (fees, interest,
        compensation, two currencies, a second level)."""
        self._post_invoice(self.customer, 1000.0, due_in_days=-5)
        self._plan()
        self._post_invoice(self.customer, 333.33, due_in_days=-40)
        self._post_invoice(self.customer, 200.0, due_in_days=-30, currency=self.eur)
        with freeze_time(self.today + timedelta(days=10)):
            run = self._plan()
            self.assertEqual(run.reminder_ids.level_id, self.level_1 | self.level_2)
            self.assertTrue(run.reminder_ids.filtered("fee_amount"))
            self.assertTrue(run.reminder_ids.line_ids.filtered("interest_amount"))
            self._assert_stored_as_computed(run.reminder_ids)
            self._assert_stored_as_computed(run.reminder_ids.line_ids)

    def test_set_based_insert_refuses_rows_without_their_computed_values(self):
        """The set-based INSERT must not leave a stored computed field empty."""
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan(dry=True)
        line = run.reminder_ids.line_ids
        vals = line.read(["reminder_id", "move_id", "level_id", "due_date", "company_id", "state",
                          "reminder_date", "days_overdue"], load=None)[0]  # fmt: skip
        del vals["id"]
        lines = self.env["billing.reminder.line"]
        incomplete = dict(vals)
        del incomplete["days_overdue"]
        with self.assertRaisesRegex(ValueError, "days_overdue"):
            insert_records(lines, [incomplete])
        with self.assertRaisesRegex(ValueError, "same fields"):
            insert_records(lines, [vals, incomplete])
        self.assertEqual(lines.search([("move_id", "=", vals["move_id"])]), line)

    def test_set_based_insert_keeps_every_value_as_given(self):
        """The rows travel as array literals: quotes, backslashes, braces, commas,
        the word NULL and empty values come back as they were given, in order."""
        rates = self.env["billing.interest.rate"]
        start = self.today + timedelta(days=4000)
        notes = ['Nationalbanken "diskonto", 1. {halvår}', "C:\\kurser\\\\2026", "NULL", False, " æøå "]
        vals_list = [
            {"country_id": self.env.ref("base.dk").id, "date_from": start + timedelta(days=index),
             "reference_rate": 1.6 + index / 8, "note": note}
            for index, note in enumerate(notes)
        ]  # fmt: skip
        inserted = insert_records(rates, vals_list)
        inserted.invalidate_recordset()
        self.assertEqual(inserted.mapped("note"), notes)
        self.assertEqual(inserted.mapped("date_from"), [vals["date_from"] for vals in vals_list])
        self.assertEqual(inserted.mapped("reference_rate"), [1.6, 1.725, 1.85, 1.975, 2.1])

    def test_set_based_insert_refuses_rows_the_record_rules_forbid(self):
        """A coordinator of company A cannot insert a row of company B: Odoo's
        access error names the rule, and none of the batch stays."""
        company_b = self.setup_other_company(name="Company B")["company"]
        invoice = self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run = self._plan(dry=True)
        exclusions = self.env["billing.dunning.exclusion"].with_user(self.coordinator)
        row = {"run_id": run.id, "move_id": invoice.id, "partner_id": self.customer.id, "reason": "on_hold"}
        own = insert_records(exclusions, [dict(row, company_id=self.company.id)])
        self.assertEqual(own.company_id, self.company)
        with self.assertRaisesRegex(AccessError, "multi-company"):
            insert_records(
                exclusions, [dict(row, company_id=self.company.id), dict(row, company_id=company_b.id)]
            )
        self.assertEqual(exclusions.sudo().search([("run_id", "=", run.id), ("reason", "=", "on_hold")]), own)

    def _assert_stored_as_computed(self, records):
        """Every stored computed field of ``records`` holds what the ORM computes."""
        self.assertTrue(records)
        computed = [name for name, field in records._fields.items() if field.store and field.compute]
        records.invalidate_recordset()
        stored = records.read(computed)
        for name in computed:
            self.env.add_to_compute(records._fields[name], records)
        records._recompute_recordset()
        self.assertEqual(records.read(computed), stored, records._name)

    def test_other_company_sees_nothing_and_plans_its_own(self):
        company_b = self.setup_other_company(name="Company B")["company"]
        user_b = self._billing_user(
            "bc_coordinator_b", "base.group_user,billing_coordinator.group_billing_coordinator", company_b
        )
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        run_a = self._plan()
        self.assertFalse(self.env["billing.reminder"].with_user(user_b).search([]))
        self.assertFalse(self.env["billing.dunning.run"].with_user(user_b).search([]))
        self.assertFalse(self.env["billing.dunning.policy"].with_user(user_b).search([]))
        self.assertEqual(
            self.env["billing.reminder"].with_user(self.coordinator).search([]), run_a.reminder_ids
        )
        # company B: no policy of its own, so its customer is left out with that reason
        customer_b = self.env["res.partner"].create({"name": "Kunde B", "is_company": True})
        invoice_b = self._post_invoice(customer_b, 400.0, due_in_days=-30, company=company_b)
        run_b = self._plan(company=company_b)
        self.assertFalse(run_b.reminder_ids)
        self.assertEqual(run_b.exclusion_ids.move_id, invoice_b)
        self.assertEqual(run_b.exclusion_ids.reason, "no_policy")
