--
-- ps_filters: the paper's filters, run by the server.
--
-- KKT filter (pushes): on an ftrl table with l1 > 0 and kkt_filter on, a
-- key whose weight is 0 and would stay 0 after the push (|z + g| <= l1) is
-- dropped from the push before it is applied.
-- Active filter (pulls): ps_pull_active returns, of the keys asked for,
-- only those with a nonzero value, in key order.
-- Significantly-modified filter (pulls): ps_pull_changed returns, of the
-- keys a worker asks for, those whose value moved by more than the table's
-- significance since this worker was last sent them, and those it was
-- never sent.  What was sent is remembered by the backend serving the
-- worker.
-- ps_filters(tbl) counts, per filter, the keys removed and the bytes they
-- would have taken: 8 for the key and 4 per value.
--
-- The FTRL weights below are computed by hand from the formulas at the
-- top of ps_config.sql, with learning_rate 0.5, beta 0.75, l1 1 and l2 4:
-- w = 0 if |z| <= 1, else -(z - sign(z)) / ((0.75 + sqrt(n)) / 0.5 + 4).
-- Where float4 arithmetic is exact they are compared exactly; otherwise
-- rounded to 5 decimals.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised, and a query shows nothing changed.
--

-- Two ftrl tables alike, but for the KKT filter.
CREATE TABLE flt_kkt (key bigint, val real) USING ps;
CREATE TABLE flt_plain (key bigint, val real) USING ps;
SELECT * FROM ps_configure('flt_kkt', update_rule => 'ftrl', learning_rate => 0.5,
                           beta => 0.75, l1 => 1, l2 => 4, kkt_filter => true);
SELECT * FROM ps_configure('flt_plain', update_rule => 'ftrl', learning_rate => 0.5,
                           beta => 0.75, l1 => 1, l2 => 4);
-- Nothing filtered yet.
SELECT * FROM ps_filters('flt_kkt');

--
-- KKT filter
--

-- Gradients 0.75, 1 and -1 to keys at weight 0: |z + g| <= l1 for all
-- three (1 is within), so the filter drops the whole push.  No key is
-- stored; 3 keys of 12 bytes were removed.
SELECT ps_push('flt_kkt', '{1,2,3}', '{0.75,1,-1}');
SELECT * FROM flt_kkt;
SELECT keys FROM ps_stats('flt_kkt');
SELECT * FROM ps_filters('flt_kkt');
-- Without the filter the keys are stored, at weight 0 (z = g, |z| <= 1).
SELECT ps_push('flt_plain', '{1,2,3}', '{0.75,1,-1}');
SELECT * FROM flt_plain;
SELECT * FROM ps_filters('flt_plain');

-- A second gradient of 1 to key 1.  Without the filter z accumulates:
-- n = 0.5625 + 1 = 1.5625 (sqrt 1.25), sigma = (1.25 - 0.75) / 0.5 = 1,
-- z = 0.75 + 1 - 1 * 0 = 1.75 > l1: w = -0.75 / ((0.75 + 1.25) / 0.5 + 4)
-- = -0.09375.  With the filter the first gradient never reached z, so
-- |0 + 1| <= l1 and this one is dropped too: key 1 stays at 0.  The KKT
-- filter is approximate by design (as in the paper): a dropped gradient
-- does not accumulate in z.
SELECT ps_push('flt_kkt', '{1}', '{1}');
SELECT ps_push('flt_plain', '{1}', '{1}');
SELECT ps_pull('flt_kkt', '{1}') AS with_kkt, ps_pull('flt_plain', '{1}') AS without;
SELECT * FROM ps_filters('flt_kkt') WHERE filter = 'kkt';

-- A push mixing small and big gradients: only key 2 (g = -3.25) passes.
-- n = 10.5625 (sqrt 3.25), z = -3.25: w = 2.25 / ((0.75 + 3.25) / 0.5 + 4)
-- = 0.1875.  Keys 1 (0.5) and 3 (0) are dropped: 2 more keys, 24 bytes.
SELECT ps_push('flt_kkt', '{1,2,3}', '{0.5,-3.25,0}');
SELECT * FROM flt_kkt;
SELECT * FROM ps_filters('flt_kkt') WHERE filter = 'kkt';

