--
-- ps_vector: ps tables whose values are vectors (dim > 1).
--
-- The value column is real[].  Its length, the table's dim, is declared
-- with CHECK (cardinality(val) = N) or CHECK (array_length(val, 1) = N); a
-- table without such a CHECK takes the dim of its first write.  Pushes and
-- pulls pass values flattened in key order: dim values per key.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised.
--

-- dim 3, declared with cardinality().
CREATE TABLE vec3 (key bigint, val real[] CHECK (cardinality(val) = 3)) USING ps;

-- Before any write the declared dim is known, and missing keys read as
-- three zeros each.
SELECT ps_pull('vec3', '{1,2}');
SELECT dim, keys FROM ps_stats('vec3');

-- Push two keys, out of order: the values of key 2 come first.
SELECT ps_push('vec3', '{2,1}', '{1,2,3,4,5,6}');
SELECT * FROM vec3;

-- Pulls return dim values per key, in the order of the keys asked for;
-- key 7 is missing and reads as three zeros.
SELECT ps_pull('vec3', '{1,7,2}');

-- Repeated keys in a push add up element by element.
SELECT ps_push('vec3', '{1,1}', '{1,1,1,10,10,10}');
SELECT * FROM vec3;

-- Range push and pull: keys 3 and 4; hi is excluded.
SELECT ps_push_range('vec3', 3, '{7,8,9,-1,-2,-3}');
SELECT ps_pull_range('vec3', 2, 5);

-- INSERT sets whole vectors (key 1 is overwritten, key 10 is new).
INSERT INTO vec3 VALUES (1, '{0.5,0.25,0.125}'), (10, '{1,0,-1}');
SELECT * FROM vec3;
SELECT dim, keys, leaves FROM ps_stats('vec3');

