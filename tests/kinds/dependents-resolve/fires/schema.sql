CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT);
CREATE TABLE task_sessions (session_id TEXT PRIMARY KEY, channel TEXT);
CREATE TABLE audit (what TEXT, at TEXT);
CREATE TABLE users (user_id INTEGER PRIMARY KEY, last_seen_at TEXT);
CREATE TABLE messages (message_id INTEGER PRIMARY KEY, user_id INTEGER, created_at TEXT);

-- A rename under legacy_alter_table=ON leaves the view naming the old table.
CREATE VIEW recent_task_sessions AS SELECT session_id, channel FROM task_sessions;
PRAGMA legacy_alter_table = ON;
ALTER TABLE task_sessions RENAME TO task_sessions_legacy;
PRAGMA legacy_alter_table = OFF;

-- DROP TABLE keeps the trigger that writes to the dropped table.
CREATE TRIGGER audit_sessions AFTER INSERT ON chat_sessions
BEGIN
    INSERT INTO audit (what, at) VALUES ('session ' || NEW.session_id, datetime('now'));
END;
DROP TABLE audit;

-- Columns that do not exist: through an alias, through NEW, in an INSERT column
-- list and an UPDATE target (the tables exist).
CREATE VIEW session_titles AS
SELECT s.session_id, s.topic FROM chat_sessions AS s;
CREATE TRIGGER touch_user AFTER INSERT ON messages
BEGIN
    UPDATE users SET last_seen = NEW.created_at WHERE user_id = NEW.author_id;
    INSERT INTO chat_sessions (session_id, name) VALUES (NEW.message_id, 'x');
END;
-- Also dangling, but excepted by the rule.
CREATE VIEW ignored_view AS SELECT * FROM nowhere;
