-- PostgreSQL port of examples/agentos/migrations/schema_v35_merge_task_sessions.sql:
-- INSERT OR IGNORE is ON CONFLICT DO NOTHING, json_extract is ->>.  The rename keeps
-- the foreign key of tasks.session_id on the renamed table (it follows its OID), as
-- SQLite's rewrite does.
-- schema v35: merge task_sessions into chat_sessions (expand, migrate, archive).

-- 1. Expand: chat_sessions gets the columns only task_sessions had.
ALTER TABLE chat_sessions ADD COLUMN channel TEXT;
ALTER TABLE chat_sessions ADD COLUMN last_activity TEXT;

-- 2. Migrate: copy every task session; a session already in chat_sessions wins.
INSERT INTO chat_sessions (session_id, task_id, title, created_at, channel, last_activity)
SELECT session_id,
       metadata::jsonb ->> 'task_id',
       'Untitled session',
       created_at,
       channel,
       last_activity
FROM task_sessions
ON CONFLICT (session_id) DO NOTHING;

-- 3. Archive: keep the old rows under a *_legacy name, without its indexes.
ALTER TABLE task_sessions RENAME TO task_sessions_legacy;
DROP INDEX idx_task_sessions_channel;
DROP INDEX idx_task_sessions_last_activity;

-- 4. Record the migration and bump the version.
INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v35_merge_task_sessions', 'success', '2025-06-02T10:15:00Z');
UPDATE schema_version SET version = '0.35.0';
