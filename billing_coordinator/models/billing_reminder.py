import base64
import io
import logging
import re
from datetime import timedelta

import lxml.html

from odoo import api, fields, models, modules, tools
from odoo.exceptions import UserError
from odoo.fields import Command
from odoo.tools import SQL
from odoo.tools.pdf import ArrayObject, NameObject, PdfFileReader, PdfFileWriter

from ..tools.activities import schedule_activities
from ..tools.chatter import log_notes
from ..tools.dunning_sql import in_collection_sql, promised_sql
from ..tools.relations import add_links
from ..tools.sql_arrays import id_array

_logger = logging.getLogger(__name__)

REMINDER_STATES = [
    ("draft", "Draft"),
    ("to_send", "To Send"),
    ("sent", "Sent"),
    ("failed", "Sending Failed"),
    ("cancelled", "Cancelled"),
]

CHANNELS = [
    ("email", "E-mail"),
    ("letter", "Printed Letter"),
    ("both", "E-mail and Printed Letter"),
]
# the channels that send an e-mail
EMAIL_CHANNELS = ("email", "both")

LETTER_REPORT = "billing_coordinator.billing_reminder_report_action"
MAIL_STATEMENT = "billing_coordinator.billing_reminder_mail_statement"
LETTER_MARKER = "bcletter"
LETTER_MARKER_RE = re.compile(rf"{LETTER_MARKER}:(\d+)")


