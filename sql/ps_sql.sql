--
-- ps_sql: ps tables under ordinary SQL.
--
-- INSERT and COPY FROM set values, SELECT and COPY TO read them in key
-- order, TRUNCATE, DROP, ANALYZE, VACUUM, VACUUM FULL and ALTER TABLE ...
-- SET ACCESS METHOD work as for any table.  Writes are not transactional,
-- like nextval(): ROLLBACK does not undo pushes or INSERTs.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised.
--

-- INSERT sets values.  Within one INSERT the last row of a key wins.
CREATE TABLE sql_ins (key bigint, val real) USING ps;
INSERT INTO sql_ins VALUES (3, 1), (1, 2), (3, 5), (2, -1);
SELECT * FROM sql_ins;

-- A later INSERT overwrites existing keys; it does not add to them.
INSERT INTO sql_ins VALUES (1, 7), (4, 4);
SELECT * FROM sql_ins;

-- ps_push adds to values set by INSERT.
SELECT ps_push('sql_ins', '{1,2}', '{1,1}') > 0 AS pushed;
SELECT * FROM sql_ins;

-- INSERT ... RETURNING returns the rows given.
INSERT INTO sql_ins VALUES (5, 0.5) RETURNING *;

-- INSERT ... SELECT of a few thousand rows.
CREATE TABLE sql_many (key bigint, val real) USING ps;
INSERT INTO sql_many SELECT g, g / 2.0 FROM generate_series(1, 5000) g;
SELECT count(*), min(key), max(key), sum(val) FROM sql_many;
SELECT ps_pull('sql_many', '{1,2500,5000,5001}');
SELECT ps_check('sql_many');

-- COPY FROM sets values too (the last row of key 3 wins) ...
CREATE TABLE sql_copy (key bigint, val real) USING ps;
COPY sql_copy FROM STDIN;
3	1.5
1	2
-7	0.25
3	4
\.
SELECT * FROM sql_copy;
-- ... and COPY TO writes the rows in key order.
COPY sql_copy TO STDOUT;
COPY (SELECT key, val FROM sql_copy WHERE key > 0) TO STDOUT WITH (FORMAT csv, HEADER);
COPY sql_copy FROM STDIN WITH (FORMAT csv);
10,1e-3
1,-2
\.
SELECT * FROM sql_copy;

-- Writes are not transactional.  A push and an INSERT inside a
-- transaction that rolls back stay in effect, like nextval().
CREATE TABLE sql_tx (key bigint, val real) USING ps;
SELECT ps_push('sql_tx', '{1}', '{1}');
BEGIN;
SELECT ps_push('sql_tx', '{1}', '{10}');
INSERT INTO sql_tx VALUES (2, 20);
ROLLBACK;
SELECT * FROM sql_tx;
-- Nor does rolling back to a savepoint undo a push ...
BEGIN;
SAVEPOINT s;
SELECT ps_push('sql_tx', '{1}', '{100}');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT * FROM sql_tx;
-- ... nor an error later in the transaction.
BEGIN;
SELECT ps_push_range('sql_tx', 3, '{3,3}');
SELECT 1 / 0;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT * FROM sql_tx;

-- TRUNCATE in the transaction that created the table.
BEGIN;
CREATE TABLE sql_trunc (key bigint, val real) USING ps;
INSERT INTO sql_trunc VALUES (1, 1), (2, 2);
TRUNCATE sql_trunc;
SELECT * FROM sql_trunc;
INSERT INTO sql_trunc VALUES (3, 3);
COMMIT;
SELECT * FROM sql_trunc;
SELECT ps_check('sql_trunc');

-- TRUNCATE in a later transaction removes every key; the table starts
-- afresh, and its timestamps start again at 1.
SELECT ps_push('sql_trunc', '{4}', '{4}') > 0 AS pushed;
TRUNCATE sql_trunc;
SELECT * FROM sql_trunc;
SELECT dim, keys, leaves, pages FROM ps_stats('sql_trunc');
SELECT ps_pull('sql_trunc', '{3,4}');
SELECT ps_push('sql_trunc', '{5}', '{5}');
SELECT * FROM sql_trunc;

-- TRUNCATE itself is transactional: rolled back, the keys come back.
BEGIN;
TRUNCATE sql_trunc;
SELECT count(*) FROM sql_trunc;
ROLLBACK;
SELECT * FROM sql_trunc;
SELECT ps_check('sql_trunc');

-- DROP TABLE, rolled back and committed.
BEGIN;
DROP TABLE sql_trunc;
ROLLBACK;
SELECT * FROM sql_trunc;
DROP TABLE sql_trunc;
SELECT count(*) FROM pg_class WHERE relname = 'sql_trunc';

