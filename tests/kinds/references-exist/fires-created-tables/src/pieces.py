"""The neighbours: a real table in a piece keeps its columns checked, and a whole
statement (not a piece) naming a missing table still fires."""


def query(restrictions):
    parts = ["WITH base AS (SELECT id, title FROM tasks)"]
    if restrictions:
        parts.extend([
            ",",
            "picked AS (",
            "  SELECT id FROM tasks WHERE titel IS NOT NULL",
            ")",
        ])
    return "\n".join(parts)


def whole(db):
    return db.execute("SELECT id FROM picked")
