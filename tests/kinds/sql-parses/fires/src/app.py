def load(cur):
    cur.execute("SELECT id FORM tasks")
    return cur.execute("INSERT INTO tasks (a, b VALUES (?, ?)", (1, 2))


QUERY = "SELECT * FROM tasks WHERE id IN (SELECT task_id FROM"
