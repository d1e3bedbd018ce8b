"""The release that is deployed while the migrations run."""


def email_of(db, user_id):
    return db.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()


def sessions_of(db, user_id):
    return db.execute("SELECT s.id FROM sessions AS s WHERE s.user_id = ?", (user_id,))
