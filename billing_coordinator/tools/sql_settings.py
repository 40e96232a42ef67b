from contextlib import contextmanager

from odoo.tools import SQL


@contextmanager
def local_setting(cr, name, value):
    """Run the enclosed queries with the PostgreSQL setting ``name`` at ``value``.
    The setting is local to the transaction and put back on exit; on an error
    the rollback puts it back."""
    # an extension's setting (pg_trgm.*) is unknown to a session that has not
    # loaded the extension's library yet: read it as NULL rather than fail
    cr.execute(SQL("SELECT current_setting(%s, true), set_config(%s, %s, true)", name, name, str(value)))
    previous = cr.fetchone()[0]
    yield
    if previous is None:
        # set_config() refuses NULL; the setting had no value: back to the default
        cr.execute(SQL("SET LOCAL %s TO DEFAULT", SQL.identifier(*name.split("."))))
    else:
        cr.execute(SQL("SELECT set_config(%s, %s, true)", name, previous))


@contextmanager
def without_jit(cr):
    """Run the enclosed queries without PostgreSQL's JIT compilation.

    A detection query joins several CTEs whose row estimates are far too high,
    which pushes its cost over ``jit_above_cost``: compiling it then takes
    longer than running it.
    """
    with local_setting(cr, "jit", "off"):
        yield
