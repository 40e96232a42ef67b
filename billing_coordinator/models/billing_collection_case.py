import base64
import csv
import io
import zipfile

from odoo import api, fields, models
from odoo.exceptions import UserError


class BillingCollectionCase(models.Model):
    _name = "billing.collection.case"
    _description = "Collection Case"
    _inherit = ["mail.thread"]
    _order = "date desc, id desc"
    _check_company_auto = True

    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, readonly=True)
    date = fields.Date(required=True, readonly=True, default=fields.Date.context_today)
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    move_ids = fields.Many2many("account.move", string="Claims", readonly=True)
    reminder_ids = fields.Many2many("billing.reminder", readonly=True)
    amount_residual = fields.Monetary(string="Handed Over", readonly=True)
    case_file_id = fields.Many2one("ir.attachment", readonly=True)

    @api.depends("partner_id", "date")
    def _compute_display_name(self):
        for case in self:
            case.display_name = f"{case.partner_id.name or ''} · {case.date or ''}"

    @api.model
    def _hand_over(self, warnings):
        """Hand the claims of sent collection warnings whose deadline has passed
        over to collection: one case per warning, with its case file."""
        today = fields.Date.context_today(self)
        claims = {}  # each warning's claims, read once
        for warning in warnings:
            if not warning.is_collection_warning or warning.state != "sent":
                raise UserError(
                    self.env._("Only a sent collection warning can be handed over to collection.")
                )
            if warning.collection_deadline >= today:
                raise UserError(
                    self.env._(
                        "The collection warning gives the customer until %(date)s (%(rule)s).",
                        date=warning.collection_deadline,
                        rule=warning.company_id._billing_legal_rules().warning_rule or "-",
                    )
                )
            claims[warning] = warning._claims_to_hand_over()
            if not claims[warning]:
                raise UserError(
                    self.env._(
                        "%(warning)s has no claim left to hand over: its invoices are paid, "
                        "disputed or with collection already.",
                        warning=warning.display_name,
                    )
                )
        cases = self.create([warning._collection_case_values(claims[warning]) for warning in warnings])
        for case in cases:
            case._attach_case_file()
            reason = self.env._("Handed over to collection on %(date)s", date=case.date)
            case.partner_id.with_company(case.company_id).write(
                {"billing_account_state": "blocked", "billing_account_state_reason": reason}
            )
            case.partner_id.message_post(
                body=self.env._(
                    "Handed over to collection: %(count)s invoices, %(amount)s %(currency)s.",
                    count=len(case.move_ids),
                    amount=case.amount_residual,
                    currency=case.currency_id.name,
                ),
                attachment_ids=case.case_file_id.ids,
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "view_mode": "list,form",
            "domain": [("id", "in", cases.ids)],
        }

    def _attach_case_file(self):
        self.ensure_one()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("claims.csv", self._claims_csv())
            for name, content in self._documents():
                archive.writestr(name, content)
        self.case_file_id = self.env["ir.attachment"].create({
            "name": f"collection-{self.partner_id.id}-{self.date}.zip",
            "datas": base64.b64encode(buffer.getvalue()),
            "res_model": self._name,
            "res_id": self.id,
            "mimetype": "application/zip",
        })  # fmt: skip

    def _claims_csv(self):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "invoice",
                "invoice_date",
                "due_date",
                "currency",
                "amount_total",
                "amount_residual",
                "customer",
                "vat",
            ]
        )
        for move in self.move_ids:
            writer.writerow([
                move.name, move.invoice_date, move.invoice_date_due, move.currency_id.name,
                move.amount_total, move.amount_residual, self.partner_id.name, self.partner_id.vat or "",
            ])  # fmt: skip
        return out.getvalue()

    def _documents(self):
        reports = self.env["ir.actions.report"]
        for move in self.move_ids:
            content, kind = reports._render_qweb_pdf("account.account_invoices", move.ids)
            yield f"{move.name.replace('/', '-')}.{kind}", content
        for reminder in self.reminder_ids:
            content, kind = reports._render_qweb_pdf(
                "billing_coordinator.billing_reminder_report_action", reminder.ids
            )
            yield f"reminder-{reminder.id}.{kind}", content
