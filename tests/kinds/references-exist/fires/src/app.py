def queries(cur, status):
    # a table that does not exist (it was merged away)
    cur.execute("SELECT session_id FROM task_sessions")
    # a misspelled column, qualified through an alias
    cur.execute("""
        SELECT t.task_id, s.titel
        FROM tasks AS t JOIN chat_sessions AS s ON s.session_id = t.session_id
    """)
    # a misspelled column in a single-table statement
    cur.execute("SELECT stauts FROM tasks WHERE task_id = ?", (1,))
    # an INSERT column list
    cur.execute("INSERT INTO chat_sessions (session_id, channel) VALUES (?, ?)", (1, 2))
    # UPDATE ... SET
    cur.execute("UPDATE tasks SET state = ? WHERE task_id = ?", (status, 1))
    # a CTE output that does not exist
    cur.execute("WITH recent AS (SELECT session_id FROM chat_sessions) SELECT recent.title FROM recent")
