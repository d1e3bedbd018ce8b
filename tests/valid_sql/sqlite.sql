-- Statements SQLite (stdlib sqlite3) accepts: tests/test_valid_sql.py executes every entry,
-- in order, on a fresh in-memory database, then checks that sql-parses reports none of them
-- (as this .sql file, and as Python strings in several shapes).  One statement per entry;
-- entries are separated by a blank line; a "-- feature:" line names the group that follows.

-- feature: the schema used below
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, born DATE, meta TEXT);

CREATE TABLE books (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL COLLATE NOCASE,
    author_id INTEGER REFERENCES authors(id) ON DELETE CASCADE,
    price REAL DEFAULT 0.0 CHECK (price >= 0),
    tags TEXT DEFAULT '[]',
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, n INTEGER DEFAULT 0);

CREATE TABLE t2 (x INTEGER);

CREATE TABLE u (a INTEGER UNIQUE, b TEXT);

CREATE TABLE orders (id INTEGER PRIMARY KEY, book_id INTEGER, qty INTEGER, status TEXT, placed TEXT);

INSERT INTO authors (id, name, born, meta) VALUES (1, 'Ann', '1970-01-01', '{"country": "NO", "tags": ["a", "b"]}'), (2, 'Bob', NULL, NULL);

INSERT INTO books (title, author_id, price) VALUES ('First', 1, 10.5), ('Second', 1, 3), ('Third', 2, 7.25);

INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, NULL);

INSERT INTO t2 VALUES (1), (2);

INSERT INTO orders (book_id, qty, status, placed) VALUES (1, 2, 'new', '2024-01-01'), (2, 1, 'paid', '2024-02-01');

-- feature: sqlite_master, sqlite_schema, sqlite_temp_master
SELECT * FROM sqlite_master WHERE type = 'table';

SELECT name, sql FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name;

SELECT count(*) FROM main.sqlite_master;

SELECT name FROM sqlite_temp_master;

SELECT name FROM temp.sqlite_schema;

-- feature: sqlite_sequence (exists once an AUTOINCREMENT table has a row)
SELECT seq FROM sqlite_sequence WHERE name = 'books';

UPDATE sqlite_sequence SET seq = 100 WHERE name = 'books';

-- feature: sqlite_stat1 after ANALYZE
ANALYZE;

SELECT tbl, idx, stat FROM sqlite_stat1;

ANALYZE main;

ANALYZE books;

-- feature: temp. and main. prefixes
CREATE TEMP TABLE scratch (k TEXT PRIMARY KEY, v TEXT);

CREATE TEMPORARY TABLE IF NOT EXISTS scratch2 (k TEXT);

INSERT INTO temp.scratch (k, v) VALUES ('a', '1');

SELECT k, v FROM temp.scratch;

SELECT * FROM main.t WHERE main.t.a = 1;

SELECT temp.scratch.k FROM temp.scratch;

UPDATE main.t SET n = n + 1 WHERE id = 1;

DELETE FROM temp.scratch WHERE k = 'zz';

CREATE TABLE main.t3 (c);

CREATE INDEX main.t3_c ON t3 (c);

DROP TABLE temp.scratch2;

-- feature: rowid, oid, _rowid_
SELECT rowid, oid, _rowid_ FROM t;

SELECT t.rowid FROM t WHERE t.rowid > 0;

UPDATE t SET a = a WHERE rowid = 1;

DELETE FROM t2 WHERE _rowid_ = 99;

SELECT max(rowid) FROM books;

INSERT INTO t3 (rowid, c) VALUES (10, 'x');

-- feature: FTS5
CREATE VIRTUAL TABLE docs USING fts5(title, body);

CREATE VIRTUAL TABLE docs_ci USING fts5(title, body, tokenize = 'porter unicode61');

CREATE VIRTUAL TABLE book_fts USING fts5(title, content='books', content_rowid='id');

CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts USING fts5(body, prefix = '2 3');

INSERT INTO docs (title, body) VALUES ('hello', 'hello world');

INSERT INTO docs (rowid, title, body) VALUES (7, 'x', 'y');

INSERT INTO book_fts (book_fts) VALUES ('rebuild');

INSERT INTO docs (docs, rank) VALUES ('rank', 'bm25(10.0, 5.0)');

SELECT * FROM docs WHERE docs MATCH ?;

SELECT title FROM docs WHERE docs MATCH 'hello' ORDER BY rank;

SELECT highlight(docs, 1, '<b>', '</b>') FROM docs WHERE docs MATCH 'world';

SELECT snippet(docs, 1, '[', ']', '...', 8), bm25(docs) FROM docs WHERE docs MATCH :q;

SELECT rowid FROM docs WHERE title MATCH 'hello';

SELECT * FROM docs('hello');

SELECT b.title FROM books b JOIN book_fts f ON f.rowid = b.id WHERE book_fts MATCH 'first';

DELETE FROM docs WHERE rowid = 7;

-- feature: FTS4, R*Tree and other virtual tables
CREATE VIRTUAL TABLE old_fts USING fts4(body);

SELECT * FROM old_fts WHERE body MATCH 'x';

SELECT matchinfo(old_fts) FROM old_fts WHERE old_fts MATCH 'x';

CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx, miny, maxy);

SELECT id FROM boxes WHERE minx >= 0 AND maxx <= 10;

-- feature: x IN table
SELECT * FROM t WHERE a IN t2;

SELECT * FROM t WHERE a NOT IN t2;

SELECT * FROM t WHERE a IN main.t2;

-- feature: UPDATE OR / INSERT OR conflict clauses, REPLACE
UPDATE OR IGNORE t SET a = 1 WHERE id = ?;

UPDATE OR REPLACE t SET a = 2 WHERE id = 3;

UPDATE OR ROLLBACK t SET b = 'z' WHERE id = 1;

UPDATE OR ABORT t SET b = 'z' WHERE id = 1;

UPDATE OR FAIL t SET b = 'z' WHERE id = 1;

INSERT OR REPLACE INTO t (id, a) VALUES (?, ?);

INSERT OR IGNORE INTO u (a, b) SELECT a, b FROM t;

INSERT OR ABORT INTO t2 VALUES (3);

INSERT OR FAIL INTO t2 VALUES (4);

INSERT OR ROLLBACK INTO t2 VALUES (5);

REPLACE INTO t (id, a) VALUES (1, 1);

REPLACE INTO u VALUES (9, 'nine');

-- feature: ?NNN, :name, @name, $name parameters
SELECT * FROM t WHERE id = ?1 OR a = ?2 OR b = ?1;

SELECT * FROM t WHERE id = ?10;

SELECT * FROM t WHERE a = :a AND b = @b AND n = $n;

SELECT * FROM t WHERE b = $name::suffix;

INSERT INTO t (a, b) VALUES (:a, :b);

UPDATE t SET b = ? WHERE id = ?;

SELECT ? + ?, ?3;

-- feature: REFERENCES ... DEFERRABLE / NOT DEFERRABLE and other constraints
CREATE TABLE refs (task INTEGER REFERENCES t(id) NOT DEFERRABLE);

CREATE TABLE refs2 (a INTEGER REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED);

CREATE TABLE refs3 (a INTEGER REFERENCES t(id) NOT DEFERRABLE INITIALLY IMMEDIATE);

CREATE TABLE refs4 (a INTEGER, b TEXT, FOREIGN KEY (a) REFERENCES t(id) ON UPDATE SET NULL ON DELETE SET DEFAULT MATCH SIMPLE);

CREATE TABLE refs5 (a INTEGER CONSTRAINT fk_a REFERENCES t ON DELETE RESTRICT, CONSTRAINT pk PRIMARY KEY (a) ON CONFLICT REPLACE);

