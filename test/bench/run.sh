#!/usr/bin/env bash
# test/bench/run.sh: the ps benchmark (run by hand, not part of the test
# suite).  Builds and installs ps, starts a dedicated PostgreSQL 15 server,
# and runs test/bench/ps_bench.c, which prints one table: ps_push and
# ps_pull keys/s for 100k random keys on tables of 1M and 10M keys, and a
# dense range push and pull of 1M floats, each against a heap table
# (key bigint primary key, val real) measured in the same run, with the
# ratios and the targets.  Then test/bench/ps_bench_workers.c: pushes/s
# and keys/s of 1, 2 and 4 concurrent workers under each consistency model
# and update rule, aggregated by the scheduler against applied one by one
# (ps.scheduler = off).  Then test/bench/ps_bench_client.c: the client
# library against the SQL array path, with issue 9's targets.  Takes a
# few minutes (loading the 10M-row heap
# table dominates).  REPS (default 9) calls per figure; ITERS (default 200)
# iterations per worker.
source "$(dirname "$0")/../lib.sh"

install_packages
build_and_install

DIR=$(scratch_dir ps-bench)
PORT=${PS_BENCH_PORT:-54330}
trap 'stop_cluster "$DIR"' EXIT

for prog in ps_bench ps_bench_workers; do
	gcc -O2 -Wall -Wextra -o "$DIR/$prog" "$PS_ROOT/test/bench/$prog.c" \
		-I"$(pg_config --includedir)" -lpq
done
# the client library's benchmark, against the library just installed
gcc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -o "$DIR/ps_bench_client" \
	"$PS_ROOT/test/bench/ps_bench_client.c" "$PS_ROOT/src/common/ps_wire.c" \
	-I"$PS_ROOT/test/bench" -I"$PS_ROOT/src/common" \
	$(pkg-config --cflags --libs ps-client) -lpq -lzstd

# Room for the 10M-key tables in shared buffers, and no checkpoint in the
# middle of a measurement (each figure starts right after a CHECKPOINT).
start_cluster "$DIR" "$PORT" "shared_buffers = 2GB" "max_wal_size = 16GB" \
	"checkpoint_timeout = 1h" "autovacuum = off"
echo "== server: $(psql -X -At -h "$DIR" -p "$PORT" -U postgres -c 'SELECT version()')"
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
"$DIR/ps_bench" "host=$DIR port=$PORT user=postgres dbname=postgres" "${REPS:-9}"
"$DIR/ps_bench_workers" "host=$DIR port=$PORT user=postgres dbname=postgres" "${ITERS:-200}"
"$DIR/ps_bench_client" "host=$DIR port=$PORT user=postgres dbname=postgres" "${REPS:-9}"
