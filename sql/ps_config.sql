--
-- ps_config: the configuration of ps tables, set with ps_configure() and
-- kept in the table ps_config (one row per configured table).
--
-- A table without a row has the sum rule and eventual consistency.  The
-- update rules turn a pushed gradient g into a new weight w:
--   sum      w += g
--   sgd      w -= lr * (g + l2 * w)
--   adagrad  g' = g + l2 * w;  n += g'^2;  w -= lr * g' / (sqrt(n) + 1e-6)
--   ftrl     n' = n + g^2;  sigma = (sqrt(n') - sqrt(n)) / lr;
--            z += g - sigma * w;  n = n';
--            w = 0 if |z| <= l1,
--                else -(z - sign(z) * l1) / ((beta + sqrt(n)) / lr + l2)
-- adagrad keeps one state float (n) per value, ftrl two (z and n); pulls
-- and SELECT show the weights only.  The expected weights below were
-- computed by hand from these formulas.  Where float4 arithmetic is exact
-- they are compared exactly; otherwise rounded to 5 decimals by cfg_round.
--
-- After each statement that is expected to fail, \echo :LAST_ERROR_SQLSTATE
-- shows the error code it raised, and a query shows nothing changed.
--

-- The configuration rows of this test's tables, and any row left behind
-- by a dropped table.
CREATE VIEW cfg_rows AS
  SELECT tbl, update_rule, consistency, max_delay, learning_rate, l1, l2, beta
  FROM ps_config
  WHERE tbl::text LIKE 'cfg\_%' OR NOT EXISTS (SELECT FROM pg_class WHERE oid = tbl)
  ORDER BY tbl::text;
-- The columns of a configuration row this test is about (ps_configure
-- returns the whole row).
\set cfg_cols 'tbl, update_rule, consistency, max_delay, learning_rate, l1, l2, beta'
-- Values rounded to 5 decimals, in order.
CREATE FUNCTION cfg_round(v real[]) RETURNS numeric[] LANGUAGE sql
  AS $$ SELECT array_agg(round(x::numeric, 5) ORDER BY i)
        FROM unnest(v) WITH ORDINALITY AS u(x, i) $$;

--
-- Setting a configuration
--

CREATE TABLE cfg_w (key bigint, val real) USING ps;

-- A new table has no row (it has the defaults).
SELECT * FROM cfg_rows;

-- ps_configure with nothing but the table writes the defaults, and returns
-- the row: sum, eventual, max_delay 0, learning rate 0.1, l1 0, l2 0,
-- beta 1.
SELECT :cfg_cols FROM ps_configure('cfg_w');
SELECT * FROM cfg_rows;