-- ANALYZE counts the keys exactly (small tables are sampled whole) and
-- sees that keys are in physical order.
SELECT relpages, reltuples FROM pg_class WHERE relname = 'sql_many';
ANALYZE sql_many;
SELECT relpages, reltuples FROM pg_class WHERE relname = 'sql_many';
SELECT attname, null_frac, n_distinct, correlation
  FROM pg_stats WHERE tablename = 'sql_many' ORDER BY attname;

-- A table that grows: 10000 consecutive keys fill dense leaves.
CREATE TABLE sql_grow (key bigint, val real) USING ps;
SELECT ps_push_range('sql_grow', 0, array_fill(0.5::real, ARRAY[10000]));
SELECT dim, keys, leaves, dense_leaves, directory_pages, pages FROM ps_stats('sql_grow');
SELECT ps_check('sql_grow');

-- VACUUM sets relpages and reltuples exactly: every page of the table,
-- every key.
SELECT relpages, reltuples FROM pg_class WHERE relname = 'sql_grow';
VACUUM sql_grow;
SELECT relpages, reltuples FROM pg_class WHERE relname = 'sql_grow';
SELECT pg_relation_size('sql_grow') / current_setting('block_size')::int AS blocks;

-- A range push over several leaves gives them one clock: ps_ranges shows
-- them as a single range.
SELECT ps_push_range('sql_grow', 3000, array_fill(1::real, ARRAY[3000]));
SELECT * FROM ps_ranges('sql_grow');
SELECT sum(val) FROM sql_grow;

-- Sparse keys (far apart) fill sparse leaves, which store their keys.
CREATE TABLE sql_sparse (key bigint, val real) USING ps;
SELECT ps_push('sql_sparse',
               array(SELECT g::bigint * 7919 * 1000003 FROM generate_series(1, 5000) g),
               array(SELECT (g % 7)::real FROM generate_series(1, 5000) g));
SELECT dim, keys, leaves, dense_leaves FROM ps_stats('sql_sparse');
SELECT ps_check('sql_sparse');
SELECT count(*), min(key), max(key), sum(val) FROM sql_sparse;
SELECT ps_pull('sql_sparse', ARRAY[7919::bigint * 1000003, 7919::bigint * 1000003 + 1,
                                   5000::bigint * 7919 * 1000003]);
SELECT * FROM ps_ranges('sql_sparse');

-- VACUUM FULL rewrites the table and keeps its contents.
CREATE TABLE sql_md5 (name text, md5 text);
INSERT INTO sql_md5
  SELECT 'sparse', md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM sql_sparse;
INSERT INTO sql_md5
  SELECT 'grow', md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM sql_grow;
VACUUM FULL sql_sparse;
VACUUM FULL sql_grow;
SELECT name, md5(string_agg(key || ':' || val, ',' ORDER BY key)) = md5 AS same
  FROM sql_sparse, sql_md5 WHERE name = 'sparse' GROUP BY name, md5;
SELECT name, md5(string_agg(key || ':' || val, ',' ORDER BY key)) = md5 AS same
  FROM sql_grow, sql_md5 WHERE name = 'grow' GROUP BY name, md5;
SELECT ps_check('sql_sparse'), ps_check('sql_grow');
SELECT dim, keys FROM ps_stats('sql_grow');
-- Pushes after the rewrite add to the kept values.
SELECT ps_push('sql_grow', '{0,9999}', '{1,1}') > 0 AS pushed;
SELECT ps_pull('sql_grow', '{0,5000,9999}');

-- ALTER TABLE ... SET ACCESS METHOD ps converts a heap table with
-- distinct keys, and SET ACCESS METHOD heap converts it back; the
-- contents are identical each way.
CREATE TABLE sql_conv (key bigint, val real);
INSERT INTO sql_conv SELECT g * 3 - 4000, g / 4.0 FROM generate_series(3000, 1, -1) g;
DELETE FROM sql_md5;
INSERT INTO sql_md5
  SELECT 'heap', md5(string_agg(key || ':' || val, ',' ORDER BY key)) FROM sql_conv;
ALTER TABLE sql_conv SET ACCESS METHOD ps;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'sql_conv';
SELECT md5(string_agg(key || ':' || val, ',' ORDER BY key)) = (SELECT md5 FROM sql_md5) AS same
  FROM sql_conv;
SELECT dim, keys FROM ps_stats('sql_conv');
SELECT ps_check('sql_conv');
SELECT ps_pull('sql_conv', '{-3997,-1,0,2,5000}');
ALTER TABLE sql_conv SET ACCESS METHOD heap;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'sql_conv';
SELECT md5(string_agg(key || ':' || val, ',' ORDER BY key)) = (SELECT md5 FROM sql_md5) AS same
  FROM sql_conv;
