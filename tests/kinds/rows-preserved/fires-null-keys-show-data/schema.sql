CREATE TABLE old_events (legacy_id INTEGER, payload TEXT);
CREATE TABLE events (event_id INTEGER, payload TEXT);
INSERT INTO old_events VALUES (1, 'a'), (2, 'b'), (NULL, 'c'), (NULL, 'd');
INSERT INTO events VALUES (1, 'a'), (2, 'b'), (NULL, 'c');
