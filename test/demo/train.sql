-- test/demo/train.sql: train a spam filter (logistic regression over 64-bit
-- hashed bag-of-words features) on the SpamAssassin corpus, with the model
-- in a ps table and every step a pull and a push through the parameter
-- server API.  Run by test/demo.sh after it loaded spam_train, spam_test
-- (id int, label int, feats bigint[]) and spam_tokens (key bigint, token
-- text); psql variables: epochs, batch, lr.
--
-- One step of mini-batch SGD is one SQL statement: pull the weights of the
-- batch's features, compute margins and logistic-loss gradients with joins,
-- push -lr * gradient.  The default update rule adds pushed values, so the
-- push is the SGD update.  Key 0 is the bias (a feature of every message).

\set ON_ERROR_STOP on
SET client_min_messages = notice;

DROP TABLE IF EXISTS spam_w;
CREATE TABLE spam_w (key bigint, val real) USING ps;

CREATE OR REPLACE FUNCTION ps_demo_step(nbuckets int, bucket int, lr float8,
										OUT loss float8, OUT examples bigint,
										OUT keys bigint)
LANGUAGE sql AS $$
WITH b AS MATERIALIZED (
	SELECT id, label, feats || 0::bigint AS feats
	FROM spam_train
	WHERE (id * 2654435761::bigint + bucket) % nbuckets = 0),
k AS (SELECT array_agg(DISTINCT f) AS keys FROM b, unnest(b.feats) f),
w AS (SELECT u.key, u.val FROM k, unnest(k.keys, ps_pull('spam_w', k.keys)) AS u(key, val)),
m AS (SELECT b.id, b.label, sum(w.val) AS margin
	  FROM b CROSS JOIN unnest(b.feats) f JOIN w ON w.key = f
	  GROUP BY b.id, b.label),
g AS (SELECT id,
			 -label / (1 + exp(least(label * margin, 700))) AS coef,
			 CASE WHEN -label * margin > 30 THEN -label * margin
				  ELSE ln(1 + exp(-label * margin)) END AS loss
	  FROM m),
grad AS (SELECT f AS key, sum(g.coef) AS s
		 FROM g JOIN b USING (id) CROSS JOIN unnest(b.feats) f
		 GROUP BY f),
pushed AS (SELECT ps_push('spam_w', array_agg(key),
						  array_agg((-lr * s / (SELECT count(*) FROM g))::real)) AS ts
		   FROM grad)
SELECT (SELECT sum(loss) FROM g), (SELECT count(*) FROM g),
	   (SELECT count(*) FROM grad) + 0 * (SELECT ts FROM pushed)
$$;

CREATE OR REPLACE FUNCTION ps_demo_train(epochs int, batch int, lr float8)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	n bigint := (SELECT count(*) FROM spam_train);
	nb int := greatest(1, (n / batch)::int);
	e int;
	b int;
	r record;
	loss float8;
	seen bigint;
	pushed bigint;
	t0 timestamptz;
	secs float8;
BEGIN
	RAISE NOTICE 'training on % messages: % epochs of % batches of about % messages, learning rate %',
		n, epochs, nb, batch, lr;
	FOR e IN 1..epochs LOOP
		loss := 0; seen := 0; pushed := 0;
		t0 := clock_timestamp();
		FOR b IN 0..nb - 1 LOOP
			-- the batches are visited in a different order each epoch
			SELECT * INTO r FROM ps_demo_step(nb, (b + e * 7919) % nb, lr / sqrt(e));
			loss := loss + coalesce(r.loss, 0);
			seen := seen + r.examples;
			pushed := pushed + r.keys;
		END LOOP;
		secs := extract(epoch FROM clock_timestamp() - t0);
		RAISE NOTICE 'epoch %: mean training log-loss %, % messages/s, % keys pushed/s',
			e, round((loss / greatest(seen, 1))::numeric, 4),
			round(seen / secs), round(pushed / secs);
	END LOOP;
END $$;

SELECT ps_demo_train(:epochs, :batch, :lr);

\echo
\echo == the model is a table: its size and shape
SELECT * FROM ps_stats('spam_w');

\echo == held-out test set
WITH k AS (SELECT array_agg(DISTINCT f) AS keys FROM spam_test, unnest(feats || 0::bigint) f),
w AS (SELECT u.key, u.val FROM k, unnest(k.keys, ps_pull('spam_w', k.keys)) AS u(key, val)),
m AS (SELECT t.id, t.label, sum(w.val) AS margin
	  FROM spam_test t CROSS JOIN unnest(t.feats || 0::bigint) f JOIN w ON w.key = f
	  GROUP BY t.id, t.label)
SELECT count(*) AS messages,
	   round(avg(((margin > 0) = (label > 0))::int), 4) AS accuracy,
	   round(avg(CASE WHEN -label * margin > 30 THEN -label * margin
					  ELSE ln(1 + exp(-label * margin)) END)::numeric, 4) AS log_loss
FROM m;

\echo == strongest spam and ham words: SELECT ... FROM spam_w JOIN spam_tokens
(SELECT 'spam' AS side, t.token, round(w.val::numeric, 3) AS weight
 FROM spam_w w JOIN spam_tokens t USING (key) ORDER BY w.val DESC LIMIT 8)
UNION ALL
(SELECT 'ham', t.token, round(w.val::numeric, 3)
 FROM spam_w w JOIN spam_tokens t USING (key) ORDER BY w.val ASC LIMIT 8);
