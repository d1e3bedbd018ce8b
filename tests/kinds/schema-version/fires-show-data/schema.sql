CREATE TABLE schema_version (version TEXT NOT NULL);
INSERT INTO schema_version VALUES ('0.9.1');
CREATE TABLE release (tag TEXT);
INSERT INTO release VALUES ('1.2.0'), ('2.0.0-rc1');
CREATE TABLE empty_version (version TEXT);
CREATE TABLE user_version (n INTEGER);
INSERT INTO user_version VALUES (35);
