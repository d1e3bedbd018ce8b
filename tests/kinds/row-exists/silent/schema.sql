CREATE TABLE schema_migrations (migration_id TEXT PRIMARY KEY, status TEXT, applied_at TEXT);
INSERT INTO schema_migrations VALUES
    ('v35_merge_task_sessions', 'failed', '2025-06-01T10:15:00Z');
-- A failed attempt stays recorded; the retry replaced it.
INSERT OR REPLACE INTO schema_migrations VALUES
    ('v35_merge_task_sessions', 'success', '2025-06-02T10:15:00Z');
