--
-- ps_errors: bad input to the SQL API and to INSERT/COPY.
--
-- Every bad request is refused with an error saying what is wrong (its
-- SQLSTATE is shown by \echo :LAST_ERROR_SQLSTATE after it), and the table
-- is left as it was: the view err_contents lists its keys and values.
--

CREATE TABLE err_w (key bigint, val real) USING ps;
SELECT ps_push('err_w', '{1,2}', '{1,2}');
CREATE VIEW err_contents AS
  SELECT count(*) AS keys, string_agg(key || '=' || val, ' ' ORDER BY key) AS contents
  FROM err_w;
SELECT * FROM err_contents;

-- NULL arguments: the table, the keys, the values, range bounds, the
-- first key of a range push, the timestamp of ps_wait.
SELECT ps_push(NULL, '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('err_w', NULL, '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('err_w', '{1}', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('err_w', NULL, '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('err_w', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_pull(NULL, '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('err_w', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('err_w', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('err_w', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_wait(NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_wait('err_w', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_stats(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_ranges(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_check(NULL);
\echo :LAST_ERROR_SQLSTATE

-- NULL elements in keys or values.
SELECT ps_push('err_w', '{1,NULL}', '{5,5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{1,2}', '{5,NULL}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push_range('err_w', 1, '{NULL,5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_pull('err_w', '{1,NULL}');
\echo :LAST_ERROR_SQLSTATE

-- Keys and values of different lengths.
SELECT ps_push('err_w', '{1,2}', '{5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{1}', '{5,5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{1}', '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{}', '{5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;

-- NaN and infinite values, also mixed with good ones.
SELECT ps_push('err_w', '{1,2}', '{5,NaN}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{1,3}', '{Infinity,5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{3}', '{-Infinity}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push_range('err_w', 1, '{5,5,NaN}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push_range('err_w', 2, '{-Infinity}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;

-- Multi-dimensional arrays (vectors are passed flattened).
SELECT ps_push('err_w', '{{1,2}}', '{5,5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{1,2}', '{{5},{5}}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push_range('err_w', 1, '{{5,5},{5,5}}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_pull('err_w', '{{1},{2}}');
\echo :LAST_ERROR_SQLSTATE

-- A push whose sum overflows real: 3e38 fits, twice 3e38 does not.
SELECT ps_push('err_w', '{3}', '{3e38}') > 0 AS pushed;
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{3}', '{3e38}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push_range('err_w', 2, '{1,3e38}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
-- Repeated keys whose values add up beyond real: the same overflow,
-- caught before anything is written.
SELECT ps_push('err_w', '{7,7}', '{3e38,3e38}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
-- The same towards -3.4e38.
SELECT ps_push('err_w', '{3}', '{-3e38}') > 0 AS pushed;
SELECT ps_push('err_w', '{3}', '{-3e38}') > 0 AS pushed;
SELECT ps_push('err_w', '{3}', '{-3e38}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push('err_w', '{3}', '{3e38}') > 0 AS pushed;
SELECT * FROM err_contents;

-- A table that is not a ps table: a heap table, a view, a sequence, an
-- index, a system catalog.
CREATE TABLE err_heap (key bigint, val real);
INSERT INTO err_heap VALUES (1, 1);
SELECT ps_push('err_heap', '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('err_heap', 1, '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_heap;
SELECT ps_pull('err_heap', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('err_heap', 0, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_wait('err_heap', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_stats('err_heap');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_ranges('err_heap');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_check('err_heap');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('err_contents', '{1}');
\echo :LAST_ERROR_SQLSTATE
CREATE SEQUENCE err_seq;
SELECT ps_push('err_seq', '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
CREATE INDEX err_heap_key ON err_heap (key);
SELECT ps_pull('err_heap_key', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('pg_class', '{1}');
\echo :LAST_ERROR_SQLSTATE
DROP SEQUENCE err_seq;
DROP TABLE err_heap;

-- An unknown table: by name, or by an OID that is no relation.
SELECT ps_pull('err_no_such_table', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push(0::regclass, '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull(4294967295::oid::regclass, '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_stats(4294967295::oid::regclass);
\echo :LAST_ERROR_SQLSTATE

-- A range with lo > hi (lo = hi is an empty range).
SELECT ps_pull_range('err_w', 5, 4);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('err_w', 9223372036854775807, -9223372036854775808);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('err_w', 5, 5);

-- A range push running past the largest bigint.
SELECT ps_push_range('err_w', 9223372036854775807, '{1,1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('err_w', 9223372036854775800, array_fill(1::real, ARRAY[9]));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;

-- Oversized requests: ps.max_request_keys bounds the keys of one push or
-- pull, and the error names the limit.
SET ps.max_request_keys = 10;
SELECT ps_push('err_w', array(SELECT generate_series(1, 11)::bigint),
               array_fill(1::real, ARRAY[11]));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_push_range('err_w', 1, array_fill(1::real, ARRAY[11]));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
SELECT ps_pull('err_w', array(SELECT generate_series(1, 11)::bigint));
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('err_w', 0, 11);
\echo :LAST_ERROR_SQLSTATE
-- Repeated keys count: these are 11 keys too.
SELECT ps_pull('err_w', array_fill(1::bigint, ARRAY[11]));
\echo :LAST_ERROR_SQLSTATE
-- Exactly the limit is allowed.
SELECT ps_pull('err_w', array(SELECT generate_series(0, 9)::bigint));
SELECT ps_pull_range('err_w', 0, 10);
RESET ps.max_request_keys;
-- The default limit is ten million keys; this range has 2^63 - 1.
SELECT ps_pull_range('err_w', 0, 9223372036854775807);
\echo :LAST_ERROR_SQLSTATE

-- Pushes are writes: refused in a read-only transaction, where pulls work.
BEGIN;
SET TRANSACTION READ ONLY;
SELECT ps_pull('err_w', '{1,2}');
SELECT ps_push('err_w', '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET TRANSACTION READ ONLY;
SELECT ps_push_range('err_w', 1, '{1}');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET TRANSACTION READ ONLY;
INSERT INTO err_w VALUES (1, 1);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SET default_transaction_read_only = on;
SELECT ps_push('err_w', '{1}', '{1}');
\echo :LAST_ERROR_SQLSTATE
RESET default_transaction_read_only;
SELECT * FROM err_contents;

-- INSERT and COPY: NULL keys, NULL values, NaN and infinite values.
INSERT INTO err_w VALUES (NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
INSERT INTO err_w VALUES (1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
INSERT INTO err_w (key) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
INSERT INTO err_w VALUES (1, 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
INSERT INTO err_w VALUES (1, '-Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM err_contents;
-- COPY reports the same errors as INSERT.  (psql does not set
-- LAST_ERROR_SQLSTATE after COPY FROM STDIN, and the CONTEXT line of an
-- error raised while a buffer of rows is written names the last line read,
-- so neither is shown.)
\set SHOW_CONTEXT never
COPY err_w FROM STDIN;
1	Infinity
\.
SELECT * FROM err_contents;
COPY err_w FROM STDIN;
\N	1
\.
SELECT * FROM err_contents;
\set SHOW_CONTEXT errors

SELECT ps_check('err_w');
DROP VIEW err_contents;
DROP TABLE err_w;
