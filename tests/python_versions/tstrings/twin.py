"""PEP 750 (Python 3.14): template strings, as psycopg 3.3 executes them."""
TABLE = "task_sessions"


def load(cur, sid, ids, where, fmt):
    cur.execute( "SELECT * FROM task_sessions WHERE id = %(a)s")
    cur.execute(f"SELECT * FROM {TABLE  } "
                f"WHERE id IN %(b)s AND {where!r} AND f = %(fmt_c)s")
    PURGE = ( "DELETE FROM task_sessions "
              "WHERE id = %(sid)s")
    return PURGE
