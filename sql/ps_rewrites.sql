--
-- ps_rewrites: statements that give a ps table new storage, or read a ps
-- table while they write it.
--
-- * Rewrites (ALTER TABLE ... SET UNLOGGED / SET LOGGED, ALTER COLUMN TYPE,
--   REFRESH MATERIALIZED VIEW, like VACUUM FULL) keep what a ps table holds
--   besides its values: the configured rule and the rule's state of every
--   key whose value the rewrite left alone (a table rewritten and one that
--   was not, given the same pushes, hold the same floats), and task
--   timestamps never go back (ps_wait accepts the ones acknowledged before).
--   A value the rewrite changes starts its state afresh, as INSERT does.
-- * A session that writes a ps table while it scans it does not read its
--   own rows: INSERT INTO t SELECT ... FROM t gives the result a heap table
--   gives, and so do PL/pgSQL loops, triggers and functions that read the
--   table and write it (they used to read their own rows, and
--   INSERT INTO t SELECT key + 10000, val FROM t never ended).  A scan
--   that would begin only after its statement wrote the table is refused.
-- * TRUNCATE in the transaction that created the table (in place) leaves
--   no stale directory behind for the scheduler.
-- * A push to storage created by the current transaction (CREATE TABLE,
--   TRUNCATE, a rewrite) goes with that storage: ROLLBACK undoes it along
--   with the TRUNCATE, exactly as it undoes the TRUNCATE.  Other pushes
--   are not undone.
-- * CREATE INDEX says that ps tables have no indexes, also when PostgreSQL
--   would build it with parallel workers; range errors count exactly.
--

-- A table that is rewritten, and its twin that is not: both get the same
-- pushes, so any difference comes from the rewrite.
CREATE FUNCTION rw_same(a regclass, b regclass) RETURNS boolean
  LANGUAGE sql AS $$
  SELECT ps_pull(a, ARRAY(SELECT generate_series(1, 5)::bigint))::text
       = ps_pull(b, ARRAY(SELECT generate_series(1, 5)::bigint))::text $$;
CREATE FUNCTION rw_push_both(a regclass, b regclass) RETURNS void
  LANGUAGE sql AS $$
  SELECT ps_push(a, '{1,2,3,4,5}', '{0.5,-1,2,0.25,-0.125}');
  SELECT ps_push(b, '{1,2,3,4,5}', '{0.5,-1,2,0.25,-0.125}') $$;

CREATE TABLE rw_ada (key bigint, val real) USING ps;
CREATE TABLE rw_ada_twin (key bigint, val real) USING ps;
SELECT update_rule FROM ps_configure('rw_ada', update_rule => 'adagrad', learning_rate => 0.5);
SELECT update_rule FROM ps_configure('rw_ada_twin', update_rule => 'adagrad', learning_rate => 0.5);
SELECT rw_push_both('rw_ada', 'rw_ada_twin');
SELECT rw_push_both('rw_ada', 'rw_ada_twin');
SELECT last_timestamp AS ts_before FROM ps_stats('rw_ada') \gset
SELECT :ts_before;

-- SET UNLOGGED rewrites the table: same values, the state carried (the
-- next push moves both tables the same way), the configuration kept.
ALTER TABLE rw_ada SET UNLOGGED;
SELECT relpersistence FROM pg_class WHERE oid = 'rw_ada'::regclass;
SELECT update_rule FROM ps_config WHERE tbl = 'rw_ada'::regclass;
SELECT rw_same('rw_ada', 'rw_ada_twin');
SELECT rw_push_both('rw_ada', 'rw_ada_twin');
SELECT rw_same('rw_ada', 'rw_ada_twin');
-- timestamps go on above the ones issued before the rewrite
SELECT last_timestamp > :ts_before AS later FROM ps_stats('rw_ada');
SELECT ps_wait('rw_ada', :ts_before);
-- and back: SET LOGGED
ALTER TABLE rw_ada SET LOGGED;
SELECT rw_push_both('rw_ada', 'rw_ada_twin');
SELECT rw_same('rw_ada', 'rw_ada_twin');
SELECT ps_check('rw_ada');

