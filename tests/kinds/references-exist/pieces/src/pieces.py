"""SQL kept in pieces and assembled at run time: every piece is read at its own place."""


def history(db, recent, only_tasks):
    base = "SELECT s.id, h.at FROM sessions s "
    join = "LEFT OUTER JOIN session_history h ON h.session_id = s.id "
    where = "WHERE s.id IN (SELECT session_id FROM task_sessions)"
    query = base + join + where
    db.execute(query)

    sql = "SELECT id, titel FROM sessions"        # a misspelled column, found in the whole
    sql += " JOIN task_sessions t ON t.session_id = sessions.id"
    if recent:
        sql += " WHERE chanel = ?"                  # and one in a piece added later
    db.execute(sql, (recent,))

    extra = " JOIN task_sessions t ON t.session_id = s.id" if only_tasks else \
        " JOIN tasks t ON t.session_id = s.id"
    db.execute("SELECT s.id FROM sessions s" + extra)

    parts = " ".join(["SELECT id FROM sessions", where])
    db.execute(parts)


def ddl(db):
    # sqlglot cannot read NOT DEFERRABLE; the foreign key's target is still a reference
    db.execute("CREATE TABLE notes (id INTEGER REFERENCES task_sessions(session_id) "
               "NOT DEFERRABLE, body TEXT)")


def prose():
    # Words that start like clauses, in text for people: never SQL.
    return ["Where is the file?", "Join the team", "Left unchanged", "Order by date, please"]
