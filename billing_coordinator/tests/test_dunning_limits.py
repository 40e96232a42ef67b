from datetime import date, timedelta

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from ..tools.dunning_rules import PlannedLevel, check_policy_levels, fee_allowed
from ..tools.legal_profiles import PROFILES
from .common_dunning import DunningCommon


@tagged("post_install", "-at_install")
class TestDunningLimits(DunningCommon):
    def test_rule_book_refuses_what_renteloven_forbids(self):
        dk = PROFILES["dk"]
        ok = [
            PlannedLevel("due", 5),
            PlannedLevel("previous", 10, 100.0),
            PlannedLevel("previous", 10, 100.0),
        ]
        self.assertIsNone(check_policy_levels(dk, ok))
        too_high = check_policy_levels(dk, [PlannedLevel("due", 5, 150.0)])
        self.assertEqual((too_high.kind, too_high.rule), ("fee_amount", "Renteloven §9b"))
        fourth = check_policy_levels(dk, [PlannedLevel("previous", 10, 100.0)] * 4)
        self.assertEqual((fourth.kind, fourth.limit), ("fee_count", 3))
        nine_days = check_policy_levels(
            dk, [PlannedLevel("due", 5, 100.0), PlannedLevel("previous", 9, 100.0)]
        )
        self.assertEqual((nine_days.kind, nine_days.limit), ("fee_interval", 10))
        warning = check_policy_levels(dk, [PlannedLevel("due", 5, 0.0, True, 9)])
        self.assertEqual((warning.kind, warning.rule), ("warning_days", "Inkassoloven §10"))
        self.assertIsNone(check_policy_levels(PROFILES["none"], [PlannedLevel("due", 1, 500.0)] * 5))

    def test_rule_book_fee_on_a_claim(self):
        dk = PROFILES["dk"]
        day = date(2030, 3, 1)
        self.assertTrue(fee_allowed(dk, [], day)[0])
        self.assertFalse(fee_allowed(dk, [day - timedelta(days=9)], day)[0])
        self.assertTrue(fee_allowed(dk, [day - timedelta(days=10)], day)[0])
        three = [day - timedelta(days=days) for days in (30, 20, 10)]
        self.assertEqual(fee_allowed(dk, three, day)[1].kind, "fee_count")
        self.assertEqual(fee_allowed(dk, [], day, disputed=True)[1].kind, "fee_disputed")

    def test_manager_cannot_set_a_150_dkk_fee(self):
        with self.assertRaisesRegex(ValidationError, "Renteloven §9b"):
            self.level_2.with_user(self.manager).fee_amount = 150.0
        self.level_2.with_user(self.manager).fee_amount = 100.0
        self.assertEqual(self.level_2.fee_amount, 100.0)

    def test_manager_cannot_add_a_fourth_fee_bearing_level(self):
        self.level_1.fee_amount = 100.0
        self.level_2.trigger_days = 10
        with self.assertRaisesRegex(ValidationError, "Renteloven §9b"):
            self.env["billing.dunning.level"].with_user(self.manager).create({
                "policy_id": self.policy.id, "sequence": 9, "name": "Fourth",
                "trigger": "previous", "trigger_days": 10, "fee_amount": 50.0,
            })  # fmt: skip

    def test_manager_cannot_put_a_fee_9_days_after_the_previous(self):
        with self.assertRaisesRegex(ValidationError, "10 days"):
            self.level_3.with_user(self.manager).trigger_days = 9

    def test_collection_warning_gives_at_least_10_days(self):
        with self.assertRaisesRegex(ValidationError, "Inkassoloven §10"):
            self.level_3.with_user(self.manager).warning_days = 9

    def test_coordinator_cannot_change_a_policy(self):
        from odoo.exceptions import AccessError

        with self.assertRaises(AccessError):
            self.level_2.with_user(self.coordinator).fee_amount = 50.0

    def test_company_outside_denmark_has_no_fee_cap(self):
        self.company.billing_legal_profile = "none"
        self.level_2.fee_amount = 250.0
        self.assertEqual(self.level_2.fee_amount, 250.0)
        with self.assertRaisesRegex(ValidationError, "Renteloven §9b"):
            self.company.billing_legal_profile = "dk"

    def test_one_default_policy_per_company(self):
        from psycopg2.errors import UniqueViolation

        from odoo.tools import mute_logger

        with mute_logger("odoo.sql_db"), self.assertRaises(UniqueViolation), self.env.cr.savepoint():
            self._make_policy(self.company)
            self.env.flush_all()

    def test_customer_gets_no_policy_of_another_company(self):
        sweden = self.env["res.company"].create({"name": "Sverige AB", "currency_id": self.eur.id})
        self.company.billing_legal_profile = "dk"
        sweden.billing_legal_profile = "none"
        swedish = self._make_policy(sweden, default=False)
        swedish.level_ids.sorted("sequence")[1].fee_amount = 250.0
        customer = self.customer.with_context(allowed_company_ids=(self.company | sweden).ids)
        with self.assertRaisesRegex(UserError, "company"):
            customer.billing_dunning_policy_id = swedish
        # a choice stored before this check is ignored: the company's default applies
        self.env.cr.execute(
            "UPDATE res_partner SET billing_dunning_policy_id = jsonb_build_object(%s::text, %s) "
            "WHERE id = %s",
            [self.company.id, swedish.id, self.customer.id],
        )
        self.customer.invalidate_recordset()
        self._post_invoice(self.customer, 1000.0, due_in_days=-30)
        self.assertEqual(self._plan(dry=True).reminder_ids.level_id, self.level_1)
        # nor a policy moved into a Danish company with a fee Danish law forbids
        with self.assertRaisesRegex(ValidationError, "Renteloven §9b"):
            swedish.company_id = self.company
