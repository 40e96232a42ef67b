from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.data_checks import clean_vat, email_is_valid, vat_is_valid
from ..tools.sql_settings import local_setting

CHECK_CODES = [
    ("vat", "Missing or invalid VAT/CVR number"),
    ("invoice_email", "Missing or malformed invoice e-mail"),
    ("address", "Incomplete address"),
    ("payment_terms", "No payment terms"),
    ("language", "No language"),
    ("duplicate_vat", "Duplicate: same VAT number"),
    ("duplicate_bank", "Duplicate: same bank account"),
    ("duplicate_email", "Duplicate: same e-mail"),
    ("duplicate_name", "Duplicate: similar name in the same city"),
]


# checks that block (or warn at) posting when a company starts using them
BLOCKING_BY_DEFAULT = {"vat", "duplicate_vat"}


class BillingDataCheck(models.Model):
    """A data-quality rule for customers; each company has its own set to switch on or off."""

    _name = "billing.data.check"
    _description = "Customer Data Check"
    _order = "company_id, sequence, id"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, readonly=True, default=lambda self: self.env.company
    )
    code = fields.Selection(CHECK_CODES, string="Check", required=True, readonly=True)
    sequence = fields.Integer(default=10)
    enabled = fields.Boolean(
        string="Switched On",
        default=True,
        help="Switched-off checks report nothing.",
    )
    blocking = fields.Boolean(
        help="Posting an invoice for a customer with this issue warns, or is refused, "
        "per the company setting.",
    )

    _company_code_unique = models.Constraint("UNIQUE(company_id, code)", "A company has each check once.")

    @api.depends("code")
    def _compute_display_name(self):
        labels = dict(self._fields["code"]._description_selection(self.env))
        for check in self:
            check.display_name = labels.get(check.code, "")

    def write(self, vals):
        result = super().write(vals)
        if "enabled" in vals and not vals["enabled"]:
            self.env["billing.data.issue"].sudo().search([("check_id", "in", self.ids)]).unlink()
        return result

    def action_refresh_all(self):
        """Check every customer of the current company now."""
        self.env["billing.data.issue"].sudo()._refresh_company(self.env.company)
        return True

    @api.model
    def _ensure_checks(self, companies=None):
        """Give every company (or ``companies``) the full set of checks it lacks."""
        companies = companies or self.env["res.company"].sudo().search([("active", "in", [True, False])])
        existing = {
            (c.company_id.id, c.code) for c in self.sudo().search([("company_id", "in", companies.ids)])
        }
        self.sudo().create([
            {
                "company_id": company.id,
                "code": code,
                "sequence": 10 * (index + 1),
                "blocking": code in BLOCKING_BY_DEFAULT,
            }
            for company in companies
            for index, (code, _label) in enumerate(CHECK_CODES)
            if (company.id, code) not in existing
        ])  # fmt: skip

    @api.model
    def _enabled_checks(self, company):
        return self.sudo().search([("company_id", "=", company.id), ("enabled", "=", True)])

    @api.model
    def _companies_checking(self):
        """The companies with at least one check switched on (as superuser: also
        those the user does not work in)."""
        groups = self.sudo()._read_group([("enabled", "=", True)], ["company_id"])
        return self.env["res.company"].sudo().browse(company.id for (company,) in groups)

    def _find_problems(self, partners, company):
        """``{partner_id: (detail, duplicate partner ids)}`` for the partners that fail this check."""
        self.ensure_one()
        return getattr(self, f"_find_{self.code}")(partners.with_company(company), company)

    def _find_vat(self, partners, company):
        return {
            p.id: (p.vat or "", [])
            for p in partners
            if p.is_company and not vat_is_valid(p.vat, p.country_id.code)
        }

    def _find_invoice_email(self, partners, company):
        problems = {}
        for partner in partners:
            email = partner._billing_invoice_email()
            if not email_is_valid(email):
                problems[partner.id] = (email or "", [])
        return problems

    def _find_address(self, partners, company):
        return {p.id: ("", []) for p in partners if not (p.street and p.zip and p.city and p.country_id)}

    def _find_payment_terms(self, partners, company):
        return {p.id: ("", []) for p in partners if not p.property_payment_term_id}

    def _find_language(self, partners, company):
        return {p.id: ("", []) for p in partners if not p.lang}

    def _find_duplicate_vat(self, partners, company):
        if not any(clean_vat(p.vat) for p in partners):
            return {}
        return self._duplicates(
            partners,
            company,
            SQL(
                """trim(p.vat) != ''
                   AND upper(regexp_replace(p.vat, '[^A-Za-z0-9]', '', 'g'))
                     = upper(regexp_replace(q.vat, '[^A-Za-z0-9]', '', 'g'))"""
            ),
        )

    def _find_duplicate_email(self, partners, company):
        return self._duplicates(
            partners,
            company,
            SQL(
                "p.email IS NOT NULL AND trim(p.email) != '' AND lower(trim(p.email)) = lower(trim(q.email))"
            ),
        )

    def _find_duplicate_bank(self, partners, company):
        return self._duplicates(
            partners,
            company,
            SQL(
                """EXISTS (
                    SELECT 1
                      FROM res_partner_bank bp
                      JOIN res_partner_bank bq ON bq.sanitized_acc_number = bp.sanitized_acc_number
                      JOIN res_partner pq ON pq.id = bq.partner_id
                     WHERE bp.partner_id IN (SELECT id FROM res_partner WHERE commercial_partner_id = p.id)
                       AND pq.commercial_partner_id = q.id
                       AND bp.active AND bq.active
                )"""
            ),
        )

    def _find_duplicate_name(self, partners, company):
        threshold = company.billing_duplicate_name_similarity
        # the % operator (which the trigram index serves) applies pg_trgm's own
        # threshold: set it to the company's, below the default 0.3 too
        with local_setting(self.env.cr, "pg_trgm.similarity_threshold", threshold):
            return self._duplicates(
                partners,
                company,
                SQL(
                    """lower(p.name) %% lower(q.name)
                       AND lower(trim(p.city)) = lower(trim(q.city))"""
                ),
                detail=SQL("max(round(similarity(lower(p.name), lower(q.name))::numeric * 100))::text"),
            )

    def _duplicates(self, partners, company, same, detail=None):
        """Pairs of customers of ``company`` (p among ``partners``, q any other) matching ``same``."""
        self.env["res.partner"].flush_model()
        self.env["res.partner.bank"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT p.id, array_agg(DISTINCT q.id ORDER BY q.id), %(detail)s
                  FROM res_partner p
                  JOIN res_partner q
                    ON q.id != p.id
                   AND q.active AND q.parent_id IS NULL AND q.customer_rank > 0
                   AND (q.company_id IS NULL OR q.company_id = %(company)s)
                 WHERE p.id IN %(ids)s AND %(same)s
              GROUP BY p.id
                """,
                detail=detail or SQL("''"),
                company=company.id,
                ids=tuple(partners.ids),
                same=same,
            )
        )
        return {partner_id: (rank or "", duplicate_ids) for partner_id, duplicate_ids, rank in rows}
