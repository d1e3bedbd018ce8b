def load(cur):
    cur.execute("SELECT id FORM tasks")
    return cur.execute("INSERT INTO tasks (a, b VALUES (?, ?)", (1, 2))


QUERY = "SELECT * FROM tasks WHERE id IN (SELECT task_id FROM"


def run(cur):
    return cur.execute(QUERY)


def templates(cur, cond, x):
    # A template is still checked away from its holes: FORM is no hole.
    cur.execute(f"SELECT id FORM tasks WHERE id = {x}")
    # A dialect feature sqlglot cannot read, broken all the same.
    cur.execute("UPDATE OR IGNORE tasks SET title = ? WHER id = ?1", ("t", 1))


# Prose at a sink is still checked: a sink says it is SQL.
def prose(cur):
    cur.execute("Update Version")


def glued(cur, select_extra):
    # The same hole, with a real mistake away from it: "wher".
    cur.execute("select {}* from tasks wher id = 1".format(select_extra))
