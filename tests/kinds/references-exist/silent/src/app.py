def queries(cur, table_name, cols):
    cur.execute("SELECT s.session_id, s.channel FROM chat_sessions AS s WHERE s.title = ?", (1,))
    # a CTE named like a real (missing) table hides it
    cur.execute("WITH task_sessions AS (SELECT session_id FROM chat_sessions) "
                "SELECT session_id FROM task_sessions")
    # dynamic table and columns: unresolvable, never guessed
    cur.execute(f"SELECT * FROM {table_name} WHERE x = ?", (1,))
    cur.execute(f"SELECT {cols} FROM tasks")
    cur.execute("INSERT INTO chat_sessions (session_id, channel) VALUES (?, ?)", (1, 2))
    cur.execute("UPDATE tasks SET status = ? WHERE task_id = ?", (1, 2))
    cur.execute("SELECT count(*) AS n FROM tasks GROUP BY status ORDER BY n")
    cur.execute("SELECT q.a FROM (SELECT task_id AS a FROM tasks) AS q")
    cur.execute("INSERT INTO chat_sessions (session_id) SELECT excluded.session_id FROM tasks "
                "WHERE true ON CONFLICT (session_id) DO UPDATE SET title = excluded.title")
    # a temp table created in the same fragment is known
    cur.executescript("CREATE TEMP TABLE scratch (a INTEGER); INSERT INTO scratch (a) VALUES (1);")
