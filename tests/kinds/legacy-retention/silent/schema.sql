CREATE TABLE schema_migrations (migration_id TEXT PRIMARY KEY, status TEXT, applied_at TEXT);
INSERT INTO schema_migrations VALUES ('v35_merge_task_sessions', 'success', '2025-06-02T10:15:00Z');
CREATE TABLE archive_log (table_name TEXT, archived_at INTEGER);
-- Unix seconds of 2025-06-20T00:00:00Z
INSERT INTO archive_log VALUES ('users_archive', 1750377600);
CREATE TABLE task_sessions_legacy (session_id TEXT);  -- 30 days old on 2025-07-02: kept
CREATE TABLE users_archive (user_id INTEGER);
