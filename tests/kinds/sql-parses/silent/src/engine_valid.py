"""Statements SQLite accepts, in shapes sqlglot cannot read, and templates with holes."""

LABELS = ["Update Version", "Delete script", "Explain the API response",
          "Select the files from the list below"]


def store(cur, cond, limit_sql, verb, col):
    cur.execute("UPDATE OR IGNORE tasks SET title = ? WHERE id = ?1", ("t", 1))
    cur.execute("CREATE TABLE IF NOT EXISTS refs "
                "(task INTEGER REFERENCES tasks(id) NOT DEFERRABLE)")
    # Holes that stand for clauses: partial statements, not checked.
    cur.execute("SELECT id FROM tasks WHERE state = 1 %s GROUP BY id" % cond)
    cur.execute(f"SELECT id FROM tasks WHERE id > ? {limit_sql}", (1,))
    cur.execute(f"{verb} INTO tasks (id) VALUES (1)")
    cur.execute(f"UPDATE tasks SET {col} = {col} + ? WHERE id = ?", (1, 2))