-- ALTER COLUMN TYPE real -> real[] (dim 1) and back keeps values and
-- state; the old rows are read with their old type.
ALTER TABLE rw_ada ALTER COLUMN val TYPE real[] USING ARRAY[val];
SELECT key, val FROM rw_ada ORDER BY key;
SELECT ps_push('rw_ada', '{1,2,3,4,5}', '{0.5,-1,2,0.25,-0.125}') > 0 AS pushed;
SELECT ps_push('rw_ada_twin', '{1,2,3,4,5}', '{0.5,-1,2,0.25,-0.125}') > 0 AS pushed;
SELECT rw_same('rw_ada', 'rw_ada_twin');
ALTER TABLE rw_ada ALTER COLUMN val TYPE real USING val[1];
SELECT rw_push_both('rw_ada', 'rw_ada_twin');
SELECT rw_same('rw_ada', 'rw_ada_twin');

-- A rewrite that changes values: the changed keys start their state
-- afresh (as if INSERTed), the unchanged ones keep theirs.  The twin gets
-- the same treatment by INSERT.
ALTER TABLE rw_ada ALTER COLUMN val TYPE real USING CASE WHEN key = 1 THEN 7 ELSE val END;
INSERT INTO rw_ada_twin VALUES (1, 7);
SELECT rw_same('rw_ada', 'rw_ada_twin');
SELECT rw_push_both('rw_ada', 'rw_ada_twin');
SELECT rw_same('rw_ada', 'rw_ada_twin');

-- FTRL keeps z and n through a rewrite too (its weights are derived from
-- them, so a lost state would show at once).
CREATE TABLE rw_ftrl (key bigint, val real) USING ps;
CREATE TABLE rw_ftrl_twin (key bigint, val real) USING ps;
SELECT update_rule FROM ps_configure('rw_ftrl', update_rule => 'ftrl', l1 => 0.1, learning_rate => 0.5);
SELECT update_rule FROM ps_configure('rw_ftrl_twin', update_rule => 'ftrl', l1 => 0.1, learning_rate => 0.5);
SELECT rw_push_both('rw_ftrl', 'rw_ftrl_twin');
SELECT rw_push_both('rw_ftrl', 'rw_ftrl_twin');
ALTER TABLE rw_ftrl SET UNLOGGED;
SELECT rw_push_both('rw_ftrl', 'rw_ftrl_twin');
SELECT rw_same('rw_ftrl', 'rw_ftrl_twin');
SELECT ps_pull('rw_ftrl', '{1,2,3,4,5}');

-- Converting to heap and back keeps the values and the configuration;
-- the state and the timestamps, which a heap table cannot hold, start
-- afresh.
ALTER TABLE rw_ftrl SET ACCESS METHOD heap;
ALTER TABLE rw_ftrl SET ACCESS METHOD ps;
SELECT update_rule, l1 FROM ps_config WHERE tbl = 'rw_ftrl'::regclass;
SELECT ps_pull('rw_ftrl', '{1,2,3,4,5}');
SELECT last_timestamp FROM ps_stats('rw_ftrl');

-- REFRESH MATERIALIZED VIEW: its timestamps do not go back either.
CREATE MATERIALIZED VIEW rw_mv USING ps AS SELECT key, val FROM rw_ada_twin;
SELECT last_timestamp AS mv_ts FROM ps_stats('rw_mv') \gset
REFRESH MATERIALIZED VIEW rw_mv;
SELECT last_timestamp >= :mv_ts AS not_back, keys FROM ps_stats('rw_mv');
SELECT ps_wait('rw_mv', :mv_ts);
SELECT count(*) FROM rw_mv;

