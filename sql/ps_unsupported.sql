--
-- ps_unsupported: what ps tables do not do, and the errors that say so.
--
-- Rows of a ps table have no stable identity (leaves split and move keys)
-- and its shape is fixed: UPDATE, DELETE, row locks, access by ctid,
-- indexes, TABLESAMPLE, backward scans, column changes and publications
-- are refused with an error and a hint saying what to use instead.  Each
-- refusal leaves the table as it was: the view uns_contents lists it.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised.
--

CREATE TABLE uns_w (key bigint, val real) USING ps;
INSERT INTO uns_w VALUES (1, 1), (2, 2);
CREATE VIEW uns_contents AS
  SELECT count(*) AS keys, string_agg(key || '=' || val, ' ' ORDER BY key) AS contents
  FROM uns_w;
SELECT * FROM uns_contents;

-- UPDATE of a matching row.
UPDATE uns_w SET val = 5 WHERE key = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_contents;
UPDATE uns_w SET val = val + 1;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_contents;

-- DELETE of a matching row, and of every row.
DELETE FROM uns_w WHERE key = 2;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_contents;
DELETE FROM uns_w;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_contents;

-- MERGE that would update a matching row.
MERGE INTO uns_w USING (VALUES (1::bigint, 5::real)) AS s(k, v) ON uns_w.key = s.k
  WHEN MATCHED THEN UPDATE SET val = s.v
  WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.v);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_contents;

-- Row locks.
SELECT * FROM uns_w FOR UPDATE;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_w WHERE key = 1 FOR SHARE;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_w FOR KEY SHARE SKIP LOCKED;
\echo :LAST_ERROR_SQLSTATE

-- Access by ctid, and UPDATE ... WHERE CURRENT OF.
SELECT * FROM uns_w WHERE ctid = '(1,1)';
\echo :LAST_ERROR_SQLSTATE
BEGIN;
DECLARE uns_cur CURSOR FOR SELECT * FROM uns_w;
FETCH 1 FROM uns_cur;
UPDATE uns_w SET val = 0 WHERE CURRENT OF uns_cur;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM uns_contents;

-- Scrolling a cursor backwards.
BEGIN;
DECLARE uns_scroll SCROLL CURSOR FOR SELECT * FROM uns_w;
FETCH 2 FROM uns_scroll;
FETCH BACKWARD 1 FROM uns_scroll;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Indexes, also those behind PRIMARY KEY, UNIQUE and EXCLUDE.
CREATE INDEX uns_w_key ON uns_w (key);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE uns_w ADD PRIMARY KEY (key);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE uns_w ADD CONSTRAINT uns_w_unique UNIQUE (key);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_index WHERE indrelid = 'uns_w'::regclass;
SELECT * FROM uns_contents;
CREATE TABLE uns_pk (key bigint PRIMARY KEY, val real) USING ps;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_uq (key bigint UNIQUE, val real) USING ps;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_ex (key bigint, val real, EXCLUDE USING btree (key WITH =)) USING ps;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_class WHERE relname IN ('uns_pk', 'uns_uq', 'uns_ex');

-- INSERT ... ON CONFLICT needs a unique index, which a ps table cannot
-- have.  (A plain INSERT already overwrites the value of a key.)
INSERT INTO uns_w VALUES (1, 9) ON CONFLICT (key) DO UPDATE SET val = 9;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_contents;
-- Without a conflict target PostgreSQL would find no unique index and
-- insert, overwriting key 1: refused as well, so DO NOTHING never writes.
INSERT INTO uns_w VALUES (1, 9) ON CONFLICT DO NOTHING;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_contents;

-- TABLESAMPLE.
SELECT * FROM uns_w TABLESAMPLE SYSTEM (50);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_w TABLESAMPLE BERNOULLI (50) REPEATABLE (1);
\echo :LAST_ERROR_SQLSTATE