-- Wrong numbers of values are refused, and nothing changes: a push of 5
-- values for 2 keys, a push of 4 values for 1 key, a range push that is
-- not a whole number of vectors ...
SELECT ps_push('vec3', '{2,1}', '{1,2,3,4,5}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('vec3', '{2}', '{1,2,3,4}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('vec3', 2, '{1,2,3,4}');
\echo :LAST_ERROR_SQLSTATE
-- ... and an INSERT of a vector of the wrong length fails the CHECK.
INSERT INTO vec3 VALUES (5, '{1,2}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO vec3 VALUES (5, '{1,2,3,4}');
\echo :LAST_ERROR_SQLSTATE
-- A NULL element in an inserted vector is refused.
INSERT INTO vec3 VALUES (5, '{1,NULL,3}');
\echo :LAST_ERROR_SQLSTATE
-- So is a NULL vector.
INSERT INTO vec3 VALUES (5, NULL);
\echo :LAST_ERROR_SQLSTATE
-- The table is as before.
SELECT * FROM vec3;
SELECT ps_check('vec3');

-- dim 4, declared with array_length(val, 1).
CREATE TABLE vec4 (key bigint, val real[] CHECK (array_length(val, 1) = 4)) USING ps;
SELECT ps_pull_range('vec4', 0, 2);
INSERT INTO vec4 VALUES (1, '{1,2,3,4}');
SELECT ps_push('vec4', '{0,1}', '{1,1,1,1,1,1,1,1}');
SELECT ps_pull_range('vec4', 0, 3);
SELECT * FROM vec4;
SELECT dim, keys FROM ps_stats('vec4');
-- Three values are not a vector of this table.
SELECT ps_push('vec4', '{0}', '{1,2,3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM vec4;

-- The constant may also come first: CHECK (3 = cardinality(val)).
CREATE TABLE vec_rev (key bigint, val real[] CHECK (3 = cardinality(val))) USING ps;
SELECT ps_pull('vec_rev', '{1}');

-- A real[] table without CHECK: its dim is not known before the first
-- write, so it cannot be read ...
CREATE TABLE vec_free (key bigint, val real[]) USING ps;
SELECT dim, keys FROM ps_stats('vec_free');
SELECT ps_pull('vec_free', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('vec_free', 0, 1);
\echo :LAST_ERROR_SQLSTATE
-- (an empty pull needs no dim)
SELECT ps_pull('vec_free', '{}');
-- A first write must carry the same number of values for every key.
SELECT ps_push('vec_free', '{1,2}', '{1,2,3}');
\echo :LAST_ERROR_SQLSTATE
SELECT dim, keys FROM ps_stats('vec_free');
-- ... and its first write fixes the dim: 2 keys and 4 values make dim 2.
SELECT ps_push('vec_free', '{1,2}', '{1,2,3,4}');
SELECT dim, keys FROM ps_stats('vec_free');
SELECT ps_pull('vec_free', '{2,3}');
-- Vectors of another length are refused from then on, by push and by
-- INSERT alike.
SELECT ps_push('vec_free', '{3}', '{1,2,3}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO vec_free VALUES (3, '{1,2,3}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO vec_free VALUES (3, '{{1,2},{3,4}}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO vec_free VALUES (3, '{1,NULL}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM vec_free;
-- A vector of the right length is taken.
INSERT INTO vec_free VALUES (3, '{5,6}');
SELECT * FROM vec_free;

-- A real[] table without CHECK whose first write is an INSERT takes the
-- dim of the inserted vector.
CREATE TABLE vec_ins (key bigint, val real[]) USING ps;
INSERT INTO vec_ins VALUES (7, '{1,2,3,4,5}');
SELECT dim, keys FROM ps_stats('vec_ins');
SELECT ps_pull('vec_ins', '{7,8}');

-- A declared dim that disagrees with the stored values is an error for
-- every request (a NOT VALID constraint is not checked against the rows).
ALTER TABLE vec_free ADD CONSTRAINT vec_free_dim CHECK (cardinality(val) = 3) NOT VALID;
SELECT ps_pull('vec_free', '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('vec_free', '{1}', '{1,1,1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM vec_free;
-- Without the constraint, the table works again.
ALTER TABLE vec_free DROP CONSTRAINT vec_free_dim;
SELECT ps_pull('vec_free', '{1}');

-- A declared dim outside 1 .. 1000 is refused when the table is used.
CREATE TABLE vec_big (key bigint, val real[] CHECK (cardinality(val) = 1001)) USING ps;
SELECT ps_pull('vec_big', '{1}');
\echo :LAST_ERROR_SQLSTATE

-- The largest dim, 1000: a leaf holds only a couple of such vectors.
CREATE TABLE vec_1000 (key bigint, val real[] CHECK (cardinality(val) = 1000)) USING ps;
SELECT ps_push('vec_1000', array(SELECT generate_series(1, 20)::bigint),
               array(SELECT (g % 1000)::real FROM generate_series(1, 20000) g));
SELECT dim, keys, leaves FROM ps_stats('vec_1000');
SELECT ps_check('vec_1000');
SELECT key, cardinality(val), val[1], val[1000] FROM vec_1000 ORDER BY key LIMIT 3;
SELECT sum(x) FROM unnest(ps_pull_range('vec_1000', 0, 30)) x;

DROP TABLE vec3, vec4, vec_rev, vec_free, vec_ins, vec_big, vec_1000;

-- Long ranges: ps_push_range of 200000 keys (more than the store's 65536
-- keys at a time), over leaves that exist and leaves that do not, with
-- dim 1 and dim 3; through the scheduler's queue (ps.scheduler = always:
-- a lone push, applied from its queue entry, in key-range parts by idle
-- appliers) and applied by the backend (ps.scheduler = off): the same
-- exact values, each the sum of what reached it.
CREATE TABLE rng1_a (key bigint, val real) USING ps;
CREATE TABLE rng1_b (key bigint, val real) USING ps;
CREATE TABLE rng3_a (key bigint, val real[] CHECK (cardinality(val) = 3)) USING ps;
CREATE TABLE rng3_b (key bigint, val real[] CHECK (cardinality(val) = 3)) USING ps;
SELECT ps_push_range(t, 60000, array_fill(1::real, ARRAY[10000 * d])) > 0 AS pushed
  FROM (VALUES ('rng1_a'::regclass, 1), ('rng1_b', 1), ('rng3_a', 3), ('rng3_b', 3)) v(t, d);
SET ps.scheduler = always;
SELECT ps_push_range('rng1_a', 0, (SELECT array_agg((g % 7)::real) FROM generate_series(0, 199999) g)) > 0 AS pushed;
SELECT ps_push_range('rng3_a', 0, (SELECT array_agg((g % 5)::real) FROM generate_series(0, 599999) g)) > 0 AS pushed;
SET ps.scheduler = off;
SELECT ps_push_range('rng1_b', 0, (SELECT array_agg((g % 7)::real) FROM generate_series(0, 199999) g)) > 0 AS pushed;
SELECT ps_push_range('rng3_b', 0, (SELECT array_agg((g % 5)::real) FROM generate_series(0, 599999) g)) > 0 AS pushed;
RESET ps.scheduler;
SELECT count(*), sum(val::float8) FROM rng1_a;
SELECT count(*), sum(v::float8) FROM rng3_a, unnest(val) v;
(SELECT * FROM rng1_a EXCEPT SELECT * FROM rng1_b) UNION ALL (SELECT * FROM rng1_b EXCEPT SELECT * FROM rng1_a);
(SELECT * FROM rng3_a EXCEPT SELECT * FROM rng3_b) UNION ALL (SELECT * FROM rng3_b EXCEPT SELECT * FROM rng3_a);
SELECT ps_pull('rng1_a', '{0,6,59999,60000,65535,65536,69999,70000,199999,200000}');
SELECT ps_pull('rng3_a', '{65535,65536,70000}');
SELECT ps_check('rng1_a') > 0 AS ok, ps_check('rng3_a') > 0 AS ok3;
DROP TABLE rng1_a, rng1_b, rng3_a, rng3_b;
