CREATE TABLE order_lines_legacy (shop TEXT, order_no INTEGER, qty INTEGER,
                                 PRIMARY KEY (shop, order_no));
CREATE TABLE order_lines (shop TEXT, number INTEGER, qty INTEGER, PRIMARY KEY (shop, number));
INSERT INTO order_lines_legacy VALUES ('berlin', 1, 1), ('berlin', 2, 5), ('paris', 1, 2),
                                      ('paris', 2, 1);
-- ('paris', 1) is missing although both parts exist separately.
INSERT INTO order_lines VALUES ('berlin', 1, 1), ('berlin', 2, 5), ('paris', 2, 1),
                               ('rome', 1, 9);
