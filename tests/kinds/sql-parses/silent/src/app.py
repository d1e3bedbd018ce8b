"""Select a file to upload: a docstring, not SQL."""

PROMPT = "select a file to upload"
TITLE = "Update your profile settings"
QUESTION = "Delete task sessions older than 30 days?"


def load(cur, cols, table_name):
    cur.execute(f"SELECT {cols} FROM tasks WHERE id = ?", (1,))
    cur.execute("SELECT * FROM tasks WHERE id = %s", (1,))
    cur.execute("SELECT * FROM {} WHERE x = ?".format(table_name), (1,))
    return cur.execute("SELECT * FROM tasks WHERE id = %(id)s" % {"id": 1})