-- Back to ps once more, then a push and a pull.
ALTER TABLE sql_conv SET ACCESS METHOD ps;
SELECT ps_push('sql_conv', '{2}', '{0.25}') > 0 AS pushed;
SELECT ps_pull('sql_conv', '{2}');

-- A heap table with a dropped column converts too: a ps table is its two
-- live columns.
CREATE TABLE sql_dropped (key bigint, note text, val real);
INSERT INTO sql_dropped VALUES (2, 'b', 1.5), (1, 'a', 2.5);
ALTER TABLE sql_dropped DROP COLUMN note;
ALTER TABLE sql_dropped SET ACCESS METHOD ps;
SELECT * FROM sql_dropped;
SELECT ps_push('sql_dropped', '{1,3}', '{1,1}') > 0 AS pushed;
INSERT INTO sql_dropped VALUES (4, 4);
SELECT * FROM sql_dropped;
COPY sql_dropped TO STDOUT;
SELECT ps_check('sql_dropped');

-- An UNLOGGED ps table.
CREATE UNLOGGED TABLE sql_unlogged (key bigint, val real) USING ps;
SELECT ps_push('sql_unlogged', '{2,1,2}', '{1,2,3}');
SELECT ps_pull('sql_unlogged', '{1,2,3}');
INSERT INTO sql_unlogged VALUES (3, 3);
SELECT * FROM sql_unlogged;
TRUNCATE sql_unlogged;
SELECT ps_push_range('sql_unlogged', 10, '{1,2}');
VACUUM FULL sql_unlogged;
SELECT * FROM sql_unlogged;
SELECT ps_check('sql_unlogged');

-- A TEMP ps table, here with vector values.
CREATE TEMP TABLE sql_temp (key bigint, val real[] CHECK (cardinality(val) = 2)) USING ps;
SELECT ps_push('sql_temp', '{2,1}', '{1,2,3,4}');
SELECT ps_pull('sql_temp', '{1,2,3}');
INSERT INTO sql_temp VALUES (3, '{5,6}');
SELECT * FROM sql_temp;
TRUNCATE sql_temp;
SELECT count(*) FROM sql_temp;
INSERT INTO sql_temp VALUES (9, '{9,9}');
VACUUM FULL sql_temp;
SELECT * FROM sql_temp;
SELECT ps_check('sql_temp');
DROP TABLE sql_temp;

-- CREATE TABLE ... USING ps AS SELECT makes a ps table from a query (the
-- last row of a key wins).
CREATE TABLE sql_ctas USING ps AS
  SELECT k::bigint AS key, v::real AS val
  FROM (VALUES (2, 1), (1, 5), (2, 7)) AS t(k, v);
SELECT * FROM sql_ctas;
SELECT ps_push('sql_ctas', '{1}', '{1}') > 0 AS pushed;
SELECT ps_pull('sql_ctas', '{1,2}');

-- SELECT INTO has no USING clause: it makes a ps table when
-- default_table_access_method is ps.
SET default_table_access_method = ps;
SELECT key, val * 2::real AS val INTO sql_into FROM sql_ctas;
RESET default_table_access_method;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'sql_into';
SELECT * FROM sql_into;
SELECT ps_pull('sql_into', '{1,2}');

-- Joins between a ps table and a heap table.
CREATE TABLE sql_names (key bigint, name text);
INSERT INTO sql_names VALUES (1, 'one'), (2, 'two'), (3, 'three'), (5000, 'many');
SELECT n.name, m.val FROM sql_names n JOIN sql_many m USING (key) ORDER BY key;
SELECT n.name, c.val FROM sql_names n LEFT JOIN sql_ctas c USING (key) ORDER BY n.key;
SELECT count(*), sum(g.val) FROM sql_grow g JOIN sql_many m USING (key);

-- The planner never plans a parallel scan of a ps table, even when
-- parallelism is made free; a heap table of the same size gets one.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(*) FROM sql_grow;
SELECT count(*) FROM sql_grow;
CREATE TABLE sql_heap AS SELECT * FROM sql_grow;
ANALYZE sql_heap;
EXPLAIN (COSTS OFF) SELECT count(*) FROM sql_heap;
-- Joins of a ps table with a heap table give the same results when the
-- heap side is scanned in parallel.
SELECT count(*), sum(g.val) FROM sql_grow g JOIN sql_heap h USING (key);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

DROP TABLE sql_ins, sql_many, sql_copy, sql_tx, sql_grow, sql_sparse, sql_md5,
  sql_conv, sql_dropped, sql_unlogged, sql_ctas, sql_into, sql_names, sql_heap;
