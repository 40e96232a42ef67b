"""SQL conditions that planning and sending share: when an overdue invoice is
not to be reminded."""

from odoo.tools import SQL


def promised_sql(move_id, today):
    """Whether the invoice ``move_id`` (an SQL expression) is covered by an open promise to pay."""
    return SQL(
        """EXISTS (
               SELECT 1 FROM account_move_billing_promise_rel rel
                 JOIN billing_promise p ON p.id = rel.billing_promise_id
                WHERE rel.account_move_id = %s AND p.state = 'open' AND p.date_end >= %s
           )""",
        move_id,
        today,
    )


def in_collection_sql(move_id):
    """Whether the invoice ``move_id`` (an SQL expression) is handed over to collection."""
    return SQL(
        """EXISTS (
               SELECT 1 FROM account_move_billing_collection_case_rel rel
                WHERE rel.account_move_id = %s
           )""",
        move_id,
    )