class BillingReminder(models.Model):
    _name = "billing.reminder"
    _description = "Payment Reminder"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _check_company_auto = True

    run_id = fields.Many2one(
        "billing.dunning.run", required=True, ondelete="cascade", index=True, readonly=True
    )
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, index=True, readonly=True)
    contact_id = fields.Many2one(
        "res.partner",
        string="Invoice Contact",
        help="The reminder is sent to the customer's invoice address.",
    )
    email_to = fields.Char(
        string="E-mail To",
        compute="_compute_email_to",
        store=True,
        readonly=False,
        help="Where the reminder is e-mailed: the invoice e-mail of the customer's billing profile, "
        "else the invoice contact's e-mail.",
    )
    level_id = fields.Many2one("billing.dunning.level", required=True, readonly=True, ondelete="restrict")
    is_collection_warning = fields.Boolean(related="level_id.is_collection_warning")
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    date = fields.Date(required=True, readonly=True)
    is_dry_run = fields.Boolean(readonly=True)
    state = fields.Selection(REMINDER_STATES, default="draft", required=True, readonly=True, tracking=True)
    channel = fields.Selection(CHANNELS, required=True, default="email")
    line_ids = fields.One2many("billing.reminder.line", "reminder_id", string="Invoices", readonly=True)
    fee_amount = fields.Monetary(string="Reminder Fee", readonly=True)
    interest_amount = fields.Monetary(compute="_compute_amounts", store=True, string="Late Interest")
    compensation_amount = fields.Monetary(compute="_compute_amounts", store=True, string="Compensation")
    amount_residual = fields.Monetary(compute="_compute_amounts", store=True, string="Overdue")
    amount_total = fields.Monetary(compute="_compute_amounts", store=True, string="Total Due")
    amount_residual_company = fields.Float(readonly=True, help="Overdue amount in company currency.")
    amount_charges_company = fields.Float(
        readonly=True, help="Fee, interest and compensation in company currency."
    )
    # indexed: planning leaves every charges invoice out of the overdue claims
    fee_move_id = fields.Many2one(
        "account.move", string="Charges Invoice", readonly=True, copy=False, index="btree_not_null"
    )
    mail_id = fields.Many2one("mail.mail", string="E-mail", readonly=True, copy=False, ondelete="set null")
    pdf_attachment_id = fields.Many2one("ir.attachment", string="Letter", readonly=True, copy=False)
    send_error = fields.Text(string="Sending Error", readonly=True, copy=False)
    send_attempted_at = fields.Datetime(readonly=True, copy=False)
    sent_date = fields.Date(readonly=True, copy=False)
    collection_deadline = fields.Date(
        compute="_compute_collection_deadline",
        store=True,
        help="After this day the claims of a sent collection warning can be handed over to collection.",
    )

    statement_html = fields.Html(
        string="Statement",
        compute="_compute_statement_html",
        sanitize=False,
        help="The overdue invoices, the charges and the total due, as the reminder e-mail states them.",
    )

    _one_reminder_per_customer_level = models.UniqueIndex(
        "(run_id, partner_id, level_id, currency_id)",
        "A run has one reminder per customer, level and currency.",
    )

    @api.depends(
        "line_ids.amount_residual", "line_ids.interest_amount", "line_ids.compensation_amount", "fee_amount"
    )
    def _compute_amounts(self):
        for reminder in self:
            lines = reminder.line_ids
            reminder.amount_residual = sum(lines.mapped("amount_residual"))
            reminder.interest_amount = sum(lines.mapped("interest_amount"))
            reminder.compensation_amount = sum(lines.mapped("compensation_amount"))
            reminder.amount_total = (
                reminder.amount_residual
                + reminder.interest_amount
                + reminder.compensation_amount
                + reminder.fee_amount
            )

    @api.depends("contact_id.email", "partner_id.billing_invoice_email")
    def _compute_email_to(self):
        for reminder in self:
            if reminder.state in ("sent", "cancelled"):  # says where it went
                reminder.email_to = reminder.email_to
            else:
                reminder.email_to = self._email_to_for(reminder.partner_id, reminder.contact_id)

    @api.model
    def _email_to_for(self, customer, contact):
        """Where a reminder to ``customer`` through ``contact`` is e-mailed: the
        invoice e-mail of the customer's billing profile, else the contact's."""
        return customer.billing_invoice_email or contact.email or False

    @api.depends("sent_date", "level_id.is_collection_warning", "level_id.warning_days")
    def _compute_collection_deadline(self):
        for reminder in self:
            if reminder.sent_date and reminder.level_id.is_collection_warning:
                reminder.collection_deadline = reminder.sent_date + timedelta(
                    days=reminder.level_id.warning_days
                )
            else:
                reminder.collection_deadline = False

    @api.depends_context("lang")
    @api.depends(
        "line_ids.amount_residual",
        "line_ids.interest_amount",
        "line_ids.amount_total",
        "fee_amount",
        "compensation_amount",
        "amount_total",
        "currency_id",
        "partner_id.lang",
        "level_id.is_collection_warning",
        "level_id.warning_days",
    )
    def _compute_statement_html(self):
        statements = self.env["mail.render.mixin"]._render_template_qweb_view(
            MAIL_STATEMENT, self._name, self.ids
        )
        for reminder in self:
            reminder.statement_html = statements.get(reminder.id, False)

    def mail_allowed_qweb_expressions(self):
        """The placeholders of the reminder e-mail. A template made only of allowed
        placeholders is filled in without compiling it for every e-mail, and a user
        who is not a template editor may change its wording. (Without a company
        e-mail, Odoo sends from the sending user's address.)"""
        return (
            *super().mail_allowed_qweb_expressions(),
            "object.email_to",
            "object.contact_id.id",  # the recipient of the e-mails of version 19.0.1.0
            "object.contact_id.name",
            "object.partner_id.lang",
            "object.level_id.name",
            "object.company_id.name",
            "object.company_id.email_formatted",
            "object.statement_html",
        )

    @api.depends("partner_id", "level_id", "date")
    def _compute_display_name(self):
        for reminder in self:
            reminder.display_name = (
                f"{reminder.level_id.name or ''} · {reminder.partner_id.name or ''} · {reminder.date or ''}"
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_dunning_history(self):
        """What was sent (its charges invoiced with it) is the history that the
        next level, the legal limit of fee-bearing reminders and the interest
        periods count on."""
        sent = self.filtered(lambda r: r.state == "sent")  # a dry run is never sent
        if sent:
            raise UserError(
                self.env._(
                    "%(reminder)s was sent: it belongs to the customer's dunning history "
                    "and cannot be deleted.",
                    reminder=sent[0].display_name,
                )
            )

    # ------------------------------------------------------------------ actions

    def action_approve(self):
        drafts = self.filtered(lambda r: r.state == "draft" and not r.is_dry_run)
        drafts.write({"state": "to_send"})
        drafts.run_id._approve_when_reviewed()
        return True

    def action_cancel(self):
        if self.filtered(lambda r: r.state == "sent"):
            raise UserError(self.env._("A reminder that has been sent cannot be cancelled."))
        self._check_no_posted_charges()
        self.write({"state": "cancelled"})
        self.run_id._approve_when_reviewed()
        return True

    def _check_no_posted_charges(self):
        """A reminder whose charges invoice is posted (it went out, then its e-mail
        bounced) stays in the history: cancelled, the next run would charge its
        fee, interest and compensation a second time."""
        charged = self.filtered(lambda r: r.fee_move_id.state == "posted")
        if charged:
            raise UserError(
                self.env._(
                    "The charges of %(reminder)s are posted on %(invoice)s: reverse that invoice "
                    "with a credit note before cancelling the reminder.",
                    reminder=charged[0].display_name,
                    invoice=charged[0].fee_move_id.name,
                )
            )

    def action_retry(self):
        """Send the failed reminders again now; one that fails again says why."""
        self.filtered(lambda r: r.state == "failed")._lock_failed()._send_reminders()
        return True

    def _lock_failed(self):
        """Those of ``self`` still failed that no scheduled run is sending now, locked."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM billing_reminder WHERE id = ANY(%s) AND state = 'failed' "
                "ORDER BY id FOR UPDATE SKIP LOCKED",
                id_array(self.ids),
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    def action_print(self):
        return self.env.ref("billing_coordinator.billing_reminder_report_action").report_action(self)

    def action_hand_over_to_collection(self):
        return self.env["billing.collection.case"]._hand_over(self)

    # -------------------------------------------------------------- business

    def _move_with_note(self, state, note):
        """Move the reminders to ``state``, each with the note ``note(reminder)``:
        a run moves thousands of them, so the notes are logged together instead of
        a tracking message per reminder."""
        self.with_context(mail_notrack=True).write({"state": state})
        self._message_log_batch(bodies={reminder.id: note(reminder) for reminder in self})

    def _send_reminders(self):
        """Send a locked batch, first all together; when one reminder fails,
        each alone, so that its failure is recorded and the others still go
        out. What the sent ones have in common (state, notes, call tasks) is
        written for the batch at once."""
        # the notes of _sending_notes tell more than a tracked state would, and
        # are logged together (tracking posts a message per reminder)
        batch = self._without_settled_claims().with_context(mail_notrack=True)
        now = fields.Datetime.now()
        batch._render_letters_together()
        mails = batch._render_mails_together()
        journals = batch._charge_journals()
        try:
            with self.env.cr.savepoint():
                mail_of = {reminder: reminder._send_one(mails.get(reminder.id)) for reminder in batch}
                batch._attach_letters_to_mails(mail_of)
                batch._post_charges_invoices(journals)
            sent = batch
        except Exception:  # one reminder failed: each alone now records its own failure
            sent, mail_of = batch._send_one_by_one(mails, journals, now)
        for reminder in sent:  # a letter after a bounce keeps no failed e-mail to bounce again
            reminder.mail_id = mail_of.get(reminder) or False
        sent.write({
            "state": "sent", "sent_date": fields.Date.context_today(self), "send_attempted_at": now,
            "send_error": False,
        })  # fmt: skip
        log_notes(self.env, sent._sending_notes() + sent._customer_notes())
        sent.filtered(lambda r: r.level_id.schedule_call)._schedule_calls()
        return sent

    def _without_settled_claims(self):
        """These reminders without the invoices paid, disputed, promised or handed
        over to collection since they were planned (approval or a retry can take
        days), with what the others still owe after a partial payment, and without
        their fee when no invoice left bears it. A reminder left without invoices is
        cancelled; returns the others."""
        stale, still_owed = self._lines_changed_since_planning()
        if not stale and not still_owed:
            return self
        touched = stale.reminder_id | still_owed.reminder_id
        stale.sudo().unlink()  # the sending decides, as it sends: a coordinator's retry too
        for line in still_owed:
            line.amount_residual = line.move_id.amount_residual
        emptied = touched.filtered(lambda r: not r.line_ids)
        emptied._move_with_note(
            "cancelled",
            lambda reminder: self.env._(
                "Cancelled before sending: its invoices were paid, disputed, promised or handed over "
                "to collection after it was planned."
            ),
        )
        for run, reminders in (touched - emptied).grouped("run_id").items():
            charges = run._charge_calculator()
            for reminder in reminders:
                reminder._refresh_company_amounts(charges)
        return self - emptied

    def _lines_changed_since_planning(self):
        """``(stale, still_owed)``: the lines of these reminders whose invoice is no
        longer to be reminded, and those whose invoice was partly paid since (one query)."""
        self.env.flush_all()
        move = SQL("am.id")
        stale = SQL(
            """(am.state != 'posted' OR am.payment_state NOT IN ('not_paid', 'partial')
                OR am.amount_residual <= 0 OR am.billing_is_disputed OR %s OR %s)""",
            promised_sql(move, fields.Date.context_today(self)),
            in_collection_sql(move),
        )
        self.env.cr.execute(
            SQL(
                """SELECT l.id, %(stale)s
                     FROM billing_reminder_line l JOIN account_move am ON am.id = l.move_id
                    WHERE l.reminder_id = ANY(%(reminders)s)
                      AND (%(stale)s OR am.amount_residual != l.amount_residual)""",
                stale=stale,
                reminders=id_array(self.ids),
            )
        )
        rows = self.env.cr.fetchall()
        lines = self.env["billing.reminder.line"]
        return (
            lines.browse(line_id for line_id, stale in rows if stale),
            lines.browse(line_id for line_id, stale in rows if not stale),
        )

    def _refresh_company_amounts(self, charges):
        """Fee and company-currency figures of a reminder that lost invoices
        (``charges``: its run's ``DunningCharges``)."""
        self.ensure_one()
        fee = self.fee_amount if self.line_ids.filtered("fee_charged") else 0.0
        self.write({
            "fee_amount": fee,
            "amount_residual_company": sum(self.line_ids.move_id.mapped("amount_residual_signed")),
            "amount_charges_company": charges.convert(
                fee + self.interest_amount + self.compensation_amount,
                self.currency_id,
                charges.company_currency,
            ),
        })  # fmt: skip

    def _send_one_by_one(self, mails, journals, now):
        """Each reminder alone in a savepoint; ``(sent, {reminder: mail})``."""
        sent, mail_of = self.browse(), {}
        for reminder in self:
            try:
                with self.env.cr.savepoint():
                    mail_of[reminder] = reminder._send_one(mails.get(reminder.id))
                    reminder._attach_letters_to_mails(mail_of)
                    reminder._post_charges_invoices(journals)
                sent |= reminder
            except Exception as error:
                # recorded on the reminder and retried next run: nothing is lost
                _logger.warning("Reminder %s could not be sent: %s", reminder.id, error)
                if mails.get(reminder.id):
                    mails[reminder.id].unlink()  # queued for this batch: must not go out
                reminder._record_failure(str(error), now)
        return sent, mail_of

    def _send_one(self, mail=None):
        """Send this reminder and return its e-mail, if any (its letter is rendered,
        not yet attached: see ``_attach_letters_to_mails``); ``mail``: its e-mail
        when the batch already queued it."""
        self.ensure_one()
        self._render_letter()
        if self.channel in EMAIL_CHANNELS:
            if not self.email_to:
                raise UserError(
                    self.env._(
                        "Neither the invoice contact %(name)s nor the billing profile has an e-mail address.",
                        name=self.contact_id.name,
                    )
                )
            if not mail:
                # outgoing e-mails are the administrator's records, as send_mail creates them
                mail = self.env["mail.mail"].sudo().browse(self._mail_template().send_mail(self.id))
        return mail

    def _attach_letters_to_mails(self, mail_of):
        """Attach each reminder's letter to its e-mail (``mail_of``: ``{reminder:
        mail}``) with one INSERT for the batch: through the ORM each e-mail is
        written apart, an INSERT per reminder."""
        pairs = {
            (mail_of[reminder].mail_message_id.id, reminder.pdf_attachment_id.id)
            for reminder in self
            if mail_of.get(reminder) and reminder.pdf_attachment_id
        }
        if not pairs:
            return
        messages = self.env["mail.message"].browse(message_id for message_id, _letter in pairs)
        letters = self.env["ir.attachment"].browse(letter_id for _message, letter_id in pairs)
        letters.check_access("read")  # as mail.message.write checks what it attaches
        add_links(messages, "attachment_ids", pairs)

    def _mail_template(self, default=None):
        """The level's e-mail template, or ``default`` (the addon's own when not given)."""
        self.ensure_one()
        default = default or self.env.ref("billing_coordinator.mail_template_billing_reminder")
        return self.level_id.mail_template_id or default

    def _render_mails_together(self):
        """Queue the e-mails of a batch with one ``send_mail_batch`` per template
        (one rendering pass and one batched create instead of one per reminder).
        ``{reminder id: mail}``; whatever goes wrong, the e-mails are left to the
        per-reminder path, which records its own failure."""
        mails = {}
        todo = self.filtered(lambda r: r.channel in EMAIL_CHANNELS and r.email_to)
        default = self.env.ref("billing_coordinator.mail_template_billing_reminder")
        for template, reminders in todo.grouped(lambda r: r._mail_template(default)).items():
            try:
                with self.env.cr.savepoint():
                    queued = template.send_mail_batch(reminders.ids)
                mails.update(zip(reminders.ids, queued, strict=True))
            except Exception as error:  # the per-reminder path takes over and records failures
                _logger.warning(
                    "E-mails of reminders %s could not be rendered together, rendering one by one: %s",
                    reminders.ids,
                    error,
                )
        return mails

    def _render_letter(self):
        if self.env.context.get("billing_dunning_skip_pdf"):
            return self.env["ir.attachment"]
        if self.pdf_attachment_id:
            return self.pdf_attachment_id
        content, _kind = self.env["ir.actions.report"]._render_qweb_pdf(LETTER_REPORT, self.ids)
        self._attach_letters([content])
        return self.pdf_attachment_id

    def _attach_letters(self, contents):
        """One batched attachment create for the letters (PDF bytes, in the order of self)."""
        vals_list = []
        for reminder, content in zip(self, contents, strict=True):
            name = self.env._(
                "Reminder %(customer)s %(date)s", customer=reminder.partner_id.name, date=reminder.date
            )
            vals_list.append({
                "name": f"{name}.pdf",
                "datas": base64.b64encode(content),
                "res_model": self._name,
                "res_id": reminder.id,
                "mimetype": "application/pdf",
            })  # fmt: skip
        attachments = self.env["ir.attachment"].create(vals_list)
        for reminder, attachment in zip(self, attachments, strict=True):
            reminder.pdf_attachment_id = attachment

    # ------------------------------------------------- letters in one run

    def _render_letters_together(self):
        """Render the letters of a batch in ONE wkhtmltopdf run (one combined
        HTML body, a page break between letters) and split the PDF per
        reminder. Whatever goes wrong, the letters are left to the
        per-reminder rendering, which records its own failure."""
        todo = self.filtered(lambda r: not r.pdf_attachment_id)
        if self.env.context.get("billing_dunning_skip_pdf") or not self._renders_pdf():
            return
        for reminders in todo.grouped("company_id").values():
            if len(reminders) < 2:
                continue
            try:
                with self.env.cr.savepoint():
                    reminders._attach_letters(reminders._render_combined_pdf())
            except Exception as error:  # the per-reminder path takes over and records failures
                _logger.warning(
                    "Letters of reminders %s could not be rendered in one run, rendering one by one: %s",
                    reminders.ids,
                    error,
                )

    def _renders_pdf(self):
        """Odoo's rule: in tests, reports render as HTML unless forced."""
        in_test = modules.module.current_test or tools.config["test_enable"]
        return not in_test or bool(self.env.context.get("force_report_rendering"))

    def _render_combined_pdf(self):
        """PDF bytes of each reminder's letter, in the order of self."""
        report = self.env["ir.actions.report"].with_context(debug=False, webp_as_jpg=True)
        report_sudo = report._get_report(LETTER_REPORT)
        html, _kind = report._render_qweb_html(
            LETTER_REPORT, self.ids, data={"report_type": "pdf", "debug": False}
        )
        bodies, html_ids, header, footer, paperformat_args = report_sudo._prepare_html(
            html, report_model=self._name
        )
        if html_ids != self.ids:
            raise UserError(self.env._("The letters could not be told apart in the rendered report."))
        pdf = report._run_wkhtmltopdf(
            [self._combine_bodies(bodies)],
            report_ref=LETTER_REPORT,
            header=header,
            footer=footer,
            specific_paperformat_args=paperformat_args,
        )
        return self._split_pdf(pdf)

    def _combine_bodies(self, bodies):
        """One HTML document holding every letter (bodies in the order of
        self), each starting on a new page with its invisible page marker."""
        documents = [lxml.html.document_fromstring(body) for body in bodies]
        combined = documents[0].body
        for number, (reminder, document) in enumerate(zip(self, documents, strict=True)):
            for node in list(document.body):
                if "article" in node.get("class", "").split():
                    if number:
                        node.set("style", f"page-break-before: always; {node.get('style', '')}")
                    node.insert(0, reminder._letter_marker_node())
                if number:
                    combined.append(node)
        return lxml.html.tostring(documents[0], encoding="unicode", doctype="<!DOCTYPE html>")

    def _letter_marker_node(self):
        """An invisible link naming the reminder: wkhtmltopdf writes it as a link
        annotation of the page where the letter starts, which is read without
        parsing the page's text (Debian's wkhtmltopdf writes no outlines, and
        reading the text of every page took longer than rendering it). The link
        is taken out of the letter when the PDF is split."""
        marker = lxml.html.Element(
            "div",
            style="font-family: sans-serif; color: #fff; font-size: 1px; line-height: 1px; height: 1px;",
        )
        link = lxml.html.Element(
            "a", href=f"{LETTER_MARKER}:{self.id}", style="color: #fff; text-decoration: none;"
        )
        link.text = f"{LETTER_MARKER}{self.id}"  # a link without a width is not written
        marker.append(link)
        return marker

    def _split_pdf(self, pdf):
        """Split at the page where each letter's marker is, in the order of self."""
        reader = PdfFileReader(io.BytesIO(pdf))
        starts = self._letter_start_pages(reader)
        pages = list(starts.values())
        if list(starts) != self.ids or pages[0] != 0 or pages != sorted(set(pages)):
            raise UserError(
                self.env._(
                    "The combined letters could not be split: %(found)s of %(count)s letter starts found.",
                    found=len(starts),
                    count=len(self),
                )
            )
        contents = []
        for start, end in zip(pages, [*pages[1:], len(reader.pages)], strict=True):
            writer = PdfFileWriter()
            for number in range(start, end):
                writer.add_page(self._without_marker_links(reader.pages[number]))
            stream = io.BytesIO()
            writer.write(stream)
            contents.append(stream.getvalue())
        return contents

    @api.model
    def _letter_start_pages(self, reader):
        """{reminder id: page index} of every letter marker, in document order."""
        starts = {}
        for number, page in enumerate(reader.pages):
            for annotation in self._annotations(page):
                if reminder_id := self._marker_id(annotation):
                    starts.setdefault(reminder_id, number)
        return starts

    @api.model
    def _annotations(self, page):
        return [annotation.get_object() for annotation in page["/Annots"]] if "/Annots" in page else []

    @api.model
    def _marker_id(self, annotation):
        """The reminder id of a letter marker's link, or None for any other annotation."""
        # indexing resolves an indirect object, get() does not
        action = annotation["/A"] if "/A" in annotation else {}  # noqa: SIM401
        match = LETTER_MARKER_RE.fullmatch(str(action["/URI"])) if "/URI" in action else None
        return int(match.group(1)) if match else None

    @api.model
    def _without_marker_links(self, page):
        """The page without the markers' links (the letter's own links stay)."""
        if "/Annots" in page:
            kept = [item for item in page["/Annots"] if not self._marker_id(item.get_object())]
            if kept:
                page[NameObject("/Annots")] = ArrayObject(kept)
            else:
                del page["/Annots"]
        return page

    def _schedule_calls(self):
        """A call task for each reminder, assigned to its customer's coordinator."""
        return schedule_activities(
            self,
            "mail.mail_activity_data_call",
            lambda reminder: (
                reminder.partner_id.billing_coordinator_id or self.env.user,
                self.env._("Call %(customer)s about overdue invoices", customer=reminder.partner_id.name),
            ),
        )

    def _charge_journals(self):
        """The sales journal of each company of these reminders that invoices its
        charges (one search per company, not per reminder)."""
        companies = self.company_id.filtered(lambda c: c.billing_dunning_fee_mode == "invoice")
        return {
            company: self.env["account.journal"].search(
                [("company_id", "=", company.id), ("type", "=", "sale")], limit=1
            )
            for company in companies
        }

    def _charge_lines(self, journal):
        company = self.company_id
        income = journal.default_account_id
        charges = [
            (self.env._("Reminder fee"), self.fee_amount, company.billing_dunning_fee_account_id),
            (self.env._("Late interest"), self.interest_amount, company.billing_dunning_interest_account_id),
            (
                self.env._("Compensation"),
                self.compensation_amount,
                company.billing_dunning_compensation_account_id,
            ),
        ]
        return [
            Command.create({
                "name": label,
                "quantity": 1,
                "price_unit": amount,
                "account_id": (account or income).id,
                "tax_ids": [Command.clear()],
            })
            for label, amount, account in charges
            if not self.currency_id.is_zero(amount)
        ]  # fmt: skip

    def _post_charges_invoices(self, journals):
        """Fees, interest and compensation of each reminder as a separate invoice
        without VAT, where its company invoices them (``journals``: the sales
        journal of each such company); one create and one post per company."""
        for company, reminders in self.grouped("company_id").items():
            if company not in journals:
                continue
            owners, vals_list = [], []
            for reminder in reminders.filtered(lambda r: not r.fee_move_id):
                lines = reminder._charge_lines(journals[company])
                if lines:
                    owners.append(reminder)
                    vals_list.append({
                        "move_type": "out_invoice",
                        "partner_id": reminder.partner_id.id,
                        "journal_id": journals[company].id,
                        "currency_id": reminder.currency_id.id,
                        "invoice_date": reminder.date,
                        "invoice_origin": reminder.display_name,
                        "invoice_line_ids": lines,
                    })  # fmt: skip
            moves = self.env["account.move"].with_company(company).create(vals_list)
            moves.action_post()
            for reminder, move in zip(owners, moves, strict=True):
                reminder.fee_move_id = move

    def _record_failure(self, message, when):
        """These reminders failed for the same reason ``message``: one write, and
        the note says why (it tells more than a tracked state would)."""
        self.with_context(mail_notrack=True).write(
            {"state": "failed", "send_error": message, "send_attempted_at": when}
        )
        note = self.env._("Sending failed, retried next run: %(error)s", error=message)
        self._message_log_batch(bodies=dict.fromkeys(self.ids, note))

    def _sending_notes(self):
        """What each sent reminder's chatter says: where it went."""
        return [(reminder, reminder._sending_note(), reminder.pdf_attachment_id) for reminder in self]

    def _sending_note(self):
        if not self.mail_id:
            return self.env._("Letter ready to be printed and posted.")
        if self.channel == "both":
            return self.env._(
                "Sent by e-mail to %(recipient)s; the letter is ready to be printed and posted.",
                recipient=self.email_to,
            )
        return self.env._("Sent by e-mail to %(recipient)s.", recipient=self.email_to)

    def _customer_notes(self):
        """What each sent reminder adds to its customer's chatter, with the letter."""
        channels = dict(self._fields["channel"]._description_selection(self.env))
        return [
            (
                reminder.partner_id,
                self.env._(
                    "%(level)s sent (%(channel)s) for %(count)s invoices, total due %(total)s %(currency)s.",
                    level=reminder.level_id.name,
                    channel=channels.get(reminder.channel),
                    count=len(reminder.line_ids),
                    total=reminder.amount_total,
                    currency=reminder.currency_id.name,
                ),
                reminder.pdf_attachment_id,
            )
            for reminder in self
        ]

    @api.model
    def _collect_mail_failures(self, company):
        """Reminders whose queued e-mail failed go back to 'failed' to be retried;
        those that went as a printed letter too stay sent, as letters."""
        # outgoing mails are for administrators only; read just their state and reason
        bounced = self.sudo().search([
            ("company_id", "=", company.id),
            ("state", "=", "sent"),
            ("mail_id.state", "=", "exception"),
        ])  # fmt: skip
        reasons = {
            reminder: reminder.mail_id.failure_reason or self.env._("E-mail failed") for reminder in bounced
        }
        by_letter = bounced.filtered(lambda r: r.channel == "both")
        by_letter.with_env(self.env)._keep_as_letters(reasons)
        failed = bounced - by_letter
        # an SMTP outage fails a whole run's e-mails for the same reason: one write each reason
        for reason, reminders in failed.grouped(reasons.get).items():
            reminders.with_env(self.env)._record_failure(reason, False)
        return failed.with_env(self.env)

    def _keep_as_letters(self, reasons):
        """The printed letter carried these reminders: their failed e-mail is
        let go, so that it is not collected again. ``reasons``: {reminder: why}."""
        bodies = {
            reminder.id: self.env._(
                "The e-mail to %(recipient)s failed (%(reason)s); the printed letter carries the reminder.",
                recipient=reminder.email_to,
                reason=reasons[reminder],
            )
            for reminder in self
        }
        self.with_context(mail_notrack=True).write({"channel": "letter", "mail_id": False})
        self._message_log_batch(bodies=bodies)

    def _claims_to_hand_over(self):
        """The warned invoices still open, undisputed and not with collection yet."""
        self.ensure_one()
        warned = self.line_ids.move_id
        cases = self.env["billing.collection.case"].search([("move_ids", "in", warned.ids)])
        with_collection = cases.move_ids
        return (warned - with_collection).filtered(
            lambda m: m.payment_state in ("not_paid", "partial") and not m.billing_is_disputed
        )

    def _collection_case_values(self, moves):
        """The collection case of this warning for its claims ``moves``."""
        self.ensure_one()
        earlier = self.search([
            ("partner_id", "=", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
            ("state", "=", "sent"),
            ("line_ids.move_id", "in", moves.ids),
        ])  # fmt: skip
        return {
            "company_id": self.company_id.id,
            "partner_id": self.partner_id.id,
            "currency_id": self.currency_id.id,
            "move_ids": [Command.set(moves.ids)],
            "reminder_ids": [Command.set(earlier.ids)],
            "amount_residual": sum(moves.mapped("amount_residual")),
        }
