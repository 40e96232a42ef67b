from contextlib import contextmanager


@contextmanager
def local_setting(cr, name, value):
    """Run the enclosed queries with the PostgreSQL setting ``name`` at ``value``.
    The setting is local to the transaction and put back on exit; on an error
    the rollback puts it back."""
    cr.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, str(value)])
    previous = cr.fetchone()[0]
    yield
    cr.execute("SELECT set_config(%s, %s, true)", [name, previous])


@contextmanager
def without_jit(cr):
    """Run the enclosed queries without PostgreSQL's JIT compilation.

    A detection query joins several CTEs whose row estimates are far too high,
    which pushes its cost over ``jit_above_cost``: compiling it then takes
    longer than running it.
    """
    with local_setting(cr, "jit", "off"):
        yield
