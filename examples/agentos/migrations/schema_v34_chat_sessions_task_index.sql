-- schema v34: look chat sessions up by the task they belong to.
CREATE INDEX idx_chat_sessions_task_id ON chat_sessions(task_id);

INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v34_chat_sessions_task_index', 'success', '2025-05-19T09:00:00Z');
UPDATE schema_version SET version = '0.34.0';
