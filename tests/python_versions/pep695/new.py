"""PEP 695 (Python 3.12): type parameters and type aliases."""
import sqlite3

TABLE = "task_sessions"
type Rows[T] = list[tuple[T, ...]]


class Store[T: sqlite3.Connection]:
    QUERY = ("SELECT id, title FROM task_sessions "
             "WHERE archived = 0")

    def load[R](self, cur: T, key: R) -> Rows[R]:
        cur.execute("DELETE FROM task_sessions WHERE id = ?", (key,))
        cur.execute(f"SELECT * FROM {TABLE} WHERE id = ?", (key,))
        return cur.execute(self.QUERY).fetchall()


def count[T](cur: T, where: str) -> int:
    sql = "SELECT count(*) FROM %s WHERE %s" % (TABLE, where)
    return cur.execute(sql).fetchone()[0]
