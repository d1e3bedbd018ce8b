CREATE TABLE schema_version (version TEXT NOT NULL);
INSERT INTO schema_version VALUES ('0.36.0');
CREATE TABLE version_history (version TEXT);
INSERT INTO version_history VALUES ('0.9.1'), ('v0.35'), ('0.10.0');
CREATE TABLE user_version (n INTEGER);
INSERT INTO user_version VALUES (35);
