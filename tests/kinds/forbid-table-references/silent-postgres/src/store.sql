-- none of these is the table task_sessions on PostgreSQL (search path: public)
SELECT 'task_sessions' AS label, $1::text FROM chat_sessions;
SELECT $$ DELETE FROM task_sessions $$ AS not_sql, $q$task_sessions$q$ FROM chat_sessions;
SELECT * FROM task_sessions_legacy WHERE created_at::timestamptz < now() - interval '30 days';
SELECT * FROM app.task_sessions;              -- another schema: another table
SELECT * FROM "Task_Sessions";               -- quoted: the case is kept, another table
INSERT INTO chat_sessions (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING
RETURNING session_id AS task_sessions;
WITH task_sessions AS (SELECT * FROM chat_sessions) SELECT * FROM task_sessions;
