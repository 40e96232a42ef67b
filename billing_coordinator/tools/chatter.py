"""Internal notes on many records with one ``mail.message`` create.

``_message_log`` posts one note per call (an INSERT each), and Odoo's batch
variant ``_message_log_batch`` takes one model and no attachments per note. A
dunning batch logs a note on each reminder and on each reminder's customer, the
customer's note with the letter attached.
"""

from markupsafe import escape

from odoo.fields import Command
from odoo.tools.mail import generate_tracking_message_id


def log_notes(env, notes):
    """Log ``notes``, triples ``(record, text, attachments)``, as internal notes
    in the records' chatter, the way ``_message_log`` logs one."""
    if not notes:
        return env["mail.message"]
    thread = env["mail.thread"]
    author_id, email_from = thread._message_compute_author()
    note_subtype = env["ir.model.data"]._xmlid_to_res_id("mail.mt_note")
    # computed once, as _message_log_batch does; mail.message would compute them per note
    reply_to = thread._notify_get_reply_to(default=email_from, author_id=author_id)[False]
    message_id = generate_tracking_message_id("message-notify")
    return thread.sudo()._message_create([
        {
            "model": record._name,
            "res_id": record.id,
            "body": escape(text),
            "attachment_ids": [Command.link(attachment_id) for attachment_id in attachments.ids],
            "author_id": author_id,
            "email_from": email_from,
            "message_type": "notification",
            "subtype_id": note_subtype,
            "is_internal": True,
            "email_add_signature": False,
            "reply_to": reply_to,
            "message_id": message_id,
        }
        for record, text, attachments in notes
    ])  # fmt: skip
