--
-- ps_basic: the core SQL API of ps tables on small, scalar (dim 1) tables.
--
-- A ps table holds (key bigint, val real) pairs.  ps_push adds to values,
-- ps_pull reads them (keys never written read as 0), ps_push_range and
-- ps_pull_range do the same for runs of consecutive keys.  Every push
-- returns a task timestamp: 1, 2, 3, ... per table.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised.
--

-- The example of the issue, step by step.
CREATE TABLE w (key bigint, val real) USING ps;

-- Key 5 appears twice: its two values add up (1 + 3 = 4).  The first push
-- to a new table gets timestamp 1.
SELECT ps_push('w', '{5,1,5,9}', '{1,2,3,4}');

-- Values come back in the order asked for; key 7 was never written.
SELECT ps_pull('w', '{5,1,9,7}');

-- Keys 100, 101 and 102 get 1 each; this is the table's second push.
SELECT ps_push_range('w', 100, '{1,1,1}');

-- Keys 99 .. 102: hi (103) is excluded, key 99 was never written.
SELECT ps_pull_range('w', 99, 103);

-- The largest values, as in the issue.
SELECT key, val FROM w ORDER BY abs(val) DESC, key LIMIT 10;

-- A scan returns rows in ascending key order, without ORDER BY.
SELECT * FROM w;

-- Pushes add to what is stored, and timestamps keep counting.
SELECT ps_push('w', '{9,1}', '{0.5,-2}');
SELECT * FROM w;

-- Timestamps are counted per table: another table starts again at 1.
CREATE TABLE w_other (key bigint, val real) USING ps;
SELECT ps_push('w_other', '{1}', '{1}');
SELECT ps_push('w_other', '{2}', '{1}');
SELECT ps_push('w', '{1}', '{1}');
DROP TABLE w_other;

-- Keys of a push need not be sorted; duplicates anywhere add up.
CREATE TABLE w_order (key bigint, val real) USING ps;
SELECT ps_push('w_order', '{30,10,20,10,30,10}', '{1,2,3,4,5,6}');
SELECT * FROM w_order;

-- Pulls may repeat keys and ask for them in any order.
SELECT ps_pull('w_order', '{20,10,20,40,30,10,10}');

-- Empty arrays are a no-op: the push returns the table's last timestamp
-- (here 1, the timestamp of the push above) and changes nothing; an empty
-- pull returns an empty array.
SELECT ps_push('w_order', '{}', '{}');
SELECT ps_push_range('w_order', 5, '{}');
SELECT ps_pull('w_order', '{}');
SELECT ps_pull_range('w_order', 7, 7);
SELECT * FROM w_order;

-- On a table that was never written, an empty push returns timestamp 0
-- and still creates nothing.
CREATE TABLE w_empty (key bigint, val real) USING ps;
SELECT ps_push('w_empty', '{}', '{}');
SELECT dim, keys, leaves, dense_leaves, directory_pages, pages, last_timestamp
  FROM ps_stats('w_empty');
SELECT ps_pull('w_empty', '{1,2}'), ps_pull_range('w_empty', -1, 2);
SELECT ps_check('w_empty');
SELECT * FROM ps_ranges('w_empty');
SELECT * FROM w_empty;

-- ps_wait returns at once for a timestamp that was issued (pushes are
-- applied before ps_push returns) ...
SELECT ps_wait('w_order', ps_push('w_order', '{40}', '{1}'));
SELECT ps_wait('w_order', 1);
-- ... and 0 is accepted too (no push has to be waited for) ...
SELECT ps_wait('w_order', 0);
-- ... but a timestamp in the future, or a negative one, is an error.
SELECT ps_wait('w_order', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_wait('w_order', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT ps_wait('w_empty', 1);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE w_order, w_empty;

-- Extreme keys: the smallest and largest bigint, negatives and zero.
CREATE TABLE w_ext (key bigint, val real) USING ps;
SELECT ps_push('w_ext',
               '{9223372036854775807,-9223372036854775808,-5,0,-1,5}',
               '{1,2,3,4,5,6}');
SELECT * FROM w_ext;
SELECT ps_pull('w_ext', '{-9223372036854775808,9223372036854775807,0,-2}');
SELECT ps_pull_range('w_ext', -9223372036854775808, -9223372036854775806);
SELECT ps_pull_range('w_ext', -2, 1);

-- A range push may end exactly at the largest bigint ...
SELECT ps_push_range('w_ext', 9223372036854775805, '{10,20,30}');
-- ... and a range pull may stop just below it (hi is excluded).
SELECT ps_pull_range('w_ext', 9223372036854775804, 9223372036854775807);
SELECT ps_pull('w_ext', '{9223372036854775807}');
SELECT * FROM w_ext WHERE key > 0;
SELECT ps_check('w_ext');
DROP TABLE w_ext;

-- ps_stats: the shape of a small table.  One leaf covers the whole key
-- space; the table has a metapage, one leaf and one directory page.
SELECT * FROM ps_stats('w');

-- ps_ranges: one range, the whole key space, with the clock of the last
-- push applied to it.
SELECT * FROM ps_ranges('w');

-- ps_check verifies the structure and returns the number of keys.
SELECT ps_check('w');
SELECT count(*) FROM w;

-- ps_ranges groups neighbouring leaves with the same clock.  3000
-- consecutive keys fill two leaves, both written by the same push.
CREATE TABLE w_clock (key bigint, val real) USING ps;
SELECT ps_push_range('w_clock', 0, array_fill(1::real, ARRAY[3000]));
SELECT * FROM ps_ranges('w_clock');
-- A push to one key gives its leaf a newer clock: two ranges.
SELECT ps_push('w_clock', '{2999}', '{1}');
SELECT * FROM ps_ranges('w_clock');
-- A push that touches both leaves gives them one clock again.
SELECT ps_push('w_clock', '{0,2999}', '{1,1}');
SELECT * FROM ps_ranges('w_clock');
SELECT dim, keys, leaves, dense_leaves, last_timestamp FROM ps_stats('w_clock');
SELECT ps_check('w_clock'), sum(val) FROM w_clock;
DROP TABLE w_clock;

DROP TABLE w;