CREATE TABLE refs6 (a INTEGER NOT NULL ON CONFLICT IGNORE, b TEXT UNIQUE ON CONFLICT FAIL, c TEXT CHECK (length(c) < 10));

CREATE TABLE refs7 (a, b, FOREIGN KEY (a) REFERENCES t(id) FOREIGN KEY (b) REFERENCES u(a));

CREATE TABLE pk_desc (a INTEGER PRIMARY KEY DESC, b TEXT COLLATE RTRIM);

-- feature: STRICT and WITHOUT ROWID tables, typeless columns, odd type names
CREATE TABLE s (a TEXT, b INTEGER, c ANY) STRICT;

CREATE TABLE w (a TEXT PRIMARY KEY, b) WITHOUT ROWID;

CREATE TABLE sw (a INT PRIMARY KEY, b BLOB) STRICT, WITHOUT ROWID;

CREATE TABLE typeless (a, b, c);

CREATE TABLE oddtypes (a VARCHAR(255), b DOUBLE PRECISION, c UNSIGNED BIG INT, d NATIVE CHARACTER(70), e DECIMAL(10, 5), f BOOLEAN, g DATETIME);

CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY);

CREATE TABLE copy_of_t AS SELECT * FROM t WHERE 0;

CREATE TABLE "quoted name" ("a column" TEXT, [bracketed] INTEGER, `backticked` REAL);

SELECT "a column", [bracketed], `backticked` FROM "quoted name";

-- feature: generated columns
CREATE TABLE gen (a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL, c TEXT AS (upper(a)) STORED);

INSERT INTO gen (a) VALUES (21);

SELECT a, b, c FROM gen WHERE b > 10;

-- feature: defaults
CREATE TABLE defaults (a INTEGER DEFAULT -1, b TEXT DEFAULT 'x', c REAL DEFAULT (random()), d TEXT DEFAULT CURRENT_DATE, e BLOB DEFAULT x'00ff', f INTEGER DEFAULT +5, g DEFAULT NULL, h TEXT DEFAULT (datetime('now')));

INSERT INTO defaults DEFAULT VALUES;

-- feature: window functions
SELECT id, row_number() OVER (ORDER BY id) FROM t;

SELECT a, sum(a) OVER (PARTITION BY b ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t;

SELECT a, avg(a) OVER w, rank() OVER w FROM t WINDOW w AS (ORDER BY a DESC);

SELECT a, lag(a, 1, 0) OVER (ORDER BY id), lead(a) OVER (ORDER BY id) FROM t;

SELECT a, first_value(a) OVER (ORDER BY id RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW) FROM t;

SELECT a, count(*) OVER (ORDER BY id GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE TIES) FROM t;

SELECT ntile(2) OVER (ORDER BY a), percent_rank() OVER (ORDER BY a), cume_dist() OVER (ORDER BY a) FROM t;

SELECT a, nth_value(a, 2) OVER (PARTITION BY b) FROM t;

SELECT sum(a) FILTER (WHERE a > 1) OVER (ORDER BY id) FROM t;

SELECT dense_rank() OVER win FROM t WINDOW win AS (PARTITION BY b), win2 AS (win ORDER BY a);

-- feature: aggregates, FILTER, DISTINCT, GROUP BY / HAVING
SELECT count(*) FILTER (WHERE a > 1) FROM t;

SELECT b, count(DISTINCT a), group_concat(a, ','), total(a), max(a), min(a) FROM t GROUP BY b HAVING count(*) > 0;

SELECT group_concat(DISTINCT b) FROM t;

SELECT author_id, avg(price) AS p FROM books GROUP BY 1 ORDER BY p DESC;

SELECT count() FROM t;

-- feature: upserts
INSERT INTO t (id, a) VALUES (1, 5) ON CONFLICT (id) DO UPDATE SET a = excluded.a;

INSERT INTO u (a, b) VALUES (1, 'x') ON CONFLICT (a) DO NOTHING;

INSERT INTO u (a, b) VALUES (1, 'x') ON CONFLICT DO NOTHING;

INSERT INTO u (a, b) VALUES (1, 'y') ON CONFLICT (a) WHERE a > 0 DO UPDATE SET b = excluded.b || u.b WHERE u.b IS NOT NULL;

INSERT INTO t (id, a) SELECT id, a FROM t WHERE true ON CONFLICT (id) DO UPDATE SET n = n + 1;

INSERT INTO u (a, b) VALUES (2, 'z') ON CONFLICT (a) DO UPDATE SET b = 'q' ON CONFLICT DO NOTHING;

-- feature: RETURNING
INSERT INTO t2 (x) VALUES (42) RETURNING rowid, x;

UPDATE t SET n = n + 1 WHERE id = 1 RETURNING id, n AS new_n;

DELETE FROM t2 WHERE x = 42 RETURNING *;

INSERT INTO u (a, b) VALUES (77, 'r') ON CONFLICT (a) DO NOTHING RETURNING a;

-- feature: CTEs, recursive CTEs, MATERIALIZED hints
WITH c AS (SELECT a FROM t) SELECT a FROM c;

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5) SELECT x FROM c;

