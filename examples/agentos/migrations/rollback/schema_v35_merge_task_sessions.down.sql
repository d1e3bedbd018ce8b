-- Rollback of schema v35, as the merge report published it:
-- "rename task_sessions_legacy back, recreate its two indexes, delete the migration record".
-- It does not restore the schema from before v35: the two columns v35 added to
-- chat_sessions stay (gatecheck run --config examples/agentos/review.yaml says so).
ALTER TABLE task_sessions_legacy RENAME TO task_sessions;
CREATE INDEX idx_task_sessions_channel ON task_sessions(channel);
CREATE INDEX idx_task_sessions_last_activity ON task_sessions(last_activity);

DELETE FROM schema_migrations WHERE migration_id = 'v35_merge_task_sessions';
UPDATE schema_version SET version = '0.34.0';
