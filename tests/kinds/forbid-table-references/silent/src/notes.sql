-- task_sessions was merged into chat_sessions
/* SELECT * FROM task_sessions; */
SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'task_sessions';
SELECT u.id, u.task_sessions_count FROM webui_users u WHERE u.task_sessions_count > 0;
SELECT * FROM task_sessions_legacy JOIN task_session_events USING (session_id);
WITH task_sessions AS (SELECT * FROM chat_sessions) SELECT * FROM task_sessions;
SELECT task_sessions.id FROM chat_sessions AS task_sessions;