-- A session that writes a ps table while it scans it does not read what it
-- writes: its open scans of the table freeze (read on from a copy of the
-- table as it was) before it writes.  So a statement that inserts into the
-- ps table it reads gives the result a heap table gives: every row once.
CREATE TABLE rw_self (key bigint, val real) USING ps;
INSERT INTO rw_self SELECT g, g FROM generate_series(1, 3000) g;
INSERT INTO rw_self SELECT key + 10000, val FROM rw_self;
SELECT count(*), min(key), max(key), sum(val::float8) FROM rw_self;
-- the same through a view and a CTE
CREATE VIEW rw_self_view AS SELECT key, val FROM rw_self;
INSERT INTO rw_self SELECT key + 100000, val FROM rw_self_view;
WITH src AS (SELECT key, val FROM rw_self WHERE key < 10000)
INSERT INTO rw_self SELECT key + 1000000, val FROM src;
SELECT count(*), max(key) FROM rw_self;
-- in place: halve every value (there is no UPDATE); the scan reads the
-- values as they were
INSERT INTO rw_self SELECT key, val / 2 FROM rw_self;
SELECT count(*), sum(val::float8) FROM rw_self;
-- as with every INSERT into a ps table, a statement that fails keeps the
-- rows written before the error (here, those of the 2998 keys below 2999,
-- which the scan reads first)
INSERT INTO rw_self SELECT key + 5000000, CASE WHEN key = 2999 THEN 1 / (key - 2999) ELSE val END FROM rw_self;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM rw_self WHERE key >= 5000000;
-- RETURNING returns the rows; EXPLAIN ANALYZE runs the statement too
INSERT INTO rw_self SELECT key + 7000000, val FROM rw_self WHERE key <= 3 RETURNING key, val;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
INSERT INTO rw_self SELECT key + 8000000, val FROM rw_self WHERE key <= 2;
SELECT count(*) FROM rw_self WHERE key > 7000000;
-- partitions: INSERT through the parent, reading the parent.  The plan
-- reads rw_part_lo, then begins to read rw_part_hi, into which it has
-- already routed rows: that scan would read them, and is refused with an
-- error saying so (the rows written before it stay, as with any failed
-- INSERT).  Through a temporary table it works.
CREATE TABLE rw_parts (key bigint, val real) PARTITION BY RANGE (key);
CREATE TABLE rw_part_lo PARTITION OF rw_parts FOR VALUES FROM (MINVALUE) TO (1000000) USING ps;
CREATE TABLE rw_part_hi PARTITION OF rw_parts FOR VALUES FROM (1000000) TO (MAXVALUE) USING ps;
INSERT INTO rw_parts SELECT g, 1 FROM generate_series(1, 100) g;
INSERT INTO rw_parts SELECT key + 999950, val FROM rw_parts;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM rw_part_lo;
SELECT count(*) FROM rw_part_hi;
TRUNCATE rw_parts;
INSERT INTO rw_parts SELECT g, 1 FROM generate_series(1, 100) g;
CREATE TEMP TABLE rw_parts_src AS SELECT key, val FROM rw_parts;
INSERT INTO rw_parts SELECT key + 999950, val FROM rw_parts_src;
SELECT count(*) FROM rw_part_lo;
SELECT count(*) FROM rw_part_hi;
-- scanning one partition and inserting into the other is fine
INSERT INTO rw_parts SELECT key + 2000000, val FROM rw_part_lo WHERE key <= 3;
SELECT count(*) FROM rw_part_hi;
-- The reading and the writing need not be one statement: a PL/pgSQL loop
-- over the table that inserts into it, a trigger that inserts into it for
-- rows read from it, a view's INSTEAD OF trigger, a set-returning function
-- in the target list, and pushes from a SELECT over the table all see
-- every row once.
CREATE TABLE rw_loop (key bigint, val real) USING ps;
INSERT INTO rw_loop SELECT g, 1 FROM generate_series(1, 100) g;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT key, val FROM rw_loop LOOP
    INSERT INTO rw_loop VALUES (r.key + 100000, r.val);
  END LOOP; END $$;
SELECT count(*) FROM rw_loop;
CREATE TABLE rw_heap (key bigint, val real);
CREATE FUNCTION rw_into_loop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO rw_loop VALUES (NEW.key + 1000000, NEW.val); RETURN NULL; END $$;
CREATE TRIGGER rw_into_loop BEFORE INSERT ON rw_heap FOR EACH ROW EXECUTE FUNCTION rw_into_loop();
INSERT INTO rw_heap SELECT key, val FROM rw_loop;
SELECT count(*) FROM rw_loop;
CREATE VIEW rw_loop_view AS SELECT key, val FROM rw_loop WHERE false;
CREATE FUNCTION rw_instead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO rw_loop VALUES (NEW.key, NEW.val); RETURN NEW; END $$;
CREATE TRIGGER rw_instead INSTEAD OF INSERT ON rw_loop_view FOR EACH ROW EXECUTE FUNCTION rw_instead();
INSERT INTO rw_loop_view SELECT key + 10000000, val FROM rw_loop;
SELECT count(*) FROM rw_loop;
CREATE FUNCTION rw_shifted() RETURNS SETOF rw_loop LANGUAGE sql VOLATILE AS
  'SELECT key + 100000000, val FROM rw_loop';