WITH RECURSIVE tree(id, depth) AS (SELECT id, 0 FROM t WHERE id = 1 UNION SELECT t.id, depth + 1 FROM t JOIN tree ON t.a = tree.id WHERE depth < 3) SELECT * FROM tree;

WITH a AS MATERIALIZED (SELECT 1 AS v), b AS NOT MATERIALIZED (SELECT v FROM a) SELECT v FROM b;

WITH x(k) AS (VALUES (1), (2)) SELECT k FROM x;

WITH old AS (SELECT id FROM t WHERE a > 100) DELETE FROM t WHERE id IN old;

WITH src AS (SELECT 5 AS a) INSERT INTO t (a) SELECT a FROM src;

WITH v AS (SELECT 1 AS id) UPDATE t SET n = 0 WHERE id IN (SELECT id FROM v);

-- feature: JSON functions and the -> / ->> operators
SELECT meta -> '$.country', meta ->> '$.country' FROM authors;

SELECT meta -> 'tags' -> 0 FROM authors;

SELECT json_extract(meta, '$.tags[0]'), json_type(meta, '$.tags') FROM authors;

SELECT value FROM authors, json_each(authors.meta, '$.tags');

SELECT key, value, type, atom, id, parent, fullkey, path FROM json_tree('{"a": [1, 2]}');

SELECT json_object('a', 1, 'b', json_array(1, 2)), json_group_array(a), json_group_object(b, a) FROM t;

UPDATE authors SET meta = json_set(coalesce(meta, '{}'), '$.seen', 1) WHERE id = ?;

SELECT json_valid(meta), json_patch(meta, '{"x": 1}'), json_remove(meta, '$.tags'), json_insert('{}', '$.a', 1), json_replace('{"a":1}', '$.a', 2), json_quote('x'), json_array_length('[1,2]') FROM authors;

SELECT * FROM books WHERE tags ->> '$[0]' = 'x';

-- feature: indexes: unique, partial, expression, collation, IF NOT EXISTS
CREATE INDEX books_author ON books (author_id);

CREATE UNIQUE INDEX IF NOT EXISTS books_title ON books (title COLLATE NOCASE);

CREATE INDEX books_cheap ON books (price) WHERE price < 5;

CREATE INDEX books_lower ON books (lower(title), price DESC);

CREATE INDEX authors_country ON authors (json_extract(meta, '$.country'));

CREATE INDEX IF NOT EXISTS t_a_b ON t (a ASC, b DESC);

SELECT * FROM books INDEXED BY books_author WHERE author_id = 1;

SELECT * FROM books NOT INDEXED WHERE author_id = 1;

