-- The merge itself named task_sessions (DDL: not reported unless ddl: true);
-- since then only chat_sessions and the archive were queried.
CREATE EXTENSION pg_stat_statements;
CREATE TABLE task_sessions (session_id text PRIMARY KEY);
CREATE TABLE chat_sessions (session_id text PRIMARY KEY);
ALTER TABLE task_sessions RENAME TO task_sessions_legacy;
SELECT count(*) FROM chat_sessions;
SELECT count(*) FROM task_sessions_legacy;
-- A string that merely mentions the name is not a reference.
SELECT 'task_sessions' AS note;
