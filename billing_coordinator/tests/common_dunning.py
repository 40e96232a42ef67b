from datetime import timedelta
from unittest.mock import patch

from odoo import fields

from .common import BillingCommon


def _no_commit(self, processed=0, *, remaining=None, deactivate=False):
    """Tests run in one transaction: the cron's progress report never commits."""
    return float("inf")


class DunningCommon(BillingCommon):
    """A Danish company (DKK) with a three-level default policy, a Danish
    business customer with an e-mail address and a rate table."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(patch.object(type(cls.env["ir.cron"]), "_commit_progress", _no_commit))
        # the accounting test user sets things up as a billing manager
        cls.env.user.group_ids += cls.env.ref("billing_coordinator.group_billing_manager")
        cls.dkk = cls.env.ref("base.DKK")
        cls.eur = cls.env.ref("base.EUR")
        (cls.dkk | cls.eur).active = True
        cls.env["res.lang"]._activate_lang("da_DK")
        cls.env["res.lang"]._activate_lang("en_US")
        cls.company.write({"currency_id": cls.dkk.id, "country_id": cls.env.ref("base.dk").id})
        cls.env["res.currency.rate"].create({
            "currency_id": cls.eur.id,
            "company_id": cls.company.id,
            "name": cls.today - timedelta(days=3650),
            "rate": 1 / 7.5,
        })  # fmt: skip
        cls.customer.write({"email": "bogholderi@kunde.example", "lang": "da_DK"})
        cls.policy = cls._make_policy(cls.company)
        cls.level_1, cls.level_2, cls.level_3 = cls.policy.level_ids.sorted("sequence")
        cls.Run = cls.env["billing.dunning.run"]

    @classmethod
    def _make_policy(cls, company, default=True):
        return (
            cls.env["billing.dunning.policy"]
            .with_company(company)
            .create({
                "name": "Test policy",
                "company_id": company.id,
                "is_default": default,
                "level_ids": [
                    fields.Command.create({
                        "sequence": 1, "name": "Reminder 1", "trigger": "due", "trigger_days": 5,
                    }),
                    fields.Command.create({
                        "sequence": 2, "name": "Reminder 2", "trigger": "previous", "trigger_days": 10,
                        "fee_amount": 100.0, "apply_interest": True,
                    }),
                    fields.Command.create({
                        "sequence": 3, "name": "Collection warning",
                        "trigger": "previous", "trigger_days": 10,
                        "fee_amount": 100.0, "apply_interest": True, "apply_compensation": True,
                        "is_collection_warning": True, "warning_days": 10,
                    }),
                ],
            })
        )  # fmt: skip

    def _plan(self, dry=False, company=None, partner=None):
        vals = {"company_id": (company or self.company).id, "is_dry_run": dry}
        if partner:
            vals["partner_id"] = partner.id
        run = self.Run.with_company(company or self.company).create(vals)
        run.action_plan()
        return run

    def _reminders_of(self, partner):
        return self.env["billing.reminder"].search(
            [("partner_id", "=", partner.id), ("is_dry_run", "=", False), ("state", "!=", "cancelled")]
        )
