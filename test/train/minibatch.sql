-- test/train/minibatch.sql: training by minibatches from SQL (README,
-- "Training from SQL").  Examples are a table
--     (id bigint, label real, keys bigint[], vals real[]);
-- CALL train_minibatches(model, examples, epochs, batch) visits them in
-- minibatches of batch rows, in a new order each epoch (a hash of the
-- id and the epoch; each minibatch fetched by its rows' tuple ids),
-- pushing each minibatch's logistic-loss gradient (ps_logistic_grad)
-- through the model's update rule, with a NOTICE per epoch: the mean loss
-- of the rows before their step (a progressive validation) and rows/s.
-- Configure the rule first, as ps_train does (FTRL regularises the sum
-- of everything pushed, epochs times the loss: l2 => epochs * lambda for
-- the L2 objective):
--     SELECT ps_configure('w', update_rule => 'ftrl', learning_rate => 0.1,
--                         beta => 0.1, l2 => 30);
--     CALL train_minibatches('w', 'examples', 30, 100);
-- On ../shared/data's spam set (loaded with ps_libsvm) that took 6.5 to
-- 8.2 s (two runs) and gave test accuracy 0.9934, log-loss 0.01632
-- (liblinear L2: 0.9934, 0.0162; test/t/026_spam.pl checks it).  Larger
-- learning rates make the early minibatches' steps overshoot (0.5, beta
-- 1, 5 epochs: log-loss 0.0241); fewer epochs stop further from the
-- optimum (20: 0.01644).
-- Rows updated while it runs move and are skipped for that epoch (rows
-- inserted count from the next epoch).  The examples must be a plain
-- table (tuple ids are not unique across partitions; views have none),
-- and rows with a NULL label, keys or vals, or keys and vals of different
-- lengths, stop it before anything is pushed.  It runs with search_path
-- pg_catalog and names the ps functions by the extension's schema.
--
-- Run this file in the schema where the procedure is to live.

CREATE OR REPLACE PROCEDURE train_minibatches(model regclass, examples regclass,
											  epochs integer DEFAULT 10,
											  batch integer DEFAULT 100)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $proc$
DECLARE
	ps name;				-- the schema of the ps extension
	n bigint;
	bad bigint;
	nb bigint;
	g record;
	loss float8;
	seen bigint;
	t0 timestamptz;
	tids tid[];
BEGIN
	IF model IS NULL OR examples IS NULL THEN
		RAISE EXCEPTION 'train_minibatches: the model and the examples must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Name a ps table and a table of (id bigint, label real, keys bigint[], vals real[]).';
	END IF;
	IF epochs IS NULL OR epochs < 1 OR batch IS NULL OR batch < 1 THEN
		RAISE EXCEPTION 'train_minibatches: epochs and batch must be at least 1'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the number of passes over the examples and the rows per minibatch.';
	END IF;
	SELECT nsp.nspname INTO ps FROM pg_extension e JOIN pg_namespace nsp ON nsp.oid = e.extnamespace
	 WHERE e.extname = 'ps';
	IF ps IS NULL THEN
		RAISE EXCEPTION 'train_minibatches: the ps extension is not installed'
			USING ERRCODE = 'undefined_object', HINT = 'CREATE EXTENSION ps;';
	END IF;
	-- minibatches are sets of tuple ids: those of one plain table
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = examples) NOT IN ('r', 'm') THEN
		RAISE EXCEPTION 'train_minibatches: % is not a plain table', examples
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Copy the examples of a view or a partitioned table into a table first.';
	END IF;
	-- bad rows stop it before anything is pushed
	EXECUTE format('SELECT count(*), count(*) FILTER (WHERE label IS NULL OR keys IS NULL OR vals IS NULL '
				   'OR cardinality(keys) <> cardinality(vals)) FROM ONLY %s', examples)
		INTO n, bad;
	IF bad > 0 THEN
		RAISE EXCEPTION 'train_minibatches: % rows of % have a NULL label, keys or vals, or keys and vals of different lengths',
			bad, examples
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Fix or delete those rows; nothing was trained.';
	END IF;
	RAISE NOTICE 'train_minibatches: % rows, % epochs of % minibatches',
		n, epochs, greatest(1, (n + batch - 1) / batch);
	FOR e IN 1 .. epochs LOOP
		loss := 0;
		seen := 0;
		t0 := clock_timestamp();
		-- this epoch's order: the rows by a hash of the id and the epoch,
		-- fetched by their tuple ids (a TID scan, with or without an index)
		EXECUTE format('SELECT array_agg(ctid ORDER BY hashint8extended(id, $1), id) FROM ONLY %s',
					   examples)
			INTO tids USING e;
		nb := (coalesce(cardinality(tids), 0) + batch - 1) / batch;
		FOR b IN 0 .. nb - 1 LOOP
			EXECUTE format('SELECT (s.g).* FROM (SELECT %I.ps_logistic_grad(%L, label, keys, vals) AS g '
						   'FROM ONLY %s WHERE ctid = ANY ($1)) s',
						   ps, model, examples)
				INTO g USING tids[b * batch + 1 : (b + 1) * batch];
			IF g.examples > 0 THEN
				EXECUTE format('SELECT %I.ps_push($1, $2, $3)', ps) USING model, g.keys, g.grad;
				loss := loss + g.loss;
				seen := seen + g.examples;
			END IF;
		END LOOP;
		RAISE NOTICE 'train_minibatches: epoch %: mean log-loss before the steps %, % rows/s',
			e, round((loss / greatest(seen, 1))::numeric, 4),
			round(seen / greatest(extract(epoch FROM clock_timestamp() - t0), 1e-6));
	END LOOP;
END
$proc$;
