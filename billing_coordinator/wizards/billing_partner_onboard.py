from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.data_checks import email_is_valid, vat_is_valid


class BillingPartnerOnboard(models.TransientModel):
    """New customer account: everything is validated before anything is created."""

    _name = "billing.partner.onboard"
    _description = "New Customer Account"
    _check_company_auto = True

    name = fields.Char(string="Company Name")
    vat = fields.Char(string="VAT/CVR Number")
    street = fields.Char()
    zip = fields.Char()
    city = fields.Char()
    country_id = fields.Many2one("res.country", default=lambda self: self.env.company.country_id)
    email = fields.Char(string="Company E-mail")
    phone = fields.Char()
    invoice_contact_name = fields.Char(string="Invoice Contact")
    invoice_email = fields.Char(string="Invoice E-mail")
    channel = fields.Selection(
        [("email", "E-mail"), ("letter", "Letter")], string="Preferred Channel", default="email"
    )
    payment_term_id = fields.Many2one("account.payment.term", string="Payment Terms", check_company=True)
    credit_limit = fields.Float()
    currency_id = fields.Many2one(related="company_id.currency_id")
    credit_limit_threshold = fields.Monetary(related="company_id.billing_credit_limit_threshold")
    coordinator_id = fields.Many2one(
        "res.users",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        default=lambda self: self.env.user,
        help="Leave empty to let the portfolio rules choose.",
    )
    lang = fields.Selection(selection="_selection_lang", string="Language")
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, readonly=True)

    @api.model
    def _selection_lang(self):
        return self.env["res.lang"].get_installed()

    def action_create_customer(self):
        self.ensure_one()
        self._check_input()
        with self.env.cr.savepoint():
            customer = self._create_customer()
            self._check_customer_data(customer)
        customer._billing_request_credit_limit(self.credit_limit)
        customer._billing_refresh_data_issues()
        customer.message_post(
            body=self.env._(
                "Customer account opened by %(user)s; onboarding started.", user=self.env.user.name
            )
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "res_id": customer.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }

    def _check_input(self):
        """Every problem with the typed data in one clear message."""
        missing = [
            label
            for label, value in (
                (self.env._("company name"), self.name),
                (self.env._("VAT/CVR number"), self.vat),
                (self.env._("country"), self.country_id),
                (self.env._("invoice e-mail"), self.invoice_email),
                (self.env._("payment terms"), self.payment_term_id),
                (self.env._("language"), self.lang),
            )
            if not value
        ]
        problems = []
        if missing:
            problems.append(self.env._("Fill in: %(fields)s.", fields=", ".join(missing)))
        if self.vat and not vat_is_valid(self.vat, self.country_id.code):
            problems.append(
                self.env._("The VAT/CVR number %(vat)s is not valid (format or checksum).", vat=self.vat)
            )
        for email in (self.invoice_email, self.email):
            if email and not email_is_valid(email):
                problems.append(self.env._("The e-mail address %(email)s is malformed.", email=email))
        if self.credit_limit < 0:
            problems.append(self.env._("The credit limit cannot be negative."))
        if problems:
            raise UserError("\n".join(problems))

    def _create_customer(self):
        partners = self.env["res.partner"].with_context(
            billing_skip_data_check=True, billing_skip_assignment=True
        )
        customer = partners.create({
            "name": self.name,
            "is_company": True,
            "company_id": self.company_id.id,
            "customer_rank": 1,
            "vat": self.vat,
            "street": self.street,
            "zip": self.zip,
            "city": self.city,
            "country_id": self.country_id.id,
            "email": self.email or self.invoice_email,
            "phone": self.phone,
            "lang": self.lang,
            "property_payment_term_id": self.payment_term_id.id,
            "billing_channel": self.channel,
            "billing_invoice_email": self.invoice_email,
            "billing_account_state": "onboarding",
            "billing_account_state_reason": self.env._("New customer: onboarding checklist open"),
        })  # fmt: skip
        if self.invoice_contact_name:
            contact = partners.create({
                "name": self.invoice_contact_name,
                "parent_id": customer.id,
                # Odoo takes the parent's company in the form only: the contact
                # of a customer of company B would be every company's
                "company_id": customer.company_id.id,
                "type": "invoice",
                "email": self.invoice_email,
                "lang": self.lang,
            })  # fmt: skip
            customer.billing_invoice_contact_id = contact
        if self.coordinator_id:
            customer.billing_coordinator_id = self.coordinator_id
        else:
            self.env["billing.assignment.rule"]._assign_coordinators(customer)
        return customer

    def _check_customer_data(self, customer):
        """Run the company's switched-on data checks on the new customer (inside a
        savepoint: any problem undoes the creation)."""
        issues = self.env["billing.data.issue"]
        problems = []
        for check in self.env["billing.data.check"]._enabled_checks(self.company_id):
            for detail, duplicate_ids in check._find_problems(customer, self.company_id).values():
                issue = issues.new({
                    "check_id": check.id,
                    "detail": detail,
                    "duplicate_partner_ids": [fields.Command.set(duplicate_ids)],
                })  # fmt: skip
                problems.append(issue._what_to_fix())
        if problems:
            raise UserError(
                self.env._("The customer was not created:\n%(problems)s", problems="\n".join(problems))
            )
