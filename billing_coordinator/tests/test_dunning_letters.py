import io
from contextlib import contextmanager
from unittest.mock import patch

import lxml.html

from odoo.tests import tagged
from odoo.tools.pdf import PdfFileReader

from .common_dunning import DunningCommon

SYSTEM_FONT = "* { font-family: sans-serif !important; }"
NAMES = ("Alpha Trading", "Bravo Supplies", "Charlie Goods")


def _readable(body):
    """The body with a system font: Debian's wkhtmltopdf draws web fonts as
    paths, and the assertions read the letters' text."""
    document = lxml.html.document_fromstring(body)
    style = lxml.html.Element("style")
    style.text = SYSTEM_FONT
    document.head.append(style)
    return lxml.html.tostring(document, encoding="unicode", doctype="<!DOCTYPE html>")


@tagged("post_install", "-at_install")
class TestDunningLetters(DunningCommon):
    """The letters of a batch are rendered in one wkhtmltopdf run and split
    per reminder; each reminder keeps its own letter."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.env["res.partner"].create([
            {"name": name, "is_company": True, "lang": "en_US", "email": f"ap{i}@customer.example"}
            for i, name in enumerate(NAMES)
        ])  # fmt: skip

    @contextmanager
    def _counting_wkhtmltopdf(self):
        """Real PDF rendering; yields the list of the bodies of each wkhtmltopdf run."""
        report_class = type(self.env["ir.actions.report"])
        original = report_class._run_wkhtmltopdf
        runs = []

        def counting(report, bodies, *args, **kwargs):
            runs.append(bodies)
            return original(report, [_readable(body) for body in bodies], *args, **kwargs)

        with patch.object(report_class, "_run_wkhtmltopdf", counting):
            yield runs

    def _send_counting_wkhtmltopdf(self, run):
        """Send the run with real PDF rendering; return the bodies of each wkhtmltopdf run."""
        with self._counting_wkhtmltopdf() as runs:
            run.with_context(force_report_rendering=True)._send()
        return runs

    def _pages(self, reminder):
        return PdfFileReader(io.BytesIO(reminder.pdf_attachment_id.raw)).pages

    def _text(self, reminder):
        # wkhtmltopdf's words come apart with tabs
        return " ".join(" ".join(page.extract_text() for page in self._pages(reminder)).split())

    def _assert_own_letters(self, reminders):
        for reminder in reminders:
            text = self._text(reminder)
            self.assertIn(reminder.partner_id.name, text)
            for other in (reminders - reminder).partner_id:
                self.assertNotIn(
                    other.name, text, f"{other.name} in the letter to {reminder.partner_id.name}"
                )
            self.assertIn(reminder.pdf_attachment_id, reminder.mail_id.attachment_ids)
            self.assertEqual(self._links(reminder), [], "the marker's link is taken out of the letter")

    def _links(self, reminder):
        return [
            annotation.get_object()["/A"]["/URI"]
            for page in self._pages(reminder)
            if "/Annots" in page
            for annotation in page["/Annots"]
        ]

    def test_batch_renders_all_letters_in_one_wkhtmltopdf_run(self):
        for customer in self.customers:
            self._post_invoice(customer, 1000.0, due_in_days=-30)
        run = self._plan(partner=False)
        reminders = run.reminder_ids
        self.assertEqual(reminders.partner_id, self.customers)

        runs = self._send_counting_wkhtmltopdf(run)

        self.assertEqual(len(runs), 1)
        self.assertEqual(len(runs[0]), 1, "one combined HTML body")
        self.assertEqual(set(reminders.mapped("state")), {"sent"})
        self._assert_own_letters(reminders)

    def test_letter_longer_than_one_page_is_split_at_the_next_letter(self):
        long_customer = self.customers[1]
        invoices = self.env["account.move"]
        for _i in range(60):
            invoices |= self._post_invoice(long_customer, 100.0, due_in_days=-30)
        for customer in self.customers - long_customer:
            self._post_invoice(customer, 1000.0, due_in_days=-30)
        run = self._plan()
        reminders = run.reminder_ids

        runs = self._send_counting_wkhtmltopdf(run)

        self.assertEqual(len(runs), 1)
        self.assertEqual(set(reminders.mapped("state")), {"sent"})
        self._assert_own_letters(reminders)
        long_reminder = reminders.filtered(lambda r: r.partner_id == long_customer)
        self.assertGreater(len(self._pages(long_reminder)), 1)
        long_text = self._text(long_reminder)
        for invoice in invoices:
            self.assertIn(invoice.name, long_text)
        for reminder in reminders - long_reminder:
            self.assertEqual(len(self._pages(reminder)), 1)

    def test_letter_already_rendered_is_not_rendered_again(self):
        for customer in self.customers:
            self._post_invoice(customer, 1000.0, due_in_days=-30)
        run = self._plan()
        reminders = run.reminder_ids
        first = reminders[0]
        with self._counting_wkhtmltopdf():
            first.with_context(force_report_rendering=True)._render_letter()
        letter = first.pdf_attachment_id
        self.assertTrue(letter)

        runs = self._send_counting_wkhtmltopdf(run)

        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0][0].count('class="article'), 2, "only the two letters not yet rendered")
        self.assertEqual(first.pdf_attachment_id, letter)
        self.assertEqual(
            self.env["ir.attachment"].search_count(
                [("res_model", "=", "billing.reminder"), ("res_id", "=", first.id)]
            ),
            1,
        )
        self.assertEqual(set(reminders.mapped("state")), {"sent"})
        self._assert_own_letters(reminders)

    def test_batch_that_cannot_be_split_falls_back_to_one_letter_per_reminder(self):
        for customer in self.customers:
            self._post_invoice(customer, 1000.0, due_in_days=-30)
        run = self._plan()
        reminders = run.reminder_ids
        reminder_class = type(self.env["billing.reminder"])
        with (
            patch.object(reminder_class, "_letter_start_pages", lambda self, reader: {}),
            self.assertLogs("odoo.addons.billing_coordinator.models.billing_reminder", "WARNING"),
        ):
            runs = self._send_counting_wkhtmltopdf(run)

        self.assertEqual(len(runs), 1 + len(reminders), "the batch run, then one run per letter")
        self.assertEqual(set(reminders.mapped("state")), {"sent"})
        self._assert_own_letters(reminders)

    def test_html_rendering_in_tests_is_kept_without_force(self):
        for customer in self.customers:
            self._post_invoice(customer, 1000.0, due_in_days=-30)
        run = self._plan()
        report_class = type(self.env["ir.actions.report"])
        with patch.object(report_class, "_run_wkhtmltopdf") as wkhtmltopdf:
            run._send()
        self.assertFalse(wkhtmltopdf.called, "reports render as HTML in tests unless forced")
        self.assertEqual(set(run.reminder_ids.mapped("state")), {"sent"})
