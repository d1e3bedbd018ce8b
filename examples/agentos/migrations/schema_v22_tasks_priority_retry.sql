-- schema v22: add tasks.priority without a rebuild (retry of the failed v21).
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE INDEX idx_tasks_status_priority ON tasks(status, priority);

INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v22_tasks_priority_retry', 'success', '2024-09-10T09:00:00Z');
UPDATE schema_version SET version = '0.22.0';
