--
-- ps_clocks: range vector clocks, as in the paper.
--
-- When a worker's push for clock c is applied, that worker's clock is set
-- to c on the key range the push covers (its smallest to its largest key).
-- Each worker keeps a list of disjoint segments [lo, hi] -> clock: a push
-- splits the worker's segments at its borders, and neighbouring segments
-- with equal clocks merge again.  ps_clocks(tbl) reads the vector clock
-- across the workers' lists: maximal key ranges over which every worker's
-- clock is the same, workers[i] being at clocks[i]; ranges no worker
-- pushed to are left out.  ps_ranges(tbl) cuts the table's leaves at the
-- borders of those ranges.  A worker that pushes the same few ranges
-- every clock keeps a few segments, however long it trains.
--
-- The clock of a range is the clock the push named (c); ps_workers shows
-- the clock the worker is done with (c - 1).  Pushes without a worker set
-- no clock.  Range clocks live in shared memory and are not persistent.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised, and a query shows nothing changed.
--

CREATE TABLE clk_w (key bigint, val real) USING ps;

-- No worker has pushed yet: no clocks.
SELECT * FROM ps_clocks('clk_w');
SELECT ps_join('clk_w');
SELECT ps_join('clk_w');
SELECT * FROM ps_clocks('clk_w');

--
-- One worker: segments split at the borders of pushes, and merge again
--

-- Worker 1 pushes keys 0 .. 99 for clock 1.
SELECT ps_push_range('clk_w', 0, array_fill(1::real, ARRAY[100]), 1, 1);
SELECT * FROM ps_clocks('clk_w');
-- Then keys 50 .. 149 for clock 2: its segment is cut at 50.
SELECT ps_push_range('clk_w', 50, array_fill(1::real, ARRAY[100]), 1, 2);
SELECT * FROM ps_clocks('clk_w');
-- A push inside a segment cuts it in three: 60 .. 69 for clock 3.
SELECT ps_push_range('clk_w', 60, array_fill(1::real, ARRAY[10]), 1, 3);
SELECT * FROM ps_clocks('clk_w');
-- Keys 0 .. 149 for clock 3: all of it is at clock 3, one segment again.
SELECT ps_push_range('clk_w', 0, array_fill(1::real, ARRAY[150]), 1, 3);
SELECT * FROM ps_clocks('clk_w');

-- ps_push covers its smallest to its largest key, whatever lies between
-- and in whatever order the keys come: keys 29 and 20 set 20 .. 29.
SELECT ps_push('clk_w', '{29,20}', '{1,1}', 1, 4);
SELECT * FROM ps_clocks('clk_w');
-- Pushing the rest for clock 4 merges the three segments into one.
SELECT ps_push('clk_w', '{0,19}', '{1,1}', 1, 4);
SELECT ps_push('clk_w', '{149,30}', '{1,1}', 1, 4);
SELECT * FROM ps_clocks('clk_w');
-- The range clock is the push's clock; the worker is done with clock 3.
SELECT worker, state, clock FROM ps_workers('clk_w') ORDER BY worker;

-- A push without a worker sets no clock.
SELECT ps_push('clk_w', '{500}', '{1}');
SELECT * FROM ps_clocks('clk_w');

--
-- Two workers: the vector clock is read across both lists
--

-- Worker 2 pushes keys 100 .. 199 for clock 1: over 100 .. 149 both
-- workers have a clock, over 150 .. 199 only worker 2.
SELECT ps_push_range('clk_w', 100, array_fill(1::real, ARRAY[100]), 2, 1);
SELECT * FROM ps_clocks('clk_w');
-- Then keys 0 .. 49 for clock 2.
SELECT ps_push_range('clk_w', 0, array_fill(1::real, ARRAY[50]), 2, 2);
SELECT * FROM ps_clocks('clk_w');

-- ps_ranges: the table is one leaf, cut where the vector clock changes;
-- the keys no worker pushed to (below 0, and 200 and up, with key 500)
-- have an empty vector.  clock is the leaf's (the last push's timestamp).
SELECT * FROM ps_ranges('clk_w');
SELECT sum(keys) = ps_check('clk_w') AS all_keys FROM ps_ranges('clk_w');

--
-- Calls that fail set no clock
--