DROP INDEX IF EXISTS t_a_b;

-- feature: views
CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 5;

CREATE VIEW IF NOT EXISTS author_counts (author, n) AS SELECT author_id, count(*) FROM books GROUP BY author_id;

CREATE TEMP VIEW tv AS SELECT 1 AS one;

SELECT * FROM cheap_books;

SELECT author, n FROM author_counts;

-- feature: triggers with bodies
CREATE TRIGGER touch AFTER UPDATE ON t BEGIN UPDATE t SET n = n + 1 WHERE id = NEW.id AND NEW.a <> OLD.a; END;

CREATE TRIGGER IF NOT EXISTS books_ai AFTER INSERT ON books BEGIN
  INSERT INTO book_fts (rowid, title) VALUES (new.id, new.title);
END;

CREATE TRIGGER books_ad AFTER DELETE ON books BEGIN
  INSERT INTO book_fts (book_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;

CREATE TRIGGER books_au AFTER UPDATE OF title ON books FOR EACH ROW WHEN new.title <> old.title BEGIN
  INSERT INTO book_fts (book_fts, rowid, title) VALUES ('delete', old.id, old.title);
  INSERT INTO book_fts (rowid, title) VALUES (new.id, new.title);
END;

CREATE TRIGGER no_negative BEFORE INSERT ON orders WHEN NEW.qty < 0 BEGIN SELECT RAISE(ABORT, 'negative quantity'); END;

CREATE TRIGGER cheap_view_insert INSTEAD OF INSERT ON cheap_books BEGIN INSERT INTO books (title, price) VALUES (NEW.title, 1); END;

CREATE TEMP TRIGGER tt AFTER INSERT ON t2 BEGIN DELETE FROM t2 WHERE x < 0; END;

CREATE TRIGGER case_body AFTER INSERT ON t BEGIN
  UPDATE t SET b = CASE WHEN NEW.a > 1 THEN 'big' ELSE 'small' END WHERE id = NEW.id;
  SELECT CASE NEW.a WHEN 1 THEN RAISE(IGNORE) END;
END;

CREATE TRIGGER ups AFTER INSERT ON u BEGIN INSERT INTO t2 (x) VALUES (NEW.a) ON CONFLICT DO NOTHING; END;

DROP TRIGGER IF EXISTS tt;

-- feature: joins of every kind
SELECT * FROM books b JOIN authors a ON a.id = b.author_id;

SELECT * FROM books LEFT OUTER JOIN authors ON authors.id = books.author_id;

SELECT * FROM books NATURAL JOIN orders;

SELECT * FROM books JOIN orders USING (id);

SELECT * FROM t CROSS JOIN t2;

SELECT * FROM t, t2 WHERE t.a = t2.x;

SELECT * FROM books RIGHT JOIN authors ON authors.id = books.author_id;

SELECT * FROM books FULL OUTER JOIN authors ON authors.id = books.author_id;

SELECT * FROM t INNER JOIN t2 ON t.a = t2.x LEFT JOIN u ON u.a = t.a;

-- feature: subqueries, EXISTS, scalar subqueries, table-valued functions
SELECT title FROM books WHERE author_id IN (SELECT id FROM authors WHERE born IS NOT NULL);

SELECT title FROM books b WHERE EXISTS (SELECT 1 FROM orders o WHERE o.book_id = b.id);

SELECT (SELECT count(*) FROM orders WHERE book_id = books.id) AS n FROM books;

SELECT * FROM (SELECT a, b FROM t) AS sub WHERE sub.a > 1;

SELECT * FROM pragma_table_info('books');

SELECT name FROM pragma_index_list('books') WHERE "unique";

SELECT value FROM json_each('[1,2,3]') WHERE value > 1;

-- feature: set operations, VALUES, ORDER BY / LIMIT / OFFSET forms
SELECT a FROM t UNION SELECT x FROM t2;

SELECT a FROM t UNION ALL SELECT x FROM t2 ORDER BY 1 LIMIT 3;

SELECT a FROM t INTERSECT SELECT x FROM t2;

SELECT a FROM t EXCEPT SELECT x FROM t2;

VALUES (1, 'a'), (2, 'b');

SELECT * FROM (VALUES (1, 2), (3, 4));

SELECT * FROM t LIMIT 1, 2;

SELECT * FROM t LIMIT 2 OFFSET 1;

SELECT * FROM t ORDER BY b NULLS LAST, a DESC NULLS FIRST;

SELECT * FROM t ORDER BY b COLLATE NOCASE;

SELECT DISTINCT b FROM t;

SELECT ALL b FROM t;

-- feature: expressions, operators, CASE, CAST, COLLATE, literals
SELECT CASE WHEN a > 1 THEN 'x' WHEN a IS NULL THEN NULL ELSE 'y' END FROM t;

SELECT CASE a WHEN 1 THEN 'one' END FROM t;

SELECT CAST(a AS TEXT), CAST('1' AS INTEGER), CAST(b AS BLOB) FROM t;

SELECT b COLLATE NOCASE = 'X' FROM t;

SELECT a BETWEEN 1 AND 3, a NOT BETWEEN 1 AND 2, b LIKE 'x%' ESCAPE '\', b GLOB 'x*' FROM t;

SELECT b IS NOT DISTINCT FROM 'x', b IS DISTINCT FROM NULL, a IS 1, a IS NOT NULL, a ISNULL, a NOTNULL, a NOT NULL FROM t;

SELECT a << 1, a >> 1, a & 1, a | 1, ~a, -a, +a, a % 2, b || 'x' FROM t;

SELECT x'CAFE', X'00', 1e10, .5, 0x1F, 'it''s', NULL, TRUE, FALSE, CURRENT_TIME, CURRENT_DATE, CURRENT_TIMESTAMP;

SELECT iif(a, 1, 2), coalesce(a, 0), ifnull(b, ''), nullif(a, 1), typeof(a), quote(b), hex(b), length(b) FROM t;

SELECT abs(-1), round(2.5), random(), randomblob(4), zeroblob(2), instr('abc', 'b'), substr('abc', 2), substring('abc', 1, 1), trim(' a '), ltrim('a'), rtrim('a'), replace('a', 'a', 'b'), upper('a'), lower('A'), unicode('a'), char(65), printf('%d', 1), format('%s', 'x'), likelihood(1, 0.5), likely(1), unlikely(0), soundex('x');

SELECT date('now'), time('now', 'localtime'), datetime('now', '-1 day'), julianday('now'), strftime('%Y', 'now'), unixepoch('now');

SELECT sqrt(4), pow(2, 3), ln(1), log10(10), floor(1.5), ceil(1.5), pi(), mod(7, 3), trunc(1.7), sign(-2);

SELECT changes(), total_changes(), last_insert_rowid(), sqlite_version(), sqlite_source_id();

SELECT * FROM t WHERE b IN ('x', 'y') AND a NOT IN (SELECT x FROM t2);

SELECT * FROM t WHERE (a, b) = (1, 'x');

SELECT * FROM t WHERE (a, b) IN (SELECT x, 'x' FROM t2);

SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM t2 WHERE x = 100);

