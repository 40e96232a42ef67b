from collections import defaultdict

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from ..tools.relations import replace_links
from ..tools.sql_locks import try_job_lock

REFRESH_BATCH = 500


class BillingDataIssue(models.Model):
    """What a data-quality check found wrong with a customer, per company."""

    _name = "billing.data.issue"
    _description = "Customer Data Issue"
    _order = "partner_id, check_sequence, id"
    _rec_name = "partner_id"

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade", readonly=True
    )
    check_id = fields.Many2one("billing.data.check", required=True, ondelete="cascade", readonly=True)
    check_sequence = fields.Integer(related="check_id.sequence", store=True)
    blocking = fields.Boolean(related="check_id.blocking")
    detail = fields.Char(readonly=True, help="The value found wrong, e.g. the invalid VAT number.")
    duplicate_partner_ids = fields.Many2many(
        "res.partner",
        "billing_data_issue_duplicate_rel",
        "issue_id",
        "partner_id",
        string="Possible Duplicates",
        readonly=True,
    )
    coordinator_id = fields.Many2one(
        "res.users", compute="_compute_coordinator_id", search="_search_coordinator_id"
    )
    message = fields.Char(string="What to Fix", compute="_compute_message")

    _partner_check_unique = models.Constraint(
        "UNIQUE(company_id, partner_id, check_id)",
        "A check reports a customer once per company.",
    )

    def init(self):
        # similarity() and % come from pg_trgm (a trusted extension the database owner may create)
        self.env.cr.execute(SQL("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        self.env.cr.execute(
            SQL(
                "CREATE INDEX IF NOT EXISTS billing_res_partner_name_trgm_idx"
                " ON res_partner USING gin (lower(name) gin_trgm_ops) WHERE parent_id IS NULL"
            )
        )

    @api.depends("partner_id", "company_id")
    def _compute_coordinator_id(self):
        for issue in self:
            issue.coordinator_id = issue.partner_id.with_company(issue.company_id).billing_coordinator_id

    def _search_coordinator_id(self, operator, value):
        """The coordinator of each issue's customer in the issue's company (the
        coordinator is set per company)."""
        partners = self.env["res.partner"].with_context(active_test=False)
        return Domain.OR(
            Domain("company_id", "=", company.id)
            & Domain(
                "partner_id",
                "in",
                partners.with_company(company)._search([("billing_coordinator_id", operator, value)]),
            )
            for company in self.env.companies
        )

    @api.depends("check_id.code", "detail", "duplicate_partner_ids")
    def _compute_message(self):
        for issue in self:
            issue.message = issue._what_to_fix()

    def _what_to_fix(self):
        self.ensure_one()
        code, detail = self.check_id.code, self.detail
        duplicates = ", ".join(self.duplicate_partner_ids.sudo().mapped("display_name"))
        if code == "vat":
            if not detail:
                return self.env._("Add the company's VAT/CVR number.")
            return self.env._(
                "The VAT/CVR number %(vat)s is not valid (format or checksum): correct it.", vat=detail
            )
        if code == "invoice_email":
            if not detail:
                return self.env._("Add an invoice e-mail address (profile, invoice contact or customer).")
            return self.env._("The invoice e-mail %(email)s is malformed: correct it.", email=detail)
        messages = {
            "address": self.env._("Complete the address: street, zip, city and country."),
            "payment_terms": self.env._("Set the customer's payment terms."),
            "language": self.env._("Set the customer's language."),
            "duplicate_vat": self.env._(
                "Same VAT number as %(partners)s: merge the customers or correct the number.",
                partners=duplicates,
            ),
            "duplicate_bank": self.env._(
                "Same bank account as %(partners)s: merge the customers or correct the account.",
                partners=duplicates,
            ),
            "duplicate_email": self.env._(
                "Same e-mail as %(partners)s: merge the customers or correct the e-mail.",
                partners=duplicates,
            ),
            "duplicate_name": self.env._(
                "Name similar to %(partners)s in the same city: merge them if they are one customer.",
                partners=duplicates,
            ),
        }
        return messages.get(code, "")

    @api.model
    def _refresh_for_partners(self, partners, company):
        """Run the enabled checks of ``company`` on ``partners`` and store exactly
        what they find: new issues created, solved ones removed, changed ones updated.
        Those no longer customers of ``company`` (archived, now a contact, moved to
        another company) lose their issues there."""
        # a shared customer is checked in companies the user may not work in
        partners = partners.sudo().with_company(company).exists()
        if not partners:
            return
        customers = partners.filtered_domain(self._customer_domain(company))
        found = {}
        for check in self.env["billing.data.check"]._enabled_checks(company) if customers else ():
            for partner_id, (detail, duplicate_ids) in check._find_problems(customers, company).items():
                found[partner_id, check.id] = (detail, duplicate_ids)
        existing = self.search([("company_id", "=", company.id), ("partner_id", "in", partners.ids)])
        stale, details, duplicates = [], defaultdict(list), {}
        for issue in existing:
            key = (issue.partner_id.id, issue.check_id.id)
            if key not in found:
                stale.append(issue.id)
                continue
            detail, duplicate_ids = found.pop(key)
            if issue.detail != detail:
                details[detail].append(issue.id)
            if set(issue.duplicate_partner_ids.ids) != set(duplicate_ids):
                duplicates[issue.id] = duplicate_ids
        self.browse(stale).unlink()
        for detail, issue_ids in details.items():
            self.browse(issue_ids).write({"detail": detail})
        # a cluster of duplicates that grows changes every member's issue: one statement
        replace_links(self.browse(duplicates), "duplicate_partner_ids", duplicates)
        self.create([
            {
                "company_id": company.id,
                "partner_id": partner_id,
                "check_id": check_id,
                "detail": detail,
                "duplicate_partner_ids": [fields.Command.set(duplicate_ids)],
            }
            for (partner_id, check_id), (detail, duplicate_ids) in found.items()
        ])  # fmt: skip
        customers._billing_activate_completed_onboarding()

    def _customer_domain(self, company):
        return [
            ("active", "=", True),
            ("parent_id", "=", False),
            ("customer_rank", ">", 0),
            ("company_id", "in", [False, company.id]),
        ]

    @api.model
    def _refresh_company(self, company):
        """All customers of ``company``, batch by batch (no commit: for the button)."""
        partners = self.env["res.partner"].with_company(company).search(self._customer_domain(company))
        for start in range(0, len(partners), REFRESH_BATCH):
            self._refresh_for_partners(partners[start : start + REFRESH_BATCH], company)
        self._remove_issues_of_former_customers(company)

    def _remove_issues_of_former_customers(self, company):
        """The issues of partners no longer customers of ``company``: archived,
        now a contact, moved to another company."""
        partners = self.env["res.partner"].with_context(active_test=False)
        customers = partners._search(self._customer_domain(company))
        self.search([("company_id", "=", company.id), ("partner_id", "not in", customers)]).unlink()

    @api.model
    def _refresh_company_ids(self, company_ids):
        """The same for companies given by id (demo data, server actions)."""
        for company in self.env["res.company"].browse(company_ids):
            self._refresh_company(company)

    @api.model
    def _cron_refresh_data_issues(self):
        """Nightly: refresh every company's customers once a day, one batch at a time.

        Each company keeps a cursor (the last customer id done), so a run that
        stops half-way resumes where it was; the job locks the company while a
        batch runs, so a second worker skips it instead of doing it twice.
        """
        cron = self.env["ir.cron"]
        today = fields.Date.context_today(self)
        for company in self.env["billing.data.check"]._companies_checking():
            while True:
                if not self._lock_company(company):
                    break
                if company.billing_data_check_date == today:
                    break
                batch = self._next_batch(company)
                if batch:
                    self._refresh_for_partners(batch, company)
                    company.billing_data_check_cursor = batch[-1].id
                else:
                    self._remove_issues_of_former_customers(company)
                    company.write({"billing_data_check_date": today, "billing_data_check_cursor": 0})
                if cron._commit_progress(len(batch)) <= 0:
                    return

    def _lock_company(self, company):
        """Whether this transaction may check ``company`` (no other worker of the
        job is checking it); its date and cursor are then read anew."""
        if not try_job_lock(self.env.cr, self._name, company.id):
            return False
        company.invalidate_recordset(["billing_data_check_date", "billing_data_check_cursor"])
        return True

    def _next_batch(self, company):
        return (
            self.env["res.partner"]
            .with_company(company)
            .search(
                [*self._customer_domain(company), ("id", ">", company.billing_data_check_cursor)],
                order="id",
                limit=REFRESH_BATCH,
            )
        )
