-- 30 archived sessions; the copy skipped the 13 odd ones from sess-0005 up, so the
-- sample holds the first 10 of them in key order.
CREATE TABLE task_sessions_legacy (session_id TEXT PRIMARY KEY, channel TEXT);
CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
INSERT INTO task_sessions_legacy SELECT printf('sess-%04d', i), 'cli' FROM n;
INSERT INTO chat_sessions SELECT session_id, 'Untitled' FROM task_sessions_legacy
WHERE CAST(substr(session_id, 6) AS INTEGER) < 5 OR CAST(substr(session_id, 6) AS INTEGER) % 2 = 0;
INSERT INTO chat_sessions VALUES ('chat-0001', 'Only in chat_sessions');
