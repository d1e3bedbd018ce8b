CREATE TABLE schema_migrations (migration_id TEXT PRIMARY KEY, status TEXT, applied_at TEXT);
CREATE TABLE settings (name TEXT, value TEXT);
INSERT INTO schema_migrations VALUES
    ('v34_chat_sessions_task_index', 'success', '2025-05-19T09:00:00Z'),
    ('v35_merge_task_sessions', 'failed', '2025-06-02T10:15:00Z'),
    ('v36', 'failed', '2025-06-04T09:30:00Z');
