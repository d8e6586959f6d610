--
-- ps_workers: the workers training a ps table, their clocks, and the waits
-- of the consistency models.
--
-- ps_join(tbl) gives a worker id (1, 2, ... per table).  A worker's push or
-- pull names its id and the clock (iteration) it belongs to; a call for
-- clock c means the worker is done with clock c - 1, so its clock becomes
-- c - 1.  A worker's pull for clock c waits until every active worker's
-- clock is at least c - 1 (sequential), c - 1 - max_delay (bounded), or
-- not at all (eventual); it gives up after ps.wait_timeout.
--
-- A worker is just an id, so this one session acts as every worker; the
-- waits between sessions are in test/isolation, dropped workers in
-- test/t/007_workers.pl.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised, and a query shows nothing changed.
--

CREATE TABLE wk_w (key bigint, val real) USING ps;
-- The workers of wk_w, without the time of their last call; pid is the
-- backend of their last call, this one.
CREATE VIEW wk_list AS
  SELECT worker, state, clock, last_seen IS NOT NULL AS seen, pid = pg_backend_pid() AS mine
  FROM ps_workers('wk_w') ORDER BY worker;
CREATE VIEW wk_contents AS
  SELECT string_agg(key || '=' || val, ' ' ORDER BY key) AS contents FROM wk_w;

--
-- Joining
--

-- No workers yet.
SELECT * FROM ps_workers('wk_w');
-- Ids count from 1; the first worker starts at clock 0, and so does the
-- second, the slowest worker being at 0.
SELECT ps_join('wk_w');
SELECT ps_join('wk_w');
SELECT * FROM wk_list;
-- Ids are per table.
CREATE TABLE wk_other (key bigint, val real) USING ps;
SELECT ps_join('wk_other');
SELECT worker, state, clock FROM ps_workers('wk_other');

--
-- Clocks move with the calls
--

-- A push for clock 1: worker 1 is done with clock 0 (it stays at 0).
SELECT ps_push('wk_w', '{1,2}', '{1,2}', 1, 1);
SELECT * FROM wk_list;
-- A pull for clock 2: worker 1 is done with clock 1.  (wk_w has eventual
-- consistency: no pull waits.)
SELECT ps_pull('wk_w', '{1,2}', 1, 2);
SELECT * FROM wk_list;
-- The same clock again is fine, and so is a jump ahead: range calls move
-- clocks as well.
SELECT ps_pull_range('wk_w', 1, 3, 1, 2);
SELECT ps_push_range('wk_w', 1, '{10,20}', worker => 1, clock => 4);
SELECT ps_pull_range('wk_w', 1, 3, worker => 2, clock => 3);
SELECT * FROM wk_list;
-- A pull of no keys moves the clock too, and so does a push of nothing.
SELECT ps_pull('wk_w', '{}', 1, 5);
SELECT ps_push('wk_w', '{}', '{}', 2, 4) >= 0 AS pushed;
SELECT * FROM wk_list;
-- Calling again for the same clock changes nothing.
SELECT ps_pull('wk_w', '{}', 2, 4);
SELECT * FROM wk_list;
-- Calls without a worker leave the workers alone.
SELECT ps_push('wk_w', '{3}', '{3}');
SELECT ps_pull('wk_w', '{1,2,3}');
SELECT * FROM wk_list;
SELECT * FROM wk_contents;

--
-- Bad worker arguments are refused, before anything is written
--

