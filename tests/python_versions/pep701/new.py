"""PEP 701 (Python 3.12): quotes, backslashes, comments and line breaks inside f-string fields."""
TABLE = "task_sessions"
NL = "\n"


def report(cur, row, cols, flag):
    cur.execute(f"SELECT {row["id"]} FROM {TABLE} WHERE mode = {"a" if flag else "b"}")
    cur.execute(f"SELECT {"\n".join(cols)} FROM task_sessions WHERE x = {f"{row["k"]}"}")
    cur.execute(  f"SELECT {
        row  # the id column
    } FROM task_sessions")
    query = (f"DELETE FROM {TABLE} "
             f"WHERE owner = {row["owner"]!r} AND n = {row["n"]:>{len("ab")}}")
    return query