-- Repeated keys add up before the filter: 0.75 + 0.75 = 1.5 > l1 passes.
-- n = 2.25 (sqrt 1.5), z = 1.5: w = -0.5 / ((0.75 + 1.5) / 0.5 + 4)
-- = -0.5 / 8.5 = -0.05882.
SELECT ps_push('flt_kkt', '{5,5}', '{0.75,0.75}');
SELECT key, round(val::numeric, 5) AS val FROM flt_kkt;

-- A key with a nonzero weight is never dropped, however small its
-- gradient: key 2 gets 0.25.  n = 10.625, sqrt(n) = 3.2596012,
-- sigma = 0.0192024, z = -3.25 + 0.25 - 0.0192024 * 0.1875 = -3.0036004,
-- w = 2.0036004 / ((0.75 + 3.2596012) / 0.5 + 4) = 0.16670.
SELECT ps_push('flt_kkt', '{2}', '{0.25}');
SELECT key, round(val::numeric, 5) AS val FROM flt_kkt;
SELECT * FROM ps_filters('flt_kkt') WHERE filter = 'kkt';

-- Nor is a key with a nonzero weight dropped when its gradient brings z
-- back within the L1 ball: it must be applied, and its weight becomes 0.
-- Key 6 gets 1.5 (as key 5: z = 1.5, n = 2.25, w = -0.05882), then -1:
-- |z + g| = 0.5 <= l1, but w != 0, so the key is active.  n = 3.25,
-- sqrt(n) = 1.8027756, sigma = (1.8027756 - 1.5) / 0.5 = 0.6055513,
-- z = 1.5 - 1 - 0.6055513 * -0.0588235 = 0.5356207 <= l1: w = 0.  (A
-- filter that dropped it would leave -0.05882.)  The kkt count stays 6.
SELECT ps_push('flt_kkt', '{6}', '{1.5}');
SELECT key, round(val::numeric, 5) AS val FROM flt_kkt WHERE key = 6;
SELECT ps_push('flt_kkt', '{6}', '{-1}');
SELECT key, round(val::numeric, 5) AS val FROM flt_kkt WHERE key = 6;
SELECT * FROM ps_filters('flt_kkt') WHERE filter = 'kkt';

--
-- Active filter
--

-- Of keys 1, 2, 3, 5 and 9 (2 asked for twice), 2 and 5 are nonzero:
-- 3 keys removed.  Keys come back in key order, once.
SELECT active_keys, vals::numeric(7,5)[] AS vals
  FROM ps_pull_active('flt_kkt', '{9,2,1,5,2,3}');
SELECT * FROM ps_filters('flt_kkt');
-- Keys stored at weight 0 are not active either: of flt_plain's three
-- keys only key 1 is.
SELECT * FROM ps_pull_active('flt_plain', '{3,2,1}');
SELECT * FROM ps_filters('flt_plain') WHERE filter = 'active';
-- A worker's active pull names its clock, like ps_pull.
SELECT ps_join('flt_plain');
SELECT * FROM ps_pull_active('flt_plain', '{1,2,3}', 1, 1);
SELECT * FROM ps_pull_active('flt_plain', '{}', 1, 2);
SELECT worker, state, clock FROM ps_workers('flt_plain');
SELECT ps_leave('flt_plain', 1);

--
-- Significantly-modified filter
--

CREATE TABLE flt_chg (key bigint, val real) USING ps;
SELECT significance FROM ps_configure('flt_chg', significance => 0.5);
SELECT ps_push('flt_chg', '{1,2,3,4}', '{1,2,3,4}');
SELECT ps_join('flt_chg');
SELECT ps_join('flt_chg');

-- Worker 1's first pull: it was sent nothing yet, so every key comes back
-- (once, in key order).
SELECT * FROM ps_pull_changed('flt_chg', '{4,1,2,3,2}', 1);
-- Nothing moved since: nothing comes back; 4 keys removed.
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4}', 1);
SELECT * FROM ps_filters('flt_chg') WHERE filter = 'changed';

-- Keys 1, 2 and 3 move by 0.25, 1 and -0.5: only key 2 moved by more than
-- 0.5.  Key 5 was never sent, so it comes back (as 0).
SELECT ps_push('flt_chg', '{1,2,3}', '{0.25,1,-0.5}');
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4,5}', 1);
-- Key 1 moves 0.25 more: 0.5 away from what worker 1 was sent (1), not
-- more; once more, and it is 0.75 away: it comes back.
SELECT ps_push('flt_chg', '{1}', '{0.25}');
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4,5}', 1);
SELECT ps_push('flt_chg', '{1}', '{0.25}');
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4,5}', 1);
-- 4 + 3 + 5 + 4 keys removed so far, 12 bytes each.
SELECT * FROM ps_filters('flt_chg') WHERE filter = 'changed';

