from odoo.tools import SQL


def id_array(ids):
    """``ids`` as one ``int[]`` parameter for ``= ANY(...)`` or ``UNNEST(...)``.

    psycopg2 sends a Python list as ``ARRAY[1, 2, ...]``, which PostgreSQL parses
    element by element as expressions: for the thousands of customers of a list
    that costs more than the query itself (about 10 ms per 5,000 ids). One text
    literal is parsed at once.
    """
    return SQL("%s::int[]", "{" + ",".join(map(str, map(int, ids))) + "}")
