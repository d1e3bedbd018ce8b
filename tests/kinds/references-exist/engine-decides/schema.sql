CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, tag TEXT);
CREATE VIRTUAL TABLE notes_fts USING fts5(body, content='notes', content_rowid='id');
CREATE TABLE tags (name TEXT PRIMARY KEY);
CREATE TABLE counter (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER);
CREATE VIEW v_notes AS SELECT id, body FROM notes;