INSERT INTO rw_loop SELECT (rw_shifted()).*;
SELECT count(*) FROM rw_loop;
SELECT count(*) FROM (SELECT ps_push('rw_loop', ARRAY[key + 1000000000], '{1}') FROM rw_loop) s;
SELECT count(*) FROM rw_loop;
-- A cursor sees the table as it was when its session began to write it;
-- statements after that write see everything.
BEGIN;
DECLARE rw_cur CURSOR FOR SELECT key FROM rw_loop WHERE key < 3;
FETCH 1 FROM rw_cur;
INSERT INTO rw_loop VALUES (0, 1), (2, 7);
FETCH ALL FROM rw_cur;
COMMIT;
SELECT * FROM rw_loop WHERE key < 3;
-- A statement nested in one that reads the table (COPY in a function) is
-- its own: what it writes is there at once, for the next statement.
CREATE FUNCTION rw_copy_more() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  COPY rw_loop FROM PROGRAM 'echo 99999999999,5' WITH (FORMAT csv);
  RETURN (SELECT count(*) FROM rw_loop WHERE key = 99999999999);
END $$;
SELECT key, rw_copy_more() FROM rw_loop WHERE key = 1;
SELECT count(*) FROM rw_loop;
-- a statement that writes but does not read sees at once what an earlier
-- statement of the same function wrote
CREATE FUNCTION rw_two_steps() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO rw_self VALUES (9000001, 1);
  RETURN (SELECT count(*) FROM rw_self WHERE key = 9000001);
END $$;
SELECT rw_two_steps();
-- A push in a SELECT writes as INSERT does: the statements after it, in
-- the transaction, in the same query string, in a function, see it.
CREATE TABLE rw_fz (key bigint, val real) USING ps;
BEGIN;
SELECT ps_push('rw_fz', '{1}', '{1}') > 0 AS pushed;
SELECT count(*) FROM rw_fz;
COPY rw_fz TO STDOUT;
COMMIT;
SELECT ps_push('rw_fz', '{2}', '{1}') > 0 AS pushed \; SELECT count(*) FROM rw_fz;
CREATE FUNCTION rw_push_count() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  PERFORM ps_push('rw_fz', '{3}', '{1}');
  SELECT count(*) INTO n FROM rw_fz;
  RETURN n;
END $$;
SELECT rw_push_count();
-- A cursor declared before a write but first fetched in a later statement
-- reads the table as it is when it begins (a ps table has no snapshots);
-- so does a WITH HOLD cursor, which COMMIT reads.
BEGIN;
DECLARE rw_late CURSOR FOR SELECT key FROM rw_fz;
INSERT INTO rw_fz VALUES (4, 1);
FETCH ALL FROM rw_late;
DECLARE rw_hold CURSOR WITH HOLD FOR SELECT key FROM rw_fz;
INSERT INTO rw_fz VALUES (5, 1);
COMMIT;
FETCH ALL FROM rw_hold;
CLOSE rw_hold;
-- Within one statement, a cursor opened before a write and first fetched
-- after it is refused, however many ps tables the statement wrote in
-- between (the write to rw_fz comes first, then 20 others).
DO $$
DECLARE c refcursor; r record;
BEGIN
  OPEN c FOR SELECT key FROM rw_fz;
  INSERT INTO rw_fz VALUES (6, 1);
  FOR i IN 1..20 LOOP
    EXECUTE format('CREATE TEMP TABLE rw_fz_%s (key bigint, val real) USING ps', i);
    EXECUTE format('INSERT INTO rw_fz_%s VALUES (1, 1)', i);
  END LOOP;
  FETCH c INTO r;
