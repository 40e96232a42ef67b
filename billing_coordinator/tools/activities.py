"""Activities on many records with one ``mail.activity`` create.

``activity_schedule`` gives every record the same summary and user; a dunning
run's call tasks and the nightly follow-ups of broken promises each go to the
customer's own coordinator, with the customer's name in the summary.
"""

from odoo import fields


def schedule_activities(records, type_xmlid, assign):
    """Schedule an activity of type ``type_xmlid`` on each of ``records``, as
    ``activity_schedule`` does; ``assign(record)`` gives the record's ``(user,
    summary)``, read in the record's company."""
    env = records.env
    if not records or env.context.get("mail_activity_automation_skip"):  # as activity_schedule
        return env["mail.activity"]
    activity_type = env.ref(type_xmlid)
    model_id = env["ir.model"]._get_id(records._name)
    today = fields.Date.context_today(records)
    vals_list = []
    for company, group in records.grouped("company_id").items():
        for record in group.with_company(company):
            user, summary = assign(record)
            vals_list.append({
                "activity_type_id": activity_type.id,
                "res_model_id": model_id,
                "res_id": record.id,
                "user_id": user.id,
                "summary": summary,
                "note": activity_type.default_note,
                "date_deadline": today,
                "automated": True,
            })  # fmt: skip
    return env["mail.activity"].create(vals_list)
