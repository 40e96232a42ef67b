from datetime import date

from odoo.tests import tagged

from ..tools.legal_profiles import PROFILES, get_profile, late_interest
from .common import BillingCommon


@tagged("post_install", "-at_install")
class TestLegalProfiles(BillingCommon):
    def test_danish_limits_are_the_law(self):
        dk = PROFILES["dk"]
        self.assertEqual(dk.max_reminder_fee, 100.0)
        self.assertEqual(dk.max_fee_reminders, 3)
        self.assertEqual(dk.min_days_between_fees, 10)
        self.assertEqual(dk.interest_margin, 8.0)
        self.assertEqual(dk.compensation_amount, 310.0)
        self.assertEqual(dk.min_collection_warning_days, 10)
        self.assertEqual(get_profile("unknown"), PROFILES["none"])

    def test_interest_switches_rate_on_first_of_july(self):
        rates = [(date(2024, 1, 1), 3.75), (date(2024, 7, 1), 3.50)]
        # 29 days at 11.75 % (2-30 June), 32 days at 11.50 % (1 July-1 August)
        expected = round(10_000 * (0.1175 * 29 / 365 + 0.115 * 32 / 365), 2)
        self.assertEqual(late_interest(10_000, rates, date(2024, 6, 1), date(2024, 8, 1), 8.0), expected)

    def test_interest_actual_actual_across_a_leap_year(self):
        rates = [(date(2023, 7, 1), 3.60), (date(2024, 1, 1), 3.75)]
        interest = late_interest(10_000, rates, date(2023, 12, 1), date(2024, 1, 31), 8.0, "act/act")
        self.assertEqual(interest, round(10_000 * (0.116 * 30 / 365 + 0.1175 * 31 / 366), 2))

    def test_interest_needs_a_rate_in_force(self):
        with self.assertRaises(ValueError):
            late_interest(100, [(date(2024, 7, 1), 3.5)], date(2024, 6, 1), date(2024, 8, 1), 8.0)
        self.assertEqual(late_interest(100, [], date(2024, 6, 1), date(2024, 6, 1), 8.0), 0.0)

    def test_company_profile_follows_country(self):
        self.company.country_id = self.env.ref("base.dk")
        self.assertEqual(self.company.billing_legal_profile, "dk")
        self.assertEqual(self.company._billing_legal_rules().fee_rule, "Renteloven §9b")
        self.company.country_id = self.env.ref("base.se")
        self.assertEqual(self.company.billing_legal_profile, "eu")
        self.company.country_id = self.env.ref("base.us")
        self.assertEqual(self.company.billing_legal_profile, "none")

    def test_administrator_sets_profile_in_settings(self):
        settings = self.env["res.config.settings"].create({})
        settings.billing_legal_profile = "eu"
        settings.execute()
        self.assertEqual(self.company.billing_legal_profile, "eu")

    def test_rate_table_gives_country_rates_in_order(self):
        rates = self.env["billing.interest.rate"].with_user(self.manager)
        rates.create([
            {"date_from": "2031-07-01", "reference_rate": 2.5},
            {"date_from": "2031-01-01", "reference_rate": 3.0},
        ])  # fmt: skip
        found = [row for row in rates._rates_for_country(self.env.ref("base.dk")) if row[0].year == 2031]
        self.assertEqual(found, [(date(2031, 1, 1), 3.0), (date(2031, 7, 1), 2.5)])
