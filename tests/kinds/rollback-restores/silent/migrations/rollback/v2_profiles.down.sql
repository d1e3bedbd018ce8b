-- Undo v2.
DROP TABLE profiles;
CREATE INDEX users_email ON users (email);
ALTER TABLE users DROP COLUMN display_name;
