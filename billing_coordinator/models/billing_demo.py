from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Command

# (customer, coordinator, currency, [(days until due, amount, payment), ...])
# days until due < 0 means overdue; payment is one of
# None, "full", "partial", "over", "duplicate".
DEMO_RECEIVABLES = [
    ("partner_dk_tomrer_demo", "user_coordinator_mette_demo", "DKK", [
        (12, 18_750.00, None), (-14, 9_400.00, "partial"), (-47, 12_500.00, None),
        (-95, 4_375.00, None), (-20, 6_250.00, "full"),
    ]),
    ("partner_dk_kaffe_demo", "user_coordinator_mette_demo", "DKK", [
        (5, 3_125.00, None), (-8, 2_480.00, None), (-35, 7_900.00, "over"),
    ]),
    ("partner_dk_vvs_demo", "user_coordinator_mette_demo", "DKK", [
        (-66, 24_000.00, None), (-125, 15_600.00, None), (-3, 8_800.00, "duplicate"),
    ]),
    ("partner_dk_trykkeri_demo", "user_coordinator_mette_demo", "DKK", [
        (20, 5_500.00, None), (-25, 11_200.00, None),
    ]),
    ("partner_dk_cykler_demo", "user_coordinator_lars_demo", "DKK", [
        (-40, 3_750.00, "partial"), (-72, 1_990.00, None), (9, 2_600.00, None),
    ]),
    ("partner_dk_bygge_demo", "user_coordinator_lars_demo", "DKK", [
        (-12, 48_500.00, None), (-100, 9_875.00, "full"),
    ]),
    ("partner_se_mobler_demo", "user_coordinator_lars_demo", "SEK", [
        (-18, 42_000.00, None), (-52, 13_500.00, "partial"), (15, 8_900.00, None),
    ]),
    ("partner_de_logistik_demo", "user_coordinator_lars_demo", "EUR", [
        (-33, 2_150.00, None), (-91, 980.00, None), (7, 1_640.00, "full"),
    ]),
]  # fmt: skip

# the one invoice the demo customer disputes: (customer, index in its list)
DEMO_DISPUTED = ("partner_dk_vvs_demo", 0)
# units of the company currency (DKK) per unit of foreign currency
DEMO_RATES = {"EUR": 7.46, "SEK": 0.66}


class BillingDemo(models.AbstractModel):
    _name = "billing.demo"
    _description = "Billing Coordinator Demo Data"

    @api.model
    def _load_demo_receivables(self):
        company = self.env.ref("billing_coordinator.billing_company_demo")
        env = (
            self.sudo()
            .with_company(company)
            .with_context(allowed_company_ids=company.ids, tracking_disable=True, mail_notrack=True)
            .env
        )
        if not env["account.journal"].search_count([("company_id", "=", company.id)], limit=1):
            env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
            # the generic chart brings USD; the demo company books in DKK
            company.currency_id = env.ref("base.DKK")
        self._demo_currency_rates(env, company)
        tax = self._demo_sale_tax(env, company)
        invoices_by_customer = {}
        for customer_ref, coordinator_ref, currency_code, rows in DEMO_RECEIVABLES:
            customer = env.ref(f"billing_coordinator.{customer_ref}")
            customer.billing_coordinator_id = env.ref(f"billing_coordinator.{coordinator_ref}")
            currency = env.ref(f"base.{currency_code}")
            invoices_by_customer[customer_ref] = self._demo_invoices(env, customer, currency, rows, tax)
        disputed_customer, disputed_index = DEMO_DISPUTED
        self._demo_pricing_dispute(env, invoices_by_customer[disputed_customer][disputed_index])
        env["billing.discrepancy"]._run_detection(company)

    def _demo_pricing_dispute(self, env, invoice):
        """The customer disputes the price of one invoice: a real ticket marks it disputed."""
        env["billing.discrepancy"].create({
            "discrepancy_type": "pricing_dispute",
            "company_id": invoice.company_id.id,
            "partner_id": invoice.partner_id.id,
            "currency_id": invoice.currency_id.id,
            "expected_amount": invoice.amount_total,
            "received_amount": invoice.amount_total * 0.8,
            "invoice_ids": [Command.set(invoice.ids)],
            "reason": "Kunden mener, at timeprisen er 20 % over den aftalte. / "
            "The customer says the hourly rate is 20 % above the agreed one.",
        })  # fmt: skip

    def _demo_currency_rates(self, env, company):
        today = fields.Date.context_today(self)
        for code, company_per_unit in DEMO_RATES.items():
            currency = env.ref(f"base.{code}")
            currency.active = True
            if not currency.rate_ids.filtered(lambda r, c=company: r.company_id == c):
                env["res.currency.rate"].create({
                    "currency_id": currency.id,
                    "company_id": company.id,
                    "name": today - timedelta(days=365),
                    "rate": 1 / company_per_unit,
                })  # fmt: skip

    def _demo_sale_tax(self, env, company):
        return env["account.tax"].create({
            "name": "Salgsmoms 25%",
            "amount": 25.0,
            "amount_type": "percent",
            "type_tax_use": "sale",
            "company_id": company.id,
        })  # fmt: skip

    def _demo_invoices(self, env, customer, currency, rows, tax):
        today = fields.Date.context_today(self)
        vals_list = []
        for days_until_due, amount, _payment in rows:
            due = today + timedelta(days=days_until_due)
            vals_list.append({
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "currency_id": currency.id,
                "invoice_date": due - timedelta(days=30),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [Command.create({
                    "name": "Konsulentydelser / Consulting services",
                    "quantity": 1,
                    "price_unit": amount,
                    "tax_ids": [Command.set(tax.ids)] if currency.name == "DKK" else [],
                })],
            })  # fmt: skip
        invoices = env["account.move"].create(vals_list)
        invoices.action_post()
        for invoice, (_days, _amount, payment) in zip(invoices, rows, strict=True):
            if payment:
                self._demo_pay(env, invoice, payment)
        return invoices

    def _demo_pay(self, env, invoice, kind):
        residual = invoice.amount_residual
        amount = {
            "full": residual,
            "partial": round(residual / 2, 2),
            "over": residual + 500,
            "duplicate": residual,
        }[kind]
        pay_date = min(invoice.invoice_date_due, fields.Date.context_today(self))
        env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create(
            {
                "amount": amount,
                "payment_date": pay_date,
                "payment_difference_handling": "open",
            }
        )._create_payments()
        if kind == "duplicate":
            # the customer paid the same invoice twice: an unreconciled payment
            duplicate = env["account.payment"].create(
                {
                    "payment_type": "inbound",
                    "partner_type": "customer",
                    "partner_id": invoice.partner_id.id,
                    "amount": amount,
                    "currency_id": invoice.currency_id.id,
                    "date": pay_date + timedelta(days=2),
                    "memo": invoice.name,
                }
            )
            duplicate.action_post()
