"""Select a file to upload: a docstring, not SQL."""

PROMPT = "select a file to upload"
TITLE = "Update your profile settings"
QUESTION = "Delete task sessions older than 30 days?"


def load(cur, cols, table_name):
    cur.execute(f"SELECT {cols} FROM tasks WHERE id = ?", (1,))
    cur.execute("SELECT * FROM tasks WHERE id = %s", (1,))
    cur.execute("SELECT * FROM {} WHERE x = ?".format(table_name), (1,))
    return cur.execute("SELECT * FROM tasks WHERE id = %(id)s" % {"id": 1})


def glued(cur, select_extra, where_sql, limit_sql):
    # Holes that carry part of a clause, glued to what follows or standing for it.
    cur.execute("select {}* from tasks".format(select_extra))
    cur.execute(f"SELECT id FROM tasks {where_sql} ORDER BY id")
    cur.execute("SELECT id FROM tasks WHERE id > ?" + limit_sql)
