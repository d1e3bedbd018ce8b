ALTER TABLE users ADD COLUMN display_name TEXT;
DROP INDEX users_email;
CREATE TABLE profiles (user_id INTEGER PRIMARY KEY REFERENCES users(id), bio TEXT);
