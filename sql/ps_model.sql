--
-- Training and serving from SQL (README "Training from SQL"): ps_libsvm
-- parses a LibSVM line, ps_predict gives a logistic model's probability,
-- and the aggregate ps_logistic_grad the gradient and the loss of its rows
-- at the weights of a ps table.
--
-- ps_libsvm: label (1 and +1 positive, 0 and -1 negative), then id:value
SELECT * FROM ps_libsvm('+1 3:1 17:0.5 42:2');
SELECT * FROM ps_libsvm('0 1:1');
-- a ranking file's qid is skipped, "#" starts a comment, CR is a blank
SELECT * FROM ps_libsvm(E'-1 7:-2.5e-1 qid:3 9:1 # a comment\r');
-- hashed 64-bit ids: 2^63 and more become negative keys (two's complement)
SELECT * FROM ps_libsvm('1 18446744073709551615:1 9223372036854775808:1');
SELECT * FROM ps_libsvm('1');
-- malformed lines: the reason, the byte, what is there
SELECT * FROM ps_libsvm('2 1:1');
SELECT * FROM ps_libsvm('+1 1:');
SELECT * FROM ps_libsvm('+1 4:1 x:1');
SELECT * FROM ps_libsvm('+1 1:nan');
SELECT * FROM ps_libsvm('+1 1:1e40');
SELECT * FROM ps_libsvm('+1 18446744073709551616:1');
SELECT * FROM ps_libsvm('+1 3');
-- what is there is cut at a character boundary (here 12 two-byte letters)
SELECT * FROM ps_libsvm('+1 1:1 ééééééééééééééééééé:1');
SELECT * FROM ps_libsvm('   # only a comment');
SELECT * FROM ps_libsvm(NULL);

-- Examples loaded from LibSVM lines.
CREATE TABLE mdl_lines (n int, line text);
INSERT INTO mdl_lines VALUES (1, '+1 1:1 2:1'), (2, '-1 2:1 3:1'), (3, '+1 1:1 3:2'), (4, '-1 3:1');
CREATE TABLE mdl_ex AS SELECT n, (ps_libsvm(line)).* FROM mdl_lines;
SELECT * FROM mdl_ex ORDER BY n;
CREATE TABLE mdl_w (key bigint, val real) USING ps;

-- At w = 0 every probability is 1/2 and every loss log 2; the gradient is
-- the sum of -y x / 2: key 1: -1, key 2: -1/2 + 1/2, key 3: 1/2 - 1 + 1/2.
SELECT n, ps_predict('mdl_w', keys, vals) FROM mdl_ex ORDER BY n;
SELECT (g).keys, (g).grad, round((g).loss::numeric, 6) AS loss,
       round(4 * ln(2)::numeric, 6) AS four_log_2, (g).examples
  FROM (SELECT ps_logistic_grad('mdl_w', label, keys, vals) AS g FROM mdl_ex) s;
-- No rows: no keys, no loss.
SELECT ps_logistic_grad('mdl_w', label, keys, vals) FROM mdl_ex WHERE false;

-- A training loop in plain SQL: full-batch gradient steps through the
-- sgd rule (w -= 0.5 g); the loss goes down, the positive examples'
-- probabilities up.
SELECT update_rule, learning_rate FROM ps_configure('mdl_w', update_rule => 'sgd', learning_rate => 0.5);
CREATE TABLE mdl_loss (step int, loss float8);
DO $$
DECLARE
	g ps_gradient;
BEGIN
	FOR step IN 1 .. 30 LOOP
		g := (SELECT ps_logistic_grad('mdl_w', label, keys, vals) FROM mdl_ex);
		INSERT INTO mdl_loss VALUES (step, g.loss);
		PERFORM ps_push('mdl_w', g.keys, g.grad);
	END LOOP;
END $$;
SELECT bool_and(l.loss < p.loss) AS loss_decreases,
       round(min(l.loss)::numeric, 4) AS last_loss
  FROM mdl_loss l JOIN mdl_loss p ON p.step = l.step - 1;
SELECT n, label, round(ps_predict('mdl_w', keys, vals)::numeric, 4) AS p FROM mdl_ex ORDER BY n;
-- The minibatch recipe (test/train/minibatch.sql; its NOTICEs give rows/s,
-- so they are not shown here): FTRL, 20 epochs of minibatches of 2 rows;
-- every example ends on its side of 1/2.
\set ECHO none
\i test/train/minibatch.sql
\set ECHO all
CREATE TABLE mdl_ftrl (key bigint, val real) USING ps;
SELECT update_rule FROM ps_configure('mdl_ftrl', update_rule => 'ftrl', learning_rate => 1, beta => 1, l2 => 2);
CREATE TABLE mdl_ex_id AS SELECT n::bigint AS id, label, keys, vals FROM mdl_ex;
SET client_min_messages = warning;
CALL train_minibatches('mdl_ftrl', 'mdl_ex_id', 20, 2);
RESET client_min_messages;
SELECT n, label, (ps_predict('mdl_ftrl', keys, vals) > 0.5) = (label > 0) AS right_side FROM mdl_ex ORDER BY n;
CALL train_minibatches('mdl_ftrl', 'mdl_ex_id', 0, 2);
CALL train_minibatches('mdl_ftrl', NULL, 1, 2);
CALL train_minibatches('mdl_ftrl', 'mdl_ex_id', 1, NULL);
-- a view has no tuple ids; a bad row stops it before any push
CREATE VIEW mdl_ex_view AS SELECT * FROM mdl_ex_id;
CALL train_minibatches('mdl_ftrl', 'mdl_ex_view', 1, 2);
DROP VIEW mdl_ex_view;
CREATE TABLE mdl_before AS SELECT key, val FROM mdl_ftrl;
INSERT INTO mdl_ex_id VALUES (100, NULL, '{1}', '{1}'), (101, 1, '{1,2}', '{1}');
CALL train_minibatches('mdl_ftrl', 'mdl_ex_id', 1, 2);
SELECT count(*) AS changed FROM mdl_ftrl f FULL JOIN mdl_before b USING (key)
 WHERE f.val IS DISTINCT FROM b.val;
DROP TABLE mdl_before;
DROP TABLE mdl_ftrl, mdl_ex_id;
DROP PROCEDURE train_minibatches;

-- Keys in any order, repeated: their values add up, as in w.x.
SELECT round(ps_predict('mdl_w', '{3,1,3}', '{1,1,1}')::numeric, 6)
     = round(ps_predict('mdl_w', '{1,3}', '{1,2}')::numeric, 6) AS same;

-- Bad input changes nothing and says why.
SELECT ps_predict('mdl_w', '{1,2}', '{1}');
SELECT ps_predict('mdl_w', '{1,NULL}', '{1,1}');
SELECT ps_predict('mdl_w', '{1}', '{NaN}');
SELECT ps_predict('mdl_ex', '{1}', '{1}');
CREATE TABLE mdl_v (key bigint, val real[] CHECK (cardinality(val) = 3)) USING ps;
SELECT ps_predict('mdl_v', '{1}', '{1}');
SELECT ps_logistic_grad('mdl_v', label, keys, vals) FROM mdl_ex;
SELECT ps_logistic_grad('mdl_w', 2, '{1}', '{1}');
SELECT ps_logistic_grad('mdl_w', NULL, '{1}', '{1}');
SELECT ps_logistic_grad('mdl_w', 1, '{1,2}', '{1}');
SELECT ps_logistic_grad(t, 1, '{1}', '{1}') FROM (VALUES ('mdl_w'::regclass), ('mdl_v'::regclass)) v(t);
-- the aggregate's functions are refused outside it
SELECT ps_logistic_grad_final(NULL::internal);
SELECT ps_logistic_grad_step(NULL::internal, 'mdl_w', 1, '{1}', '{1}');

-- Reading the weights needs SELECT.
CREATE ROLE mdl_user;
GRANT SELECT ON mdl_ex TO mdl_user;
SET ROLE mdl_user;
SELECT ps_predict('mdl_w', '{1}', '{1}');
SELECT ps_logistic_grad('mdl_w', label, keys, vals) FROM mdl_ex;
RESET ROLE;
GRANT SELECT ON mdl_w TO mdl_user;
SET ROLE mdl_user;
SELECT round(ps_predict('mdl_w', '{1}', '{1}')::numeric, 4) AS p;
SELECT (ps_logistic_grad('mdl_w', label, keys, vals)).examples FROM mdl_ex;
RESET ROLE;
DROP TABLE mdl_lines, mdl_ex, mdl_w, mdl_v, mdl_loss;
DROP ROLE mdl_user;