-- Arguments left out (or NULL) keep their current value.
SELECT :cfg_cols FROM ps_configure('cfg_w', 'sgd', learning_rate => 0.5);
SELECT :cfg_cols FROM ps_configure('cfg_w', consistency => 'bounded', max_delay => 2);
SELECT :cfg_cols FROM ps_configure('cfg_w', l2 => 0.25, beta => 2);
SELECT :cfg_cols FROM ps_configure('cfg_w', NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT * FROM cfg_rows;

-- Leaving bounded consistency sets max_delay back to 0; max_delay 0 may be
-- passed with any model.
SELECT :cfg_cols FROM ps_configure('cfg_w', consistency => 'sequential');
SELECT :cfg_cols FROM ps_configure('cfg_w', consistency => 'eventual', max_delay => 0);
SELECT :cfg_cols FROM ps_configure('cfg_w', consistency => 'sequential');

--
-- Bad values are refused and change nothing
--

-- Unknown rule or consistency model.
SELECT :cfg_cols FROM ps_configure('cfg_w', 'momentum');
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', consistency => 'strong');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;

-- A negative max_delay, and a max_delay without bounded consistency
-- (the table is sequential; also when asking for eventual).
SELECT :cfg_cols FROM ps_configure('cfg_w', consistency => 'bounded', max_delay => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', max_delay => 3);
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', consistency => 'eventual', max_delay => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;

-- The learning rate must be positive and finite.
SELECT :cfg_cols FROM ps_configure('cfg_w', learning_rate => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', learning_rate => -0.1);
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', learning_rate => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', learning_rate => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;

-- l1, l2 and beta must be finite and >= 0.
SELECT :cfg_cols FROM ps_configure('cfg_w', l1 => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', l2 => '-Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', l2 => 'Infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', beta => 'NaN');
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', beta => -0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;

-- l1 needs the ftrl rule (only FTRL-proximal applies it).
SELECT :cfg_cols FROM ps_configure('cfg_w', l1 => 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', 'adagrad', l1 => 0.5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;

-- One bad value refuses the whole call: the good ones are not applied
-- either.
SELECT :cfg_cols FROM ps_configure('cfg_w', 'adagrad', 'bounded', 4, 1, 0, -1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;

-- The table must not be NULL, must exist, and must be a ps table; temporary
-- ps tables cannot be configured (they keep the defaults).
SELECT :cfg_cols FROM ps_configure(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure(0);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE cfg_heap (key bigint, val real);
SELECT :cfg_cols FROM ps_configure('cfg_heap', 'sgd');
\echo :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE cfg_temp (key bigint, val real) USING ps;
SELECT :cfg_cols FROM ps_configure('cfg_temp', 'sgd');
\echo :LAST_ERROR_SQLSTATE
SELECT ps_push('cfg_temp', '{1}', '{2}');
SELECT ps_pull('cfg_temp', '{1}');
SELECT * FROM cfg_rows;
SELECT count(*) FROM ps_config WHERE tbl IN ('cfg_heap'::regclass, 'cfg_temp'::regclass);
DROP TABLE cfg_heap, cfg_temp;

--
-- Who may configure
--

CREATE ROLE regress_ps_cfg;
-- Every privilege on the table is not enough: only its owner (or a
-- superuser) may configure it.
GRANT ALL ON cfg_w TO regress_ps_cfg;
SET ROLE regress_ps_cfg;
SELECT :cfg_cols FROM ps_configure('cfg_w', 'sum');
\echo :LAST_ERROR_SQLSTATE
-- Everyone may read ps_config, nobody but ps_configure may write it.
SELECT tbl, update_rule, consistency FROM ps_config WHERE tbl = 'cfg_w'::regclass;
UPDATE ps_config SET update_rule = 'sum' WHERE tbl = 'cfg_w'::regclass;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ps_config VALUES ('cfg_w', 'sum', 'eventual', 0, 1, 0, 0, 1);
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ps_config;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM cfg_rows;
REVOKE ALL ON cfg_w FROM regress_ps_cfg;

-- The owner of a table configures it without any privilege on ps_config,
-- and its row goes when the owner drops the table.
CREATE TABLE cfg_owned (key bigint, val real) USING ps;
ALTER TABLE cfg_owned OWNER TO regress_ps_cfg;
SET ROLE regress_ps_cfg;
SELECT :cfg_cols FROM ps_configure('cfg_owned', 'adagrad', learning_rate => 2);
SELECT tbl, update_rule, learning_rate FROM ps_config WHERE tbl = 'cfg_owned'::regclass;
DROP TABLE cfg_owned;
RESET ROLE;
SELECT * FROM cfg_rows;
DROP ROLE regress_ps_cfg;

--
-- Changing the rule of a table that holds values
--

-- sgd and sum keep the same layout (no state): switching is fine.  Here
-- sgd with learning rate 0.5 and l2 0.25: w = 0 - 0.5 * (4 + 0.25 * 0) = -2.
SELECT :cfg_cols FROM ps_configure('cfg_w', 'sgd', consistency => 'eventual');
SELECT ps_push('cfg_w', '{1}', '{4}');
SELECT ps_pull('cfg_w', '{1}');
-- sum: w = -2 + 4 = 2.
SELECT update_rule FROM ps_configure('cfg_w', 'sum');
SELECT ps_push('cfg_w', '{1}', '{4}');
SELECT ps_pull('cfg_w', '{1}');
-- sgd again: w = 2 - 0.5 * (4 + 0.25 * 2) = -0.25.
SELECT update_rule FROM ps_configure('cfg_w', 'sgd');
SELECT ps_push('cfg_w', '{1}', '{4}');
SELECT ps_pull('cfg_w', '{1}');

-- adagrad and ftrl keep state with each value (1 and 2 floats): a table
-- holding values cannot switch to or between them.
SELECT :cfg_cols FROM ps_configure('cfg_w', 'adagrad');
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', 'ftrl');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;
SELECT ps_pull('cfg_w', '{1}');
SELECT dim, keys FROM ps_stats('cfg_w');

-- Once emptied by TRUNCATE it can.  adagrad with learning rate 0.5,
-- l2 0.25: g' = 4 + 0.25 * 0 = 4, n = 16, w = -0.5 * 4 / (4 + 1e-6).
TRUNCATE cfg_w;
SELECT update_rule FROM ps_configure('cfg_w', 'adagrad');
SELECT ps_push('cfg_w', '{1}', '{4}');
SELECT cfg_round(ps_pull('cfg_w', '{1}'));
-- And from adagrad the table cannot go back to a rule without state, nor
-- on to ftrl.
SELECT :cfg_cols FROM ps_configure('cfg_w', 'sum');
\echo :LAST_ERROR_SQLSTATE
SELECT :cfg_cols FROM ps_configure('cfg_w', 'ftrl');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;
SELECT cfg_round(ps_pull('cfg_w', '{1}'));
-- The parameters of the rule may change while it holds values.
SELECT update_rule, learning_rate, l2 FROM ps_configure('cfg_w', learning_rate => 1, l2 => 0);

--
-- sgd, by hand
--

CREATE TABLE cfg_sgd (key bigint, val real) USING ps;
SELECT update_rule, learning_rate, l2 FROM ps_configure('cfg_sgd', 'sgd', learning_rate => 0.5);
-- w = 0 - 0.5 * g: g = 1, -2, 0.25 give -0.5, 1, -0.125.
SELECT ps_push('cfg_sgd', '{1,2,3}', '{1,-2,0.25}');
SELECT ps_pull('cfg_sgd', '{1,2,3}'),
       ps_pull('cfg_sgd', '{1,2,3}') = '{-0.5,1,-0.125}'::real[] AS exact;
-- With l2 = 0.5, g = 1 for all three: w -= 0.5 * (1 + 0.5 * w):
--   -0.5   - 0.5 * (1 - 0.25)   = -0.875
--    1     - 0.5 * (1 + 0.5)    =  0.25
--   -0.125 - 0.5 * (1 - 0.0625) = -0.59375
SELECT update_rule, l2 FROM ps_configure('cfg_sgd', l2 => 0.5);
SELECT ps_push('cfg_sgd', '{3,2,1}', '{1,1,1}');
SELECT ps_pull('cfg_sgd', '{1,2,3}'),
       ps_pull('cfg_sgd', '{1,2,3}') = '{-0.875,0.25,-0.59375}'::real[] AS exact;
-- Repeated keys in one push add up to one gradient (2 + 2 = 4):
-- w = -0.875 - 0.5 * (4 + 0.5 * -0.875) = -2.65625.
SELECT ps_push('cfg_sgd', '{1,1}', '{2,2}');
SELECT ps_pull('cfg_sgd', '{1}') = '{-2.65625}'::real[] AS exact;
-- Range pushes go through the rule too: keys 2, 3 with g = 0:
-- w -= 0.5 * 0.5 * w, so 0.25 -> 0.1875 and -0.59375 -> -0.4453125.
SELECT ps_push_range('cfg_sgd', 2, '{0,0}');
SELECT ps_pull_range('cfg_sgd', 1, 4),
       ps_pull_range('cfg_sgd', 1, 4) = '{-2.65625,0.1875,-0.4453125}'::real[] AS exact;

--
-- adagrad, by hand (eps = 1e-6 keeps these from being exact)
--

CREATE TABLE cfg_ada (key bigint, val real) USING ps;
SELECT update_rule, learning_rate, l2 FROM ps_configure('cfg_ada', 'adagrad', learning_rate => 0.5);
-- learning rate 0.5, l2 0:
--   key 1: g = 3:  n = 9, w = -0.5 * 3 / 3 = -0.5
--   key 2: g = -1: n = 1, w = 0.5
--   key 3: g = 1e-6: n = 1e-12, w = -0.5 * 1e-6 / (1e-6 + 1e-6) = -0.25
SELECT ps_push('cfg_ada', '{1,2,3}', '{3,-1,1e-6}');
SELECT cfg_round(ps_pull('cfg_ada', '{1,2,3}'));
-- The second step uses the accumulated n:
--   key 1: g = 4: n = 9 + 16 = 25, w = -0.5 - 0.5 * 4 / 5 = -0.9
--   (with a fresh n = 16 it would be -1)
--   key 2: g = 0: n stays 1, w stays 0.5
SELECT ps_push('cfg_ada', '{1,2}', '{4,0}');
SELECT cfg_round(ps_pull('cfg_ada', '{1,2,3}'));
-- SELECT shows the weights only, not n.
SELECT key, round(val::numeric, 5) AS val FROM cfg_ada;
SELECT dim, keys FROM ps_stats('cfg_ada');

-- adagrad with l2 = 0.5, learning rate 0.5:
CREATE TABLE cfg_ada_l2 (key bigint, val real) USING ps;
SELECT update_rule, learning_rate, l2 FROM ps_configure('cfg_ada_l2', 'adagrad', learning_rate => 0.5, l2 => 0.5);
--   key 1: g = 3 at w = 0: g' = 3, n = 9, w = -0.5
SELECT ps_push('cfg_ada_l2', '{1}', '{3}');
SELECT cfg_round(ps_pull('cfg_ada_l2', '{1}'));
--   key 1: g = 4.25 at w = -0.5: g' = 4.25 + 0.5 * -0.5 = 4, n = 9 + 16 = 25,
--          w = -0.5 - 0.5 * 4 / 5 = -0.9  (without l2: -0.90848)
SELECT ps_push('cfg_ada_l2', '{1}', '{4.25}');
SELECT cfg_round(ps_pull('cfg_ada_l2', '{1}'));
-- INSERT sets a weight with n = 0: key 2 = 2, then g = 2:
--   g' = 2 + 0.5 * 2 = 3, n = 9, w = 2 - 0.5 * 3 / 3 = 1.5
INSERT INTO cfg_ada_l2 VALUES (2, 2);
SELECT ps_pull('cfg_ada_l2', '{2}');
SELECT ps_push('cfg_ada_l2', '{2}', '{2}');
SELECT cfg_round(ps_pull('cfg_ada_l2', '{1,2}'));

--
-- ftrl, by hand
--

CREATE TABLE cfg_ftrl (key bigint, val real) USING ps;
SELECT :cfg_cols FROM ps_configure('cfg_ftrl', 'ftrl', learning_rate => 0.5, l1 => 1, l2 => 2, beta => 1);
-- learning rate 0.5, l1 1, l2 2, beta 1; (beta + sqrt(n)) / lr + l2 is
-- the denominator D:
--   key 1: g = 0.5: n = 0.25, sigma = 1, z = 0.5; |z| <= 1: w = 0 exactly
--   key 2: g = 2:   n = 4, sigma = 4, z = 2; D = 3 / 0.5 + 2 = 8,
--                   w = -(2 - 1) / 8 = -0.125
--   key 3: g = -3:  n = 9, sigma = 6, z = -3; D = 4 / 0.5 + 2 = 10,
--                   w = -(-3 + 1) / 10 = 0.2
SELECT ps_push('cfg_ftrl', '{1,2,3}', '{0.5,2,-3}');
SELECT ps_pull('cfg_ftrl', '{1,2,3}'),
       ps_pull('cfg_ftrl', '{1,2,3}') = '{0,-0.125,0.2}'::real[] AS exact;
SELECT key, val, val = 0 AS zero FROM cfg_ftrl;
-- A second step on key 3, g = 1, from z = -3, n = 9, w = 0.2:
--   n = 10, sigma = (sqrt(10) - 3) / 0.5 = 0.324555,
--   z = -3 + 1 - 0.324555 * 0.2 = -2.064911,
--   D = (1 + sqrt(10)) / 0.5 + 2 = 10.324555, w = 1.064911 / D = 0.10314
SELECT ps_push('cfg_ftrl', '{3}', '{1}');
SELECT cfg_round(ps_pull('cfg_ftrl', '{1,2,3}'));

-- INSERT sets the weight, with n = 0 and the z that yields it:
--   key 4 = 0.5:   z = -0.5 * (1 / 0.5 + 2) - 1 = -3
--   key 5 = -0.25: z = 0.25 * 4 + 1 = 2
--   key 6 = 0:     z = 0
INSERT INTO cfg_ftrl VALUES (4, 0.5), (5, -0.25), (6, 0);
SELECT ps_pull('cfg_ftrl', '{4,5,6}');
-- A zero gradient keeps them: n and sigma stay 0, z stays, the same w.
SELECT ps_push('cfg_ftrl', '{4,5,6}', '{0,0,0}');
SELECT ps_pull('cfg_ftrl', '{4,5,6}'),
       ps_pull('cfg_ftrl', '{4,5,6}') = '{0.5,-0.25,0}'::real[] AS exact;
-- And the next gradient starts from that state, g = 1:
--   key 4: n = 1, sigma = 2, z = -3 + 1 - 2 * 0.5 = -3, D = 2 / 0.5 + 2 = 6,
--          w = 2 / 6 = 0.33333
--   key 5: n = 1, sigma = 2, z = 2 + 1 + 2 * 0.25 = 3.5, w = -2.5 / 6 = -0.41667
SELECT ps_push('cfg_ftrl', '{4,5}', '{1,1}');
SELECT cfg_round(ps_pull('cfg_ftrl', '{4,5}'));
SELECT key, round(val::numeric, 5) AS val FROM cfg_ftrl;

--
-- dim > 1: each component keeps its own state
--

CREATE TABLE cfg_vec (key bigint, val real[] CHECK (cardinality(val) = 3)) USING ps;
SELECT update_rule, learning_rate FROM ps_configure('cfg_vec', 'adagrad', learning_rate => 0.5);
-- key 1: g = (3, -4, 0): n = (9, 16, 0), w = (-0.5, 0.5, 0)
-- key 2: g = (0, 1, 0):  n = (0, 1, 0),  w = (0, -0.5, 0)
SELECT ps_push('cfg_vec', '{1,2}', '{3,-4,0, 0,1,0}');
SELECT cfg_round(ps_pull('cfg_vec', '{1,2}'));
-- key 1: g = (4, 3, 1): n = (25, 25, 1),
--        w = (-0.5 - 0.5 * 4/5, 0.5 - 0.5 * 3/5, 0 - 0.5 * 1/1) = (-0.9, 0.2, -0.5)
SELECT ps_push('cfg_vec', '{1}', '{4,3,1}');
SELECT cfg_round(ps_pull('cfg_vec', '{1,2}'));
SELECT key, cfg_round(val) AS val FROM cfg_vec;
SELECT dim, keys FROM ps_stats('cfg_vec');

--
-- A rule's state must fit: dim * (1 + state floats) <= 1000 per key
--

-- dim 400: adagrad (800 floats) fits, ftrl (1200) does not.
CREATE TABLE cfg_big (key bigint, val real[] CHECK (cardinality(val) = 400)) USING ps;
SELECT :cfg_cols FROM ps_configure('cfg_big', 'ftrl');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;
SELECT update_rule FROM ps_configure('cfg_big', 'adagrad');
SELECT ps_push('cfg_big', '{7}', array_fill(2::real, '{400}'));
SELECT dim, keys FROM ps_stats('cfg_big');
-- The limits are exact: dim 500 with adagrad (1000 floats) and dim 333
-- with ftrl (999) fit, dim 501 with adagrad and dim 334 with ftrl do not.
CREATE TABLE cfg_500 (key bigint, val real[] CHECK (cardinality(val) = 500)) USING ps;
CREATE TABLE cfg_501 (key bigint, val real[] CHECK (cardinality(val) = 501)) USING ps;
CREATE TABLE cfg_333 (key bigint, val real[] CHECK (cardinality(val) = 333)) USING ps;
CREATE TABLE cfg_334 (key bigint, val real[] CHECK (cardinality(val) = 334)) USING ps;
SELECT update_rule FROM ps_configure('cfg_500', 'adagrad');
SELECT update_rule FROM ps_configure('cfg_501', 'adagrad');
\echo :LAST_ERROR_SQLSTATE
SELECT update_rule FROM ps_configure('cfg_333', 'ftrl');
SELECT update_rule FROM ps_configure('cfg_334', 'ftrl');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cfg_rows;
DROP TABLE cfg_500, cfg_501, cfg_333, cfg_334;
-- A real[] table without a declared dim takes the dim of its first push:
-- under ftrl, a first push of dim 400 is refused, and the table stays
-- empty, without a dim, so a smaller dim still works.
CREATE TABLE cfg_free (key bigint, val real[]) USING ps;
SELECT update_rule FROM ps_configure('cfg_free', 'ftrl');
SELECT ps_push('cfg_free', '{1}', array_fill(1::real, '{400}'));
\echo :LAST_ERROR_SQLSTATE
SELECT dim, keys FROM ps_stats('cfg_free');
SELECT ps_push('cfg_free', '{1}', '{0,0}');
SELECT dim, keys FROM ps_stats('cfg_free');

--
-- VACUUM FULL keeps the values and the rule's state
--

VACUUM FULL cfg_ada;
VACUUM FULL cfg_ftrl;
VACUUM FULL cfg_vec;
SELECT cfg_round(ps_pull('cfg_ada', '{1,2,3}'));
SELECT cfg_round(ps_pull('cfg_ftrl', '{1,2,3,4,5,6}'));
SELECT cfg_round(ps_pull('cfg_vec', '{1,2}'));
SELECT ps_check('cfg_ada'), ps_check('cfg_ftrl'), ps_check('cfg_vec');
-- The state is still there: adagrad key 1 (n = 25, w = -0.9), g = -12:
--   n = 169, w = -0.9 + 0.5 * 12 / 13 = -0.43846  (with n lost: -0.4)
SELECT ps_push('cfg_ada', '{1}', '{-12}') > 0 AS pushed;
SELECT cfg_round(ps_pull('cfg_ada', '{1}'));
-- ftrl key 2 (z = 2, n = 4, w = -0.125), g = 0: unchanged (with z and n
-- lost it would read 0: a zero z is inside the L1 ball).
SELECT ps_push('cfg_ftrl', '{2}', '{0}') > 0 AS pushed;
SELECT ps_pull('cfg_ftrl', '{2}');
-- adagrad vector key 1 (n = (25, 25, 1)), g = (0, 0, 1):
--   third component: n = 2, w = -0.5 - 0.5 / sqrt(2) = -0.85355
SELECT ps_push('cfg_vec', '{1}', '{0,0,1}') > 0 AS pushed;
SELECT cfg_round(ps_pull('cfg_vec', '{1}'));
SELECT * FROM cfg_rows;

--
-- Dropping a table deletes its row
--

SELECT count(*) FROM ps_config WHERE tbl::text LIKE 'cfg\_%';
DROP TABLE cfg_ada;
SELECT tbl FROM cfg_rows;
DROP TABLE cfg_w, cfg_sgd, cfg_ada_l2, cfg_ftrl, cfg_vec, cfg_big, cfg_free;
SELECT * FROM cfg_rows;

DROP VIEW cfg_rows;
DROP FUNCTION cfg_round(real[]);
