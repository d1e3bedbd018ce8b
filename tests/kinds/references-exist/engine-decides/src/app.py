"""SQLite resolves these names itself; sqlglot's resolution alone reported each one.

Each silent line has a neighbour below that must fire: the engine decides, and
what it says is missing is reported at the name.
"""


def silent(cur):
    cur.execute("SELECT rowid, body FROM notes WHERE oid > ? AND _rowid_ < ?")
    cur.execute("SELECT rowid FROM notes_fts WHERE notes_fts MATCH ?")
    cur.execute("SELECT body FROM notes_fts WHERE notes_fts MATCH ? ORDER BY rank")
    cur.execute("SELECT highlight(notes_fts, 0, '[', ']') FROM notes_fts WHERE notes_fts MATCH ?")
    cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    cur.execute("SELECT name FROM sqlite_schema")
    cur.execute("SELECT seq FROM sqlite_sequence WHERE name = 'counter'")
    cur.execute("SELECT * FROM notes WHERE tag IN tags")
    cur.execute("UPDATE OR IGNORE notes SET body = ? WHERE id = ?")
    cur.execute("INSERT OR REPLACE INTO notes (id, body) VALUES (?1, ?2)")
    cur.execute("SELECT body FROM main.notes")
    cur.execute("SELECT n.body FROM notes n WHERE n.id IN (SELECT id FROM v_notes)")
    cur.execute("SELECT json_extract(body, '$.a') AS a FROM notes ORDER BY a")
    cur.execute("SELECT app_defined(body) FROM notes COLLATE app_collation")


def fires(cur):
    cur.execute("SELECT rowid, bodyy FROM notes WHERE oid > ?")
    cur.execute("SELECT rowid FROM notes_fts WHERE notes_ftss MATCH ?")
    cur.execute("SELECT name FROM sqlite_masterr")
    cur.execute("SELECT * FROM notes WHERE tag IN tagz")
    cur.execute("UPDATE OR IGNORE notes SET bodyy = ? WHERE id = ?")
    cur.execute("INSERT OR REPLACE INTO notes (id, bodi) VALUES (?1, ?2)")
    cur.execute("SELECT x.body, y.nam FROM notes x JOIN tags y ON y.name = x.tag")
    cur.execute("SELECT app_defined(bodyx) FROM notes")
    cur.execute("SELECT * FROM nottes")
    cur.execute("SELECT body FROM temp.scratch")
