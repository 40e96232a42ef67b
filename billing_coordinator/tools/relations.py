"""Many2many links of many records written with one statement.

Through the ORM a many2many value that differs from record to record is one
write per record, each with its own INSERT (and DELETE): a batch of e-mails and
their letters, or a night's refresh of duplicate customers, writes hundreds.
The table and its columns are read from the field; the caller checks access.
"""

from odoo.tools import SQL

from .sql_arrays import id_array


def add_links(records, field_name, pairs):
    """Add the links ``pairs``, ``(record id, target id)``, to the many2many
    ``field_name`` of ``records``; links already there are kept."""
    field = records._fields[field_name]
    if pairs:
        records.env.cr.execute(
            SQL(
                "INSERT INTO %s (%s, %s) SELECT * FROM unnest(%s, %s) ON CONFLICT DO NOTHING",
                SQL.identifier(field.relation),
                SQL.identifier(field.column1),
                SQL.identifier(field.column2),
                id_array([record_id for record_id, _target in pairs]),
                id_array([target_id for _record, target_id in pairs]),
            )
        )
    records.invalidate_recordset([field_name])
    records.modified([field_name])
    _targets_modified(records, field, {target for _record, target in pairs})


def _targets_modified(records, field, target_ids):
    """As the ORM's write: what depends on the other side of the links follows
    (an invoice's dispute flag on its tickets' invoices)."""
    inverses = [
        inverse.name
        for inverse in records.pool.field_inverses[field]
        if inverse.model_name == field.comodel_name
    ]
    if inverses and target_ids:
        records.env[field.comodel_name].browse(target_ids).modified(inverses)


def replace_links(records, field_name, targets):
    """Set the many2many ``field_name`` of each of ``records`` to the ids
    ``targets[record id]``."""
    if not records:
        return
    field = records._fields[field_name]
    records.env.cr.execute(
        SQL(
            "DELETE FROM %s WHERE %s = ANY(%s) RETURNING %s",
            SQL.identifier(field.relation),
            SQL.identifier(field.column1),
            id_array(records.ids),
            SQL.identifier(field.column2),
        )
    )
    _targets_modified(records, field, {target for (target,) in records.env.cr.fetchall()})
    add_links(
        records, field_name, [(record.id, target) for record in records for target in targets[record.id]]
    )