-- What was sent is remembered per worker: worker 2 gets every key.
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4,5}', 2);
-- With a clock, the pull moves the worker's clock as ps_pull does.
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4,5}', 1, 3);
SELECT worker, state, clock FROM ps_workers('flt_chg') ORDER BY worker;

-- A new significance applies to the next pull: at 0, any move counts.
-- Key 4 moves by 0.125, and key 3 comes back too: it is 0.5 away from
-- what worker 1 was sent (3), which was not more than the old 0.5.
SELECT significance FROM ps_configure('flt_chg', significance => 0);
SELECT ps_push('flt_chg', '{4}', '{0.125}');
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4,5}', 1);

-- What was sent is remembered by the backend: a worker that reconnects is
-- sent every key once again.
\c -
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4,5}', 1);
SELECT * FROM ps_pull_changed('flt_chg', '{1,2,3,4,5}', 1);

--
-- Bad input
--

SELECT * FROM ps_filters('flt_chg');
SELECT * FROM ps_pull_changed(NULL, '{1}', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('flt_chg', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('flt_chg', '{1}', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('flt_chg', '{1,NULL}', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('flt_chg', '{1}', 99);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('flt_chg', '{1}', 1, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_active(NULL, '{1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_active('flt_chg', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_active('flt_chg', '{1}', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_active('flt_chg', '{1}', 99, 5);
\echo :LAST_ERROR_SQLSTATE
-- Worker ids below 1 and negative clocks, as for ps_pull.
SELECT * FROM ps_pull_changed('flt_chg', '{1}', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('flt_chg', '{1}', -7);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_active('flt_chg', '{1}', 0, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_changed('flt_chg', '{1}', 1, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_active('flt_chg', '{1}', 1, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_filters(NULL);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE flt_heap (key bigint, val real);
SELECT * FROM ps_filters('flt_heap');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ps_pull_active('flt_heap', '{1}');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE flt_heap;
-- The counters did not move, and worker 1 is still at clock 2.
SELECT * FROM ps_filters('flt_chg');
SELECT worker, state, clock FROM ps_workers('flt_chg') ORDER BY worker;

-- A worker that left is refused.
SELECT ps_leave('flt_chg', 1), ps_leave('flt_chg', 2);
SELECT * FROM ps_pull_changed('flt_chg', '{1}', 1);
\echo :LAST_ERROR_SQLSTATE

-- Configurations the filters cannot apply to: the KKT filter on a table
-- without the ftrl rule, or with l1 = 0; a negative, NaN or infinite
-- significance.
SELECT ps_configure('flt_chg', kkt_filter => true);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_configure('flt_plain', l1 => 0, kkt_filter => true);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_configure('flt_chg', significance => -0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_configure('flt_chg', significance => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_configure('flt_chg', significance => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT tbl, update_rule, l1, kkt_filter, significance FROM ps_config
 WHERE tbl::text LIKE 'flt\_%' ORDER BY tbl::text;

-- A filtered push covers the range of its keys as pushed, whoever applies
-- it: with ps.scheduler = off the backend applies it, and the clock of
-- worker 1 covers 10 .. 20 although the KKT filter dropped every key (and
-- then all but key 15).
CREATE TABLE flt_clk (key bigint, val real) USING ps;
SELECT update_rule, l1, kkt_filter
  FROM ps_configure('flt_clk', update_rule => 'ftrl', l1 => 1, kkt_filter => true);
SELECT ps_join('flt_clk');
SET ps.scheduler = off;
SELECT ps_push('flt_clk', '{10,20}', '{0.5,0.5}', 1, 1) > 0 AS pushed;
SELECT * FROM ps_clocks('flt_clk');
SELECT ps_push('flt_clk', '{10,15,20}', '{0.5,-5,0.5}', 1, 2) > 0 AS pushed;
SELECT * FROM ps_clocks('flt_clk');
RESET ps.scheduler;
SELECT key FROM flt_clk;
SELECT ps_leave('flt_clk', 1);

DROP TABLE flt_kkt, flt_plain, flt_chg, flt_clk;
