-- schema v10: keep the chats imported from the retired web UI, read-only.
-- Archived under a *_legacy name from the start: nothing writes to it.
CREATE TABLE webui_chats_legacy (
    chat_id     TEXT PRIMARY KEY,
    user_email  TEXT,
    title       TEXT,
    payload     TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
INSERT INTO webui_chats_legacy (chat_id, user_email, title, payload, imported_at) VALUES
    ('wc-17', 'ada@example.com',   'Calendar sync', '{"messages": 4}', '2024-04-15T09:00:00Z'),
    ('wc-42', 'grace@example.com', 'Export to CSV', '{"messages": 9}', '2024-04-15T09:00:00Z');

INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v10_webui_chats_legacy', 'success', '2024-04-15T09:00:00Z');
UPDATE schema_version SET version = '0.10.0';