END $$;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM rw_fz;
-- A cursor whose fetch failed in a subtransaction has lost its resource
-- owner; a later write does not freeze it (that used the freed owner, and
-- left a temporary file behind: a warning at COMMIT).
CREATE TABLE rw_big (key bigint, val real) USING ps;
INSERT INTO rw_big SELECT g, 1 FROM generate_series(1, 100000) g;
BEGIN;
DECLARE rw_bad CURSOR FOR SELECT key, 1 / (key - 5) FROM rw_big;
SAVEPOINT s;
FETCH 10 FROM rw_bad;
ROLLBACK TO s;
INSERT INTO rw_big VALUES (1, 2);
CLOSE rw_bad;
COMMIT;
-- A copy for a scan that fails (here temp_file_limit, caught by the
-- function) leaves the scan unable to go on, not reading a part of the
-- table; and the write it came before is not made.
DO $$
DECLARE r record; n int := 0;
BEGIN
  FOR r IN SELECT key FROM rw_big LOOP
    n := n + 1;
    IF n = 5 THEN
      BEGIN
        PERFORM pg_catalog.set_config('temp_file_limit', '64kB', true);
        PERFORM ps_push('rw_big', '{1}', '{1}');
      EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'push failed: %', SQLERRM;
      END;
    END IF;
  END LOOP;
  RAISE NOTICE 'read % rows', n;
END $$;
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('rw_big', '{1}');

-- TRUNCATE in the transaction that created the table empties its storage
-- in place; the scheduler must not go on routing keys with the directory
-- of the storage as it was (this used to fail with "block 4 is not the
-- leaf for key 4761" until a restart).
BEGIN;
CREATE TABLE rw_sy (key bigint, val real) USING ps;
INSERT INTO rw_sy SELECT g, 1 FROM generate_series(0, 59999) g;
SELECT ps_push('rw_sy', '{1}', '{1}') > 0 AS pushed;
TRUNCATE rw_sy;
INSERT INTO rw_sy SELECT g * 7, 1 FROM generate_series(1, 60000) g;
COMMIT;
SELECT ps_push('rw_sy', '{4761}', '{1}') > 0 AS pushed;
SELECT ps_pull('rw_sy', '{1,7,4760,4761}');
SELECT ps_check('rw_sy');

-- A push to storage this transaction created goes with it: ROLLBACK
-- undoes the TRUNCATE and, with it, the pushes that followed it.  (Pushes
-- are otherwise not undone by ROLLBACK: see the last block.)
CREATE TABLE rw_rb (key bigint, val real) USING ps;
SELECT ps_push('rw_rb', '{1,2}', '{10,20}') > 0 AS pushed;
BEGIN;
TRUNCATE rw_rb;
SELECT ps_push('rw_rb', '{1,3}', '{1,3}') > 0 AS pushed;
SELECT ps_pull('rw_rb', '{1,2,3}');
ROLLBACK;
SELECT ps_pull('rw_rb', '{1,2,3}');
-- the same with a rewrite in the transaction
BEGIN;
ALTER TABLE rw_rb SET UNLOGGED;
SELECT ps_push('rw_rb', '{1}', '{5}') > 0 AS pushed;
ROLLBACK;
SELECT ps_pull('rw_rb', '{1,2,3}');
-- a push to storage created before the transaction stays
BEGIN;
SELECT ps_push('rw_rb', '{1}', '{5}') > 0 AS pushed;
ROLLBACK;
SELECT ps_pull('rw_rb', '{1,2,3}');

-- CREATE INDEX: ps tables have none, whether or not PostgreSQL would
-- build it with parallel workers (it used to say "parallel scans are not
-- supported" then).
ALTER TABLE rw_self SET (parallel_workers = 2);
SET max_parallel_maintenance_workers = 2;
CREATE INDEX ON rw_self (key);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE rw_self ADD PRIMARY KEY (key);
\echo :LAST_ERROR_SQLSTATE
RESET max_parallel_maintenance_workers;
-- a range of 2^63 keys is reported as 2^63 keys
SELECT ps_pull_range('rw_self', -9223372036854775808, 0);
\echo :LAST_ERROR_SQLSTATE

DROP FUNCTION rw_two_steps();
DROP FUNCTION rw_push_count();
DROP TABLE rw_fz, rw_big;
DROP FUNCTION rw_copy_more();
DROP VIEW rw_loop_view;
DROP FUNCTION rw_instead();
DROP TABLE rw_heap;
DROP FUNCTION rw_into_loop();
DROP FUNCTION rw_shifted();
DROP TABLE rw_loop;
DROP TABLE rw_parts, rw_parts_src;
DROP VIEW rw_self_view;
DROP MATERIALIZED VIEW rw_mv;
DROP TABLE rw_ada, rw_ada_twin, rw_ftrl, rw_ftrl_twin, rw_self, rw_sy, rw_rb;
DROP FUNCTION rw_same(regclass, regclass);
DROP FUNCTION rw_push_both(regclass, regclass);
