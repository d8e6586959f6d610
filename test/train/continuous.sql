-- test/train/continuous.sql: continuous training from SQL (README,
-- "Continuous training").  Examples arrive in an ordinary table
--     (id bigint increasing, label real, keys bigint[], vals real[]);
-- CALL train_new_rows(model, examples) trains the model (a ps table of
-- dim 1, with the update rule it is configured with, FTRL say) on the rows
-- newer than the model's watermark, in minibatches: each minibatch's
-- logistic-loss gradient (ps_logistic_grad) is pushed, the watermark
-- moved past it and committed, with a NOTICE of its progress.  Schedule it
-- with pg_cron:
--     SELECT cron.schedule('train-w', '* * * * *',
--                          $$CALL train_new_rows('w', 'examples')$$);
-- ps_predict answers all the while.  Runs of one model take turns (the
-- watermark's row is locked).  A run cut off between a push and its
-- commit trains that minibatch again next time (pushes are not
-- transactional): at least once, per minibatch.
--
-- Run this file in the schema where the procedure is to live; it creates
-- ps_watermarks there, owned by the caller.

CREATE TABLE IF NOT EXISTS ps_watermarks (
	model regclass NOT NULL,
	examples regclass NOT NULL,
	last_id bigint NOT NULL DEFAULT 0,
	rows_trained bigint NOT NULL DEFAULT 0,
	trained_at timestamptz,
	PRIMARY KEY (model, examples)
);

CREATE OR REPLACE PROCEDURE train_new_rows(model regclass, examples regclass,
										   batch integer DEFAULT 500)
LANGUAGE plpgsql AS $proc$
DECLARE
	mark bigint;
	hi bigint;
	g ps_gradient;
	rows bigint := 0;
	loss float8 := 0;
	t0 timestamptz := clock_timestamp();
BEGIN
	IF batch IS NULL OR batch < 1 THEN
		RAISE EXCEPTION 'train_new_rows: batch must be at least 1, not %', batch;
	END IF;
	INSERT INTO ps_watermarks (model, examples) VALUES (model, examples)
		ON CONFLICT DO NOTHING;
	LOOP
		-- the watermark, locked until this minibatch commits
		SELECT w.last_id INTO mark FROM ps_watermarks w
			WHERE w.model = train_new_rows.model AND w.examples = train_new_rows.examples
			FOR UPDATE;
		EXECUTE format('SELECT max(id) FROM (SELECT id FROM %s WHERE id > $1 ORDER BY id LIMIT $2) s',
					   examples)
			INTO hi USING mark, batch;
		EXIT WHEN hi IS NULL;
		EXECUTE format('SELECT (s.g).* FROM (SELECT ps_logistic_grad(%L, label, keys, vals) AS g '
					   'FROM %s WHERE id > $1 AND id <= $2) s', model, examples)
			INTO g USING mark, hi;
		PERFORM ps_push(model, g.keys, g.grad);
		UPDATE ps_watermarks w SET last_id = hi, rows_trained = w.rows_trained + g.examples,
			trained_at = clock_timestamp()
			WHERE w.model = train_new_rows.model AND w.examples = train_new_rows.examples;
		COMMIT;
		rows := rows + g.examples;
		loss := loss + g.loss;
		RAISE NOTICE 'train_new_rows: % rows up to id %, mean log-loss before the step %, % rows/s',
			rows, hi, round((g.loss / greatest(g.examples, 1))::numeric, 4),
			round(rows / greatest(extract(epoch FROM clock_timestamp() - t0), 1e-6));
	END LOOP;
	IF rows = 0 THEN
		RAISE NOTICE 'train_new_rows: no rows newer than id %', mark;
	END IF;
	COMMIT;
END
$proc$;