-- An unknown worker.
SELECT ps_push('wk_w', '{1}', '{100}', 99, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('wk_w', '{1}', 99, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('wk_w', 1, '{100}', 0, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('wk_w', 1, 2, -1, 5);
\echo :LAST_ERROR_SQLSTATE
-- (also when there is nothing to push)
SELECT ps_push('wk_w', '{}', '{}', 99, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('wk_w', 1, '{}', 99, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_list;
SELECT * FROM wk_contents;

-- A worker without a clock, a clock without a worker.
SELECT ps_push('wk_w', '{1}', '{100}', worker => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('wk_w', '{1}', '{100}', clock => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('wk_w', '{1}', worker => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('wk_w', '{1}', NULL, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push_range('wk_w', 1, '{100}', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('wk_w', 1, 2, clock => 5);
\echo :LAST_ERROR_SQLSTATE
-- (also when there is nothing to push or pull)
SELECT ps_push('wk_w', '{}', '{}', worker => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('wk_w', '{}', clock => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_list;
SELECT * FROM wk_contents;

-- A negative clock.
SELECT ps_push('wk_w', '{1}', '{100}', 1, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('wk_w', '{1}', 2, -5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_list;
SELECT * FROM wk_contents;

-- A clock going backwards: worker 1 has used clock 5, worker 2 clock 4.
SELECT ps_push('wk_w', '{1}', '{100}', 1, 4);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('wk_w', '{1}', 1, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull_range('wk_w', 1, 2, 2, 3);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_list;
SELECT * FROM wk_contents;
-- (the clock it used last is fine)
SELECT ps_push('wk_w', '{1}', '{100}', 1, 5);
SELECT * FROM wk_list;
SELECT * FROM wk_contents;

-- NULLs and tables that are not ps tables.
SELECT ps_join(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave(NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('wk_w', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_workers(NULL);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE wk_heap (key bigint, val real);
SELECT ps_join('wk_heap');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('wk_heap', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_workers('wk_heap');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_join(0);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE wk_heap;
-- Leaving as an unknown worker.
SELECT ps_leave('wk_w', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_list;

--
-- Leaving
--

SELECT ps_leave('wk_w', 2);
SELECT * FROM wk_list;
-- A worker that left cannot make calls, nor leave again.
SELECT ps_push('wk_w', '{1}', '{100}', 2, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_pull('wk_w', '{1}', 2, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('wk_w', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_list;
SELECT * FROM wk_contents;
-- Joining again gives a new id, starting at the clock of the slowest
-- active worker (worker 1, at 4).
SELECT ps_join('wk_w');
SELECT * FROM wk_list;
-- With every worker gone, a new one starts at 0 again.
SELECT ps_leave('wk_w', 1), ps_leave('wk_w', 3);
SELECT ps_join('wk_w');
SELECT * FROM wk_list;

--
-- Privileges: joining and leaving take part in training, so they need
-- UPDATE (like pushes); ps_workers reads, so it needs SELECT.
--

CREATE ROLE regress_ps_wk;
SET ROLE regress_ps_wk;
SELECT ps_join('wk_w');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('wk_w', 4);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_workers('wk_w');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT SELECT ON wk_w TO regress_ps_wk;
SET ROLE regress_ps_wk;
SELECT worker, state, clock FROM ps_workers('wk_w');
SELECT ps_join('wk_w');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_leave('wk_w', 4);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM wk_list;
REVOKE SELECT ON wk_w FROM regress_ps_wk;
GRANT UPDATE ON wk_w TO regress_ps_wk;
SET ROLE regress_ps_wk;
SELECT ps_join('wk_w');
SELECT ps_leave('wk_w', 5);
SELECT * FROM ps_workers('wk_w');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM wk_list;
REVOKE ALL ON wk_w FROM regress_ps_wk;
DROP ROLE regress_ps_wk;

--
-- Sequential consistency: a pull for clock c waits for every active
-- worker to be done with clock c - 1.
--

CREATE TABLE wk_seq (key bigint, val real) USING ps;
SELECT consistency, max_delay FROM ps_configure('wk_seq', consistency => 'sequential');
CREATE VIEW wk_seq_list AS
  SELECT worker, state, clock FROM ps_workers('wk_seq') ORDER BY worker;
SELECT ps_join('wk_seq'), ps_join('wk_seq');
-- Fail fast instead of waiting a minute.
SET ps.wait_timeout = 100;

-- Clock 1 needs everyone at clock 0: no wait.
SELECT ps_push('wk_seq', '{1}', '{1}', 1, 1);
SELECT ps_pull('wk_seq', '{1,2}', 1, 1);
-- Clock 2 needs worker 2 to be done with clock 1, which it is not: the
-- pull waits, and gives up after ps.wait_timeout.
SELECT ps_pull('wk_seq', '{1,2}', 1, 2);
\echo :LAST_ERROR_SQLSTATE
-- Worker 1 is done with clock 1 all the same; worker 2 is at 0.
SELECT * FROM wk_seq_list;
-- Worker 2 pushes for clock 1: still at 0, still holding worker 1 back.
SELECT ps_push('wk_seq', '{2}', '{10}', 2, 1);
SELECT ps_pull('wk_seq', '{1,2}', 1, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_seq_list;
-- Worker 2's pull for clock 2 makes it done with clock 1 and does not
-- wait (worker 1 is done with clock 1 too); now worker 1's pull proceeds,
-- and sees what worker 2 pushed.
SELECT ps_pull('wk_seq', '{1,2}', 2, 2);
SELECT ps_pull('wk_seq', '{1,2}', 1, 2);
SELECT * FROM wk_seq_list;
-- A push never waits, even far ahead.
SELECT ps_push('wk_seq', '{1}', '{1}', 1, 9);
SELECT * FROM wk_seq_list;
-- Pulls without a worker never wait either.
SELECT ps_pull('wk_seq', '{1,2}');

-- Configuring a consistency model in a transaction that rolls back leaves
-- the table sequential: worker 1's pull for clock 9 still waits.
BEGIN;
SELECT consistency FROM ps_configure('wk_seq', consistency => 'eventual');
ROLLBACK;
SELECT consistency FROM ps_config WHERE tbl = 'wk_seq'::regclass;
SELECT ps_pull('wk_seq', '{1,2}', 1, 9);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_seq_list;
-- Nor does a change rolled back to a savepoint.
BEGIN;
SAVEPOINT s1;
SELECT consistency FROM ps_configure('wk_seq', consistency => 'eventual');
ROLLBACK TO s1;
COMMIT;
SELECT consistency FROM ps_config WHERE tbl = 'wk_seq'::regclass;
SELECT ps_pull('wk_seq', '{1,2}', 1, 9);
\echo :LAST_ERROR_SQLSTATE
-- A change in a released savepoint counts when the transaction commits:
-- bounded with max_delay 10 lets the pull for clock 9 through.
BEGIN;
SAVEPOINT s2;
SELECT consistency FROM ps_configure('wk_seq', consistency => 'bounded', max_delay => 10);
RELEASE s2;
COMMIT;
SELECT ps_pull('wk_seq', '{1,2}', 1, 9);
SELECT consistency FROM ps_configure('wk_seq', consistency => 'sequential');
-- A transaction that configured a ps table cannot be prepared (its commit
-- would run elsewhere); it is rolled back and changes nothing.
BEGIN;
SELECT consistency FROM ps_configure('wk_seq', consistency => 'eventual');
PREPARE TRANSACTION 'wk_p';
\echo :LAST_ERROR_SQLSTATE
SELECT consistency FROM ps_config WHERE tbl = 'wk_seq'::regclass;
SELECT ps_pull('wk_seq', '{1,2}', 1, 9);
\echo :LAST_ERROR_SQLSTATE
-- A table first used inside the transaction that configures it: its
-- shared state starts with the committed model, so a rollback leaves it
-- eventual (the pull below does not wait).
CREATE TABLE wk_new (key bigint, val real) USING ps;
BEGIN;
SELECT consistency FROM ps_configure('wk_new', consistency => 'sequential');
SELECT ps_push('wk_new', '{1}', '{1}') > 0 AS pushed;
ROLLBACK;
SELECT ps_join('wk_new'), ps_join('wk_new');
SELECT ps_pull('wk_new', '{1}', 1, 5);
SELECT ps_leave('wk_new', 1), ps_leave('wk_new', 2);
DROP TABLE wk_new;

-- A worker that left no longer holds anyone back.
SELECT ps_leave('wk_seq', 2);
SELECT ps_pull('wk_seq', '{1,2}', 1, 9);
SELECT * FROM wk_seq_list;

--
-- Eventual consistency: the same calls never wait.
--

CREATE TABLE wk_ev (key bigint, val real) USING ps;
SELECT consistency, max_delay FROM ps_configure('wk_ev', consistency => 'eventual');
SELECT ps_join('wk_ev'), ps_join('wk_ev');
SELECT ps_push('wk_ev', '{1}', '{1}', 1, 1);
SELECT ps_pull('wk_ev', '{1,2}', 1, 2);
SELECT ps_pull('wk_ev', '{1,2}', 1, 100);
-- It reads what is there now.
SELECT ps_push('wk_ev', '{2}', '{10}', 2, 1);
SELECT ps_pull('wk_ev', '{1,2}', 1, 101);
SELECT worker, state, clock FROM ps_workers('wk_ev') ORDER BY worker;

--
-- Bounded delay: a pull for clock c waits for every active worker to be
-- done with clock c - 1 - max_delay: a worker may run exactly max_delay
-- clocks further ahead than under sequential consistency.
--

CREATE TABLE wk_bd (key bigint, val real) USING ps;
SELECT consistency, max_delay FROM ps_configure('wk_bd', consistency => 'bounded', max_delay => 2);
CREATE VIEW wk_bd_list AS
  SELECT worker, state, clock FROM ps_workers('wk_bd') ORDER BY worker;
SELECT ps_join('wk_bd'), ps_join('wk_bd');
-- Worker 2 stays at clock 0; worker 1 may pull for clocks 1, 2 and 3
-- (needing worker 2 at -1, 0 and 0) ...
SELECT ps_push('wk_bd', '{1}', '{1}', 1, 1);
SELECT ps_pull('wk_bd', '{1}', 1, 1);
SELECT ps_pull('wk_bd', '{1}', 1, 2);
SELECT ps_pull('wk_bd', '{1}', 1, 3);
-- ... but not for clock 4, which needs worker 2 at clock 1.
SELECT ps_pull('wk_bd', '{1}', 1, 4);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_bd_list;
-- Once worker 2 is done with clock 1, worker 1 may pull for clock 4, not 5.
SELECT ps_push('wk_bd', '{2}', '{10}', 2, 2);
SELECT ps_pull('wk_bd', '{1,2}', 1, 4);
SELECT ps_pull('wk_bd', '{1,2}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM wk_bd_list;
-- A larger max_delay lets it go on at once ...
SELECT consistency, max_delay FROM ps_configure('wk_bd', max_delay => 3);
SELECT ps_pull('wk_bd', '{1,2}', 1, 5);
-- ... sequential consistency holds it back again ...
SELECT consistency, max_delay FROM ps_configure('wk_bd', consistency => 'sequential');
SELECT ps_pull('wk_bd', '{1,2}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
-- ... and eventual consistency lets it go.
SELECT consistency, max_delay FROM ps_configure('wk_bd', consistency => 'eventual');
SELECT ps_pull('wk_bd', '{1,2}', 1, 5);
SELECT * FROM wk_bd_list;

--
-- Workers belong to the table: they survive a TRUNCATE (also two in one
-- transaction, the second of which empties the new storage in place) and
-- a DROP TABLE that is rolled back.
--

CREATE TABLE wk_keep (key bigint, val real) USING ps;
CREATE VIEW wk_keep_list AS
  SELECT worker, state, clock FROM ps_workers('wk_keep') ORDER BY worker;
SELECT ps_join('wk_keep'), ps_join('wk_keep');
SELECT ps_push('wk_keep', '{1}', '{1}', 1, 3);
SELECT ps_leave('wk_keep', 2);
SELECT * FROM wk_keep_list;
TRUNCATE wk_keep;
SELECT * FROM wk_keep_list;
BEGIN;
TRUNCATE wk_keep;
TRUNCATE wk_keep;
COMMIT;
SELECT * FROM wk_keep_list;
-- Worker 1 goes on where it was; the next id is 3.
SELECT ps_push('wk_keep', '{1}', '{1}', 1, 4) > 0 AS pushed;
SELECT ps_join('wk_keep');
SELECT * FROM wk_keep_list;

CREATE TABLE wk_drop (key bigint, val real) USING ps;
SELECT ps_join('wk_drop'), ps_join('wk_drop');
SELECT ps_push('wk_drop', '{1}', '{1}', 1, 3);
SELECT worker, state, clock FROM ps_workers('wk_drop') ORDER BY worker;
BEGIN;
DROP TABLE wk_drop;
ROLLBACK;
SELECT worker, state, clock FROM ps_workers('wk_drop') ORDER BY worker;
-- Worker 1 goes on where it was; the next id is 3.
SELECT ps_push('wk_drop', '{1}', '{1}', 1, 4) > 0 AS pushed;
SELECT ps_join('wk_drop');
SELECT worker, state, clock FROM ps_workers('wk_drop') ORDER BY worker;

--
-- At most ps.max_workers workers at once; the slots of workers that left
-- are reused.
--

CREATE TABLE wk_many (key bigint, val real) USING ps;
SELECT count(*), max(id) = current_setting('ps.max_workers')::int AS ids_1_to_max FROM
  (SELECT ps_join('wk_many') AS id FROM generate_series(1, current_setting('ps.max_workers')::int)) j;
SELECT ps_join('wk_many');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM ps_workers('wk_many');
SELECT ps_leave('wk_many', 7);
SELECT ps_join('wk_many') = current_setting('ps.max_workers')::int + 1 AS next_id;
SELECT count(*), count(*) FILTER (WHERE state = 'active'),
       count(*) FILTER (WHERE worker = 7) AS worker_7
  FROM ps_workers('wk_many');

--
-- A worker may join at a given clock (a worker of a cluster joining one
-- more server does): it goes on from there; its calls may not go back.
--

CREATE TABLE wk_at (key bigint, val real) USING ps;
SELECT ps_join('wk_at', 7), ps_join('wk_at', 2), ps_join('wk_at');
SELECT worker, state, clock FROM ps_workers('wk_at') ORDER BY worker;
SELECT ps_push('wk_at', '{1}', '{1}', 2, 3) > 0 AS pushed;
SELECT ps_push('wk_at', '{1}', '{1}', 2, 1);
SELECT ps_push('wk_at', '{}', '{}', 1, 9) > 0 AS empty_push_moves_the_clock;
SELECT worker, state, clock FROM ps_workers('wk_at') ORDER BY worker;
SELECT ps_join('wk_at', -1);
SELECT ps_join('wk_at', NULL);
SELECT count(*) FROM ps_workers('wk_at');

-- Clean up.
RESET ps.wait_timeout;
DROP VIEW wk_list, wk_contents, wk_seq_list, wk_bd_list, wk_keep_list;
DROP TABLE wk_w, wk_other, wk_seq, wk_ev, wk_bd, wk_keep, wk_drop, wk_many, wk_at;
