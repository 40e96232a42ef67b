from odoo.tools import SQL


def try_job_lock(cr, job, company_id):
    """Whether the transaction of ``cr`` now holds ``job``'s lock on the company
    (until it ends); False when another transaction holds it.

    A lock of the job's own, not the company row's: two scheduled jobs work on
    a company at the same time, and users go on inserting its records.
    """
    cr.execute(SQL("SELECT pg_try_advisory_xact_lock(hashtext(%s), %s)", job, company_id))
    return cr.fetchone()[0]