-- A push for a clock older than the worker's last call.
SELECT ps_push_range('clk_w', 0, '{1,1}', 1, 2);
\echo :LAST_ERROR_SQLSTATE
-- A worker that never joined.
SELECT ps_push_range('clk_w', 0, '{1,1}', 99, 5);
\echo :LAST_ERROR_SQLSTATE
-- A worker without a clock.
SELECT ps_push_range('clk_w', 0, '{1,1}', 1, NULL);
\echo :LAST_ERROR_SQLSTATE
-- A bad value, from a worker.
SELECT ps_push('clk_w', '{0,300}', '{1,NaN}', 1, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_clocks('clk_w');

--
-- Leaving
--

-- ps_leave does not withdraw a worker's range clocks: what it pushed was
-- applied.  Its clocks stay in the vector, and it can push no more.
SELECT ps_leave('clk_w', 2);
SELECT worker, state, clock FROM ps_workers('clk_w') ORDER BY worker;
SELECT * FROM ps_clocks('clk_w');
SELECT ps_push_range('clk_w', 0, '{1}', 2, 3);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_clocks('clk_w');
-- A worker that joins now gets a new id, with no clocks of its own until
-- it pushes.
SELECT ps_join('clk_w');
SELECT * FROM ps_clocks('clk_w');
SELECT ps_push_range('clk_w', 140, '{1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1}', 3, 5);
SELECT * FROM ps_clocks('clk_w');

-- Workers and their clocks survive a TRUNCATE (the values do not).
TRUNCATE clk_w;
SELECT count(*) FROM clk_w;
SELECT * FROM ps_clocks('clk_w');

--
-- Bad input
--

SELECT * FROM ps_clocks(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_clocks('clk_no_such_table');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_clocks(4294967295::oid::regclass);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE clk_heap (key bigint, val real);
SELECT * FROM ps_clocks('clk_heap');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_ranges('clk_heap');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE clk_heap;
SELECT * FROM ps_clocks('clk_w');

SELECT ps_leave('clk_w', 1), ps_leave('clk_w', 3);
DROP TABLE clk_w;

--
-- The size of the vector clock does not grow with the number of pushes
--

-- Three workers push the same four key ranges every clock.  In range k,
-- worker w pushes keys 1000 k + 10 w .. 1000 k + 10 w + 19, so within a
-- range the three workers overlap:
--   +10 .. +19 worker 1; +20 .. +29 workers 1, 2; +30 .. +39 workers 2, 3;
--   +40 .. +49 worker 3.
-- Each worker keeps 4 segments (12 in all), and the vector clock has
-- 4 x 4 = 16 ranges, after 10 clocks (120 pushes) as after 50 (600).
CREATE TABLE clk_b (key bigint, val real) USING ps;
SELECT ps_join('clk_b'), ps_join('clk_b'), ps_join('clk_b');
CREATE FUNCTION clk_train(first_clock int, last_clock int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	FOR c IN first_clock .. last_clock LOOP
		FOR k IN 0 .. 3 LOOP
			FOR w IN 1 .. 3 LOOP
				PERFORM ps_push_range('clk_b', 1000 * k + 10 * w,
									  array_fill(1::real, ARRAY[20]), w, c);
			END LOOP;
		END LOOP;
	END LOOP;
END $$;

SELECT clk_train(1, 10);
SELECT count(*) AS ranges, bool_and(10 = ALL (clocks)) AS all_at_10
  FROM ps_clocks('clk_b');
SELECT * FROM ps_clocks('clk_b') WHERE hi < 1000;

SELECT clk_train(11, 50);
SELECT count(*) AS ranges, bool_and(50 = ALL (clocks)) AS all_at_50
  FROM ps_clocks('clk_b');
SELECT * FROM ps_clocks('clk_b') WHERE lo >= 3000;
-- Every key was pushed by one, two or three workers, 50 times each.
SELECT count(*) AS keys, min(val), max(val) FROM clk_b;

-- Mid-clock the ranges just pushed are one clock ahead: still 16 ranges.
SELECT ps_push_range('clk_b', 10, array_fill(1::real, ARRAY[20]), 1, 51);
SELECT * FROM ps_clocks('clk_b') WHERE hi < 1000;
SELECT count(*) AS ranges FROM ps_clocks('clk_b');

-- (ps.max_clock_ranges, beyond which segments are coarsened, can only be
-- set at server start, so coarsening is not shown here.)

SELECT ps_leave('clk_b', 1), ps_leave('clk_b', 2), ps_leave('clk_b', 3);
DROP FUNCTION clk_train(int, int);
DROP TABLE clk_b;