-- feature: UPDATE ... FROM, ORDER BY / LIMIT in UPDATE and DELETE
UPDATE books SET price = o.qty FROM orders o WHERE o.book_id = books.id;

UPDATE t SET (a, b) = (1, 'z') WHERE id = 2;

UPDATE t SET a = 0 ORDER BY id LIMIT 1;

DELETE FROM t2 WHERE x > 100 ORDER BY x LIMIT 10 OFFSET 0;

UPDATE t AS alias SET n = alias.n + 1 WHERE alias.id = 1;

DELETE FROM t2 AS d WHERE d.x = -1;

-- feature: INSERT forms
INSERT INTO t2 DEFAULT VALUES;

INSERT INTO t2 SELECT x FROM t2 WHERE x < 0;

INSERT INTO t2 (x) VALUES (1), (2), (3);

INSERT INTO t AS target (a) VALUES (1);

INSERT INTO main.t2 (x) VALUES (8);

-- feature: PRAGMA forms
PRAGMA foreign_keys = ON;

PRAGMA foreign_keys;

PRAGMA table_info(books);

PRAGMA table_info('books');

PRAGMA main.table_info(t);

PRAGMA table_xinfo(gen);

PRAGMA index_list(books);

PRAGMA index_info(books_author);

PRAGMA foreign_key_list(refs4);

