-- schema v21: add tasks.priority by rebuilding tasks.
-- This attempt FAILED in production: the run stopped after the copy below, before
--     DROP TABLE tasks; ALTER TABLE tasks_new RENAME TO tasks;
-- so tasks_new was left behind. The file is kept exactly as it ran, so replaying
-- the migrations reproduces production. v22 added the column the simple way.
CREATE TABLE tasks_new (
    task_id    TEXT PRIMARY KEY,
    session_id TEXT REFERENCES task_sessions(session_id),
    title      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    updated_at TEXT,
    priority   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tasks_new (task_id, session_id, title, status, created_at, updated_at)
SELECT task_id, session_id, title, status, created_at, updated_at FROM tasks;

-- Written by the migration runner's error handler.
INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v21_tasks_priority', 'failed', '2024-09-09T09:00:00Z');
