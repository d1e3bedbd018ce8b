-- schema v3: one account per email address.
CREATE UNIQUE INDEX idx_users_email ON users(email);

INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v3_users_email_unique', 'success', '2024-02-05T09:00:00Z');
UPDATE schema_version SET version = '0.3.0';
