CREATE TABLE orders (number INTEGER, shop TEXT, PRIMARY KEY (number, shop));
CREATE TABLE order_lines (line_id INTEGER PRIMARY KEY, order_no INTEGER, shop TEXT);
INSERT INTO orders VALUES (1, 'berlin'), (2, 'paris');
INSERT INTO order_lines VALUES (1, 1, 'berlin'), (2, 1, 'paris'), (3, 2, 'paris'),
                               -- a NULL in any key column: not checked (MATCH SIMPLE)
                               (4, NULL, 'rome'), (5, 9, NULL);
