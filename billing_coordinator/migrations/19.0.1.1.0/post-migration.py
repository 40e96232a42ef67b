"""Reminder e-mails go to the reminder's ``email_to`` (the billing profile's
invoice e-mail, else the invoice contact's) instead of the contact. The
template is ``noupdate``: an upgrade switches it only where nobody changed its
recipients."""

from odoo import SUPERUSER_ID, api

OLD_RECIPIENTS = "{{ object.contact_id.id }}"


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    template = env.ref("billing_coordinator.mail_template_billing_reminder", raise_if_not_found=False)
    if template and template.partner_to == OLD_RECIPIENTS and not template.email_to:
        template.write({"partner_to": False, "email_to": "{{ object.email_to }}"})
