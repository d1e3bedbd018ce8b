-- chat_sessions exists (in another case), task_sessions_legacy is only a view, tasks is missing.
CREATE TABLE Chat_Sessions (session_id TEXT PRIMARY KEY);
CREATE VIEW task_sessions_legacy AS SELECT session_id FROM Chat_Sessions;
