"""A statement kept in pieces: a CTE named in one piece is used in later ones."""


def query(restrictions):
    parts = ["WITH base AS (SELECT id, title FROM tasks)"]
    if restrictions:
        parts.extend([
            ",",
            "picked AS (",
            "  SELECT id FROM base WHERE title IS NOT NULL",
            ")",
        ])
    parts.append("SELECT id FROM picked")
    return "\n".join(parts)
