-- v2: expand only; the old code keeps working.
ALTER TABLE users ADD COLUMN identity_id TEXT;
CREATE TABLE user_sessions (id TEXT PRIMARY KEY, user_id INTEGER REFERENCES users(id));