-- Adding or dropping a column (on a table no view depends on).
CREATE TABLE uns_cols (key bigint, val real) USING ps;
INSERT INTO uns_cols VALUES (1, 1);
ALTER TABLE uns_cols ADD COLUMN note text;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE uns_cols ADD COLUMN extra real DEFAULT 0;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE uns_cols DROP COLUMN val;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE uns_cols DROP COLUMN key;
\echo :LAST_ERROR_SQLSTATE
SELECT attname, atttypid::regtype FROM pg_attribute
  WHERE attrelid = 'uns_cols'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM uns_cols;
-- Changing a column's type to one a ps table cannot have is refused too;
-- the message names the table, not the rewrite's transient one.
ALTER TABLE uns_cols ALTER COLUMN val TYPE double precision;
\echo :LAST_ERROR_SQLSTATE
SELECT attname, atttypid::regtype FROM pg_attribute
  WHERE attrelid = 'uns_cols'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM uns_cols;
-- Renaming a column or the table is fine.
ALTER TABLE uns_cols RENAME COLUMN val TO weight;
ALTER TABLE uns_cols RENAME TO uns_cols2;
SELECT * FROM uns_cols2;
SELECT ps_pull('uns_cols2', '{1}');
DROP TABLE uns_cols2;

-- Publications: logical decoding does not see ps tables, so they cannot
-- be published.  (client_min_messages hides the warning about wal_level,
-- which depends on the server's configuration.)
SET client_min_messages = error;
CREATE PUBLICATION uns_pub FOR TABLE uns_w;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_publication WHERE pubname = 'uns_pub';
CREATE TABLE uns_heap (key bigint, val real);
CREATE PUBLICATION uns_pub FOR TABLE uns_heap;
ALTER PUBLICATION uns_pub ADD TABLE uns_w;
\echo :LAST_ERROR_SQLSTATE
ALTER PUBLICATION uns_pub SET TABLE uns_heap, uns_w;
\echo :LAST_ERROR_SQLSTATE
SELECT pubname, tablename FROM pg_publication_tables
  WHERE pubname = 'uns_pub' ORDER BY tablename;
DROP PUBLICATION uns_pub;
DROP TABLE uns_heap;
-- A publication may cover a ps table without naming it: as a partition of
-- a listed table, or through its schema.  Refused alike.
CREATE TABLE uns_parent (key bigint, val real) PARTITION BY RANGE (key);
CREATE TABLE uns_part PARTITION OF uns_parent FOR VALUES FROM (0) TO (100) USING ps;
CREATE PUBLICATION uns_pub FOR TABLE uns_parent;
\echo :LAST_ERROR_SQLSTATE
CREATE SCHEMA uns_schema;
CREATE TABLE uns_schema.w (key bigint, val real) USING ps;
CREATE PUBLICATION uns_pub FOR TABLES IN SCHEMA uns_schema;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_publication WHERE pubname = 'uns_pub';
-- The other way round: a ps table may not become published by being
-- created in, moved to or attached under a published place, nor a
-- published table by becoming a ps table.
DROP TABLE uns_schema.w;
DROP TABLE uns_part;
CREATE PUBLICATION uns_pub FOR TABLES IN SCHEMA uns_schema;
CREATE TABLE uns_schema.w2 (key bigint, val real) USING ps;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_moving (key bigint, val real) USING ps;
ALTER TABLE uns_moving SET SCHEMA uns_schema;
\echo :LAST_ERROR_SQLSTATE
DROP PUBLICATION uns_pub;
CREATE PUBLICATION uns_pub FOR TABLE uns_parent;
CREATE TABLE uns_part PARTITION OF uns_parent FOR VALUES FROM (0) TO (100) USING ps;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE uns_parent ATTACH PARTITION uns_moving FOR VALUES FROM (0) TO (100);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_published_heap (key bigint, val real);
ALTER PUBLICATION uns_pub ADD TABLE uns_published_heap;
ALTER TABLE uns_published_heap SET ACCESS METHOD ps;
\echo :LAST_ERROR_SQLSTATE
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
  WHERE c.relname IN ('uns_moving', 'uns_published_heap') ORDER BY 1;
SELECT tablename FROM pg_publication_tables WHERE pubname = 'uns_pub' ORDER BY 1;
DROP PUBLICATION uns_pub;
-- FOR ALL TABLES takes every table as it comes: it is allowed, with a
-- warning naming a ps table it takes in (which one depends on the
-- database, so only the outcome is shown here) ...
CREATE TEMP TABLE uns_outcome (outcome text);
DO $$
BEGIN
  CREATE PUBLICATION uns_pub FOR ALL TABLES;
  INSERT INTO uns_outcome VALUES ('created');
EXCEPTION WHEN OTHERS THEN
  INSERT INTO uns_outcome VALUES (SQLSTATE);
END $$;
SELECT outcome FROM uns_outcome;
-- ... and a ps table created while it exists gets the warning too.
SET client_min_messages = warning;
CREATE TABLE uns_under_all (key bigint, val real) USING ps;
SET client_min_messages = error;
DROP PUBLICATION uns_pub;
DROP TABLE uns_under_all, uns_moving, uns_published_heap;
DROP SCHEMA uns_schema CASCADE;
DROP TABLE uns_parent;
RESET client_min_messages;
SELECT * FROM uns_contents;

-- A ps table may be a partition.  INSERTs routed through the parent check
-- the partition bound; pushes would not, so pushes to a partition are
-- refused.
CREATE TABLE uns_pparent (key bigint, val real) PARTITION BY RANGE (key);
CREATE TABLE uns_ppart PARTITION OF uns_pparent FOR VALUES FROM (0) TO (100) USING ps;
INSERT INTO uns_pparent VALUES (5, 1);
INSERT INTO uns_pparent VALUES (500, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('uns_ppart', '{500}', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('uns_ppart', 7, '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_pparent;
SELECT ps_pull('uns_ppart', '{5,500}');
DROP TABLE uns_pparent;

-- Tables of the wrong shape: three columns, a text value, an int key, a
-- double precision value, one column, the value column first.
CREATE TABLE uns_three (key bigint, val real, extra int) USING ps;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_text (key bigint, val text) USING ps;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_int (key int, val real) USING ps;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_double (key bigint, val double precision) USING ps;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_one (key bigint) USING ps;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE uns_swapped (val real, key bigint) USING ps;
\echo :LAST_ERROR_SQLSTATE
-- CREATE TABLE AS checks the shape of the query's result the same way.
CREATE TABLE uns_ctas USING ps AS SELECT 1::bigint AS key, 2.0 AS val;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_class
  WHERE relname IN ('uns_three', 'uns_text', 'uns_int', 'uns_double',
                    'uns_one', 'uns_swapped', 'uns_ctas');
-- So does ALTER TABLE ... SET ACCESS METHOD ps of a heap table of the
-- wrong shape, again naming the table.
CREATE TABLE uns_heap_int (key int, val real);
INSERT INTO uns_heap_int VALUES (1, 1);
ALTER TABLE uns_heap_int SET ACCESS METHOD ps;
\echo :LAST_ERROR_SQLSTATE
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
  WHERE c.relname = 'uns_heap_int';
SELECT * FROM uns_heap_int;
DROP TABLE uns_heap_int;

-- Column names, NOT NULL, defaults and CHECK constraints are free.
CREATE TABLE uns_free (id bigint NOT NULL DEFAULT 0,
                       weight real DEFAULT 1 CHECK (weight >= 0)) USING ps;
INSERT INTO uns_free DEFAULT VALUES;
INSERT INTO uns_free VALUES (5, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM uns_free;
SELECT ps_pull('uns_free', '{0,5}');
DROP TABLE uns_free;

SELECT ps_check('uns_w');
DROP VIEW uns_contents;
DROP TABLE uns_w;