PRAGMA foreign_key_check;

PRAGMA integrity_check;

PRAGMA quick_check(10);

PRAGMA user_version = 3;

PRAGMA user_version;

PRAGMA application_id;

PRAGMA journal_mode = MEMORY;

PRAGMA synchronous = NORMAL;

PRAGMA busy_timeout = 5000;

PRAGMA cache_size = -2000;

PRAGMA temp_store = MEMORY;

PRAGMA recursive_triggers = 1;

PRAGMA defer_foreign_keys = true;

PRAGMA case_sensitive_like = false;

PRAGMA legacy_alter_table = OFF;

PRAGMA page_count;

PRAGMA schema_version;

PRAGMA compile_options;

PRAGMA database_list;

PRAGMA collation_list;

PRAGMA function_list;

PRAGMA optimize;

-- feature: ALTER TABLE
ALTER TABLE t3 ADD COLUMN d TEXT DEFAULT 'x';

ALTER TABLE t3 ADD e INTEGER;

ALTER TABLE t3 RENAME COLUMN d TO dd;

ALTER TABLE t3 RENAME e TO ee;

ALTER TABLE t3 DROP COLUMN ee;

ALTER TABLE t3 RENAME TO t4;

ALTER TABLE main.t4 RENAME TO t3;

-- feature: transactions and savepoints
BEGIN;

SAVEPOINT sp;

INSERT INTO t2 VALUES (11);

ROLLBACK TO SAVEPOINT sp;

ROLLBACK TO sp;

RELEASE SAVEPOINT sp;

COMMIT;

BEGIN DEFERRED TRANSACTION;

END TRANSACTION;

BEGIN IMMEDIATE;

ROLLBACK;

BEGIN EXCLUSIVE;

COMMIT TRANSACTION;

SAVEPOINT outer_sp;

RELEASE outer_sp;

-- feature: VACUUM, REINDEX, EXPLAIN
VACUUM;

VACUUM main;

REINDEX;

REINDEX books;

REINDEX NOCASE;

REINDEX main.books_author;

EXPLAIN SELECT * FROM t;

EXPLAIN QUERY PLAN SELECT * FROM books WHERE author_id = 1;

-- feature: identifiers that are keywords, quoted and case-insensitive
CREATE TABLE "order" ("group" TEXT, "select" INTEGER, key TEXT, value TEXT, "index" INTEGER);

SELECT "group", "select", key, value, "index" FROM "order";

SELECT [group] FROM [order];

SELECT KEY FROM "ORDER";

CREATE TABLE status (name TEXT, date TEXT, time TEXT, text TEXT, action TEXT, row TEXT);

SELECT name, date, time, text, action, row FROM status;

-- feature: comments
SELECT 1 -- a trailing comment
;

SELECT /* inline */ a FROM t /* another */ WHERE a = 1;

/* a comment before the statement */ SELECT 2;

-- feature: DROP statements
DROP VIEW IF EXISTS tv;

DROP VIEW cheap_books;

DROP TABLE IF EXISTS copy_of_t;

DROP TABLE main.typeless;

DROP TRIGGER touch;

DROP INDEX books_cheap;

DROP TABLE docs_ci;
