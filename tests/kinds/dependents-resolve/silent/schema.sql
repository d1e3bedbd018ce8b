CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT, metadata TEXT);
CREATE TABLE chat_messages (message_id INTEGER PRIMARY KEY, session_id TEXT,
                            user_id INTEGER, created_at TEXT);
CREATE TABLE users (user_id INTEGER PRIMARY KEY, last_seen_at TEXT);
CREATE TABLE audit (what TEXT);

-- Aliases, a CTE, a subquery alias, a correlated subquery, a view over a view,
-- a table-valued function and SQLite's own catalogue all resolve.
CREATE VIEW chat_activity AS
WITH counts AS (SELECT session_id, COUNT(*) AS n FROM chat_messages GROUP BY session_id)
SELECT s.session_id, s.title, c.n, last.at,
       (SELECT MAX(m.created_at) FROM chat_messages AS m WHERE m.session_id = s.session_id) AS t
FROM chat_sessions AS s
LEFT JOIN counts AS c ON c.session_id = s.session_id
LEFT JOIN (SELECT session_id, MAX(created_at) AS at FROM chat_messages GROUP BY session_id) AS last
       ON last.session_id = s.session_id;
CREATE VIEW busy_sessions AS SELECT a.session_id FROM chat_activity AS a WHERE a.n > 10;
CREATE VIEW session_tags AS
SELECT s.session_id, j.value AS tag FROM chat_sessions AS s, json_each(s.metadata) AS j;
CREATE VIEW object_count AS SELECT COUNT(*) AS n FROM sqlite_master;

CREATE TRIGGER touch_user_last_seen AFTER INSERT ON chat_messages
WHEN NEW.user_id IS NOT NULL
BEGIN
    UPDATE users SET last_seen_at = NEW.created_at WHERE user_id = NEW.user_id;
    INSERT INTO audit (what) VALUES ('message ' || NEW.message_id);
END;
CREATE TRIGGER forget_session AFTER DELETE ON chat_sessions
BEGIN
    DELETE FROM chat_messages WHERE chat_messages.session_id = OLD.session_id;
END;
