from contextlib import contextmanager


@contextmanager
def without_jit(cr):
    """Run the enclosed queries without PostgreSQL's JIT compilation.

    A detection query joins several CTEs whose row estimates are far too high,
    which pushes its cost over ``jit_above_cost``: compiling it then takes
    longer than running it. The setting is local to the transaction and put
    back on exit; on an error the rollback puts it back.
    """
    cr.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    previous = cr.fetchone()[0]
    yield
    cr.execute("SELECT set_config('jit', %s, true)", [previous])
