-- schema v36: point tasks.session_id at chat_sessions.
-- When v35 renamed task_sessions to task_sessions_legacy, SQLite rewrote the
-- foreign key of tasks.session_id to follow it: tasks still hung off the archived
-- table. SQLite cannot alter a constraint, so rebuild tasks (create, copy, drop,
-- rename). The failed v21 left a tasks_new behind; clear it out first.
DROP TABLE tasks_new;

CREATE TABLE tasks_new (
    task_id    TEXT PRIMARY KEY,
    session_id TEXT REFERENCES chat_sessions(session_id),
    title      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    updated_at TEXT,
    priority   INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tasks_new (task_id, session_id, title, status, created_at, updated_at, priority)
SELECT task_id, session_id, title, status, created_at, updated_at, priority FROM tasks;
DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;
CREATE INDEX idx_tasks_status_priority ON tasks(status, priority);

INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v36_fix_tasks_fk', 'success', '2025-06-04T09:30:00Z');
UPDATE schema_version SET version = '0.36.0';
